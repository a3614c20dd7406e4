"""`tac-bootstrap doctor`: check a project's agentic layer and fix what is safe to fix.

Each check is one function returning one or more ``Check`` rows (ok, warn or fail, with a
message and a hint saying how to fix it). ``run_doctor`` runs them in order; with ``fix`` it
first lets each section fix its own fixable failures, in the same order, each looking at the
project as the previous fixes left it, and then runs every check again, so the report always
describes the project as it is now.

What --fix may do, and nothing else:

  files       create generated files that are missing (an existing file is never touched)
  migrations  apply pending migrations, after backing the database up
  gitignore   append the database paths to the project's root .gitignore

An invalid config stops everything after the first row: the other checks need the config.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from tac_bootstrap.application import database_service
from tac_bootstrap.application.gitignore import GitignoreAction, update_gitignore
from tac_bootstrap.application.plan_executor import PlanExecutor
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import CONFIG_FILENAME, TacConfig
from tac_bootstrap.domain.errors import ConfigError, OperationError, TacError
from tac_bootstrap.domain.manifest import MANIFEST_FILENAME, Manifest, sha256_of
from tac_bootstrap.domain.plan import FileOperation, ScaffoldPlan, Status
from tac_bootstrap.infrastructure.config_loader import load_config
from tac_bootstrap.infrastructure.filesystem import confined_path
from tac_bootstrap.infrastructure.manifest_store import load_manifest
from tac_bootstrap.runtime.adw_db_connection import ENV_VAR as DATABASE_ENV_VAR
from tac_bootstrap.runtime.adw_db_migrations import MigrationError, discover, split_statements
from tac_bootstrap.runtime.adw_db_migrations import pending as pending_migrations
from tac_bootstrap.runtime.agent import CLI_ENV_VAR, AgentCLINotFound, resolve_cli

SQLITE_HEADER = b"SQLite format 3\x00"
PYTHON_ENV_VAR = "TAC_PYTHON"  # the interpreter the Claude Code hooks run (settings.json)
MIN_PYTHON = (3, 10)
INSTALL_CLAUDE = "npm install -g @anthropic-ai/claude-code"
SUBPROCESS_TIMEOUT = 60
# Comments before a statement's first keyword (always matches, possibly empty).
_LEADING_COMMENTS = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.S)

# Printed by the layer's interpreter: its version and the pydantic it can import (or null).
_PYTHON_PROBE = """
import json, sys
try:
    import pydantic
    version = str(pydantic.VERSION)
except Exception:
    version = None
print(json.dumps({"python": list(sys.version_info[:3]), "pydantic": version}))
"""


class CheckStatus(str, Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


OK, WARN, FAIL = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL


@dataclass(frozen=True)
class Check:
    name: str
    status: CheckStatus
    message: str
    hint: str = ""  # how to fix it; empty when there is nothing to do
    fixable: bool = False  # `doctor --fix` can fix it
    details: tuple[str, ...] = ()  # the paths (or rows) the message counts

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "status": self.status.value,
            "message": self.message,
            "hint": self.hint,
            "fixable": self.fixable,
            "details": list(self.details),
        }


@dataclass(frozen=True)
class Fixed:
    """One thing `doctor --fix` changed."""

    check: str
    message: str
    paths: tuple[str, ...] = ()
    backup: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "check": self.check,
            "message": self.message,
            "paths": list(self.paths),
            "backup": self.backup,
        }


@dataclass
class DoctorReport:
    root: Path
    checks: list[Check] = field(default_factory=list)
    fixed: list[Fixed] = field(default_factory=list)
    # Set when the config file is missing or invalid; the CLI reports it as a usage error.
    config_error: ConfigError | None = None

    @property
    def ok(self) -> bool:
        return not any(check.status is FAIL for check in self.checks)

    def count(self, status: CheckStatus) -> int:
        return sum(1 for check in self.checks if check.status is status)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "path": str(self.root),
            "checks": [check.to_dict() for check in self.checks],
            "fixed": [item.to_dict() for item in self.fixed],
        }


@dataclass
class _Context:
    root: Path
    config: TacConfig
    service: ScaffoldService = field(default_factory=ScaffoldService)

    def plan(self) -> ScaffoldPlan:
        return self.service.build_plan(self.config)

    def shown(self, path: Path) -> str:
        """A path as people read it: relative to the project when inside it."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)


