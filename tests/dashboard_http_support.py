"""The dashboard's HTTP tests' common parts: a project on either backend with a database
holding runs, sessions, prompts and hook events (attacker-controlled text included), the
dashboard served by uvicorn in a thread on 127.0.0.1 (port 0), and plain urllib requests
that never follow redirects."""

from __future__ import annotations

import json
import os
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tac_bootstrap import api
from tac_bootstrap.dashboard.server import Dashboard
from tac_bootstrap.runtime.adw_database import OrchestratorDB

PASSWORD = "s3cret-Dash-Pa55"  # trust authentication ignores it; no response may contain it
SCRIPT = '<script>alert("x")</script>'
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE = f"{SCRIPT} {IMG}"
# A running run names its process (runs_service.is_stale): this one, alive while the test runs.
ALIVE = {"pid": os.getpid(), "host": socket.gethostname()}


@dataclass
class Project:
    root: Path
    database: str  # a file path, or a postgresql:// URL with a password
    migrations: Path
    backend: str

    def open(self) -> OrchestratorDB:
        return OrchestratorDB.open(self.database, migrations_dir=self.migrations)


def with_password(url: str) -> str:
    assert url.startswith("postgresql:///"), url
    return url.replace("postgresql:///", f"postgresql://postgres:{PASSWORD}@/", 1)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        assert self.headers.get("content-type", "").startswith("application/json"), self.headers
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def request(
    url: str, *, method: str = "GET", headers: dict[str, str] | None = None, data: bytes = b""
) -> Response:
    req = urllib.request.Request(
        url, method=method, headers=headers or {}, data=data if method == "POST" else None
    )
    try:
        with _OPENER.open(req, timeout=60) as reply:
            return Response(reply.status, _lower(reply.headers.items()), reply.read())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, _lower(exc.headers.items()), exc.read())


def _lower(items: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in items:
        name = key.lower()
        found[name] = f"{found[name]}, {value}" if name in found else value
    return found


@dataclass
class Served:
    dashboard: Dashboard
    thread: threading.Thread
    responses: list[Response] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.dashboard.url.rstrip("/")

    def get(self, path: str, **kwargs: Any) -> Response:
        reply = request(self.base + path, **kwargs)
        self.responses.append(reply)
        return reply


@contextmanager
def served(root: Path, **options: Any) -> Iterator[Served]:
    """The dashboard of `root` on a free port of 127.0.0.1 (or options' host), in a thread."""
    dashboard = api.dashboard(root, port=0, **options)
    ready = threading.Event()
    thread = threading.Thread(target=dashboard.serve, kwargs={"ready": ready.set}, daemon=True)
    thread.start()
    assert ready.wait(60)
    try:
        yield Served(dashboard, thread)
    finally:
        dashboard.stop()
        thread.join(60)


# -- what the database holds ----------------------------------------------------------------


@dataclass
class Seeded:
    runs: list[str]  # adw_ids, in creation order
    sessions: list[str]
    agent_ids: dict[str, str]  # run or session id -> its first agent
    prompt_ids: list[str] = field(default_factory=list)


def seed(db: OrchestratorDB, *, runs: int = 3, sessions: int = 1) -> Seeded:
    """Runs (one with a hostile issue title, prompt and tool input) and interactive sessions,
    each with an agent, a priced prompt and a tool call paired with its result."""
    if "builder" not in {agent.name for agent in db.list_orchestrator_agents()}:
        db.register_orchestrator_agent("builder", "builder")
    seeded = Seeded([], [], {})
    for number in range(runs):
        adw_id = f"run{number:03d}"
        title = HOSTILE if number == 0 else f"issue number {number}"
        db.create_run(
            adw_id, "sdlc" if number % 2 == 0 else "patch", issue_source="github",
            issue_ref=100 + number, issue_title=title, details=ALIVE,
        )  # fmt: skip
        seeded.runs.append(adw_id)
        _agent_with_work(
            db, seeded, adw_id, adw_id=adw_id, model="sonnet", cost=0.01 * (number + 1)
        )
    for number in range(sessions):
        session = f"session-{number:03d}"
        seeded.sessions.append(session)
        _agent_with_work(db, seeded, session, adw_id=None, model="opus", cost=0.125)
    return seeded


def _agent_with_work(
    db: OrchestratorDB, seeded: Seeded, session: str, *, adw_id: str | None, model: str, cost: float
) -> None:
    agent = db.start_agent(
        "builder", session, adw_id=adw_id, name="build", model=model,
        context={"phase": "build", "attempt": 2},
    )  # fmt: skip
    seeded.agent_ids[session] = agent.id
    prompt = db.start_prompt(agent.id, f"do it {HOSTILE}", model=f"claude-{model}-4")
    db.complete_prompt(
        prompt.id, response_text=f"done {SCRIPT}", input_tokens=100, output_tokens=50,
        cache_creation_tokens=7, cache_read_tokens=1000, cost_usd=cost, latency_ms=1234,
    )  # fmt: skip
    seeded.prompt_ids.append(prompt.id)
    db.log_agent(
        agent.id, "tool_call", f"PreToolUse: Bash {IMG}", tool_use_id=f"tu-{session}",
        details={"hook_event_name": "PreToolUse", "tool_name": "Bash",
                 "tool_input": {"command": SCRIPT}},
    )  # fmt: skip
    db.log_agent(
        agent.id, "tool_result", "PostToolUse: Bash", tool_use_id=f"tu-{session}",
        details={"hook_event_name": "PostToolUse", "tool_name": "Bash"},
    )  # fmt: skip
    db.log_agent(
        agent.id, "error", "something broke", level="ERROR",
        details={"hook_event_name": "StopFailure"},
    )  # fmt: skip
