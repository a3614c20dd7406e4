"""The dashboard's browser assets as shipped: our scripts build the DOM from text only, and the
vendored chart library is the file its README names (version, hashes, licence beside it).

The browser tests prove the pages run under the Content-Security-Policy and keep markup in the
data as text; these checks catch a later edit that would only fail with hostile data or a
stricter browser: an innerHTML, an eval, an inline handler, a file from another origin.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parent.parent / "tac_bootstrap_cli/tac_bootstrap/dashboard/static"
VENDOR = STATIC / "vendor" / "uplot"
OUR_SCRIPTS = sorted(STATIC.glob("*.js"))

# What would turn data into markup or code, or reach another origin.
FORBIDDEN = {
    "innerHTML": r"\.innerHTML\b",
    "outerHTML": r"\.outerHTML\b",
    "insertAdjacentHTML": r"insertAdjacentHTML",
    "document.write": r"document\.write",
    "eval": r"\beval\s*\(",
    "new Function": r"new\s+Function\b",
    "a string timer": r"setTimeout\(\s*[\"']|setInterval\(\s*[\"']",
    "an inline handler attribute": r"setAttribute\(\s*[\"']on",
    "a style attribute": r"setAttribute\(\s*[\"']style",
    "another origin": r"https?://",
}


def test_our_scripts_are_there() -> None:
    names = {path.name for path in OUR_SCRIPTS}
    assert {"dashboard.js", "dashboard-charts.js", "dashboard-timeline.js"} <= names


@pytest.mark.parametrize("script", OUR_SCRIPTS, ids=lambda p: p.name)
def test_a_script_builds_the_dom_from_text_only(script: Path) -> None:
    source = script.read_text(encoding="utf-8")
    found = {what for what, pattern in FORBIDDEN.items() if re.search(pattern, source)}
    assert found == set(), f"{script.name}: {sorted(found)}"
    assert source.lstrip().startswith("/*") and '"use strict"' in source


def test_the_stylesheet_loads_nothing_from_elsewhere() -> None:
    css = (STATIC / "dashboard.css").read_text(encoding="utf-8")
    assert not re.search(r"@import|url\(", css)


def test_the_vendored_library_is_the_one_its_readme_names() -> None:
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    hashes = dict(
        (name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.M)
    )
    assert set(hashes) == {"uPlot.iife.min.js", "uPlot.min.css", "LICENSE"}
    for name, digest in hashes.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    version = re.search(r"\| version \| (\S+) \|", readme)
    assert version is not None
    banner = (VENDOR / "uPlot.iife.min.js").read_text(encoding="utf-8").splitlines()[0]
    assert f"(v{version.group(1)})" in banner
    assert "MIT License" in (VENDOR / "LICENSE").read_text(encoding="utf-8")
    assert "sourceMappingURL" not in (VENDOR / "uPlot.iife.min.js").read_text(encoding="utf-8")


def test_every_asset_a_script_loads_is_shipped() -> None:
    """dashboard.js loads the others by name beside itself (same origin, as the CSP wants)."""
    source = (STATIC / "dashboard.js").read_text(encoding="utf-8")
    bases = {"STATIC_BASE": STATIC, "vendor": VENDOR}
    loaded = [
        bases[base] / name
        for base, name in re.findall(r'(STATIC_BASE|vendor) \+ "([\w.-]+)"', source)
    ]
    assert len(loaded) == 4, "the pattern no longer matches how dashboard.js names its assets"
    assert [path.name for path in loaded if not path.is_file()] == []
