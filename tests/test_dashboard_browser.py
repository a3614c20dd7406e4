"""The dashboard in a real browser: headless Debian chromium through chromedriver (tests/browser).

The app is the real one (`tac-bootstrap dashboard` in its own process, on 127.0.0.1, or on
127.0.0.2 where it requires a token) over a real database written by other processes through the
generated project's own runtime. Waits are generous and nothing asserts on a duration: the
speed of the live stream is measured in bench/, not here. Each page's screenshot is saved under
.artifacts/screenshots/ (ignored by git).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import browser as real_browser
from .browser import (
    Driver,
    console_entries,
    csp_violations,
    page_csp_violations,
    screenshot,
    wait_until,
)
from .conftest import ProjectFactory, run_cli
from .dashboard_browser_support import XSS, Dashboard, require_app, serve, write

TOKEN = "browser-test-token-" + "x" * 16


def by_css(driver: Driver, selector: str) -> list[Any]:
    return list(driver.find_elements("css selector", selector))


def present(selector: str) -> Callable[[Driver], list[Any]]:
    """A wait condition: the elements `selector` matches, once there is one."""
    return lambda driver: by_css(driver, selector)


def one(driver: Driver, selector: str) -> Any:
    return driver.find_element("css selector", selector)


def assert_page_clean(driver: Driver) -> None:
    """No CSP violation and no uncaught script error in the console since the last look."""
    entries = console_entries(driver)
    assert csp_violations(entries) == [], entries
    assert page_csp_violations(driver) == []
    errors = [e["message"] for e in entries if "Uncaught" in str(e.get("message", ""))]
    assert errors == [], errors


def mark_page(driver: Driver) -> None:
    """A flag that lives as long as the document: a reload or a navigation loses it."""
    driver.execute_script("window.__tacSamePage = true;")


def same_page(driver: Driver) -> bool:
    return bool(driver.execute_script("return window.__tacSamePage === true;"))


@pytest.fixture
def project(new_project: ProjectFactory, tmp_path: Path) -> Path:
    return new_project(tmp_path)


@pytest.fixture
def db_env(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """The project's SQLite file, or a fresh PostgreSQL database through TAC_ORCHESTRATOR_DB."""
    if backend == "sqlite":
        return {}
    return {"TAC_ORCHESTRATOR_DB": str(request.getfixturevalue("pg_url"))}


def seeded_run(project: Path, env: dict[str, str], adw_id: str, title: str) -> dict[str, str]:
    """A workflow run with two phases (agents), three prompts and a few hook events."""
    steps: list[dict[str, Any]] = [
        {"do": "run", "adw_id": adw_id, "title": title},
        {"do": "agent", "adw_id": adw_id, "name": "plan", "model": "sonnet"},
        {
            "do": "prompt",
            "agent": "plan",
            "text": f"/feature {title}",
            "model": "sonnet",
            "input": 1000,
            "output": 200,
            "cost": 0.125,
        },
        {
            "do": "log",
            "agent": "plan",
            "type": "tool_call",
            "message": "Read README.md",
            "details": {"tool_name": "Read"},
            "tool_use_id": "tu-1",
        },
        {
            "do": "log",
            "agent": "plan",
            "type": "tool_result",
            "message": "read 40 lines",
            "details": {"tool_name": "Read"},
            "tool_use_id": "tu-1",
        },
        {"do": "agent_done", "agent": "plan"},
        {"do": "agent", "adw_id": adw_id, "name": "build", "model": "opus"},
        {
            "do": "prompt",
            "agent": "build",
            "text": "/implement the plan",
            "model": "opus",
            "input": 3000,
            "output": 900,
            "cost": 0.5,
        },
        {
            "do": "prompt",
            "agent": "build",
            "text": XSS,
            "model": "opus",
            "input": 10,
            "output": 5,
            "cost": 0.0075,
        },
        {"do": "log", "agent": "build", "type": "hook", "message": XSS, "level": "WARNING"},
    ]
    return write(project, steps, env)


@pytest.fixture
def dashboard(project: Path, db_env: dict[str, str]) -> Iterator[Dashboard]:
    require_app()
    created = run_cli("db", "init", "--project", project, env=db_env)
    assert created.returncode == 0, created.stderr
    with serve(project, db_env) as served:
        yield served


