"""Orchestrator database: OrchestratorDB against the plain driver, on SQLite and PostgreSQL.

Run: .venv/bin/python bench/bench_database.py [--quick] [--profile]
         [--backends sqlite,postgresql] [--postgres-url URL]

SQLite: every case runs both sides in one run, on real database files in a temporary
directory, each created by OrchestratorDB.open (same migrations); the raw side opens its own
sqlite3 connection with the runtime's pragmas (WAL, synchronous=NORMAL, foreign_keys=ON,
busy_timeout). PostgreSQL: the same cases against fresh databases (one per case and side,
created by OrchestratorDB.open with the PostgreSQL migrations); the raw side is psycopg 3 in
autocommit mode sending the same statements (BEGIN ... COMMIT, the same lock_timeout).
Without --postgres-url a throwaway server is started with tests/pg_server.py over its unix
socket, with fsync on and synchronous_commit=off: like SQLite's WAL + synchronous=NORMAL, a
crash of the machine may lose the last commits but never corrupts the database. With a URL,
its user needs CREATEDB: databases named tacbench_* are created and dropped. Without
psycopg or PostgreSQL binaries the PostgreSQL half is skipped (with the reason).

Ratios are API speed / raw speed, so 1.00 means no overhead. Both sides use the runtime's
time-ordered ids (new_id), so the ratio measures the API's own overhead; random uuid4 keys
would slow the raw side down as the table grows and flatter the API.

1. one agent log line per transaction (db.log_agent vs INSERT + COMMIT)
2. batched agent logs, 1,000 per transaction (db.log_agent_batch vs executemany)
3. 8 processes writing single-row transactions at once (log_agent + add_agent_usage on one
   shared agent); nothing may be lost, no call may fail, and the summed cost must be exact
   (on PostgreSQL compared as Decimal: numeric adds exact decimals)
4. cost rollup by model of one session in a 1,000,000-prompt database
5. whole-database rollups (by day, model, session, agent) of the same 1,000,000 prompts,
   before (schema 003: a scan of every prompt) and after migration 004 (prompt_totals)
6. prompt write cost of 004's triggers: start_prompt + complete_prompt at 003 and at 004
   (cases 5 and 6: bench_prompt_totals.py, printed side by side in their own table)
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import multiprocessing as mp
import os
import pstats
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_operations import new_id

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_prompt_totals as totals  # a sibling module, also when run as a script

if TYPE_CHECKING:
    from tests.pg_server import PgServer

REPO = Path(__file__).resolve().parent.parent
MIGRATIONS = REPO / "adws" / "schema" / "migrations"
PG_MIGRATIONS = REPO / "adws" / "schema" / "postgres" / "migrations"
BACKENDS = ("sqlite", "postgresql")
BUSY_TIMEOUT_MS = 30_000
BATCH = 1_000
COST_PER_CALL = 0.001
IN_TOKENS, OUT_TOKENS = 10, 5
PG_SETTINGS = "-c synchronous_commit=off"
AGENT_LOG_INSERT = (
    "INSERT INTO agent_logs (id, agent_id, log_type, log_level, message, details, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
ADD_USAGE = (
    "UPDATE agents SET total_cost_usd = total_cost_usd + ?, "
    "input_tokens = input_tokens + ?, output_tokens = output_tokens + ? WHERE id = ?"
)
SELECT_AGENT = "SELECT * FROM agents WHERE id = ?"
ROLLUP_SQL = (
    "SELECT coalesce(p.model, 'unknown') AS key, count(*) AS prompts, "
    "sum(p.input_tokens) AS input_tokens, sum(p.output_tokens) AS output_tokens, "
    "sum(p.cost_usd) AS cost_usd "
    "FROM agents a JOIN prompts p ON p.agent_id = a.id WHERE a.session_id = ? "
    "GROUP BY 1 ORDER BY cost_usd DESC, key"
)
# What the API sends on PostgreSQL (sums cast back to bigint, as on SQLite).
PG_ROLLUP_SQL = (
    "SELECT coalesce(p.model, 'unknown') AS key, count(*) AS prompts, "
    "CAST(sum(p.input_tokens) AS BIGINT) AS input_tokens, "
    "CAST(sum(p.output_tokens) AS BIGINT) AS output_tokens, "
    "sum(p.cost_usd) AS cost_usd "
    "FROM agents a JOIN prompts p ON p.agent_id = a.id WHERE a.session_id = %s "
    "GROUP BY 1 ORDER BY cost_usd DESC, key"
)
MODELS = ("sonnet", "opus", "haiku", "sonnet-4.5", "gpt-5")


def pg(sql: str) -> str:
    """A statement written with `?` placeholders, for psycopg."""
    return sql.replace("?", "%s")


@dataclass(frozen=True)
class Row:
    backend: str
    case: str
    api: str
    raw: str
    ratio: str
    target: str
    passed: bool


# -- helpers ------------------------------------------------------------------------------


def now_iso() -> str:
    """The database's timestamp format (2026-11-26T10:24:19.123Z), written out by hand."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def raw_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA journal_mode = WAL")
    return conn


