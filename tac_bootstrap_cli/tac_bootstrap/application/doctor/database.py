"""The database checks (integrity, foreign keys, migrations) and the migrations fix.

The checks open the database without migrating it; only the fix migrates, after a backup of a
SQLite file. On PostgreSQL the checks connect (an unreachable server is a failed row naming
host and database, never the password), report the server version, and leave integrity and
foreign keys to the server, which enforces them; the fix migrates without a file backup (each
migration is one transaction). A password in tac_bootstrap.yml, a committed file, is a warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tac_bootstrap.application import database_service
from tac_bootstrap.application.doctor.report import (
    FAIL,
    OK,
    WARN,
    Check,
    Fixed,
    _Context,
    _listed,
    _plural,
)
from tac_bootstrap.domain.config_values import CONFIG_FILENAME
from tac_bootstrap.domain.errors import TacError
from tac_bootstrap.runtime.adw_db_connection import ENV_VAR as DATABASE_ENV_VAR
from tac_bootstrap.runtime.adw_db_migrations import MigrationError, discover
from tac_bootstrap.runtime.adw_db_private import (
    SECRET_KEYWORDS,
    ConninfoError,
    is_postgres_url,
    looks_like_conninfo,
    parse_conninfo,
    redact,
    remove_orphans,
    written_password,
)

if TYPE_CHECKING:
    from tac_bootstrap.runtime.adw_database import OrchestratorDB

SQLITE_HEADER = b"SQLite format 3\x00"


def _locate(ctx: _Context) -> database_service.DatabaseTarget:
    # From the config check's inputs: reading and validating the config again per row cost
    # two more yaml parses per doctor run. Resolved, as database_service.locate resolves it.
    return database_service.target_for(ctx.root.resolve(), ctx.inputs.database_settings)


def _from(target: database_service.DatabaseTarget) -> str:
    origin = target.location.origin
    return f" (from {origin})" if origin else ""


def check_database(ctx: _Context) -> list[Check]:
    rows = _password_in_config(ctx)
    try:
        target = _locate(ctx)
    except TacError as exc:
        return [*rows, Check("database", FAIL, exc.message, exc.hint)]
    if target.location.is_postgres:
        return [*rows, *_check_postgres(ctx, target)]
    return [*rows, *_check_sqlite(ctx, target)]


def _password_in_config(ctx: _Context) -> list[Check]:
    """A warning when the committed config file's database setting holds a password."""
    setting = ctx.inputs.database.strip()
    if looks_like_conninfo(setting):
        try:
            if not SECRET_KEYWORDS & set(parse_conninfo(setting)):
                return []
        except ConninfoError:
            pass  # unreadable: the database row says so; warn, it may hold a password
    # A URL is read as written (a URL parser is fooled by a ?, # or [ in the password).
    elif not is_postgres_url(setting) or (
        written_password(setting) is None and redact(setting) == setting
    ):
        return []
    return [
        Check(
            "database password",
            WARN,
            f"{CONFIG_FILENAME} (a committed file) holds the database password: "
            f"orchestrator.database is {redact(setting)}",
            "remove the password from the setting and give it through PGPASSWORD or "
            f"~/.pgpass, or set the whole setting in {DATABASE_ENV_VAR} instead of the config "
            "file",
        )
    ]


def _check_postgres(ctx: _Context, target: database_service.DatabaseTarget) -> list[Check]:
    shown = f"PostgreSQL {target.display}{_from(target)}"
    missing_migrations = ctx.missing_generated(f"{ctx.inputs.schema_dir}/postgres/migrations")
    try:
        with database_service.opened(target, migrate=False) as db:
            version = db.schema_version()
            server = db.server_version()
            todo, history_error = _pending(db)
    except TacError as exc:
        # The runtime's one line is "what and where: cause; how to fix": keep the parts apart.
        message, hint = exc.message, exc.hint
        if not hint and "; " in message:
            message, _, hint = message.rpartition("; ")
        return [Check("database", FAIL, message, hint)]
    rows = [
        Check(
            "database",
            OK,
            f"{shown} connects (server {server}); integrity is enforced by the server",
        ),
        Check("foreign keys", OK, "enforced by the server (PostgreSQL constraints)"),
    ]
    if version == 0 and not history_error:
        rows.append(_migration_files_row(target, missing_migrations, where="the tables are"))
    else:
        rows.append(_migrations_row(version, todo, history_error, missing_migrations))
    return rows


