"""Orchestrator database: OrchestratorDB against plain sqlite3 on the same schema and pragmas.

Run: .venv/bin/python bench/bench_database.py [--quick] [--profile]
Every case runs both sides in one run, on real database files in a temporary directory, each
created by OrchestratorDB.open (same migrations); the raw side opens its own sqlite3
connection with the runtime's pragmas (WAL, synchronous=NORMAL, foreign_keys=ON,
busy_timeout). Ratios are API speed / raw speed, so 1.00 means no overhead. Both sides use
the runtime's time-ordered ids (new_id), so the ratio measures the API's own overhead; random
uuid4 keys would slow the raw side down as the table grows and flatter the API.

1. one agent log line per transaction (db.log_agent vs INSERT + COMMIT)
2. batched agent logs, 1,000 per transaction (db.log_agent_batch vs executemany)
3. 8 processes writing single-row transactions at once (log_agent + add_agent_usage on one
   shared agent); nothing may be lost and no call may fail
4. cost rollup by model of one session in a 1,000,000-prompt database
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing as mp
import os
import pstats
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_operations import new_id

MIGRATIONS = Path(__file__).resolve().parent.parent / "adws" / "schema" / "migrations"
BUSY_TIMEOUT_MS = 30_000
BATCH = 1_000
COST_PER_CALL = 0.001
IN_TOKENS, OUT_TOKENS = 10, 5
AGENT_LOG_INSERT = (
    "INSERT INTO agent_logs (id, agent_id, log_type, log_level, message, details, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
ROLLUP_SQL = (
    "SELECT coalesce(p.model, 'unknown') AS key, count(*) AS prompts, "
    "sum(p.input_tokens) AS input_tokens, sum(p.output_tokens) AS output_tokens, "
    "sum(p.cost_usd) AS cost_usd "
    "FROM agents a JOIN prompts p ON p.agent_id = a.id WHERE a.session_id = ? "
    "GROUP BY 1 ORDER BY cost_usd DESC, key"
)
MODELS = ("sonnet", "opus", "haiku", "sonnet-4.5", "gpt-5")


@dataclass(frozen=True)
class Row:
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


def fresh_db(root: Path, name: str) -> tuple[Path, str]:
    """A migrated database file holding one running agent; returns (path, agent id)."""
    path = root / f"{name}.db"
    with OrchestratorDB.open(path, migrations_dir=MIGRATIONS) as db:
        db.register_orchestrator_agent("bench-builder", "builder")
        agent = db.start_agent("bench-builder", session_id=f"s-{name}", model="sonnet")
    return path, agent.id


def details(i: int) -> dict[str, Any]:
    return {"tool": "Bash", "call": i, "ok": True}


def count(path: Path, sql: str) -> Any:
    conn = raw_connect(path)
    try:
        return conn.execute(sql).fetchone()
    finally:
        conn.close()


def rate(rows_per_s: float) -> str:
    return f"{rows_per_s:,.0f} rows/s"


# -- 1. one event per transaction ---------------------------------------------------------


def api_single(db: OrchestratorDB, agent_id: str, start: int, n: int) -> None:
    for i in range(start, start + n):
        db.log_agent(agent_id, "tool_call", f"tool call {i}", details=details(i))


def raw_single(conn: sqlite3.Connection, agent_id: str, start: int, n: int) -> None:
    for i in range(start, start + n):
        conn.execute("BEGIN")
        conn.execute(
            AGENT_LOG_INSERT,
            (
                new_id(),
                agent_id,
                "tool_call",
                "INFO",
                f"tool call {i}",
                json.dumps(details(i)),
                now_iso(),
            ),
        )
        conn.execute("COMMIT")


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


def raw_batched(conn: sqlite3.Connection, agent_id: str, start: int, n: int) -> None:
    for first in range(start, start + n, BATCH):
        now = now_iso()
        conn.execute("BEGIN")
        conn.executemany(
            AGENT_LOG_INSERT,
            [
                (
                    new_id(),
                    agent_id,
                    "tool_call",
                    "INFO",
                    f"tool call {i}",
                    json.dumps(details(i)),
                    now,
                )
                for i in range(first, min(first + BATCH, start + n))
            ],
        )
        conn.execute("COMMIT")


Writer = Callable[[Any, str, int, int], None]


def side_by_side(
    root: Path, name: str, api: Writer, raw: Writer, rows: int, rounds: int
) -> tuple[float, float]:
    """Rows/s of both sides, alternating in `rounds` chunks so drift hits both alike."""
    api_path, api_agent = fresh_db(root, f"{name}-api")
    raw_path, raw_agent = fresh_db(root, f"{name}-raw")
    db = OrchestratorDB.open(api_path, migrations_dir=MIGRATIONS)
    conn = raw_connect(raw_path)
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
    for path in (api_path, raw_path):
        (got,) = count(path, "SELECT count(*) FROM agent_logs")
        if got != expected:
            raise SystemExit(f"{path.name}: {got} agent_logs rows, expected {expected}")
    return rows / api_time, rows / raw_time


# -- 3. concurrent writers ----------------------------------------------------------------


def writer_process(
    mode: str, path: str, agent_id: str, per_proc: int, barrier: Any, results: Any
) -> None:
    """K single-row transactions: even i logs a line, odd i adds usage to the shared agent."""
    errors = 0
    first_error = ""
    if mode == "api":
        db = OrchestratorDB.open(Path(path), migrations_dir=MIGRATIONS)
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
        conn = raw_connect(Path(path))
        conn.row_factory = sqlite3.Row
        barrier.wait()
        start = time.perf_counter()
        for i in range(per_proc):
            try:
                conn.execute("BEGIN IMMEDIATE")
                if i % 2 == 0:
                    conn.execute(
                        AGENT_LOG_INSERT,
                        (
                            new_id(),
                            agent_id,
                            "tool_call",
                            "INFO",
                            f"tool call {i}",
                            json.dumps(details(i)),
                            now_iso(),
                        ),
                    )
                else:  # like add_agent_usage: update, then read the agent back
                    conn.execute(
                        "UPDATE agents SET total_cost_usd = total_cost_usd + ?, "
                        "input_tokens = input_tokens + ?, output_tokens = output_tokens + ? "
                        "WHERE id = ?",
                        (COST_PER_CALL, IN_TOKENS, OUT_TOKENS, agent_id),
                    )
                    conn.execute("SELECT * FROM agents WHERE id = ?", (agent_id,)).fetchone()
                conn.execute("COMMIT")
            except Exception as exc:
                errors += 1
                first_error = first_error or repr(exc)
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        end = time.perf_counter()
        conn.close()
    results.put((start, end, errors, first_error))


@dataclass(frozen=True)
class Concurrent:
    rows_per_s: float
    lost: int
    errors: int
    cost: float
    expected_cost: float
    first_error: str


def concurrent(root: Path, mode: str, procs: int, per_proc: int) -> Concurrent:
    path, agent_id = fresh_db(root, f"concurrent-{mode}")
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(procs)
    results = ctx.Queue()
    workers = [
        ctx.Process(
            target=writer_process, args=(mode, str(path), agent_id, per_proc, barrier, results)
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
    (logs,) = count(path, "SELECT count(*) FROM agent_logs")
    cost, tokens = count(path, "SELECT total_cost_usd, input_tokens FROM agents")
    lost = (logs_expected - logs) + (usage_expected - tokens // IN_TOKENS)
    return Concurrent(
        rows_per_s=procs * per_proc / wall,
        lost=lost,
        errors=errors,
        cost=cost,
        expected_cost=usage_expected * COST_PER_CALL,
        first_error=first_error,
    )


# -- 4. cost rollup over many prompts -----------------------------------------------------


def build_prompts_db(path: Path, sessions: int, agents_per: int, prompts_per: int) -> None:
    """Fill a migrated database with sessions x agents x prompts rows by INSERT ... SELECT."""
    OrchestratorDB.open(path, migrations_dir=MIGRATIONS).close()
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


def rollup_latency(
    path: Path, sessions: int, calls: int
) -> tuple[list[float], list[float], str, int]:
    db = OrchestratorDB.open(path, migrations_dir=MIGRATIONS)
    conn = raw_connect(path)
    rng = random.Random(42)
    picks = [f"session-{rng.randrange(sessions):05d}" for _ in range(calls)]
    plan = " / ".join(
        row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + ROLLUP_SQL, (picks[0],))
    )
    for session in picks[:10]:  # warm-up
        db.rollup("model", session_id=session)
        conn.execute(ROLLUP_SQL, (session,)).fetchall()
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
                conn.execute(ROLLUP_SQL, (session,)).fetchall()
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


def run_profiles(root: Path, rows: int, rollup_db: Path, sessions: int) -> None:
    db_path, agent = fresh_db(root, "profile")
    with OrchestratorDB.open(db_path, migrations_dir=MIGRATIONS) as db:
        profile("log_agent, one per transaction", lambda: api_single(db, agent, 0, rows), 18)
        profile(
            "log_agent_batch, 1,000 per batch",
            lambda: api_batched(db, agent, rows, rows * 5),
            18,
        )
    with OrchestratorDB.open(rollup_db, migrations_dir=MIGRATIONS) as db:

        def rollups() -> None:
            for i in range(200):
                db.rollup("model", session_id=f"session-{i % sessions:05d}")

        profile("rollup('model', session_id=...), 200 calls", rollups, 18)


# -- main ---------------------------------------------------------------------------------


def table(rows: list[Row]) -> Iterator[str]:
    header = ("case", "API", "raw sqlite3", "API/raw", "target", "result")
    cells = [
        header,
        *((r.case, r.api, r.raw, r.ratio, r.target, "pass" if r.passed else "FAIL") for r in rows),
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for n, c in enumerate(cells):
        yield "  ".join(
            (v.ljust(w) if i in (0, 4, 5) else v.rjust(w))
            for i, (v, w) in enumerate(zip(c, widths, strict=True))
        )
        if n == 0:
            yield "  ".join("-" * w for w in widths)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="about 1/10 of every size")
    parser.add_argument("--rows", type=int, help="case 1 rows (default 20,000)")
    parser.add_argument("--batch-rows", type=int, help="case 2 rows (default 200,000)")
    parser.add_argument("--procs", type=int, default=8, help="case 3 processes (default 8)")
    parser.add_argument("--per-proc", type=int, help="case 3 rows per process (default 2,500)")
    parser.add_argument("--sessions", type=int, help="case 4 sessions (default 2,000)")
    parser.add_argument("--calls", type=int, help="case 4 rollup calls (default 200)")
    parser.add_argument("--rounds", type=int, default=20, help="alternations in cases 1-2")
    parser.add_argument("--no-raw-concurrent", action="store_true", help="skip raw case 3")
    parser.add_argument("--profile", action="store_true", help="cProfile the API side after")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    rows = args.rows or 20_000 // scale
    batch_rows = args.batch_rows or 200_000 // scale
    per_proc = args.per_proc or 2_500 // scale
    sessions = args.sessions or 2_000 // scale
    calls = args.calls or 200 // (2 if args.quick else 1)
    agents_per, prompts_per = 5, 100
    began = time.perf_counter()
    results: list[Row] = []
    print(f"sqlite {sqlite3.sqlite_version}, migrations {MIGRATIONS}")

    with tempfile.TemporaryDirectory(prefix="bench-db-") as tmp:
        root = Path(tmp)

        api, raw = side_by_side(root, "single", api_single, raw_single, rows, args.rounds)
        print(f"1. {rows:,} rows, one per transaction: API {api:,.0f}/s, raw {raw:,.0f}/s")
        results.append(
            Row(
                "1 log_agent, 1 row/txn",
                rate(api),
                rate(raw),
                f"{api / raw:.2f}x",
                ">= 0.70x",
                api / raw >= 0.7,
            )
        )

        api, raw = side_by_side(root, "batch", api_batched, raw_batched, batch_rows, args.rounds)
        print(f"2. {batch_rows:,} rows, {BATCH:,} per batch: API {api:,.0f}/s, raw {raw:,.0f}/s")
        results.append(
            Row(
                "2 log_agent_batch x1000",
                rate(api),
                rate(raw),
                f"{api / raw:.2f}x",
                ">= 0.80x",
                api / raw >= 0.8,
            )
        )

        conc_api = concurrent(root, "api", args.procs, per_proc)
        conc_raw = None if args.no_raw_concurrent else concurrent(root, "raw", args.procs, per_proc)
        for label, c in (("API", conc_api), ("raw", conc_raw)):
            if c is None:
                continue
            print(
                f"3. {args.procs} processes x {per_proc:,} txns ({label}): {c.rows_per_s:,.0f} "
                f"rows/s, lost {c.lost}, errors {c.errors}, cost {c.cost:.6f} "
                f"(expected {c.expected_cost:.6f})"
                + (f"; {c.first_error}" if c.first_error else "")
            )
        cost_ok = abs(conc_api.cost - conc_api.expected_cost) < 1e-6
        results.append(
            Row(
                f"3 {args.procs} procs, 1 row/txn",
                rate(conc_api.rows_per_s),
                rate(conc_raw.rows_per_s) if conc_raw else "-",
                f"{conc_api.rows_per_s / conc_raw.rows_per_s:.2f}x" if conc_raw else "-",
                "0 lost/errors, cost ok",
                conc_api.lost == 0 and conc_api.errors == 0 and cost_ok,
            )
        )

        big = root / "rollup.db"
        total = sessions * agents_per * prompts_per
        start = time.perf_counter()
        build_prompts_db(big, sessions, agents_per, prompts_per)
        build_s = time.perf_counter() - start
        os.sync()  # else the kernel's writeback of the new file stalls the first timed calls
        size_mb = big.stat().st_size / 1e6
        print(
            f"4. built {total:,} prompts ({sessions:,} sessions x {agents_per} agents x "
            f"{prompts_per}) in {build_s:.1f} s, {size_mb:.0f} MB"
        )
        api_ms, raw_ms, plan, groups = rollup_latency(big, sessions, calls)
        api_med, raw_med = statistics.median(api_ms), statistics.median(raw_ms)
        print(f"   plan: {plan}")
        print(
            f"   {calls} rollups ({groups / calls:.1f} groups each): API median {api_med:.3f} "
            f"ms p95 {p95(api_ms):.3f} ms; raw median {raw_med:.3f} ms p95 {p95(raw_ms):.3f} ms"
        )
        results.append(
            Row(
                f"4 rollup model, {total // 1000:,}k prompts",
                f"{api_med:.3f} ms (p95 {p95(api_ms):.2f})",
                f"{raw_med:.3f} ms (p95 {p95(raw_ms):.2f})",
                f"{raw_med / api_med:.2f}x",
                "median < 2 ms",
                api_med < 2.0,
            )
        )

        print()
        for line in table(results):
            print(line)
        print(
            "(API/raw = API speed / raw speed, for case 4 raw median / API median; "
            f"whole script {time.perf_counter() - began:.1f} s)"
        )

        if args.profile:
            run_profiles(root, rows // 4, big, sessions)


if __name__ == "__main__":
    main()