def test_the_harness_sees_a_csp_violation(browser: Driver) -> None:
    """The console check the other tests rely on does catch a violation in this browser."""
    page = (
        "<meta http-equiv='Content-Security-Policy' content=\"script-src 'none'\">"
        "<p id='p'>x</p><script>document.getElementById('p').textContent = 'ran'</script>"
    )
    browser.get("data:text/html;charset=utf-8," + page)
    assert one(browser, "#p").text == "x"
    assert csp_violations(console_entries(browser)) != []
    assert page_csp_violations(browser) != []


def test_runs_page_lists_a_run_and_clicking_opens_it(
    browser: Driver, project: Path, db_env: dict[str, str], dashboard: Dashboard
) -> None:
    adw_id = "b" + uuid.uuid4().hex[:7]
    seeded_run(project, db_env, adw_id, "Add a health-check endpoint")
    browser.get(dashboard.url("/runs"))
    row = wait_until(
        browser,
        lambda d: by_css(d, f'table#runs tbody tr[data-run-id="{adw_id}"]'),
        "the runs page did not list the run",
    )[0]
    assert "Add a health-check endpoint" in row.text
    screenshot(browser, "runs")
    assert_page_clean(browser)

    row.find_element("css selector", "a.run-link").click()
    wait_until(browser, lambda d: d.current_url.endswith(f"/runs/{adw_id}"), "no run page")
    lanes = wait_until(browser, present("#timeline [data-agent-id]"), "no timeline")
    assert len(lanes) == 2
    assert len(by_css(browser, "#prompts tr[data-prompt-id]")) == 3
    screenshot(browser, "run")
    assert_page_clean(browser)


def test_a_prompt_holding_script_is_shown_as_text(
    browser: Driver, project: Path, db_env: dict[str, str], dashboard: Dashboard
) -> None:
    adw_id = "x" + uuid.uuid4().hex[:7]
    seeded_run(project, db_env, adw_id, XSS)
    browser.get(dashboard.url("/runs"))
    row = wait_until(browser, present(f'tr[data-run-id="{adw_id}"]'), "run not listed")[0]
    assert one(browser, f'tr[data-run-id="{adw_id}"] [data-field="issue"]').text == XSS
    assert_not_run(browser)

    browser.get(dashboard.url(f"/runs/{adw_id}"))
    prompt = wait_until(browser, present("tr[data-prompt-text-for] details"), "no prompt text")
    for details in prompt:
        details.find_element("css selector", "summary").click()
    texts = [p.text for p in by_css(browser, "tr[data-prompt-text-for] pre")]
    assert XSS in texts
    messages = [c.text for c in by_css(browser, '#events [data-field="message"]')]
    assert XSS in messages
    assert one(browser, '#run [data-field="issue_title"]').text == XSS
    assert_not_run(browser)
    del row


def assert_not_run(driver: Driver) -> None:
    """The markup in the data stayed text: no script ran, no element was made from it."""
    assert driver.execute_script("return window.__tacXss;") is None
    assert by_css(driver, 'img[src="x"]') == []
    assert [s.get_attribute("src") for s in by_css(driver, "script")] == [
        s.get_attribute("src") for s in by_css(driver, "script[src]")
    ]
    assert_page_clean(driver)


def test_a_new_run_appears_live_on_the_runs_page_and_opens(
    browser: Driver, project: Path, db_env: dict[str, str], dashboard: Dashboard
) -> None:
    seeded_run(project, db_env, "o" + uuid.uuid4().hex[:7], "An older run")
    browser.get(dashboard.url("/runs"))
    wait_until(browser, present('#live-status[data-state="open"]'), "stream closed")
    mark_page(browser)
    adw_id = "n" + uuid.uuid4().hex[:7]
    write(project, [{"do": "run", "adw_id": adw_id, "title": f"New {XSS}"}], db_env)
    row = wait_until(browser, present(f'table#runs tbody tr[data-run-id="{adw_id}"]'), "no row")
    assert same_page(browser), "the page reloaded instead of inserting the row"
    assert by_css(browser, "table#runs tbody tr[data-run-id]")[0] == row[0]  # newest first
    assert one(browser, f'tr[data-run-id="{adw_id}"] [data-field="issue"]').text == f"New {XSS}"
    assert_not_run(browser)
    row[0].find_element("css selector", "a.run-link").click()
    wait_until(browser, lambda d: d.current_url.endswith(f"/runs/{adw_id}"), "no run page")
    assert one(browser, "#run").get_attribute("data-run-id") == adw_id


