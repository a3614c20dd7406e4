"""PostgreSQL through psycopg 3; imported only for a postgresql:// URL or keyword string.

Importing psycopg costs ~150 ms, so SQLite users (and their hooks) never pay for it.

Every connection is set up so that, above this module, values look exactly as on SQLite: ids
are text, timestamps `YYYY-MM-DDTHH:MM:SS.mmmZ` strings, JSON columns compact JSON text, costs
float. Models, export and `db copy` therefore need no backend branches. Floats travel to the
server as numeric literals (their repr), so `total_cost_usd + 0.1` adds exact decimals instead
of being resolved in float8 and rounded to 15 digits.

Connections are in autocommit mode; the drivers open transactions with BEGIN and end them
with COMMIT or ROLLBACK, as on SQLite. `lock_timeout` plays the part of SQLite's busy timeout.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from .adw_db_connection import UnsupportedDatabase
from .adw_db_dialect import (
    LOG_TABLES,
    Dialect,
    IntegrityKind,
    IntegrityViolation,
    Progress,
    first_line,
)
from .adw_db_private import (
    PASSWORD_PARAM,
    SECRET_KEYWORDS,
    conninfo_secrets,
    looks_like_conninfo,
    parse_conninfo,
    quote_conninfo_value,
    redact,
    written_password,
)
from .orch_database_types import OrchestratorError, format_timestamp, to_json

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg.adapt import AdaptersMap, Dumper, Loader
    from psycopg.conninfo import conninfo_to_dict
    from psycopg.rows import dict_row
    from psycopg.types.datetime import TimestamptzLoader
    from psycopg.types.numeric import FloatLoader
    from psycopg.types.string import TextLoader
except ImportError:  # pragma: no cover - depends on the environment
    raise UnsupportedDatabase(
        "PostgreSQL needs psycopg 3: pip install 'psycopg[binary]>=3.1' "
        "(for the tac-bootstrap CLI: pip install 'tac-bootstrap[postgres]')"
    ) from None

APPLICATION_NAME = "tac-bootstrap"
DEFAULT_CONNECT_TIMEOUT_S = 10


class DatabaseUnavailable(OrchestratorError):
    """The server could not be reached or refused the connection."""


# -- adapters: make PostgreSQL values look like SQLite's ------------------------------------


class _TimestampText(TimestamptzLoader):
    def load(self, data: Any) -> str:  # type: ignore[override]
        return format_timestamp(super().load(data))


class _CompactJson(Loader):
    def load(self, data: Any) -> str:
        return to_json(json.loads(bytes(data)))


class _FloatAsNumeric(Dumper):
    oid = psycopg.adapters.types["numeric"].oid

    def dump(self, obj: Any) -> bytes:
        return repr(float(obj)).encode()


def configure_adapters(adapters: AdaptersMap) -> None:
    adapters.register_loader("uuid", TextLoader)
    adapters.register_loader("numeric", FloatLoader)
    adapters.register_loader("jsonb", _CompactJson)
    adapters.register_loader("json", _CompactJson)
    adapters.register_loader("timestamptz", _TimestampText)
    adapters.register_dumper(float, _FloatAsNumeric)


# -- the dialect ----------------------------------------------------------------------------

_KINDS: dict[type[Exception], IntegrityKind] = {
    pg_errors.ForeignKeyViolation: "foreign_key",
    pg_errors.CheckViolation: "check",
    pg_errors.UniqueViolation: "unique",
    pg_errors.NotNullViolation: "not_null",
}


def _violation(exc: BaseException) -> IntegrityViolation | None:
    for error_type, kind in _KINDS.items():
        if isinstance(exc, error_type):
            return IntegrityViolation(kind, first_line(str(exc)))
    return None


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, (pg_errors.SerializationFailure, pg_errors.DeadlockDetected))


def _refused_input(exc: BaseException) -> str | None:
    # psycopg refuses NUL in text before sending; the server refuses \u0000 in jsonb (22P05).
    nul_in_text = isinstance(exc, psycopg.DataError) and "NUL" in str(exc)
    if nul_in_text or isinstance(exc, pg_errors.UntranslatableCharacter):
        return (
            "PostgreSQL cannot store NUL (0x00) characters in text or JSON values; "
            "remove them (or replace them, e.g. with U+FFFD) before writing"
        )
    return None


# pg_advisory_xact_lock key: the signed first 8 bytes of sha256(b"tac-bootstrap:schema_migrations").
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"tac-bootstrap:schema_migrations").digest()[:8], "big", signed=True
)


# Makes assign_port's transactions take turns: under READ COMMITTED two of them would both see
# the same slot free, and the loser's unique violation would abort its whole transaction.
PORT_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"tac-bootstrap:run_ports").digest()[:8], "big", signed=True
)


# Tables keyed by text: their creation time (then key) is the order they were written in;
# a run's checks by the time they ran, as list_checks reads them.
_ORDER_BY_TIME = {
    "runs": "created_at, adw_id",
    "run_checks": "created_at, id",
    "webhook_deliveries": "received_at, delivery_id",
}


def _insertion_order(table: str) -> str:
    """Log tables number their rows (seq); the others have time-ordered UUIDv7 ids."""
    return "seq" if table in LOG_TABLES else _ORDER_BY_TIME.get(table, "id")


def _in_transaction(conn: Any) -> bool:
    from psycopg.pq import TransactionStatus

    return bool(conn.info.transaction_status != TransactionStatus.IDLE)


def server_version(conn: Any) -> str:
    """`15.18`: from the connection's handshake (sync and async connections alike)."""
    version = conn.info.server_version  # e.g. 150018
    return f"{version // 10000}.{version % 10000}"


