"""The dashboard's pages and HTTP API with real requests to a real server (uvicorn on
127.0.0.1, port 0) over a real database, on SQLite and PostgreSQL: each route, filters and
keyset pagination, escaping of attacker-controlled text, the security headers on every
response, cost totals equal to `db stats`, and no database password in any response."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from markupsafe import escape

from tac_bootstrap import api
from tac_bootstrap.dashboard.security import CSP

from .conftest import BACKENDS, ProjectFactory
from .dashboard_http_support import (
    ALIVE,
    IMG,
    PASSWORD,
    SCRIPT,
    Project,
    Response,
    Served,
    seed,
    served,
    with_password,
)


@pytest.fixture(params=BACKENDS)
def project(
    request: pytest.FixtureRequest,
    new_project: ProjectFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Project:
    """A generated project whose database is a SQLite file, or (TAC_ORCHESTRATOR_DB) a
    PostgreSQL database named by a URL with a password in it."""
    root = new_project(tmp_path)
    schema = root / "adws" / "schema"
    if request.param == "sqlite":
        monkeypatch.delenv("TAC_ORCHESTRATOR_DB", raising=False)
        return Project(root, str(schema / "orchestrator.db"), schema / "migrations", "sqlite")
    url = with_password(str(request.getfixturevalue("pg_url")))
    monkeypatch.setenv("TAC_ORCHESTRATOR_DB", url)
    return Project(root, url, schema / "postgres" / "migrations", "postgresql")


@pytest.fixture
def site(project: Project) -> Iterator[Served]:
    with project.open() as db:
        seed(db, runs=5, sessions=2)
    with served(project.root) as running:
        yield running
    for reply in running.responses:  # whatever the test asked, the guard's headers and no secret
        assert reply.headers.get("content-security-policy") == CSP, reply.headers
        assert reply.headers.get("x-content-type-options") == "nosniff"
        assert reply.headers.get("referrer-policy") == "no-referrer"
        assert PASSWORD.encode() not in reply.body


def ids_of(page: Response) -> list[str]:
    return [run["id"] for run in page.json()["runs"]]


def test_every_route_answers(site: Served, project: Project) -> None:
    root = site.get("/")
    assert (root.status, root.headers["location"]) == (307, "/runs")
    runs = site.get("/runs")
    assert runs.status == 200 and runs.headers["content-type"].startswith("text/html")
    assert 'data-run-id="run004"' in runs.text and 'class="run-link"' in runs.text
    assert 'data-run-id="session-001"' in runs.text
    one = site.get("/runs/run001")
    assert one.status == 200
    run_hooks = ['id="timeline"', "data-agent-id=", 'id="prompts"', "data-prompt-id="]
    run_hooks += ['id="events"', "data-event-id=", 'id="live-status"', "data-stream-after="]
    for hook in run_hooks:
        assert hook in one.text, hook
    costs = site.get("/costs")
    assert costs.status == 200
    for hook in ('id="cost-total"', 'id="chart-day"', 'id="chart-model"', 'id="chart-run-type"'):
        assert hook in costs.text
    assert site.get("/static/dashboard.js").headers["content-type"].startswith("text/javascript")
    assert site.get("/static/dashboard.css").status == 200
    detail = site.get("/api/runs/run001").json()
    assert detail["run"]["id"] == "run001" and detail["run"]["workflow"] == "patch"
    assert [a["name"] for a in detail["agents"]] == ["build"]
    assert detail["agents"][0]["retries"] == 1  # attempt 2
    prompt = detail["prompts"][0]
    assert (prompt["input_tokens"], prompt["output_tokens"]) == (100, 50)
    assert (prompt["cache_creation_tokens"], prompt["cache_read_tokens"]) == (7, 1000)
    assert (prompt["cost_usd"], prompt["latency_ms"], prompt["model"]) == (
        0.02, 1234, "claude-sonnet-4",
    )  # fmt: skip
    session = site.get("/api/runs/session-000").json()["run"]
    assert (session["kind"], session["workflow"], session["cost_usd"]) == (
        "session", "interactive", 0.125,
    )  # fmt: skip
    assert site.get("/api/runs/nope").status == 404
    assert site.get("/runs/nope").status == 404
    assert site.get("/api/costs?by=week").status == 400
    assert site.get("/api/nothing-here").status == 404
    # Read-only: there is no write endpoint without --allow-actions.
    assert site.get("/api/runs/run001/cancel", method="POST").status in (404, 405)


def test_runs_list_has_status_phases_duration_tokens_and_cost(site: Served) -> None:
    runs = {run["id"]: run for run in site.get("/api/runs").json()["runs"]}
    assert set(runs) == {"run000", "run001", "run002", "run003", "run004",
                         "session-000", "session-001"}  # fmt: skip
    run = runs["run002"]
    assert (run["status"], run["issue"], run["workflow"]) == ("running", "#102", "sdlc")
    assert run["phases"] == [{"name": "build", "status": "running", "attempts": 1}]
    assert run["tokens"] == 100 + 50 + 7 + 1000
    assert run["cost_usd"] == pytest.approx(0.03)
    assert run["duration_ms"] is None  # still running


def test_runs_are_paged_by_keyset_newest_first(site: Served) -> None:
    everything = ids_of(site.get("/api/runs?limit=200"))
    assert len(everything) == 7
    seen: list[str] = []
    cursor = None
    while True:
        page = site.get("/api/runs?limit=2" + (f"&after={cursor}" if cursor else "")).json()
        seen += [run["id"] for run in page["runs"]]
        assert len(page["runs"]) <= 2
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == everything  # every run once, in the same order
    started = [run["started"] for run in site.get("/api/runs").json()["runs"]]
    assert started == sorted(started, reverse=True)
    html_page = site.get("/runs?limit=2")
    assert 'id="next-page"' in html_page.text
    assert site.get("/api/runs?after=not-a-cursor").status == 400


def test_filters(site: Served) -> None:
    assert ids_of(site.get("/api/runs?issue=103")) == ["run003"]
    assert ids_of(site.get("/api/runs?issue=%23103")) == ["run003"]
    assert set(ids_of(site.get("/api/runs?q=session-00"))) == {"session-000", "session-001"}
    assert ids_of(site.get("/api/runs?q=NUMBER%202")) == ["run002"]  # the title, any case
    assert ids_of(site.get("/api/runs?q=100%25")) == []  # % is a character, not a wildcard
    assert set(ids_of(site.get("/api/runs?model=claude-opus-4"))) == {
        "session-000", "session-001",
    }  # fmt: skip
    assert len(ids_of(site.get("/api/runs?model=sonnet"))) == 5  # the agent's model too
    assert ids_of(site.get("/api/runs?status=completed")) == []
    assert len(ids_of(site.get("/api/runs?status=running"))) == 7
    assert ids_of(site.get("/api/runs?since=2000-01-01&until=2000-12-31")) == []
    assert len(ids_of(site.get("/api/runs?since=2000-01-01"))) == 7
    assert site.get("/api/runs?since=yesterday").status == 400
    assert site.get("/api/runs?status=bogus").status == 400
    filtered = site.get("/runs?status=queued")
    assert "match these filters" in filtered.text


def test_events_pair_tool_calls_with_results_and_filter(site: Served) -> None:
    events = site.get("/api/runs/run000/events").json()["events"]
    kinds = [event["log_type"] for event in events]
    assert kinds == ["tool_call", "error"]  # the result is inside its call, not listed again
    call = events[0]
    assert call["tool"] == "Bash" and call["result"]["log_type"] == "tool_result"
    assert call["result"]["tool_use_id"] == call["tool_use_id"] == "tu-run000"
    assert [e["log_type"] for e in site.get("/api/runs/run000/events?tool=Bash").json()[
        "events"]] == ["tool_call"]  # fmt: skip
    assert [e["log_level"] for e in site.get("/api/runs/run000/events?level=error").json()[
        "events"]] == ["ERROR"]  # fmt: skip
    agent = call["agent_id"]
    assert len(site.get(f"/api/runs/run000/events?agent={agent}").json()["events"]) == 2
    assert site.get("/api/runs/run000/events?agent=someone-else").json()["events"] == []
    later = site.get(f"/api/runs/run000/events?after={call['seq']}").json()["events"]
    assert [e["log_type"] for e in later] == ["tool_result", "error"]  # its call was before
    assert later[0]["call_id"] == call["id"]
    assert site.get("/api/runs/run000/events?level=LOUD").status == 400
    nothing = site.get("/api/runs/run000/events?tool=Read").json()
    assert (nothing["events"], nothing["next"]) == ([], None)  # read to the end: no next page
    assert site.get("/api/runs/run000/events").json()["next"] is None


def test_database_text_is_escaped_in_pages_and_served_as_json(site: Served) -> None:
    for path in ("/runs", "/runs/run000"):
        page = site.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert str(escape(IMG)) in page, path
        # Every script is ours, from /static/: no inline script, no inline style or handler.
        assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/dashboard.js" defer>']
        assert " style=" not in page and "onerror=" not in page.replace("onerror=alert", "")
    detail = site.get("/runs/run000").text
    assert str(escape(SCRIPT)) in detail  # the prompt, shown as text
    reply = site.get("/api/runs/run000")
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["run"]["issue_title"].startswith(SCRIPT)
    events = site.get("/api/runs/run000/events").json()["events"]
    assert events[0]["details"]["tool_input"]["command"] == SCRIPT


def test_cost_totals_equal_db_stats(site: Served, project: Project) -> None:
    cents = {by: round(api.db.stats(project.root, by=by).totals["cost_usd"], 2)
             for by in ("day", "model", "session")}  # fmt: skip
    assert len(set(cents.values())) == 1 and cents["day"] == round(0.01 + 0.02 + 0.03 + 0.04
                                                                   + 0.05 + 0.25, 2)  # fmt: skip
    for by, stats_by in (("day", "day"), ("model", "model"), ("run_type", "session")):
        document = site.get(f"/api/costs?by={by}").json()
        assert round(document["totals"]["cost_usd"], 2) == cents[stats_by], by
        assert round(sum(row["cost_usd"] for row in document["series"]), 2) == cents[stats_by]
    run_types = {row["key"]: round(row["cost_usd"], 4)
                 for row in site.get("/api/costs?by=run_type").json()["series"]}  # fmt: skip
    assert run_types == {"interactive": 0.25, "sdlc": 0.09, "patch": 0.06}
    page = site.get("/costs").text
    total = re.search(r'id="cost-total" data-usd="([^"]+)"', page)
    assert total is not None and round(float(total.group(1)), 2) == cents["day"]
    for element in ("chart-day", "chart-model", "chart-run-type"):
        found = re.search(rf'id="{element}" [^>]*data-total-usd="([^"]+)"', page)
        assert found is not None and round(float(found.group(1)), 2) == cents["day"], element


def test_no_password_in_any_response(site: Served, project: Project) -> None:
    """The fixture checks every response; here the pages that name the database."""
    page = site.get("/runs").text
    if project.backend == "postgresql":
        assert "postgresql://postgres:***@/" in page  # the location, its password masked
    assert site.get("/api/runs/run001").status == 200
    assert site.get("/runs/does-not-exist").status == 404


def test_a_crashed_running_run_is_shown_stale(site: Served, project: Project) -> None:
    """Recorded running, but its process is gone and no lease or heartbeat keeps it: stale,
    as `tac-bootstrap runs` shows it."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    with project.open() as db:
        db.create_run("crashed", "sdlc", details={"pid": int(gone.stdout), "host": ALIVE["host"]})
    listed = {run["id"]: run for run in site.get("/api/runs").json()["runs"]}
    assert (listed["crashed"]["status"], listed["crashed"]["recorded_status"]) == (
        "stale", "running",
    )  # fmt: skip
    assert listed["run001"]["status"] == "running"  # its process (this one) is alive
    assert api.runs(project.root).runs[0].status == "stale"  # the same verdict
    assert site.get("/api/runs/crashed").json()["run"]["status"] == "stale"
    assert 'data-status="stale"' in site.get("/runs").text