def test_events_written_by_another_process_appear_live(
    browser: Driver, project: Path, db_env: dict[str, str], dashboard: Dashboard
) -> None:
    adw_id = "l" + uuid.uuid4().hex[:7]
    seeded_run(project, db_env, adw_id, "Live events")
    browser.get(dashboard.url(f"/runs/{adw_id}"))
    wait_until(browser, present('#live-status[data-state="open"]'), "stream closed")
    before = len(by_css(browser, "#events [data-event-id]"))
    mark_page(browser)
    marker = "live-" + uuid.uuid4().hex
    write(project, live_steps(adw_id, marker), db_env)

    def arrived(driver: Driver) -> list[str]:
        cells = by_css(driver, '#events [data-event-id] [data-field="message"]')
        texts = [c.text.split(marker, 1)[1].strip() for c in cells if marker in c.text]
        return texts if len(texts) == 4 else []

    assert wait_until(browser, arrived, "the live events did not reach the page") == [
        "first", XSS, "last", "call"
    ]  # fmt: skip
    # The result went into its call's row (as the page pairs them), not a row of its own.
    assert len(by_css(browser, "#events [data-event-id]")) == before + 4
    call = one(browser, '#events [data-tool-use-id="tu-live"]')
    assert call.find_element("css selector", '[data-field="result"]').text == f"found {XSS}"
    assert call.get_attribute("data-tool") == "Grep"
    # The new prompt, with its text folded under it.
    wait_until(
        browser, lambda d: len(by_css(d, "#prompts tr[data-prompt-id]")) == 4, "no live prompt"
    )
    row = by_css(browser, "#prompts tr[data-prompt-text-for]")[-1]
    row.find_element("css selector", "summary").click()
    assert row.find_element("css selector", "pre").text == f"/review {XSS}"
    assert same_page(browser), "the page reloaded instead of appending"
    ids = [r.get_attribute("data-event-id") for r in by_css(browser, "#events [data-event-id]")]
    assert len(ids) == len(set(ids))  # nothing delivered twice
    assert_not_run(browser)
    screenshot(browser, "run-live")


def test_an_open_prompt_keeps_its_elements_when_its_answer_arrives(
    browser: Driver, project: Path, db_env: dict[str, str], dashboard: Dashboard
) -> None:
    """A reader who opened a prompt's text (to read, select or scroll it) holds the same
    elements, still open, when the stream brings the prompt's answer."""
    adw_id = "o" + uuid.uuid4().hex[:7]
    seeded_run(project, db_env, adw_id, "Open prompt")
    browser.get(dashboard.url(f"/runs/{adw_id}"))
    wait_until(browser, present('#live-status[data-state="open"]'), "stream closed")
    agent = {"do": "agent", "adw_id": adw_id, "name": "review", "model": "sonnet"}
    start = {"do": "prompt_start", "agent": "review", "text": f"/review {XSS}", "model": "sonnet"}
    prompt_id = write(project, [agent, start], db_env)["prompt"]
    selector = f'#prompts tr[data-prompt-text-for="{prompt_id}"]'
    row = wait_until(browser, present(selector), "the prompt did not arrive")[0]
    row.find_element("css selector", "summary").click()
    held = row.find_element("css selector", "pre")
    assert held.text == f"/review {XSS}"  # visible: the details are open
    write(project, [{"do": "prompt_done", "prompt_id": prompt_id, "response": f"ok {XSS}"}], db_env)

    def answered(driver: Driver) -> list[str]:
        texts = [pre.text for pre in row.find_elements("css selector", "pre")]
        return texts if len(texts) == 2 else []

    assert wait_until(browser, answered, "the answer did not reach the open row") == [
        f"/review {XSS}", f"ok {XSS}"
    ]  # fmt: skip
    # The elements the reader held are the page's own still (a stale one raises), still open.
    assert held.text == f"/review {XSS}"
    assert row.find_element("css selector", "details").get_attribute("open") is not None
    assert len(by_css(browser, selector)) == 1
    assert_page_clean(browser)


