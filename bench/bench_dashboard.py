"""The dashboard at 1,000,000 prompts: server time of its pages and the live stream's delay
(issue 15).

Run: .venv/bin/python bench/bench_dashboard.py [--prompts 1000000] [--requests 40] [--db PATH]

Builds the big database (bench/big_database.py; or reuses --db) and a generated project
pointing at it (TAC_ORCHESTRATOR_DB), then serves it with the dashboard's own code
(tac_bootstrap.dashboard.server.prepare, read-only, as `tac-bootstrap dashboard` does):

1. Server time, in process: each page's request handed to the app's ASGI callable and timed
   until its last body byte (no socket, no client): N requests per page, interleaved.
2. The same pages as real HTTP requests to uvicorn on 127.0.0.1 (urllib, a new connection
   each), timed by the client: what a browser waits for, the network stack included.
   Pages: /runs (first page, a status filter, a search, a model filter, a page deep in
   the keyset), /runs/BIG_RUN (50,000 prompts, 100,000 hook events), /costs, and the JSON
   behind them. Target: every page's median at most 300 ms.
3. Live: a separate process writes hook events through OrchestratorDB (the runtime's API,
   as a workflow's hooks do), one every 300 ms, each naming its commit time; an SSE client
   on /api/stream?run=BIG_RUN notes when each arrives. Target: median delay at most 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import big_database

REPO = big_database.REPO
CLI = REPO / ".venv" / "bin" / "tac-bootstrap"
PAGE_TARGET_MS = 300.0
LIVE_TARGET_S = 1.0
LIVE_WRITES = 40
LIVE_GAP_S = 0.3
BIG = big_database.BIG_RUN

WRITER = """
import sys, time
adws, agent, count, gap = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
sys.path.insert(0, adws)
from adw_modules.adw_database import OrchestratorDB  # the project's runtime, as workflows
with OrchestratorDB.open() as db:  # TAC_ORCHESTRATOR_DB
    print("ready", flush=True)
    sys.stdin.readline()  # the client is listening
    for n in range(count):
        db.log_agent(agent, "tool_call", f"bench-live {n}", tool_use_id=f"toolu_live_{n}")
        print(n, time.time(), flush=True)  # committed: the delay starts here
        time.sleep(gap)
"""


def big_agent(shape: big_database.Shape) -> str:
    """The id of BIG_RUN's build agent (where its prompts and events are)."""
    k = (shape.runs - 1) * 4 + 1
    return f"0190a001-{k // 65536:04x}-7000-8000-{k:012x}"


def make_project(root: Path) -> Path:
    done = subprocess.run(
        [str(CLI), "init", "bench", "-o", str(root), "--yes", "--no-git"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return root / "bench"


def pages(deep_cursor: str) -> dict[str, str]:
    return {
        "/runs": "/runs",
        "/runs?status=failed": "/runs?status=failed",
        "/runs?q=Issue 5500": "/runs?q=Issue%205500",
        "/runs?model=opus": "/runs?model=opus",
        "/runs (page 100, keyset)": f"/runs?after={deep_cursor}",
        f"/runs/{BIG}": f"/runs/{BIG}",
        "/costs": "/costs",
        "/api/runs": "/api/runs",
        f"/api/runs/{BIG}": f"/api/runs/{BIG}",
        f"/api/runs/{BIG}/events": f"/api/runs/{BIG}/events",
        f"/api/runs/{BIG}/events?tool=Bash&level=ERROR": (
            f"/api/runs/{BIG}/events?tool=Bash&level=ERROR"
        ),
        "/api/costs?by=day": "/api/costs?by=day",
        "/api/costs?by=model": "/api/costs?by=model",
        "/api/costs?by=run_type": "/api/costs?by=run_type",
    }


# -- 1. in process: the ASGI app itself ------------------------------------------------------


async def asgi_get(app: Any, target: str, host: str) -> tuple[int, bytes]:
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": urllib.parse.unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", host.encode()), (b"accept", b"text/html,application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", int(host.rpartition(":")[2])),
    }
    status = 0
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(body)


def in_process(app: Any, host: str, targets: dict[str, str], n: int) -> dict[str, list[float]]:
    async def run() -> dict[str, list[float]]:
        times: dict[str, list[float]] = {name: [] for name in targets}
        for name, target in targets.items():  # warm up (and check every page answers)
            status, body = await asgi_get(app, target, host)
            assert status == 200, (name, status, body[:300])
        for _ in range(n):
            for name, target in targets.items():
                start = time.perf_counter()
                status, _body = await asgi_get(app, target, host)
                times[name].append((time.perf_counter() - start) * 1000)
                assert status == 200, (name, status)
        return times

    return asyncio.run(run())


# -- 2. real HTTP --------------------------------------------------------------------------


