"""The last error boundary: whatever a command body's own boundary (Output.handling_errors)
did not turn into one line, this does, for every command and for click's own parsing.

It lives in the root group's ``main`` so that the installed script, ``python -m`` and typer's
CliRunner all go through it. Exit codes: 0 ok, 1 failed operation, 2 usage, 130 Ctrl-C.
Imported at start-up, so standard library and typer only; rich is loaded on error paths.
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from typer import exceptions as typer_errors
from typer.core import TyperGroup

from tac_bootstrap.cli.usage import PlainGroup


def _click(module: str) -> Any:
    """click's module: vendored inside typer in recent versions, a dependency before."""
    try:
        return importlib.import_module(f"typer._click.{module}")
    except ImportError:  # pragma: no cover - an older typer
        return importlib.import_module(f"click.{module}")


click_errors = _click("exceptions")


def current_context() -> Any:
    """The click context of the running command, or None."""
    return _click("globals").get_current_context(silent=True)


TRACEBACK_ENV = "TAC_BOOTSTRAP_TRACEBACK"  # set to 1 to see the traceback of an internal error


class State:
    """JSON documents written during the current invocation: the error document is added only
    when a command failed before writing its own."""

    documents = 0


def wants_json(argv: Sequence[str]) -> bool:
    """--json among the options (before a `--`), even if parsing then fails."""
    for arg in argv:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def _ensure_streams() -> None:
    """A closed stdout or stderr (`>&-`) is None in Python: write into the void instead."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def _discard_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush is
    silent (no "Exception ignored" on stderr)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # an in-memory stream (CliRunner): nothing to flush at exit


def _write_error(message: str, code: int, json_mode: bool, command: str) -> int:
    try:
        sys.stderr.write(f"error: {one_line(message)}\n")
        if json_mode and not State.documents:
            State.documents += 1
            document: dict[str, Any] = {
                "ok": False,
                "command": command,
                "error": one_line(message),
                "exit_code": code,
            }
            sys.stdout.write(json.dumps(document, indent=2) + "\n")
        _flush()
    except OSError:
        _discard_stdout()
    return code


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        stream.flush()


def _command_of(group: TyperGroup, argv: Sequence[str]) -> str:
    """The (sub)command named in argv, for errors raised before click made a context."""
    names: list[str] = []
    current: Any = group
    for arg in argv:
        commands = getattr(current, "commands", None)
        if arg.startswith("-") or not commands or arg not in commands:
            break
        names.append(arg)
        current = commands[arg]
    return " ".join(names)


def command_of_context(ctx: Any) -> str:
    """The command words ("db logs" for `tac-bootstrap db logs`), however the program is named."""
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.insert(0, str(ctx.info_name))
        ctx = ctx.parent
    return " ".join(names)


def _usage_message(exc: Any, command: str) -> str:
    where = f"tac-bootstrap {command}".strip()
    message = str(exc.format_message()).rstrip(".")
    return f"{message} ({where}); see `{where} -h`"


def guarded(group: TyperGroup, call: Callable[[], Any], argv: Sequence[str]) -> int:
    """Run one invocation; every way it can end becomes an exit code and at most one line."""
    State.documents = 0
    _ensure_streams()
    json_mode = wants_json(argv)
    command = _command_of(group, argv)
    try:
        result = call()
        code = result if isinstance(result, int) else 0
        if code == 130 and not State.documents:  # Ctrl-C while parsing or importing
            return _write_error("interrupted; nothing was done", 130, json_mode, command)
    except click_errors.NoArgsIsHelpError as exc:  # bare `tac-bootstrap` / `tac-bootstrap db`
        try:
            sys.stdout.write(exc.format_message() + "\n")  # asked-for help: stdout, exit 0
            _flush()
        except OSError:  # a closed or broken stdout, as for any command's output
            _discard_stdout()
            return 1
        return 0
    except click_errors.ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            command = command_of_context(ctx)
        return _write_error(_usage_message(exc, command), int(exc.exit_code), json_mode, command)
    except typer_errors.Abort:
        return _write_error("aborted (no answer)", 1, json_mode, command)
    except KeyboardInterrupt:
        return _write_error("interrupted", 130, json_mode, command)
    except BrokenPipeError:
        _discard_stdout()
        return 1
    except OSError as exc:
        from tac_bootstrap.domain.errors import from_os_error

        error = from_os_error(exc)
        return _write_error(str(error), error.exit_code, json_mode, command)
    except Exception as exc:  # the last resort: a bug, reported in one line, not a traceback
        if os.environ.get(TRACEBACK_ENV):
            raise
        message = (
            f"internal error: {type(exc).__name__}: {exc}"[:500]
            + f" (tac-bootstrap {command}); please report it with the command line "
            f"(set {TRACEBACK_ENV}=1 to see the traceback)"
        )
        return _write_error(message, 1, json_mode, command)
    try:
        _flush()
    except BrokenPipeError:
        _discard_stdout()
        return 1
    except OSError as exc:
        _discard_stdout()
        cause = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
        sys.stderr.write(f"error: cannot write the output ({cause}); check stdout\n")
        return 1
    return code


class BoundaryGroup(PlainGroup):
    """The root group: click parses and runs in non-standalone mode inside ``guarded``; its
    options (--version, completion) build no pydantic coercion unless given a value."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)

        def call() -> Any:
            return PlainGroup.main(
                self,
                args=argv,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )

        code = guarded(self, call, argv)
        if standalone_mode:
            sys.exit(code)
        return code
