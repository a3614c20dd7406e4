"""`tac-bootstrap db copy SOURCE DEST`: real SQLite files, a real PostgreSQL server, the CLI
run as a real process."""

from __future__ import annotations

import json
import math
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.runtime import adw_db_operations as ops
from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_ops_shared import KEY_COLUMNS, tables_at
from tac_bootstrap.runtime.orch_database_models import utc_now

from .conftest import run_cli
from .db_helpers import LATEST_VERSION, PG_MIGRATIONS

LOG_TABLES = ("agent_logs", "system_logs")
IN_ORDER_TABLES = (*LOG_TABLES, "run_checks")
LOGS_PER_AGENT = 700  # with 3 agents more than two default batches of agent_logs
BIG_ROWS = 25_000  # above the progress bar's 20,000-row threshold
# A progress bar line: the bar (rich draws it with ━ and ╸) then a percentage. Rich tables use
# ━ for their borders too, so the glyph alone proves nothing.
PROGRESS_BAR = re.compile(r"[━╸╺]+\s+\d+%")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("copy")
    result = run_cli("init", "demo", "-o", root, "--yes", "--no-git")
    assert result.returncode == 0, result.stderr
    return root / "demo"


def migrations(project: Path, backend: str = "sqlite") -> Path:
    schema = project / "adws" / "schema"
    return schema / "postgres" / "migrations" if backend == "postgresql" else schema / "migrations"


def backend_of(database: str | Path) -> str:
    return "postgresql" if str(database).startswith("postgresql://") else "sqlite"


def open_db(project: Path, database: str | Path, *, migrate: bool = True) -> OrchestratorDB:
    return OrchestratorDB.open(
        database,
        migrations_dir=migrations(project, backend_of(database)),
        apply_migrations=migrate,
    )


def populate(project: Path, database: str | Path, logs_per_agent: int = LOGS_PER_AGENT) -> None:
    """A few runs through the API: updated rows, JSON, nulls, float costs, many logs."""
    with open_db(project, database) as db:
        planner = db.register_orchestrator_agent("planner", "planner", config={"depth": 2})
        db.register_orchestrator_agent("planner", "planner", description="updated later")
        builder = db.register_orchestrator_agent("builder", "builder", capabilities=["edit"])
        for index, owner in enumerate((planner, builder, planner)):
            agent = db.start_agent(owner.id, f"session-{index}", context={"issue": index})
            for i in range(4):
                prompt = db.start_prompt(agent.id, f"step {i}", model="sonnet")
                if i == 3:
                    db.fail_prompt(prompt.id, "boom")
                    continue
                db.complete_prompt(
                    prompt.id, input_tokens=1000 + i, output_tokens=10 * i, cost_usd=0.1
                )
            db.log_agent_batch(
                {
                    "agent_id": agent.id,
                    "log_type": "tool_call",
                    "message": f"call {n}",
                    "details": {"n": n},
                }
                for n in range(logs_per_agent)
            )
            db.set_agent_status(agent.id, "completed" if index else "failed")
        db.log_system("hello", level="WARNING", component="cli", details={"k": "v"})


