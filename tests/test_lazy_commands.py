"""Commands built on lookup (cli/lazy_commands.py): typer's own commands, built only when named.

The lazy tree is compared with typer's eager build attribute by attribute, every command's
help with the eager one's, and an invocation is checked to build only what it named.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

import pytest
import typer.main

from tac_bootstrap.cli.app import app
from tac_bootstrap.cli.lazy_commands import LazyCommands

_PARAM_FIELDS = (
    "name", "opts", "secondary_opts", "type", "required", "default", "multiple", "nargs",
    "is_flag", "help", "envvar", "hidden", "is_eager", "expose_value", "metavar",
    "show_default", "count",
)  # fmt: skip


def describe(command: Any) -> dict[str, Any]:
    """What a user can see or rely on in a click command, recursively (reprs: comparable)."""
    described: dict[str, Any] = {
        "class": type(command).__name__,
        **{
            key: repr(getattr(command, key, None))
            for key in ("name", "help", "short_help", "epilog", "hidden", "no_args_is_help")
        },
        "callback": getattr(command.callback, "__qualname__", None),
        "params": [
            {
                "class": type(param).__name__,
                **{k: repr(getattr(param, k, None)) for k in _PARAM_FIELDS},
            }
            for param in command.params
        ],
    }
    commands = getattr(command, "commands", None)
    if commands is not None:
        described["commands"] = {name: describe(commands[name]) for name in commands}
    return described


def paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, sub in getattr(command, "commands", {}).items():
        found.extend(paths(sub, (*prefix, name)))
    return found


EAGER = typer.main.get_command(app)
ALL_PATHS = paths(EAGER)


def run(group: Any, args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = group.main(args, prog_name="tac-bootstrap", standalone_mode=False)
    return code, out.getvalue(), err.getvalue()


def test_the_lazy_tree_is_typers_own() -> None:
    lazy = app.click_command()
    assert isinstance(lazy.commands, LazyCommands)
    assert describe(lazy) == describe(EAGER)
    assert len(ALL_PATHS) > 20 and ("db", "copy") in ALL_PATHS


@pytest.mark.parametrize("path", ALL_PATHS, ids=lambda p: " ".join(p) or "(root)")
def test_every_help_reads_as_typer_would_print_it(path: tuple[str, ...]) -> None:
    assert run(app.click_command(), [*path, "--help"]) == run(EAGER, [*path, "--help"])


@pytest.mark.parametrize(
    "args",
    [["db", "stauts"], ["inti"], ["db", "status", "--jsn"], ["render", "--check", "extra", "x"]],
    ids=["typo in a group", "typo at the root", "unknown option", "extra argument"],
)
def test_usage_errors_read_the_same(args: list[str]) -> None:
    assert run(app.click_command(), args) == run(EAGER, args)


def test_an_invocation_builds_only_what_it_names() -> None:
    root = app.click_command()
    assert root.commands.built() == []
    code, out, _ = run(root, ["db", "status", "--help"])
    assert code == 0 and "--json" in out
    assert root.commands.built() == ["db"]
    assert root.commands["db"].commands.built() == ["status"]
    # A listing needs every summary, so `db --help` builds the db commands, and only them.
    root = app.click_command()
    code, out, _ = run(root, ["db", "--help"])
    assert code == 0 and "status" in out and "copy" in out
    assert root.commands.built() == ["db"]
    assert root.commands["db"].commands.built() == list(root.commands["db"].commands)


def test_the_mapping_behaves_as_a_mapping() -> None:
    made: list[str] = []

    def builder(name: str) -> Any:
        def build() -> str:
            made.append(name)
            return name.upper()

        return build

    commands = LazyCommands({"a": builder("a"), "b": builder("b")})
    assert list(commands) == ["a", "b"] and len(commands) == 2 and "a" in commands
    assert "c" not in commands and commands.get("c") is None
    assert commands["b"] == "B" and commands["b"] == "B" and made == ["b"]  # built once
    commands["c"] = "C"  # click's add_command
    assert list(commands) == ["a", "b", "c"] and commands.built() == ["b", "c"]
    del commands["a"]
    assert list(commands) == ["b", "c"] and made == ["b"]
    with pytest.raises(KeyError):
        commands["a"]
