"""Start-up time of `tac-bootstrap --help` and of the everyday commands (`db status`,
`render --check`, `doctor` on a freshly initialised project; `db status` and `doctor` again
on a project whose database exists) against the floors they compete with.

Run: .venv/bin/python bench/bench_cli_startup.py [--runs N]
Prints medians measured side by side in one run (each round runs every case once, so load
changes hit all cases alike), wall clock and the child's CPU time (user + system, which a
loaded machine disturbs less), and ratios to a minimal typer app, so figures from different
machines stay comparable: to its `--help` and to its `init demo` (a command with one str
argument, which makes typer build a pydantic TypeAdapter, as every real command does).
`--before DIR` also times the three everyday commands of another checkout (DIR is its root;
its package is put first on PYTHONPATH) in the same rounds, for before/after figures that
share one machine state.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MINIMAL_TYPER_APP = """
import typer
app = typer.Typer(rich_markup_mode=None)
@app.command()
def init(name: str) -> None: ...
@app.command()
def render() -> None: ...
app()
"""


HELP_BASELINE = "minimal typer app --help"
COMMAND_BASELINE = "minimal typer app init demo"

Case = tuple[list[str], Path | None, dict[str, str] | None]  # command, cwd, environment


def run_once(cmd: list[str], cwd: Path | None, env: dict[str, str] | None) -> tuple[float, float]:
    """One run's wall clock and CPU time (user + system of the child and its children), ms."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, cwd=cwd, env=env, check=False)
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # doctor exits 1 when a tool (e.g. the claude CLI) is missing; it still ran every check.
    if result.returncode not in (0, 1) or b"Traceback (most recent call last)" in result.stderr:
        raise SystemExit(f"error: {' '.join(cmd)} failed: {result.stderr.decode()[-400:]}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def medians(cases: dict[str, Case], runs: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU ms per case, over `runs` interleaved rounds (after one warm-up)."""
    for cmd, cwd, env in cases.values():
        run_once(cmd, cwd, env)  # warm the page cache and .pyc files
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, (cmd, cwd, env) in cases.items():
            samples[name].append(run_once(cmd, cwd, env))
    return {
        name: (statistics.median(s[0] for s in runs_), statistics.median(s[1] for s in runs_))
        for name, runs_ in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--before", type=Path, help="root of another checkout to time too")
    args = parser.parse_args()
    # As on users' machines (pip compiles a wheel's modules at install): compiled modules are
    # kept. With PYTHONDONTWRITEBYTECODE=1, set on some CI machines, every run of an editable
    # install compiled the package from source again (~50 ms a command here), while typer and
    # the baselines' libraries kept pip's compiled files.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    bin_dir = Path(sys.executable).parent
    tac = str(bin_dir / "tac-bootstrap")
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp, "minimal_typer.py")
        minimal.write_text(MINIMAL_TYPER_APP)
        subprocess.run([tac, "init", "demo", "-o", tmp, "--yes"], capture_output=True, check=True)
        project = Path(tmp, "demo")
        # A second project whose database exists (as it does once any workflow or hook ran):
        # `db status` then opens it, reads its tables and replays the hook spool.
        subprocess.run([tac, "init", "used", "-o", tmp, "--yes"], capture_output=True, check=True)
        used = Path(tmp, "used")
        subprocess.run([tac, "db", "init"], cwd=used, capture_output=True, check=True)
        cases: dict[str, Case] = {
            "python -c pass": ([sys.executable, "-c", "pass"], None, None),
            HELP_BASELINE: ([sys.executable, str(minimal), "--help"], None, None),
            COMMAND_BASELINE: ([sys.executable, str(minimal), "init", "demo"], None, None),
            "tac-bootstrap --help": ([tac, "--help"], None, None),
            "tac-bootstrap --version": ([tac, "--version"], None, None),
        }
        everyday = [["db", "status"], ["render", "--check"], ["doctor"]]
        for words in everyday:
            cases[f"tac-bootstrap {' '.join(words)}"] = ([tac, *words], project, None)
        cases["tac-bootstrap db status (db)"] = ([tac, "db", "status"], used, None)
        # doctor then opens it too (integrity, foreign keys, migrations) and checks its files.
        cases["tac-bootstrap doctor (db)"] = ([tac, "doctor"], used, None)
        if args.before is not None:
            package = str(args.before.resolve() / "tac_bootstrap_cli")
            env = {**os.environ, "PYTHONPATH": package}
            # Through `-m tac_bootstrap`: its console script may name a module the other
            # checkout lacks (cli/entry.py is new in session 25).
            # `now:` runs this checkout the same way, so the pairs compare like with like.
            module = [sys.executable, "-m", "tac_bootstrap"]
            # A project of its own, made by that checkout: the memos are kept per project (two
            # installations taking turns on one would replace each other's at every round),
            # and a layer made by this checkout would be drift to the other one, whose
            # `render --check` and doctor would then never answer from a memo.
            theirs = Path(tmp, "before-demo")
            made = [*module, "init", theirs.name, "-o", tmp, "--yes"]
            subprocess.run(made, capture_output=True, check=True, env=env)
            for words in everyday:
                cases[f"now: {' '.join(words)}"] = ([*module, *words], project, None)
                cases[f"before: {' '.join(words)}"] = ([*module, *words], theirs, env)
        results = medians(cases, args.runs)
    print_table(results, args.runs)


def print_table(results: dict[str, tuple[float, float]], runs: int) -> None:
    """Every row against both baselines: the minimal typer app's --help, and the same app
    running a command with one str argument (typer's dispatch builds a pydantic TypeAdapter
    per non-bool parameter, which --help never does)."""
    baselines = (results[HELP_BASELINE], results[COMMAND_BASELINE])
    print(
        f"{'command':<32} {'wall ms':>8} {'x help':>7} {'x cmd':>7}"
        f" {'CPU ms':>8} {'x help':>7} {'x cmd':>7}"
    )
    for name, (wall, cpu) in results.items():
        wall_ratios = " ".join(f"{wall / base[0]:>7.2f}" for base in baselines)
        cpu_ratios = " ".join(f"{cpu / base[1]:>7.2f}" for base in baselines)
        print(f"{name:<32} {wall:>8.1f} {wall_ratios} {cpu:>8.1f} {cpu_ratios}")
    print(
        f"(median of {runs} interleaved rounds; x help: ratio to `{HELP_BASELINE}`, x cmd: "
        f"ratio to `{COMMAND_BASELINE}`; targets: --help under 120 ms; db status, "
        "render --check and doctor at most 2x the minimal typer app, stated against both)"
    )


if __name__ == "__main__":
    main()
