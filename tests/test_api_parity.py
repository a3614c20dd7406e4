"""Every CLI command and option has its Python API counterpart, by introspection.

The click tree of the real app is walked (a new command or option cannot be forgotten): each
command `add-agentic` needs `tac_bootstrap.api.add_agentic`, and each of its long options
(`--dry-run`, `--no-git`) and arguments (PATH) a parameter of the mapped name with the same
default. What differs is listed below, each with its reason; so is what the API adds.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer.main

from tac_bootstrap import api
from tac_bootstrap.cli.app import app

# Option spellings whose API parameter has another name: everywhere, or in one command.
RENAMED = {"--no-git": "git"}  # the negative flag of --git/--no-git: git=False
RENAMED_IN = {
    ("db prune", "--older-than"): "older_than_days",  # the unit in the name: a float of days
    ("db import-transcripts", "--since"): "since_days",  # db logs --since is a time: since
}

# Options that only make sense at a terminal, with why the API has no parameter for them.
CLI_ONLY_OPTIONS = {
    "--help": "help text is for people; the API has docstrings",
    "--json": "the API returns the report: report.to_dict() is the document --json prints",
    "--yes": "the API never prompts nor asks to confirm: it takes the answers as parameters",
    "--version": "tac_bootstrap.__version__",
    "--install-completion": "shell completion is a CLI feature",
    "--show-completion": "shell completion is a CLI feature",
}

CLI_ONLY_COMMANDS = {
    "": "the root group itself: its options are listed in CLI_ONLY_OPTIONS",
    "version": "tac_bootstrap.__version__",
}

# Command groups: the API has a module of the same name, one function per subcommand.
GROUPS = {"db": api.db}

# API parameters the CLI has no option for: the answers it asks a person at a terminal, and
# the progress callback the CLI draws its progress bar with.
PROGRESS = "called with (done, total): the CLI draws its progress bar with it"
API_ONLY_PARAMETERS = {
    ("add_agentic", "language"): "the CLI asks it at a terminal (default: what was detected)",
    ("add_agentic", "framework"): "the CLI asks it at a terminal (default: what was detected)",
    ("add_agentic", "package_manager"): "the CLI asks it at a terminal (default: detected)",
    ("add_agentic", "commands"): "the CLI asks them at a terminal (default: what was detected)",
    ("db.backup", "progress"): PROGRESS,
    ("db.copy", "progress"): PROGRESS,
    ("db.export", "progress"): PROGRESS,
    ("db.import_transcripts", "progress"): PROGRESS,
}


def commands() -> Iterator[tuple[str, Any, Any]]:
    """(command path, click command, its context) for every command, the root ('') first."""

    def walk(cmd: Any, path: list[str], parent: Any) -> Iterator[tuple[str, Any, Any]]:
        name = path[-1] if path else "tac-bootstrap"
        ctx = cmd.context_class(cmd, parent=parent, info_name=name, **cmd.context_settings)
        yield " ".join(path), cmd, ctx
        for sub_name, sub in sorted(getattr(cmd, "commands", {}).items()):
            yield from walk(sub, [*path, sub_name], ctx)

    yield from walk(typer.main.get_command(app), [], None)


def api_name(command_path: str) -> str:
    """`add-agentic` -> add_agentic; a group's subcommand `db import-transcripts` ->
    db.import_transcripts (the function import_transcripts of the module api.db)."""
    return command_path.replace("-", "_").replace(" ", ".")


def expected_parameters(path: str, cmd: Any, ctx: Any) -> Iterator[tuple[str, str, Any]]:
    """(what the user types, the API parameter it maps to or '' if CLI-only, CLI default)."""
    for param in cmd.get_params(ctx):
        if param.param_type_name == "argument":
            yield str(param.metavar or param.name).upper(), param.name, param.default
            continue
        for flag in [*param.opts, *param.secondary_opts]:
            if not flag.startswith("--"):
                continue  # short forms (-o) spell the same option
            if flag in CLI_ONLY_OPTIONS:
                yield flag, "", None
            else:
                name = RENAMED_IN.get((path, flag)) or RENAMED.get(flag)
                yield flag, name or flag[2:].replace("-", "_"), param.default


def _same_default(cli_default: Any, api_default: Any) -> bool:
    if isinstance(cli_default, Path):  # the API takes a str or a Path
        return Path(api_default) == cli_default
    return bool(cli_default == api_default)


def api_function(command_path: str) -> Callable[..., Any] | None:
    """api.<name>, or for a group's subcommand api.<group>.<name>, listed in __all__."""
    namespace: Any = api
    *groups, name = api_name(command_path).split(".")
    for group in groups:
        if group not in namespace.__all__:
            return None
        namespace = getattr(namespace, group)
    function = getattr(namespace, name, None)
    return function if callable(function) and name in namespace.__all__ else None


