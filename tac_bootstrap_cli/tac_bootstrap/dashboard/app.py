"""The dashboard's routes: server-rendered pages, their JSON twins, the live stream, assets.

Read-only unless `allow_actions`: then one write exists, cancelling a queued or running run
(POST, same origin only). Every value from the database is attacker-controlled text (prompts,
tool inputs, issue titles): pages are Jinja2 templates with autoescape on, JSON is served as
application/json, and no inline script or style exists for it to break out into (the CSP of
security.py forbids them anyway). The database is shown only as its redacted location.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tac_bootstrap.application import dashboard_queries as queries
from tac_bootstrap.application import dashboard_queries_costs as cost_queries
from tac_bootstrap.application import dashboard_queries_run as run_queries
from tac_bootstrap.application.dashboard_queries_live import Cursor, start_cursor
from tac_bootstrap.application.dashboard_queries_shared import DashboardSource
from tac_bootstrap.application.dashboard_queries_stale import mark_stale
from tac_bootstrap.dashboard import live
from tac_bootstrap.dashboard.security import Guard, Policy, same_origin
from tac_bootstrap.domain.errors import TacError, UsageError

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
TOTALS_VERSION = 4  # prompt_totals: the runs list's costs are read from it


@dataclass(frozen=True)
class Settings:
    """What the app needs besides the database: the guard's policy and the actions flag."""

    host: str = "127.0.0.1"
    token: str | None = None
    allow_actions: bool = False
    lease_seconds: float = 120.0  # queue.lease_seconds: a running run past it may be stale


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["usd"] = lambda value: f"{float(value or 0):,.4f}"
    env.filters["cents"] = lambda value: f"{float(value or 0):.2f}"
    env.filters["tokens"] = lambda value: f"{int(value or 0):,}"
    env.filters["duration"] = _duration
    env.filters["when"] = lambda value: (value or "")[:19].replace("T", " ")
    return env


