"""N workflow runs at once against the fake agent: runs per minute, rows per run, 0 lost.

Run: .venv/bin/python bench/bench_concurrent_runs.py [--n 1,2,4,8] [--rounds R]
                                                     [--mode auto|launcher|worker|processes]
                                                     [--workflow sdlc] [--keep]

A project is generated with `tac-bootstrap init` (a git repository, the layer committed) from
this checkout's package; the agent CLI is the layer's own fake (adws/tests/fake_claude.py: the
stream-json the real CLI prints, the project's hooks run for every event), so what is measured
is the layer: the workflow scripts, worktrees and commits where the engine makes them, the
hooks and the recorder, the database. For every N, the same N runs are made twice side by side
in each round (the two cases in a shuffled order, so machine noise hits both alike):

  one after another   the baseline: the same runs, the same machinery, one at a time
  N at once           N concurrent runs

How N at once is made (`--mode auto` takes the first the generated project has):
  launcher   adws/adw_launch.py --local <N issue files> --max-concurrent N: the launcher
             enqueues them and runs N local workers (baseline: --max-concurrent 1)
  worker     N queued rows in the runs table, then adws/adw_worker.py --max-concurrent N
             --until-empty (baseline: --max-concurrent 1)
  processes  N processes of adws/adw_<workflow>.py "issue" --adw-id ID (baseline: a loop)

After each case the hook spool is drained, then every run is counted in the database: its
agents, prompts, agent_logs, per-model usage, system_logs, and (where the tables exist) its
runs row and run_checks. A run is **lost** when its process failed, its state file or runs
row does not say completed, an agent has no prompt, or its row counts are not the baseline's:
the concurrent runs must leave exactly what the same runs leave one after another. Two runs of
one batch **clash** when they share a branch or a worktree, or a port slot while both ran.
CPU s/run is the user + system time of the processes the benchmark waited for (the runs, and
the launcher or workers), not of the detached hook recorders.

The project's test, lint and typecheck commands are cheap stand-ins (compileall, `-c pass`):
the test phase runs them itself in every worktree, and the project's real suite would be the
whole figure. Exit status 1 when a run was lost or clashed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "tac_bootstrap_cli"
sys.path.insert(0, str(PACKAGE))

from tac_bootstrap.runtime.hook_spool import Spool, wait_until_recorded  # noqa: E402

ISSUES = ["Add a health-check endpoint", "Fix the typo in the greeting", "Document the CLI"]
# The SQL counting one run's rows in each table (:id is the adw_id). Tables missing in the
# generated schema are left out (runs and run_checks arrived with issue 14).
ROW_QUERIES = {
    "agents": "SELECT count(*) FROM agents WHERE adw_id = :id",
    "prompts": "SELECT count(*) FROM prompts p JOIN agents a ON a.id = p.agent_id "
    "WHERE a.adw_id = :id",
    "agent_logs": "SELECT count(*) FROM agent_logs l JOIN agents a ON a.id = l.agent_id "
    "WHERE a.adw_id = :id",
    "prompt_model_usage": "SELECT count(*) FROM prompt_model_usage u JOIN prompts p "
    "ON p.id = u.prompt_id JOIN agents a ON a.id = p.agent_id WHERE a.adw_id = :id",
    "session_usage": "SELECT count(*) FROM session_usage u JOIN agents a ON a.id = u.agent_id "
    "WHERE a.adw_id = :id",
    "system_logs": "SELECT count(*) FROM system_logs WHERE instr(message, :id) > 0 "
    "OR instr(details, :id) > 0",
    "runs": "SELECT count(*) FROM runs WHERE adw_id = :id",
    "run_checks": "SELECT count(*) FROM run_checks WHERE adw_id = :id",
}


Rows = tuple[tuple[str, int], ...]  # (table, rows of one run) for every table that has some


@dataclass
class Layer:
    """The generated project and the environment its runs record into."""

    root: Path
    work: Path
    env: dict[str, str]
    mode: str
    workflow: str

    @property
    def database(self) -> Path:
        return Path(self.env["TAC_ORCHESTRATOR_DB"])

    @property
    def spool(self) -> Spool:
        fallback = Path(self.env["TAC_HOOK_FALLBACK_LOG"])
        return Spool(fallback, fallback.parent / "hooks-spool")

    def script(self, name: str) -> Path:
        return self.root / "adws" / name


@dataclass
class Batch:
    """One case of one round: the runs it made and how long they took."""

    n: int
    concurrent: bool
    seconds: float
    adw_ids: list[str]
    failed: set[str] = field(default_factory=set)
    drain_seconds: float = 0.0
    cpu_seconds: float = 0.0  # user + system of the waited-for processes (not the recorders)


def generate(work: Path, workflow: str, mode: str) -> Layer:
    # This checkout's package generates the project, whatever is installed in the venv.
    env = {**os.environ, "PYTHONPATH": str(PACKAGE)}
    subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "init", "bench", "-o", str(work), "--yes"],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    root = work / "bench"
    stand_in_checks(root, env)
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("TAC_", "FAKE_CLAUDE_"))}
    run_env.update(
        TAC_ORCHESTRATOR_DB=str(work / "orchestrator.db"),
        TAC_ADW_RUNS_DIR=str(work / "runs"),
        TAC_HOOK_FALLBACK_LOG=str(work / "hooks" / "hooks-fallback.jsonl"),
        CLAUDE_CODE_PATH=str(root / "adws" / "tests" / "fake_claude.py"),
        FAKE_CLAUDE_STATE_DIR=str(work / "fake-state"),
        ADW_RETRY_BASE_SECONDS="0.01",
        TAC_PYTHON=sys.executable,
    )
    run_env.pop("PYTHONPATH", None)  # the generated layer runs its own copy of the runtime
    layer = Layer(root, work, run_env, mode, workflow)
    (work / "logs").mkdir()  # each run's, the launcher's or the worker's output
    migrate = (
        "import sys; sys.path.insert(0, 'adws'); "
        "from adw_modules.adw_database import OrchestratorDB; OrchestratorDB.open().close()"
    )
    subprocess.run([sys.executable, "-c", migrate], cwd=root, env=run_env, check=True)
    layer.mode = pick_mode(layer, mode)
    return layer


def stand_in_checks(root: Path, env: dict[str, str]) -> None:
    """The project's test, lint and typecheck commands made cheap (the test phase runs them
    itself, in the run's worktree; the project's real suite would dominate every figure),
    re-rendered and committed, so every worktree starts from them."""
    config = root / "tac_bootstrap.yml"
    text = config.read_text(encoding="utf-8")
    commands = {
        "test": f"{sys.executable} -m compileall -q adws",
        "lint": f"{sys.executable} -c pass",
        "typecheck": f"{sys.executable} -c pass",
    }
    for name, command in commands.items():
        text, found = re.subn(rf"(?m)^  {name}: .*$", f"  {name}: {json.dumps(command)}", text)
        assert found == 1, name
    config.write_text(text, encoding="utf-8")
    for step in (
        [sys.executable, "-m", "tac_bootstrap", "render", str(root), "--force"],
        ["git", "-C", str(root), "add", "-A"],
        ["git", "-C", str(root), "commit", "-q", "-m", "bench: stand-in check commands"],
    ):
        subprocess.run(step, check=True, capture_output=True, env=env)


def pick_mode(layer: Layer, wanted: str) -> str:
    available = [name for name, script in MODE_SCRIPTS.items() if layer.script(script).is_file()]
    if wanted == "auto":
        return available[0]
    if wanted not in available:
        raise SystemExit(f"--mode {wanted}: the generated project has no {wanted} script")
    return wanted


def new_ids(n: int) -> list[str]:
    return ["b" + uuid.uuid4().hex[:7] for _ in range(n)]


def run_processes(layer: Layer, ids: list[str], concurrent: bool) -> set[str]:
    """N workflow processes at once, or one after another; returns the ids that failed."""
    script = str(layer.script(f"adw_{layer.workflow}.py"))
    logs = layer.work / "logs"

    def start(i: int, adw_id: str) -> subprocess.Popen[bytes]:
        with (logs / f"{adw_id}.log").open("wb") as out:
            return subprocess.Popen(
                [sys.executable, script, ISSUES[i % len(ISSUES)], "--adw-id", adw_id],
                cwd=layer.root,
                env=layer.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    failed: set[str] = set()
    if concurrent:
        running = [(adw_id, start(i, adw_id)) for i, adw_id in enumerate(ids)]
        for adw_id, proc in running:
            if proc.wait(timeout=900) != 0:
                failed.add(adw_id)
    else:
        for i, adw_id in enumerate(ids):
            if start(i, adw_id).wait(timeout=900) != 0:
                failed.add(adw_id)
    return failed


def run_launcher(layer: Layer, ids: list[str], concurrent: bool) -> set[str]:
    """adw_launch.py --local over N new issue files, K = N (or 1 for the baseline); the
    launcher names the runs, so `ids` is filled with its adw_ids."""
    files = []
    for i, tag in enumerate(ids):
        path = Path("issues") / f"{next(ISSUE_NUMBERS)}-bench-{tag}.md"
        body = f"# {ISSUES[i % len(ISSUES)]} ({tag})\n\nA benchmark issue.\n"
        (layer.root / path).parent.mkdir(exist_ok=True)
        (layer.root / path).write_text(body, encoding="utf-8")
        files.append(str(path))
    git(layer.root, "add", "issues")
    git(layer.root, "commit", "-q", "-m", f"bench: {len(files)} issues")
    k = str(len(ids) if concurrent else 1)
    command = [str(layer.script("adw_launch.py")), "--local", *files, "--max-concurrent", k]
    done = subprocess.run(
        [sys.executable, *command, "--workflow", layer.workflow],
        cwd=layer.root,
        env=layer.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    (layer.work / "logs" / f"launch-{ids[0]}.log").write_text(done.stderr, encoding="utf-8")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    ids[:] = [run["adw_id"] for run in report["runs"]]
    return {run["adw_id"] for run in report["runs"] if run["status"] != "completed"}


ENQUEUE = """
import json, sys
sys.path.insert(0, "adws")
from adw_modules.adw_database import OrchestratorDB
with OrchestratorDB.open() as db:
    for adw_id, text in json.loads(sys.argv[1]):
        db.create_run(adw_id, sys.argv[2], status="queued", issue_title=text,
                      details={"issue": text})