def test_a_broken_server_connection_is_opened_again(site: Served, project: Project) -> None:
    """The server drops the dashboard's connection (a restart would): that request fails
    without details, the next ones are answered again."""
    if project.backend != "postgresql":
        pytest.skip("a SQLite file has no connection to lose")
    import psycopg

    with psycopg.connect(project.database, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    assert ended, "the dashboard's connection was not found"
    first = site.get("/api/runs")
    assert first.status in (200, 500)
    if first.status == 500:
        assert first.json() == {"error": "internal error (the dashboard's log has the cause)"}
    assert site.get("/api/runs").status == 200
    assert len(site.get("/api/runs").json()["runs"]) == 7


def test_cost_figures_follow_new_writes(site: Served, project: Project) -> None:
    """The costs are kept between requests until what they depend on moves: a prompt
    finished later, and a run's workflow, show up at once, still equal to `db stats`."""
    before = site.get("/api/costs?by=day").json()["totals"]["cost_usd"]
    assert site.get("/api/costs?by=day").json()["totals"]["cost_usd"] == before  # kept
    with project.open() as db:
        agent = db.start_agent("builder", "run001", adw_id="run001", name="review")
        prompt = db.start_prompt(agent.id, "one more", model="claude-sonnet-4")
        db.complete_prompt(prompt.id, input_tokens=1, output_tokens=1, cost_usd=1.25)
    for by, stats_by in (("day", "day"), ("model", "model"), ("run_type", "session")):
        now = site.get(f"/api/costs?by={by}").json()["totals"]["cost_usd"]
        assert round(now, 2) == round(before + 1.25, 2), by
        assert round(now, 2) == round(api.db.stats(project.root, by=stats_by).totals["cost_usd"], 2)
    run_types = {row["key"]: row["cost_usd"] for row in site.get("/api/costs?by=run_type").json()[
        "series"]}  # fmt: skip
    assert round(run_types["patch"], 2) == round(0.02 + 0.04 + 1.25, 2)
