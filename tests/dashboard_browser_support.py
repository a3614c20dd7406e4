"""What the real-browser tests of the dashboard share: the dashboard served by the real CLI on
127.0.0.x, and a writer that records runs through the generated project's own runtime.

The server is `python -m tac_bootstrap dashboard` in its own process (the same code path a user
runs); the writer is another process using the project's adws/adw_modules OrchestratorDB, so
what reaches the page crossed processes the way a workflow's or a hook's rows do.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

STARTUP_SECONDS = 60.0
# Markup a page would run if it wrote data as HTML (short enough for the runs list's 80-character
# issue label).
XSS = '<script>window.__tacXss=1</script><img src="x" onerror="window.__tacXss=2">'

# The writer: one JSON document of steps on argv[2]; the project's runtime on argv[1].
WRITER = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    from adw_modules.adw_database import OrchestratorDB

    steps = json.loads(sys.argv[2])
    with OrchestratorDB.open() as db:
        ids = {}
        for step in steps:
            kind = step.pop("do")
            if kind == "run":
                db.create_run(step["adw_id"], step.get("workflow", "sdlc"),
                              issue_title=step.get("title", ""))
            elif kind == "agent":
                owner = db.register_orchestrator_agent(step.get("owner", "planner"), "planner")
                agent = db.start_agent(owner.id, step["adw_id"], adw_id=step["adw_id"],
                                       name=step["name"], model=step.get("model"),
                                       context={"phase": step["name"]})
                ids[step["name"]] = agent.id
            elif kind == "prompt":
                prompt = db.start_prompt(ids[step["agent"]], step["text"], model=step["model"])
                db.complete_prompt(prompt.id, input_tokens=step["input"],
                                   output_tokens=step["output"], cost_usd=step["cost"],
                                   latency_ms=step.get("latency_ms", 1200))
            elif kind == "prompt_start":  # a prompt still waiting for its answer
                ids["prompt"] = db.start_prompt(ids[step["agent"]], step["text"],
                                                model=step["model"]).id
            elif kind == "prompt_done":
                db.complete_prompt(step["prompt_id"], response_text=step["response"],
                                   input_tokens=5, output_tokens=7, cost_usd=0.002)
            elif kind == "log":
                db.log_agent(ids[step["agent"]], step.get("type", "hook"), step["message"],
                             level=step.get("level", "INFO"), details=step.get("details"),
                             tool_use_id=step.get("tool_use_id"))
            elif kind == "agent_done":
                db.set_agent_status(ids[step["agent"]], step.get("status", "completed"))
            elif kind == "finish":
                db.finish_run(step["adw_id"], step["status"])
            elif kind == "sleep":
                time.sleep(step["seconds"])
        print(json.dumps(ids))
    """
)


def require_app() -> None:
    """The app must be importable: skipped while it is missing, failed where browsers are
    required (CI), since then nothing of the dashboard would be tested in a browser."""
    try:
        import starlette  # noqa: F401

        import tac_bootstrap.cli.dashboard
        import tac_bootstrap.dashboard.app  # noqa: F401
    except ImportError as exc:
        message = f"the dashboard app cannot be imported ({exc}): pip install -e '.[dashboard]'"
        if os.environ.get("TAC_REQUIRE_BROWSER") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def write(project: Path, steps: list[dict[str, Any]], env: dict[str, str]) -> dict[str, str]:
    """Run the writer to completion; returns the agents' ids by name."""
    result = subprocess.run(
        [sys.executable, "-c", WRITER, str(project / "adws"), json.dumps(steps)],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    ids: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return ids


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Dashboard:
    host: str
    port: int
    process: subprocess.Popen[str]
    token: str | None
    log: Path

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def get(self, path: str, *, token: str | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url(path))
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            return int(error.code), bytes(error.read())

    def json(self, path: str) -> Any:
        status, body = self.get(path, token=self.token)
        assert status == 200, (path, status, body[:500])
        return json.loads(body)


def _wait_until_serving(dashboard: Dashboard) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if dashboard.process.poll() is not None:
            output = dashboard.log.read_text(encoding="utf-8", errors="replace")
            raise AssertionError(f"dashboard exited {dashboard.process.returncode}: {output}")
        try:
            dashboard.get("/api/runs?limit=1", token=dashboard.token)
            return
        except (ConnectionError, urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise AssertionError(f"dashboard not serving on {dashboard.base} after {STARTUP_SECONDS}s")


@contextmanager
def serve(
    project: Path,
    env: dict[str, str],
    *,
    host: str = "127.0.0.1",
    token: str | None = None,
    port: int | None = None,
) -> Iterator[Dashboard]:
    """`tac-bootstrap dashboard --project P --host H --port N` until the block ends (its output
    goes to a file beside the project: a pipe nobody reads would stall the server)."""
    port = port or free_port(host)
    full_env = {**os.environ, **env}
    full_env.pop("TAC_DASHBOARD_TOKEN", None)
    log_path = project.parent / f"dashboard-{port}-{uuid.uuid4().hex[:6]}.log"
    log = log_path.open("w", encoding="utf-8")
    if token is not None:
        full_env["TAC_DASHBOARD_TOKEN"] = token
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tac_bootstrap",
            "dashboard",
            "--project",
            str(project),
            "--host",
            host,
            "--port",
            str(port),
        ],
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    dashboard = Dashboard(host, port, process, token, log_path)
    try:
        _wait_until_serving(dashboard)
        yield dashboard
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