def rows(project: Path, database: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Every row as the API reads it: logs and run checks in insertion order (the order they
    ran), other tables by key (ids made in the same millisecond are not ordered, and
    PostgreSQL returns those tables by id)."""
    with open_db(project, database, migrate=False) as db:
        tables = tables_at(db.schema_version())
        found = {t: [dict(row) for row in db.iter_rows(t)] for t in tables}
    for table, records in found.items():
        if table not in IN_ORDER_TABLES:
            key = KEY_COLUMNS.get(table, "id")
            records.sort(key=lambda r: str(r[key]))
    return found


def counts(project: Path, database: str | Path) -> dict[str, int]:
    with open_db(project, database, migrate=False) as db:
        return db.table_counts()


def copy(
    project: Path, source: str | Path, dest: str | Path, *extra: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli("db", "copy", source, dest, "--project", project, *extra, cwd=cwd)


def copy_json(
    project: Path, source: str | Path, dest: str | Path, *extra: str, code: int = 0
) -> dict[str, Any]:
    result = copy(project, source, dest, "--json", *extra)
    assert result.returncode == code, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_sqlite_to_postgres_and_back_keeps_every_row(
    project: Path, tmp_path: Path, pg_url: str
) -> None:
    source = tmp_path / "source.db"
    populate(project, source)
    expected = rows(project, source)
    there = copy_json(project, source, pg_url)
    back = copy_json(project, pg_url, tmp_path / "back.db")

    assert rows(project, pg_url) == expected
    assert rows(project, tmp_path / "back.db") == expected
    for document in (there, back):
        assert document["ok"] is True and document["problems"] == []
        for table, facts in document["tables"].items():
            n = len(expected[table])
            assert facts == {"source_rows": n, "copied": n, "already_there": 0, "dest_rows": n}
        cost = document["sums"]["prompts.cost_usd"]
        assert cost["equal"] and math.isclose(cost["source"], 0.1 * 9, rel_tol=1e-12)
        assert math.isclose(cost["dest"], cost["source"], rel_tol=1e-9, abs_tol=1e-9)
        assert document["sums"]["agents.total_cost_usd"]["equal"]
        assert document["sums"]["prompts.input_tokens"] == {
            "source": 9 * 1000 + 3 * 3,
            "dest": 9 * 1000 + 3 * 3,
            "equal": True,
        }
    assert there["dest"]["backend"] == "postgresql"
    assert there["dest"]["migrations_applied"] == sorted(
        p.name for p in PG_MIGRATIONS.glob("*.sql")
    )
    assert back["source"]["backend"] == "postgresql" and back["dest"]["backend"] == "sqlite"


def test_a_second_copy_copies_nothing(project: Path, tmp_path: Path, pg_url: str) -> None:
    source = tmp_path / "source.db"
    populate(project, source, logs_per_agent=20)
    copy_json(project, source, pg_url)
    before = rows(project, pg_url)
    again = copy_json(project, source, pg_url)
    assert again["copied"] == 0
    assert again["already_there"] == sum(len(r) for r in before.values())
    assert all(t["copied"] == 0 for t in again["tables"].values())
    assert again["dest"]["migrations_applied"] == []
    assert rows(project, pg_url) == before


def _cut_tail(project: Path, database: str | Path, keep_agent_logs: int) -> None:
    """Leave DEST as an interrupted copy leaves it: agent_logs half done, system_logs empty."""
    with open_db(project, database, migrate=False) as db:
        order = "rowid" if db.backend == "sqlite" else "seq"
        db.conn.execute(
            f"DELETE FROM agent_logs WHERE id NOT IN "
            f"(SELECT id FROM agent_logs ORDER BY {order} LIMIT {keep_agent_logs})"
        )
        db.conn.execute("DELETE FROM system_logs")


@pytest.mark.parametrize("dest_backend", ["sqlite", pytest.param("pg", marks=pytest.mark.postgres)])
def test_an_interrupted_copy_resumes(
    project: Path, tmp_path: Path, dest_backend: str, request: pytest.FixtureRequest
) -> None:
    source = tmp_path / "source.db"
    populate(project, source)
    dest = (
        str(tmp_path / "dest.db") if dest_backend == "sqlite" else request.getfixturevalue("pg_url")
    )
    copy_json(project, source, dest)
    _cut_tail(project, dest, keep_agent_logs=1000)

    resumed = copy_json(project, source, dest, "--batch-size", "300")
    total_logs = 3 * LOGS_PER_AGENT
    assert resumed["tables"]["agent_logs"] == {
        "source_rows": total_logs,
        "copied": total_logs - 1000,
        "already_there": 1000,
        "dest_rows": total_logs,
    }
    assert resumed["tables"]["system_logs"]["copied"] == 1
    assert resumed["tables"]["prompts"]["copied"] == 0
    assert rows(project, dest) == rows(project, source)  # logs still in SOURCE's order


def test_an_orchestrator_name_taken_by_another_id_stops_before_writing(
    project: Path, tmp_path: Path
) -> None:
    source, dest = tmp_path / "source.db", tmp_path / "dest.db"
    populate(project, source, logs_per_agent=5)
    with open_db(project, dest) as db:
        other = db.register_orchestrator_agent("builder", "builder")
    before = rows(project, dest)
    result = copy(project, source, dest)
    assert result.returncode == 1
    assert result.stderr.startswith("error: DEST ")
    assert "'builder'" in result.stderr and other.id in result.stderr
    assert "nothing was copied" in result.stderr and "Traceback" not in result.stderr
    assert rows(project, dest) == before


def test_a_source_with_pending_migrations_is_refused(project: Path, tmp_path: Path) -> None:
    only_first = tmp_path / "migrations"
    only_first.mkdir()
    shutil.copy2(migrations(project) / "001_initial.sql", only_first)
    source = tmp_path / "old.db"
    OrchestratorDB.open(source, migrations_dir=only_first).close()
    dest = tmp_path / "dest.db"

    result = copy(project, source, dest)
    assert result.returncode == 1, result.stderr
    assert "002_rollup_and_retention_indexes.sql" in result.stderr
    assert "migrate the source first: tac-bootstrap db migrate" in result.stderr
    assert not dest.exists()


def test_the_same_database_twice_is_refused(project: Path, tmp_path: Path) -> None:
    source = tmp_path / "same.db"
    populate(project, source, logs_per_agent=1)
    spellings = ["same.db", f"sqlite:///{source}".replace("sqlite:///", "sqlite:////", 1)]
    for dest in spellings:
        result = copy(project, source, dest, cwd=tmp_path)
        assert result.returncode == 2, (dest, result.stderr)
        assert "SOURCE and DEST are the same database" in result.stderr


@pytest.mark.postgres
def test_the_same_postgres_database_is_refused_also_by_another_url(
    project: Path, tmp_path: Path, pg_url: str
) -> None:
    open_db(project, pg_url).close()
    before = rows(project, pg_url)
    # The same URL (refused from the arguments), and the socket directory spelled with a
    # trailing slash: only the servers can tell that it is the same database.
    other_spelling = re.sub(r"(host=[^&]+)", r"\1/", pg_url)
    assert other_spelling != pg_url
    for dest in (pg_url, other_spelling):
        result = copy(project, pg_url, dest)
        assert result.returncode == 2, result.stderr
        assert "SOURCE and DEST are the same database" in result.stderr
    assert rows(project, pg_url) == before


@pytest.mark.postgres
def test_postgres_to_postgres(
    project: Path, tmp_path: Path, pg_url: str, pg_server: Any, pg_database: Any
) -> None:
    from psycopg.conninfo import conninfo_to_dict

    source = tmp_path / "source.db"
    populate(project, source, logs_per_agent=5)
    copy_json(project, source, pg_url)
    dest = pg_server.url(str(conninfo_to_dict(pg_database())["dbname"]))
    document = copy_json(project, pg_url, dest)
    assert document["copied"] == sum(counts(project, source).values())
    assert rows(project, dest) == rows(project, source)


def test_usage_errors(project: Path, tmp_path: Path) -> None:
    missing = copy(project, tmp_path / "nope.db", tmp_path / "dest.db")
    assert missing.returncode == 2 and "nope.db does not exist" in missing.stderr
    unsupported = copy(project, "mysql://u:secret@h/db", tmp_path / "dest.db")
    assert unsupported.returncode == 2 and "unsupported database URL scheme" in unsupported.stderr
    assert not (tmp_path / "dest.db").exists()
    batch = copy(project, tmp_path / "x.db", tmp_path / "y.db", "--batch-size", "0")
    assert batch.returncode == 2


@pytest.mark.postgres
def test_non_uuid_ids_are_listed_before_anything_reaches_postgres(
    project: Path, tmp_path: Path, pg_url: str
) -> None:
    source = tmp_path / "source.db"
    populate(project, source, logs_per_agent=1)
    conn = sqlite3.connect(source)
    for n in range(7):
        conn.execute(
            "INSERT INTO system_logs (id, log_level, component, message, details, created_at) "
            "VALUES (?, 'INFO', 'old-tool', 'm', '{}', ?)",
            (f"log-{n}", utc_now()),
        )
    conn.execute(  # not the runtime's form, but a UUID PostgreSQL reads: accepted
        "INSERT INTO system_logs (id, log_level, component, message, details, created_at) "
        "VALUES (?, 'INFO', 'x', 'm', '{}', ?)",
        (uuid.uuid4().hex.upper(), utc_now()),
    )
    conn.commit()
    conn.close()

    result = copy(project, source, pg_url)
    assert result.returncode == 1, result.stderr
    assert "7 id(s) that are not UUIDs" in result.stderr
    assert "system_logs.id 'log-4'" in result.stderr and "'log-5'" not in result.stderr
    with open_db(project, pg_url, migrate=False) as db:
        assert db.schema_version() == 0  # DEST not even migrated


def _set_value(source: Path, table: str, column: str, value: str) -> str:
    """Put a value straight into one row of a SQLite SOURCE (as an older tool might have);
    returns that row's id."""
    conn = sqlite3.connect(source)
    try:
        (row_id,) = conn.execute(f"SELECT id FROM {table} ORDER BY rowid DESC LIMIT 1").fetchone()
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (value, row_id))
        conn.commit()
        assert (
            conn.execute(f"SELECT {column} FROM {table} WHERE id = ?", (row_id,)).fetchone()[0]
            == value
        )
    finally:
        conn.close()
    return str(row_id)


