"""The seam between the backend-neutral operations and one database engine (stdlib only).

The operations in adw_db_operations.py write one SQL text for every backend: plain `?`
placeholders, rows read by column name, and a few `{macro}` names where engines differ. A
driver passes every statement through `Dialect.translate()` (cached per SQL text) before it
executes it, and turns the engine's integrity errors into `IntegrityViolation` with
`Dialect.classify()` before throwing them back into the operation.

Macros: `{seq}` the log tables' insertion order, `{day}` the UTC day (YYYY-MM-DD) of a
prompt `p` (`{usage_day}`: of a session_usage row `su`), `{for_update}` the row lock on a
read inside a write transaction (empty where the whole transaction already holds the write
lock), `{ordered_join}` a join the planner must take in the written order (SQLite's CROSS
JOIN; PostgreSQL's planner chooses well by itself). An unknown `{name}` raises KeyError.

Drivers whose placeholders are `%s` (psycopg) set `format_placeholders`: `?` outside quoted
text becomes `%s` and a literal `%` becomes `%%`.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

IntegrityKind = Literal["foreign_key", "check", "unique", "not_null"]

_MACRO = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class IntegrityViolation(Exception):
    """A constraint refused a statement; `str()` is the engine's own message."""

    def __init__(self, kind: IntegrityKind, message: str) -> None:
        super().__init__(message)
        self.kind: IntegrityKind = kind


def _never(_exc: BaseException) -> bool:
    return False


def _no_reason(_exc: BaseException) -> str | None:
    return None


@dataclass(frozen=True)
class Dialect:
    name: str
    macros: Mapping[str, str] = field(hash=False)
    errors: tuple[type[Exception], ...]
    classifier: Callable[[BaseException], IntegrityViolation | None] = field(repr=False)
    # The statement that opens a write transaction.
    begin_write: str = "BEGIN"
    format_placeholders: bool = False
    # After any error the engine refuses further statements until ROLLBACK (PostgreSQL), so an
    # operation that catches a thrown error must not yield another step.
    aborts_on_error: bool = False
    # Errors after which a write is run again from the start (serialization failure, deadlock).
    retryable: Callable[[BaseException], bool] = field(default=_never, repr=False)
    # Why the engine refused a value the other engine stores (PostgreSQL: NUL characters), or
    # None; the driver raises that as InvalidInput instead of an engine error.
    refused_input: Callable[[BaseException], str | None] = field(default=_no_reason, repr=False)
    _cache: Callable[[str], str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        macros = dict(self.macros)
        rewrite = self.format_placeholders

        def replace(sql: str) -> str:
            sql = _MACRO.sub(lambda match: macros[match.group(1)], sql)
            return _format_placeholders(sql) if rewrite else sql

        object.__setattr__(self, "_cache", lru_cache(maxsize=1024)(replace))

    def translate(self, sql: str) -> str:
        """The statement for this engine: known `{macro}` names replaced (`?` stays `?`)."""
        return self._cache(sql)

    def classify(self, exc: BaseException) -> IntegrityViolation | None:
        """The IntegrityViolation an engine error stands for, or None for any other error."""
        return self.classifier(exc)

    def rollback_quietly(self, conn: Any) -> None:
        """End a failed transaction; there may be none (it never began, or the link is gone),
        and the error that failed it is the one worth raising."""
        with suppress(*self.errors):
            conn.execute("ROLLBACK")


def first_line(message: str) -> str:
    """The first line of an engine's message (libpq and psycopg add detail lines)."""
    lines = message.strip().splitlines()
    return lines[0] if lines else message


def _format_placeholders(sql: str) -> str:
    """`?` -> `%s` and `%` -> `%%` outside single-quoted text and double-quoted names."""
    out: list[str] = []
    quote = ""
    for char in sql:
        if quote:
            if char == quote:
                quote = ""
            out.append("%%" if char == "%" else char)
        elif char in "'\"":
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    return "".join(out)


def _sqlite_violation(exc: BaseException) -> IntegrityViolation | None:
    if not isinstance(exc, sqlite3.IntegrityError):
        return None
    message = str(exc)
    kind: IntegrityKind
    if "FOREIGN KEY" in message:
        kind = "foreign_key"
    elif "UNIQUE" in message:
        kind = "unique"
    elif "NOT NULL" in message:
        kind = "not_null"
    else:
        kind = "check"
    return IntegrityViolation(kind, message)


SQLITE = Dialect(
    name="sqlite",
    macros={
        "seq": "rowid",
        "day": "substr(p.created_at, 1, 10)",
        "usage_day": "substr(su.message_at, 1, 10)",
        "for_update": "",
        "ordered_join": "CROSS JOIN",  # SQLite joins in the written order (with its ON)
    },
    errors=(sqlite3.Error,),
    classifier=_sqlite_violation,
    begin_write="BEGIN IMMEDIATE",
)
