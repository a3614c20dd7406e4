"""What the orchestrator hook costs the agent: per event, and on a whole real-CLI run.

Run: .venv/bin/python bench/bench_hooks.py [--runs N] [--cli-runs M]
                                            [--no-postgres | --postgres-url URL] [--no-cli]

Claude Code starts the hook as a new process for every event, writes the event JSON on its
stdin and waits for it to exit. The hook's shell half spools the event and returns; a
detached stdlib-only recorder writes it to the database. This script generates a project
with `tac-bootstrap init`, then measures side by side in one run (cases interleaved, so
machine noise hits all alike):

per event (a process per event, the command exactly as settings.json gives it to the CLI,
run through /bin/sh like the CLI does):
  python -c pass                 the floor: spawning an interpreter at all
  hook, workflow agent           TAC_AGENT_ID set: the event goes to agent_logs
  hook, interactive session      no TAC_AGENT_ID: the session's own agent
  hook, database unusable        TAC_ORCHESTRATOR_DB is a directory: the fallback file
  recorder, synchronous          `python -S orchestrator_hook.py < event`: recording one event
                                 in a fresh process, what the background work costs
  PG hook / PG recorder          the same two with a postgresql:// URL (the event waits in the
                                 fallback file; the runtime's replay is timed afterwards)

a whole run of the real Claude Code CLI (tests/real_claude.py, against the fake Messages API
of tests/fake_anthropic.py, so only the CLI's own work and the hooks are measured): one
prompt, one Bash tool call, `--allowedTools "Bash Read Write Edit"`, in the project with its
hooks removed, with a no-op hook (`true`: what the CLI itself spends on running a hook),
with the project's hooks (SQLite), and with them on PostgreSQL, each round in a shuffled
order. It fires SessionStart, UserPromptSubmit, PreToolUse, PostToolUse, Stop, SessionEnd.

Afterwards it checks that every event was recorded where it should be (rows per case, the
fallback file, PostgreSQL after the replay; each CLI session's six events in order). Without
psycopg or PostgreSQL, or without the CLI (`make claude-cli`), those cases are skipped with
the reason. PYTHONDONTWRITEBYTECODE is dropped for the hooks, as on a developer machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PG_DATABASE = "tacbench_hooks"
CLI_EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd"]
AGENT_WAIT_TARGET = 2.5  # x python -c pass
CLI_RUN_TARGET = 1.15  # x the same run without hooks

CREATE_AGENT = """
import sys
sys.path.insert(0, sys.argv[1])
from adw_modules.adw_database import OrchestratorDB
with OrchestratorDB.open() as db:
    owner = db.register_orchestrator_agent("adw_build", "builder")
    print(db.start_agent(owner.id, "bench", adw_id="bench", name="build").id)