"""


def run_worker(layer: Layer, ids: list[str], concurrent: bool) -> set[str]:
    """N queued runs (issue text in the row), then adw_worker.py --until-empty with K = N (or
    1 for the baseline)."""
    runs = [(adw_id, ISSUES[i % len(ISSUES)]) for i, adw_id in enumerate(ids)]
    subprocess.run(
        [sys.executable, "-c", ENQUEUE, json.dumps(runs), layer.workflow],
        cwd=layer.root,
        env=layer.env,
        check=True,
    )
    k = str(len(ids) if concurrent else 1)
    with (layer.work / "logs").joinpath(f"worker-{ids[0]}.log").open("wb") as out:
        subprocess.run(
            [
                sys.executable,
                str(layer.script("adw_worker.py")),
                "--max-concurrent",
                k,
                "--until-empty",
            ],
            cwd=layer.root,
            env=layer.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=1800,
        )
    with sqlite3.connect(layer.database) as conn:
        statuses = dict(conn.execute("SELECT adw_id, status FROM runs").fetchall())
    return {adw_id for adw_id in ids if statuses.get(adw_id) != "completed"}


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


ISSUE_NUMBERS = itertools.count(1)
RunMany = Callable[[Layer, list[str], bool], set[str]]
MODES: dict[str, RunMany] = {
    "launcher": run_launcher,
    "worker": run_worker,
    "processes": run_processes,
}
# The script each mode needs in the generated project, in the order `--mode auto` tries them.
MODE_SCRIPTS = {
    "launcher": "adw_launch.py",
    "worker": "adw_worker.py",
    "processes": "adw_sdlc.py",
}


def run_batch(layer: Layer, n: int, concurrent: bool) -> Batch:
    ids = new_ids(n)
    cpu = children_cpu()
    started = time.perf_counter()
    failed = MODES[layer.mode](layer, ids, concurrent)
    seconds = time.perf_counter() - started
    drain = time.perf_counter()
    if not wait_until_recorded(layer.spool, timeout=300):
        print("warning: the hook spool did not drain within 300 s", file=sys.stderr)
    drained = time.perf_counter() - drain
    return Batch(n, concurrent, seconds, ids, failed, drained, children_cpu() - cpu)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def signature(database: Path, adw_id: str, present: set[str]) -> Rows:
    """The run's row count in every table that holds its rows."""
    with sqlite3.connect(database) as conn:
        return tuple(
            (table, int(conn.execute(sql, {"id": adw_id}).fetchone()[0]))
            for table, sql in ROW_QUERIES.items()
            if table in present
        )