def over_http(base: str, targets: dict[str, str], n: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(n):
        for name, target in targets.items():
            start = time.perf_counter()
            with urllib.request.urlopen(base + target, timeout=60) as reply:
                reply.read()
                assert reply.status == 200, (name, reply.status)
            times[name].append((time.perf_counter() - start) * 1000)
    return times


# -- 3. live -------------------------------------------------------------------------------


def live_delays(base: str, project: Path, database: Path, agent: str) -> list[float]:
    """Seconds from each write's commit (another process) to its SSE event here."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", f"/api/stream?run={BIG}", headers={"Accept": "text/event-stream"})
    reply = conn.getresponse()
    assert reply.status == 200, reply.status
    arrived: dict[int, float] = {}
    pattern = re.compile(rb"bench-live (\d+)")

    def listen() -> None:
        while len(arrived) < LIVE_WRITES:
            line = reply.readline()
            if not line:
                return
            found = pattern.search(line) if line.startswith(b"data:") else None
            if found:
                arrived.setdefault(int(found.group(1)), time.time())

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    argv = [sys.executable, "-c", WRITER, str(project / "adws"), agent]
    writer = subprocess.Popen(
        [*argv, str(LIVE_WRITES), str(LIVE_GAP_S)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TAC_ORCHESTRATOR_DB": str(database)},
    )
    assert writer.stdin is not None and writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"
    time.sleep(1.0)  # the stream has polled at least once
    writer.stdin.write("go\n")
    writer.stdin.flush()
    committed: dict[int, float] = {}
    for line in writer.stdout:
        n, at = line.split()
        committed[int(n)] = float(at)
    writer.wait(60)
    listener.join(10)
    conn.close()
    missing = sorted(set(committed) - set(arrived))
    assert not missing, f"events never arrived: {missing}"
    return [arrived[n] - committed[n] for n in sorted(committed)]


# -- report --------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def table(title: str, times: dict[str, list[float]]) -> bool:
    print(f"\n{title}")
    print(f"{'page':46} {'median ms':>10} {'p95 ms':>8}")
    ok = True
    for name, values in times.items():
        median = statistics.median(values)
        ok = ok and median <= PAGE_TARGET_MS
        flag = "" if median <= PAGE_TARGET_MS else "  MISSED"
        print(f"{name:46} {median:10.1f} {p95(values):8.1f}{flag}")
    return ok


def deep_cursor(base: str) -> str:
    """The cursor of the 100th page of /api/runs (keyset: each page from the last's end)."""
    cursor = ""
    for _ in range(99):
        url = f"{base}/api/runs" + (f"?after={cursor}" if cursor else "")
        with urllib.request.urlopen(url, timeout=60) as reply:
            following = json.load(reply)["next"]
        if following is None:  # a small database: its last page
            break
        cursor = following
    return cursor


def serve(project: Path) -> tuple[Any, threading.Thread]:
    from tac_bootstrap.dashboard.server import prepare

    dashboard = prepare(project, port=0)
    ready = threading.Event()
    thread = threading.Thread(target=dashboard.serve, kwargs={"ready": ready.set}, daemon=True)
    thread.start()
    assert ready.wait(60)
    return dashboard, thread


def timed(what: str, action: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    value = action()
    print(f"{what}: {time.perf_counter() - start:.1f} s")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40, help="per page and way")
    parser.add_argument("--db", type=Path, help="reuse this database (built when missing)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as scratch:
        database = args.db or Path(scratch) / "orchestrator.db"
        shape = big_database.Shape.of(args.prompts)
        if not database.exists():
            shape = timed("built the database", lambda: big_database.build(database, args.prompts))
        os.environ["TAC_ORCHESTRATOR_DB"] = str(database)
        project = make_project(Path(scratch))
        dashboard, thread = serve(project)
        try:
            base = dashboard.url.rstrip("/")
            targets = pages(deep_cursor(base))
            host = f"127.0.0.1:{dashboard.port}"
            ok = table(
                f"1. server time in process ({args.requests} requests per page, {shape})",
                in_process(dashboard.app, host, targets, args.requests),
            )
            ok = (
                table(
                    f"2. real HTTP on 127.0.0.1 ({args.requests} requests per page)",
                    over_http(base, targets, args.requests),
                )
                and ok
            )
            delays = live_delays(base, project, database, big_agent(shape))
        finally:
            dashboard.stop()
            thread.join(30)
    median = statistics.median(delays)
    print(
        f"\n3. live: {len(delays)} writes by another process, write -> SSE event: "
        f"median {median * 1000:.0f} ms, p95 {p95(delays) * 1000:.0f} ms, "
        f"max {max(delays) * 1000:.0f} ms (target median <= {LIVE_TARGET_S * 1000:.0f} ms)"
    )
    ok = ok and median <= LIVE_TARGET_S
    print(f"targets: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
