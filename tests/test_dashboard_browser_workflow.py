"""A real workflow run watched in a real browser: `adw_plan_build_test_review.py` with the fake
agent CLI (adws/tests/fake_claude.py, which runs the project's real hooks), in a generated
project, while the dashboard's pages are open in headless chromium.

The run is held at a known point without any timing: its test command waits for a gate file
the test creates. Before the gate the run page shows the plan and build phases; after it, the
review phase's agent, its hook events and the run's end must arrive in the open page by the
live stream alone (no reload: a flag set on the page survives).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .browser import Driver, screenshot, wait_until
from .conftest import ProjectFactory, run_cli
from .dashboard_browser_support import Dashboard, require_app, serve
from .test_dashboard_browser import assert_page_clean, by_css, mark_page, one, present, same_page

WORKFLOW = "adw_plan_build_test_review.py"
ISSUE = "Add a health-check endpoint"


def gate_command(gate: Path) -> str:
    """A check command that reports a pass once `gate` exists (and waits until then)."""
    code = (
        "import os, time; "
        f"[time.sleep(0.05) for _ in iter(lambda: os.path.exists({str(gate)!r}), True)]; "
        "print('3 passed')"
    )
    return f'"{sys.executable}" -c "{code}"'


def workflow_env(project: Path, tmp_path: Path, gate: Path) -> dict[str, str]:
    """The layer's own test setup (adws/tests/conftest.py): the fake CLI, runs in tmp, the
    project itself as the work tree (isolation none, no commits), stand-in check commands."""
    overrides = {
        "workflow": {"isolation": "none", "commit": False, "test_attempts": 1},
        "commands": {
            "test": gate_command(gate),
            "lint": f'"{sys.executable}" -c "print(\'lint clean\')"',
            "typecheck": "",
        },
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAC_", "FAKE_CLAUDE_"))}
    env.update(
        CLAUDE_CODE_PATH=str(project / "adws" / "tests" / "fake_claude.py"),
        FAKE_CLAUDE_STATE_DIR=str(tmp_path / "fake-state"),
        TAC_ADW_RUNS_DIR=str(tmp_path / "runs"),
        TAC_HOOK_FALLBACK_LOG=str(tmp_path / "hooks-fallback.jsonl"),
        TAC_PYTHON=sys.executable,
        TAC_ADW_OVERRIDES=json.dumps(overrides),
        ADW_RETRY_BASE_SECONDS="0.01",
    )
    return env


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


def event_ids(dashboard: Dashboard, adw_id: str) -> set[str]:
    """Every hook event the run's page lists, from the API (all pages of it)."""
    ids: set[str] = set()
    after = ""
    while True:
        page: dict[str, Any] = dashboard.json(f"/api/runs/{adw_id}/events?after={after}")
        ids.update(str(e["id"]) for e in page["events"])
        if not page["next"]:
            return ids
        after = page["next"]


def shown_events(driver: Driver) -> set[str | None]:
    return {e.get_attribute("data-event-id") for e in by_css(driver, "#events [data-event-id]")}


def test_a_workflow_run_streams_into_the_open_pages(
    browser: Driver, project: Path, tmp_path: Path, dashboard: Dashboard
) -> None:
    adw_id = "w" + uuid.uuid4().hex[:7]
    gate = tmp_path / "release-the-test-phase"
    browser.get(dashboard.url("/runs"))
    wait_until(browser, present('#live-status[data-state="open"]'), "the stream did not open")
    mark_page(browser)
    run = subprocess.Popen(
        [sys.executable, str(project / "adws" / WORKFLOW), ISSUE, "--adw-id", adw_id],
        cwd=project,
        env=workflow_env(project, tmp_path, gate),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        watch(browser, dashboard, adw_id, gate)
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        assert json.loads(out)["status"] == "completed"
        wait_until(
            browser,
            present('#run[data-status="completed"]'),
            "the run's end did not reach the page",
        )
        # Every event the run wrote is on the page, live: lines the hooks' recorder wrote late
        # (timed before the page's cursor) come too, by their insertion number (live.py).
        written = event_ids(dashboard, adw_id)
        wait_until(
            browser,
            lambda d: written <= shown_events(d),
            "the page is missing events the run wrote",
        )
        wait_until(
            browser,
            lambda d: (
                {s.get_attribute("data-status") for s in by_css(d, "#timeline .span")}
                == {"completed"}
            ),
            "the timeline still shows a phase running after the run's end",
        )
        assert same_page(browser), "the run page reloaded"
        screenshot(browser, "run-workflow")
        screenshot(browser, "run-workflow-top", max_height=1080)  # docs/dashboard.png
        assert_page_clean(browser)
    finally:
        gate.touch()
        if run.poll() is None:
            run.kill()
            run.communicate()


def watch(browser: Driver, dashboard: Dashboard, adw_id: str, gate: Path) -> None:
    """The row appears live on the runs page; its page, opened by a click while the run waits
    at the gate, then receives the review phase live."""
    row = wait_until(
        browser, present(f'table#runs tbody tr[data-run-id="{adw_id}"]'), "no live row"
    )[0]
    assert same_page(browser), "the runs page reloaded"
    # The plan and build phases are written before the test phase waits at the gate.
    wait_until(browser, lambda d: "build" in row.text, "the build phase did not show up live")
    row.find_element("css selector", "a.run-link").click()
    wait_until(browser, lambda d: d.current_url.endswith(f"/runs/{adw_id}"), "no run page")
    wait_until(browser, present('#live-status[data-state="open"]'), "the run's stream")
    mark_page(browser)
    phases = browser.execute_script(  # in one go: a refresh may replace the lanes meanwhile
        "return Array.from(document.querySelectorAll('#timeline .lane'), l => l.dataset.phase);"
    )
    assert "review" not in phases, phases  # the run is held before review
    before = len(by_css(browser, "#events [data-event-id]"))
    assert one(browser, "#run").get_attribute("data-status") == "running"
    gate.touch()
    wait_until(browser, present('#timeline .lane[data-phase="review"]'), "no review lane")
    wait_until(
        browser,
        lambda d: len(by_css(d, "#events [data-event-id]")) > before,
        "the review phase's hook events did not arrive",
    )
