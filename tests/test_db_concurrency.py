"""Many processes writing to, and creating, one orchestrator database at the same time."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tac_bootstrap.runtime.adw_database import OrchestratorDB

from .db_helpers import MIGRATIONS, open_db, run_workers, worker_outputs

WRITERS = 8
SINGLE_LOGS = 12  # log_agent calls per writer
BATCHES = 3  # log_agent_batch calls per writer ...
BATCH_SIZE = 6  # ... of this many entries each
PROMPTS = 5  # prompts started and completed per writer
USAGES = 6  # add_agent_usage calls per writer
PROMPT_COST = 0.25  # exact binary fractions: float sums are exact
USAGE_COST = 0.125
PROMPT_TOKENS = (100, 40)
USAGE_TOKENS = (7, 3)

WRITER_SCRIPT = f"""
from tac_bootstrap.runtime.adw_database import OrchestratorDB

ready, go, db_path, migrations, agent_id, worker = sys.argv[1:]
db = OrchestratorDB.open(db_path, migrations_dir=migrations)
barrier(ready, go)
done = {{"logs": 0, "prompts": 0, "usages": 0}}
for step in range({SINGLE_LOGS}):
    db.log_agent(agent_id, "tool_call", f"w{{worker}} single {{step}}", details={{"w": worker}})
    done["logs"] += 1
    if step % 4 == 0 and step // 4 < {BATCHES}:
        batch = [
            {{"agent_id": agent_id, "log_type": "tool_result",
              "message": f"w{{worker}} batch {{step // 4}}.{{i}}", "log_level": "DEBUG"}}
            for i in range({BATCH_SIZE})
        ]
        done["logs"] += db.log_agent_batch(batch)
    if step % 2 == 0 and step // 2 < {PROMPTS}:
        prompt = db.start_prompt(agent_id, f"w{{worker}} prompt {{step // 2}}", model="sonnet")
        db.complete_prompt(
            prompt.id, response_text="ok", cost_usd={PROMPT_COST},
            input_tokens={PROMPT_TOKENS[0]}, output_tokens={PROMPT_TOKENS[1]},
        )
        done["prompts"] += 1
    if step < {USAGES}:
        db.add_agent_usage(
            agent_id, cost_usd={USAGE_COST},
            input_tokens={USAGE_TOKENS[0]}, output_tokens={USAGE_TOKENS[1]},
        )
        done["usages"] += 1
db.close()
print(json.dumps(done))
"""


def test_eight_writers_on_one_agent_lose_nothing(tmp_path: Path) -> None:
    db_path = tmp_path / "orchestrator.db"
    with open_db(db_path) as db:
        owner = db.register_orchestrator_agent("builder", "builder")
        agent = db.start_agent(owner.id, "s-concurrent")

    results = run_workers(
        WRITER_SCRIPT,
        [[str(db_path), str(MIGRATIONS), agent.id, str(w)] for w in range(WRITERS)],
        tmp_path / "barrier",
    )
    outputs = worker_outputs(results)

    per_writer_logs = SINGLE_LOGS + BATCHES * BATCH_SIZE
    assert outputs == [{"logs": per_writer_logs, "prompts": PROMPTS, "usages": USAGES}] * WRITERS

    with open_db(db_path) as db:
        counts = db.table_counts()
        assert counts["agent_logs"] == WRITERS * per_writer_logs
        assert counts["prompts"] == WRITERS * PROMPTS
        messages = {row[0] for row in db.conn.execute("SELECT message FROM agent_logs")}
        expected_messages = {
            f"w{w} single {s}" for w in range(WRITERS) for s in range(SINGLE_LOGS)
        } | {
            f"w{w} batch {b}.{i}"
            for w in range(WRITERS)
            for b in range(BATCHES)
            for i in range(BATCH_SIZE)
        }
        assert messages == expected_messages
        statuses = db.conn.execute("SELECT status, count(*) FROM prompts GROUP BY 1").fetchall()
        assert [tuple(r) for r in statuses] == [("completed", WRITERS * PROMPTS)]

        final = db.get_agent(agent.id)
        prompt_cost = WRITERS * PROMPTS * PROMPT_COST
        usage_cost = WRITERS * USAGES * USAGE_COST
        assert final.total_cost_usd == prompt_cost + usage_cost  # exact: binary fractions
        assert final.input_tokens == WRITERS * (
            PROMPTS * PROMPT_TOKENS[0] + USAGES * USAGE_TOKENS[0]
        )
        assert final.output_tokens == WRITERS * (
            PROMPTS * PROMPT_TOKENS[1] + USAGES * USAGE_TOKENS[1]
        )
        prompt_sum = db.conn.execute("SELECT sum(cost_usd) FROM prompts").fetchone()[0]
        assert prompt_sum == prompt_cost
        assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.conn.execute("PRAGMA foreign_key_check").fetchall() == []


OPENER_SCRIPT = """
from tac_bootstrap.runtime.adw_database import OrchestratorDB

ready, go, db_path, migrations = sys.argv[1:]
barrier(ready, go)
db = OrchestratorDB.open(db_path, migrations_dir=migrations)
db.log_system("opened", component=f"opener-{Path(ready).name}")
print(json.dumps({"version": db.schema_version(),
                  "journal": db.conn.execute("PRAGMA journal_mode").fetchone()[0]}))
db.close()
"""

MIGRATE_SCRIPT = """
from tac_bootstrap.runtime.adw_db_connection import connect
from tac_bootstrap.runtime.adw_db_migrations import migrate

ready, go, db_path, migrations = sys.argv[1:]
barrier(ready, go)
conn = connect(Path(db_path))
print(json.dumps([m.version for m in migrate(conn, Path(migrations))]))
conn.close()
"""


def migration_history(db_path: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        return [(row[0], row[1]) for row in rows]
    finally:
        conn.close()


def test_six_processes_open_a_fresh_database_at_once(tmp_path: Path) -> None:
    db_path = tmp_path / "fresh" / "orchestrator.db"
    assert not db_path.parent.exists()

    results = run_workers(
        OPENER_SCRIPT, [[str(db_path), str(MIGRATIONS)]] * 6, tmp_path / "barrier"
    )
    outputs = worker_outputs(results)

    assert outputs == [{"version": 2, "journal": "wal"}] * 6
    assert migration_history(db_path) == [(1, "initial"), (2, "rollup_and_retention_indexes")]
    with OrchestratorDB.open(db_path, migrations_dir=MIGRATIONS) as db:
        assert db.table_counts()["system_logs"] == 6
        assert db.pending_migrations() == []
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_each_migration_is_applied_by_exactly_one_of_the_racing_processes(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "orchestrator.db"

    results = run_workers(
        MIGRATE_SCRIPT, [[str(db_path), str(MIGRATIONS)]] * 6, tmp_path / "barrier"
    )
    applied_by_each: list[list[int]] = worker_outputs(results)

    assert sorted(v for versions in applied_by_each for v in versions) == [1, 2]
    assert [v for v, _ in migration_history(db_path)] == [1, 2]
