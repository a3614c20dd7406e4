"""Generation speed: `tac-bootstrap init` end to end and in-process, against `cp -r`.

Run: .venv/bin/python bench/bench_generate.py [--runs N]
`cp -r` of the already rendered tree is the floor: it is what writing the same files costs
without rendering or checking anything.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tac_bootstrap.application.plan_executor import PlanExecutor
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import new_config


def median_ms(action: Callable[[int], object], runs: int) -> float:
    action(-1)  # warm-up
    samples = []
    for i in range(runs):
        start = time.perf_counter()
        action(i)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    cli = str(Path(sys.executable).parent / "tac-bootstrap")
    config = new_config("bench")
    service = ScaffoldService()
    executor = PlanExecutor(service)
    plan = service.build_plan(config, include_config=True)
    files = len(plan.files)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)

        def cli_init(i: int) -> None:
            subprocess.run(
                [cli, "init", f"p{i}", "-o", str(root / "cli"), "--yes", "--no-git"],
                check=True,
                capture_output=True,
                stdin=subprocess.DEVNULL,
            )

        def cli_init_git(i: int) -> None:
            subprocess.run(
                [cli, "init", f"p{i}", "-o", str(root / "cli-git"), "--yes"],
                check=True,
                capture_output=True,
                stdin=subprocess.DEVNULL,
            )

        def api_apply(i: int) -> None:
            executor.apply(plan, config, root / "api" / f"p{i}")

        def api_identical(i: int) -> None:
            executor.apply(plan, config, root / "api" / "p-1")

        def copy_tree(i: int) -> None:
            subprocess.run(
                ["cp", "-r", str(root / "api" / "p-1"), str(root / "cp" / f"p{i}")], check=True
            )

        (root / "cp").mkdir()
        results: dict[str, float] = {}
        results["API: plan + render + write"] = median_ms(api_apply, args.runs)
        results["API: re-run, all identical"] = median_ms(api_identical, args.runs)
        results["cp -r of the rendered tree"] = median_ms(copy_tree, args.runs)
        results["tac-bootstrap init --no-git"] = median_ms(cli_init, args.runs)
        results["tac-bootstrap init (+ git)"] = median_ms(cli_init_git, args.runs)
        shutil.rmtree(root / "cli", ignore_errors=True)

    floor = results["cp -r of the rendered tree"]
    print(f"{files} files per project, median of {args.runs} runs")
    print(f"{'case':<32} {'median ms':>10} {'ms/file':>8} {'x cp -r':>8}")
    for name, ms in results.items():
        print(f"{name:<32} {ms:>10.2f} {ms / files:>8.2f} {ms / floor:>8.2f}")


if __name__ == "__main__":
    main()
