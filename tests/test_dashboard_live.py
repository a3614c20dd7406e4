"""The live stream (Server-Sent Events) with real requests, on SQLite and PostgreSQL: rows
written by another process (a real subprocess writing through OrchestratorDB) arrive as
`log`, `prompt` and `run` events; a reconnect with Last-Event-ID goes on from there without
sending again what was sent. Waits are generous and nothing is timed."""

from __future__ import annotations

import http.client
import json
import queue
import re
import socket
import subprocess
import sys
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import BACKENDS, ProjectFactory
from .dashboard_http_support import PASSWORD, Project, Served, seed, served, with_password

WAIT_SECONDS = 120  # generous: a loaded machine is slow, and no test here measures time

WRITER = """
import sys
from tac_bootstrap.runtime.adw_database import OrchestratorDB

database, migrations, agent_id, marker, adw_id = sys.argv[1:6]
with OrchestratorDB.open(database, migrations_dir=migrations) as db:
    db.log_agent(agent_id, "tool_call", "PreToolUse: Bash " + marker, tool_use_id=marker,
                 details={"hook_event_name": "PreToolUse", "tool_name": "Bash"})
    if adw_id:
        prompt = db.start_prompt(agent_id, "prompt " + marker, model="claude-sonnet-4")
        db.complete_prompt(prompt.id, input_tokens=3, output_tokens=4, cost_usd=0.5)
        db.finish_run(adw_id, "completed")
"""


# A hook event the background recorder wrote late: inserted now, timed `seconds` earlier.
BACKDATING = """
import sys
from datetime import datetime, timedelta

database, marker, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
if database.startswith("postgresql"):
    import psycopg
    with psycopg.connect(database) as conn:
        conn.execute(
            "UPDATE agent_logs SET created_at = created_at - %s WHERE message LIKE %s",
            (timedelta(seconds=seconds), "%" + marker),
        )
else:
    import sqlite3
    with sqlite3.connect(database) as conn:
        (moment,) = conn.execute(
            "SELECT created_at FROM agent_logs WHERE message LIKE ?", ("%" + marker,)
        ).fetchone()
        earlier = datetime.fromisoformat(moment.replace("Z", "+00:00")) - timedelta(seconds=seconds)
        text = earlier.strftime("%Y-%m-%dT%H:%M:%S.") + f"{earlier.microsecond // 1000:03d}Z"
        conn.execute(
            "UPDATE agent_logs SET created_at = ? WHERE message LIKE ?", (text, "%" + marker)
        )
"""


@dataclass
class Event:
    id: str
    kind: str
    data: dict[str, Any]