def live_steps(adw_id: str, marker: str) -> list[dict[str, Any]]:
    """A review phase: hook events, a tool call with its result, and a prompt."""
    review = {"agent": "review"}
    return [
        {"do": "agent", "adw_id": adw_id, "name": "review", "model": "sonnet"},
        {"do": "log", **review, "type": "hook", "message": f"{marker} first"},
        {"do": "sleep", "seconds": 0.3},
        {"do": "log", **review, "type": "hook", "message": f"{marker} {XSS}", "level": "WARNING"},
        {"do": "sleep", "seconds": 0.3},
        {"do": "log", **review, "type": "hook", "message": f"{marker} last"},
        {
            "do": "log",
            **review,
            "type": "tool_call",
            "message": f"{marker} call",
            "details": {"tool_name": "Grep"},
            "tool_use_id": "tu-live",
        },
        {
            "do": "log",
            **review,
            "type": "tool_result",
            "message": f"found {XSS}",
            "details": {"tool_name": "Grep"},
            "tool_use_id": "tu-live",
        },
        {
            "do": "prompt",
            **review,
            "text": f"/review {XSS}",
            "model": "sonnet",
            "input": 20,
            "output": 10,
            "cost": 0.01,
        },
    ]


def stats_total(project: Path, env: dict[str, str]) -> float:
    result = run_cli("db", "stats", "--project", project, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return float(json.loads(result.stdout)["totals"]["cost_usd"])


def test_the_costs_charts_total_what_db_stats_says(
    browser: Driver, project: Path, db_env: dict[str, str], dashboard: Dashboard
) -> None:
    seeded_run(project, db_env, "c" + uuid.uuid4().hex[:7], "Costs one")
    seeded_run(project, db_env, "c" + uuid.uuid4().hex[:7], "Costs two")
    expected = round(stats_total(project, db_env), 2)
    assert expected == round(2 * (0.125 + 0.5 + 0.0075), 2)
    browser.get(dashboard.url("/costs"))
    charts = ("#chart-day", "#chart-model", "#chart-run-type")
    for selector in charts:
        wait_until(browser, present(f'{selector}[data-state="drawn"]'), f"{selector} not drawn")
        total = float(one(browser, selector).get_attribute("data-total-usd"))
        assert round(total, 2) == expected, selector
        assert by_css(browser, f"{selector} canvas"), f"{selector} has no plot"
    assert round(float(one(browser, "#cost-total").get_attribute("data-usd")), 2) == expected
    screenshot(browser, "costs")
    assert_page_clean(browser)


FETCH_STATUS = """
const done = arguments[arguments.length - 1];
fetch(arguments[0], {credentials: "same-origin"}).then(r => done(r.status), e => done(String(e)));
"""


def test_off_localhost_a_request_without_the_token_is_refused(
    browser: Driver, project: Path
) -> None:
    require_app()
    adw_id = "t" + uuid.uuid4().hex[:7]
    seeded_run(project, {}, adw_id, "Behind a token")  # creates the database
    with serve(project, {}, host="127.0.0.2", token=TOKEN) as guarded:
        browser.get(guarded.url("/runs"))
        assert by_css(browser, "table#runs") == []
        screenshot(browser, "refused")
        for path in ("/runs", "/api/runs", "/api/stream", "/static/dashboard.js"):
            assert browser.execute_async_script(FETCH_STATUS, path) == 401, path

        browser.get(guarded.url(f"/runs?token={TOKEN}"))
        wait_until(browser, present(f'tr[data-run-id="{adw_id}"]'), "the token was refused")
        assert "token" not in browser.current_url  # dropped from the address bar
        wait_until(browser, present('#live-status[data-state="open"]'), "the stream refused")
        assert browser.execute_async_script(FETCH_STATUS, "/api/runs") == 200
        assert_page_clean(browser)

        browser.delete_all_cookies()
        browser.get(guarded.url("/runs"))
        assert by_css(browser, "table#runs") == []
        assert browser.execute_async_script(FETCH_STATUS, "/api/runs") == 401


def test_browser_tests_are_required_in_ci() -> None:
    """.ci/run installs chromium and sets TAC_REQUIRE_BROWSER=1, so CI cannot skip them."""
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert f"export {real_browser.REQUIRE_ENV_VAR}=1" in ci
    assert "chromium chromium-driver" in ci
