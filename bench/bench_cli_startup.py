"""Start-up time of `tac-bootstrap --help` against the floors it competes with.

Run: .venv/bin/python bench/bench_cli_startup.py [--runs N]
Prints medians measured side by side in one run, and ratios to `python -c pass` and a
minimal typer app, so figures from different machines stay comparable.
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


def median_ms(cmd: list[str], runs: int) -> float:
    subprocess.run(cmd, capture_output=True, check=True)  # warm the page cache and .pyc files
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp, "minimal_typer.py")
        minimal.write_text(MINIMAL_TYPER_APP)
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "minimal typer app --help": [sys.executable, str(minimal), "--help"],
            "tac-bootstrap --help": [str(bin_dir / "tac-bootstrap"), "--help"],
            "tac-bootstrap --version": [str(bin_dir / "tac-bootstrap"), "--version"],
        }
        results = {name: median_ms(cmd, args.runs) for name, cmd in cases.items()}
    typer_floor = results["minimal typer app --help"]
    print(f"{'command':<28} {'median ms':>10} {'x minimal typer':>16}")
    for name, ms in results.items():
        print(f"{name:<28} {ms:>10.1f} {ms / typer_floor:>16.2f}")
    print(f"(median of {args.runs} runs each; target: tac-bootstrap --help under 120 ms)")


if __name__ == "__main__":
    main()
