#!/usr/bin/env python3
"""A stand-in for the GitHub CLI (gh 2.x) for tests: same arguments, same output, same errors.

Modelled: ``issue view``, ``issue list``, ``issue comment``, ``pr create``, ``pr merge``,
``pr view`` (with ``--json``), ``auth status``, ``--version``. Flags are parsed the way gh's
pflag parses them, and what gh refuses is refused with gh's words and exit code (unknown flag:
the error, a blank line and the command's usage, exit 1; no credentials: exit 4). Anything gh
has but this stand-in does not model fails loudly ("fake gh: ... not modelled", exit 1) rather
than pretending. State and the call log: see fake_gh_state.py.
"""

from __future__ import annotations

import os
import sys
from typing import Any

try:  # imported as tests.fake_gh
    from . import fake_gh_commands as commands
    from . import fake_gh_state as store
    from .fake_gh_flags import (
        COMMANDS,
        SUBCOMMANDS,
        VERSION,
        Exit,
        parse_flags,
        unknown_command,
        usage_text,
    )
except ImportError:  # run as a script: its own directory is on sys.path
    import fake_gh_commands as commands  # type: ignore[import-not-found,no-redef]
    import fake_gh_state as store  # type: ignore[import-not-found,no-redef]
    from fake_gh_flags import (  # type: ignore[import-not-found,no-redef]
        COMMANDS,
        SUBCOMMANDS,
        VERSION,
        Exit,
        parse_flags,
        unknown_command,
        usage_text,
    )


def dispatch(argv: list[str], inputs: dict[str, str]) -> str:
    if argv[:1] in (["--version"], ["version"]):
        return VERSION
    if argv[:2] == ["auth", "status"]:
        with store.locked_state() as state:
            return commands.auth_status(state)
    if not argv or argv[0] not in SUBCOMMANDS:
        name = argv[0] if argv else ""
        raise Exit(
            1,
            f'unknown command "{name}" for "gh"\n\nUsage:  gh <command> <subcommand> '
            "[flags]\n\nAvailable commands:\n  issue\n  pr\n",
        )
    if len(argv) < 2 or argv[1] not in SUBCOMMANDS[argv[0]]:
        raise unknown_command(argv[0], argv[1] if len(argv) > 1 else "")
    command = " ".join(argv[:2])
    if command not in COMMANDS:
        raise Exit(1, f"fake gh: gh {command} is not modelled\n")
    parsed = parse_flags(command, argv[2:])
    if parsed.get("help"):
        return usage_text(command)
    with store.locked_state() as state:
        commands.check_auth(state)
        commands.check_repo(state, parsed)
        handlers = {
            "issue view": lambda: commands.issue_view(state, parsed),
            "issue list": lambda: commands.issue_list(state, parsed),
            "issue comment": lambda: commands.issue_comment(state, parsed, inputs),
            "pr create": lambda: commands.pr_create(state, parsed, inputs),
            "pr merge": lambda: commands.pr_merge(state, parsed),
            "pr view": lambda: commands.pr_view(state, parsed),
        }
        return handlers[command]()


def main(argv: list[str]) -> int:
    inputs: dict[str, str] = {}
    code, out, err = 0, "", ""
    try:
        out = dispatch(argv, inputs)
    except Exit as stop:
        code, err = stop.code, stop.stderr
    sys.stdout.write(out)
    sys.stderr.write(err)
    entry: dict[str, Any] = {
        "argv": argv,
        "cwd": os.getcwd(),
        "exit": code,
        "stdout": out,
        "stderr": err,
    }
    entry.update(inputs)
    store.append_log(entry)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