NUL_VALUES = [
    ("agent_logs", "message", "tool output a\x00b"),  # a NUL character in a text column
    ("system_logs", "component", "\x00"),
    ("system_logs", "details", '{"x":"a\\u0000b"}'),  # JSON text holding the \u0000 escape
    ("agents", "context", '{"outer":{"list":["ok","\\u0000"]}}'),
    ("orchestrator_agents", "config", '{"key\\u0000":1}'),  # in a key
]


@pytest.mark.postgres
@pytest.mark.parametrize(("table", "column", "value"), NUL_VALUES)
def test_a_nul_character_in_source_stops_the_copy_before_anything_is_written(
    project: Path, tmp_path: Path, pg_url: str, table: str, column: str, value: str
) -> None:
    source = tmp_path / "source.db"
    populate(project, source, logs_per_agent=3)
    row_id = _set_value(source, table, column, value)
    result = copy(project, source, pg_url)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: SOURCE has 1 value(s) with NUL (0x00) characters")
    assert f"{table}.{column} of {row_id}" in result.stderr
    assert "nothing was copied" in result.stderr
    with open_db(project, pg_url, migrate=False) as db:
        assert db.schema_version() == 0  # DEST not even migrated
    as_json = copy_json(project, source, pg_url, code=1)
    assert as_json["ok"] is False and f"{table}.{column} of {row_id}" in as_json["error"]