CheckFn = Callable[[_Context], list[Check]]
FixFn = Callable[[_Context], list[Fixed]]


def _listed(paths: list[str]) -> str:
    shown = ", ".join(paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# -- config ---------------------------------------------------------------------------------


def check_config(root: Path) -> tuple[Check, TacConfig | None, ConfigError | None]:
    try:
        config = load_config(root / CONFIG_FILENAME)
    except ConfigError as exc:
        return Check("config", FAIL, exc.message, exc.hint), None, exc
    message = (
        f"{CONFIG_FILENAME} is valid (project {config.project.name!r}, "
        f"{config.project.language.value})"
    )
    return Check("config", OK, message), config, None


# -- generated files ------------------------------------------------------------------------


@dataclass(frozen=True)
class _FileState:
    path: str
    state: str  # ok, missing, blocked, edited, outdated, untracked, differs
    detail: str = ""


def _inspect_files(ctx: _Context, manifest: Manifest | None) -> list[_FileState]:
    states: list[_FileState] = []
    for op in ctx.plan().files:
        try:
            path = confined_path(ctx.root, op.path)
        except TacError as exc:
            states.append(_FileState(op.path, "blocked", exc.message))
            continue
        if path.is_symlink() and not path.exists():
            states.append(_FileState(op.path, "blocked", "a dangling symlink is in the way"))
            continue
        if not path.exists():
            states.append(_FileState(op.path, "missing"))
            continue
        if path.is_dir():
            states.append(_FileState(op.path, "blocked", "a directory is in the way"))
            continue
        try:
            current = path.read_bytes()
        except OSError as exc:
            states.append(_FileState(op.path, "blocked", f"cannot be read ({exc.strerror})"))
            continue
        states.append(_FileState(op.path, _classify(ctx, op, current, manifest)))
    return states


def _classify(ctx: _Context, op: FileOperation, current: bytes, manifest: Manifest | None) -> str:
    if op.seed:
        return "ok"  # seeds belong to the user once they exist
    entry = manifest.files.get(op.path) if manifest is not None else None
    if entry is not None and sha256_of(current) != entry.sha256:
        return "edited"
    same_as_templates = current == ctx.service.content_for(op, ctx.config)
    if entry is not None:
        return "ok" if same_as_templates else "outdated"
    if manifest is None:
        return "ok" if same_as_templates else "differs"
    return "untracked"


def check_files(ctx: _Context) -> list[Check]:
    manifest_error: TacError | None = None
    try:
        manifest = load_manifest(ctx.root)
    except TacError as exc:
        manifest, manifest_error = None, exc
    try:
        states = _inspect_files(ctx, manifest)
    except TacError as exc:  # a template that does not render
        return [Check("files", FAIL, f"cannot render the templates: {exc.message}", exc.hint)]

    def having(*names: str) -> list[_FileState]:
        return [s for s in states if s.state in names]

    rows = [_files_row(states, having("missing"), having("blocked"))]

    edited = [s.path for s in having("edited", "differs")]
    if not edited:
        rows.append(Check("edited", OK, "no generated file was edited"))
    elif manifest is None:
        rows.append(
            Check(
                "edited",
                WARN,
                f"{_plural(len(edited), 'generated file')} "
                f"{'differs' if len(edited) == 1 else 'differ'} from the templates (without "
                "the manifest, your edits cannot be told from older templates)",
                "nothing to do if you edited them; `tac-bootstrap render --check` lists them",
                details=tuple(edited),
            )
        )
    else:
        rows.append(
            Check(
                "edited",
                WARN,
                f"{_plural(len(edited), 'generated file')} edited since generated",
                "nothing to do if the edits are intended: `tac-bootstrap upgrade` keeps them; "
                "`tac-bootstrap render --force` regenerates them (keeping a backup)",
                details=tuple(edited),
            )
        )

    outdated = [s.path for s in having("outdated")]
    if manifest is not None:
        if outdated:
            rows.append(
                Check(
                    "outdated",
                    WARN,
                    f"{_plural(len(outdated), 'unedited file')} older than the templates or the "
                    "config",
                    "run `tac-bootstrap upgrade` to bring them up to date",
                    details=tuple(outdated),
                )
            )
        else:
            rows.append(Check("outdated", OK, "every unedited file matches the templates"))

    rows.append(_manifest_row(manifest, manifest_error, [s.path for s in having("untracked")]))
    return rows


def _files_row(
    states: list[_FileState], missing: list[_FileState], blocked: list[_FileState]
) -> Check:
    if not missing and not blocked:
        return Check("files", OK, f"all {len(states)} generated files are present")
    parts, hints = [], []
    if missing:
        parts.append(f"{len(missing)} of {len(states)} generated files missing")
        hints.append(
            "`tac-bootstrap doctor --fix` creates the missing files (and touches no other)"
        )
    if blocked:
        parts.append(f"{_plural(len(blocked), 'path')} blocked")
        hints.append("move what is in the way, then run `tac-bootstrap doctor --fix`")
    listed = [s.path for s in missing] + [f"{s.path} ({s.detail})" for s in blocked]
    return Check(
        "files",
        FAIL,
        "; ".join(parts),
        "; ".join(hints),
        fixable=bool(missing),
        details=tuple(listed),
    )


def _manifest_row(manifest: Manifest | None, error: TacError | None, untracked: list[str]) -> Check:
    if error is not None:
        return Check("manifest", FAIL, error.message, error.hint)
    if manifest is None:
        return Check(
            "manifest",
            WARN,
            f"no {MANIFEST_FILENAME}: edited files cannot be told apart from template changes",
            "run `tac-bootstrap render` to create it",
        )
    if untracked:
        return Check(
            "manifest",
            WARN,
            f"{_plural(len(untracked), 'generated file')} not recorded in {MANIFEST_FILENAME}",
            "run `tac-bootstrap render` to record them",
            details=tuple(untracked),
        )
    return Check("manifest", OK, f"{MANIFEST_FILENAME} records {len(manifest.files)} files")


def fix_files(ctx: _Context) -> list[Fixed]:
    """Create the missing generated files: a plan with only those operations, never --force."""
    full = ctx.plan()
    missing = ScaffoldPlan()
    for op in full.operations:
        try:
            path = confined_path(ctx.root, op.path)
        except TacError:
            continue  # reported as blocked; never written
        if not path.exists() and not path.is_symlink():
            missing.add(op)
    if not missing.files:
        return []
    report = PlanExecutor(ctx.service).apply(missing, ctx.config, ctx.root)
    created = tuple(r.path for r in report.results if r.status is Status.CREATE)
    if not created:
        return []
    return [Fixed("files", f"created {_plural(len(created), 'missing file')}", created)]


def _missing_generated(ctx: _Context, under: str) -> list[str]:
    """Generated files below ``under`` (relative) that do not exist; cheap (nothing rendered)."""
    prefix = under.rstrip("/") + "/"
    return [
        op.path
        for op in ctx.plan().files
        if op.path.startswith(prefix) and not (ctx.root / op.path).exists()
    ]


# -- schema ---------------------------------------------------------------------------------


def check_schema(ctx: _Context) -> list[Check]:
    relative = f"{ctx.config.schema_dir}/schema_orchestrator.sql"
    path = ctx.root / relative
    if not path.exists():
        return [
            Check(
                "schema",
                FAIL,
                f"{relative} is missing",
                "`tac-bootstrap doctor --fix` restores it",
                fixable=True,
            )
        ]
    try:
        script = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Check("schema", FAIL, f"{relative} cannot be read ({exc})")]
    line, error = _sql_error(script)
    if not error:
        return [Check("schema", OK, f"{relative} loads into SQLite")]
    return [
        Check(
            "schema",
            FAIL,
            f"{relative}{f':{line}' if line else ''}: {error}",
            "fix the SQL, or restore the generated file with `tac-bootstrap render --force` "
            "(keeping a backup of yours)",
        )
    ]


