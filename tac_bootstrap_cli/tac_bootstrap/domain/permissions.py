"""The permission policy of the generated ``.claude/settings.json``, computed from the config.

Claude Code checks deny, then ask, then allow rules; the first match decides. So:

- allow: the configured commands, each as ``Bash(<command>:*)`` only when it is a simple
  command (a program and its arguments), plus read-mostly git/gh/ls commands and the file
  tools. A command with shell syntax in it would turn into a rule that allows more than the
  command (``pytest; curl ... | sh``), so it gets no rule: the agent asks before running it.
- ask: ``git add -f``/``--force`` (it adds ignored files: databases, logs, ``.env``).
- deny: force pushes in every spelling a prefix can express, hard resets, ``rm -rf /``;
  reading or changing ``.env`` files anywhere in the tree, the orchestrator database with its
  WAL and shared-memory files (the default one and the configured SQLite file), the database
  backups, the layer backups, the hook fallback log and spool (they hold raw hook input).

Prefix rules cannot see through quoting, variables or ``sh -c``; the PreToolUse guard hook
catches what they miss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from tac_bootstrap.domain.config import TacConfig

COMMAND_FIELDS = ("install", "start", "test", "lint", "typecheck", "format", "build")

# Shell syntax (and Claude Code's rule wildcard "*") that would make a prefix rule allow more
# than one program with its arguments; quotes and backslashes because they can hide the rest;
# "," because the workflows pass the rules comma-joined (--allowedTools a,b).
SHELL_SPECIALS = frozenset(";&|<>$`(){}*?[]!#~'\"\\,")

# Force pushes: the legacy prefix form for an option right after "push", and Claude Code's
# "*" wildcard for an option or a +refspec anywhere later ("git push origin main --force").
FORCE_PUSH = (
    "Bash(git push -f:*)",
    "Bash(git push --force:*)",
    "Bash(git push --force-with-lease:*)",
    "Bash(git push --force-if-includes:*)",
    "Bash(git push --mirror:*)",
    "Bash(git push +*)",
    "Bash(git push * +*)",
    "Bash(git push * --force*)",
    "Bash(git push * --mirror*)",
    "Bash(git push * -f)",
    "Bash(git push * -f *)",
)

BASE_ALLOW = (
    "Bash(git status:*)",
    "Bash(git diff:*)",
    "Bash(git log:*)",
    "Bash(git add:*)",
    "Bash(git commit:*)",
    "Bash(git checkout -b:*)",
    "Bash(git branch:*)",
    "Bash(git ls-files:*)",
    "Bash(git symbolic-ref:*)",
    "Bash(git rev-parse:*)",
    "Bash(git push:*)",
    "Bash(gh pr:*)",
    "Bash(gh issue view:*)",
    "Bash(ls:*)",
    "Bash(mkdir:*)",
    "Bash(mktemp:*)",
    "Read",
    "Edit",
    "Write",
)

# git add -f/--force adds ignored files (databases, logs, .env): asked, never auto-allowed.
ASK = (
    "Bash(git add -f:*)",
    "Bash(git add --force:*)",
    "Bash(git add * -f)",
    "Bash(git add * -f *)",
    "Bash(git add * --force*)",
)

LAYER_BACKUPS = ".tac_bootstrap/backups"


@dataclass(frozen=True)
class Policy:
    allow: list[str] = field(default_factory=list)
    ask: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"allow": self.allow, "ask": self.ask, "deny": self.deny}


def unsafe_characters(command: str) -> list[str]:
    """The characters that keep ``command`` from being one program with its arguments."""
    found = {c for c in command if c in SHELL_SPECIALS or (not c.isprintable() and c != " ")}
    if command.rstrip().endswith(":"):
        found.add(":")  # "cmd:" + ":*" reads as another prefix rule
    return sorted(found)


def command_rule(command: str) -> str | None:
    """``Bash(<command>:*)`` for a simple command, else None (the agent then asks)."""
    text = command.strip()
    if not text or unsafe_characters(text):
        return None
    return f"Bash({text}:*)"


def command_warnings(config: TacConfig) -> list[str]:
    """One warning per configured command that gets no permission rule, and why."""
    warnings = []
    for name in COMMAND_FIELDS:
        command = getattr(config.commands, name).strip()
        found = unsafe_characters(command) if command else []
        if found:
            shown = " ".join(repr(c) for c in found)
            warnings.append(
                f"commands.{name} is not a simple command ({shown}): no permission rule is "
                "generated for it, so the agent will ask before running it; make it a "
                "simple command (a program and its arguments, e.g. a Makefile target) to "
                "have it allowed"
            )
    return warnings


def _sqlite_file(config: TacConfig) -> str | None:
    """The configured SQLite database as a project-relative path, when it is one."""
    database = config.orchestrator.database.strip()
    if not database or config.uses_postgres:
        return None
    if database.lower().startswith("sqlite:"):
        # As runtime/adw_db_connection reads it: sqlite:///rel.db relative, sqlite:////abs.db
        database = unquote(urlsplit(database).path)[1:]
    elif "://" in database or "=" in database:
        return None  # another URL or a libpq keyword string: no file in the project
    path = PurePosixPath(database)
    if path.is_absolute() or database.startswith("~") or ".." in path.parts or not path.parts:
        return None  # outside the project: settings rules are about the project tree
    return path.as_posix()


def _protected_paths(config: TacConfig) -> list[str]:
    """Rule patterns (relative to the project) of files no tool may read or change."""
    patterns = ["**/.env", "**/.env.*"]
    databases = [config.default_database_path]
    configured = _sqlite_file(config)
    if configured and configured not in databases:
        databases.append(configured)
    for database in databases:
        patterns += [f"./{database}", f"./{database}-wal", f"./{database}-shm"]
        parent = PurePosixPath(database).parent.as_posix()
        patterns.append("./backups/**" if parent == "." else f"./{parent}/backups/**")
    patterns.append(f"./{config.schema_dir}/*.db")
    patterns.append(f"./{LAYER_BACKUPS}/**")
    logs = config.paths.logs_dir
    patterns += [f"./{logs}/hooks-fallback.jsonl", f"./{logs}/hooks-spool/**"]
    return list(dict.fromkeys(patterns))


def settings_policy(config: TacConfig) -> Policy:
    """The allow, ask and deny lists of ``.claude/settings.json``."""
    allow = [
        rule for name in COMMAND_FIELDS if (rule := command_rule(getattr(config.commands, name)))
    ]
    allow = list(dict.fromkeys(allow + list(BASE_ALLOW)))
    deny = list(FORCE_PUSH)
    deny += ["Bash(git reset --hard:*)", "Bash(rm -rf /:*)"]
    for pattern in _protected_paths(config):
        deny += [f"Read({pattern})", f"Edit({pattern})"]
    return Policy(allow=allow, ask=list(ASK), deny=deny)