class Listener:
    """One open stream, read line by line in a thread; events land in a queue."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        parts = urllib.parse.urlsplit(url)
        self.connection = http.client.HTTPConnection(
            str(parts.hostname), parts.port, timeout=WAIT_SECONDS
        )
        self.connection.request("GET", f"{parts.path}?{parts.query}", headers=headers or {})
        self.sock = self.connection.sock  # kept: close() hangs up under the reading thread
        self.reply = self.connection.getresponse()
        assert self.reply.status == 200, self.reply.status
        assert self.reply.headers["content-type"].startswith("text/event-stream")
        self.events: queue.Queue[Event | str] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for raw in self.reply:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith(":"):
                    self.events.put(line)  # comments: connected, heartbeat
                elif line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                elif "event" in fields:
                    self.events.put(
                        Event(fields["id"], fields["event"], json.loads(fields["data"]))
                    )
                    fields = {}
        except Exception:  # closed by the test
            return

    def connected(self) -> None:
        comment = self.events.get(timeout=WAIT_SECONDS)
        assert isinstance(comment, str) and comment.startswith(": connected"), comment

    def wait_for(self, wanted: Any) -> list[Event]:
        """Events until `wanted(seen)` holds; fails only after WAIT_SECONDS of silence."""
        seen: list[Event] = []
        while not wanted(seen):
            item = self.events.get(timeout=WAIT_SECONDS)
            if isinstance(item, Event):
                seen.append(item)
        return seen

    def close(self) -> None:
        if self.sock is not None:
            self.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(WAIT_SECONDS)
        self.connection.close()


@pytest.fixture(params=BACKENDS)
def project(
    request: pytest.FixtureRequest,
    new_project: ProjectFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Project:
    root = new_project(tmp_path)
    schema = root / "adws" / "schema"
    if request.param == "sqlite":
        monkeypatch.delenv("TAC_ORCHESTRATOR_DB", raising=False)
        return Project(root, str(schema / "orchestrator.db"), schema / "migrations", "sqlite")
    url = with_password(str(request.getfixturevalue("pg_url")))
    monkeypatch.setenv("TAC_ORCHESTRATOR_DB", url)
    return Project(root, url, schema / "postgres" / "migrations", "postgresql")


@pytest.fixture
def live(project: Project) -> Iterator[tuple[Served, dict[str, str]]]:
    with project.open() as db:
        agents = seed(db, runs=2, sessions=1).agent_ids
    with served(project.root) as site:
        yield site, agents


def write_from_another_process(project: Project, agent_id: str, adw_id: str = "") -> str:
    marker = f"marker-{uuid.uuid4().hex}"
    done = subprocess.run(
        [sys.executable, "-c", WRITER, project.database, str(project.migrations), agent_id,
         marker, adw_id],
        capture_output=True, text=True, timeout=WAIT_SECONDS, cwd=project.root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return marker


def write_late(project: Project, agent_id: str, seconds: float) -> str:
    """A log line inserted now but timed ``seconds`` ago, as the hooks' recorder writes one."""
    marker = write_from_another_process(project, agent_id)
    done = subprocess.run(
        [sys.executable, "-c", BACKDATING, project.database, marker, str(seconds)],
        capture_output=True, text=True, timeout=WAIT_SECONDS, cwd=project.root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return marker


def one_line_then_hang_up(site: Served, project: Project, agent_id: str) -> tuple[str, str]:
    """A stream of run001 sees one line written by another process, then closes: the line's
    marker and the last event id (what a browser would send back on reconnecting)."""
    first = Listener(site.base + "/api/stream?run=run001")
    try:
        first.connected()
        marker = write_from_another_process(project, agent_id)
        seen = first.wait_for(lambda s: any(marker in str(e.data.get("message")) for e in s))
        return marker, seen[-1].id
    finally:
        first.close()


def test_rows_another_process_writes_arrive_live(
    live: tuple[Served, dict[str, str]], project: Project
) -> None:
    site, agents = live
    run_stream = Listener(site.base + "/api/stream?run=run000")
    everything = Listener(site.base + "/api/stream")
    try:
        run_stream.connected()
        everything.connected()
        marker = write_from_another_process(project, agents["run000"], "run000")

        def complete(seen: list[Event]) -> bool:
            kinds = {e.kind for e in seen}
            return {"log", "prompt", "run"} <= kinds and any(
                e.kind == "run" and e.data["status"] == "completed" for e in seen
            )

        events = run_stream.wait_for(complete)
        logs = [e for e in events if e.kind == "log"]
        assert [e.data["message"] for e in logs] == [f"PreToolUse: Bash {marker}"]
        assert logs[0].data["run_id"] == "run000" and logs[0].data["tool"] == "Bash"
        prompt = next(e for e in events if e.kind == "prompt" and e.data["status"] == "completed")
        assert prompt.data["prompt_text"] == f"prompt {marker}" and prompt.data["cost_usd"] == 0.5
        run = next(e for e in events if e.kind == "run" and e.data["status"] == "completed")
        assert run.data["id"] == "run000" and run.data["end"] is not None
        for event in events:
            assert event.id.count(".") == 3, event.id  # the cursor to resume from
            assert PASSWORD not in json.dumps(event.data)

        # The whole database's stream has the log line too (with its run), and the session's.
        session_marker = write_from_another_process(project, agents["session-000"])
        found = everything.wait_for(
            lambda seen: any(session_marker in str(e.data.get("message")) for e in seen)
        )
        assert any(e.kind == "log" and e.data["run_id"] == "run000" and marker in e.data["message"]
                   for e in found)  # fmt: skip
        last = next(e for e in found if session_marker in str(e.data.get("message")))
        assert last.data["run_id"] == "session-000"
    finally:
        run_stream.close()
        everything.close()


def test_a_reconnect_with_last_event_id_goes_on_from_there(
    live: tuple[Served, dict[str, str]], project: Project
) -> None:
    site, agents = live
    before, resume_from = one_line_then_hang_up(site, project, agents["run001"])
    second = Listener(site.base + "/api/stream?run=run001", headers={"Last-Event-ID": resume_from})
    try:
        second.connected()
        after = write_from_another_process(project, agents["run001"])
        seen = second.wait_for(lambda s: any(after in str(e.data.get("message")) for e in s))
        messages = [str(e.data.get("message")) for e in seen if e.kind == "log"]
        assert not any(before in message for message in messages), messages  # not sent again
    finally:
        second.close()
    assert site.get("/api/stream?after=not-a-cursor").status == 400


def test_a_line_written_late_after_the_page_was_read_still_comes(
    live: tuple[Served, dict[str, str]], project: Project
) -> None:
    """The page's cursor holds the newest log line it could show: a line inserted after it,
    even timed before it (a hook event recorded late), comes; the ones the page had do not."""
    site, agents = live
    shown = write_from_another_process(project, agents["run001"])
    page = site.get("/runs/run001")
    assert shown in page.text
    cursor = re.search(r'data-stream-after="([0-9.]+)"', page.text)
    assert cursor is not None
    late = write_late(project, agents["run001"], seconds=10)
    stream = Listener(site.base + "/api/stream?run=run001&after=" + cursor.group(1))
    try:
        stream.connected()
        newest = write_from_another_process(project, agents["run001"])
        seen = stream.wait_for(lambda s: any(newest in str(e.data.get("message")) for e in s))
        messages = [str(e.data.get("message")) for e in seen if e.kind == "log"]
        assert any(late in m for m in messages), messages
        assert not any(shown in m for m in messages), messages  # the page had it
    finally:
        stream.close()


def test_a_line_written_late_while_disconnected_comes_on_reconnect(
    live: tuple[Served, dict[str, str]], project: Project
) -> None:
    site, agents = live
    before, resume_from = one_line_then_hang_up(site, project, agents["run001"])
    late = write_late(project, agents["run001"], seconds=5)  # timed before `before`
    second = Listener(site.base + "/api/stream?run=run001", headers={"Last-Event-ID": resume_from})
    try:
        second.connected()
        seen = second.wait_for(lambda s: any(late in str(e.data.get("message")) for e in s))
        messages = [str(e.data.get("message")) for e in seen if e.kind == "log"]
        assert not any(before in message for message in messages), messages
    finally:
        second.close()


def test_a_cursor_of_an_earlier_version_is_still_read(
    live: tuple[Served, dict[str, str]],
) -> None:
    site, _agents = live
    stream = Listener(site.base + "/api/stream?after=1764612345123.1764612345000.1764612340000")
    try:
        stream.connected()
    finally:
        stream.close()
    assert site.get("/api/stream?after=1.2.3.4.5").status == 400