def api_functions() -> dict[str, Callable[..., Any]]:
    """Every function of the API by its qualified name (add_agentic, db.status, ...)."""
    found = {}
    for name in api.__all__:
        if name in GROUPS:
            found.update({f"{name}.{sub}": getattr(GROUPS[name], sub) for sub in api.db.__all__})
        else:
            found[name] = getattr(api, name)
    return found


def test_every_command_has_an_api_function_or_a_reason() -> None:
    missing = []
    for path, _cmd, _ctx in commands():
        if path in CLI_ONLY_COMMANDS:
            continue
        if path in GROUPS:
            if path not in api.__all__ or getattr(api, path) is not GROUPS[path]:
                missing.append(path)
        elif api_function(path) is None:
            missing.append(path)
    assert missing == [], f"commands without tac_bootstrap.api functions: {missing}"


def test_every_group_is_a_module_of_the_api_with_one_function_per_subcommand() -> None:
    for group, module in GROUPS.items():
        walked = {
            api_name(path).split(".", 1)[1]
            for path, _cmd, _ctx in commands()
            if path.startswith(f"{group} ")
        }
        assert walked == set(module.__all__), group
        assert getattr(api, group) is module


def test_every_option_and_argument_has_an_api_parameter_with_the_same_default() -> None:
    problems = []
    for path, cmd, ctx in commands():
        function = None if path in GROUPS else api_function(path)
        signature = inspect.signature(function) if function else None
        for typed, name, cli_default in expected_parameters(path, cmd, ctx):
            if not name:
                continue  # CLI-only, with its reason
            if path in CLI_ONLY_COMMANDS or signature is None:
                problems.append(f"{path or '<root>'} {typed}: no API function to take it")
            elif name not in signature.parameters:
                problems.append(f"{path} {typed}: api.{api_name(path)} has no {name!r}")
            else:
                api_default = signature.parameters[name].default
                if api_default is inspect.Parameter.empty:
                    api_default = None  # a required argument: click's default is None too
                if not _same_default(cli_default, api_default):
                    problems.append(
                        f"{path} {typed}: CLI default {cli_default!r}, API {api_default!r}"
                    )
    assert problems == []


def test_every_api_parameter_is_a_cli_option_or_listed() -> None:
    """The reverse: no API parameter the CLI lacks, unless listed with its reason."""
    cli = {
        api_name(path): {name for _typed, name, _default in expected_parameters(path, cmd, ctx)}
        for path, cmd, ctx in commands()
    }
    functions = api_functions()
    extra = [
        (function_name, parameter)
        for function_name, function in functions.items()
        for parameter in inspect.signature(function).parameters
        if parameter not in cli.get(function_name, set())
        and (function_name, parameter) not in API_ONLY_PARAMETERS
    ]
    assert extra == []
    assert set(functions) <= set(cli)  # every API function is a command


def test_the_tables_name_only_real_options() -> None:
    """A stale entry (an option since removed) would hide nothing, but says something false."""
    flags = {
        flag
        for _path, cmd, ctx in commands()
        for param in cmd.get_params(ctx)
        for flag in [*param.opts, *param.secondary_opts]
    }
    assert set(RENAMED) | set(CLI_ONLY_OPTIONS) <= flags
    options = {
        (path, flag)
        for path, cmd, ctx in commands()
        for param in cmd.get_params(ctx)
        for flag in param.opts
    }
    assert set(RENAMED_IN) <= options
    paths = {path for path, _cmd, _ctx in commands()}
    assert set(CLI_ONLY_COMMANDS) | set(GROUPS) <= paths
    functions = api_functions()
    assert {name for name, _parameter in API_ONLY_PARAMETERS} <= set(functions)