def _sql_error(script: str) -> tuple[int | None, str]:
    """(None, '') when the script runs on an empty database, else the failing line and error."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(script)
        return None, ""
    except sqlite3.Error as exc:
        first_error = str(exc)
    finally:
        conn.close()
    # Run it again statement by statement to name the line of the one that fails.
    conn = sqlite3.connect(":memory:", isolation_level=None)
    offset = 0
    try:
        for statement in split_statements(script):
            offset = max(script.find(statement, offset), offset)
            try:
                conn.execute(statement)
            except sqlite3.Error as exc:
                match = _LEADING_COMMENTS.match(statement)
                code_start = offset + (match.end() if match else 0)
                return script.count("\n", 0, code_start) + 1, str(exc)
            offset += len(statement)
    except MigrationError as exc:  # an unterminated statement at the end
        return script.count("\n", 0, offset) + 1, str(exc)
    finally:
        conn.close()
    return None, first_error


# -- database -------------------------------------------------------------------------------


def _locate(ctx: _Context) -> database_service.DatabaseTarget:
    return database_service.locate(ctx.root)


def check_database(ctx: _Context) -> list[Check]:
    try:
        target = _locate(ctx)
    except TacError as exc:
        return [Check("database", FAIL, exc.message, exc.hint)]
    shown = ctx.shown(target.path)
    if target.location.source != "default":
        source = {"environment": DATABASE_ENV_VAR, "config": "orchestrator.database"}
        shown += f" (from {source.get(target.location.source, target.location.source)})"
    missing_migrations = _missing_generated(ctx, f"{ctx.config.schema_dir}/migrations")
    if not target.path.exists() and not target.path.is_symlink():
        return [
            Check("database", OK, f"{shown} not created yet (created on first use)"),
            _migration_files_row(target, missing_migrations),
        ]
    problem = _not_a_database(target.path)
    if problem:
        return [
            Check(
                "database",
                FAIL,
                f"{shown} {problem}",
                "move it away (a new database is created on first use), or point "
                f"{DATABASE_ENV_VAR} or orchestrator.database at the right file",
            )
        ]
    try:
        with database_service.opened(target, migrate=False) as db:
            integrity = [str(row[0]) for row in db.conn.execute("PRAGMA quick_check(20)")]
            enforced = db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            violations = [tuple(row) for row in db.conn.execute("PRAGMA foreign_key_check")]
            version = db.schema_version()
            try:
                todo = [m.filename for m in pending_migrations(db.conn, db.migrations_dir)]
                history_error = ""
            except MigrationError as exc:
                todo, history_error = [], str(exc)
    except TacError as exc:
        return [Check("database", FAIL, f"{shown} cannot be opened: {exc.message}", exc.hint)]
    rows = [_integrity_row(shown, target, integrity)]
    rows.append(_foreign_keys_row(enforced, violations))
    rows.append(_migrations_row(version, todo, history_error, missing_migrations))
    return rows


def _not_a_database(path: Path) -> str:
    if path.is_dir():
        return "is a directory, not a database file"
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if header and header != SQLITE_HEADER:  # an empty file is a new database to SQLite
        return "is not a SQLite database (its first bytes are not the SQLite header)"
    return ""


def _integrity_row(
    shown: str, target: database_service.DatabaseTarget, integrity: list[str]
) -> Check:
    if integrity == ["ok"]:
        return Check("database", OK, f"{shown} opens; integrity check passed")
    backups = target.path.parent / "backups"
    return Check(
        "database",
        FAIL,
        f"{shown} failed the integrity check: {'; '.join(integrity[:3])}",
        f"restore a backup (e.g. from {backups}) or try `sqlite3 {target.path} .recover`",
        details=tuple(integrity),
    )


def _foreign_keys_row(enforced: bool, violations: list[tuple[object, ...]]) -> Check:
    if not enforced:
        return Check(
            "foreign keys",
            FAIL,
            "not enforced on the runtime's connections (PRAGMA foreign_keys is 0)",
            "every connection must run `PRAGMA foreign_keys = ON`; restore "
            "adw_modules/adw_db_connection.py with `tac-bootstrap render --force`",
        )
    if violations:
        pairs: dict[str, int] = {}
        for row in violations:
            key = f"{row[0]} -> {row[2]}"
            pairs[key] = pairs.get(key, 0) + 1
        listed = [f"{key} ({count})" for key, count in pairs.items()]
        return Check(
            "foreign keys",
            FAIL,
            f"{_plural(len(violations), 'row')} point at missing parents: {_listed(listed)}",
            "`PRAGMA foreign_key_check` lists them; delete those rows or restore a backup",
            details=tuple(listed),
        )
    return Check("foreign keys", OK, "enforced on the runtime's connections; no violations")


def _migration_files_row(
    target: database_service.DatabaseTarget, missing_migrations: list[str]
) -> Check:
    try:
        found = discover(target.location.migrations_dir)
    except MigrationError as exc:
        return _migration_error_row(str(exc), missing_migrations)
    return Check(
        "migrations",
        OK,
        f"{_plural(len(found), 'migration')} ready; applied when the database is created",
    )


def _migration_error_row(message: str, missing_migrations: list[str]) -> Check:
    if missing_migrations:
        return Check(
            "migrations",
            FAIL,
            message,
            "`tac-bootstrap doctor --fix` restores the missing migration files",
            fixable=True,
        )
    return Check("migrations", FAIL, message)


def _migrations_row(
    version: int, todo: list[str], history_error: str, missing_migrations: list[str]
) -> Check:
    if history_error:
        return _migration_error_row(history_error, missing_migrations)
    if todo:
        return Check(
            "migrations",
            FAIL,
            f"schema version {version}; {_plural(len(todo), 'pending migration')}: {_listed(todo)}",
            "`tac-bootstrap doctor --fix` or `tac-bootstrap db migrate` applies them "
            "(after backing the database up)",
            fixable=True,
            details=tuple(todo),
        )
    return Check("migrations", OK, f"schema version {version}, no pending migrations")


def fix_database(ctx: _Context) -> list[Fixed]:
    """Apply pending migrations to an existing database; migrate() backs it up first."""
    target = _locate(ctx)
    if not target.exists or not database_service.pending(target):
        return []
    applied, backup = database_service.migrate(target)
    if not applied:
        return []
    names = tuple(m.filename for m in applied)
    message = f"applied {_plural(len(names), 'migration')}: {', '.join(names)}"
    if backup is not None:
        message += f" (backup: {ctx.shown(backup)})"
    return [Fixed("migrations", message, names, str(backup) if backup else None)]


# -- .gitignore -----------------------------------------------------------------------------


def _database_paths(target: database_service.DatabaseTarget) -> list[tuple[Path, bool]]:
    """The files that hold the database's data, and whether each is a directory."""
    db = target.path
    return [
        (db, False),
        (db.with_name(db.name + "-wal"), False),
        (db.with_name(db.name + "-shm"), False),
        (db.parent / "backups", True),  # where `db migrate` keeps full copies
    ]


