"""Serving the dashboard: the project's database, the guard's token, the socket, uvicorn.

The socket is bound here, before uvicorn starts, so the URL printed names the real port
(`--port 0` picks a free one) and `--open` opens a page that already answers.
"""

from __future__ import annotations

import os
import socket
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tac_bootstrap.application import database_service as service
from tac_bootstrap.application.dashboard_queries_shared import DashboardSource
from tac_bootstrap.dashboard.app import Settings, create_app
from tac_bootstrap.dashboard.security import TOKEN_ENV_VAR, is_loopback, new_token
from tac_bootstrap.domain.errors import OperationError, UsageError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def choose_token(host: str, token: str | None) -> tuple[str | None, bool]:
    """(the token, whether it was generated here and must be printed). A loopback bind needs
    none unless one is given; any other host takes --token, TAC_DASHBOARD_TOKEN, or a new one."""
    given = token or os.environ.get(TOKEN_ENV_VAR) or None
    if given is not None and len(given) < 16:
        raise UsageError("the dashboard token is too short: use at least 16 characters")
    if given is not None or is_loopback(host):
        return given, False
    return new_token(), True


@dataclass
class Dashboard:
    """A prepared dashboard: the guarded app over an open database, and where it listens."""

    app: Any
    source: DashboardSource
    host: str
    port: int
    token: str | None
    generated_token: bool
    allow_actions: bool
    sock: socket.socket | None = field(default=None, repr=False)
    open_browser: bool = False  # serve() opens the login URL in a browser
    _server: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def login_url(self) -> str:
        """The URL to open: with ?token= when one is needed (the cookie takes it from there)."""
        return f"{self.url}?token={self.token}" if self.token else self.url

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "url": self.url,
            "database": self.source.display,
            "backend": self.source.backend,
            "token_required": self.token is not None,
            "allow_actions": self.allow_actions,
        }

    def serve(
        self, *, open_browser: bool | None = None, ready: Callable[[], None] | None = None
    ) -> None:
        """Serve until interrupted (Ctrl-C), then close the database; `ready` is called once
        the socket listens (the CLI prints the URL then)."""
        import uvicorn

        if open_browser is None:
            open_browser = self.open_browser

        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = self._server = uvicorn.Server(config)
        sock = self.sock or bind(self.host, self.port)
        try:
            if open_browser:
                threading.Timer(0.5, webbrowser.open, (self.login_url,)).start()
            if ready is not None:
                ready()
            server.run(sockets=[sock])
        finally:
            sock.close()
            self.source.close()

    def stop(self) -> None:
        """Ask a serving dashboard (in another thread) to stop."""
        if self._server is not None:
            self._server.should_exit = True


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OperationError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another --port (0: any free one) or --host",
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _lease_seconds(target: service.DatabaseTarget) -> float:
    """The project's queue lease (a running run past it without a heartbeat may be stale)."""
    from tac_bootstrap.application.runs_service import load_project

    return float(load_project(target.project_root)[1].queue.lease_seconds)


def prepare(
    project: Path | None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    allow_actions: bool = False,
    listen: bool = True,
) -> Dashboard:
    """Find the project and its database, open it read-only, build the app and (listen)
    bind its socket."""
    if not 0 <= port <= 65535:
        raise UsageError(f"invalid --port {port}: use 0 to 65535")
    chosen, generated = choose_token(host, token)
    target = service.locate(project)
    source = DashboardSource(target)
    try:
        settings = Settings(
            host=host,
            token=chosen,
            allow_actions=allow_actions,
            lease_seconds=_lease_seconds(target),
        )
        app = create_app(source, settings)
        sock = bind(host, port) if listen else None
    except BaseException:
        source.close()
        raise
    bound_port = sock.getsockname()[1] if sock is not None else port
    return Dashboard(app, source, host, bound_port, chosen, generated, allow_actions, sock)
