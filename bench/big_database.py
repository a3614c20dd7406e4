"""A realistic orchestrator database with 1,000,000 prompts, built in about a minute, for
bench_dashboard.py and bench_statusline.py.

Migrated by the real runtime (OrchestratorDB.open: every migration, every index), then filled
by set-based INSERT ... SELECT statements over recursive CTEs in one transaction, with the
prompt_totals triggers dropped meanwhile (three upserts per prompt would triple the build)
and the rollup then filled at once by migration 004's own backfill, the triggers put back
exactly as the schema wrote them. What it holds, scaled by --prompts:

- runs: one per 100 prompts, over the last 90 days, mostly completed, some failed, running,
  paused, cancelled; GitHub issues with titles; four phase agents each (plan, build, test,
  review: session_id = adw_id, as the workflows record them);
- BIG_RUN: the newest run, its build phase holding BIG_PROMPTS prompts and BIG_EVENTS hook
  events (tool calls paired with their results by tool_use_id): "a run with many prompts";
- the other prompts spread over the other runs' agents, five models, tokens of every kind;
- interactive Claude Code sessions (agents under `claude_code`, no prompts) with transcript
  usage (session_usage), and hook events for every agent.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from tac_bootstrap.runtime.adw_database import OrchestratorDB

REPO = Path(__file__).resolve().parent.parent
MIGRATIONS = REPO / "adws" / "schema" / "migrations"
MODELS = ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5", "sonnet", "opus"]
PHASES = ["plan", "build", "test", "review"]
BIG_RUN = "rbig0001"
BIG_SESSION = "5e55i0n0-0000-4000-8000-000000000001"  # an interactive session with usage
START = "2026-09-01T00:00:00.000Z"
DAYS = 90.0
ORCHESTRATORS = ["planner", "builder", "tester", "reviewer"]
# Agent ids: phase agents 0190a001-..., interactive 0190a002-..., hexadecimal of their number.
AGENT_ID = "printf('0190a001-%04x-7000-8000-%012x', {k} / 65536, {k})"
SESSION_AGENT_ID = "printf('0190a002-0000-7000-8000-%012x', {s})"
STAMP = "strftime('%Y-%m-%dT%H:%M:%fZ', julianday('2026-09-01') + {days})"


@dataclass(frozen=True)
class Shape:
    prompts: int
    runs: int
    sessions: int
    big_prompts: int
    big_events: int

    @classmethod
    def of(cls, prompts: int) -> Shape:
        big = min(50_000, prompts // 20)
        return cls(prompts, max(10, prompts // 100), max(5, prompts // 500), big, 2 * big)

    @property
    def agents(self) -> int:
        return self.runs * len(PHASES)


def build(path: Path, prompts: int = 1_000_000) -> Shape:
    """Create `path` (it must not exist) holding `prompts` prompts; returns its shape."""
    shape = Shape.of(prompts)
    OrchestratorDB.open(str(path), migrations_dir=MIGRATIONS).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA cache_size = -262144")
    conn.execute("PRAGMA temp_store = MEMORY")
    triggers = [
        row[0]
        for row in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'prompts'"
        )
    ]
    conn.execute("BEGIN")
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'prompts'"
    ).fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    _orchestrators(conn)
    _runs(conn, shape)
    _agents(conn, shape)
    _prompts(conn, shape)
    _events(conn, shape)
    _sessions(conn, shape)
    _prompt_totals(conn)
    _agent_totals(conn)
    for sql in triggers:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return shape


def _orchestrators(conn: sqlite3.Connection) -> None:
    for i, name in enumerate([*ORCHESTRATORS, "claude_code"]):
        kind = name if name in ORCHESTRATORS else "custom"
        conn.execute(
            "INSERT INTO orchestrator_agents (id, name, agent_type) VALUES (?, ?, ?)",
            (f"0190a000-0000-7000-8000-{i:012x}", name, kind),
        )


def _runs(conn: sqlite3.Connection, shape: Shape) -> None:
    """Run i starts at i * DAYS / runs days; the last one is BIG_RUN (the newest)."""
    conn.execute(
        "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?1) "
        "INSERT INTO runs (adw_id, workflow, status, issue_source, issue_ref, issue_title, "
        "issue_type, branch, created_at, updated_at, started_at, completed_at) "
        f"SELECT CASE WHEN i = ?1 - 1 THEN '{BIG_RUN}' ELSE printf('r%07d', i) END, "
        "CASE i % 3 WHEN 0 THEN 'adw_sdlc' WHEN 1 THEN 'adw_plan_build' "
        "ELSE 'adw_plan_build_test_review' END, "
        "CASE WHEN i = ?1 - 1 THEN 'running' WHEN i % 50 = 7 THEN 'failed' "
        "WHEN i % 97 = 3 THEN 'cancelled' WHEN i % 89 = 5 THEN 'paused' "
        "WHEN i > ?1 - 5 THEN 'running' ELSE 'completed' END, "
        "'github', CAST(1000 + i AS TEXT), 'Issue ' || (1000 + i) || ': make the ' || "
        'json_extract(\'["parser","cache","login","report","export"]\', '
        "'$[' || (i % 5) || ']') || ' faster', "
        "CASE i % 3 WHEN 0 THEN 'feature' WHEN 1 THEN 'bug' ELSE 'chore' END, "
        "'feat-' || i, "
        f"{STAMP.format(days='i * ?2 / ?1')}, {STAMP.format(days='i * ?2 / ?1 + 0.03')}, "
        f"{STAMP.format(days='i * ?2 / ?1')}, "
        f"CASE WHEN i > ?1 - 5 THEN NULL ELSE {STAMP.format(days='i * ?2 / ?1 + 0.03')} END "
        "FROM s",
        (shape.runs, DAYS),
    )


def _agents(conn: sqlite3.Connection, shape: Shape) -> None:
    """Four phase agents per run (k = run * 4 + phase), a few minutes apart."""
    run_id = f"CASE WHEN k / 4 = {shape.runs - 1} THEN '{BIG_RUN}' ELSE printf('r%07d', k / 4) END"
    day = f"(k / 4) * {DAYS} / {shape.runs} + (k % 4) / 144.0"
    conn.execute(
        "WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM s WHERE k + 1 < ?1) "
        "INSERT INTO agents (id, orchestrator_agent_id, session_id, adw_id, name, status, model, "
        "input_tokens, output_tokens, total_cost_usd, created_at, started_at, completed_at) "
        f"SELECT {AGENT_ID.format(k='k')}, printf('0190a000-0000-7000-8000-%012x', k % 4), "
        f"{run_id}, {run_id}, json_extract(?2, '$[' || (k % 4) || ']'), "
        f"CASE WHEN k / 4 = {shape.runs - 1} AND k % 4 = 1 THEN 'running' ELSE 'completed' END, "
        "json_extract(?3, '$[' || (k % 5) || ']'), 0, 0, 0, "
        f"{STAMP.format(days=day)}, {STAMP.format(days=day)}, "
        f"{STAMP.format(days=day + ' + 0.006')} FROM s",
        (shape.agents, json.dumps(PHASES), json.dumps(MODELS)),
    )


def _prompts(conn: sqlite3.Connection, shape: Shape) -> None:
    """The big run's build agent gets big_prompts; the rest go round the other agents."""
    big_agent = (shape.runs - 1) * 4 + 1
    others = shape.agents - 4
    spread = shape.prompts - shape.big_prompts
    columns = (
        "INSERT INTO prompts (id, agent_id, prompt_text, response_text, model, status, "
        "input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, "
        "latency_ms, created_at, completed_at, cli_retries) "
    )
    usage = (
        "json_extract(?2, '$[' || (n.i % 5) || ']'), 'completed', 1000 + n.i % 5000, "
        "100 + n.i % 2000, n.i % 700, 5000 + n.i % 30000, (n.i % 100000) / 1000000.0, "
        "500 + n.i % 30000, "
    )
    day = f"(n.i % {others}) / 4 * {DAYS} / {shape.runs} + (n.i % 4) / 144.0"
    day += f" + (n.i / {others}) / 86400.0"
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) "
        + columns
        + "SELECT printf('0190b%03x-%04x-7000-8000-%012x', n.i / 65536 / 65536, "
        "n.i / 65536 % 65536, n.i), "
        + AGENT_ID.format(k=f"(n.i % {others})")
        + ", 'implement step ' || n.i || ' of the plan, with its context', 'done: ' || n.i, "
        + usage
        + f"{STAMP.format(days=day)}, {STAMP.format(days=day + ' + 0.00005')}, n.i % 13 = 0 "
        "FROM n",
        (spread, json.dumps(MODELS)),
    )
    big_day = f"{(shape.runs - 1) * DAYS / shape.runs} + 1 / 144.0 + n.i / 86400.0 / 20"
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) "
        + columns
        + "SELECT printf('0190bf%02x-%04x-7000-8000-%012x', n.i / 65536 / 65536, "
        "n.i / 65536 % 65536, n.i), "
        + AGENT_ID.format(k=str(big_agent))
        + ", 'big run step ' || n.i, 'done: ' || n.i, "
        + usage
        + f"{STAMP.format(days=big_day)}, {STAMP.format(days=big_day + ' + 0.00004')}, 0 FROM n",
        (shape.big_prompts, json.dumps(MODELS)),
    )