def _duration(ms: int | None) -> str:
    if ms is None:
        return ""
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class Dashboard:
    """The pages and API over one source; `asgi()` is the guarded application."""

    def __init__(self, source: DashboardSource, settings: Settings) -> None:
        self.source = source
        self.settings = settings
        self.env = _templates()

    # -- helpers ----------------------------------------------------------------------------

    def page(self, request: Request, name: str, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(
            database=self.source.display,
            backend=self.source.backend,
            allow_actions=self.settings.allow_actions,
            path=request.url.path,
            **context,
        )
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    def _check_schema(self) -> None:
        if self.source.schema_version < TOTALS_VERSION:
            raise UsageError(
                f"the database {self.source.display} is at schema version "
                f"{self.source.schema_version}: run `tac-bootstrap db migrate` first"
            )

    def _runs(self, request: Request) -> tuple[queries.RunFilters, Any]:
        self._check_schema()
        filters = queries.RunFilters.parse(dict(request.query_params))
        page = self.source.run(queries.runs_page(filters))
        self.source.run(mark_stale(page.rows, self.settings.lease_seconds))
        return filters, page

    def _detail(self, run_id: str) -> dict[str, Any]:
        self._check_schema()
        detail = self.source.run(run_queries.run_detail(run_id))
        if detail is None:
            raise HTTPException(404, f"no run or session {run_id!r}")
        self.source.run(mark_stale([detail["run"]], self.settings.lease_seconds))
        return detail

    def _events(self, request: Request, run_id: str) -> dict[str, Any]:
        params = request.query_params
        return self.source.run(
            run_queries.events_of(
                run_id,
                tool=params.get("tool") or None,
                level=params.get("level") or None,
                agent=params.get("agent") or None,
                after=run_queries.parse_after(params.get("after")),
            )
        )

    def _stream_cursor(self) -> str:
        return str(self.source.run(start_cursor(int(time.time() * 1000))))

    # -- pages ------------------------------------------------------------------------------

    def runs_html(self, request: Request) -> Response:
        filters, page = self._runs(request)
        next_url = None
        if page.next:
            next_url = "/runs?" + urlencode(filters.query_string(after=page.next))
        return self.page(
            request,
            "runs.html",
            title="Runs",
            runs=page.rows,
            filters=filters,
            statuses=queries.STATUSES,
            models=self.source.run(queries.model_names()),
            next_url=next_url,
            stream_cursor=self._stream_cursor(),
        )

    def run_html(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        cursor = self._stream_cursor()  # before the reads: nothing written meanwhile is lost
        detail = self._detail(run_id)
        events = self._events(request, run_id)
        return self.page(
            request,
            "run.html",
            title=f"Run {run_id}",
            run=detail["run"],
            agents=detail["agents"],
            prompts=detail["prompts"],
            prompt_limit=run_queries.PROMPT_LIMIT,
            events=events["events"],
            events_next=events["next"],
            tools=run_queries.tool_names(events["events"]),
            levels=run_queries.LOG_LEVELS,
            selected={k: request.query_params.get(k, "") for k in ("tool", "level", "agent")},
            stream_cursor=cursor,
        )

    def costs_html(self, request: Request) -> Response:
        self._check_schema()
        groups = {by: cost_queries.costs(self.source, by) for by in cost_queries.COST_GROUPS}
        return self.page(request, "costs.html", title="Costs", groups=groups)

    # -- the API ----------------------------------------------------------------------------

    def runs_json(self, request: Request) -> Response:
        _filters, page = self._runs(request)
        return JSONResponse({"runs": page.rows, "next": page.next})

    def run_json(self, request: Request) -> Response:
        return JSONResponse(self._detail(request.path_params["run_id"]))

    def events_json(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        self._detail(run_id)  # 404 for an unknown run
        return JSONResponse(self._events(request, run_id))

    def costs_json(self, request: Request) -> Response:
        self._check_schema()
        by = request.query_params.get("by", "day")
        return JSONResponse(cost_queries.costs(self.source, by))

    async def stream(self, request: Request) -> Response:
        run_id = request.query_params.get("run") or None
        after = request.query_params.get("after")
        last_id = request.headers.get("last-event-id")
        cursor = live.opening_cursor(self.source, after, last_id)
        stream = live.Stream(self.source, run_id, cursor, self.settings.lease_seconds)
        body = live.events(stream, request.is_disconnected)
        return StreamingResponse(
            body,
            media_type="text/event-stream",
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )

    def cancel(self, request: Request) -> Response:
        if not same_origin(request.scope):
            return PlainTextResponse("refused: not from this dashboard's pages", 403)
        from tac_bootstrap.dashboard.actions import cancel_run

        adw_id = request.path_params["adw_id"]
        outcome = cancel_run(self.source.target, adw_id)
        if "text/html" in request.headers.get("accept", ""):
            # The run page's form (a browser): back to the page, which shows the new status.
            return RedirectResponse(f"/runs/{quote(adw_id, safe='')}", 303)
        return JSONResponse(outcome, status_code=200 if outcome["ok"] else 409)

    # -- the application --------------------------------------------------------------------

    def routes(self) -> list[Any]:
        routes: list[Any] = [
            Route("/", lambda _request: RedirectResponse("/runs", 307)),
            Route("/runs", self.runs_html),
            Route("/runs/{run_id}", self.run_html),
            Route("/costs", self.costs_html),
            Route("/api/runs", self.runs_json),
            Route("/api/runs/{run_id}", self.run_json),
            Route("/api/runs/{run_id}/events", self.events_json),
            Route("/api/costs", self.costs_json),
            Route("/api/stream", self.stream),
            Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
        ]
        if self.settings.allow_actions:
            routes.append(Route("/api/runs/{adw_id}/cancel", self.cancel, methods=["POST"]))
        return routes

    def asgi(self) -> Guard:
        app = Starlette(
            routes=self.routes(),
            exception_handlers={
                TacError: self._tac_error,
                HTTPException: self._http_error,
                Exception: self._internal_error,
            },
        )
        return Guard(app, Policy(self.settings.host, self.settings.token))

    # -- errors -----------------------------------------------------------------------------

    def _error(self, request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status)
        response = self.page(request, "error.html", title="Error", status=status, message=message)
        response.status_code = status
        return response

    async def _tac_error(self, request: Request, exc: Exception) -> Response:
        status = 400 if isinstance(exc, UsageError) else 500
        return self._error(request, status, str(exc))

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return self._error(request, exc.status_code, str(exc.detail))

    async def _internal_error(self, request: Request, _exc: Exception) -> Response:
        # The message could quote a connection string: never sent, whatever it says.
        return self._error(request, 500, "internal error (the dashboard's log has the cause)")


def create_app(source: DashboardSource, settings: Settings | None = None) -> Guard:
    """The guarded ASGI application over an open source."""
    return Dashboard(source, settings or Settings()).asgi()


__all__ = ["Cursor", "Dashboard", "Settings", "create_app"]