def pg_connect(url: str) -> Any:
    """A plain psycopg connection as the runtime opens one: autocommit, same lock_timeout."""
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    conn.execute(f"SET lock_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def details(i: int) -> dict[str, Any]:
    return {"tool": "Bash", "call": i, "ok": True}


def log_params(agent_id: str, i: int, now: str) -> tuple[Any, ...]:
    return (new_id(), agent_id, "tool_call", "INFO", f"tool call {i}", json.dumps(details(i)), now)


def rate(rows_per_s: float) -> str:
    return f"{rows_per_s:,.0f} rows/s"


# -- the two backends -----------------------------------------------------------------------


class Backend:
    """Where a case's databases live and how the raw side reaches them; `target` is a file
    path (SQLite) or a postgresql:// URL."""

    name = "sqlite"
    raw_label = "sqlite3"

    def __init__(self, root: Path) -> None:
        self.root = root

    def create(self, name: str) -> str:
        return str(self.root / f"{name}.db")

    migrations = MIGRATIONS

    def open_api(self, target: str) -> OrchestratorDB:
        return OrchestratorDB.open(Path(target), migrations_dir=MIGRATIONS)

    def open_with(self, target: str, migrations: Path) -> OrchestratorDB:
        return OrchestratorDB.open(Path(target), migrations_dir=migrations)

    def clone(self, source: str, name: str) -> str:
        """A copy of a built (checkpointed) database under another name."""
        target = self.create(name)
        shutil.copyfile(source, target)
        return target

    def raw(self, target: str) -> Any:
        return raw_connect(Path(target))

    def fresh(self, name: str) -> tuple[str, str]:
        """A migrated database holding one running agent; returns (target, agent id)."""
        target = self.create(name)
        with self.open_api(target) as db:
            db.register_orchestrator_agent("bench-builder", "builder")
            agent = db.start_agent("bench-builder", session_id=f"s-{name}", model="sonnet")
        return target, agent.id

    def query(self, target: str, sql: str) -> Any:
        conn = self.raw(target)
        try:
            return conn.execute(sql).fetchone()
        finally:
            conn.close()

    def raw_single(self, conn: Any, agent_id: str, start: int, n: int) -> None:
        for i in range(start, start + n):
            conn.execute("BEGIN")
            conn.execute(AGENT_LOG_INSERT, log_params(agent_id, i, now_iso()))
            conn.execute("COMMIT")

    def raw_batched(self, conn: Any, agent_id: str, start: int, n: int) -> None:
        for first in range(start, start + n, BATCH):
            now = now_iso()
            conn.execute("BEGIN")
            conn.executemany(
                AGENT_LOG_INSERT,
                [log_params(agent_id, i, now) for i in range(first, min(first + BATCH, start + n))],
            )
            conn.execute("COMMIT")

    def cleanup(self) -> None:
        pass


class Postgres(Backend):
    name = "postgresql"
    raw_label = "psycopg"

    def __init__(self, root: Path, server: PgServer, admin_db: str) -> None:
        super().__init__(root)
        self.server = server
        self.admin = server.url(admin_db)
        self.created: list[str] = []

    def create(self, name: str) -> str:
        dbname = "tacbench_" + name.replace("-", "_")
        with pg_connect(self.admin) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {dbname}")
            conn.execute(f"CREATE DATABASE {dbname}")
        self.created.append(dbname)
        return self.server.url(dbname)

    migrations = PG_MIGRATIONS

    def open_api(self, target: str) -> OrchestratorDB:
        return OrchestratorDB.open(target, migrations_dir=PG_MIGRATIONS)

    def open_with(self, target: str, migrations: Path) -> OrchestratorDB:
        return OrchestratorDB.open(target, migrations_dir=migrations)

    def clone(self, source: str, name: str) -> str:
        dbname = "tacbench_" + name.replace("-", "_")
        template = source.split("?", 1)[0].removeprefix("postgresql:///")
        with pg_connect(self.admin) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {dbname}")
            conn.execute(f"CREATE DATABASE {dbname} TEMPLATE {template}")
        self.created.append(dbname)
        return self.server.url(dbname)

    def raw(self, target: str) -> Any:
        return pg_connect(target)

    def raw_single(self, conn: Any, agent_id: str, start: int, n: int) -> None:
        insert = pg(AGENT_LOG_INSERT)
        for i in range(start, start + n):
            conn.execute("BEGIN")
            conn.execute(insert, log_params(agent_id, i, now_iso()))
            conn.execute("COMMIT")

    def raw_batched(self, conn: Any, agent_id: str, start: int, n: int) -> None:
        insert = pg(AGENT_LOG_INSERT)
        for first in range(start, start + n, BATCH):
            now = now_iso()
            conn.execute("BEGIN")
            conn.cursor().executemany(
                insert,
                [log_params(agent_id, i, now) for i in range(first, min(first + BATCH, start + n))],
            )
            conn.execute("COMMIT")

    def cleanup(self) -> None:
        with pg_connect(self.admin) as conn:
            for dbname in self.created:
                conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        self.created.clear()


# -- 1. and 2. one event per transaction, batches -------------------------------------------


def api_single(db: OrchestratorDB, agent_id: str, start: int, n: int) -> None:
    for i in range(start, start + n):
        db.log_agent(agent_id, "tool_call", f"tool call {i}", details=details(i))


def api_batched(db: OrchestratorDB, agent_id: str, start: int, n: int) -> None:
    for first in range(start, start + n, BATCH):
        db.log_agent_batch(
            {
                "agent_id": agent_id,
                "log_type": "tool_call",
                "message": f"tool call {i}",
                "details": details(i),
            }
            for i in range(first, min(first + BATCH, start + n))
        )


Writer = Callable[[Any, str, int, int], None]


def side_by_side(
    backend: Backend, name: str, api: Writer, raw: Writer, rows: int, rounds: int
) -> tuple[float, float]:
    """Rows/s of both sides, alternating in `rounds` chunks so drift hits both alike."""
    api_target, api_agent = backend.fresh(f"{name}-api")
    raw_target, raw_agent = backend.fresh(f"{name}-raw")
    db = backend.open_api(api_target)
    conn = backend.raw(raw_target)
    warm = min(BATCH, rows)
    api(db, api_agent, -warm, warm)
    raw(conn, raw_agent, -warm, warm)
    chunk = max(rows // rounds, 1)
    api_time = raw_time = 0.0
    done = 0
    try:
        for r in range(rounds):
            n = chunk if r < rounds - 1 else rows - done
            sides: list[tuple[Writer, Any, str]] = [(api, db, api_agent), (raw, conn, raw_agent)]
            for writer, handle, agent in sides if r % 2 == 0 else reversed(sides):
                start = time.perf_counter()
                writer(handle, agent, done, n)
                elapsed = time.perf_counter() - start
                if writer is api:
                    api_time += elapsed
                else:
                    raw_time += elapsed
            done += n
    finally:
        db.close()
        conn.close()
    expected = rows + warm
    for target in (api_target, raw_target):
        (got,) = backend.query(target, "SELECT count(*) FROM agent_logs")
        if got != expected:
            raise SystemExit(f"{backend.name} {name}: {got} agent_logs rows, expected {expected}")
    return rows / api_time, rows / raw_time


# -- 3. concurrent writers ----------------------------------------------------------------


def writer_process(
    backend: str, mode: str, target: str, agent_id: str, per_proc: int, barrier: Any, results: Any
) -> None:
    """K single-row transactions: even i logs a line, odd i adds usage to the shared agent."""
    errors = 0
    first_error = ""
    if mode == "api":
        migrations = MIGRATIONS if backend == "sqlite" else PG_MIGRATIONS
        db = OrchestratorDB.open(target, migrations_dir=migrations)
        barrier.wait()
        start = time.perf_counter()
        for i in range(per_proc):
            try:
                if i % 2 == 0:
                    db.log_agent(agent_id, "tool_call", f"tool call {i}", details=details(i))
                else:
                    db.add_agent_usage(
                        agent_id,
                        cost_usd=COST_PER_CALL,
                        input_tokens=IN_TOKENS,
                        output_tokens=OUT_TOKENS,
                    )
            except Exception as exc:
                errors += 1
                first_error = first_error or repr(exc)
        end = time.perf_counter()
        db.close()
    else:
        # Like the API: one transaction per call; usage is an update, then the agent read back.
        # SQLite takes the write lock up front (BEGIN IMMEDIATE); PostgreSQL locks the row.
        if backend == "sqlite":
            conn: Any = raw_connect(Path(target))
            conn.row_factory = sqlite3.Row
            begin, insert, update, select = (
                "BEGIN IMMEDIATE",
                AGENT_LOG_INSERT,
                ADD_USAGE,
                SELECT_AGENT,
            )
            cost: Any = COST_PER_CALL
        else:
            from psycopg.rows import dict_row

            conn = pg_connect(target)
            conn.row_factory = dict_row
            begin, insert, update, select = (
                "BEGIN",
                pg(AGENT_LOG_INSERT),
                pg(ADD_USAGE),
                pg(SELECT_AGENT),
            )
            cost = Decimal(repr(COST_PER_CALL))
        barrier.wait()
        start = time.perf_counter()
        for i in range(per_proc):
            try:
                conn.execute(begin)
                if i % 2 == 0:
                    conn.execute(insert, log_params(agent_id, i, now_iso()))
                else:
                    conn.execute(update, (cost, IN_TOKENS, OUT_TOKENS, agent_id))
                    conn.execute(select, (agent_id,)).fetchone()
                conn.execute("COMMIT")
            except Exception as exc:
                errors += 1
                first_error = first_error or repr(exc)
                with contextlib.suppress(Exception):
                    conn.execute("ROLLBACK")
        end = time.perf_counter()
        conn.close()
    results.put((start, end, errors, first_error))


@dataclass(frozen=True)
class Concurrent:
    rows_per_s: float
    lost: int
    errors: int
    cost: Decimal
    expected_cost: Decimal
    exact: bool
    check: str  # how the cost was compared
    first_error: str


def concurrent(backend: Backend, mode: str, procs: int, per_proc: int) -> Concurrent:
    target, agent_id = backend.fresh(f"concurrent-{mode}")
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(procs)
    results = ctx.Queue()
    workers = [
        ctx.Process(
            target=writer_process,
            args=(backend.name, mode, target, agent_id, per_proc, barrier, results),
        )
        for _ in range(procs)
    ]
    for w in workers:
        w.start()
    reports = [results.get(timeout=600) for _ in workers]
    for w in workers:
        w.join()
    # perf_counter is CLOCK_MONOTONIC on Linux: one clock for all processes.
    wall = max(r[1] for r in reports) - min(r[0] for r in reports)
    errors = sum(r[2] for r in reports)
    first_error = next((r[3] for r in reports if r[3]), "")
    logs_expected = procs * ((per_proc + 1) // 2)
    usage_expected = procs * (per_proc // 2)
    (logs,) = backend.query(target, "SELECT count(*) FROM agent_logs")
    cost, tokens = backend.query(target, "SELECT total_cost_usd, input_tokens FROM agents")
    lost = (logs_expected - logs) + (usage_expected - tokens // IN_TOKENS)
    expected = usage_expected * Decimal(repr(COST_PER_CALL))
    if isinstance(cost, Decimal):  # PostgreSQL numeric: exact
        exact, check = cost == expected, "exact" if cost == expected else "WRONG"
    else:  # SQLite REAL: a float sum, right to its rounding
        exact = abs(cost - float(expected)) < 1e-6
        check = "float, within 1e-6" if exact else "WRONG"
        cost = Decimal(repr(cost))
    return Concurrent(
        rows_per_s=procs * per_proc / wall,
        lost=lost,
        errors=errors,
        cost=cost,
        expected_cost=expected,
        exact=exact,
        check=check,
        first_error=first_error,
    )


# -- 4. cost rollup over many prompts -----------------------------------------------------


def build_sqlite_prompts(
    path: Path, sessions: int, agents_per: int, prompts_per: int, migrations: Path = MIGRATIONS
) -> None:
    """Fill a migrated database with sessions x agents x prompts rows by INSERT ... SELECT."""
    OrchestratorDB.open(path, migrations_dir=migrations).close()
    conn = raw_connect(path)
    conn.execute("PRAGMA cache_size = -524288")  # 512 MB: the build is random-key inserts
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO orchestrator_agents (id, name, agent_type) "
        "VALUES ('orch-bench', 'bench-builder', 'builder')"
    )
    conn.execute(
        "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?1), "
        "k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j + 1 < ?2) "
        "INSERT INTO agents (id, orchestrator_agent_id, session_id, name, status, model, "
        "input_tokens, output_tokens, total_cost_usd, created_at, started_at, completed_at) "
        "SELECT lower(hex(randomblob(16))), 'orch-bench', printf('session-%05d', i), "
        "printf('agent-%d', j), 'completed', 'sonnet', 0, 0, 0, "
        "'2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-01T00:10:00.000Z' "
        "FROM s, k",
        (sessions, agents_per),
    )
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) "
        "INSERT INTO prompts (id, agent_id, prompt_text, response_text, model, status, "
        "input_tokens, output_tokens, cost_usd, latency_ms, created_at, completed_at) "
        "SELECT lower(hex(randomblob(16))), a.id, 'implement step ' || n.i, 'done', "
        "CASE abs(random()) % 6 WHEN 5 THEN NULL ELSE "
        "json_extract(?2, '$[' || (abs(random()) % 5) || ']') END, 'completed', "
        "1000 + abs(random()) % 5000, 100 + abs(random()) % 2000, "
        "(abs(random()) % 100000) / 1000000.0, 500 + abs(random()) % 30000, "
        "printf('2026-01-%02dT10:00:00.000Z', 1 + n.i % 28), "
        "printf('2026-01-%02dT10:00:05.000Z', 1 + n.i % 28) "
        "FROM agents a, n",
        (prompts_per, json.dumps(MODELS)),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    os.sync()  # else the kernel's writeback of the new file stalls the first timed calls


def build_pg_prompts(
    url: str, sessions: int, agents_per: int, prompts_per: int, migrations: Path = PG_MIGRATIONS
) -> None:
    """The same rows on PostgreSQL with generate_series, then VACUUM ANALYZE (index-only
    scans need the visibility map) and a CHECKPOINT (none may start during the timing)."""
    OrchestratorDB.open(url, migrations_dir=migrations).close()
    with pg_connect(url) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO orchestrator_agents (id, name, agent_type) "
            "VALUES (gen_random_uuid(), 'bench-builder', 'builder')"
        )
        conn.execute(
            "INSERT INTO agents (id, orchestrator_agent_id, session_id, name, status, model, "
            "input_tokens, output_tokens, total_cost_usd, created_at, started_at, completed_at) "
            "SELECT gen_random_uuid(), o.id, 'session-' || lpad(s::text, 5, '0'), "
            "'agent-' || k, 'completed', 'sonnet', 0, 0, 0, "
            "'2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-01T00:10:00.000Z' "
            "FROM orchestrator_agents o, generate_series(0, %s - 1) s, "
            "generate_series(0, %s - 1) k",
            (sessions, agents_per),
        )
        conn.execute(
            "INSERT INTO prompts (id, agent_id, prompt_text, response_text, model, status, "
            "input_tokens, output_tokens, cost_usd, latency_ms, created_at, completed_at) "
            "SELECT gen_random_uuid(), a.id, 'implement step ' || n, 'done', "
            "CASE WHEN random() < 1.0 / 6 THEN NULL "
            "ELSE (%s::text[])[1 + floor(random() * 5)::int] END, 'completed', "
            "1000 + floor(random() * 5000)::int, 100 + floor(random() * 2000)::int, "
            "floor(random() * 100000)::numeric / 1000000, 500 + floor(random() * 30000)::int, "
            "timestamptz '2026-01-01 10:00:00+00' + (n %% 28) * interval '1 day', "
            "timestamptz '2026-01-01 10:00:05+00' + (n %% 28) * interval '1 day' "
            "FROM agents a, generate_series(0, %s - 1) n",
            (list(MODELS), prompts_per),
        )
        conn.execute("COMMIT")
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def rollup_latency(
    backend: Backend, target: str, sessions: int, calls: int
) -> tuple[list[float], list[float], str, int]:
    db = backend.open_api(target)
    conn = backend.raw(target)
    rng = random.Random(42)
    picks = [f"session-{rng.randrange(sessions):05d}" for _ in range(calls)]
    if backend.name == "sqlite":
        sql = ROLLUP_SQL
        plan = " / ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, (picks[0],)))
    else:
        sql = PG_ROLLUP_SQL
        plan = " / ".join(
            row[0].strip().removeprefix("->  ")
            for row in conn.execute("EXPLAIN (COSTS OFF) " + sql, (picks[0],))
        )
    for session in picks[:10]:  # warm-up
        db.rollup("model", session_id=session)
        conn.execute(sql, (session,)).fetchall()
    api_ms: list[float] = []
    raw_ms: list[float] = []
    groups = 0
    for i, session in enumerate(picks):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for side in order:
            start = time.perf_counter()
            if side == 0:
                groups += len(db.rollup("model", session_id=session))
                api_ms.append((time.perf_counter() - start) * 1000)
            else:
                conn.execute(sql, (session,)).fetchall()
                raw_ms.append((time.perf_counter() - start) * 1000)
    db.close()
    conn.close()
    return api_ms, raw_ms, plan, groups


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


# -- profiling ------------------------------------------------------------------------------


def profile(label: str, action: Callable[[], object], top: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    action()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    print(f"\n--- cProfile: {label} (sorted by own time, top {top}) ---")
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    total = next((line.strip() for line in lines if "function calls" in line), "")
    print(total)
    print("\n".join(line for line in lines[start:] if line.strip()))


def run_profiles(backend: Backend, rows: int, rollup_db: str, sessions: int) -> None:
    target, agent = backend.fresh("profile")
    with backend.open_api(target) as db:
        profile(
            f"{backend.name}: log_agent, one per transaction",
            lambda: api_single(db, agent, 0, rows),
            18,
        )
        profile(
            f"{backend.name}: log_agent_batch, 1,000 per batch",
            lambda: api_batched(db, agent, rows, rows * 5),
            18,
        )
    with backend.open_api(rollup_db) as db:

        def rollups() -> None:
            for i in range(200):
                db.rollup("model", session_id=f"session-{i % sessions:05d}")

        profile(f"{backend.name}: rollup('model', session_id=...), 200 calls", rollups, 18)


# -- PostgreSQL server ------------------------------------------------------------------------


def start_postgres(url: str | None) -> tuple[PgServer, str, str]:
    """(server, admin database, description); raises RuntimeError with the reason to skip."""
    try:
        import psycopg
    except ImportError:
        raise RuntimeError("psycopg 3 is not installed (pip install 'psycopg[binary]')") from None
    sys.path.insert(0, str(REPO))
    from tests.pg_server import PgServer, PostgresUnavailable, start_server

    if url:
        server = PgServer(dsn=url)
        info = psycopg.conninfo.conninfo_to_dict(url)
        admin = str(info.get("dbname") or info.get("user") or "postgres")
        origin = "given server"
    else:
        try:
            server = start_server(fsync=True, extra_options=PG_SETTINGS)
        except PostgresUnavailable as exc:
            raise RuntimeError(str(exc)) from None
        admin = "postgres"
        origin = f"throwaway server in {server.directory}, unix socket"
    try:
        with psycopg.connect(server.conninfo(admin), autocommit=True) as conn:
            settings = {
                name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers")
            }
    except psycopg.Error as exc:
        server.stop()
        raise RuntimeError(f"cannot connect: {str(exc).strip().splitlines()[0]}") from None
    description = (
        f"PostgreSQL {settings['server_version'].split()[0]} ({origin}): "
        f"fsync={settings['fsync']}, synchronous_commit={settings['synchronous_commit']}, "
        f"shared_buffers={settings['shared_buffers']}"
    )
    return server, admin, description


# -- main ---------------------------------------------------------------------------------


def table(rows: list[Row]) -> Iterator[str]:
    header = ("case", "backend", "API", "raw driver", "API/raw", "target", "result")
    cells = [
        header,
        *(
            (r.case, r.backend, r.api, r.raw, r.ratio, r.target, "pass" if r.passed else "FAIL")
            for r in rows
        ),
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for n, c in enumerate(cells):
        yield "  ".join(
            (v.ljust(w) if i in (0, 1, 5, 6) else v.rjust(w))
            for i, (v, w) in enumerate(zip(c, widths, strict=True))
        )
        if n == 0:
            yield "  ".join("-" * w for w in widths)


def concurrent_table(
    procs: int, per_proc: int, runs: dict[str, tuple[Concurrent, Concurrent | None]]
) -> Iterator[str]:
    yield f"3. {procs} processes x {per_proc:,} single-row transactions each, side by side:"
    header = ("backend", "API", "raw", "API/raw", "lost", "errors", "API's summed cost")
    cells = [header]
    for name, (api, raw) in runs.items():
        cells.append(
            (
                name,
                rate(api.rows_per_s),
                rate(raw.rows_per_s) if raw else "-",
                f"{api.rows_per_s / raw.rows_per_s:.2f}x" if raw else "-",
                f"{api.lost}" + (f" / {raw.lost}" if raw else ""),
                f"{api.errors}" + (f" / {raw.errors}" if raw else ""),
                f"{api.cost} (expected {api.expected_cost}: {api.check})",
            )
        )
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for n, c in enumerate(cells):
        yield "   " + "  ".join(
            (v.ljust(w) if i in (0, 6) else v.rjust(w))
            for i, (v, w) in enumerate(zip(c, widths, strict=True))
        )
        if n == 0:
            yield "   " + "  ".join("-" * w for w in widths)
    yield "   (lost and errors: API / raw)"


@dataclass
class Run:
    backend: Backend
    conc: tuple[Concurrent, Concurrent | None] | None = None
    rollup_db: str = ""
    rows: list[Row] = field(default_factory=list)
    compared: list[totals.Compared] = field(default_factory=list)


def run_cases(args: argparse.Namespace, run: Run, sizes: dict[str, int]) -> None:
    backend, name = run.backend, run.backend.name
    raw_label = backend.raw_label
    rows, batch_rows, per_proc = sizes["rows"], sizes["batch_rows"], sizes["per_proc"]

    api, raw = side_by_side(backend, "single", api_single, backend.raw_single, rows, args.rounds)
    print(
        f"{name}: 1. {rows:,} rows, one per transaction: API {api:,.0f}/s, {raw_label} {raw:,.0f}/s"
    )
    run.rows.append(
        Row(
            name,
            "1 log_agent, 1 row/txn",
            rate(api),
            rate(raw),
            f"{api / raw:.2f}x",
            ">= 0.70x",
            api / raw >= 0.7,
        )
    )

    api, raw = side_by_side(
        backend, "batch", api_batched, backend.raw_batched, batch_rows, args.rounds
    )
    print(
        f"{name}: 2. {batch_rows:,} rows, {BATCH:,} per batch: API {api:,.0f}/s, "
        f"{raw_label} {raw:,.0f}/s"
    )
    run.rows.append(
        Row(
            name,
            "2 log_agent_batch x1000",
            rate(api),
            rate(raw),
            f"{api / raw:.2f}x",
            ">= 0.80x",
            api / raw >= 0.8,
        )
    )

    conc_api = concurrent(backend, "api", args.procs, per_proc)
    conc_raw = None if args.no_raw_concurrent else concurrent(backend, "raw", args.procs, per_proc)
    run.conc = (conc_api, conc_raw)
    for label, c in (("API", conc_api), (raw_label, conc_raw)):
        if c is None:
            continue
        print(
            f"{name}: 3. {args.procs} processes x {per_proc:,} txns ({label}): "
            f"{c.rows_per_s:,.0f} rows/s, lost {c.lost}, errors {c.errors}, cost {c.cost} "
            f"(expected {c.expected_cost})" + (f"; {c.first_error}" if c.first_error else "")
        )
    run.rows.append(
        Row(
            name,
            f"3 {args.procs} procs, 1 row/txn",
            rate(conc_api.rows_per_s),
            rate(conc_raw.rows_per_s) if conc_raw else "-",
            f"{conc_api.rows_per_s / conc_raw.rows_per_s:.2f}x" if conc_raw else "-",
            "0 lost/errors, cost exact",
            conc_api.lost == 0 and conc_api.errors == 0 and conc_api.exact,
        )
    )

    run_prompt_cases(args, run, sizes)


def run_prompt_cases(args: argparse.Namespace, run: Run, sizes: dict[str, int]) -> None:
    """Cases 4-6 on 1,000,000 prompts (by default): built once at schema 003, copied, and
    the copy migrated to 004, so both sides hold the same rows."""
    backend, name = run.backend, run.backend.name
    sessions, calls = sizes["sessions"], sizes["calls"]
    agents_per, prompts_per = 5, 100
    raw_label = backend.raw_label
    total = sessions * agents_per * prompts_per
    # Built at schema 003 (no prompt_totals: case 5's "before"), then a copy migrated to 004.
    before_dir = totals.migrations_before(backend.migrations, backend.root, name)
    old_target = backend.create("rollup-003")
    start = time.perf_counter()
    if name == "sqlite":
        build_sqlite_prompts(Path(old_target), sessions, agents_per, prompts_per, before_dir)
        size_mb = Path(old_target).stat().st_size / 1e6
    else:
        build_pg_prompts(old_target, sessions, agents_per, prompts_per, before_dir)
        (size,) = backend.query(old_target, "SELECT pg_database_size(current_database())")
        size_mb = size / 1e6
    build_s = time.perf_counter() - start
    target = backend.clone(old_target, "rollup")
    os.sync()
    start = time.perf_counter()
    backend.open_api(target).close()  # applies 004: creates and fills prompt_totals
    migrate_s = time.perf_counter() - start
    run.rollup_db = target
    print(
        f"{name}: 4. built {total:,} prompts ({sessions:,} sessions x {agents_per} agents x "
        f"{prompts_per}) in {build_s:.1f} s, {size_mb:.0f} MB; migration 004 on a copy "
        f"(fills prompt_totals) {migrate_s:.1f} s"
    )
    api_ms, raw_ms, plan, groups = rollup_latency(backend, target, sessions, calls)
    api_med, raw_med = statistics.median(api_ms), statistics.median(raw_ms)
    print(f"   plan: {plan}")
    print(
        f"   {calls} rollups ({groups / calls:.1f} groups each): API median {api_med:.3f} "
        f"ms p95 {p95(api_ms):.3f} ms; {raw_label} median {raw_med:.3f} ms "
        f"p95 {p95(raw_ms):.3f} ms"
    )
    run.rows.append(
        Row(
            name,
            f"4 rollup model, {total // 1000:,}k prompts",
            f"{api_med:.3f} ms (p95 {p95(api_ms):.2f})",
            f"{raw_med:.3f} ms (p95 {p95(raw_ms):.2f})",
            f"{raw_med / api_med:.2f}x",
            "median < 2 ms",
            api_med < 2.0,
        )
    )

    with backend.open_with(old_target, before_dir) as before, backend.open_api(target) as after:
        run.compared += totals.whole_database_rollups(
            before, after, name, total, sizes["whole_calls"]
        )
    run.compared.append(
        totals.write_cost(
            backend.open_with,
            backend,
            (before_dir, backend.migrations),
            sizes["write_prompts"],
            args.write_rounds,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="about 1/10 of every size")
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated: sqlite, postgresql (default both; PostgreSQL is skipped, with "
        "the reason, when no server can be started)",
    )
    parser.add_argument(
        "--postgres-url",
        help="an existing server (its user needs CREATEDB) instead of a throwaway one",
    )
    parser.add_argument("--rows", type=int, help="case 1 rows (default 20,000)")
    parser.add_argument("--batch-rows", type=int, help="case 2 rows (default 200,000)")
    parser.add_argument("--procs", type=int, default=8, help="case 3 processes (default 8)")
    parser.add_argument("--per-proc", type=int, help="case 3 rows per process (default 2,500)")
    parser.add_argument("--sessions", type=int, help="case 4 sessions (default 2,000)")
    parser.add_argument("--calls", type=int, help="case 4 rollup calls (default 200)")
    parser.add_argument("--rounds", type=int, default=20, help="alternations in cases 1-2")
    parser.add_argument(
        "--whole-calls", type=int, help="case 5 calls per rollup and side (default 20)"
    )
    parser.add_argument(
        "--write-prompts", type=int, help="case 6 prompts per round and side (default 200)"
    )
    parser.add_argument("--write-rounds", type=int, default=10, help="alternations in case 6")
    parser.add_argument("--no-raw-concurrent", action="store_true", help="skip raw case 3")
    parser.add_argument("--profile", action="store_true", help="cProfile the API side after")
    args = parser.parse_args()
    wanted = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(set(wanted) - set(BACKENDS))
    if unknown or not wanted:
        parser.error(f"--backends: unknown {', '.join(unknown) or '(none given)'}")
    scale = 10 if args.quick else 1
    sizes = {
        "rows": args.rows or 20_000 // scale,
        "batch_rows": args.batch_rows or 200_000 // scale,
        "per_proc": args.per_proc or 2_500 // scale,
        "sessions": args.sessions or 2_000 // scale,
        "calls": args.calls or 200 // (2 if args.quick else 1),
        "whole_calls": args.whole_calls or 20,
        "write_prompts": args.write_prompts or 200 // (4 if args.quick else 1),
    }
    began = time.perf_counter()
    print(f"sqlite {sqlite3.sqlite_version}, migrations {MIGRATIONS}")

    with tempfile.TemporaryDirectory(prefix="bench-db-") as tmp:
        root = Path(tmp)
        runs: list[Run] = []
        server: PgServer | None = None
        skipped = ""
        if "sqlite" in wanted:
            runs.append(Run(Backend(root)))
        if "postgresql" in wanted:
            try:
                server, admin, description = start_postgres(args.postgres_url)
            except RuntimeError as exc:
                skipped = str(exc).strip().splitlines()[0]
                print(f"PostgreSQL: skipped ({skipped})")
            else:
                print(description)
                runs.append(Run(Postgres(root, server, admin)))
        try:
            for run in runs:
                run_cases(args, run, sizes)
            print()
            concurrent_runs = {r.backend.name: r.conc for r in runs if r.conc is not None}
            for line in concurrent_table(args.procs, sizes["per_proc"], concurrent_runs):
                print(line)
            print()
            results = sorted((row for run in runs for row in run.rows), key=lambda r: r.case[0])
            for line in table(results):
                print(line)
            print()
            for line in totals.compared_table([row for run in runs for row in run.compared]):
                print(line)
            if skipped:
                print(f"PostgreSQL: skipped ({skipped})")
            print(
                "(API/raw = API speed / raw driver speed, for case 4 raw median / API median; "
                f"whole script {time.perf_counter() - began:.1f} s)"
            )
            if args.profile:
                for run in runs:
                    run_profiles(run.backend, sizes["rows"] // 4, run.rollup_db, sizes["sessions"])
        finally:
            for run in runs:
                run.backend.cleanup()
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