def run_complete(layer: Layer, adw_id: str) -> bool:
    """Its state file says every phase completed (or was skipped), its runs row (where there
    is one) says completed, and every agent of the run has a prompt. Missing agents show in
    the row counts, compared with the baseline's."""
    state_file = Path(layer.env["TAC_ADW_RUNS_DIR"]) / adw_id / "adw_state.json"
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    phases = state.get("phases") or {}
    if not phases or any(p.get("status") not in ("completed", "skipped") for p in phases.values()):
        return False
    with sqlite3.connect(layer.database) as conn:
        bare = conn.execute(
            "SELECT count(*) FROM agents a WHERE a.adw_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM prompts p WHERE p.agent_id = a.id)",
            (adw_id,),
        ).fetchone()
        run_status: list[tuple[str]] = []
        if "runs" in tables(layer.database):
            run_status = conn.execute(
                "SELECT status FROM runs WHERE adw_id = ?", (adw_id,)
            ).fetchall()
    return int(bare[0]) == 0 and all(status == "completed" for (status,) in run_status)


def measure(layer: Layer, sizes: list[int], rounds: int) -> list[Batch]:
    batches = []
    for number in range(rounds):
        for n in sizes:
            order = [False, True]
            random.shuffle(order)
            for concurrent in order:
                batch = run_batch(layer, n, concurrent)
                batches.append(batch)
                how = "at once" if concurrent else "one by one"
                print(
                    f"round {number + 1} N={n} {how}: {batch.seconds:.1f} s, "
                    f"{len(batch.failed)} failed, drain {batch.drain_seconds:.1f} s",
                    file=sys.stderr,
                )
    return batches


