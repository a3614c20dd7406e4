"""AsyncOrchestratorDB behaves exactly like OrchestratorDB: same results, same errors, on
SQLite (aiosqlite) and on PostgreSQL (psycopg's AsyncConnection)."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from tac_bootstrap.runtime.adw_database import AsyncOrchestratorDB, OrchestratorDB
from tac_bootstrap.runtime.orch_database_models import OrchestratorError

from .db_helpers import ISO_MS, LATEST_VERSION, MIGRATIONS, PG_MIGRATIONS, snapshot

Call = Callable[..., Awaitable[Any]]
Target = tuple[str, Path]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMESTAMP = re.compile(ISO_MS)


class Recorder:
    """Runs one scripted sequence through `call`, recording results and errors."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.results: list[tuple[str, Any]] = []
        self.labels: dict[str, str] = {}

    async def do(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        try:
            value = await self.call(method, *args, **kwargs)
        except OrchestratorError as exc:
            value = ("raised", type(exc).__name__, str(exc))
        self.results.append((method, value))
        return value

    def label(self, row_id: str, label: str) -> str:
        self.labels[row_id] = label
        return row_id

    def normalised(self) -> list[Any]:
        return [normalise(item, self.labels) for item in self.results]


def normalise(value: Any, labels: dict[str, str]) -> Any:
    """Ids become the labels the script gave them (or <id>), timestamps become <time>."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        return {k: normalise(v, labels) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        items = [normalise(v, labels) for v in value]
        if isinstance(value, list):  # equal timestamps make row order arbitrary: compare sets
            items.sort(key=lambda item: json.dumps(item, sort_keys=True))
        return items
    if isinstance(value, (datetime, date)):
        return "<time>"
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str):
        if TIMESTAMP.match(value):  # how model_dump() writes a Timestamp
            return "<time>"
        for row_id, label in labels.items():
            value = value.replace(row_id, label)
        return UUID.sub("<id>", value)
    return value


async def script(rec: Recorder) -> None:
    """Every operation of the API, with good and bad input, in one fixed order."""
    do = rec.do
    builder = await do(
        "register_orchestrator_agent",
        "builder",
        "builder",
        capabilities=["edit", {"tool": "bash"}],
        config={"retries": 2},
    )
    rec.label(builder.id, "owner-builder")
    rec.label((await do("register_orchestrator_agent", "planner", "planner")).id, "owner-planner")
    await do("register_orchestrator_agent", "builder", "builder", description="updated")
    await do("register_orchestrator_agent", "bad", "wizard")
    await do("register_orchestrator_agent", "bad", "custom", config="[1]")
    await do("list_orchestrator_agents")
    await do("get_orchestrator_agent", "planner")

    a1 = rec.label(
        (
            await do(
                "start_agent",
                builder.id,
                "s1",
                adw_id="adw-1",
                name="build",
                model="sonnet",
                context={"issue": 42},
            )
        ).id,
        "agent-1",
    )
    a2 = rec.label((await do("start_agent", "planner", "s1")).id, "agent-2")
    a3 = rec.label((await do("start_agent", "planner", "s2", adw_id="adw-2")).id, "agent-3")
    await do("start_agent", "ghost", "s1")
    await do("start_agent", builder.id, "")

    p1 = rec.label((await do("start_prompt", a1, "/plan", model="sonnet")).id, "prompt-1")
    await do(
        "complete_prompt",
        p1,
        response_text="planned",
        model="opus",
        input_tokens=120,
        output_tokens=30,
        cost_usd=0.5,
        latency_ms=40,
    )
    p2 = rec.label((await do("start_prompt", a1, "/build")).id, "prompt-2")
    await do("fail_prompt", p2, "boom", input_tokens=7, cost_usd=0.25)
    rec.label((await do("start_prompt", a2, "/review", model="haiku")).id, "prompt-3")
    p4 = rec.label((await do("start_prompt", a3, "/doc", model="haiku")).id, "prompt-4")
    await do("complete_prompt", p4, cost_usd=0.125, output_tokens=9)
    await do("complete_prompt", p1, cost_usd=1.0)
    await do("fail_prompt", p2, "again")
    await do("complete_prompt", "no-such-prompt")
    await do("complete_prompt", p4, cost_usd=math.nan)
    await do("start_prompt", "no-such-agent", "hello")

    await do("log_agent", a1, "lifecycle", "started", level="DEBUG", details={"k": [1, 2]})
    await do("log_agent", a2, "error", "failed", level="ERROR")
    await do(
        "log_agent_batch",
        [
            {"agent_id": a1, "log_type": "tool_call", "message": "call"},
            {
                "agent_id": a2,
                "log_type": "tool_result",
                "message": "result",
                "log_level": "WARNING",
            },
        ],
    )
    await do(
        "log_agent_batch",
        [
            {"agent_id": a1, "log_type": "tool_call", "message": "good"},
            {"agent_id": "no-such-agent", "log_type": "tool_call", "message": "bad"},
        ],
    )
    await do("log_agent_batch", [{"agent_id": a1, "log_type": "nope", "message": "bad"}])
    await do("log_agent", a1, "hook", "bad details", details="[1]")
    await do("log_agent", a1, "hook", "bad details", details="{oops")
    await do("log_agent", "no-such-agent", "hook", "orphan")
    await do("log_system", "boot", level="WARNING", component="cli", details={"v": 1})
    await do("log_system_batch", [{"message": "a"}, {"message": "b", "log_level": "CRITICAL"}])
    await do("log_system", "bad", level="LOUD")

    await do("add_agent_usage", a2, cost_usd=0.125, input_tokens=5, output_tokens=6)
    await do("add_agent_usage", a2, cost_usd=math.nan)
    await do("add_agent_usage", a2, cost_usd=-1.0)
    await do("add_agent_usage", a2, input_tokens=-1)
    await do("add_agent_usage", "no-such-agent", cost_usd=1.0)
    await do("set_agent_status", a1, "completed")
    await do("set_agent_status", a1, "running")
    await do("set_agent_status", a2, "bogus")
    await do("set_agent_status", a3, "cancelled", error_message="stopped")
    await do("get_agent", a1)
    await do("get_agent", "no-such-agent")
    await do("get_prompt", p1)

    await do("list_agents")
    await do("list_agents", session_id="s1")
    await do("list_agents", status="completed")
    await do("list_agents", adw_id="adw-2", limit=1)
    await do("list_agents", limit=0)
    await do("list_prompts", agent_id=a1)
    # Limits no smaller than the result: rows written in the same millisecond tie, and the
    # tie-break is by random id, so a cut-off would pick different rows in the two runs.
    await do("list_prompts", session_id="s1", limit=3)
    await do("recent_logs")
    await do("recent_logs", agent_id=a1)
    await do("recent_logs", min_level="WARNING", limit=4)
    await do("recent_logs", include_system=False)
    await do("recent_logs", since=datetime.now(timezone.utc) - timedelta(hours=1))
    await do("recent_logs", since=datetime(2026, 1, 1))
    for by in ("session", "agent", "model", "day", "week"):
        await do("rollup", by)
    await do("rollup", "model", session_id="s1")
    await do("table_counts")
    await do("prune", 30, dry_run=True)
    await do("prune", 0, dry_run=True)
    await do("prune", -1)
    await do("prune", 0)
    await do("vacuum")
    await do("table_counts")


@pytest.fixture
def fresh_target(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[[], Target]:
    """Makes as many fresh databases on the test's backend as a test needs."""
    if backend == "sqlite":
        numbers = itertools.count()
        return lambda: (str(tmp_path / f"orch-{next(numbers)}.db"), MIGRATIONS)
    from psycopg.conninfo import conninfo_to_dict

    create = request.getfixturevalue("pg_database")
    server = request.getfixturevalue("pg_server")

    def make() -> Target:
        return server.url(str(conninfo_to_dict(create())["dbname"])), PG_MIGRATIONS

    return make


def run_sync(target: Target) -> Recorder:
    database, migrations = target
    with OrchestratorDB.open(database, migrations_dir=migrations) as db:

        async def call(method: str, /, *args: Any, **kwargs: Any) -> Any:
            return getattr(db, method)(*args, **kwargs)

        rec = Recorder(call)
        asyncio.run(script(rec))
    return rec


def run_async(target: Target) -> Recorder:
    database, migrations = target

    async def main() -> Recorder:
        async with await AsyncOrchestratorDB.open(database, migrations_dir=migrations) as db:

            async def call(method: str, /, *args: Any, **kwargs: Any) -> Any:
                return await getattr(db, method)(*args, **kwargs)

            rec = Recorder(call)
            await script(rec)
        return rec

    return asyncio.run(main())


def test_async_gives_the_same_results_and_errors_as_sync(
    fresh_target: Callable[[], Target],
) -> None:
    sync_target, async_target = fresh_target(), fresh_target()
    sync = run_sync(sync_target)
    async_ = run_async(async_target)

    expected = sync.normalised()
    assert len(expected) == len(async_.results)
    for index, (mine, theirs) in enumerate(zip(expected, async_.normalised(), strict=True)):
        assert theirs == mine, f"step {index}: {sync.results[index][0]}"

    errors = [value for _, value in sync.results if isinstance(value, tuple)]
    assert len(errors) >= 25  # the script really exercises the bad-input paths
    assert {kind for _, kind, _ in errors} == {"InvalidInput", "NotFound"}

    # And the two databases hold the same data, ids and timestamps aside.
    def contents(target: Target, labels: dict[str, str]) -> Any:
        with OrchestratorDB.open(target[0], migrations_dir=target[1]) as db:
            rows = snapshot(db)
        rows.pop("schema_migrations")
        assert any(rows.values())
        return normalise(rows, labels)

    assert contents(async_target, async_.labels) == contents(sync_target, sync.labels)


def test_concurrent_coroutines_sharing_one_async_db_lose_nothing(
    db_target: Target, backend: str
) -> None:
    database, migrations = db_target

    async def main() -> tuple[list[Any], dict[str, int], float]:
        async with await AsyncOrchestratorDB.open(database, migrations_dir=migrations) as db:
            assert db.backend == backend
            owner = await db.register_orchestrator_agent("builder", "builder")
            agent = await db.start_agent(owner.id, "s")

            async def worker(n: int) -> None:
                await db.log_agent(agent.id, "tool_call", f"single {n}")
                await db.log_agent_batch(
                    [
                        {"agent_id": agent.id, "log_type": "hook", "message": f"b{n}.{i}"}
                        for i in range(3)
                    ]
                )
                prompt = await db.start_prompt(agent.id, f"p{n}")
                await db.complete_prompt(prompt.id, cost_usd=0.25, input_tokens=2)
                await db.add_agent_usage(agent.id, cost_usd=0.125, output_tokens=1)
                await db.recent_logs(agent_id=agent.id, limit=5)

            outcomes = await asyncio.gather(*(worker(n) for n in range(25)), return_exceptions=True)
            assert not db.in_transaction
            final = await db.get_agent(agent.id)
            return outcomes, await db.table_counts(), final.total_cost_usd

    outcomes, counts, cost = asyncio.run(main())
    assert [o for o in outcomes if o is not None] == []
    assert (counts["agent_logs"], counts["prompts"]) == (25 * 4, 25)
    assert cost == 25 * (0.25 + 0.125)


async def session_settings(db: AsyncOrchestratorDB) -> dict[str, Any]:
    """The per-connection settings each engine needs, read back from the live connection."""
    if db.backend == "sqlite":
        found: dict[str, Any] = {}
        for pragma in ("foreign_keys", "busy_timeout", "synchronous", "journal_mode"):
            cursor = await db.conn.execute(f"PRAGMA {pragma}")
            row = await cursor.fetchone()
            assert row is not None
            found[pragma] = row[0]
        return found
    found = {"autocommit": db.conn.autocommit}
    for setting in ("lock_timeout", "application_name"):
        cursor = await db.conn.execute(f"SHOW {setting}")
        row = await cursor.fetchone()
        assert row is not None
        found[setting] = row[setting]
    return found


EXPECTED_SETTINGS: dict[str, dict[str, Any]] = {
    "sqlite": {"foreign_keys": 1, "busy_timeout": 4321, "synchronous": 1, "journal_mode": "wal"},
    "postgresql": {
        "autocommit": True,
        "lock_timeout": "4321ms",
        "application_name": "tac-bootstrap",
    },
}


def test_async_open_creates_and_migrates_a_fresh_database(
    db_target: Target, backend: str, tmp_path: Path
) -> None:
    database, migrations = db_target
    if backend == "sqlite":  # a file in directories that do not exist yet
        database = str(tmp_path / "new" / "orchestrator.db")

    async def main() -> tuple[dict[str, Any], int]:
        async with await AsyncOrchestratorDB.open(
            database, migrations_dir=migrations, busy_timeout_ms=4321
        ) as db:
            counts = await db.table_counts()
            return await session_settings(db), sum(counts.values())

    assert asyncio.run(main()) == (EXPECTED_SETTINGS[backend], 0)
    with OrchestratorDB.open(database, migrations_dir=migrations) as db:
        assert db.schema_version() == LATEST_VERSION
        assert db.pending_migrations() == []
