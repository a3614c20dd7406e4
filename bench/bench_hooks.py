"""End-to-end time of the orchestrator hook, as the agent CLI experiences it.

Run: .venv/bin/python bench/bench_hooks.py [--runs N] [--no-postgres | --postgres-url URL]

Claude Code starts the hook as a new process for every event, writes the event JSON on its
stdin and waits for it to exit, so what the agent waits for is spawn + interpreter start-up +
imports + one database write. This script generates a project with `tac-bootstrap init`,
then measures, side by side in one run (cases interleaved, so machine noise hits all alike):

  python -c pass                the floor: spawning an interpreter at all
  stdlib append                 a stdlib-only hook: parse the JSON, append it to a file
  imports only                  python -c "import pydantic, yaml, sqlite3" (the hook's deps)
  hook -> agent_logs            the generated hook inside a workflow (TAC_AGENT_ID set)
  hook -> system_logs           the generated hook in an interactive session
  hook, database unusable       the fallback path (TAC_ORCHESTRATOR_DB is a directory)

and, when PostgreSQL can be reached (a throwaway server from tests/pg_server.py, fsync on and
synchronous_commit=off, unix socket; or --postgres-url, whose user needs CREATEDB), with
TAC_ORCHESTRATOR_DB set to a postgresql:// URL:

  imports + psycopg             the hook's deps plus psycopg (imported only for such URLs)
  PG hook -> agent_logs         the same hook writing to PostgreSQL (import psycopg, connect)
  PG hook -> system_logs

and prints the median and p95 of each with ratios to the two floors. Afterwards it checks
that every hook call was recorded where it should be (rows in the database, lines in the
fallback log). Without psycopg or PostgreSQL the PostgreSQL cases are skipped (with the reason).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PG_DATABASE = "tacbench_hooks"

STDLIB_APPEND = """
import json, sys
event = json.loads(sys.stdin.read())
with open(sys.argv[1], "a", encoding="utf-8") as handle:
    handle.write(json.dumps(event) + "\\n")
"""

CREATE_AGENT = """
import sys
sys.path.insert(0, sys.argv[1])
from adw_modules.adw_database import OrchestratorDB
with OrchestratorDB.open() as db:
    owner = db.register_orchestrator_agent("adw_build", "builder")
    print(db.start_agent(owner.id, "bench", adw_id="bench", name="build").id)
