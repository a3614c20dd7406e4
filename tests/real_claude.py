"""Running the real Claude Code CLI in tests, against the fake model API (tests/fake_anthropic).

The CLI is the pinned npm package `make test` installs into .tools/claude-code (or the one
TAC_CLAUDE_CLI names). Each run gets a throwaway HOME, telemetry, auto-update and
non-essential traffic off, and ANTHROPIC_BASE_URL pointing at a server on 127.0.0.1, so
nothing leaves the machine. Without the CLI the tests that need it are skipped under a
banner, or fail where TAC_REQUIRE_CLAUDE=1 (.ci/run sets it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CLI_ENV_VAR = "TAC_CLAUDE_CLI"
REQUIRE_ENV_VAR = "TAC_REQUIRE_CLAUDE"
SKIP_PREFIX = "Claude Code CLI unavailable:"
INSTALLED = REPO_ROOT / ".tools" / "claude-code" / "node_modules" / ".bin" / "claude"

# What a developer's own environment may hold that would change how the CLI under test runs.
SCRUBBED_PREFIXES = ("ANTHROPIC_", "CLAUDE", "TAC_", "FAKE_CLAUDE_", "ADW_")


def find_cli() -> tuple[Path | None, str]:
    """(the CLI, or None with the reason it is missing)."""
    configured = os.environ.get(CLI_ENV_VAR)
    if configured:
        path = Path(configured)
        return (path, "") if path.is_file() else (None, f"{CLI_ENV_VAR}={configured} not found")
    if INSTALLED.exists():
        return INSTALLED, ""
    if shutil.which("npm") is None:
        return None, "npm/node not found (install nodejs and npm, then `make test`)"
    return None, f"{INSTALLED.relative_to(REPO_ROOT)} missing (run `make claude-cli`)"


def claude_env(base_url: str, home: Path, **extra: str) -> dict[str, str]:
    """The CLI's environment: only what it needs, pointed at the fake API."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
    env.update(
        HOME=str(home),
        ANTHROPIC_BASE_URL=base_url,
        ANTHROPIC_API_KEY="sk-ant-test-not-a-real-key",
        DISABLE_TELEMETRY="1",
        DISABLE_AUTOUPDATER="1",
        DISABLE_ERROR_REPORTING="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        # A fault must not make a test wait for the CLI's ten retries with back-off.
        CLAUDE_CODE_MAX_RETRIES="1",
        NO_COLOR="1",
    )
    env.update(extra)
    return env


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def events(self) -> list[dict[str, Any]]:
        found = []
        for line in self.stdout.splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return found

    @property
    def result(self) -> dict[str, Any]:
        """The last result line: the run's outcome (a background subagent makes two)."""
        results = [e for e in self.events if e.get("type") == "result"]
        assert results, f"no result line; stderr: {self.stderr[-2000:]}"
        return results[-1]


def print_mode(prompt: str, *more: str, model: str = "sonnet") -> list[str]:
    """`claude -p PROMPT` arguments for stream-json output, as the workflows run it."""
    return ["-p", prompt, "--output-format", "stream-json", "--verbose", "--model", model, *more]


def run_claude(
    cli: Path, args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 180
) -> CliRun:
    """One `claude -p ... --output-format stream-json --verbose` run, as a real process."""
    done = subprocess.run(
        [str(cli), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliRun(done.returncode, done.stdout, done.stderr)
