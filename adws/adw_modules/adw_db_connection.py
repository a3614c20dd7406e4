"""Where the orchestrator database lives, and how every connection to it is opened.

Zero-config: without settings the database is <adws_dir>/schema/orchestrator.db of the project
this module belongs to, found from this file's own location, never from the current directory.
TAC_ORCHESTRATOR_DB (a file path, a sqlite:/// URL, a postgresql:// URL or a libpq keyword/value
string such as `host=db user=app dbname=orch`) overrides the config file's
``orchestrator.database``, which overrides the default. A PostgreSQL setting is a secret (it
may hold a password): it is only ever shown through `redact()` (adw_db_private), and a keyword
string is never taken for a file name.

Connection settings that SQLite keeps per connection (foreign_keys, synchronous, busy_timeout)
are applied to every connection here; a schema file cannot do it for later connections.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .adw_db_private import (
    ConninfoError,
    create_private_file,
    is_postgres_url,
    looks_like_conninfo,
    parse_conninfo,
    written_password,
)
from .adw_db_private import redact as redact  # re-exported: the one redaction
from .adw_db_schema_retry import factory as retrying_factory
from .adw_project import current_project
from .orch_database_types import OrchestratorError

ENV_VAR = "TAC_ORCHESTRATOR_DB"
DEFAULT_BUSY_TIMEOUT_MS = 30_000


class UnsupportedDatabase(OrchestratorError):
    """A database URL this runtime cannot open (yet)."""


# What each source of a location is called where a user changes it.
SETTING_NAMES = {"environment": ENV_VAR, "config": "orchestrator.database"}


@dataclass(frozen=True)
class DatabaseLocation:
    """A SQLite file (`path`) or a PostgreSQL server (`url`: a URL or a libpq keyword/value
    string, both accepted by psycopg; secret: show `display`)."""

    path: Path | None
    source: str  # "environment", "config", "default" or "argument"
    migrations_dir: Path
    url: str | None = field(default=None, repr=False)

    @property
    def is_postgres(self) -> bool:
        """The one test of which engine a location names (a server URL, or a file path)."""
        return self.url is not None

    @property
    def backend(self) -> str:
        return "postgresql" if self.is_postgres else "sqlite"

    @property
    def display(self) -> str:
        """Where the database is, safe to print: the URL or keyword string, password masked."""
        return redact(self.url) if self.url else str(self.path)

    @property
    def origin(self) -> str:
        """The setting a user would fix: named in errors ("" for the default or an argument)."""
        return SETTING_NAMES.get(self.source, "")

    @property
    def target(self) -> str:
        """The setting that reaches this database again (for child processes); may be secret."""
        return self.url or str(self.path)


def postgres_url(value: str, origin: str) -> str:
    """The URL libpq understands: `postgresql+psycopg://` loses its suffix; other drivers are
    refused, because this runtime only speaks psycopg 3."""
    scheme, rest = value.split("://", 1)
    base, _, driver = scheme.lower().partition("+")
    if driver and (base != "postgresql" or driver != "psycopg"):
        raise UnsupportedDatabase(
            f"{origin}: unsupported driver {scheme!r}; use postgresql:// (psycopg 3 is used)"
        )
    password = written_password(value) or ""
    if "@" in password or "/" in password:
        raise UnsupportedDatabase(
            f"{origin}: the PostgreSQL URL cannot be read: an '@' or '/' follows the ':' of its "
            "user part; percent-encode them in the password (@ is %40, / is %2F), or leave the "
            "password out and give it through PGPASSWORD or ~/.pgpass"
        )
    return f"{base}://{rest}"


def migrations_dir_for(project_root: Path, adws_dir: str, backend: str) -> Path:
    schema = project_root / adws_dir / "schema"
    return schema / "postgres" / "migrations" if backend == "postgresql" else schema / "migrations"


def location_from_setting(
    value: str, project_root: Path, adws_dir: str, source: str
) -> DatabaseLocation:
    """A location from a path or URL as a user wrote it (relative paths: project root)."""
    origin = SETTING_NAMES.get(source, source)
    if is_postgres_url(value):
        url = postgres_url(value, origin)
        migrations = migrations_dir_for(project_root, adws_dir, "postgresql")
        return DatabaseLocation(None, source, migrations, url)
    if looks_like_conninfo(value):
        try:
            parse_conninfo(value)
        except ConninfoError as exc:
            raise UnsupportedDatabase(f"{origin}: {exc}") from None
        migrations = migrations_dir_for(project_root, adws_dir, "postgresql")
        return DatabaseLocation(None, source, migrations, value)
    path = _path_from_setting(value, project_root, origin)
    return DatabaseLocation(path, source, migrations_dir_for(project_root, adws_dir, "sqlite"))


def _path_from_setting(value: str, project_root: Path, origin: str) -> Path:
    lowered = value.lower()
    if re.match(r"(postgres|postgresql)(\+\w+)?:(?!//)", lowered):
        raise UnsupportedDatabase(
            f"{origin}: this looks like a PostgreSQL URL without '//' after the scheme; "
            "write postgresql://user@host:5432/dbname"
        )
    if lowered.startswith("sqlite:"):
        from urllib.parse import unquote, urlsplit  # ~4 ms at start-up; only for a URL

        parts = urlsplit(value)
        if parts.netloc not in ("", "localhost"):
            raise UnsupportedDatabase(f"{origin}: sqlite URLs cannot name a host ({redact(value)})")
        raw = unquote(parts.path)
        if not raw or raw == "/":
            raise UnsupportedDatabase(f"{origin}: the sqlite URL {value!r} names no file")
        # SQLAlchemy's convention: sqlite:///rel.db is relative, sqlite:////abs.db absolute.
        value = raw[1:]
    elif "://" in value:
        scheme = value.split("://", 1)[0]
        raise UnsupportedDatabase(
            f"{origin}: unsupported database URL scheme {scheme!r}; "
            "use a file path, sqlite:///FILE or postgresql://"
        )
    path = Path(value).expanduser()
    return path if path.is_absolute() else project_root / path


def resolve_location(
    project_root: Path,
    *,
    adws_dir: str = "adws",
    configured: str = "",
    environ: Mapping[str, str] | None = None,
) -> DatabaseLocation:
    """Pick the database file: environment, then config, then the zero-config default.

    Relative paths are taken relative to the project root, so the answer does not depend on
    the directory a workflow happens to run in.
    """
    env = os.environ if environ is None else environ
    from_env = env.get(ENV_VAR, "").strip()
    if from_env:
        return location_from_setting(from_env, project_root, adws_dir, "environment")
    if configured.strip():
        return location_from_setting(configured.strip(), project_root, adws_dir, "config")
    default = project_root / adws_dir / "schema" / "orchestrator.db"
    return DatabaseLocation(
        default, "default", migrations_dir_for(project_root, adws_dir, "sqlite")
    )


def default_location(*, need_timeout: bool = True) -> tuple[DatabaseLocation, int]:
    """The location and busy timeout for the project this module was generated into.

    The config file is read only when something depends on it: with TAC_ORCHESTRATOR_DB set
    and the timeout given by the caller (as hooks do), it is not parsed at all.
    """
    project = current_project()
    env_set = bool(os.environ.get(ENV_VAR, "").strip())
    orchestrator = project.section("orchestrator") if need_timeout or not env_set else {}
    timeout = orchestrator.get("busy_timeout_ms")
    location = resolve_location(
        project.root,
        adws_dir=project.adws_dir,
        configured=str(orchestrator.get("database") or ""),
    )
    return location, int(timeout) if timeout is not None else DEFAULT_BUSY_TIMEOUT_MS


def connection_pragmas(busy_timeout_ms: int) -> list[str]:
    """Statements every new connection runs; busy_timeout first so the rest may wait."""
    return [
        f"PRAGMA busy_timeout = {int(busy_timeout_ms)}",
        "PRAGMA foreign_keys = ON",
        "PRAGMA synchronous = NORMAL",
    ]


def connect(path: Path, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """Open (creating if needed) a database file with the orchestrator's connection settings.

    The connection is in autocommit mode: callers open write transactions with BEGIN IMMEDIATE
    so concurrent writers queue on the busy timeout instead of failing.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    create_private_file(path)  # before SQLite: its -wal and -shm copy the file's mode
    conn = sqlite3.connect(
        str(path),
        isolation_level=None,
        timeout=busy_timeout_ms / 1000,
        check_same_thread=False,
        factory=retrying_factory(busy_timeout_ms),  # `db copy` into it changes its schema
    )
    conn.row_factory = sqlite3.Row
    for pragma in connection_pragmas(busy_timeout_ms):
        conn.execute(pragma)
    enable_wal(conn, busy_timeout_ms)
    return conn


def enable_wal(conn: sqlite3.Connection, busy_timeout_ms: int) -> None:
    """Switch to WAL (stored in the file, so usually a no-op), retrying while others hold locks."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    if str(mode).lower() not in ("wal", "memory"):
        raise OrchestratorError(f"could not enable WAL journal mode (got {mode!r})")