"""


def pre_tool_use(project: Path) -> str:
    """The PreToolUse input the CLI sends (2.1.x), for an Edit of a project file."""
    return json.dumps(
        {
            "session_id": "6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5",
            "transcript_path": str(Path.home() / ".claude/projects/bench/6f1c2d3e.jsonl"),
            "cwd": str(project),
            "prompt_id": "52927f97-45b5-4209-95fa-4afc422f2b97",
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "effort": {"level": "medium"},
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
    run_once: Callable[[], None]
    samples: list[float] = field(default_factory=list)

    def measure(self) -> None:
        start = time.perf_counter()
        self.run_once()
        self.samples.append((time.perf_counter() - start) * 1000)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.samples, n=20, method="inclusive")[18]


def process(command: list[str], payload: str, env: dict[str, str]) -> Callable[[], None]:
    def run_once() -> None:
        result = subprocess.run(command, input=payload, env=env, capture_output=True, text=True)
        if result.returncode != 0 or result.stdout:
            raise SystemExit(f"{command}: exit {result.returncode}, stdout {result.stdout!r}")

    return run_once


NO_GIT = ("--yes", "--no-git")


def generate_project(directory: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "init", "bench", "-o", str(directory), *NO_GIT],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return directory / "bench"


def count_rows(database: Path, sql: str, *params: Any) -> int:
    with sqlite3.connect(database) as conn:
        count: int = conn.execute(sql, params).fetchone()[0]
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


def count_pg_rows(url: str, sql: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0


def one_tool_responder(request: Any) -> list[dict[str, Any]]:
    from tests.fake_anthropic import text, tool_use

    if not request.has_tools:
        return [text("ok")]
    if request.turn == 0:
        return [tool_use("Bash", {"command": "echo bench", "description": "one tool"})]
    return [text("Done.")]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="measured runs per event case")
    parser.add_argument("--cli-runs", type=int, default=15, help="measured real-CLI runs per case")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite cases only")
    parser.add_argument("--no-cli", action="store_true", help="skip the real-CLI runs")
    parser.add_argument(
        "--postgres-url",
        help="an existing server (its user needs CREATEDB) instead of a throwaway one",
    )
    args = parser.parse_args()
    if args.runs < 2 or args.cli_runs < 2:
        parser.error("--runs and --cli-runs must be at least 2")

    from tac_bootstrap.runtime import hook_recorder

    with (
        tempfile.TemporaryDirectory() as tmp_name,
        postgres(args.postgres_url, not args.no_postgres) as (pg_url, pg_note),
    ):
        tmp = Path(tmp_name)
        project = generate_project(tmp)
        hook = project / ".claude" / "hooks" / "orchestrator_hook.py"
        settings = json.loads((project / ".claude" / "settings.json").read_text())
        (command,) = {h["command"] for h in settings["hooks"]["PreToolUse"][0]["hooks"]}
        unusable = tmp / "not-a-database"
        unusable.mkdir()
        python = sys.executable
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TAC_", "FAKE_", "CLAUDE")) and k != "PYTHONDONTWRITEBYTECODE"
        }
        base |= {"CLAUDE_PROJECT_DIR": str(project), "TAC_PYTHON": python}

        def case_env(name: str, **extra: str) -> dict[str, str]:
            """Each case its own database and fallback file (so its own spool)."""
            directory = tmp / "cases" / name
            directory.mkdir(parents=True)
            return base | {
                "TAC_ORCHESTRATOR_DB": str(directory / "orchestrator.db"),
                "TAC_HOOK_FALLBACK_LOG": str(directory / "hooks-fallback.jsonl"),
                **extra,
            }

        def create_agent(env: dict[str, str]) -> str:
            return subprocess.run(
                [python, "-c", CREATE_AGENT, str(project / "adws")],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()

        payload = pre_tool_use(project)
        envs = {
            "workflow": case_env("workflow"),
            "interactive": case_env("interactive"),
            "unusable": case_env("unusable"),
            "sync": case_env("sync"),
        }
        envs["unusable"]["TAC_ORCHESTRATOR_DB"] = str(unusable)
        for name in ("workflow", "interactive", "sync"):
            create_agent(envs[name])  # creates and migrates the case's database
        envs["workflow"]["TAC_AGENT_ID"] = create_agent(envs["workflow"])
        sh = ["/bin/sh", "-c", command]
        cases = [
            Case("python -c pass", process([python, "-c", "pass"], payload, base)),
            Case("hook, workflow agent", process(sh, payload, envs["workflow"])),
            Case("hook, interactive session", process(sh, payload, envs["interactive"])),
            Case("hook, database unusable", process(sh, payload, envs["unusable"])),
            Case(
                "recorder, synchronous", process([python, "-S", str(hook)], payload, envs["sync"])
            ),
        ]
        if pg_url is not None:
            envs["pg"] = case_env("pg", TAC_ORCHESTRATOR_DB=pg_url)
            envs["pg sync"] = case_env("pg-sync", TAC_ORCHESTRATOR_DB=pg_url)
            create_agent(envs["pg"])  # creates the PostgreSQL schema
            cases += [
                Case("PG hook, interactive", process(sh, payload, envs["pg"])),
                Case(
                    "PG recorder, synchronous",
                    process([python, "-S", str(hook)], payload, envs["pg sync"]),
                ),
            ]
        for case in cases:  # warm-up: page cache, .pyc files, database file and WAL
            case.run_once()
        for _ in range(args.runs):
            for case in cases:
                case.measure()

        def spool_of(env: dict[str, str]) -> Any:
            return hook_recorder.Spool.locate(project, "logs", env)

        for env in envs.values():
            assert hook_recorder.wait_until_recorded(spool_of(env), timeout=60)
        calls = args.runs + 1
        session_agent = hook_recorder.interactive_agent_id(json.loads(payload)["session_id"])

        def db_of(name: str) -> Path:
            return Path(envs[name]["TAC_ORCHESTRATOR_DB"])

        recorded = {  # what: (found, expected)
            "workflow agent_logs": (
                count_rows(db_of("workflow"), "SELECT count(*) FROM agent_logs"),
                calls,
            ),
            "interactive agent_logs": (
                count_rows(
                    db_of("interactive"),
                    "SELECT count(*) FROM agent_logs WHERE agent_id = ?",
                    session_agent,
                ),
                calls,
            ),
            "fallback lines (unusable)": (count_lines(spool_of(envs["unusable"]).fallback), calls),
            "synchronous agent_logs": (
                count_rows(db_of("sync"), "SELECT count(*) FROM agent_logs"),
                calls,
            ),
        }
        replay_note = ""
        if pg_url is not None:
            from tac_bootstrap.runtime.adw_database import OrchestratorDB

            migrations = project / "adws" / "schema" / "postgres" / "migrations"
            pending = sum(count_lines(spool_of(envs[n]).fallback) for n in ("pg", "pg sync"))
            start = time.perf_counter()
            with OrchestratorDB.open(pg_url, migrations_dir=migrations) as db:
                inserted = sum(db.replay_hook_events(spool_of(envs[n])) for n in ("pg", "pg sync"))
            elapsed = time.perf_counter() - start
            replay_note = (
                f"runtime replay of {pending} spooled events into PostgreSQL: "
                f"{elapsed * 1000:.0f} ms with the open ({inserted / elapsed:,.0f} rows/s), "
                f"{inserted} inserted"
            )
            recorded["PG agent_logs of both PG cases, after the replay"] = (
                count_pg_rows(pg_url, "SELECT count(*) FROM agent_logs"),
                2 * calls,
            )
        cli_results = run_cli_cases(args, tmp, project, pg_url, base, hook_recorder)

    floor = cases[0].median
    print(f"{'case':<28} {'median ms':>10} {'p95 ms':>8} {'x python -c pass':>17}")
    for case in cases:
        print(f"{case.name:<28} {case.median:>10.1f} {case.p95:>8.1f} {case.median / floor:>17.2f}")
    agent_wait = max(c.median for c in cases[1:4]) / floor
    print(
        f"(median and p95 of {args.runs} runs each, interleaved; Python {sys.version.split()[0]}; "
        f"the agent waits at most {agent_wait:.2f}x python -c pass per event, target "
        f"<= {AGENT_WAIT_TARGET}x: {'met' if agent_wait <= AGENT_WAIT_TARGET else 'MISSED'})"
    )
    print(f"PostgreSQL: {pg_note}")
    if replay_note:
        print(replay_note)
    print("recorded: " + ", ".join(f"{n}/{want} {what}" for what, (n, want) in recorded.items()))
    failures = [what for what, (n, want) in recorded.items() if n != want]
    if cli_results:
        failures += report_cli(cli_results, args.cli_runs)
    if failures:
        raise SystemExit(
            "error: not every event was recorded where it should: " + ", ".join(failures)
        )


@dataclass
class CliCase:
    name: str
    root: Path
    env: dict[str, str]
    recorded: bool = True  # runs the project's hooks (checked afterwards)
    samples: list[float] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)


def run_cli_cases(
    args: argparse.Namespace,
    tmp: Path,
    project: Path,
    pg_url: str | None,
    base: dict[str, str],
    hook_recorder: Any,
) -> list[tuple[CliCase, str]]:
    """The one-tool real-CLI run without hooks, with them on SQLite and on PostgreSQL."""
    if args.no_cli:
        print("real CLI: skipped (--no-cli)")
        return []
    from tests.fake_anthropic import FakeAnthropic
    from tests.real_claude import claude_env, find_cli, run_claude

    cli, reason = find_cli()
    if cli is None:
        print(f"real CLI: skipped ({reason})")
        return []
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True).stdout
    copies = {}
    for name in ("no-hooks", "no-op", "sqlite", "postgresql"):
        copies[name] = tmp / "cli" / name
        shutil.copytree(project, copies[name], symlinks=True)
    settings_path = copies["no-hooks"] / ".claude" / "settings.json"
    settings = json.loads(settings_path.read_text())
    settings["hooks"] = {}
    settings_path.write_text(json.dumps(settings, indent=2))
    # The same events with a hook that does nothing: what Claude Code itself spends per hook.
    settings_path = copies["no-op"] / ".claude" / "settings.json"
    settings = json.loads(settings_path.read_text())
    for groups in settings["hooks"].values():
        groups[0]["hooks"][0]["command"] = "exec true"
    settings_path.write_text(json.dumps(settings, indent=2))
    results: list[tuple[CliCase, str]] = []
    with FakeAnthropic(one_tool_responder) as api:
        home = tmp / "cli" / "home"
        home.mkdir()
        extra = {"TAC_PYTHON": base["TAC_PYTHON"]}

        def env_for(name: str, database: str) -> dict[str, str]:
            fallback = str(copies[name] / "logs" / "hooks-fallback.jsonl")
            return claude_env(
                api.base_url,
                home,
                TAC_ORCHESTRATOR_DB=database,
                TAC_HOOK_FALLBACK_LOG=fallback,
                **extra,
            )

        from tac_bootstrap.runtime.adw_database import OrchestratorDB

        sqlite_db = copies["sqlite"] / "adws" / "schema" / "orchestrator.db"
        OrchestratorDB.open(
            sqlite_db, migrations_dir=copies["sqlite"] / "adws/schema/migrations"
        ).close()
        cases = [
            CliCase(
                "one-tool run, no hooks",
                copies["no-hooks"],
                env_for("no-hooks", str(tmp / "unused.db")),
                recorded=False,
            ),
            CliCase(
                "one-tool run, no-op hook (`true`)",
                copies["no-op"],
                env_for("no-op", str(tmp / "x")),
                recorded=False,
            ),
            CliCase(
                "one-tool run, hooks (SQLite)", copies["sqlite"], env_for("sqlite", str(sqlite_db))
            ),
        ]
        if pg_url is not None:
            cases.append(
                CliCase(
                    "one-tool run, hooks (PostgreSQL)",
                    copies["postgresql"],
                    env_for("postgresql", pg_url),
                )
            )
        command = ["-p", "run the tool", "--output-format", "stream-json", "--verbose"]
        command += ["--model", "sonnet", "--allowedTools", "Bash Read Write Edit"]
        order = random.Random(10)  # each round in another order: no case always follows another
        for index in range(args.cli_runs + 1):  # the first round is a warm-up
            for case in order.sample(cases, len(cases)):
                start = time.perf_counter()
                run = run_claude(cli, command, cwd=case.root, env=case.env)
                elapsed = (time.perf_counter() - start) * 1000
                if run.returncode != 0:
                    raise SystemExit(f"{case.name}: the CLI failed: {run.stderr[-500:]}")
                case.sessions.append(str(run.result["session_id"]))
                if index:
                    case.samples.append(elapsed)
        for case in [c for c in cases if c.recorded]:
            spool = hook_recorder.Spool.locate(case.root, "logs", case.env)
            assert hook_recorder.wait_until_recorded(spool, timeout=60)
        results = [(case, str(version).strip()) for case in cases]
        # Every session's six events, in order, in its own agent (PostgreSQL after a replay).
        for case in [c for c in cases if c.recorded]:
            migrations = (
                case.root
                / "adws"
                / "schema"
                / ("postgres/migrations" if "Postgre" in case.name else "migrations")
            )
            with OrchestratorDB.open(
                case.env["TAC_ORCHESTRATOR_DB"], migrations_dir=migrations
            ) as db:
                db.replay_hook_events(hook_recorder.Spool.locate(case.root, "logs", case.env))
                seen = []
                for session in case.sessions:
                    agent = hook_recorder.interactive_agent_id(session)
                    logs = db.recent_logs(agent_id=agent, limit=50)
                    seen.append([r.details.get("hook_event_name") for r in reversed(logs)])
            case.sessions = ["ok" if s == CLI_EVENTS else f"got {s}" for s in seen]
    return results


def report_cli(results: list[tuple[CliCase, str]], runs: int) -> list[str]:
    cases = [case for case, _ in results]
    floor = statistics.median(cases[0].samples)
    print()
    print(f"real Claude Code CLI {results[0][1]}, fake Messages API, median of {runs} runs each:")
    print(f"{'case':<34} {'median ms':>10} {'p95 ms':>8} {'x no hooks':>11}")
    for case in cases:
        median = statistics.median(case.samples)
        p95 = statistics.quantiles(case.samples, n=20, method="inclusive")[18]
        print(f"{case.name:<34} {median:>10.0f} {p95:>8.0f} {median / floor:>11.3f}")
    worst = max(statistics.median(c.samples) for c in cases if c.recorded) / floor
    print(
        f"(target <= {CLI_RUN_TARGET}x: {'met' if worst <= CLI_RUN_TARGET else 'MISSED'}, worst "
        f"{worst:.3f}x; each run fires {len(CLI_EVENTS)} hook events: {', '.join(CLI_EVENTS)})"
    )
    failures = []
    for case in [c for c in cases if c.recorded]:
        bad = [s for s in case.sessions if s != "ok"]
        complete = len(case.sessions) - len(bad)
        print(f"recorded ({case.name}): {complete}/{len(case.sessions)} sessions complete")
        if bad:
            failures.append(f"{case.name}: {bad[0]}")
    return failures


if __name__ == "__main__":
    main()
