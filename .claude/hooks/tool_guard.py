#!/usr/bin/env python3
"""PreToolUse guard: blocks, before a tool runs, what permission rules cannot express.

Deny rules in .claude/settings.json match command prefixes; this hook (its checks in
tool_guard_rules.py, its shell lexer in tool_guard_shell.py) parses each Bash command (its
`;`, `&&`, `||`, `|`, newline, `$(...)`, backtick, `sh -c`, `eval`, `env`/`sudo`/`xargs`/
`find -exec` parts) and blocks, with exit code 2 and a one-line reason on stderr (Claude
Code then refuses the call and tells the model why):

- recursive rm of the project root, of anything outside it (but `guard.allow_rm_in`), or of
  a glob at the root; `find -delete` outside the project;
- a force push in any spelling (`-f`, `--force`, `--force-with-lease`, `--force-if-includes`,
  `--mirror`, `+refspec`, abbreviations), deleting the main branch, `git add -f`;
- any command or file tool naming a protected path: `.env` files, the orchestrator database,
  its -wal/-shm/-journal and backups, the hook fallback log and spool, `guard.protected_paths`;
- what the `guard.block_commands` regexes match.

Exit 3 allows (settings.json maps it to 0), 2 blocks; anything else blocks too, so a guard
that is truncated or cannot start never allows. Fail closed: a command it cannot parse, a
variable it cannot know in an rm target, or a crash blocks ("could not check ..."); other
tools it has nothing to say about pass. Standard library only, run as `python3 -S`.
This file holds only the settings, from the `guard:` section of tac_bootstrap.yml
(rendered below; `tac-bootstrap render` rewrites it): a script is compiled on every run,
the modules are cached.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))  # also under -I, PYTHONSAFEPATH
# Compiled modules go to the user's cache, not to a __pycache__ in the project's .claude/hooks.
sys.pycache_prefix = os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tac-bootstrap", "pycache"
)
import tool_guard_rules as rules  # noqa: E402

CONFIG_JSON = "{\"allow_rm_in\": [\"/tmp\"], \"block_commands\": [], \"database\": \"adws/schema/orchestrator.db\", \"enabled\": true, \"logs_dir\": \"logs\", \"protected_paths\": []}"  # noqa: E501  # fmt: skip
DEFAULTS: dict[str, object] = {
    "enabled": True,
    "block_commands": [],
    "protected_paths": [],
    "allow_rm_in": [],  # a broken config allows recursive rm nowhere outside the project
    "database": "adws/schema/orchestrator.db",
    "logs_dir": "logs",
}
Blocked = rules.Blocked


def load_config() -> dict[str, object]:
    return rules.load_config(CONFIG_JSON, DEFAULTS)


def check(event: object) -> None:
    """Raise Blocked to refuse the tool call the PreToolUse event describes."""
    rules.check(event, load_config())


if __name__ == "__main__":
    sys.exit(rules.main(CONFIG_JSON, DEFAULTS))