@dataclass(frozen=True)
class _IgnoreState:
    method: str  # "git" or ".gitignore patterns"
    unignored: list[str]  # project-relative POSIX paths; directories end with "/"
    tracked: list[str]


def _in_git_repo(root: Path) -> bool:
    if shutil.which("git") is None:
        return False
    result = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=SUBPROCESS_TIMEOUT,
    )
    return result.returncode == 0 and result.stdout.strip() == "true"


def _ignore_state(ctx: _Context, relative: list[str]) -> _IgnoreState:
    if _in_git_repo(ctx.root):
        ignored = subprocess.run(
            ["git", "check-ignore", "--", *relative],
            cwd=ctx.root,
            capture_output=True,
            text=True,
            check=False,
            timeout=SUBPROCESS_TIMEOUT,
        )
        if ignored.returncode in (0, 1):
            hits = set(ignored.stdout.splitlines())
            files = [p for p in relative if not p.endswith("/")]
            listed = subprocess.run(
                ["git", "ls-files", "--", *files],
                cwd=ctx.root,
                capture_output=True,
                text=True,
                check=False,
                timeout=SUBPROCESS_TIMEOUT,
            )
            tracked = [p for p in files if p in set(listed.stdout.splitlines())]
            unignored = [p for p in relative if p not in hits and p not in tracked]
            return _IgnoreState("git check-ignore", unignored, tracked)
    unignored = [p for p in relative if not gitignore_ignores(ctx.root, p)]
    return _IgnoreState(".gitignore patterns (not a git repository)", unignored, [])