def _refuse_backup(target: str, _dest: Path, _timeout: int, _progress: Progress | None) -> Path:
    raise OrchestratorError(pg_dump_advice(target))


POSTGRES = Dialect(
    name="postgresql",
    macros={
        "seq": "seq",
        "day": "to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        "usage_day": "to_char(su.message_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        "for_update": "FOR UPDATE",
        "ordered_join": "JOIN",
        "instr": "strpos",
        "nul": "NULL",  # no text value holds NUL here: NULL finds none
        # the run queue (adw_db_dialect explains these): the server's clock decides leases
        "now": "date_trunc('milliseconds', statement_timestamp())",
        "lease_until": "date_trunc('milliseconds', statement_timestamp() "
        "+ make_interval(secs => ?))",
        "skip_locked": "FOR UPDATE SKIP LOCKED",
        "port_lock": f"SELECT pg_advisory_xact_lock({PORT_LOCK_KEY})",
    },
    errors=(psycopg.Error,),
    classifier=_violation,
    begin_write="BEGIN",
    format_placeholders=True,
    aborts_on_error=True,
    retryable=_retryable,
    refused_input=_refused_input,
    snapshot_begin="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    insertion_order=_insertion_order,
    server_cursors=True,
    in_transaction=_in_transaction,
    history_exists="SELECT count(to_regclass('schema_migrations')) AS n",
    timestamp_type="TIMESTAMPTZ",
    migration_as_script=True,
    migration_lock=f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})",
    # The orchestrator's tables with their indexes and TOAST (not the whole database, which
    # other applications may share).
    size_sql="SELECT coalesce(sum(pg_total_relation_size(to_regclass(t))), 0)::bigint AS n "
    "FROM unnest(?::text[]) AS t",
    server_version=server_version,
    backup=_refuse_backup,
    identity_sql="SELECT current_database() AS db, current_setting('port') AS port, "
    "pg_postmaster_start_time()::text AS started",
    stores_nul=False,
    uuid_ids=True,
)


# -- connections ------------------------------------------------------------------------------


