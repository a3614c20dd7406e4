"""Versioned SQL migrations with bookkeeping: NNN_description.sql files, applied once each.

Each migration runs in one BEGIN IMMEDIATE transaction together with its schema_migrations
record (version, name, sha256, applied_at), so a crash or SIGKILL midway leaves the database at
the previous version, and several processes opening a fresh database at once queue on the
write lock: the first applies, the others find it applied. (Python's executescript() would
commit the open transaction first, so statements are run one by one instead.)

On PostgreSQL (adws/schema/postgres/migrations, same numbering) each migration is one
transaction too (DDL is transactional there), and a transaction-scoped advisory lock taken
before anything else makes concurrent migrators queue: CREATE TABLE IF NOT EXISTS alone races
on the system catalogs. A file is sent whole, so `$$` function bodies need no splitting.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .adw_db_dialect import SQLITE, Dialect, first_line
from .orch_database_types import OrchestratorError, utc_now

MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9][a-z0-9_]*)\.sql$")

BOOKKEEPING_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at {timestamp} NOT NULL
)
"""
HISTORY_SQL = "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
_CONCURRENTLY = re.compile(r"\bCONCURRENTLY\b", re.I)


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


def _without_comments(sql: str) -> str:
    return re.sub(r"/\*.*?\*/", "", re.sub(r"--[^\n]*", "", sql), flags=re.S)


def _has_code(sql: str) -> bool:
    return bool(_without_comments(sql).strip(" \t\r\n;"))


def applied(conn: Any, dialect: Dialect = SQLITE) -> dict[int, AppliedMigration]:
    if not _records(conn.execute(dialect.history_exists))[0]["n"]:
        return {}
    rows = _records(conn.execute(HISTORY_SQL))
    return {row["version"]: AppliedMigration(**row) for row in rows}


def history() -> Generator[
    tuple[Literal["one", "all"], str, tuple[()]], Any, dict[int, AppliedMigration]
]:
    """applied() as an operation (see adw_db_operations), for drivers sync and async alike:
    `{history_exists}` is the dialect's query."""
    exists = yield ("one", "{history_exists}", ())
    if not exists["n"]:
        return {}
    rows = yield ("all", HISTORY_SQL, ())
    return {row["version"]: AppliedMigration(**dict(row)) for row in rows}


def _records(cursor: Any) -> list[dict[str, Any]]:
    """Rows as dicts whatever the connection's row factory (tuples, sqlite3.Row, dict_row)."""
    names = [column[0] for column in cursor.description]
    return [
        dict(row) if isinstance(row, Mapping) else dict(zip(names, row, strict=True))
        for row in cursor.fetchall()
    ]


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


def pending(conn: Any, migrations_dir: Path, dialect: Dialect = SQLITE) -> list[Migration]:
    return verify_history(discover(migrations_dir), applied(conn, dialect))


def current_version(conn: Any, dialect: Dialect = SQLITE) -> int:
    done = applied(conn, dialect)
    return max(done) if done else 0


def migrate(conn: Any, migrations_dir: Path, dialect: Dialect = SQLITE) -> list[Migration]:
    """Apply every pending migration, each in its own write transaction; returns those applied.

    Safe to call from many processes at once: the lock is taken before the history is read,
    so each migration is applied by exactly one of them.
    """
    available = discover(migrations_dir)
    todo = verify_history(available, applied(conn, dialect))
    if not todo:
        return []  # up to date: no write lock needed
    if dialect.migration_as_script:
        for migration in todo:
            code = _without_comments(migration.path.read_text(encoding="utf-8"))
            if _CONCURRENTLY.search(code):
                raise MigrationError(
                    f"{migration.path}: CONCURRENTLY cannot run inside a transaction, and each "
                    "migration is one; build the index without it"
                )
    return [m for m in todo if _apply(conn, m, available, dialect)]


def _apply(conn: Any, migration: Migration, available: list[Migration], dialect: Dialect) -> bool:
    """Apply one migration with its history record in one transaction; False when another
    process applied it first."""
    queued = False  # waiting for the migration lock (not for a lock the file's SQL needs)
    conn.execute(dialect.begin_write)
    try:
        if dialect.migration_lock:
            queued = True
            conn.execute(dialect.migration_lock)
            queued = False
        if not _records(conn.execute(dialect.history_exists))[0]["n"]:
            # Only when missing: PostgreSQL checks CREATE on the schema even for IF NOT
            # EXISTS, and a role that may only write rows must still apply DML migrations.
            conn.execute(BOOKKEEPING_DDL.format(timestamp=dialect.timestamp_type))
        history = applied(conn, dialect)
        verify_history(available, history)
        if migration.version in history:
            conn.execute("COMMIT")
            return False
        if dialect.migration_as_script:  # one simple-protocol call runs the whole file
            conn.execute(migration.path.read_text(encoding="utf-8"))
        else:
            for statement in migration.statements():
                conn.execute(statement)
        conn.execute(
            dialect.translate(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                "VALUES (?, ?, ?, ?)"
            ),
            (migration.version, migration.name, migration.checksum, utc_now()),
        )
        conn.execute("COMMIT")
    except dialect.errors as exc:
        dialect.rollback_quietly(conn)
        raise _migration_error(migration, exc, queued) from exc
    except BaseException:
        dialect.rollback_quietly(conn)
        raise
    return True


def _migration_error(migration: Migration, exc: BaseException, queued: bool) -> MigrationError:
    if queued and getattr(exc, "sqlstate", None) == "55P03":  # lock_timeout
        return MigrationError(
            f"{migration.path}: another process has held the migration lock for longer "
            f"than the lock timeout; try again when it has finished ({_first(exc)})"
        )
    hint = ""
    refused = getattr(exc, "sqlstate", None) == "42501"  # insufficient_privilege
    if refused and "for schema" in str(exc):  # not "must be owner of table ..."
        hint = (
            "; the database user needs the right to create tables (PostgreSQL 15 and "
            "later no longer give it on public to everyone: "
            "GRANT CREATE ON SCHEMA public TO <user>), or run migrations as the owner"
        )
    return MigrationError(f"{migration.path}: {_first(exc)}; nothing of it was applied{hint}")


def _first(exc: BaseException) -> str:
    return first_line(str(exc)) or type(exc).__name__