def _events(conn: sqlite3.Connection, shape: Shape) -> None:
    """Hook events: a tool call and its result (one tool_use_id) per pair, level and tool
    varying; big_events in the big run's build agent, four per agent elsewhere."""
    big_agent = (shape.runs - 1) * 4 + 1
    tools = json.dumps(["Bash", "Read", "Edit", "Write", "Grep"])
    pair = (
        "CASE n.i % 2 WHEN 0 THEN 'tool_call' ELSE 'tool_result' END, "
        "CASE WHEN n.i % 41 = 1 THEN 'ERROR' WHEN n.i % 17 = 1 THEN 'WARNING' ELSE 'INFO' END, "
        "CASE n.i % 2 WHEN 0 THEN 'PreToolUse ' ELSE 'PostToolUse ' END || "
        "json_extract(?2, '$[' || (n.i / 2 % 5) || ']'), "
        "json_object('hook_event_name', CASE n.i % 2 WHEN 0 THEN 'PreToolUse' "
        "ELSE 'PostToolUse' END, 'tool_name', json_extract(?2, '$[' || (n.i / 2 % 5) || ']'), "
        "'tool_input', json_object('command', 'echo step ' || (n.i / 2))), "
    )
    columns = (
        "INSERT INTO agent_logs (id, agent_id, log_type, log_level, message, details, "
        "created_at, tool_use_id) "
    )
    big_day = f"{(shape.runs - 1) * DAYS / shape.runs} + 1 / 144.0 + n.i / 86400.0 / 40"
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) "
        + columns
        + "SELECT printf('0190cf%02x-%04x-7000-8000-%012x', n.i / 65536 / 65536, "
        "n.i / 65536 % 65536, n.i), "
        + AGENT_ID.format(k=str(big_agent))
        + ", "
        + pair
        + f"{STAMP.format(days=big_day)}, 'toolu_big_' || (n.i / 2) FROM n",
        (shape.big_events, tools),
    )
    others = shape.agents - 4
    day = f"(n.i % {others}) / 4 * {DAYS} / {shape.runs} + (n.i % 4) / 144.0"
    day += f" + (n.i / {others}) / 86400.0"
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) "
        + columns
        + "SELECT printf('0190c%03x-%04x-7000-8000-%012x', n.i / 65536 / 65536, "
        "n.i / 65536 % 65536, n.i), "
        + AGENT_ID.format(k=f"(n.i % {others})")
        + ", "
        + pair
        + f"{STAMP.format(days=day)}, 'toolu_' || (n.i / 2) FROM n",
        (others * 4, tools),
    )


