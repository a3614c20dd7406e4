"""Versioned SQL migrations with bookkeeping: NNN_description.sql files, applied once each.

Each migration runs in one BEGIN IMMEDIATE transaction together with its schema_migrations
record (version, name, sha256, applied_at), so a crash or SIGKILL midway leaves the database at
the previous version, and several processes opening a fresh database at once queue on the
write lock: the first applies, the others find it applied. (Python's executescript() would
commit the open transaction first, so statements are run one by one instead.)
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .orch_database_models import OrchestratorError, utc_now

MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9][a-z0-9_]*)\.sql$")

BOOKKEEPING_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""


class MigrationError(OrchestratorError):
    """The migrations directory or the database's migration history is inconsistent."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    checksum: str

    @property
    def filename(self) -> str:
        return self.path.name

    def statements(self) -> Iterator[str]:
        return split_statements(self.path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: str


def discover(migrations_dir: Path) -> list[Migration]:
    """The migration files in order; a gap, duplicate or badly named .sql file is an error."""
    if not migrations_dir.is_dir():
        raise MigrationError(
            f"migrations directory {migrations_dir} does not exist; "
            "run `tac-bootstrap render` to restore it"
        )
    found: dict[int, Migration] = {}
    for path in sorted(migrations_dir.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(
                f"{path}: migration files must be named NNN_description.sql "
                "(three digits, lower-case words joined by _)"
            )
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"{path}: duplicate migration number {version:03d} "
                f"(also {found[version].filename}); renumber one of them"
            )
        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        found[version] = Migration(version, match.group(2), path, checksum)
    ordered = [found[v] for v in sorted(found)]
    for expected, migration in enumerate(ordered, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"{migration.path}: migration numbers must run 001, 002, ... without gaps; "
                f"{expected:03d} is missing"
            )
    return ordered


def split_statements(script: str) -> Iterator[str]:
    """Split SQL into complete statements (trigger bodies and quoted ';' stay intact)."""
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if _has_code(buffer):
                yield buffer.strip()
            buffer = ""
    if _has_code(buffer.removesuffix(";")):
        raise MigrationError(f"incomplete SQL statement at the end: {buffer.strip()[:60]!r}")


def _has_code(sql: str) -> bool:
    without_comments = re.sub(r"--[^\n]*", "", sql)
    without_comments = re.sub(r"/\*.*?\*/", "", without_comments, flags=re.S)
    return bool(without_comments.strip(" \t\r\n;"))


def applied(conn: sqlite3.Connection) -> dict[int, AppliedMigration]:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return {}
    rows = conn.execute(
        "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
    ).fetchall()
    return {row[0]: AppliedMigration(row[0], row[1], row[2], row[3]) for row in rows}


def verify_history(
    available: list[Migration], done: dict[int, AppliedMigration]
) -> list[Migration]:
    """Refuse changed or vanished migrations; return the pending ones."""
    by_version = {m.version: m for m in available}
    for version, record in done.items():
        migration = by_version.get(version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {version:03d}_{record.name} applied, but its file "
                "is missing; restore it from version control"
            )
        if migration.checksum != record.checksum:
            raise MigrationError(
                f"{migration.path} was changed after it was applied "
                f"(sha256 {migration.checksum[:12]}… != recorded {record.checksum[:12]}…); "
                "restore the original and put the change in a new migration"
            )
    return [m for m in available if m.version not in done]


def pending(conn: sqlite3.Connection, migrations_dir: Path) -> list[Migration]:
    return verify_history(discover(migrations_dir), applied(conn))


def current_version(conn: sqlite3.Connection) -> int:
    done = applied(conn)
    return max(done) if done else 0


def migrate(conn: sqlite3.Connection, migrations_dir: Path) -> list[Migration]:
    """Apply every pending migration, each in its own immediate transaction; returns those applied.

    Safe to call from many processes at once: the lock is taken before the history is read,
    so each migration is applied by exactly one of them.
    """
    available = discover(migrations_dir)
    if not verify_history(available, applied(conn)):
        return []  # up to date: no write lock needed
    done_now: list[Migration] = []
    for migration in available:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(BOOKKEEPING_DDL)
            history = applied(conn)
            verify_history(available, history)
            if migration.version in history:
                conn.execute("COMMIT")
                continue
            for statement in migration.statements():
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                "VALUES (?, ?, ?, ?)",
                (migration.version, migration.name, migration.checksum, utc_now()),
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise MigrationError(f"{migration.path}: {exc}; nothing of it was applied") from exc
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        done_now.append(migration)
    return done_now
