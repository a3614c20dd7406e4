"""Whole-database rollups read prompt_totals (migration 004), kept by triggers on prompts.

The fast path must give exactly what a full scan of the prompts gives, after any write: the
API's, and plain SQL that bypasses it (UPDATE, DELETE), and prune. Every test compares
`db.rollup(by)` with the groups computed here in Python from every row of prompts, agents and
prompt_model_usage, so the expected answer shares no SQL with the code under test.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_ops_rollups import TOTALS_VERSION

from .db_helpers import MIGRATIONS, copy_migrations, days_ago, set_column, sql, write

KINDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
BY = ("session", "agent", "model", "day")
MODELS = ("sonnet", "opus", "haiku", None)
Groups = dict[str, tuple[int, int, int, int, int, float]]


@pytest.fixture
def db(db_target: tuple[str, Path]) -> Iterator[OrchestratorDB]:
    database, migrations = db_target
    with OrchestratorDB.open(database, migrations_dir=migrations) as opened:
        yield opened


def _day(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d")
    return str(value)[:10]


def full_scan(db: OrchestratorDB, by: str) -> Groups:
    """The rollup of every prompt, computed from the rows themselves."""
    agents = {row["id"]: row for row in db.iter_rows("agents")}
    prompts = {row["id"]: row for row in db.iter_rows("prompts")}
    sums: dict[str, list[float]] = {}

    def add(key: str, count: int, values: list[float], sign: int) -> None:
        group = sums.setdefault(key, [0] * 6)
        group[0] += count
        for i, value in enumerate(values):
            group[i + 1] += sign * value

    def main_key(prompt: Mapping[str, Any]) -> str:
        agent = agents[prompt["agent_id"]]
        keys: dict[str, str] = {
            "session": agent["session_id"],
            "agent": str(agent["id"]),
            "model": prompt["model"] or "unknown",
            "day": _day(prompt["created_at"]),
        }
        return keys[by]

    for prompt in prompts.values():
        add(main_key(prompt), 1, [*(prompt[k] for k in KINDS), float(prompt["cost_usd"])], 1)
    if by == "model":
        for share in db.iter_rows("prompt_model_usage"):
            values = [*(share[k] for k in KINDS), float(share["cost_usd"])]
            add(share["model"], 0, values, 1)
            add(main_key(prompts[share["prompt_id"]]), 0, values, -1)
    return {
        key: (int(g[0]), int(g[1]), int(g[2]), int(g[3]), int(g[4]), g[5])
        for key, g in sums.items()
    }


def fast(db: OrchestratorDB, by: str) -> Groups:
    return {
        row.key: (
            row.prompts,
            *(getattr(row, kind) for kind in KINDS),
            row.cost_usd,
        )
        for row in db.rollup(by)  # type: ignore[arg-type]
    }


def assert_rollups_match(db: OrchestratorDB) -> None:
    """Every rollup equals the full scan: counts and tokens exactly, cost to 1e-9 USD."""
    for by in BY:
        got, expected = fast(db, by), full_scan(db, by)
        assert got.keys() == expected.keys(), by
        for key, row in got.items():
            assert row[:5] == expected[key][:5], (by, key)
            assert row[5] == pytest.approx(max(0.0, expected[key][5]), abs=1e-9), (by, key)


def seed(db: OrchestratorDB) -> dict[str, list[str]]:
    """Two sessions, three agents, prompts of every kind: completed, failed, running, one
    without a model and one that used several models."""
    owner = db.register_orchestrator_agent("builder", "builder").id
    agents = [db.start_agent(owner, session_id=session).id for session in ("s-1", "s-1", "s-2")]
    prompts = []
    for i, agent in enumerate(agents * 2):
        prompt = db.start_prompt(agent, f"step {i}", model=MODELS[i % 4]).id
        prompts.append(prompt)
        if i % 3 == 0:
            db.complete_prompt(prompt, input_tokens=100 + i, output_tokens=7, cost_usd=0.013 * i)
        elif i % 3 == 1:
            db.fail_prompt(prompt, "boom", input_tokens=5, cache_read_tokens=40, cost_usd=0.001)
    shared = db.start_prompt(agents[2], "with a subagent", model="opus").id
    db.complete_prompt(
        shared,
        model="opus",
        input_tokens=300,
        output_tokens=30,
        cache_creation_tokens=12,
        cost_usd=0.75,
        model_usage=[
            {"model": "opus", "input_tokens": 200, "output_tokens": 20,
             "cache_creation_tokens": 12, "cost_usd": 0.5},
            {"model": "haiku", "input_tokens": 100, "output_tokens": 10, "cost_usd": 0.25},
        ],
    )  # fmt: skip
    return {"agents": agents, "prompts": [*prompts, shared]}


def test_rollups_equal_the_full_scan_after_every_kind_of_write(db: OrchestratorDB) -> None:
    ids = seed(db)
    assert_rollups_match(db)
    # Plain SQL that bypasses the API: the triggers keep the totals all the same.
    first, second, shared = ids["prompts"][0], ids["prompts"][1], ids["prompts"][-1]
    write(db, "UPDATE prompts SET model = ?, cost_usd = ? WHERE id = ?", "haiku", 1.25, first)
    write(db, "UPDATE prompts SET created_at = ? WHERE id = ?", "2025-12-31T23:59:59.999Z", second)
    # The shares stay with their own models; the rest moves to "unknown".
    write(db, "UPDATE prompts SET model = NULL WHERE id = ?", shared)
    assert_rollups_match(db)
    write(db, "DELETE FROM prompts WHERE id = ?", second)
    assert_rollups_match(db)
    # prune: a finished agent's prompts go, and so does its row in prompt_totals.
    gone = ids["agents"][0]
    db.set_agent_status(gone, "completed")
    set_column(db, "agents", "completed_at", gone, days_ago(30))
    assert db.prune(7)["agents"] == 1
    assert_rollups_match(db)
    left = sql(db, "SELECT key FROM prompt_totals WHERE dimension = 'agent'")
    assert gone not in {row["key"] for row in left}
    # Deleting every prompt leaves no totals behind.
    write(db, "DELETE FROM prompts")
    assert sql(db, "SELECT * FROM prompt_totals WHERE prompts <> 0") == []
    assert db.rollup("day") == []


def test_a_session_filter_and_the_whole_database_agree(db: OrchestratorDB) -> None:
    """The session rollup of the whole database (prompt_totals) and of one session (the
    prompts' index) give the same row for that session."""
    seed(db)
    whole = {row.key: row for row in db.rollup("session")}
    for session in ("s-1", "s-2"):
        (one,) = db.rollup("session", session_id=session)
        assert one.model_dump() == pytest.approx(whole[session].model_dump())


def test_migration_004_fills_the_totals_from_existing_prompts(tmp_path: Path) -> None:
    """A database with prompts before 004 (answered by a full scan, no prompt_totals yet) gets
    totals equal to that scan when 004 is applied."""
    path = tmp_path / "orch.db"
    before = copy_migrations(
        tmp_path / "before", *sorted(p.name for p in MIGRATIONS.glob("00[1-3]_*.sql"))
    )
    with OrchestratorDB.open(path, migrations_dir=before) as db:
        seed(db)
        assert db.schema_version() == TOTALS_VERSION - 1
        old = {by: fast(db, by) for by in BY}
        assert_rollups_match(db)
    with OrchestratorDB.open(path, migrations_dir=MIGRATIONS) as db:
        assert db.schema_version() >= TOTALS_VERSION
        for by in BY:
            new = fast(db, by)
            assert new.keys() == old[by].keys()
            for key, row in new.items():
                assert row == pytest.approx(old[by][key], abs=1e-9), (by, key)
        assert_rollups_match(db)


write_steps = st.lists(
    st.tuples(
        st.sampled_from(["start", "finish", "update", "delete", "prune"]),
        st.integers(0, 50),
        st.sampled_from(MODELS),
        st.integers(0, 10_000),
        st.floats(0, 5, allow_nan=False).map(lambda cost: round(cost, 6)),
    ),
    max_size=30,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=write_steps)
def test_any_sequence_of_prompt_writes_keeps_the_totals_exact(
    steps: list[tuple[str, int, str | None, int, float]],
) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        OrchestratorDB.open(Path(tmp) / "orch.db", migrations_dir=MIGRATIONS) as db,
    ):
        owner = db.register_orchestrator_agent("builder", "builder").id
        agents = [db.start_agent(owner, session_id=f"s-{i % 2}").id for i in range(3)]
        running: list[str] = []
        done: list[str] = []
        for action, pick, model, tokens, cost in steps:
            apply_step(db, action, pick, model, tokens, cost, agents, running, done)
        assert_rollups_match(db)


