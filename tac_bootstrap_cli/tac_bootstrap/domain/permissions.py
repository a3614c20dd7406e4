"""The permission policy of the generated ``.claude/settings.json``, computed from the config.

Claude Code checks deny, then ask, then allow rules; the first match decides. So:

- allow: the configured commands, each as ``Bash(<command>:*)`` only when it is a simple
  command (a program and its arguments), plus read-mostly git/gh/ls commands and the file
  tools. A command with shell syntax in it would turn into a rule that allows more than the
  command (``pytest; curl ... | sh``), so it gets no rule: the agent asks before running it.
  One exception: a chain of simple commands, ``a && b`` (each maybe in a subshell that
  first changes into a folder of the project, ``(cd backend && pytest)``: a monorepo's
  commands run from the root), gets one rule per command, as Claude Code matches each
  command of a chain against the rules on its own; the ``cd`` needs none.
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


def _project_cd(segment: str) -> bool:
    """``cd FOLDER`` into a folder of the project (relative, never up)."""
    words = segment.split()
    if len(words) != 2 or words[0] != "cd" or unsafe_characters(words[1]):
        return False
    folder = PurePosixPath(words[1])
    return not folder.is_absolute() and ".." not in folder.parts


def chain_rules(command: str) -> list[str] | None:
    """One rule per command of a chain of simple commands (``a && (cd b && c)``); None when
    it is not such a chain (a single command, or any other shell syntax)."""
    segments = [segment.strip() for segment in command.strip().split(" && ")]
    if len(segments) < 2:
        return None
    rules: list[str] = []
    in_group = False
    for segment in segments:
        opens = segment.startswith("(")
        closes = segment.endswith(")")
        if (opens and in_group) or (closes and not (in_group or opens)):
            return None
        segment = segment.removeprefix("(").removesuffix(")").strip()
        in_group = (in_group or opens) and not closes
        if _project_cd(segment):
            continue
        if segment.split()[:1] == ["cd"]:
            return None  # out of the project: the agent asks
        rule = command_rule(segment)
        if rule is None:
            return None
        rules.append(rule)
    return None if in_group or not rules else rules


def command_rules(command: str) -> list[str]:
    """The allow rules of a configured command: its own, one per command of a chain, or none."""
    rule = command_rule(command)
    if rule is not None:
        return [rule]
    return chain_rules(command) or []


def command_warnings(config: TacConfig) -> list[str]:
    """One warning per configured command that gets no permission rule, and why."""
    warnings = []
    for name in COMMAND_FIELDS:
        command = getattr(config.commands, name).strip()
        found = unsafe_characters(command) if command else []
        if found and chain_rules(command) is None:
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
        rule for name in COMMAND_FIELDS for rule in command_rules(getattr(config.commands, name))
    ]
    allow = list(dict.fromkeys(allow + list(BASE_ALLOW)))
    deny = list(FORCE_PUSH)
    deny += ["Bash(git reset --hard:*)", "Bash(rm -rf /:*)"]
    for pattern in _protected_paths(config):
        deny += [f"Read({pattern})", f"Edit({pattern})"]
    return Policy(allow=allow, ask=list(ASK), deny=deny)