@pytest.mark.postgres
def test_every_nul_in_source_is_listed(project: Path, tmp_path: Path, pg_url: str) -> None:
    source = tmp_path / "source.db"
    populate(project, source, logs_per_agent=3)
    first = _set_value(source, "agent_logs", "message", "a\x00")
    second = _set_value(source, "system_logs", "details", '{"x":["\\u0000"]}')
    result = copy(project, source, pg_url)
    assert result.returncode == 1, result.stderr
    assert "SOURCE has 2 value(s) with NUL" in result.stderr
    assert f"agent_logs.message of {first}" in result.stderr
    assert f"system_logs.details of {second}" in result.stderr
    with open_db(project, pg_url, migrate=False) as db:
        assert db.schema_version() == 0


@pytest.mark.postgres
def test_an_escaped_backslash_before_u0000_is_not_a_nul_and_is_copied(
    project: Path, tmp_path: Path, pg_url: str
) -> None:
    source = tmp_path / "source.db"
    populate(project, source, logs_per_agent=3)
    # JSON text {"x":"\\u0000"}: a backslash, then the letters u0000 (no NUL at all).
    _set_value(source, "system_logs", "details", '{"x":"\\\\u0000","y":"a\\\\u0000b"}')
    _set_value(source, "agent_logs", "message", "not a NUL: \\u0000 nor \\0")
    document = copy_json(project, source, pg_url)
    assert document["ok"] is True and document["problems"] == []
    copied = rows(project, pg_url)
    assert copied == rows(project, source)
    details = json.loads(copied["system_logs"][0]["details"])
    assert details == {"x": "\\u0000", "y": "a\\u0000b"}
    assert "\x00" not in details["x"] and len(details["x"]) == 6
    assert copied["agent_logs"][-1]["message"] == "not a NUL: \\u0000 nor \\0"