def apply_step(
    db: OrchestratorDB,
    action: str,
    pick: int,
    model: str | None,
    tokens: int,
    cost: float,
    agents: list[str],
    running: list[str],
    done: list[str],
) -> None:
    """One write of the property test; a step with nothing to act on is skipped."""
    if action == "start" and agents:
        running.append(db.start_prompt(agents[pick % len(agents)], "p", model=model).id)
    elif action == "finish" and running:
        prompt = running.pop(pick % len(running))
        db.complete_prompt(prompt, model=model, input_tokens=tokens, cost_usd=cost)
        done.append(prompt)
    elif action == "update" and done:
        day = f"2026-0{1 + pick % 9}-1{pick % 10}T08:00:00.000Z"
        prompt = done[pick % len(done)]
        write(db, "UPDATE prompts SET model = ?, created_at = ?, output_tokens = ?, "
              "cost_usd = ? WHERE id = ?", model, day, tokens, cost, prompt)  # fmt: skip
    elif action == "delete" and done:
        write(db, "DELETE FROM prompts WHERE id = ?", done.pop(pick % len(done)))
    elif action == "prune" and agents:
        agent = agents.pop(pick % len(agents))
        db.set_agent_status(agent, "completed")
        set_column(db, "agents", "completed_at", agent, days_ago(30))
        db.prune(7)
        alive = {row["id"] for row in db.iter_rows("prompts")}
        running[:] = [p for p in running if p in alive]
        done[:] = [p for p in done if p in alive]


