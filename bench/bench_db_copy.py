"""`db copy` SQLite to SQLite against an ATTACH + INSERT ... SELECT copy (issue 12).

Run: .venv/bin/python bench/bench_db_copy.py [--prompts 200000] [--rounds 3] [--profile]

Builds one realistic SOURCE with the real runtime (migrated by OrchestratorDB.open, then
filled with fast raw INSERT ... SELECT statements and checkpointed): prompts over thousands
of agents, agent_logs, system_logs and session_usage. Then, N rounds interleaved (the order
rotates each round), each into a fresh DEST file:

  (a) `tac-bootstrap db copy SRC DEST` as a whole process
  (b) the same through the Python entry the CLI calls (database_copy.plan + copy_database)
  (c) raw sqlite3: DEST migrated by the runtime's migrations, ATTACH SRC, then
      `INSERT INTO main.t SELECT * FROM src.t` per table in one transaction
  (d) `cp` of the file (a floor)

Prints the medians and the ratios (a)/(c), (b)/(c). Every copy is verified: the same row
count and checksum per table as SOURCE, and prompt_totals equal to a full-scan aggregate.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tac_bootstrap.runtime import adw_db_operations as ops
from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_ops_shared import key_column

REPO = Path(__file__).resolve().parent.parent
CLI = REPO / ".venv" / "bin" / "tac-bootstrap"
MODELS = ["sonnet", "opus", "haiku", "claude-sonnet-4-5", "claude-opus-4-1"]
TARGET = 1.2


def make_project(root: Path) -> Path:
    """A generated project: `db copy` takes DEST's migrations from it."""
    result = subprocess.run(
        [str(CLI), "init", "bench", "-o", str(root), "--yes", "--no-git"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return root / "bench"


def build_source(path: Path, migrations: Path, prompts: int, agents: int) -> None:
    """Migrate with the runtime, then fill with raw set-based inserts, then checkpoint.

    As in a real database, an agent's prompts and logs are written while it runs: four agents
    at a time, each with its share of the rows, one after the other."""
    OrchestratorDB.open(path, migrations_dir=migrations).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA cache_size = -262144")
    agent = running_agent(prompts, agents)
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO orchestrator_agents (id, name, agent_type) VALUES "
        "('0190a000-0000-7000-8000-000000000001', 'bench-builder', 'builder')"
    )
    conn.execute(
        "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?1) "
        "INSERT INTO agents (id, orchestrator_agent_id, session_id, name, status, model, "
        "input_tokens, output_tokens, total_cost_usd, created_at, started_at, completed_at) "
        "SELECT printf('0190a001-%04x-7000-8000-%012x', i / 65536, i), "
        "'0190a000-0000-7000-8000-000000000001', printf('session-%05d', i / 4), "
        "printf('agent-%d', i), 'completed', 'sonnet', 10 * i, 5 * i, i / 1000.0, "
        "'2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-01T00:10:00.000Z' "
        "FROM s",
        (agents,),
    )
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) "
        "INSERT INTO prompts (id, agent_id, prompt_text, response_text, model, status, "
        "input_tokens, output_tokens, cache_read_tokens, cost_usd, latency_ms, created_at, "
        "completed_at) "
        "SELECT printf('0190b%03x-%04x-7000-8000-%012x', n.i / 65536 / 65536, "
        "n.i / 65536 % 65536, n.i), "
        f"printf('0190a001-%04x-7000-8000-%012x', {agent} / 65536, {agent}), "
        "'implement step ' || n.i || ' of the plan, with its context', 'done: ' || n.i, "
        "CASE n.i % 6 WHEN 5 THEN NULL ELSE json_extract(?3, '$[' || (n.i % 5) || ']') END, "
        "'completed', 1000 + n.i % 5000, 100 + n.i % 2000, n.i % 300, "
        "(n.i % 100000) / 1000000.0, 500 + n.i % 30000, "
        "printf('2026-01-%02dT10:00:00.000Z', 1 + n.i % 28), "
        "printf('2026-01-%02dT10:00:05.000Z', 1 + n.i % 28) FROM n",
        (prompts, agents, json.dumps(MODELS)),
    )
    _fill_logs_and_usage(conn, prompts, agents, agent)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def running_agent(prompts: int, agents: int, at_once: int = 4) -> str:
    """SQL for the number of the agent that wrote row n.i."""
    share = max(1, prompts // agents)
    return f"(((n.i / ({at_once} * {share})) * {at_once} + n.i % {at_once}) % ?2)"


def _fill_logs_and_usage(conn: sqlite3.Connection, prompts: int, agents: int, agent: str) -> None:
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) "
        "INSERT INTO agent_logs (id, agent_id, log_type, log_level, message, details, "
        "created_at) SELECT printf('0190c%03x-%04x-7000-8000-%012x', n.i / 65536 / 65536, "
        "n.i / 65536 % 65536, n.i), "
        f"printf('0190a001-%04x-7000-8000-%012x', {agent} / 65536, {agent}), "
        "'tool_call', 'INFO', 'call ' || n.i, json_object('n', n.i, 'tool', 'Bash'), "
        "'2026-01-02T10:00:00.000Z' FROM n",
        (prompts, agents),
    )
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) "
        "INSERT INTO system_logs (id, log_level, component, message, details, created_at) "
        "SELECT printf('0190d000-%04x-7000-8000-%012x', n.i / 65536, n.i), 'INFO', 'cli', "
        "'event ' || n.i, '{}', '2026-01-02T11:00:00.000Z' FROM n",
        (prompts // 20,),
    )
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) "
        "INSERT INTO session_usage (id, session_id, agent_id, message_id, request_id, model, "
        "input_tokens, output_tokens, cost_usd, message_at, created_at) "
        "SELECT printf('0190e000-%04x-7000-8000-%012x', n.i / 65536, n.i), "
        "printf('session-%05d', n.i % 500), NULL, 'msg-' || n.i, 'req-' || n.i, 'sonnet', "
        "100 + n.i % 50, 20, 0.0001 * (n.i % 7), '2026-01-03T10:00:00.000Z', "
        "'2026-01-03T10:00:00.000Z' FROM n",
        (prompts // 10,),
    )