def test_rows_dest_has_and_source_lacks_fail_the_verification(
    project: Path, tmp_path: Path
) -> None:
    source, dest = tmp_path / "source.db", tmp_path / "dest.db"
    populate(project, source, logs_per_agent=2)
    with open_db(project, dest) as db:
        db.log_system("only in DEST")
    document = copy_json(project, source, dest, code=1)
    assert document["ok"] is False and document["exit_code"] == 1
    assert document["tables"]["system_logs"] == {
        "source_rows": 1,
        "copied": 1,
        "already_there": 0,
        "dest_rows": 2,
    }
    assert document["problems"] == ["DEST has 1 row(s) in system_logs that SOURCE does not have"]
    assert "verification failed" in document["error"]


def test_human_output_and_json_shape(project: Path, tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    populate(project, source, logs_per_agent=3)
    human = copy(project, source, tmp_path / "a.db")
    assert human.returncode == 0, human.stderr
    for text in ("copying ", "source rows", "already there", "sum(prompts.cost_usd)", "verified"):
        assert text in human.stdout
    assert not PROGRESS_BAR.search(human.stdout + human.stderr)

    result = copy(project, source, tmp_path / "b.db", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # the whole of stdout is one document
    assert set(document) == {
        "ok",
        "source",
        "dest",
        "schema_version",
        "tables",
        "sums",
        "copied",
        "already_there",
        "seconds",
        "problems",
    }
    assert document["source"] == {"location": str(source), "backend": "sqlite"}
    assert document["schema_version"] == LATEST_VERSION
    assert list(document["tables"]) == list(ops.TABLES)
    costs = {"agents": "total_cost_usd", "prompts": "cost_usd", "prompt_model_usage": "cost_usd"}
    costs["session_usage"] = "cost_usd"
    assert set(document["sums"]) == {
        f"{t}.{c}" for t, cost in costs.items() for c in (*ops.TOKEN_KINDS, cost)
    }
    assert "source rows" in result.stderr  # the human report went to stderr


@pytest.mark.postgres
def test_passwords_are_never_printed(project: Path, tmp_path: Path, pg_url: str) -> None:
    source = tmp_path / "source.db"
    populate(project, source, logs_per_agent=1)
    with_password = pg_url.replace("postgresql:///", "postgresql://postgres:s3cr3t@/", 1)
    result = copy(project, source, with_password, "--json")
    # the test server trusts local connections, so the password is ignored and the copy works
    assert result.returncode == 0, result.stderr
    assert "s3cr3t" not in result.stdout + result.stderr
    assert json.loads(result.stdout)["dest"]["location"].startswith("postgresql://postgres:***@")


def _big_source(project: Path, path: Path) -> None:
    """BIG_ROWS agent logs written straight into the file: fast, and still valid rows."""
    with open_db(project, path) as db:
        owner = db.register_orchestrator_agent("builder", "builder")
        agent = db.start_agent(owner.id, "session")
    now = utc_now()
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO agent_logs (id, agent_id, log_type, log_level, message, details, "
            "created_at) VALUES (?, ?, 'tool_call', 'INFO', ?, '{}', ?)",
            ((ops.new_id(), agent.id, f"call {n}", now) for n in range(BIG_ROWS)),
        )
    conn.close()


@pytest.fixture
def big_source(project: Path, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "big.db"
    _big_source(project, path)
    yield path


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX pseudo-terminals")
def test_a_large_copy_shows_a_progress_bar_on_a_terminal(
    project: Path, tmp_path: Path, big_source: Path
) -> None:
    from .test_db_progress import run_on_terminal

    dest = tmp_path / "dest.db"
    argv = [sys.executable, "-m", "tac_bootstrap", "db", "copy", str(big_source), str(dest)]
    code, raw = run_on_terminal([*argv, "--project", str(project)], tmp_path)
    assert code == 0, raw
    assert PROGRESS_BAR.search(ANSI.sub("", raw)), raw
    assert counts(project, dest)["agent_logs"] == BIG_ROWS

    quiet = copy(project, big_source, tmp_path / "again.db")  # no terminal: no bar
    assert quiet.returncode == 0, quiet.stderr
    assert not PROGRESS_BAR.search(quiet.stdout + quiet.stderr)


def _agent_logs_in(path: Path) -> int:
    """Rows committed in DEST so far, read without creating the file or its tables."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.OperationalError:
        return 0
    try:
        return int(conn.execute("SELECT count(*) FROM agent_logs").fetchone()[0])
    except sqlite3.OperationalError:  # no file or no tables yet
        return 0
    finally:
        conn.close()


def test_a_killed_copy_is_resumed_by_running_it_again(
    project: Path, tmp_path: Path, big_source: Path
) -> None:
    dest = tmp_path / "dest.db"
    argv = [sys.executable, "-m", "tac_bootstrap", "db", "copy", str(big_source), str(dest)]
    proc = subprocess.Popen(
        [*argv, "--project", str(project), "--batch-size", "100"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while proc.poll() is None and _agent_logs_in(dest) == 0:
            time.sleep(0.005)
    finally:
        proc.kill()  # SIGKILL: no clean-up, maybe in the middle of a batch
        proc.wait(timeout=30)
    kept = _agent_logs_in(dest)

    resumed = copy_json(project, big_source, dest)
    assert resumed["tables"]["agent_logs"]["already_there"] == kept
    assert resumed["tables"]["agent_logs"]["copied"] == BIG_ROWS - kept
    assert resumed["tables"]["agents"] == {
        "source_rows": 1,
        "copied": 0,
        "already_there": 1,
        "dest_rows": 1,
    }
    assert rows(project, dest) == rows(project, big_source)


def test_a_dest_that_is_not_a_database_is_one_line(project: Path, tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    populate(project, source, logs_per_agent=1)
    dest = tmp_path / "notes.txt"
    dest.write_text("not a database\n" * 100)
    result = copy(project, source, dest)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: DEST: "), result.stderr
    assert "not a database" in lines[0]
    assert dest.read_text() == "not a database\n" * 100


# -- SQLite to SQLite: the attached (set-based) path and the streamed path --------------------

PROMPTS = 3_000


def _prompt_source(project: Path, path: Path, prompts: int = PROMPTS) -> None:
    """populate() plus `prompts` prompts over 30 agents written straight into the file, some
    without a model, spread over days: many batches of prompts and of prompt_totals keys."""
    populate(project, path, logs_per_agent=50)
    with open_db(project, path) as db:
        owner = db.register_orchestrator_agent("runner", "builder")
        agents = [db.start_agent(owner.id, f"run-{n}").id for n in range(30)]
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO prompts (id, agent_id, prompt_text, model, status, input_tokens, "
            "output_tokens, cache_read_tokens, cost_usd, created_at) "
            "VALUES (?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?)",
            (
                (
                    ops.new_id(),
                    agents[n % 30],
                    f"step {n}",
                    None if n % 7 == 0 else ("sonnet", "opus", "haiku")[n % 3],
                    100 + n,
                    n % 50,
                    n % 11,
                    (n % 97) / 1000,
                    f"2026-01-{1 + n % 28:02d}T10:00:00.000Z",
                )
                for n in range(prompts)
            ),
        )
    conn.close()


def _totals(path: Path) -> dict[tuple[str, str], tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    found = {
        (row[0], row[1]): tuple(row[2:])
        for row in conn.execute(
            "SELECT dimension, key, prompts, input_tokens, output_tokens, "
            "cache_creation_tokens, cache_read_tokens, cost_usd FROM prompt_totals"
        )
    }
    conn.close()
    return found


def _scanned_totals(path: Path) -> dict[tuple[str, str], list[Any]]:
    """prompt_totals computed in Python from every prompt (no SQL shared with the copy)."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    groups: dict[tuple[str, str], list[Any]] = {}
    for p in conn.execute("SELECT * FROM prompts"):
        keys = (
            ("agent", p["agent_id"]),
            ("day", p["created_at"][:10]),
            ("model", p["model"] or "unknown"),
        )
        for key in keys:
            totals = groups.setdefault(key, [0, 0, 0, 0, 0, 0.0])
            totals[0] += 1
            for i, column in enumerate(ops.TOKEN_KINDS, start=1):
                totals[i] += p[column]
            totals[5] += p["cost_usd"]
    conn.close()
    return groups


def assert_totals_equal_a_scan(path: Path) -> None:
    kept, scanned = _totals(path), _scanned_totals(path)
    assert kept.keys() == scanned.keys()
    for key, expected in scanned.items():
        assert list(kept[key][:5]) == expected[:5], key
        assert math.isclose(kept[key][5], expected[5], rel_tol=1e-9, abs_tol=1e-9), key


def _copy_python(
    project: Path, source: Path, dest: Path, batch_size: int, progress: Any = None
) -> Any:
    from tac_bootstrap.application import database_copy

    copy_plan = database_copy.plan(str(source), str(dest), project)
    return database_copy.copy_database(copy_plan, batch_size=batch_size, progress=progress)


def _writer_after(source: Path, project: Path, calls: int) -> Any:
    """A progress callback that commits a change to SOURCE on its `calls`-th call: a live
    orchestrator writing while the copy runs."""
    seen = [0]

    def progress(done: int, total: int) -> None:
        seen[0] += 1
        if seen[0] == calls:
            with open_db(project, source, migrate=False) as db:
                db.log_system("written during the copy")
                db.conn.execute("UPDATE prompts SET cost_usd = cost_usd + 1")

    return progress


@pytest.mark.parametrize("change_at_call", [1, 4])
def test_attached_and_streamed_copies_give_the_same_dest(
    project: Path, tmp_path: Path, change_at_call: int
) -> None:
    """SOURCE changed during the copy: the attached batches stop, the rest is streamed from the
    snapshot, and DEST holds the snapshot (not the change), like an unchanged copy."""
    source = tmp_path / "source.db"
    _prompt_source(project, source)
    expected = rows(project, source)
    attached = _copy_python(project, source, tmp_path / "attached.db", 500)
    mixed = _copy_python(
        project,
        source,
        tmp_path / "mixed.db",
        500,
        progress=_writer_after(source, project, change_at_call),
    )
    assert attached.ok and mixed.ok, (attached.problems, mixed.problems)
    assert counts(project, source)["system_logs"] == len(expected["system_logs"]) + 1
    for report in (attached, mixed):
        assert [t.copied for t in report.tables] == [len(expected[t]) for t in ops.TABLES]
        assert all(t.already_there == 0 for t in report.tables)
    assert rows(project, tmp_path / "attached.db") == expected
    assert rows(project, tmp_path / "mixed.db") == expected
    attached_totals, mixed_totals = (
        _totals(tmp_path / "attached.db"),
        _totals(tmp_path / "mixed.db"),
    )
    assert attached_totals.keys() == mixed_totals.keys()
    for key, values in attached_totals.items():  # floats summed per batch or per row
        assert values[:5] == mixed_totals[key][:5], key
        assert math.isclose(values[5], mixed_totals[key][5], rel_tol=1e-9, abs_tol=1e-9), key
    assert_totals_equal_a_scan(tmp_path / "attached.db")
    assert_totals_equal_a_scan(tmp_path / "mixed.db")


def test_an_attached_batch_reads_only_an_unchanged_source(project: Path, tmp_path: Path) -> None:
    from tac_bootstrap.runtime.adw_db_transfer import AttachedSource, SourceWatch

    source, dest = tmp_path / "source.db", tmp_path / "dest.db"
    populate(project, source, logs_per_agent=30)
    watch = SourceWatch(source)
    with open_db(project, dest) as db:
        attached = AttachedSource(db, source, watch)
        for table in ("orchestrator_agents", "agents"):
            assert attached.copy_batch(table, 0, 1000) is not None
        first = attached.copy_batch("agent_logs", 0, 40)
        assert first is not None and (first.rows, first.inserted) == (40, 40)
        again = attached.copy_batch("agent_logs", 0, 40)  # the same rows: none is new
        assert again is not None and (again.rows, again.inserted) == (40, 0)
        with open_db(project, source, migrate=False) as writer:
            writer.log_system("a commit to SOURCE")
        assert attached.copy_batch("agent_logs", first.last_rowid, 40) is None
        assert attached.copy_batch("system_logs", 0, 40) is None  # stays refused
        attached.close()
        assert db.table_counts()["agent_logs"] == 40
        assert db.table_counts()["system_logs"] == 0
    watch.close()


def test_a_watch_opened_before_a_commit_refuses_the_attached_path(
    project: Path, tmp_path: Path
) -> None:
    from tac_bootstrap.runtime.adw_db_transfer import AttachedSource, SourceWatch

    source, dest = tmp_path / "source.db", tmp_path / "dest.db"
    populate(project, source, logs_per_agent=3)
    watch = SourceWatch(source)
    with open_db(project, source, migrate=False) as writer:  # after the snapshot would begin
        writer.log_system("between the snapshot and the attach")
    with open_db(project, dest) as db:
        attached = AttachedSource(db, source, watch)
        assert attached.valid is False
        assert attached.copy_batch("orchestrator_agents", 0, 10) is None
        attached.close()
    watch.close()


def test_a_source_sqlite_cannot_attach_leaves_the_attached_path_off(
    project: Path, tmp_path: Path
) -> None:
    """Where ATTACH fails (here: the file is gone; elsewhere a SQLite built without URI
    filenames), the copy has no attached path and DEST has nothing attached."""
    from tac_bootstrap.runtime.adw_db_transfer import AttachedSource, SourceWatch

    source, dest = tmp_path / "source.db", tmp_path / "dest.db"
    populate(project, source, logs_per_agent=1)
    watch = SourceWatch(source)
    moved = tmp_path / "moved.db"
    source.rename(moved)
    with open_db(project, dest) as db:
        attached = AttachedSource(db, source, watch)
        assert (attached.attached, attached.valid) == (False, False)
        assert attached.copy_batch("orchestrator_agents", 0, 10) is None
        attached.close()
        names = [row[1] for row in db.conn.execute("PRAGMA database_list")]
        assert names == ["main"]
    watch.close()
    assert not source.exists()  # nothing was created in its place


def test_prompt_totals_of_a_copy_and_of_a_resumed_copy_equal_a_scan(
    project: Path, tmp_path: Path
) -> None:
    source, dest = tmp_path / "source.db", tmp_path / "dest.db"
    _prompt_source(project, source)
    first = _copy_python(project, source, dest, 700)
    assert first.ok, first.problems
    assert_totals_equal_a_scan(dest)
    with open_db(project, dest, migrate=False) as db:  # a copy interrupted in the prompts
        db.conn.execute("DELETE FROM prompts WHERE rowid > 1234")  # (the trigger keeps totals)
        db.conn.execute("DELETE FROM agent_logs")
        db.conn.execute("DELETE FROM system_logs")
    assert_totals_equal_a_scan(dest)
    resumed = _copy_python(project, source, dest, 500)
    assert resumed.ok, resumed.problems
    by_table = {t.table: t for t in resumed.tables}
    assert by_table["prompts"].already_there == 1234
    assert by_table["prompts"].copied == len(rows(project, source)["prompts"]) - 1234
    assert rows(project, dest) == rows(project, source)
    assert_totals_equal_a_scan(dest)
    with sqlite3.connect(dest) as conn:  # the insert trigger is back, unchanged
        names = {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
    assert {"prompt_totals_insert", "prompt_totals_update", "prompt_totals_delete"} <= names
    with open_db(project, dest, migrate=False) as db:
        agent = db.list_agents()[0]
        db.start_prompt(agent.id, "after the copy", model="sonnet")
    assert_totals_equal_a_scan(dest)


def _prompts_in(path: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.OperationalError:
        return 0
    try:
        return int(conn.execute("SELECT count(*) FROM prompts").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def test_a_copy_killed_in_the_prompts_resumes_with_exact_totals(
    project: Path, tmp_path: Path
) -> None:
    source, dest = tmp_path / "source.db", tmp_path / "dest.db"
    _prompt_source(project, source, prompts=40_000)
    argv = [sys.executable, "-m", "tac_bootstrap", "db", "copy", str(source), str(dest)]
    proc = subprocess.Popen(
        [*argv, "--project", str(project), "--batch-size", "100"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while proc.poll() is None and _prompts_in(dest) < 300:
            time.sleep(0.002)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    kept = _prompts_in(dest)
    resumed = copy_json(project, source, dest)
    assert resumed["tables"]["prompts"]["already_there"] == kept
    assert rows(project, dest) == rows(project, source)
    assert_totals_equal_a_scan(dest)