def lost_runs(layer: Layer, batch: Batch, signatures: dict[str, Rows], expected: Rows) -> list[str]:
    """The batch's runs that failed, are incomplete, or left other rows than the baseline's."""
    lost = []
    for adw_id in batch.adw_ids:
        if adw_id in batch.failed:
            lost.append(f"{adw_id}: its process failed")
        elif not run_complete(layer, adw_id):
            lost.append(f"{adw_id}: not completed, or a phase without agent or prompt")
        elif signatures[adw_id] != expected:
            lost.append(f"{adw_id}: rows {dict(signatures[adw_id])}")
    return lost


def clashes(layer: Layer, batch: Batch) -> list[str]:
    """Runs of one batch sharing a branch or a worktree, or a port slot while both ran."""
    if "runs" not in tables(layer.database):
        return []
    marks = ",".join("?" * len(batch.adw_ids))
    with sqlite3.connect(layer.database) as conn:
        rows = conn.execute(
            "SELECT adw_id, branch, worktree, port_base, started_at, completed_at FROM runs "
            f"WHERE adw_id IN ({marks})",
            batch.adw_ids,
        ).fetchall()
    found = []
    for i, (one, branch, tree, port, start, end) in enumerate(rows):
        for other, branch2, tree2, port2, start2, end2 in rows[i + 1 :]:
            overlap = bool(start and start2 and start < (end2 or "~") and start2 < (end or "~"))
            if (branch and branch == branch2) or (tree and tree == tree2):
                found.append(f"{one} and {other}: the same branch or worktree")
            elif port is not None and port == port2 and overlap:
                found.append(f"{one} and {other}: port slot {port} at the same time")
    return found