def _sessions(conn: sqlite3.Connection, shape: Shape) -> None:
    """Interactive sessions: an agent each (no prompts), 50 transcript messages each."""
    session_id = (
        f"CASE WHEN s = 0 THEN '{BIG_SESSION}' "
        "ELSE printf('5e55%04x-0000-4000-8000-%012x', s / 65536, s) END"
    )
    day = f"s * {DAYS} / {shape.sessions}"
    conn.execute(
        "WITH RECURSIVE n(s) AS (SELECT 0 UNION ALL SELECT s + 1 FROM n WHERE s + 1 < ?1) "
        "INSERT INTO agents (id, orchestrator_agent_id, session_id, name, status, created_at, "
        f"started_at, completed_at) SELECT {SESSION_AGENT_ID.format(s='s')}, "
        f"'0190a000-0000-7000-8000-{4:012x}', {session_id}, 'interactive', 'completed', "
        f"{STAMP.format(days=day)}, {STAMP.format(days=day)}, "
        f"{STAMP.format(days=day + ' + 0.02')} FROM n",
        (shape.sessions,),
    )
    conn.execute(
        "WITH RECURSIVE m(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM m WHERE i + 1 < ?1), "
        "n(s, i) AS (SELECT i / 50, i FROM m) "
        "INSERT INTO session_usage (id, session_id, agent_id, message_id, request_id, model, "
        "input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, "
        "message_at) "
        "SELECT printf('0190e%03x-%04x-7000-8000-%012x', i / 65536 / 65536, i / 65536 % 65536, "
        f"i), {session_id}, {SESSION_AGENT_ID.format(s='s')}, 'msg-' || i, 'req-' || i, "
        "json_extract(?2, '$[' || (i % 3) || ']'), 100 + i % 50, 20 + i % 300, i % 400, "
        f"2000 + i % 9000, 0.0001 * (1 + i % 70), "
        f"{STAMP.format(days=day + ' + (i % 50) / 3000.0')} FROM n",
        (shape.sessions * 50, json.dumps(MODELS)),
    )


