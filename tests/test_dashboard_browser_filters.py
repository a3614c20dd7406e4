"""The dashboard's filters and the live stream's reconnection, in a real browser (tests/browser).

Filters are the server's (the forms submit themselves on a change, so a filtered page is a
link anyone can share); what the stream brings afterwards follows the filter chosen on the
page. The stream survives its server going away: the page shows it closed, reconnects by
itself, and what was written meanwhile arrives from the cursor. And the costs page of a
database with nothing in it yet: empty charts, totals of zero, no script error.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.support.ui import Select

from .browser import Driver, screenshot, wait_until
from .conftest import ProjectFactory, run_cli
from .dashboard_browser_support import Dashboard, free_port, require_app, serve, write
from .test_dashboard_browser import (
    assert_page_clean,
    by_css,
    mark_page,
    one,
    present,
    same_page,
    seeded_run,
)


@pytest.fixture
def project(new_project: ProjectFactory, tmp_path: Path) -> Path:
    return new_project(tmp_path)


@pytest.fixture
def dashboard(project: Path) -> Iterator[Dashboard]:
    require_app()
    created = run_cli("db", "init", "--project", project)
    assert created.returncode == 0, created.stderr
    with serve(project, {}) as served:
        yield served


def listed(driver: Driver) -> list[str]:
    return [str(r.get_attribute("data-run-id")) for r in by_css(driver, "table#runs tbody tr")]


def test_the_runs_filters_narrow_the_list(
    browser: Driver, project: Path, dashboard: Dashboard
) -> None:
    running, done = "r" + uuid.uuid4().hex[:7], "d" + uuid.uuid4().hex[:7]
    seeded_run(project, {}, running, "Still going")
    seeded_run(project, {}, done, "All done")
    write(project, [{"do": "finish", "adw_id": done, "status": "completed"}], {})
    browser.get(dashboard.url("/runs"))
    wait_until(browser, present(f'tr[data-run-id="{done}"]'), "runs not listed")
    assert sorted(listed(browser)) == sorted([running, done])

    mark_page(browser)
    Select(one(browser, '#run-filters select[name="status"]')).select_by_value("completed")
    wait_until(browser, lambda d: not same_page(d), "choosing a status did not filter")
    wait_until(browser, lambda d: "status=completed" in d.current_url, "no status in the URL")
    assert listed(browser) == [done]

    browser.get(dashboard.url("/runs"))
    search = one(browser, '#run-filters input[name="q"]')
    search.send_keys(running[:6] + "\n")
    wait_until(browser, lambda d: "q=" in d.current_url, "the search did not submit")
    assert listed(browser) == [running]
    screenshot(browser, "runs-filtered")
    assert_page_clean(browser)


def test_live_events_follow_the_event_filter(
    browser: Driver, project: Path, dashboard: Dashboard
) -> None:
    adw_id = "f" + uuid.uuid4().hex[:7]
    seeded_run(project, {}, adw_id, "Filtered events")
    browser.get(dashboard.url(f"/runs/{adw_id}"))
    Select(one(browser, '#event-filters select[name="tool"]')).select_by_value("Read")
    wait_until(browser, lambda d: "tool=Read" in d.current_url, "choosing a tool did not filter")
    rows = by_css(browser, "#events [data-event-id]")
    assert rows and {r.get_attribute("data-tool") for r in rows} == {"Read"}
    wait_until(browser, present('#live-status[data-state="open"]'), "stream closed")
    marker = uuid.uuid4().hex
    steps: list[dict[str, Any]] = [
        {"do": "agent", "adw_id": adw_id, "name": "review"},
        {
            "do": "log",
            "agent": "review",
            "type": "tool_call",
            "message": f"{marker} bash",
            "details": {"tool_name": "Bash"},
        },
        {
            "do": "log",
            "agent": "review",
            "type": "tool_call",
            "message": f"{marker} read",
            "details": {"tool_name": "Read"},
        },
    ]
    write(project, steps, {})

    def arrived(driver: Driver) -> list[Any]:
        rows = by_css(driver, "#events [data-event-id]")
        found = [r for r in rows if marker in (r.get_attribute("textContent") or "")]
        return found if len(found) == 2 else []

    found = wait_until(browser, arrived, "the live events did not reach the page")
    by_tool = {r.get_attribute("data-tool"): r for r in found}
    # Both are in the page; only the one the filter lets through is shown.
    assert not by_tool["Bash"].is_displayed() and by_tool["Read"].is_displayed()
    options = by_css(browser, '#event-filters select[name="tool"] option')
    assert "Bash" in [o.get_attribute("value") for o in options]  # offered from now on
    assert_page_clean(browser)


def test_the_stream_reconnects_and_delivers_what_was_written_meanwhile(
    browser: Driver, project: Path
) -> None:
    require_app()
    adw_id = "c" + uuid.uuid4().hex[:7]
    seeded_run(project, {}, adw_id, "Reconnecting")
    port = free_port("127.0.0.1")
    marker = uuid.uuid4().hex
    with serve(project, {}, port=port) as first:
        browser.get(first.url(f"/runs/{adw_id}"))
        wait_until(browser, present('#live-status[data-state="open"]'), "stream closed")
        mark_page(browser)
    # The server is gone: the page says so, and keeps trying.
    wait_until(browser, present('#live-status[data-state="closed"]'), "the page did not notice")
    steps: list[dict[str, Any]] = [
        {"do": "agent", "adw_id": adw_id, "name": "document"},
        {"do": "log", "agent": "document", "type": "hook", "message": f"{marker} while down"},
    ]
    write(project, steps, {})
    with serve(project, {}, port=port):
        wait_until(browser, present('#live-status[data-state="open"]'), "no reconnection")
        wait_until(
            browser,
            lambda d: [c for c in by_css(d, '#events [data-field="message"]') if marker in c.text],
            "what was written while the server was down never arrived",
        )
        assert same_page(browser), "the page reloaded"
        assert_page_clean(browser)


def test_the_costs_page_of_an_empty_database(browser: Driver, dashboard: Dashboard) -> None:
    browser.get(dashboard.url("/costs"))
    for selector in ("#chart-day", "#chart-model", "#chart-run-type"):
        chart = wait_until(browser, present(f'{selector}[data-state="drawn"]'), selector)[0]
        assert float(chart.get_attribute("data-total-usd")) == 0
        assert chart.find_elements("css selector", ".empty"), selector
    assert float(one(browser, "#cost-total").get_attribute("data-usd")) == 0
    assert_page_clean(browser)
