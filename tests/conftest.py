"""Shared helpers: the CLI through typer's CliRunner and through a real subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

from tac_bootstrap.cli.app import app

from . import browser as real_browser
from . import node_tools, real_claude
from .fake_anthropic import FakeAnthropic
from .pg_server import PgServer, PostgresUnavailable, start_server

# Hypothesis profiles (TAC_HYPOTHESIS_PROFILE): "deep" runs every property with its full count
# (200 examples, or the count the test names with `examples(n)`); the default "tac" runs 100
# (hypothesis' own default) and a quarter of a named count, at least 10: every property still
# meets dozens of inputs, and the examples that failed before are replayed first from
# .hypothesis/ either way. No per-example deadline: timings on a shared CI machine are noise.
DEEP = os.environ.get("TAC_HYPOTHESIS_PROFILE") == "deep"
QUICK_FRACTION = 4
QUICK_MINIMUM = 10


def examples(deep: int) -> int:
    """A property's example count: `deep` under the deep profile, a quarter by default."""
    return deep if DEEP else max(QUICK_MINIMUM, deep // QUICK_FRACTION)


for _name, _count in (("deep", 200), ("tac", 100)):
    settings.register_profile(
        _name, deadline=None, max_examples=_count, suppress_health_check=[HealthCheck.too_slow]
    )
settings.load_profile("deep" if DEEP else "tac")

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = REPO_ROOT / "tac_bootstrap_cli" / "tac_bootstrap" / "templates"
# Compiled modules for every interpreter the suite starts, outside the trees tests compare.
PYCACHE = REPO_ROOT / ".pytest_cache" / "pycache"


def share_bytecode() -> None:
    """Let every Python the suite starts (and this one) keep compiled modules, in one
    prefix directory instead of __pycache__ beside the sources.

    Without it (PYTHONDONTWRITEBYTECODE=1 is common on CI machines) each of the suite's
    thousands of CLI and runtime processes compiled the package from source again, ~60-90 ms
    of CPU apiece; with the prefix, generated projects stay free of __pycache__ as before.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    sys.dont_write_bytecode = False
    sys.pycache_prefix = str(PYCACHE)


share_bytecode()


@pytest.fixture
def cli() -> Callable[..., object]:
    """Invoke the typer app in-process; returns click's Result (stdout and stderr apart)."""
    runner = CliRunner()

    def invoke(*args: str | os.PathLike[str]) -> object:
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return invoke


def run_cli(
    *args: str | os.PathLike[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m tac_bootstrap` as a real process with no terminal on stdin."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", *map(str, args)],
        cwd=cwd,
        env=full_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def tree_snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root with its content, to prove a command wrote nothing."""
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- Generated projects: `init` once per variant, a private copy per test ----------------------

ProjectFactory = Callable[..., Path]


@pytest.fixture(scope="session")
def project_templates(tmp_path_factory: pytest.TempPathFactory) -> ProjectFactory:
    """`tac-bootstrap init <name> --yes <options>` run once per variant for the session; tests
    never change these trees, they take a copy through `new_project`."""
    made: dict[tuple[str, ...], Path] = {}

    def template(name: str = "demo", *options: str) -> Path:
        key = (name, *options)
        if key not in made:
            base = tmp_path_factory.mktemp("template")
            result = run_cli("init", name, "-o", base, "--yes", *options)
            assert result.returncode == 0, result.stderr
            made[key] = base / name
        return made[key]

    return template


@pytest.fixture
def new_project(project_templates: ProjectFactory) -> ProjectFactory:
    """A private copy, at <parent>/<name>, of what `init <name> --yes <options>` generates (its
    git repository included); copying is much cheaper than a fresh `init` per test."""

    def copy(parent: Path, name: str = "demo", *options: str) -> Path:
        target = parent / name
        shutil.copytree(project_templates(name, *options), target, symlinks=True)
        return target

    return copy


# --- PostgreSQL: a throwaway server per session (tests/pg_server.py) ---------------------------

PG_SKIP_PREFIX = "PostgreSQL unavailable:"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL server for the session; skipped loudly (or failed) when there is none."""
    try:
        server = start_server()
    except PostgresUnavailable as exc:
        if os.environ.get("TAC_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"TAC_REQUIRE_POSTGRES=1 but {PG_SKIP_PREFIX} {exc}", pytrace=False)
        pytest.skip(f"{PG_SKIP_PREFIX} {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_database(pg_server: PgServer) -> Iterator[Callable[[], str]]:
    """Create fresh databases on the session server (dropped afterwards); returns conninfo."""
    import psycopg

    admin = psycopg.connect(pg_server.conninfo("postgres"), autocommit=True)
    created: list[str] = []

    def create() -> str:
        name = f"t_{uuid.uuid4().hex}"
        admin.execute(f"CREATE DATABASE {name} TEMPLATE template0".encode())
        created.append(name)
        return pg_server.conninfo(name)

    try:
        yield create
    finally:
        for name in created:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())
        admin.close()


@pytest.fixture
def pg_url(pg_server: PgServer, pg_database: Callable[[], str]) -> str:
    """A postgresql:// URL of a fresh, empty database (dropped after the test)."""
    from psycopg.conninfo import conninfo_to_dict

    return pg_server.url(str(conninfo_to_dict(pg_database())["dbname"]))


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over both database engines."""
    return str(request.param)


@pytest.fixture
def db_target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, Path]:
    """(database, migrations_dir) of a fresh database on the test's backend: a file path that
    does not exist yet, or the URL of an empty PostgreSQL database."""
    schema = REPO_ROOT / "adws" / "schema"
    if backend == "sqlite":
        return str(tmp_path / "orch.db"), schema / "migrations"
    url = request.getfixturevalue("pg_url")
    return str(url), schema / "postgres" / "migrations"


# --- The real Claude Code CLI against the fake model API (tests/real_claude.py) -------------


@pytest.fixture(scope="session")
def claude_cli() -> Path:
    """The real CLI; skipped loudly (or failed where TAC_REQUIRE_CLAUDE=1) when missing."""
    cli, reason = real_claude.find_cli()
    if cli is None:
        if os.environ.get(real_claude.REQUIRE_ENV_VAR) == "1":
            pytest.fail(
                f"{real_claude.REQUIRE_ENV_VAR}=1 but {real_claude.SKIP_PREFIX} {reason}",
                pytrace=False,
            )
        pytest.skip(f"{real_claude.SKIP_PREFIX} {reason}")
    return cli


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropic]:
    """A fresh fake Messages API on 127.0.0.1 for one test."""
    with FakeAnthropic() as api:
        yield api


@pytest.fixture
def claude_home(tmp_path: Path) -> Path:
    """A throwaway HOME for the CLI (its settings, transcripts and caches land here)."""
    home = tmp_path / "claude-home"
    home.mkdir()
    return home


# --- A real browser: headless chromium through chromedriver (tests/browser.py) ---------------


@pytest.fixture(scope="session")
def browser_binaries() -> real_browser.BrowserBinaries:
    """chromium and chromedriver; skipped loudly (or failed where TAC_REQUIRE_BROWSER=1)."""
    found, reason = real_browser.find_browser()
    if found is None:
        if real_browser.required():
            message = f"{real_browser.REQUIRE_ENV_VAR}=1 but {real_browser.SKIP_PREFIX} {reason}"
            pytest.fail(message, pytrace=False)
        pytest.skip(f"{real_browser.SKIP_PREFIX} {reason}")
    return found


@pytest.fixture
def browser(browser_binaries: real_browser.BrowserBinaries) -> Iterator[real_browser.Driver]:
    """A fresh headless chromium session (selenium WebDriver) for one test."""
    with real_browser.start_browser(browser_binaries) as driver:
        yield driver


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that need the PostgreSQL server, the real CLI or the real browser,
    whichever way they ask for it, so a run can select or leave out a group
    (`-m "not postgres"`)."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "pg_server" in fixtures:
            item.add_marker(pytest.mark.postgres)
        if "claude_cli" in fixtures:
            item.add_marker(pytest.mark.real_cli)
        if "browser_binaries" in fixtures:
            item.add_marker(pytest.mark.browser)


def _banner(config: pytest.Config, prefix: str, what: str, how: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = [
        report
        for report in reporter.stats.get("skipped", [])
        if prefix in str(getattr(report, "longrepr", ""))
    ]
    if skipped:
        line = "!" * 88
        reporter.write_line(line, red=True, bold=True)
        reporter.write_line(f"!!! {len(skipped)} {what} tests SKIPPED: {how}", red=True, bold=True)
        reporter.write_line(line, red=True, bold=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Banners nobody can miss when the PostgreSQL or real-CLI tests did not run: printed
    after pytest's own totals, so they are the last thing on the screen."""
    _banner(
        config,
        PG_SKIP_PREFIX,
        "PostgreSQL",
        "no initdb found (install postgresql, or set TAC_TEST_PG_BINDIR / TAC_TEST_POSTGRES_URL)",
    )
    _banner(
        config,
        real_claude.SKIP_PREFIX,
        "real Claude Code CLI",
        "no CLI (install node and npm, then `make claude-cli`; or set TAC_CLAUDE_CLI)",
    )
    _banner(
        config,
        node_tools.SKIP_PREFIX,
        "real Node check tool",
        "no npm, or the registry is unreachable (see tests/node_tools.py)",
    )
    _banner(
        config,
        real_browser.SKIP_PREFIX,
        "real-browser",
        "no chromium/chromedriver (apt-get install chromium chromium-driver)",
    )