def report(layer: Layer, batches: list[Batch], sizes: list[int]) -> int:
    """Print the table (Markdown) and the checks; returns how many runs were lost or clashed."""
    present = tables(layer.database)
    signatures = {i: signature(layer.database, i, present) for b in batches for i in b.adw_ids}
    baseline = [signatures[i] for b in batches if not b.concurrent for i in b.adw_ids]
    expected = Counter(baseline).most_common(1)[0][0]
    print(f"mode: {layer.mode}, workflow: {layer.workflow}; rows of one run: {dict(expected)}")
    print()
    print(
        "| N | one after another: runs/min | N at once: runs/min | speed-up | CPU s/run "
        "| rows/run | lost |"
    )
    print("|---|---|---|---|---|---|---|")
    problems: list[str] = []
    clashed: list[str] = []
    for n in sizes:
        rate, lost, made = {}, {}, {}
        for concurrent in (False, True):
            chosen = [b for b in batches if b.n == n and b.concurrent is concurrent]
            rate[concurrent] = statistics.median(60 * n / b.seconds for b in chosen)
            found = [p for b in chosen for p in lost_runs(layer, b, signatures, expected)]
            lost[concurrent], made[concurrent] = len(found), n * len(chosen)
            problems += found
            clashed += [c for b in chosen for c in clashes(layer, b)]
        cpu = statistics.median(b.cpu_seconds / n for b in batches if b.n == n)
        rows = statistics.median(
            sum(count for _, count in signatures[i]) for b in batches if b.n == n for i in b.adw_ids
        )
        print(
            f"| {n} | {rate[False]:.1f} | {rate[True]:.1f} | {rate[True] / rate[False]:.2f}x "
            f"| {cpu:.1f} | {rows:.0f} | {lost[True]} of {made[True]} (baseline {lost[False]} of "
            f"{made[False]}) |"
        )
    with sqlite3.connect(layer.database) as conn:
        warnings = conn.execute(
            "SELECT count(*) FROM system_logs WHERE log_level IN ('WARNING', 'ERROR', 'CRITICAL')"
        ).fetchone()[0]
    fallback = Path(layer.env["TAC_HOOK_FALLBACK_LOG"])
    stuck = len(fallback.read_text().splitlines()) if fallback.exists() else 0
    print()
    print(f"runs: {len(signatures)}, lost: {len(problems)}, clashes: {len(clashed)}, ", end="")
    print(f"system_logs warnings and errors: {warnings}, events left in the fallback file: {stuck}")
    for problem in problems:
        print(f"lost: {problem}")
    for clash in clashed:
        print(f"clash: {clash}")
    return len(problems) + len(clashed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="1,2,4,8", help="comma-separated run counts")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mode", default="auto", choices=["auto", *MODES])
    parser.add_argument("--workflow", default="sdlc")
    parser.add_argument("--keep", action="store_true", help="keep the generated project")
    args = parser.parse_args()
    sizes = [int(v) for v in args.n.split(",") if v]
    work = Path(tempfile.mkdtemp(prefix="bench-concurrent-"))
    try:
        layer = generate(work, args.workflow, args.mode)
        print(
            f"project: {layer.root} ({layer.mode}); cpus: {os.cpu_count()}, "
            f"load: {os.getloadavg()[0]:.1f}",
            file=sys.stderr,
        )
        batches = measure(layer, sizes, args.rounds)
        lost = report(layer, batches, sizes)
    finally:
        if args.keep:
            print(f"kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
