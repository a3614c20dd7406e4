"""Start-up and check time of the PreToolUse guard (.claude/hooks/tool_guard.py).

Run: .venv/bin/python bench/bench_guard.py [--runs N] [--python /usr/bin/python3]
Claude Code runs the guard before every tool call, so its cost is paid on each one. Renders a
project's guard and times, side by side in one run (interleaved, medians), `python3 -S -c
pass`, the guard for a Read (nothing to check), and the guard for a long Bash command, each
through the settings.json command (sh + python3 -S), and prints the ratios to the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import TacConfig

LONG_COMMAND = " && ".join(
    [
        "cd src",
        "python -m pytest -q tests/test_a.py tests/test_b.py",
        "ruff check . | tee lint.txt",
        "rm -rf build/ dist/ *.egg-info",
        "git add -A",
        "git commit -m 'message with $(echo substitution) and \"quotes\"'",
        "git push -u origin feature/x",
    ]
)


def render(root: Path) -> str:
    """The guard files and the PreToolUse guard command of a generated project."""
    config = TacConfig.model_validate({"project": {"name": "bench"}})
    service = ScaffoldService()
    for op in service.build_plan(config).operations:
        if op.path.startswith(".claude/"):
            target = root / op.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(service.content_for(op, config))
    settings = json.loads((root / ".claude/settings.json").read_text())
    hooks = settings["hooks"]["PreToolUse"][0]["hooks"]
    return str(next(h["command"] for h in hooks if "tool_guard" in h["command"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--python", default=os.path.realpath(sys.executable))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        command = render(root)
        env = {**os.environ, "CLAUDE_PROJECT_DIR": str(root), "TAC_PYTHON": args.python}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a user's machine: modules cached
        env["XDG_CACHE_HOME"] = str(root / "cache")
        read = json.dumps({"tool_name": "Read", "tool_input": {"file_path": "README.md"}})
        bash = json.dumps(
            {"tool_name": "Bash", "tool_input": {"command": LONG_COMMAND}, "cwd": str(root)}
        )
        cases: dict[str, tuple[list[str], str]] = {
            "python3 -S -c pass": (["sh", "-c", '"$TAC_PYTHON" -S -c pass'], ""),
            "guard, Read": (["sh", "-c", command], read),
            "guard, long Bash": (["sh", "-c", command], bash),
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for name, (cmd, stdin) in cases.items():  # warm up; each must allow
            done = subprocess.run(cmd, input=stdin, text=True, capture_output=True, env=env)
            assert done.returncode == 0, (name, done.stderr)
        order = list(cases.items())
        for _ in range(args.runs):
            random.shuffle(order)  # no case always runs first (or after the same one)
            for name, (cmd, stdin) in order:
                start = time.perf_counter()
                subprocess.run(cmd, input=stdin, text=True, capture_output=True, env=env)
                samples[name].append((time.perf_counter() - start) * 1000)
        floor = statistics.median(samples["python3 -S -c pass"])
        print(f"{args.python}, {args.runs} runs each, interleaved (median ms)")
        for name, values in samples.items():
            median = statistics.median(values)
            low = min(values)
            print(f"  {name:<20} {median:7.1f} ms   x{median / floor:.2f}   (fastest {low:.1f} ms)")


if __name__ == "__main__":
    main()