def _connect_kwargs(url: str, busy_timeout_ms: int, connect_timeout: int | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "row_factory": dict_row,
        "application_name": APPLICATION_NAME,
    }
    if "connect_timeout" not in _conninfo(url):
        # A caller that waits briefly for locks (a hook: 2 s) must not wait 10 s for a dead
        # server either; libpq's smallest timeout is 2 s.
        fitting = max(2, min(DEFAULT_CONNECT_TIMEOUT_S, -(-busy_timeout_ms // 1000)))
        kwargs["connect_timeout"] = connect_timeout or fitting
    return kwargs


def _session_settings(busy_timeout_ms: int) -> str:
    return f"SET lock_timeout = {int(busy_timeout_ms)}"


def _unavailable(url: str, exc: BaseException, origin: str) -> OrchestratorError:
    """A URL libpq cannot even parse is a setting to fix (UnsupportedDatabase, a config error);
    anything else is a server that could not be reached or refused us."""
    message = connection_error(url, exc, origin)
    if not _conninfo(url):
        return UnsupportedDatabase(message)
    return DatabaseUnavailable(message)


def connect(
    url: str, busy_timeout_ms: int, *, origin: str = "", connect_timeout: int | None = None
) -> psycopg.Connection[dict[str, Any]]:
    try:
        conn = psycopg.connect(url, **_connect_kwargs(url, busy_timeout_ms, connect_timeout))
    except psycopg.Error as exc:
        raise _unavailable(url, exc, origin) from None
    configure_adapters(conn.adapters)
    conn.execute(_session_settings(busy_timeout_ms))
    return conn


async def connect_async(
    url: str, busy_timeout_ms: int, *, origin: str = "", connect_timeout: int | None = None
) -> psycopg.AsyncConnection[dict[str, Any]]:
    try:
        kwargs = _connect_kwargs(url, busy_timeout_ms, connect_timeout)
        conn = await psycopg.AsyncConnection.connect(url, **kwargs)
    except psycopg.Error as exc:
        raise _unavailable(url, exc, origin) from None
    configure_adapters(conn.adapters)
    await conn.execute(_session_settings(busy_timeout_ms))
    return conn


# -- messages that name the server and never the password --------------------------------------


def _conninfo(url: str) -> dict[str, Any]:
    try:
        return conninfo_to_dict(url)
    except psycopg.Error:
        return {}


def _secrets(url: str) -> list[str]:
    """The password in every form a message may quote it: as libpq read it, as written,
    decoded, encoded, and the pieces a malformed URL splits it into (3 characters or more, so
    that masking does not eat ordinary words)."""
    info = _conninfo(url)
    candidates = {
        str(info.get("password") or ""),
        str(info.get("sslpassword") or ""),
        written_password(url) or "",
        *(match.group(2) for match in PASSWORD_PARAM.finditer(url)),
        *(conninfo_secrets(url) if looks_like_conninfo(url) else ()),
    }
    found: set[str] = set()
    for password in filter(None, candidates):
        for form in (password, unquote(password), quote(password, safe=""), quote(password)):
            found.add(form)
            found.update(piece for piece in re.split(r"[/@?#:]", form) if len(piece) >= 3)
    return [secret for secret in found if secret]


def scrub(message: str, url: str) -> str:
    """A message with the URL's password removed, as written and percent-encoded
    (libpq quotes a malformed URL back, password included)."""
    for secret in sorted(_secrets(url), key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


_QUOTED = re.compile(r'"([^"]*)"')


def _mask_quoted(message: str, url: str) -> str:
    """Mask every quoted piece of libpq's message that shares three characters in a row with
    the password (it may quote `ss word@` of the password `p@ss word`)."""
    secrets = _secrets(url)

    def shares(piece: str) -> bool:
        for secret in secrets:
            width = min(3, len(secret))
            if any(secret[i : i + width] in piece for i in range(len(secret) - width + 1)):
                return True
        return False

    return _QUOTED.sub(lambda m: '"***"' if shares(m.group(1)) else m.group(0), message)


def describe(url: str) -> str:
    """`database "orch" on db.example.com:5432 as alice`, from the URL and libpq's defaults."""
    info = _conninfo(url)
    user = info.get("user") or getpass.getuser()
    host = info.get("host") or "the default socket"
    port = info.get("port") or "5432"
    return f'database "{info.get("dbname") or user}" on {host}:{port} as {user}'


def connection_error(url: str, exc: BaseException, origin: str = "") -> str:
    info = _conninfo(url)
    text = _mask_quoted(first_line(scrub(str(exc), url)), url)  # scrub before a cut
    if not info:
        return scrub(f"malformed PostgreSQL URL{_from(origin)}: {text}", url)
    # libpq repeats "connection failed: connection to server ... failed:" before the cause.
    cause = text.rsplit("failed:", 1)[-1].strip() or text
    cause = cause.removeprefix("FATAL:").strip()
    user = info.get("user") or getpass.getuser()
    host = info.get("host") or "localhost"
    database = info.get("dbname") or user
    lowered = cause.lower()
    if "password" in lowered or "authentication" in lowered:
        hint = "check the user and password (PGPASSWORD or ~/.pgpass) and the server's pg_hba.conf"
    elif "does not exist" in lowered and "database" in lowered:
        hint = f"create it: createdb -h {host} -p {info.get('port') or 5432} -U {user} {database}"
    elif "role" in lowered and "does not exist" in lowered:
        hint = f"create the role {user!r} on the server, or connect as another user"
    else:
        hint = "check the host and port, that the server is running, and any firewall"
    return scrub(
        f"cannot connect to PostgreSQL {describe(url)}{_from(origin)}: {cause}; {hint}", url
    )


def _from(origin: str) -> str:
    return f" (from {origin})" if origin else ""


def pg_dump_advice(url: str) -> str:
    """How to back up and restore a PostgreSQL orchestrator database (there is no file to copy)."""
    if looks_like_conninfo(url):
        kept_pairs = [
            f"{key}={quote_conninfo_value(redact(value) if key == 'dbname' else value)}"
            for key, value in parse_conninfo(url).items()
            if key not in SECRET_KEYWORDS
        ]
        return _pg_dump_commands(shlex.quote(" ".join(kept_pairs)))
    # The command must work as printed: drop the masked secrets instead of showing ***.
    head, _, query = redact(url).replace(":***@", "@").partition("?")
    kept = [p for p in query.split("&") if p and not re.match(r"(?i)(ssl)?password=", p)]
    safe = head + ("?" + "&".join(kept) if kept else "")
    return _pg_dump_commands(f"'{safe}'")


def _pg_dump_commands(dbname: str) -> str:
    return (
        "backups of a PostgreSQL database are made with pg_dump, a consistent snapshot "
        "taken while agents keep writing: "
        f"pg_dump --format=custom --file=orchestrator.dump --dbname={dbname} "
        "(password via PGPASSWORD or ~/.pgpass); restore with "
        f"pg_restore --no-owner --dbname={dbname} orchestrator.dump"
    )
