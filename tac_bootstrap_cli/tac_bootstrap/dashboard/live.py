"""The live stream: Server-Sent Events of new log lines, prompts and run changes.

Any process may write to the database (workflows, hooks, on either backend), so the stream
polls it by cursor, every POLL_SECONDS (at most 250 ms), in a worker thread (the queries are
blocking), and sends what changed:

    id: 1764612345123.1764612345000.1764612340000.4182
    event: log            (or prompt, run)
    data: {...one JSON object...}

`id` is the cursor to resume from: the browser's EventSource sends it back as Last-Event-ID
when it reconnects, and the stream goes on from there (`?after=` does the same for the first
connection: the page renders the cursor of the rows it shows). A log line is known to the
client when its insertion number is at most the cursor's: one another process wrote late,
timed before the cursor, still comes. A comment line every
HEARTBEAT_SECONDS keeps proxies and the browser from closing an idle stream; the loop ends as
soon as the client goes away.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio.to_thread

from tac_bootstrap.application.dashboard_queries_live import (
    LOOKBACK_MS,
    Cursor,
    change_key,
    change_time,
    changes_since,
    start_cursor,
)
from tac_bootstrap.application.dashboard_queries_shared import DashboardSource, integer
from tac_bootstrap.application.dashboard_queries_stale import mark_stale

POLL_SECONDS = 0.2
HEARTBEAT_SECONDS = 10.0
_KINDS = (("log", "logs"), ("prompt", "prompts"), ("run", "runs"))


def opening_cursor(source: DashboardSource, after: str | None, last_event_id: str | None) -> Cursor:
    """Last-Event-ID (a reconnect) wins over ?after= (the page's cursor); neither: now."""
    for value in (last_event_id, after):
        if value:
            return Cursor.parse(value)
    return source.run(start_cursor(int(time.time() * 1000)))


def sse(event: str, cursor: Cursor, data: dict[str, Any]) -> str:
    """One event; json.dumps never writes a newline, so `data:` is one line."""
    return f"id: {cursor}\nevent: {event}\ndata: {json.dumps(data, default=str)}\n\n"


class Stream:
    """One client's stream: its cursor and what it has already been sent."""

    def __init__(
        self, source: DashboardSource, run_id: str | None, cursor: Cursor, lease_seconds: float
    ) -> None:
        self.source = source
        self.lease_seconds = lease_seconds
        self.run_id = run_id
        self.cursor = cursor
        self.sent: dict[str, int] = {}  # change key -> its time, forgotten past the lookback
        self.opening = cursor  # what the client already has: rows up to these marks
        self.first = True

    def poll(self) -> list[str]:
        """The events written since the cursor, oldest first, each sent once."""
        found = self.source.run(changes_since(self.cursor, self.run_id, self.source.schema_version))
        if found.runs:
            self.source.run(mark_stale(found.runs, self.lease_seconds))
        marks = {"log": self.cursor.log, "prompt": self.cursor.prompt, "run": self.cursor.run}
        seq = self.cursor.seq
        out: list[str] = []
        for kind, attribute in _KINDS:
            for row in getattr(found, attribute):
                key, moment = change_key(kind, row), change_time(kind, row)
                if key in self.sent or moment < marks[kind] - LOOKBACK_MS:
                    continue
                self.sent[key] = moment
                if self.first and self._client_has(kind, row, moment):
                    continue  # the page (or the stream before a reconnect) has it already
                marks[kind] = max(marks[kind], moment)
                if kind == "log":
                    seq = max(seq, integer(row["seq"]))
                self.cursor = Cursor(marks["log"], marks["prompt"], marks["run"], seq)
                out.append(sse(kind, self.cursor, row))
        oldest = min(marks.values()) - 2 * LOOKBACK_MS
        self.sent = {key: at for key, at in self.sent.items() if at >= oldest}
        self.first = False
        return out

    def _client_has(self, kind: str, row: dict[str, Any], moment: int) -> bool:
        """On the first poll: whether the page (or the stream before a reconnect) showed it.
        A log line by its insertion number when the cursor has one, anything else by time."""
        if kind == "log" and self.opening.seq:
            return integer(row["seq"]) <= self.opening.seq
        return moment <= int(getattr(self.opening, kind))


async def events(stream: Stream, disconnected: Callable[[], Awaitable[bool]]) -> AsyncIterator[str]:
    """The stream's text: a first comment (the browser's open event), then events."""
    yield f": connected {stream.cursor}\nretry: 1000\n\n"
    last_sent = time.monotonic()
    while not await disconnected():
        for chunk in await anyio.to_thread.run_sync(stream.poll):
            yield chunk
            last_sent = time.monotonic()
        if time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
            yield ": heartbeat\n\n"
            last_sent = time.monotonic()
        await anyio.sleep(POLL_SECONDS)
