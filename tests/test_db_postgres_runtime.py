"""OrchestratorDB behaviour that only PostgreSQL has: exact numeric costs, UTC timestamps
whatever the session time zone, lock_timeout as the busy timeout, ids that are not UUIDs,
aborted transactions, connection errors without passwords, and pg_dump instead of backup."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import operator
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from tac_bootstrap.runtime import adw_db_operations as ops
from tac_bootstrap.runtime.adw_database import (
    WRITE_RETRIES,
    AsyncOrchestratorDB,
    OrchestratorDB,
)
from tac_bootstrap.runtime.adw_db_connection import (
    UnsupportedDatabase,
    location_from_setting,
    redact,
)
from tac_bootstrap.runtime.adw_db_dialect import IntegrityViolation
from tac_bootstrap.runtime.adw_db_postgres import DatabaseUnavailable, connect_async
from tac_bootstrap.runtime.orch_database_models import (
    InvalidInput,
    NotFound,
    OrchestratorError,
    format_timestamp,
    parse_timestamp,
)

from .db_helpers import PG_MIGRATIONS, set_column, snapshot, sql
from .pg_server import PgServer

pytestmark = pytest.mark.postgres

PASSWORD = "s3cret-Pa55"  # trust authentication ignores it; it must never be printed
GHOST = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


def open_pg(url: str, **kwargs: Any) -> OrchestratorDB:
    return OrchestratorDB.open(url, migrations_dir=PG_MIGRATIONS, **kwargs)


@pytest.fixture
def db(pg_url: str) -> Iterator[OrchestratorDB]:
    with open_pg(pg_url) as opened:
        yield opened


def with_password(url: str, password: str = PASSWORD, user: str = "postgres") -> str:
    """The same database URL with a user and password in it."""
    assert url.startswith("postgresql:///")
    return url.replace("postgresql:///", f"postgresql://{user}:{password}@/", 1)


def socket_url(server: PgServer, dbname: str, **changes: str) -> str:
    info = {k: str(v) for k, v in conninfo_to_dict(server.dsn).items()}
    info.update(changes)
    return (
        f"postgresql://{info['user']}:{PASSWORD}@/{dbname}?host={info['host']}&port={info['port']}"
    )


# -- values --------------------------------------------------------------------------------------


def test_ten_tenths_add_up_to_exactly_one(db: OrchestratorDB) -> None:
    """Floats reach the server as numeric literals, so numeric + 0.1 adds exact decimals
    (in float8, and in Python adding one at a time, ten 0.1s make 0.9999999999999999; sum()
    compensates since 3.12)."""
    assert functools.reduce(operator.add, [0.1] * 10) != 1.0
    owner = db.register_orchestrator_agent("builder", "builder")
    agent = db.start_agent(owner.id, "s")
    for _ in range(10):
        db.add_agent_usage(agent.id, cost_usd=0.1)
    assert db.get_agent(agent.id).total_cost_usd == 1.0
    other = db.start_agent(owner.id, "s2")
    for n in range(10):
        db.complete_prompt(db.start_prompt(other.id, f"p{n}").id, cost_usd=0.1)
    assert db.get_agent(other.id).total_cost_usd == 1.0
    assert [r.cost_usd for r in db.rollup("session", session_id="s2")] == [1.0]
    exact = sql(db, "SELECT total_cost_usd::text AS t FROM agents ORDER BY session_id")
    assert exact == [{"t": "1.0"}, {"t": "1.0"}]


def test_timestamps_are_utc_text_whatever_the_session_time_zone(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as admin:
        dbname = conninfo_to_dict(pg_url)["dbname"]
        admin.execute(f"ALTER DATABASE {dbname} SET timezone = 'Asia/Kolkata'".encode())
    with open_pg(pg_url) as db:
        assert sql(db, "SHOW timezone") == [{"TimeZone": "Asia/Kolkata"}]
        owner = db.register_orchestrator_agent("builder", "builder")
        agent = db.start_agent(owner.id, "s")
        prompt = db.start_prompt(agent.id, "late at night")
        db.complete_prompt(prompt.id, cost_usd=0.5)
        stamp = "2026-01-15T23:59:59.999Z"  # already the 16th in Kolkata
        set_column(db, "prompts", "created_at", prompt.id, stamp)
        [raw] = sql(db, "SELECT created_at, completed_at FROM prompts")
        assert raw["created_at"] == stamp
        assert format_timestamp(parse_timestamp(raw["completed_at"])) == raw["completed_at"]
        for row in map(dict, db.iter_rows("agents")):
            assert all(str(row[c]).endswith("Z") for c in ("created_at", "started_at"))
        assert db.get_prompt(prompt.id).created_at == parse_timestamp(stamp)
        assert [(r.key, r.cost_usd) for r in db.rollup("day")] == [("2026-01-15", 0.5)]
        # Comparisons use instants: a cut-off one millisecond later excludes nothing else.
        db.log_system("m")
        log_id = db.log_system("old")
        set_column(db, "system_logs", "created_at", log_id, stamp)
        since = parse_timestamp("2026-01-16T00:00:00.000Z")
        assert [r.message for r in db.recent_logs(since=since)] == ["m"]
        for value in snapshot(db)["agents"][0]:
            assert not (isinstance(value, str) and "+05:30" in value)


def test_lock_timeout_is_the_busy_timeout(pg_url: str) -> None:
    with open_pg(pg_url, busy_timeout_ms=1234) as db:
        assert sql(db, "SHOW lock_timeout") == [{"lock_timeout": "1234ms"}]
    with open_pg(pg_url) as db:
        assert sql(db, "SHOW lock_timeout") == [{"lock_timeout": "30s"}]


def test_a_write_waiting_longer_than_the_busy_timeout_fails_and_ends_its_transaction(
    pg_url: str,
) -> None:
    with open_pg(pg_url, busy_timeout_ms=100) as db:
        owner = db.register_orchestrator_agent("builder", "builder")
        agent = db.start_agent(owner.id, "s")
        with psycopg.connect(pg_url) as holder:  # not autocommit: holds the row lock
            holder.execute("SELECT 1 FROM agents WHERE id = %s FOR UPDATE", (agent.id,))
            with pytest.raises(psycopg.errors.LockNotAvailable):
                db.set_agent_status(agent.id, "completed")
            assert not db.in_transaction
        assert db.set_agent_status(agent.id, "completed").status.value == "completed"


# -- ids --------------------------------------------------------------------------------------


def test_ids_that_are_not_uuids_find_nothing_and_abort_nothing(db: OrchestratorDB) -> None:
    """On a UUID column `id = 'planner'` is an error that aborts the transaction; the
    operations answer such ids without SQL, so even inside a snapshot the next call works."""
    planner = db.register_orchestrator_agent("planner", "planner")
    agent = db.start_agent("planner", "s")
    with db.snapshot():
        for call in (
            lambda: db.get_agent("planner"),
            lambda: db.get_prompt("nope"),
            lambda: db.get_orchestrator_agent("nope"),
        ):
            with pytest.raises(NotFound, match="does not exist"):
                call()
        assert db.list_prompts(agent_id="nope") == []
        assert db.recent_logs(agent_id="planner") == []
        assert db.get_orchestrator_agent("planner") == planner  # a name, not an id
        assert [a.id for a in db.list_agents()] == [agent.id]
    assert not db.in_transaction
    before = snapshot(db)
    for write_call in (
        lambda: db.start_prompt("nope", "x"),
        lambda: db.log_agent("planner", "hook", "x"),
        lambda: db.set_agent_status("nope", "completed"),
        lambda: db.add_agent_usage("nope", cost_usd=1.0),
        lambda: db.complete_prompt("nope"),
        lambda: db.start_agent("nope", "s"),
        lambda: db.log_agent_batch(
            [
                {"agent_id": agent.id, "log_type": "hook", "message": "good"},
                {"agent_id": "nope", "log_type": "hook", "message": "bad"},
            ]
        ),
    ):
        with pytest.raises(NotFound, match=r"'(nope|planner)'"):
            write_call()
        assert not db.in_transaction
        assert db.get_agent(agent.id).id == agent.id  # the next call in the same object works
    assert snapshot(db) == before


# -- errors inside operations ---------------------------------------------------------------


def orphan_log() -> ops.Op[None]:
    yield (
        "exec",
        "INSERT INTO agent_logs (id, agent_id, log_type, message) VALUES (?, ?, 'hook', 'm')",
        (str(uuid.uuid4()), GHOST),
    )


def stubborn() -> ops.Op[str]:
    """Catches the violation and writes on: PostgreSQL would refuse the next statement."""
    with contextlib.suppress(IntegrityViolation):
        yield from orphan_log()
    yield ("exec", "INSERT INTO system_logs (id, message) VALUES (?, 'after')", (GHOST,))
    return "done"


def test_an_operation_that_goes_on_after_a_caught_error_is_refused(db: OrchestratorDB) -> None:
    before = snapshot(db)
    with pytest.raises(OrchestratorError, match="went on after a database error"):
        db._write(stubborn())
    assert not db.in_transaction
    assert snapshot(db) == before
    db.log_system("usable")
    assert db.table_counts()["system_logs"] == 1


def test_the_async_driver_refuses_it_too(pg_url: str) -> None:
    async def main() -> tuple[bool, dict[str, int]]:
        async with await AsyncOrchestratorDB.open(pg_url, migrations_dir=PG_MIGRATIONS) as db:
            with pytest.raises(OrchestratorError, match="went on after a database error"):
                await db._write(stubborn())
            in_transaction = db.in_transaction
            await db.log_system("usable")
            return in_transaction, await db.table_counts()

    in_transaction, counts = asyncio.run(main())
    assert not in_transaction
    assert (counts["agent_logs"], counts["system_logs"]) == (0, 1)


# -- snapshots and maintenance ---------------------------------------------------------------


def test_a_snapshot_does_not_see_later_commits(pg_url: str) -> None:
    with open_pg(pg_url) as db, open_pg(pg_url) as other:
        db.register_orchestrator_agent("first", "planner")
        with db.snapshot():
            assert db.table_counts()["orchestrator_agents"] == 1
            other.register_orchestrator_agent("second", "planner")
            assert [r["name"] for r in db.iter_rows("orchestrator_agents")] == ["first"]
            assert db.in_transaction  # iter_rows joined the snapshot and left it open
        assert not db.in_transaction
        assert [r["name"] for r in db.iter_rows("orchestrator_agents")] == ["first", "second"]


def test_vacuum_runs_outside_a_transaction_and_keeps_the_data(db: OrchestratorDB) -> None:
    db.log_system_batch([{"message": f"m{i}"} for i in range(100)])
    write_count = sql(db, "SELECT count(*) AS n FROM system_logs")
    db.vacuum()
    assert sql(db, "SELECT count(*) AS n FROM system_logs") == write_count == [{"n": 100}]
    assert not db.in_transaction


def test_backup_points_to_pg_dump_without_the_password(pg_url: str, tmp_path: Path) -> None:
    with open_pg(with_password(pg_url)) as db:
        target = tmp_path / "copy.db"
        with pytest.raises(OrchestratorError, match="pg_dump") as raised:
            db.backup(target)
        message = str(raised.value)
        assert "pg_restore" in message and PASSWORD not in message
        assert str(conninfo_to_dict(pg_url)["dbname"]) in message
        assert not target.exists()
        assert PASSWORD not in db.location.display
        assert PASSWORD not in db.status().location
        assert db.status().backend == "postgresql"


# -- connections and URLs --------------------------------------------------------------------


def assert_one_safe_line(message: str, *must_contain: str) -> None:
    assert "\n" not in message
    assert PASSWORD not in message
    for fragment in must_contain:
        assert fragment in message, (fragment, message)


def test_a_wrong_socket_directory_is_one_line_naming_database_and_host(tmp_path: Path) -> None:
    nowhere = tmp_path / "no-server-here"
    url = f"postgresql://postgres:{PASSWORD}@/orch?host={nowhere}&port=5433"
    with pytest.raises(DatabaseUnavailable) as raised:
        open_pg(url)
    assert_one_safe_line(str(raised.value), 'database "orch"', str(nowhere), "5433", "postgres")


def test_a_missing_database_says_how_to_create_it(pg_server: PgServer) -> None:
    url = socket_url(pg_server, "no_such_orch")
    with pytest.raises(DatabaseUnavailable) as raised:
        open_pg(url)
    host = str(conninfo_to_dict(pg_server.dsn)["host"])
    assert_one_safe_line(str(raised.value), 'database "no_such_orch"', host, "createdb")


def test_an_unknown_role_is_named(pg_server: PgServer) -> None:
    url = socket_url(pg_server, "postgres", user="ghost_role")
    with pytest.raises(DatabaseUnavailable) as raised:
        open_pg(url)
    host = str(conninfo_to_dict(pg_server.dsn)["host"])
    assert_one_safe_line(str(raised.value), "ghost_role", host, 'database "postgres"')


def test_the_setting_to_fix_is_named(tmp_path: Path) -> None:
    url = f"postgresql://postgres:{PASSWORD}@/orch?host={tmp_path}&port=5433"
    location = location_from_setting(url, tmp_path, "adws", "environment")
    with pytest.raises(DatabaseUnavailable) as raised:
        OrchestratorDB.at(location)
    assert_one_safe_line(str(raised.value), "(from TAC_ORCHESTRATOR_DB)")


def test_async_connection_errors_are_the_same(tmp_path: Path) -> None:
    url = f"postgresql://postgres:{PASSWORD}@/orch?host={tmp_path}&port=5433"
    with pytest.raises(DatabaseUnavailable) as raised:
        asyncio.run(connect_async(url, 1000))
    assert_one_safe_line(str(raised.value), 'database "orch"', str(tmp_path))


@pytest.mark.parametrize(
    "password", ["pa ss", "hunter2 " + PASSWORD, "p@ssw0rd zebra9", "pw/slash zebra9@"]
)
def test_a_malformed_url_does_not_leak_its_password(password: str, tmp_path: Path) -> None:
    """libpq quotes the malformed part of a URL back, which may be all or (after an unencoded
    @ or /) part of the password; no piece of it may reach the message. A URL that cannot be
    read is a setting to fix: UnsupportedDatabase (exit 2 in the CLI), before any connection."""
    url = f"postgresql://postgres:{password}@/orch?host={tmp_path}"
    with pytest.raises(UnsupportedDatabase) as raised:
        open_pg(url)
    message = str(raised.value)
    assert "\n" not in message
    if "@" in password or "/" in password:
        assert "the PostgreSQL URL cannot be read" in message
        assert "percent-encode" in message
    else:
        assert message.startswith("malformed PostgreSQL URL")
    pieces = [p for p in re.split(r"[ @/]", password) if len(p) >= 3]
    for secret in (password, password.replace(" ", "%20"), *pieces):
        assert secret not in message, message
    assert PASSWORD not in repr(raised.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://alice:s3cret@db.example.com:5432/orch?sslmode=require",
            "postgresql://alice:***@db.example.com:5432/orch?sslmode=require",
        ),
        (
            "postgresql://alice@db.example.com/orch?password=s3cret&connect_timeout=2",
            "postgresql://alice@db.example.com/orch?password=***&connect_timeout=2",
        ),
        (
            "postgresql://alice:p@ss:w0rd@db.example.com/orch",
            "postgresql://alice:***@db.example.com/orch",
        ),
        ("postgresql:///orch?host=/tmp/tacpg-x", "postgresql:///orch?host=/tmp/tacpg-x"),
        ("postgresql://bob@host/db", "postgresql://bob@host/db"),
    ],
)
def test_redact_masks_passwords_and_keeps_the_rest(url: str, shown: str) -> None:
    assert redact(url) == shown


# -- retried writes ----------------------------------------------------------------------------


def fail_first_inserts(db: OrchestratorDB, failures: int) -> None:
    """The first `failures` INSERT statements into agent_logs fail with a real serialization
    failure (40001). The count lives in a sequence, which a rollback does not undo."""
    for statement in (
        "CREATE SEQUENCE flaky",
        "CREATE FUNCTION flaky_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF nextval('flaky') <= {failures} THEN "
        "RAISE EXCEPTION 'simulated' USING ERRCODE = '40001'; END IF; RETURN NULL; END $$",
        "CREATE TRIGGER flaky BEFORE INSERT ON agent_logs "
        "FOR EACH STATEMENT EXECUTE FUNCTION flaky_once()",
    ):
        sql(db, statement)


def insert_attempts(db: OrchestratorDB) -> int:
    """How many INSERT statements into agent_logs have been tried so far."""
    [row] = sql(db, "SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM flaky")
    return int(row["n"])


def log_entries(agent_id: str, count: int = 10) -> Iterator[dict[str, str]]:
    """A one-shot generator of log entries, as a caller streaming them would pass."""
    return ({"agent_id": agent_id, "log_type": "hook", "message": f"m{i}"} for i in range(count))


def test_a_retried_write_replays_a_generator_argument(db: OrchestratorDB) -> None:
    """A serialization failure runs the write again from the start; a generator it was given
    is consumed by then, so the retry must see the same entries (it committed none)."""
    owner = db.register_orchestrator_agent("builder", "builder")
    agent = db.start_agent(owner.id, "s")
    fail_first_inserts(db, 1)
    assert db.log_agent_batch(log_entries(agent.id)) == 10
    assert insert_attempts(db) > 1  # the first attempt really failed and was retried
    assert not db.in_transaction
    assert db.table_counts()["agent_logs"] == 10
    messages = {r["message"] for r in db.iter_rows("agent_logs")}
    assert messages == {f"m{i}" for i in range(10)}


def test_the_async_api_replays_a_generator_argument_too(pg_url: str) -> None:
    with open_pg(pg_url) as setup:
        owner = setup.register_orchestrator_agent("builder", "builder")
        agent = setup.start_agent(owner.id, "s")
        fail_first_inserts(setup, 1)

    async def main() -> tuple[int, bool, dict[str, int]]:
        async with await AsyncOrchestratorDB.open(pg_url, migrations_dir=PG_MIGRATIONS) as db:
            written = await db.log_agent_batch(log_entries(agent.id))
            return written, db.in_transaction, await db.table_counts()

    written, in_transaction, counts = asyncio.run(main())
    assert (written, in_transaction, counts["agent_logs"]) == (10, False, 10)
    with open_pg(pg_url) as db:
        assert insert_attempts(db) > 1
        assert sorted(r["message"] for r in db.iter_rows("agent_logs")) == [
            f"m{i}" for i in range(10)
        ]


def test_a_write_failing_every_retry_raises_the_last_failure_and_writes_nothing(
    db: OrchestratorDB,
) -> None:
    owner = db.register_orchestrator_agent("builder", "builder")
    agent = db.start_agent(owner.id, "s")
    fail_first_inserts(db, WRITE_RETRIES + 1)
    before = snapshot(db)
    with pytest.raises(psycopg.errors.SerializationFailure, match="simulated"):
        db.log_agent_batch(log_entries(agent.id))
    assert insert_attempts(db) == WRITE_RETRIES + 1  # the first try and every retry
    assert not db.in_transaction
    assert snapshot(db) == before
    assert db.log_agent_batch(log_entries(agent.id, 3)) == 3  # the next write works
    assert db.table_counts()["agent_logs"] == 3


# -- NUL characters --------------------------------------------------------------------------


def test_nul_characters_are_refused_as_invalid_input(db: OrchestratorDB) -> None:
    """PostgreSQL cannot store NUL in text (psycopg refuses it) nor \\u0000 in jsonb (the
    server refuses it): the caller gets InvalidInput, not an engine error, and the
    connection stays usable. SQLite stores them (test_db_runtime.py)."""
    owner = db.register_orchestrator_agent("builder", "builder")
    agent = db.start_agent(owner.id, "s")
    before = snapshot(db)
    for write_call in (
        lambda: db.log_agent(agent.id, "hook", "a\x00b"),
        lambda: db.log_agent(agent.id, "hook", "fine", details={"x": "a\x00b"}),
        lambda: db.start_prompt(agent.id, "a\x00b"),
        lambda: db.log_system("a\x00b"),
        lambda: db.log_agent_batch(
            [
                {"agent_id": agent.id, "log_type": "hook", "message": "fine"},
                {"agent_id": agent.id, "log_type": "hook", "message": "a\x00b"},
            ]
        ),
    ):
        with pytest.raises(InvalidInput, match="NUL") as raised:
            write_call()
        assert not isinstance(raised.value, psycopg.Error)
        assert not db.in_transaction
        assert db.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert snapshot(db) == before
    db.log_agent(agent.id, "hook", "a\ufffdb", details={"x": "a\ufffdb"})
    assert db.start_prompt(agent.id, "next").prompt_text == "next"
    [log] = db.recent_logs(include_system=False)
    assert (log.message, log.details) == ("a\ufffdb", {"x": "a\ufffdb"})


def test_the_async_api_refuses_nul_the_same_way(pg_url: str) -> None:
    async def main() -> tuple[bool, dict[str, int]]:
        async with await AsyncOrchestratorDB.open(pg_url, migrations_dir=PG_MIGRATIONS) as db:
            owner = await db.register_orchestrator_agent("builder", "builder")
            agent = await db.start_agent(owner.id, "s")
            with pytest.raises(InvalidInput, match="NUL"):
                await db.log_agent(agent.id, "hook", "fine", details={"x": "a\x00b"})
            with pytest.raises(InvalidInput, match="NUL"):
                await db.start_prompt(agent.id, "a\x00b")
            in_transaction = db.in_transaction
            await db.log_agent(agent.id, "hook", "next")
            return in_transaction, await db.table_counts()

    in_transaction, counts = asyncio.run(main())
    assert not in_transaction
    assert (counts["agent_logs"], counts["prompts"]) == (1, 0)