def check_gitignore(ctx: _Context) -> list[Check]:
    try:
        target = _locate(ctx)
    except TacError as exc:
        return [Check("gitignore", FAIL, f"cannot locate the database: {exc.message}", exc.hint)]
    relative: list[str] = []
    for path, is_dir in _database_paths(target):
        shown = ctx.shown(path)
        if Path(shown).is_absolute():
            return [Check("gitignore", OK, f"the database is outside the project ({target.path})")]
        relative.append(shown + ("/" if is_dir else ""))
    state = _ignore_state(ctx, relative)
    rows: list[Check] = []
    if state.tracked:
        rows.append(
            Check(
                "gitignore",
                FAIL,
                f"committed to git: {_listed(state.tracked)} (the database is local state)",
                f"`git rm --cached {' '.join(state.tracked)}` and commit",
                details=tuple(state.tracked),
            )
        )
    if state.unignored:
        rows.append(
            Check(
                "gitignore",
                FAIL,
                f"not ignored by git: {_listed(state.unignored)}",
                "`tac-bootstrap doctor --fix` adds them to .gitignore",
                fixable=True,
                details=tuple(state.unignored),
            )
        )
    return rows or [Check("gitignore", OK, f"the database files are ignored ({state.method})")]


def fix_gitignore(ctx: _Context) -> list[Fixed]:
    """Append the paths git does not ignore to the root .gitignore (never a generated one)."""
    target = _locate(ctx)
    relative = [
        ctx.shown(path) + ("/" if is_dir else "") for path, is_dir in _database_paths(target)
    ]
    if any(Path(p).is_absolute() for p in relative):
        return []
    unignored = _ignore_state(ctx, relative).unignored
    if not unignored:
        return []
    lines = ["/" + _escape_pattern(p) for p in unignored]
    # The same append-only update add-agentic uses: existing bytes are never changed.
    update = update_gitignore(ctx.root, lines, dry_run=False)
    if update.action is GitignoreAction.SKIPPED:
        raise OperationError(f"{ctx.root / '.gitignore'}: {update.detail}: " + ", ".join(lines))
    added = len(update.lines)
    return [Fixed("gitignore", f"added {_plural(added, 'line')} to .gitignore", update.lines)]


