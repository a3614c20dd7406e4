"""SQLite connections whose statements outlast another connection's schema changes.

SQLite prepares a statement against the schema it last read; when another connection changed
the schema since, it reads it again and re-prepares, up to 50 times, then gives up with
SQLITE_SCHEMA ("database schema has changed"). `db copy` into a live database changes the
schema once per batch (it drops the prompt_totals insert trigger for the batch's own upkeep
and recreates it in the same transaction), so with small batches a process opening the
database meanwhile could exhaust those retries and fail to open. A statement that failed so
outside a transaction did nothing: it is run again, until the connection's busy timeout, as a
statement that meets a locked database waits for it.
"""

from __future__ import annotations

import sqlite3
import time
from functools import cache
from typing import Any

SQLITE_SCHEMA = 17
_MESSAGE = "database schema has changed"  # Python 3.10 has no sqlite_errorcode


def schema_changed(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    return code == SQLITE_SCHEMA if code is not None else _MESSAGE in str(exc)


class SchemaRetryingConnection(sqlite3.Connection):
    """A statement outside a transaction is run again while it meets SQLITE_SCHEMA, for at
    most ``retry_seconds``; ``factory(busy_timeout_ms)`` gives the class to connect with."""

    retry_seconds: float = 30.0

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        deadline: float | None = None
        pause = 0.001
        while True:
            try:
                return super().execute(sql, parameters)
            except sqlite3.OperationalError as exc:
                if self.in_transaction or not schema_changed(exc):
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.retry_seconds
                elif now >= deadline:
                    raise
                time.sleep(pause)  # lets the writer commit its change
                pause = min(pause * 2, 0.05)


@cache
def factory(busy_timeout_ms: int) -> type[SchemaRetryingConnection]:
    """The connection class for `sqlite3.connect(..., factory=)` (also through aiosqlite,
    which passes it on): retries last as long as the busy timeout."""
    return type(
        "SchemaRetryingConnection",
        (SchemaRetryingConnection,),
        {"retry_seconds": busy_timeout_ms / 1000, "__module__": __name__},
    )
