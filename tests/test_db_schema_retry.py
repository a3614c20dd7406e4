"""The runtime's SQLite connections outlast another connection's schema changes.

SQLite re-prepares a statement whose schema changed, 50 times at most, then answers
SQLITE_SCHEMA. An authorizer (called on every prepare) that has a second connection change the
schema each time makes that happen on demand: a plain connection fails, the runtime's runs the
statement again once the changes stop, and gives up after its busy timeout when they never do.
(Inside a transaction the read snapshot hides later changes, so SQLite's own retries suffice.)
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tac_bootstrap.runtime.adw_db_connection import connect
from tac_bootstrap.runtime.adw_db_schema_retry import SQLITE_SCHEMA, schema_changed

_SERIAL = itertools.count()


def _schema_churn(path: Path, changes: int) -> tuple[Callable[..., int], list[int]]:
    """An authorizer that creates a new table from another connection, `changes` times."""
    other = sqlite3.connect(path, isolation_level=None)
    made: list[int] = []

    def authorizer(*_: object) -> int:
        if len(made) < changes:
            made.append(1)
            other.execute(f"CREATE TABLE churn_{next(_SERIAL)} (x)")
        return sqlite3.SQLITE_OK

    return authorizer, made


def _database(tmp_path: Path) -> Path:
    path = tmp_path / "orchestrator.db"
    connect(path).execute("CREATE TABLE t (x)")
    return path


def test_a_plain_connection_fails_where_the_runtime_s_waits(tmp_path: Path) -> None:
    path = _database(tmp_path)
    authorizer, _ = _schema_churn(path, 300)
    plain = sqlite3.connect(path, isolation_level=None)
    plain.set_authorizer(authorizer)
    with pytest.raises(sqlite3.OperationalError, match="schema has changed"):
        plain.execute("SELECT count(*) FROM t")  # the scenario is real
    authorizer, made = _schema_churn(path, 300)
    ours = connect(path)
    ours.set_authorizer(authorizer)
    assert ours.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    assert len(made) == 300  # it was run again past SQLite's own retries


def test_it_gives_up_after_the_busy_timeout(tmp_path: Path) -> None:
    path = _database(tmp_path)
    authorizer, made = _schema_churn(path, 10**9)
    ours = connect(path, busy_timeout_ms=300)
    ours.set_authorizer(authorizer)
    with pytest.raises(sqlite3.OperationalError, match="schema has changed"):
        ours.execute("SELECT count(*) FROM t")
    assert len(made) > 100


def test_only_a_schema_change_counts() -> None:
    """By code (3.11+) or by message (3.10)."""
    changed = sqlite3.OperationalError("database schema has changed")
    assert schema_changed(changed)
    changed.sqlite_errorcode = SQLITE_SCHEMA  # type: ignore[attr-defined]
    assert schema_changed(changed)
    busy = sqlite3.OperationalError("database schema has changed")
    busy.sqlite_errorcode = 5  # type: ignore[attr-defined]  # SQLITE_BUSY: its code decides
    assert not schema_changed(busy)
    assert not schema_changed(sqlite3.OperationalError("database is locked"))
    assert not schema_changed(sqlite3.IntegrityError("database schema has changed"))