# -- the four ways to copy ------------------------------------------------------------------


BATCH_SIZE = [1000]  # --batch-size, for (a) and (b)


def copy_process(project: Path, source: Path, dest: Path) -> None:
    argv = [str(CLI), "db", "copy", str(source), str(dest), "--project", str(project)]
    argv += ["--batch-size", str(BATCH_SIZE[0])]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def copy_python(project: Path, source: Path, dest: Path) -> None:
    from tac_bootstrap.application import database_copy

    copy_plan = database_copy.plan(str(source), str(dest), project)
    report = database_copy.copy_database(copy_plan, batch_size=BATCH_SIZE[0])
    assert not report.problems, report.problems


def copy_attach(migrations: Path, source: Path, dest: Path) -> None:
    """What a user would write by hand: the same schema, one INSERT ... SELECT per table."""
    OrchestratorDB.open(dest, migrations_dir=migrations).close()
    conn = sqlite3.connect(dest, isolation_level=None)
    conn.execute("ATTACH DATABASE ? AS src", (str(source),))
    conn.execute("BEGIN")
    for table in ops.TABLES:
        conn.execute(f"INSERT INTO main.{table} SELECT * FROM src.{table}")
    conn.execute("COMMIT")
    conn.close()


def copy_file(source: Path, dest: Path) -> None:
    shutil.copyfile(source, dest)


# -- verification ---------------------------------------------------------------------------


def fingerprint(path: Path) -> dict[str, tuple[int, str]]:
    """Per table: rows and a SHA-256 of every value (logs in insertion order, others by key)."""
    conn = sqlite3.connect(path)
    found: dict[str, tuple[int, str]] = {}
    for table in ops.TABLES:
        order = "rowid" if table in ("agent_logs", "system_logs") else key_column(table)
        digest = hashlib.sha256()
        count = 0
        for row in conn.execute(
            f"SELECT {', '.join(ops.COLUMNS[table])} FROM {table} ORDER BY {order}"
        ):
            digest.update(repr(row).encode())
            count += 1
        found[table] = (count, digest.hexdigest())
    conn.close()
    return found


