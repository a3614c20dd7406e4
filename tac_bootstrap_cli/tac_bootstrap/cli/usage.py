"""One command class for every command: a usage line in plain words, whole summaries.

typer writes a required argument as `{NAME}` in the usage line, which reads like a set of
choices; `Usage: tac-bootstrap init [OPTIONS] NAME` is what people type. Imported at
start-up: typer only.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup

from tac_bootstrap.cli.lazy_coercion import defer_coercion


class PlainCommand(TyperCommand):
    """A TyperCommand whose usage line writes required arguments without braces, and whose
    parameters build typer's pydantic coercion only for a value given (lazy_coercion)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        defer_coercion(self.get_params(ctx))
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument) and param.required:
                pieces.append(param.display_name_raw + ("..." if param.nargs != 1 else ""))
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def get_short_help_str(self, limit: int = 45) -> str:
        """The summary in a group's listing, whole: click would cut the help's first sentence
        to the width left and end it in "..."; the formatter wraps it instead."""
        return super().get_short_help_str(limit=10_000)


class PlainGroup(TyperGroup):
    """A TyperGroup whose own options (--help, completion) build no pydantic coercion unless
    given a value (lazy_coercion), and whose listing names its commands without building them
    (lazy_commands)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        defer_coercion(self.get_params(ctx))
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # in registration order, as typer lists them
