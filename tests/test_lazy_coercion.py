"""Deferred coercion (cli/lazy_coercion.py) gives what typer's own gives, value for value.

The same small app is built twice, once with our PlainCommand and once with the same class
parsing through typer's own coercion (``Undeferred``), and both parse the same command
lines: the values the command receives, the errors and the exit codes must be the same.
"""

from __future__ import annotations

import enum
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer.core import TyperCommand, TyperGroup
from typer.testing import CliRunner

from tac_bootstrap.cli.usage import PlainCommand, PlainGroup


class Color(enum.Enum):
    red = "red"
    blue = "blue"


class Undeferred(PlainCommand):
    """PlainCommand (same usage line) without the deferral: typer builds every coercion."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return TyperCommand.parse_args(self, ctx, args)


def build(command_class: type[TyperCommand], group_class: type[TyperGroup]) -> typer.Typer:
    app = typer.Typer(rich_markup_mode=None, cls=group_class)

    @app.command(cls=command_class)
    def run(
        name: str,
        count: Annotated[int, typer.Option(min=1, max=9)] = 3,
        where: Annotated[Path | None, typer.Option(exists=False)] = None,
        tags: Annotated[list[str] | None, typer.Option("--tag")] = None,
        color: Color = Color.red,
        ratio: float | None = None,
        flag: bool = False,
    ) -> None:
        print(repr((name, count, where, tags, color, ratio, flag)))

    @app.command(cls=command_class)
    def other() -> None:
        print("other")

    return app


LINES = [
    ["run", "x"],
    ["run", "x", "--count", "5", "--where", "a/b", "--tag", "t1", "--tag", "t2"],
    ["run", "x", "--color", "blue", "--ratio", "0.5", "--flag"],
    ["run", "x", "--count", "0"],
    ["run", "x", "--count", "abc"],
    ["run", "x", "--color", "green"],
    ["run", "x", "--ratio", "nan-ish"],
    ["run"],
    ["other"],
]


@pytest.mark.parametrize("argv", LINES, ids=[" ".join(a) for a in LINES])
def test_deferred_coercion_parses_like_typer(argv: list[str]) -> None:
    runner = CliRunner()
    theirs = runner.invoke(build(Undeferred, TyperGroup), argv)
    ours = runner.invoke(build(PlainCommand, PlainGroup), argv)
    assert (ours.exit_code, ours.output) == (theirs.exit_code, theirs.output)
    assert type(ours.exception) is type(theirs.exception)


def test_a_bad_value_on_the_real_cli_is_typers_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "db", "logs", "--limit", "abc"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--limit" in result.stderr and "Traceback" not in result.stderr