def totals_match_a_scan(path: Path) -> bool:
    conn = sqlite3.connect(path)
    kept = sorted(
        conn.execute(
            "SELECT dimension, key, prompts, input_tokens, output_tokens, "
            "cache_creation_tokens, cache_read_tokens, round(cost_usd, 6) FROM prompt_totals"
        )
    )
    scanned = sorted(
        conn.execute(
            "SELECT 'agent', agent_id, count(*), sum(input_tokens), sum(output_tokens), "
            "sum(cache_creation_tokens), sum(cache_read_tokens), round(sum(cost_usd), 6) "
            "FROM prompts GROUP BY agent_id UNION ALL "
            "SELECT 'day', substr(created_at, 1, 10), count(*), sum(input_tokens), "
            "sum(output_tokens), sum(cache_creation_tokens), sum(cache_read_tokens), "
            "round(sum(cost_usd), 6) FROM prompts GROUP BY 2 UNION ALL "
            "SELECT 'model', coalesce(model, 'unknown'), count(*), sum(input_tokens), "
            "sum(output_tokens), sum(cache_creation_tokens), sum(cache_read_tokens), "
            "round(sum(cost_usd), 6) FROM prompts GROUP BY 2"
        )
    )
    conn.close()
    return kept == scanned


def remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def profile_copy(project: Path, source: Path, dest: Path, top: int = 25) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    copy_python(project, source, dest)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=200_000)
    parser.add_argument("--agents", type=int, default=4_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--batch-size", type=int, default=10_000, help="db copy --batch-size (its default)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile (b) once and stop")
    args = parser.parse_args()
    BATCH_SIZE[0] = args.batch_size
    with tempfile.TemporaryDirectory(prefix="tac-copy-bench-") as tmp:
        root = Path(tmp)
        project = make_project(root)
        migrations = project / "adws" / "schema" / "migrations"
        source = root / "source.db"
        build = timed(lambda: build_source(source, migrations, args.prompts, args.agents))
        expected = fingerprint(source)
        rows = sum(n for n, _ in expected.values())
        size = source.stat().st_size / 1e6
        print(
            f"SOURCE: {rows:,} rows ({args.prompts:,} prompts), {size:.1f} MB, built in "
            f"{build:.1f} s"
        )
        if args.profile:
            profile_copy(project, source, root / "profiled.db")
            return
        ways: dict[str, Callable[[Path], None]] = {
            "(a) tac-bootstrap db copy (process)": lambda d: copy_process(project, source, d),
            "(b) database_copy.copy_database": lambda d: copy_python(project, source, d),
            "(c) ATTACH + INSERT ... SELECT": lambda d: copy_attach(migrations, source, d),
            "(d) cp": lambda d: copy_file(source, d),
        }
        times: dict[str, list[float]] = {name: [] for name in ways}
        names = list(ways)
        for round_number in range(args.rounds):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                dest = root / f"dest-{round_number}-{names.index(name)}.db"
                times[name].append(timed(lambda: ways[name](dest)))  # noqa: B023
                assert fingerprint(dest) == expected, f"{name}: rows differ"
                if not name.startswith("(d)"):
                    assert totals_match_a_scan(dest), f"{name}: prompt_totals differ"
                remove(dest)
        medians = {name: statistics.median(values) for name, values in times.items()}
        for name, value in medians.items():
            spread = ", ".join(f"{v:.2f}" for v in times[name])
            print(f"  {name:<38} {value:7.2f} s   ({spread})")
        attach = medians["(c) ATTACH + INSERT ... SELECT"]
        for label in ("(a)", "(b)"):
            name = next(n for n in names if n.startswith(label))
            ratio = medians[name] / attach
            verdict = "pass" if ratio <= TARGET else "FAIL"
            print(f"  {label}/(c) = {ratio:.2f}x   target <= {TARGET}x   {verdict}")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
