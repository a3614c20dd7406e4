"""The sync and async APIs stay twins: every public method of OrchestratorDB has a coroutine
twin on AsyncOrchestratorDB with the same parameters, or is in SYNC_ONLY with a reason; and
the async methods the async API gained (status, iter_rows, backup, snapshot, schema_version)
give what the sync ones give, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.runtime.adw_database import SYNC_ONLY, AsyncOrchestratorDB, OrchestratorDB
from tac_bootstrap.runtime.orch_database_models import OrchestratorError

Target = tuple[str, Path]
# Members that are state or plumbing rather than API calls.
NOT_METHODS = {"backend", "in_transaction"}


def public_methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and callable(member) and name not in NOT_METHODS
    }


def parameters(member: Any) -> list[tuple[str, Any, Any]]:
    """(name, kind, default) of each parameter, `self`/`cls` left out."""
    return [
        (p.name, p.kind, p.default)
        for p in inspect.signature(member).parameters.values()
        if p.name not in ("self", "cls")
    ]


def test_every_sync_method_has_an_async_twin_with_the_same_parameters() -> None:
    sync, asynchronous = public_methods(OrchestratorDB), public_methods(AsyncOrchestratorDB)
    missing = sorted(set(sync) - set(asynchronous) - set(SYNC_ONLY))
    assert not missing, f"add async twins (or SYNC_ONLY entries with a reason): {missing}"
    for name in sorted(set(sync) - set(SYNC_ONLY)):
        assert parameters(asynchronous[name]) == parameters(sync[name]), name


def test_async_twins_are_coroutines_or_async_iterators_unless_shared() -> None:
    """A twin is awaited (or iterated with `async for`, or entered with `async with`); a
    method both classes inherit from one definition (server_version) is the same function."""
    sync = public_methods(OrchestratorDB)
    for name, member in public_methods(AsyncOrchestratorDB).items():
        if name in sync and getattr(sync[name], "__func__", sync[name]) is getattr(
            member, "__func__", member
        ):
            continue
        function = inspect.unwrap(getattr(member, "__func__", member))
        assert inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function), name


def test_sync_only_entries_are_real_sync_methods_with_reasons() -> None:
    sync, asynchronous = public_methods(OrchestratorDB), public_methods(AsyncOrchestratorDB)
    for name, reason in SYNC_ONLY.items():
        assert name in sync, f"SYNC_ONLY lists {name}, which OrchestratorDB does not have"
        assert name not in asynchronous, f"{name} has an async twin: drop it from SYNC_ONLY"
        assert len(reason.split()) >= 5, f"say why {name} is sync-only"


def test_a_new_sync_method_without_twin_or_reason_fails_the_check() -> None:
    """The check itself: a sync method added without either is reported."""

    class Grown(OrchestratorDB):
        def new_feature(self, x: int) -> int:
            return x

    missing = set(public_methods(Grown)) - set(public_methods(AsyncOrchestratorDB))
    assert missing - set(SYNC_ONLY) == {"new_feature"}


# -- the new async methods against real databases ---------------------------------------------


def _fill(db: OrchestratorDB) -> None:
    owner = db.register_orchestrator_agent("parity", "custom")
    agent = db.start_agent(owner.id, session_id="s-parity")
    db.log_agent_batch(
        [{"agent_id": agent.id, "log_type": "hook", "message": f"m{i}"} for i in range(30)]
    )
    db.log_system("parity")


async def _async_view(database: str, migrations: Path) -> dict[str, Any]:
    async with await AsyncOrchestratorDB.open(database, migrations_dir=migrations) as db:
        rows = [dict(row) async for row in db.iter_rows("agent_logs")]
        async with db.snapshot():
            assert db.in_transaction
            in_snapshot = [dict(row) async for row in db.iter_rows("system_logs")]
            with pytest.raises(OrchestratorError, match="inside snapshot"):
                await db.log_system("refused")
        assert not db.in_transaction
        return {
            "status": await db.status(),
            "version": await db.schema_version(),
            "pending": await db.pending_migrations(),
            "agent_logs": rows,
            "system_logs": in_snapshot,
            "counts": await db.table_counts(),
        }


def test_async_status_rows_snapshot_and_version_match_sync(db_target: Target) -> None:
    database, migrations = db_target
    with OrchestratorDB.open(database, migrations_dir=migrations) as db:
        _fill(db)
        expected = {
            "status": db.status(),
            "version": db.schema_version(),
            "pending": db.pending_migrations(),
            "agent_logs": [dict(row) for row in db.iter_rows("agent_logs")],
            "system_logs": [dict(row) for row in db.iter_rows("system_logs")],
            "counts": db.table_counts(),
        }
    got = asyncio.run(_async_view(database, migrations))
    assert got["status"].size_bytes > 0
    # Sizes move with every write to the WAL or the server's pages: compare the rest.
    for view in (got, expected):
        view["status"] = {**vars(view["status"]), "size_bytes": None}
    assert got == expected
    assert len(got["agent_logs"]) == 30
    assert [row["message"] for row in got["agent_logs"]] == [f"m{i}" for i in range(30)]
    assert got["version"] >= 1 and got["status"]["schema_version"] == got["version"]


def test_async_backup_writes_the_same_rows_as_sync(tmp_path: Path, db_target: Target) -> None:
    database, migrations = db_target
    with OrchestratorDB.open(database, migrations_dir=migrations) as db:
        _fill(db)
        counts = db.table_counts()

    async def backup() -> Path:
        async with await AsyncOrchestratorDB.open(database, migrations_dir=migrations) as db:
            done: list[tuple[int, int]] = []
            path = await db.backup(
                tmp_path / "b" / "copy.db", progress=lambda d, t: done.append((d, t))
            )
            assert done and done[-1][0] == done[-1][1]
            return path

    if database.startswith("postgresql"):
        with pytest.raises(OrchestratorError, match="pg_dump"):
            asyncio.run(backup())
        return
    path = asyncio.run(backup())
    with sqlite3.connect(path) as copy:
        got = {t: copy.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in counts}
    assert got == counts
    with pytest.raises(OrchestratorError, match="already exists"):
        asyncio.run(backup())
