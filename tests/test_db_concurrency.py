"""Many processes writing to, and creating, one orchestrator database at the same time.

Every test runs on SQLite (one file) and on PostgreSQL (one database of the suite's server):
the workers are separate interpreters that get the database path or URL and the migrations
directory as argv, and the results are read back through the API.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tac_bootstrap.runtime.adw_database import OrchestratorDB

from .db_helpers import LATEST_VERSION, MIGRATIONS, run_workers, worker_outputs

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


def test_eight_writers_on_one_agent_lose_nothing(
    backend: str, db_target: tuple[str, Path], tmp_path: Path
) -> None:
    database, migrations = db_target
    with OrchestratorDB.open(database, migrations_dir=migrations) as db:
        owner = db.register_orchestrator_agent("builder", "builder")
        agent = db.start_agent(owner.id, "s-concurrent")

    results = run_workers(
        WRITER_SCRIPT,
        [[database, str(migrations), agent.id, str(w)] for w in range(WRITERS)],
        tmp_path / "barrier",
    )
    outputs = worker_outputs(results)

    per_writer_logs = SINGLE_LOGS + BATCHES * BATCH_SIZE
    assert outputs == [{"logs": per_writer_logs, "prompts": PROMPTS, "usages": USAGES}] * WRITERS

    with OrchestratorDB.open(database, migrations_dir=migrations) as db:
        assert db.backend == backend
        counts = db.table_counts()
        assert counts["agent_logs"] == WRITERS * per_writer_logs
        assert counts["prompts"] == WRITERS * PROMPTS
        logs = list(db.iter_rows("agent_logs"))
        assert {row["agent_id"] for row in logs} == {agent.id}
        messages = {row["message"] for row in logs}
        assert len(messages) == len(logs)  # nothing written twice by a retried write
        expected_messages = {
            f"w{w} single {s}" for w in range(WRITERS) for s in range(SINGLE_LOGS)
        } | {
            f"w{w} batch {b}.{i}"
            for w in range(WRITERS)
            for b in range(BATCHES)
            for i in range(BATCH_SIZE)
        }
        assert messages == expected_messages
        prompts = list(db.iter_rows("prompts"))
        assert [row["status"] for row in prompts] == ["completed"] * (WRITERS * PROMPTS)
        assert {row["prompt_text"] for row in prompts} == {
            f"w{w} prompt {p}" for w in range(WRITERS) for p in range(PROMPTS)
        }

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
        assert sum(row["cost_usd"] for row in prompts) == prompt_cost
        prompt_sum = db.conn.execute("SELECT sum(cost_usd) AS total FROM prompts").fetchone()
        assert prompt_sum["total"] == prompt_cost
        if backend == "sqlite":
            assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.conn.execute("PRAGMA foreign_key_check").fetchall() == []


OPENER_SCRIPT = """
from tac_bootstrap.runtime.adw_database import OrchestratorDB

ready, go, database, migrations = sys.argv[1:]
barrier(ready, go)
db = OrchestratorDB.open(database, migrations_dir=migrations)
db.log_system("opened", component=f"opener-{Path(ready).name}")
journal = None
if db.backend == "sqlite":
    journal = db.conn.execute("PRAGMA journal_mode").fetchone()[0]
print(json.dumps({"version": db.schema_version(), "journal": journal}))
db.close()
"""

# The migration runner itself, on a connection that has not migrated anything yet.
MIGRATE_SCRIPT = """
from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_migrations import migrate

ready, go, database, migrations = sys.argv[1:]
db = OrchestratorDB.open(database, migrations_dir=migrations, apply_migrations=False)
barrier(ready, go)
print(json.dumps([m.version for m in migrate(db.conn, Path(migrations), db.dialect)]))
db.close()
"""

EXPECTED_HISTORY = [
    (int(path.name[:3]), path.stem[4:]) for path in sorted(MIGRATIONS.glob("*.sql"))
]


def migration_history(database: str, migrations: Path) -> list[tuple[int, str]]:
    with OrchestratorDB.open(database, migrations_dir=migrations, apply_migrations=False) as db:
        rows = db.conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        return [(row["version"], row["name"]) for row in rows]


def test_six_processes_open_a_fresh_database_at_once(
    backend: str, db_target: tuple[str, Path], tmp_path: Path
) -> None:
    database, migrations = db_target
    if backend == "sqlite":
        database = str(tmp_path / "fresh" / "orchestrator.db")
        assert not Path(database).parent.exists()

    results = run_workers(OPENER_SCRIPT, [[database, str(migrations)]] * 6, tmp_path / "barrier")
    outputs = worker_outputs(results)

    journal = "wal" if backend == "sqlite" else None
    assert outputs == [{"version": LATEST_VERSION, "journal": journal}] * 6
    assert migration_history(database, migrations) == EXPECTED_HISTORY
    with OrchestratorDB.open(database, migrations_dir=migrations) as db:
        assert db.table_counts()["system_logs"] == 6
        components = {row["component"] for row in db.iter_rows("system_logs")}
        assert components == {f"opener-ready-{i}" for i in range(6)}
        assert db.pending_migrations() == []
        if backend == "sqlite":
            assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


RACES = 2  # fresh databases per test ...
RACERS = 6  # ... each migrated by this many processes at once


@pytest.fixture
def fresh_databases(
    backend: str, db_target: tuple[str, Path], tmp_path: Path, request: pytest.FixtureRequest
) -> tuple[list[str], Path]:
    """RACES fresh, empty databases on the test's backend, and their migrations directory."""
    first, migrations = db_target
    if backend == "sqlite":
        return [str(tmp_path / f"race-{n}.db") for n in range(RACES)], migrations
    pg_server = request.getfixturevalue("pg_server")
    create: Callable[[], str] = request.getfixturevalue("pg_database")
    from psycopg.conninfo import conninfo_to_dict

    others = [pg_server.url(str(conninfo_to_dict(create())["dbname"])) for _ in range(RACES - 1)]
    return [first, *others], migrations


def test_each_migration_is_applied_by_exactly_one_of_the_racing_processes(
    fresh_databases: tuple[list[str], Path], tmp_path: Path
) -> None:
    databases, migrations = fresh_databases
    per_worker = [[database, str(migrations)] for database in databases for _ in range(RACERS)]

    results = run_workers(MIGRATE_SCRIPT, per_worker, tmp_path / "barrier")
    applied_by_each: list[list[int]] = worker_outputs(results)  # 0 errors, nothing on stderr

    for index, database in enumerate(databases):
        racers = applied_by_each[index * RACERS : (index + 1) * RACERS]
        every = sorted(v for versions in racers for v in versions)
        assert every == list(range(1, LATEST_VERSION + 1)), database
        assert migration_history(database, migrations) == EXPECTED_HISTORY
