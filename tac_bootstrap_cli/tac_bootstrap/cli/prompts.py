"""Asking a person, and never hanging when nobody is there (CI, pipes, closed stdin)."""

from __future__ import annotations

import sys

from tac_bootstrap.domain.errors import UsageError


def has_terminal() -> bool:
    """True only for a person at a terminal: stdin may be closed (None) or a pipe."""
    return sys.stdin is not None and sys.stdin.isatty()


def may_prompt(yes: bool, json_output: bool) -> bool:
    """Ask only a person at a terminal: scripts, CI, --yes and --json (stdout holds only the
    JSON document) take the defaults and never wait for input."""
    return not yes and not json_output and has_terminal()


def confirm(
    question: str,
    *,
    yes: bool,
    default: bool,
    refusal: str,
    hint: str,
    cancelled: str,
    may_ask: bool = True,
) -> None:
    """Go on with --yes or a "yes" at the terminal; otherwise a usage error (exit 2).

    ``may_ask`` is False with --json: stdout belongs to the JSON document, so the safe answer
    to a question nobody can be asked is no (the caller names --yes in ``hint``)."""
    if yes:
        return
    if not may_ask:
        raise UsageError(f"{refusal} (--json never prompts)", hint=hint)
    if not has_terminal():
        raise UsageError(refusal, hint=hint)
    from rich.prompt import Confirm

    if not Confirm.ask(question, default=default):
        raise UsageError(cancelled)