def test_moving_a_prompt_to_another_agent_and_deleting_an_agent(db: OrchestratorDB) -> None:
    """agent_id is a key too: a prompt moved to another agent (plain UPDATE) moves its totals,
    and an agent deleted with its prompts (ON DELETE CASCADE) takes its totals with it."""
    ids = seed(db)
    moved, to_agent = ids["prompts"][0], ids["agents"][2]
    write(db, "UPDATE prompts SET agent_id = ? WHERE id = ?", to_agent, moved)
    assert_rollups_match(db)
    gone = ids["agents"][1]
    write(db, "DELETE FROM agents WHERE id = ?", gone)
    assert sql(db, "SELECT count(*) AS n FROM prompts WHERE agent_id = ?", gone)[0]["n"] == 0
    assert_rollups_match(db)
    left = sql(db, "SELECT key FROM prompt_totals WHERE dimension = 'agent'")
    assert str(gone) not in {row["key"] for row in left}


def test_every_rollup_is_the_sum_of_its_sessions(db: OrchestratorDB) -> None:
    """By agent, model and day too: the whole database (prompt_totals) equals the rollups
    of each session (read from the prompts) added up, multi-model shares included."""
    seed(db)
    for by in BY:
        added: dict[str, list[float]] = {}
        for session in ("s-1", "s-2"):
            for one in db.rollup(by, session_id=session):  # type: ignore[arg-type]
                group = added.setdefault(one.key, [0] * 6)
                values = (one.prompts, *(getattr(one, k) for k in KINDS), one.cost_usd)
                for i, value in enumerate(values):
                    group[i] += value
        whole = fast(db, by)
        assert whole.keys() == added.keys(), by
        for key, row in whole.items():
            assert list(row[:5]) == added[key][:5], (by, key)
            assert row[5] == pytest.approx(added[key][5], abs=1e-9), (by, key)
