"""A real browser for tests: Debian's headless chromium driven through chromedriver (WebDriver).

The browser and its driver are system packages (`chromium`, `chromium-driver`; .ci/run installs
them when missing). Both paths are given to selenium, so its Selenium Manager never looks for
(or downloads) a driver. Without them the browser tests are skipped under a banner, or fail
where TAC_REQUIRE_BROWSER=1 (.ci/run sets it). The console log is kept (goog:loggingPrefs) so a
test can prove no Content-Security-Policy violation happened; screenshots go to an ignored
folder (.artifacts/screenshots/).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.webdriver import WebDriver

    Driver = WebDriver
else:
    Driver = Any

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIRE_ENV_VAR = "TAC_REQUIRE_BROWSER"
SKIP_PREFIX = "Browser unavailable:"
SCREENSHOTS = REPO_ROOT / ".artifacts" / "screenshots"
# Generous: a shared 2-CPU CI machine may be slow; no assertion is on the time itself.
WAIT_SECONDS = 30.0

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_NAMES = ("chromedriver",)
DRIVER_PATHS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
# Runs in every document before its own scripts (DevTools' addScriptToEvaluateOnNewDocument,
# which the page's CSP does not govern): every violation the page reports is kept for the test.
RECORD_CSP = """
window.__tacCspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__tacCspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""
CSP_VIOLATION = re.compile(r"Content[- ]Security[- ]Policy|Refused to (execute|load|apply)", re.I)


@dataclass(frozen=True)
class BrowserBinaries:
    browser: Path
    driver: Path


def find_browser() -> tuple[BrowserBinaries | None, str]:
    """(chromium and chromedriver, or None with the reason one is missing)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None, "selenium not installed (pip install -e '.[test]')"
    browser = next((shutil.which(name) for name in BROWSER_NAMES if shutil.which(name)), None)
    driver = next((shutil.which(name) for name in DRIVER_NAMES if shutil.which(name)), None)
    driver = driver or next((p for p in DRIVER_PATHS if Path(p).is_file()), None)
    missing = [name for name, path in (("chromium", browser), ("chromedriver", driver)) if not path]
    if browser is None or driver is None:
        return None, f"{' and '.join(missing)} not found (apt-get install chromium chromium-driver)"
    return BrowserBinaries(Path(browser), Path(driver)), ""


def _options(binaries: BrowserBinaries, profile: Path) -> Options:
    from selenium.webdriver.chrome.options import Options as ChromeOptions

    options = ChromeOptions()
    options.binary_location = str(binaries.browser)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in CI: chromium refuses its sandbox as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--metrics-recording-only",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


@contextmanager
def start_browser(binaries: BrowserBinaries) -> Iterator[Driver]:
    """A headless chromium session (selenium's WebDriver), closed afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="tac-chromium-") as profile:
        service = Service(executable_path=str(binaries.driver))
        driver = webdriver.Chrome(service=service, options=_options(binaries, Path(profile)))
        driver.set_page_load_timeout(WAIT_SECONDS)
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CSP})
        try:
            yield driver
        finally:
            driver.quit()


def page_csp_violations(driver: Driver) -> list[str]:
    """The violations the page itself saw (securitypolicyviolation events, recorded by a script
    the browser adds to every document before the page's own run)."""
    found = driver.execute_script("return window.__tacCspViolations || null;")
    assert found is not None, "the CSP recorder did not run in this page"
    return [str(item) for item in found]


def console_entries(driver: Driver) -> list[dict[str, Any]]:
    """The browser console's entries since the last call (chromium hands each out once)."""
    return list(driver.get_log("browser"))  # type: ignore[no-untyped-call]


def csp_violations(entries: list[dict[str, Any]]) -> list[str]:
    """The console messages that report a Content-Security-Policy violation."""
    return [
        str(e.get("message", ""))
        for e in entries
        if CSP_VIOLATION.search(str(e.get("message", "")))
    ]


def screenshot(driver: Driver, name: str, *, max_height: int = 3000) -> Path:
    """Save the whole page (up to max_height CSS pixels) as .artifacts/screenshots/<name>.png,
    an ignored folder; through the DevTools protocol, which can capture beyond the viewport."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], max_height)}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": {**clip, "scale": 1}},
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def wait_until(driver: Driver, condition: Callable[[Driver], Any], message: str) -> Any:
    """Poll `condition(driver)` until it is truthy; fails with `message` after WAIT_SECONDS."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # A live page replaces elements (the timeline's lanes): an element gone stale between
    # finding it and reading it means "look again", not a failure.
    ignored = (StaleElementReferenceException,)
    wait = WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.1, ignored_exceptions=ignored)
    return wait.until(condition, message)


def required() -> bool:
    return os.environ.get(REQUIRE_ENV_VAR) == "1"