def _prompt_totals(conn: sqlite3.Connection) -> None:
    """What migration 004's backfill writes (its triggers then keep it current)."""
    conn.execute("DELETE FROM prompt_totals")
    sums = (
        "count(*), sum(input_tokens), sum(output_tokens), sum(cache_creation_tokens), "
        "sum(cache_read_tokens), sum(cost_usd) FROM prompts"
    )
    head = (
        "INSERT INTO prompt_totals (dimension, key, prompts, input_tokens, output_tokens, "
        "cache_creation_tokens, cache_read_tokens, cost_usd) "
    )
    conn.execute(head + f"SELECT 'agent', agent_id, {sums} GROUP BY agent_id")
    conn.execute(head + f"SELECT 'day', substr(created_at, 1, 10), {sums} GROUP BY 2")
    conn.execute(head + f"SELECT 'model', coalesce(model, 'unknown'), {sums} GROUP BY 2")


def _agent_totals(conn: sqlite3.Connection) -> None:
    """Each agent's own totals, as complete_prompt keeps them, from its prompt_totals row."""
    conn.execute(
        "UPDATE agents SET input_tokens = t.input_tokens, output_tokens = t.output_tokens, "
        "cache_creation_tokens = t.cache_creation_tokens, cache_read_tokens = t.cache_read_tokens, "
        "total_cost_usd = t.cost_usd FROM prompt_totals t "
        "WHERE t.dimension = 'agent' AND t.key = agents.id"
    )


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--prompts", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    shape = build(args.path, args.prompts)
    size = args.path.stat().st_size / 1e6
    print(f"{shape} in {time.perf_counter() - started:.1f} s, {size:.0f} MB")


if __name__ == "__main__":
    main()
