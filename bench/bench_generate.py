"""Generation speed side by side: `tac-bootstrap init`, cookiecutter and copier on the same project.

Run: .venv/bin/python bench/bench_generate.py [--runs N] (cookiecutter and copier come with
`pip install -e '.[bench]'`; without them their rows are skipped). The cookiecutter and copier
templates are built from our own `init demo --no-git --yes` output (bench/equivalent_templates.py)
and each tool's output is checked identical to ours (bytes and modes) before anything is timed.
Whole processes are timed, interleaved (one run of every case per round), median of N rounds;
"cold" gives every run empty caches (a fresh XDG cache/config dir, so our compiled-template cache
is empty, and fresh cookiecutter clone and replay dirs). `python -c pass` and `cp -r` of the
rendered tree are the floors. The in-process API rows show what is left after start-up.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import equivalent_templates as templates
from tac_bootstrap.application.plan_executor import PlanExecutor
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import new_config

NAME = "demo"
BIN = Path(sys.executable).parent
XDG = ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")


@dataclass
class Case:
    """One command line per run; ``command(out, home)`` gets a fresh output and cache dir."""

    name: str
    command: Callable[[Path, Path], list[str]]
    cold: bool = False
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def _environment(home: Path) -> dict[str, str]:
    """Fresh XDG dirs for a cold run; compiled modules kept, as on users' machines (pip compiles
    at install), also where PYTHONDONTWRITEBYTECODE=1 is set (some CI machines)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for variable in XDG:
        env[variable] = str(home / variable.lower())
    return env


def _run(case: Case, root: Path, label: str, warm_home: Path) -> None:
    out = root / "out" / label
    home = root / "homes" / label if case.cold else warm_home
    home.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = case.command(out, home)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        argv, check=True, capture_output=True, stdin=subprocess.DEVNULL, env=_environment(home)
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    case.wall.append(wall * 1000)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    case.cpu.append(cpu * 1000)
    shutil.rmtree(out, ignore_errors=True)
    if case.cold:
        shutil.rmtree(home, ignore_errors=True)


def _cookiecutter(template: Path) -> Callable[[Path, Path], list[str]]:
    def command(out: Path, home: Path) -> list[str]:
        config = templates.cookiecutter_config(home)
        options = ["--no-input", "--config-file", str(config), "-o", str(out)]
        return [str(BIN / "cookiecutter"), *options, str(template)]

    return command


def _copier(template: Path) -> Callable[[Path, Path], list[str]]:
    def command(out: Path, home: Path) -> list[str]:
        copier = str(BIN / "copier")
        return [copier, "copy", "--defaults", "--quiet", str(template), str(out / NAME)]

    return command


def _process_cases(root: Path, ours: Path) -> list[Case]:
    """Every whole-process case; cookiecutter and copier only where installed (and equal)."""
    cli = str(BIN / "tac-bootstrap")

    def init(out: Path, home: Path) -> list[str]:
        return [cli, "init", NAME, "-o", str(out), "--yes", "--no-git"]

    cases = [
        Case("python -c pass", lambda out, home: [sys.executable, "-c", "pass"]),
        Case("cp -r of the rendered tree", lambda out, home: ["cp", "-r", str(ours), str(out)]),
        Case("tac-bootstrap init --no-git", init),
        Case("tac-bootstrap init --no-git, cold", init, cold=True),
    ]
    for tool, build, command in (
        ("cookiecutter --no-input", templates.build_cookiecutter, _cookiecutter),
        ("copier copy --defaults", templates.build_copier, _copier),
    ):
        if not (BIN / tool.split()[0]).exists():
            print(f"{tool}: skipped (not installed: pip install -e '.[bench]')")
            continue
        template = build(ours, NAME, root)
        _check_equivalent(tool, command(template), ours, root)
        cases.append(Case(tool, command(template)))
        cases.append(Case(f"{tool}, cold", command(template), cold=True))
    return cases


def _check_equivalent(
    tool: str, command: Callable[[Path, Path], list[str]], ours: Path, root: Path
) -> None:
    out, home = root / "check" / tool.split()[0], root / "check-home"
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run(command(out, home), check=True, capture_output=True, env=_environment(home))
    problems = templates.identical(ours, out / NAME)
    if problems:
        raise SystemExit(f"{tool} output differs from ours:\n  " + "\n  ".join(problems[:20]))
    files = len(templates.files_of(ours))
    print(f"{tool}: output identical to ours ({files} files, bytes and modes)")


def _api_cases(root: Path, runs: int) -> dict[str, float]:
    """In-process: what generation costs once the interpreter and imports are paid."""
    config = new_config(NAME)
    service = ScaffoldService()
    executor = PlanExecutor(service)
    results = {}
    api_cases = (("API: plan + render + write", True), ("API: re-run, all identical", False))
    for label, fresh in api_cases:
        samples = []
        for i in range(-1, runs):
            target = root / "api" / (f"p{i}" if fresh else "same")
            start = time.perf_counter()
            executor.apply(service.build_plan(config, include_config=True), config, target)
            if i >= 0:
                samples.append((time.perf_counter() - start) * 1000)
        results[label] = statistics.median(samples)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ours = templates.render_ours(str(BIN / "tac-bootstrap"), NAME, root / "ours")
        cases = _process_cases(root, ours)
        warm_home = root / "warm-home"
        for case in cases:  # warm-up: fills the warm caches, loads the files into the OS cache
            _run(case, root, f"warmup-{cases.index(case)}", warm_home)
            case.wall.clear()
            case.cpu.clear()
        for i in range(args.runs):
            for n, case in enumerate(cases):
                _run(case, root, f"{n}-{i}", warm_home)
        api = _api_cases(root, args.runs)
        files = len(templates.files_of(ours))
    _report(cases, api, args.runs, files)


def _report(cases: list[Case], api: dict[str, float], runs: int, files: int) -> None:
    medians = {c.name: (statistics.median(c.wall), statistics.median(c.cpu)) for c in cases}
    print(f"\n{files} files per project, median of {runs} interleaved runs (wall / CPU ms)")
    ratios = [("x cookiecutter", "cookiecutter --no-input"), ("x copier", "copier copy --defaults")]
    header = "".join(f" {label:>15}" for label, _ in ratios)
    print(f"{'case':<38} {'wall ms':>8} {'cpu ms':>8}{header}")
    for case in cases:
        wall, cpu = medians[case.name]
        cells = ""
        for _, tool in ratios:
            suffix = ", cold" if case.cold else ""
            reference = medians.get(tool + suffix)
            cells += f" {wall / reference[0]:>7.2f}/{cpu / reference[1]:<7.2f}" if reference else ""
        print(f"{case.name:<38} {wall:>8.1f} {cpu:>8.1f}{cells}")
    for name, ms in api.items():
        print(f"{name:<38} {ms:>8.1f}")
    print("ratios: wall/CPU against the same tool, warm against warm and cold against cold")


if __name__ == "__main__":
    main()