def _escape_pattern(path: str) -> str:
    escaped = "".join("\\" + ch if ch in "\\*?[]" else ch for ch in path)
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return escaped


def gitignore_ignores(root: Path, relative: str) -> bool:
    """Whether the .gitignore files from ``root`` down to the path's directory ignore it.

    Used only outside a git repository, where `git check-ignore` cannot answer. It follows
    git's rules for the patterns a project uses (comments, ``!`` negation, trailing ``/`` for
    directories, anchoring by a ``/``, the last match winning); a ``*`` may match a ``/``.
    """
    is_dir = relative.endswith("/")
    parts = PurePosixPath(relative.rstrip("/")).parts
    verdict = False
    for depth in range(len(parts)):
        ignore_file = root.joinpath(*parts[:depth], ".gitignore")
        if not ignore_file.is_file():
            continue
        try:
            lines = ignore_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        below = parts[depth:]
        for line in lines:
            matched = _pattern_matches(line, below, is_dir)
            if matched is not None:
                verdict = matched
    return verdict


def _pattern_matches(line: str, parts: tuple[str, ...], is_dir: bool) -> bool | None:
    """True (ignored) or False (re-included) when the pattern matches the path, else None."""
    pattern = line.rstrip("\r")
    # Trailing spaces are dropped unless escaped with a backslash.
    escaped_space = pattern.endswith("\\ ")
    pattern = pattern[:-2].rstrip() + "\\ " if escaped_space else pattern.rstrip()
    if not pattern or pattern.startswith("#"):
        return None
    negate = pattern.startswith("!")
    if negate:
        pattern = pattern[1:]
    pattern = pattern.removeprefix("\\")
    dir_only = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    anchored = "/" in pattern
    pattern = pattern.lstrip("/").removeprefix("**/") if anchored else pattern
    pattern = pattern.replace("\\ ", " ")
    if not pattern:
        return None
    for end in range(1, len(parts) + 1):
        directory = end < len(parts) or is_dir  # leading components are directories
        if dir_only and not directory:
            continue
        candidate = "/".join(parts[:end]) if anchored else parts[end - 1]
        if fnmatchcase(candidate, pattern):
            return not negate
    return None