"""


def pre_tool_use(project: Path) -> str:
    """The PreToolUse input Claude Code documents, for an Edit of a project file."""
    return json.dumps(
        {
            "session_id": "6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5",
            "transcript_path": str(Path.home() / ".claude/projects/bench/6f1c2d3e.jsonl"),
            "cwd": str(project),
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": "Edit",
            "tool_input": {
                "file_path": str(project / "src" / "app.py"),
                "old_string": "return None",
                "new_string": "return {'status': 'ok'}",
            },
            "tool_use_id": "toolu_01BenchBenchBenchBench",
        }
    )


@dataclass
class Case:
    name: str
    command: list[str]
    env: dict[str, str]
    samples: list[float] = field(default_factory=list)

    def run(self, payload: str) -> float:
        start = time.perf_counter()
        result = subprocess.run(
            self.command, input=payload, env=self.env, capture_output=True, text=True
        )
        elapsed = (time.perf_counter() - start) * 1000
        if result.returncode != 0 or result.stdout:
            raise SystemExit(f"{self.name}: exit {result.returncode}, stdout {result.stdout!r}")
        return elapsed

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.samples, n=20, method="inclusive")[18]


def generate_project(directory: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "init", "bench", "-o", str(directory), "--yes"],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return directory / "bench"


def count_rows(database: Path, table: str) -> int:
    with sqlite3.connect(database) as conn:
        count: int = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return count


def count_lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


@contextmanager
def postgres(url: str | None, enabled: bool) -> Iterator[tuple[str | None, str]]:
    """(URL of a fresh database or None, what was used or why it was skipped); the throwaway
    server is stopped and the database dropped afterwards."""
    if not enabled:
        yield None, "skipped (--no-postgres)"
        return
    try:
        import psycopg
    except ImportError:
        yield None, "skipped (psycopg 3 is not installed)"
        return
    sys.path.insert(0, str(REPO))
    from tests.pg_server import PgServer, PostgresUnavailable, start_server

    server: Any
    if url:
        server = PgServer(dsn=url)
        info = psycopg.conninfo.conninfo_to_dict(url)
        admin = server.url(str(info.get("dbname") or info.get("user") or "postgres"))
    else:
        try:
            server = start_server(fsync=True, extra_options="-c synchronous_commit=off")
        except PostgresUnavailable as exc:
            yield None, f"skipped ({exc})"
            return
        admin = server.url("postgres")
    try:
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE}")
                conn.execute(f"CREATE DATABASE {PG_DATABASE}")
                settings = ", ".join(
                    f"{name}={conn.execute(f'SHOW {name}').fetchone()[0]}"  # type: ignore[index]
                    for name in ("server_version", "fsync", "synchronous_commit")
                )
        except psycopg.Error as exc:
            yield None, f"skipped (cannot connect: {str(exc).strip().splitlines()[0]})"
            return
        where = "given server" if url else "throwaway server, unix socket"
        yield server.url(PG_DATABASE), f"PostgreSQL ({where}): {settings}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
    finally:
        server.stop()


def count_pg_rows(url: str, table: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="measured runs per case")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite cases only")
    parser.add_argument(
        "--postgres-url",
        help="an existing server (its user needs CREATEDB) instead of a throwaway one",
    )
    args = parser.parse_args()
    if args.runs < 2:
        parser.error("--runs must be at least 2")

    with (
        tempfile.TemporaryDirectory() as tmp_name,
        postgres(args.postgres_url, not args.no_postgres) as (pg_url, pg_note),
    ):
        tmp = Path(tmp_name)
        project = generate_project(tmp)
        hook = project / ".claude" / "hooks" / "orchestrator_hook.py"
        database = project / "adws" / "schema" / "orchestrator.db"
        fallback = tmp / "hooks-fallback.jsonl"
        unusable = tmp / "not-a-database"
        unusable.mkdir()
        (tmp / "stdlib_append.py").write_text(STDLIB_APPEND)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TAC_", "FAKE_"))}
        base |= {"CLAUDE_PROJECT_DIR": str(project), "TAC_HOOK_FALLBACK_LOG": str(fallback)}

        def create_agent(env: dict[str, str]) -> str:
            return subprocess.run(
                [sys.executable, "-c", CREATE_AGENT, str(project / "adws")],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()

        agent_id = create_agent(base)
        python = sys.executable
        cases = [
            Case("python -c pass", [python, "-c", "pass"], base),
            Case(
                "stdlib append",
                [python, str(tmp / "stdlib_append.py"), str(tmp / "appended.jsonl")],
                base,
            ),
            Case("imports only", [python, "-c", "import pydantic, yaml, sqlite3"], base),
            Case("hook -> agent_logs", [python, str(hook)], base | {"TAC_AGENT_ID": agent_id}),
            Case("hook -> system_logs", [python, str(hook)], base),
            Case(
                "hook, database unusable",
                [python, str(hook)],
                base | {"TAC_AGENT_ID": agent_id, "TAC_ORCHESTRATOR_DB": str(unusable)},
            ),
        ]
        if pg_url is not None:
            pg_env = base | {"TAC_ORCHESTRATOR_DB": pg_url}
            pg_agent = create_agent(pg_env)
            cases += [
                Case(
                    "imports + psycopg",
                    [python, "-c", "import pydantic, yaml, sqlite3, psycopg"],
                    base,
                ),
                Case(
                    "PG hook -> agent_logs",
                    [python, str(hook)],
                    pg_env | {"TAC_AGENT_ID": pg_agent},
                ),
                Case("PG hook -> system_logs", [python, str(hook)], pg_env),
            ]
        payload = pre_tool_use(project)
        for case in cases:  # warm-up: page cache, .pyc files, database file and WAL
            case.run(payload)
        for _ in range(args.runs):
            for case in cases:
                case.samples.append(case.run(payload))

        calls = args.runs + 1
        recorded = {
            "agent_logs": count_rows(database, "agent_logs"),
            "system_logs": count_rows(database, "system_logs"),
            "fallback lines": count_lines(fallback),
        }
        if pg_url is not None:
            recorded["PG agent_logs"] = count_pg_rows(pg_url, "agent_logs")
            recorded["PG system_logs"] = count_pg_rows(pg_url, "system_logs")

    floor, stdlib = cases[0].median, cases[1].median
    print(f"{'case':<26} {'median ms':>10} {'p95 ms':>8} {'x python -c pass':>17} {'x stdlib':>9}")
    for case in cases:
        print(
            f"{case.name:<26} {case.median:>10.1f} {case.p95:>8.1f} "
            f"{case.median / floor:>17.2f} {case.median / stdlib:>9.2f}"
        )
    hook_cost = cases[3].median - cases[1].median
    print(
        f"(median and p95 of {args.runs} runs each, interleaved; Python "
        f"{sys.version.split()[0]}; the hook costs the agent {hook_cost:.1f} ms per event "
        "more than a stdlib-only hook)"
    )
    print(f"PostgreSQL: {pg_note}")
    if pg_url is not None:
        by_name = {case.name: case.median for case in cases}
        print(
            "(on PostgreSQL the hook costs "
            f"{by_name['PG hook -> agent_logs'] - by_name['hook -> agent_logs']:+.1f} ms "
            "per event more than on SQLite; importing psycopg on its own adds "
            f"{by_name['imports + psycopg'] - by_name['imports only']:.1f} ms to the imports)"
        )
    print("recorded: " + ", ".join(f"{n}/{calls} {what}" for what, n in recorded.items()))
    if any(n != calls for n in recorded.values()):
        raise SystemExit("error: the hook did not record every call where it should")


if __name__ == "__main__":
    main()