def _check_sqlite(ctx: _Context, target: database_service.DatabaseTarget) -> list[Check]:
    assert target.path is not None
    shown = ctx.shown(target.path) + _from(target)
    missing_migrations = ctx.missing_generated(f"{ctx.inputs.schema_dir}/migrations")
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
            todo, history_error = _pending(db)
    except TacError as exc:
        return [Check("database", FAIL, f"{shown} cannot be opened: {exc.message}", exc.hint)]
    rows = [_integrity_row(shown, target, integrity)]
    rows.append(_foreign_keys_row(enforced, violations))
    rows.append(_migrations_row(version, todo, history_error, missing_migrations))
    return [*rows, *_private_files_rows(ctx, target.path)]


def _private_files_rows(ctx: _Context, database: Path) -> list[Check]:
    """Temp files of a killed backup are removed; a database others may read is a warning
    (not changed: the file is the user's, and a shared group may be wanted)."""
    rows = []
    removed = remove_orphans(database.parent, database.parent / "backups")
    if removed:
        names = ", ".join(ctx.shown(path) for path in removed)
        rows.append(Check("temp files", OK, f"removed what killed backups left: {names}"))
    try:
        mode = database.stat().st_mode & 0o777
    except OSError:
        return rows
    if mode & 0o077:
        rows.append(
            Check(
                "database permissions",
                WARN,
                f"{ctx.shown(database)} may be read by others (mode {mode:04o}): it holds "
                "prompts and tool input",
                f"chmod 600 {database} {database}-wal {database}-shm (new databases are "
                "created 0600)",
            )
        )
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
    assert target.path is not None
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
    target: database_service.DatabaseTarget,
    missing_migrations: list[str],
    where: str = "the database is",
) -> Check:
    try:
        found = discover(target.location.migrations_dir)
    except MigrationError as exc:
        return _migration_error_row(str(exc), missing_migrations)
    return Check(
        "migrations",
        OK,
        f"{_plural(len(found), 'migration')} ready; applied when {where} created "
        "(on first use, or by `tac-bootstrap db init`)",
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
            "(after backing a SQLite database up; on PostgreSQL run pg_dump first if you "
            "want a backup)",
            fixable=True,
            details=tuple(todo),
        )
    return Check("migrations", OK, f"schema version {version}, no pending migrations")


def fix_database(ctx: _Context) -> list[Fixed]:
    """Apply pending migrations to an existing database; migrate() backs a SQLite file up
    first. PostgreSQL gets no file backup: each migration is one transaction (say so)."""
    target = _locate(ctx)
    if not target.exists:
        return []
    run = database_service.migrate(target)
    if not run.applied:
        return []
    names = tuple(m.filename for m in run.applied)
    message = f"applied {_plural(len(names), 'migration')}: {', '.join(names)}"
    if run.backup is not None:
        message += f" (backup: {ctx.shown(run.backup)})"
    elif target.location.is_postgres:
        message += f" ({database_service.NO_BACKUP_ON_POSTGRES})"
    return [Fixed("migrations", message, names, str(run.backup) if run.backup else None)]


def _pending(db: OrchestratorDB) -> tuple[list[str], str]:
    """Pending migration files, or the history error that stops migrating altogether."""
    try:
        return [m.filename for m in db.pending_migrations()], ""
    except MigrationError as exc:
        return [], str(exc)
