"""Start-up time of `tac-bootstrap --help` and of the everyday commands (`db status`,
`render --check`, `doctor` on a freshly initialised project) against the floors they compete
with.

Run: .venv/bin/python bench/bench_cli_startup.py [--runs N]
Prints medians measured side by side in one run, and ratios to a minimal typer app, so
figures from different machines stay comparable.
"""

from __future__ import annotations

import argparse
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


def run_once(cmd: list[str], cwd: Path | None) -> None:
    result = subprocess.run(cmd, capture_output=True, cwd=cwd, check=False)
    # doctor exits 1 when a tool (e.g. the claude CLI) is missing; it still ran every check.
    if result.returncode not in (0, 1):
        raise SystemExit(f"error: {' '.join(cmd)} failed: {result.stderr.decode()[-400:]}")


def median_ms(cmd: list[str], runs: int, cwd: Path | None = None) -> float:
    run_once(cmd, cwd)  # warm the page cache and .pyc files
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        run_once(cmd, cwd)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    tac = str(bin_dir / "tac-bootstrap")
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp, "minimal_typer.py")
        minimal.write_text(MINIMAL_TYPER_APP)
        subprocess.run([tac, "init", "demo", "-o", tmp, "--yes"], capture_output=True, check=True)
        project = Path(tmp, "demo")
        cases: dict[str, tuple[list[str], Path | None]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], None),
            "minimal typer app --help": ([sys.executable, str(minimal), "--help"], None),
            "tac-bootstrap --help": ([tac, "--help"], None),
            "tac-bootstrap --version": ([tac, "--version"], None),
            "tac-bootstrap db status": ([tac, "db", "status"], project),
            "tac-bootstrap render --check": ([tac, "render", "--check"], project),
            "tac-bootstrap doctor": ([tac, "doctor"], project),
        }
        results = {name: median_ms(cmd, args.runs, cwd) for name, (cmd, cwd) in cases.items()}
    typer_floor = results["minimal typer app --help"]
    print(f"{'command':<30} {'median ms':>10} {'x minimal typer':>16}")
    for name, ms in results.items():
        print(f"{name:<30} {ms:>10.1f} {ms / typer_floor:>16.2f}")
    print(
        f"(median of {args.runs} runs each; targets: --help under 120 ms; db status, "
        "render --check and doctor at most 2x the minimal typer app)"
    )


if __name__ == "__main__":
    main()
