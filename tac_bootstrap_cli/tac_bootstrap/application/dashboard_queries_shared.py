"""The dashboard's connection to the orchestrator database and the values its queries share.

The dashboard only reads: SQLite is opened with `mode=ro` (no file is created, no migration
or hook replay runs), PostgreSQL with `default_transaction_read_only`. One connection serves
every request, one query at a time (a lock): the pages are few and small, and SQLite's and
psycopg's connections must not be used by two threads at once.

Queries are generators of SQL steps, as the runtime's operations are (adw_db_ops_shared):
one SQL text for both engines, `?` placeholders and `{macro}` names that the dialect
(adw_db_dialect) translates. Values come back as each engine stores them (text or datetime
timestamps, float or Decimal costs, text or dict JSON) and are made one shape here.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from tac_bootstrap.application import database_service as service
from tac_bootstrap.domain.errors import OperationError, UsageError
from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_driver import execute_step
from tac_bootstrap.runtime.adw_db_ops_shared import Step
from tac_bootstrap.runtime.adw_db_schema_retry import factory as retrying_factory
from tac_bootstrap.runtime.orch_database_types import format_timestamp

T = TypeVar("T")
Query = Generator[Step, Any, T]
Row = dict[str, Any]

TOKEN_KINDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
RUNS_VERSION = 5  # the migration that made the runs table
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
_DAY = re.compile(r"^\d{4}-\d\d-\d\d$")


class DashboardSource:
    """One read-only connection to a project's database, shared by the app's requests."""

    def __init__(self, target: service.DatabaseTarget) -> None:
        self.target = target
        self.location = target.location
        self.db = _open_read_only(target)
        self._lock = threading.Lock()
        self.schema_version = self.db.schema_version()
        self.cost_cache: dict[str, tuple[Any, dict[str, Any]]] = {}  # dashboard_queries_costs

    @property
    def backend(self) -> str:
        return self.db.backend

    @property
    def display(self) -> str:
        """The file, or the URL with its password masked: the only form ever shown."""
        return self.location.display

    def run(self, query: Query[T]) -> T:
        """Run a query's steps one after the other; the value it returns is the answer."""
        with self._lock:
            try:
                step = next(query)
                while True:
                    step = query.send(execute_step(self.db.conn, step, self.db.dialect))
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            except BaseException:
                self._reopen_if_broken()
                raise

    def _reopen_if_broken(self) -> None:
        """A server connection that broke (a restart, a dropped link) is opened again, so
        this request fails but the next ones are answered."""
        if not getattr(self.db.conn, "broken", False):
            return
        with suppress(Exception):
            self.db.close()
        with suppress(Exception):  # still down: the next request tries again
            self.db = _open_read_only(self.target)

    @contextmanager
    def locked(self) -> Iterator[OrchestratorDB]:
        """The runtime's API on the same connection (rollups), one caller at a time."""
        with self._lock:
            yield self.db

    def close(self) -> None:
        with self._lock:
            self.db.close()


def _open_read_only(target: service.DatabaseTarget) -> OrchestratorDB:
    """The runtime's OrchestratorDB over a connection that cannot write."""
    location = target.location
    timeout = target.busy_timeout_ms
    with service.translated_errors(location):
        if location.is_postgres:
            from tac_bootstrap.runtime.adw_db_postgres import POSTGRES
            from tac_bootstrap.runtime.adw_db_postgres import connect as pg_connect

            conn: Any = pg_connect(location.target, timeout, origin=location.origin)
            conn.execute("SET default_transaction_read_only = on")
            return OrchestratorDB(conn, location, POSTGRES, timeout)
        from tac_bootstrap.runtime.adw_db_dialect import SQLITE

        path = Path(location.target)
        if not path.exists():
            raise OperationError(
                f"no database at {location.display} yet: nothing has been recorded",
                hint="run a workflow, or `tac-bootstrap db init` to create it",
            )
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        conn = sqlite3.connect(
            uri,
            uri=True,
            isolation_level=None,
            timeout=timeout / 1000,
            check_same_thread=False,
            factory=retrying_factory(timeout),  # pages stay up while `db copy` writes into it
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
        return OrchestratorDB(conn, location, SQLITE, timeout)


# -- values ---------------------------------------------------------------------------------


def iso(value: Any) -> str | None:
    """A timestamp as the database's text (2026-11-26T10:24:19.123Z), whichever engine."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_timestamp(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    return str(value)


def millis(value: str | None) -> int:
    """Milliseconds since the epoch of a timestamp text (0 for none)."""
    if not value:
        return 0
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return int(moment.timestamp() * 1000)


def from_millis(value: int) -> str:
    return format_timestamp(datetime.fromtimestamp(max(value, 0) / 1000, tz=timezone.utc))


def number(value: Any) -> float:
    if value is None:
        return 0.0
    return float(value) if isinstance(value, (Decimal, int, float)) else float(str(value))


def integer(value: Any) -> int:
    return 0 if value is None else int(value)


def json_object(value: Any) -> dict[str, Any]:
    """A JSON column (SQLite text, PostgreSQL JSONB) as a dict; anything else as {}."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def plain(row: Mapping[str, Any]) -> Row:
    """A row as a dict of JSON-ready values (timestamps as text, costs as floats, ids as str)."""
    out: Row = {}
    for key, value in dict(row).items():
        if isinstance(value, datetime):
            out[key] = iso(value)
        elif isinstance(value, Decimal):
            out[key] = float(value)
        elif value is not None and type(value).__name__ == "UUID":
            out[key] = str(value)
        else:
            out[key] = value
    return out


def day_start(value: str, name: str) -> str:
    """`2026-12-01` as the first millisecond of that UTC day; a bad date is a usage error."""
    if not _DAY.match(value):
        raise UsageError(f"invalid {name} {value!r}: use a date like 2026-12-01")
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise UsageError(f"invalid {name} {value!r}: not a calendar date") from None
    return f"{value}T00:00:00.000Z"


def is_timestamp(value: str) -> bool:
    return bool(_ISO.match(value))


def like_pattern(text: str) -> str:
    """A LIKE pattern finding `text` anywhere, its wildcards taken literally (ESCAPE '!')."""
    escaped = text.lower().replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def placeholders(count: int) -> str:
    return ", ".join("?" for _ in range(count))


@dataclass(frozen=True)
class Page:
    """One page of rows and the cursor of the next (None: this was the last)."""

    rows: list[Row]
    next: str | None
