"""End-to-end time of the orchestrator hook, as the agent CLI experiences it.

Run: .venv/bin/python bench/bench_hooks.py [--runs N]

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

and prints the median and p95 of each with ratios to the two floors. Afterwards it checks
that every hook call was recorded where it should be (rows in the database, lines in the
fallback log).
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
from dataclasses import dataclass, field
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="measured runs per case")
    args = parser.parse_args()
    if args.runs < 2:
        parser.error("--runs must be at least 2")

    with tempfile.TemporaryDirectory() as tmp_name:
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
        agent_id = subprocess.run(
            [sys.executable, "-c", CREATE_AGENT, str(project / "adws")],
            env=base,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

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
        payload = pre_tool_use(project)
        for case in cases:  # warm-up: page cache, .pyc files, database file and WAL
            case.run(payload)
        for _ in range(args.runs):
            for case in cases:
                case.samples.append(case.run(payload))

        calls = args.runs + 1
        agent_rows = count_rows(database, "agent_logs")
        system_rows = count_rows(database, "system_logs")
        fallback_lines = count_lines(fallback)

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
    print(
        f"recorded: {agent_rows}/{calls} agent_logs rows, {system_rows}/{calls} system_logs "
        f"rows, {fallback_lines}/{calls} fallback lines"
    )
    if (agent_rows, system_rows, fallback_lines) != (calls, calls, calls):
        raise SystemExit("error: the hook did not record every call where it should")


if __name__ == "__main__":
    main()
