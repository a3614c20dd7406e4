"""The dashboard's guard with real requests: the token off loopback (bound to 127.0.0.2, a
loopback address on Linux that the policy, "not 127.0.0.1/::1/localhost", treats as
elsewhere), on every route including the live stream and static files; the cookie set from
?token=; the Host header check; the one action only with --allow-actions and same origin;
and the CLI without its extra."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tac_bootstrap.dashboard.security import CSP, TOKEN_ENV_VAR
from tac_bootstrap.dashboard.server import choose_token

from .conftest import ProjectFactory
from .dashboard_http_support import Served, request, seed, served

TOKEN = "a-test-token-of-enough-length"
OFF_LOOPBACK = "127.0.0.2"


def can_bind(host: str) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, 0))
        except OSError:
            return False
    return True


@pytest.fixture
def root(new_project: ProjectFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TAC_ORCHESTRATOR_DB", raising=False)
    monkeypatch.delenv(TOKEN_ENV_VAR, raising=False)
    project = new_project(tmp_path)
    from tac_bootstrap.runtime.adw_database import OrchestratorDB

    schema = project / "adws" / "schema"
    with OrchestratorDB.open(
        schema / "orchestrator.db", migrations_dir=schema / "migrations"
    ) as db:
        seed(db, runs=2, sessions=1)
    return project


@pytest.fixture
def guarded(root: Path) -> Iterator[Served]:
    if not can_bind(OFF_LOOPBACK):
        pytest.skip(f"cannot bind {OFF_LOOPBACK} here")
    with served(root, host=OFF_LOOPBACK, token=TOKEN) as running:
        yield running


PATHS = ["/", "/runs", "/runs/run000", "/costs", "/api/runs", "/api/runs/run000",
         "/api/runs/run000/events", "/api/costs?by=day", "/api/stream",
         "/static/dashboard.js", "/static/dashboard.css", "/no-such-page"]  # fmt: skip


def test_a_token_is_needed_off_loopback_on_every_route(guarded: Served) -> None:
    for path in PATHS:
        for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"},
                        {"Cookie": "tac_dashboard=wrong-token-wrong-token"}):  # fmt: skip
            reply = guarded.get(path, headers=headers)
            assert reply.status == 401, (path, headers, reply.status)
            assert reply.headers["content-security-policy"] == CSP
            assert TOKEN.encode() not in reply.body
    assert guarded.get("/runs?token=wrong-token-wrong-token").status == 401
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for path in ("/runs", "/api/runs", "/static/dashboard.js", "/costs"):
        assert guarded.get(path, headers=bearer).status == 200, path


def test_the_token_in_the_url_becomes_a_cookie_then_leaves_the_url(guarded: Served) -> None:
    first = guarded.get(f"/runs/run000?token={TOKEN}&level=ERROR")
    assert first.status == 303
    assert first.headers["location"] == "/runs/run000?level=ERROR"
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"tac_dashboard={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    with_cookie = {"Cookie": f"tac_dashboard={TOKEN}"}
    page = guarded.get("/runs/run000?level=ERROR", headers=with_cookie)
    assert page.status == 200 and 'data-run-id="run000"' in page.text
    assert stream_head(guarded, "/api/stream?run=run000", with_cookie).startswith(b"HTTP/1.1 200")


def stream_head(site: Served, path: str, headers: dict[str, str]) -> bytes:
    """The status line and headers of a stream (read, then hang up: it never ends)."""
    host = site.dashboard.host
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection((host, site.dashboard.port), timeout=60) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{lines}\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            assert chunk, head
            head += chunk
    return head


def test_the_live_stream_needs_the_token_too(guarded: Served) -> None:
    head = stream_head(guarded, "/api/stream", {"Authorization": f"Bearer {TOKEN}"})
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"text/event-stream" in head
    assert guarded.get("/api/stream?run=run000").status == 401


def test_host_header_must_name_the_bound_address(root: Path) -> None:
    with served(root) as site:  # 127.0.0.1: no token, loopback names only
        assert site.get("/runs").status == 200
        for host in (
            "localhost",
            f"127.0.0.1:{site.dashboard.port}",
            f"[::1]:{site.dashboard.port}",
        ):
            assert site.get("/runs", headers={"Host": host}).status == 200, host
        rebound = site.get("/runs", headers={"Host": "attacker.example"})
        assert rebound.status == 421
        assert rebound.headers["content-security-policy"] == CSP


def test_token_choice() -> None:
    assert choose_token("127.0.0.1", None) == (None, False)
    assert choose_token("localhost", TOKEN) == (TOKEN, False)
    generated, printed = choose_token("127.0.0.2", None)
    assert printed and generated is not None and len(generated) >= 16
    os.environ[TOKEN_ENV_VAR] = TOKEN
    try:
        assert choose_token("0.0.0.0", None) == (TOKEN, False)
    finally:
        del os.environ[TOKEN_ENV_VAR]
    with pytest.raises(Exception, match="too short"):
        choose_token("0.0.0.0", "short")


def test_cancel_only_with_allow_actions_and_from_the_same_origin(root: Path) -> None:
    with served(root) as site:
        assert site.get("/api/runs/run000/cancel", method="POST").status in (404, 405)
    with served(root, allow_actions=True) as site:
        origin = site.base
        refused = site.get("/api/runs/run000/cancel", method="POST")
        assert refused.status == 403  # no Origin, no Sec-Fetch-Site: not from our pages
        other = site.get(
            "/api/runs/run000/cancel", method="POST", headers={"Origin": "http://evil.example"}
        )
        assert other.status == 403
        assert site.get("/api/runs/run000").json()["run"]["status"] == "running"
        done = site.get("/api/runs/run000/cancel", method="POST", headers={"Origin": origin})
        assert done.status == 200 and done.json()["status"] == "cancelled"
        again = site.get("/api/runs/run000/cancel", method="POST", headers={"Origin": origin})
        assert again.status == 409  # already cancelled
        assert site.get("/api/runs/run000").json()["run"]["status"] == "cancelled"
        assert site.get("/api/runs/run001").json()["run"]["status"] == "running"
        page = site.get("/runs/run001").text
        assert 'id="cancel-run"' in page
        form = site.get(
            "/api/runs/run001/cancel", method="POST", data=b"",
            headers={"Origin": origin, "Accept": "text/html,application/xhtml+xml"},
        )  # fmt: skip
        assert (form.status, form.headers["location"]) == (303, "/runs/run001")
        assert 'id="cancel-run"' not in site.get("/runs/run001").text  # cancelled: no button


def test_the_command_without_its_extra_says_how_to_install_it(tmp_path: Path) -> None:
    """starlette shadowed by a package that cannot be imported: one line, exit 2."""
    shadow = tmp_path / "shadow" / "starlette"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('not installed (test)')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "shadow")}
    done = subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "dashboard", "--port", "0"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "pip install 'tac-bootstrap[dashboard]'" in lines[0]
    assert done.stdout == ""


def test_the_command_prints_where_it_listens_and_its_token_once(root: Path) -> None:
    """The real command off loopback: the URL with the real port, the generated token once,
    a login URL that works; Ctrl-C (SIGINT) stops it with exit 0."""
    if not can_bind(OFF_LOOPBACK):
        pytest.skip(f"cannot bind {OFF_LOOPBACK} here")
    command = [sys.executable, "-m", "tac_bootstrap", "dashboard", "-P", str(root), "--port", "0",
               "--host", OFF_LOOPBACK]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        assert process.stdout is not None
        while not lines or not lines[-1].startswith("press Ctrl-C"):
            line = process.stdout.readline()
            assert line, (lines, process.stderr.read() if process.stderr else "")
            lines.append(line.strip())
        login = next(line.removeprefix("open ") for line in lines if line.startswith("open "))
        token = login.rsplit("?token=", 1)[1]
        assert sum(token in line for line in lines) == 2  # "token (shown once)" and the URL
        assert lines[0].startswith("dashboard of ") and "orchestrator.db at http://" in lines[0]
        base = login.split("?", 1)[0].rstrip("/")
        assert request(base + "/runs").status == 401
        first = request(login)
        assert first.status == 303 and first.headers["location"] == "/"
        cookie = {"Cookie": first.headers["set-cookie"].split(";", 1)[0]}
        assert request(base + "/runs", headers=cookie).status == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
    assert process.returncode == 0