# -- tools ----------------------------------------------------------------------------------


def check_git(ctx: _Context) -> list[Check]:
    git = shutil.which("git")
    if git is None:
        return [
            Check(
                "git",
                WARN,
                "git is not installed",
                "install git: upgrades recover generated files from its history, and the "
                "/commit and /pull_request commands use it",
            )
        ]
    result = subprocess.run(
        [git, "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    version = result.stdout.strip() or "git"
    return [Check("git", OK, f"{version} ({git})")]


def check_python(ctx: _Context) -> list[Check]:
    """The interpreter the layer runs on: TAC_PYTHON, else python3 (as the hooks call it)."""
    name = os.environ.get(PYTHON_ENV_VAR) or "python3"
    origin = PYTHON_ENV_VAR if os.environ.get(PYTHON_ENV_VAR) else "the hooks' default"
    executable = shutil.which(name)
    if executable is None:
        return [
            Check(
                "python",
                FAIL,
                f"{name} ({origin}) not found; the Claude Code hooks run it",
                f"install Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ with pydantic 2, or set "
                f"{PYTHON_ENV_VAR} to an interpreter that has it",
            )
        ]
    version: tuple[int, ...] = ()
    pydantic: object = None
    try:
        result = subprocess.run(
            [executable, "-c", _PYTHON_PROBE],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=SUBPROCESS_TIMEOUT,
        )
        lines = result.stdout.strip().splitlines()
        probe = json.loads(lines[-1]) if result.returncode == 0 and lines else {}
        version = tuple(int(part) for part in probe["python"])
        pydantic = probe.get("pydantic")
    except (OSError, subprocess.SubprocessError, ValueError, TypeError, KeyError):
        version = ()  # not a Python that can run the probe
    if len(version) < 2:
        return [
            Check(
                "python",
                FAIL,
                f"{name} ({executable}) does not run as a Python interpreter",
                f"set {PYTHON_ENV_VAR} to a Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ interpreter",
            )
        ]
    shown_version = ".".join(map(str, version))
    where = f"{name} ({executable}, Python {shown_version})"
    if version[:2] < MIN_PYTHON:
        return [
            Check(
                "python",
                FAIL,
                f"{where} is older than {MIN_PYTHON[0]}.{MIN_PYTHON[1]}",
                f"install a newer Python, or set {PYTHON_ENV_VAR} to one",
            )
        ]
    if not isinstance(pydantic, str) or not pydantic.startswith("2"):
        found = f"pydantic {pydantic}" if pydantic else "no pydantic"
        return [
            Check(
                "python",
                FAIL,
                f"{where} has {found}; the layer's database modules need pydantic 2",
                f"`{executable} -m pip install 'pydantic>=2'`, or set {PYTHON_ENV_VAR} to an "
                "interpreter that has it",
            )
        ]
    return [Check("python", OK, f"{where} with pydantic {pydantic}")]


def check_agent_cli(ctx: _Context) -> list[Check]:
    configured = ctx.config.agentic.agent_cli
    from_env = os.environ.get(CLI_ENV_VAR)
    try:
        found = resolve_cli(configured)
    except AgentCLINotFound:
        candidate = from_env or configured or "claude"
        origin = f"{CLI_ENV_VAR}={from_env}" if from_env else "agentic.agent_cli"
        relative = bool(from_env) and "/" in candidate and not Path(candidate).is_absolute()
        note = " (a relative path is taken from the current directory)" if relative else ""
        return [
            Check(
                "agent CLI",
                FAIL,
                f"agent CLI {candidate!r} ({origin}) not found{note}; workflows cannot run",
                f"install Claude Code (`{INSTALL_CLAUDE}`) or set {CLI_ENV_VAR} to its path",
            )
        ]
    origin = f" (from {CLI_ENV_VAR})" if from_env else ""
    return [Check("agent CLI", OK, f"{found}{origin}")]


# -- running --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    name: str  # the row reported if the check itself breaks
    check: CheckFn
    fix: FixFn | None = None

    def run(self, ctx: _Context) -> list[Check]:
        try:
            return self.check(ctx)
        except _UNEXPECTED as exc:  # a hung git, an unreadable directory: a row, not a traceback
            return [Check(self.name, FAIL, f"the check could not run: {exc}")]


_UNEXPECTED = (TacError, OSError, sqlite3.Error, subprocess.SubprocessError, UnicodeError)

# In order: a fix may rely on the ones before it (migrations need their files restored).
SECTIONS: tuple[Section, ...] = (
    Section("files", check_files, fix_files),
    Section("schema", check_schema),
    Section("database", check_database, fix_database),
    Section("gitignore", check_gitignore, fix_gitignore),
    Section("git", check_git),
    Section("python", check_python),
    Section("agent CLI", check_agent_cli),
)


def run_doctor(root: Path, fix: bool = False) -> DoctorReport:
    """Run every check (after fixing what is safe when ``fix``); the report is the end state."""
    config_row, config, config_error = check_config(root)
    report = DoctorReport(root, [config_row], config_error=config_error)
    if config is None:
        return report
    ctx = _Context(root, config)
    failed_fixes: dict[str, str] = {}
    if fix:
        for section in SECTIONS:
            if section.fix is None:
                continue
            rows = section.run(ctx)
            if not any(row.status is FAIL and row.fixable for row in rows):
                continue
            try:
                report.fixed.extend(section.fix(ctx))
            except _UNEXPECTED as exc:
                for row in rows:
                    failed_fixes[row.name] = str(exc)
    for section in SECTIONS:
        for row in section.run(ctx):
            error = failed_fixes.get(row.name)
            if error and row.status is FAIL:
                row = replace(row, message=f"{row.message} (--fix failed: {error})")
            report.checks.append(row)
    return report
