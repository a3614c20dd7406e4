"""Start-up cost of the commands people run most: what they import and what processes they start.

Both are asserted on names and counts, never on times: imports are read from `sys.modules`
after running the real command in a fresh interpreter, process starts from a PATH of logging
wrapper scripts that exec the real tools.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ProjectFactory = Callable[..., Path]

# Runs one command in-process, then prints the names it imported (those already loaded before
# the CLI was imported, e.g. by a coverage hook, are left out).
_IMPORTS_SCRIPT = """
import json, sys
before = set(sys.modules)
from tac_bootstrap.cli.app import app
try:
    app(sys.argv[1:], prog_name="tac-bootstrap")
except SystemExit:
    pass
print("\\n" + json.dumps(sorted(set(sys.modules) - before)))
"""

# The runtime's transcript importer (hook writer, transcript reading and pricing): only the
# commands that import transcripts or rebuild usage, never to open a database.
_TRANSCRIPTS = [
    "tac_bootstrap.runtime.transcripts",
    "tac_bootstrap.runtime.transcript_import",
    "tac_bootstrap.runtime.hook_writer",
]
# What only some db commands need: the async class (async callers), the exporter (db export),
# the transcript service (db stats, db import-transcripts) and the other commands' reports.
_DB_ON_DEMAND = [
    "tac_bootstrap.application.database_reports",
    "tac_bootstrap.runtime.adw_db_async",
    "tac_bootstrap.application.database_export",
    "tac_bootstrap.application.database_transcripts",
]
# What `init` and `add-agentic` need and `render --check` does not.
_INIT_ONLY = ["tac_bootstrap.application.init_service", "tac_bootstrap.application.layer_setup"]

# The runtime's pydantic row models: loaded by the operations that build a row, not to open a
# database or read its status (runtime/orch_database_types.py holds what those need).
_ROW_MODELS = "tac_bootstrap.runtime.orch_database_models"

# The runtime's operation tables: loaded on a database's first open, so not by `db status`
# or doctor while the SQLite file does not exist (these projects have none yet).
_OPERATIONS = ["tac_bootstrap.runtime.adw_database", "tac_bootstrap.runtime.adw_db_methods"]

# typer's pydantic coercion: built only for a parameter given a value (cli/lazy_coercion.py).
_ADAPTERS = "typer._adapters"

# (command, modules it must not import). psycopg: never for SQLite; rich.progress: only the
# jobs with a progress bar (backup, transcript import); jinja2: only commands that render;
# rich: not for plain lines (render --check); the database stack (database_service,
# adw_database, transcripts): not to find the project.
IMPORT_CASES = [
    (
        ["db", "status"],
        [
            "psycopg",
            "psycopg2",
            "jinja2",
            "rich.progress",
            "tac_bootstrap.domain.plan",
            _ROW_MODELS,
            *_OPERATIONS,
            *_TRANSCRIPTS,
            *_DB_ON_DEMAND,
            _ADAPTERS,
        ],
    ),
    (
        ["db", "status", "--json"],
        [
            "psycopg",
            "psycopg2",
            "jinja2",
            "rich.progress",
            _ROW_MODELS,
            *_TRANSCRIPTS,
            *_DB_ON_DEMAND,
        ],
    ),
    (
        ["render", "--check"],
        [
            "psycopg",
            "psycopg2",
            "rich",
            "tac_bootstrap.application.database_service",
            "tac_bootstrap.runtime.adw_database",
            *_TRANSCRIPTS,
            *_INIT_ONLY,
            _ADAPTERS,
        ],
    ),
    (
        ["doctor"],
        [
            "psycopg",
            "psycopg2",
            "rich.progress",
            _ROW_MODELS,
            *_OPERATIONS,
            *_TRANSCRIPTS,
            *_INIT_ONLY,
            *_DB_ON_DEMAND,
        ],
    ),
]

# Every third-party distribution each command may load (top-level names, standard library and
# tac_bootstrap aside): a new dependency on one of these paths must be a decision made here.
_TYPER = {"typer", "annotated_doc", "shellingham"}
_PYDANTIC = {
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "typing_extensions",
    "typing_inspection",
}
THIRD_PARTY_CASES = [
    (["db", "status"], _TYPER | _PYDANTIC | {"yaml", "rich"}),
    (["render", "--check"], _TYPER | _PYDANTIC | {"yaml", "jinja2", "markupsafe"}),
    (["doctor"], _TYPER | _PYDANTIC | {"yaml", "jinja2", "markupsafe", "rich"}),
]


def imported_by(project: Path, args: list[str]) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTS_SCRIPT, *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.stdout.strip(), result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(("args", "forbidden"), IMPORT_CASES, ids=lambda v: " ".join(v))
def test_command_does_not_import(
    args: list[str], forbidden: list[str], tmp_path: Path, new_project: ProjectFactory
) -> None:
    project = new_project(tmp_path)
    modules = imported_by(project, args)
    assert "tac_bootstrap.cli.app" in modules  # the command really ran in this interpreter
    loaded = sorted(
        name for name in modules for bad in forbidden if name == bad or name.startswith(bad + ".")
    )
    assert loaded == [], f"`{' '.join(args)}` imported {loaded}"


def third_party(modules: set[str]) -> set[str]:
    """Top-level names of the distributions among ``modules`` (private helpers such as
    `_cython_3_3_1` or `_distutils_hack` are no distribution of their own)."""
    tops = {name.split(".")[0] for name in modules}
    return {
        top
        for top in tops
        if top not in sys.stdlib_module_names and not top.startswith("_") and top != "tac_bootstrap"
    } - {"cython_runtime"}


@pytest.mark.parametrize(
    ("args", "allowed"), THIRD_PARTY_CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_command_loads_only_its_dependencies(
    args: list[str], allowed: set[str], tmp_path: Path, new_project: ProjectFactory
) -> None:
    project = new_project(tmp_path)
    modules = imported_by(project, args)
    assert "tac_bootstrap.cli.app" in modules
    extra = sorted(third_party(modules) - allowed)
    assert extra == [], f"`{' '.join(args)}` imported {extra}"


# --- doctor's process starts ---------------------------------------------------------------

_SHIM = """#!/bin/sh
printf '%s\\n' "{name} $1" >> "{log}"
exec "{real}" "$@"
"""


def shim_path(tmp_path: Path, tools: list[str]) -> tuple[str, Path]:
    """A PATH whose first directory wraps each tool in a script that logs the call (the tool
    and its first argument, one line per process start)."""
    shims = tmp_path / "shims"
    shims.mkdir()
    log = tmp_path / "calls.log"
    log.write_text("")
    for name in tools:
        real = shutil.which(name)
        assert real is not None, f"{name} is needed for this test"
        wrapper = shims / name
        wrapper.write_text(_SHIM.format(name=name, log=log, real=real))
        wrapper.chmod(0o755)
    return f"{shims}{os.pathsep}{os.environ.get('PATH', '')}", log


def doctor_calls(project: Path, tmp_path: Path, tac_python: str | None) -> list[str]:
    path, log = shim_path(tmp_path, ["git", "python3"])
    env = {**os.environ, "PATH": path}
    env.pop("TAC_PYTHON", None)
    if tac_python is not None:
        env["TAC_PYTHON"] = tac_python
    result = subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "doctor", "--json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    checks = {row["name"]: row for row in json.loads(result.stdout)["checks"]}
    assert checks["python"]["status"] == "ok", checks["python"]
    assert checks["git"]["status"] == "ok", checks["git"]
    return log.read_text().splitlines()


# Every start doctor makes on a SQLite project in a git repository:
#   git check-ignore -- <db files>   (is the database ignored? also tells "not a repository")
#   git ls-files -- <db files>       (is it tracked anyway?)
#   git --version                    (the git row)
#   python3 -c <probe>               (only when the hooks' Python is not this interpreter)
# Before: one more `git rev-parse --is-inside-work-tree`, and the probe ran even for the
# interpreter doctor itself runs on.
DOCTOR_CASES = [
    ("the hooks' python3 is another interpreter", None, 4, 1),
    ("TAC_PYTHON is the interpreter doctor runs on", sys.executable, 3, 0),
]


@pytest.mark.parametrize(
    ("what", "tac_python", "most", "probes"), DOCTOR_CASES, ids=[c[0] for c in DOCTOR_CASES]
)
def test_doctor_process_starts(
    what: str,
    tac_python: str | None,
    most: int,
    probes: int,
    tmp_path: Path,
    new_project: ProjectFactory,
) -> None:
    project = new_project(tmp_path)
    calls = doctor_calls(project, tmp_path, tac_python)
    assert len(calls) <= most, calls
    assert sum(call.startswith("python3 ") for call in calls) == probes, calls
    assert not any(call.startswith("git rev-parse") for call in calls), calls


# --- plain lines without rich ------------------------------------------------------------

PLAIN_LINES = [
    "all 87 generated files match the templates",
    "differs: .claude/hooks/pre_tool_use.py",
    "missing: adws/adw_modules/x.py",
    "[bold]not markup[/] and [link]",
    "  leading and trailing spaces  ",
    "",
    "é, ü, 漢字 and … in a path",
    "a very long line " * 30,
    "emoji-like :smile: codes go through rich",
    "a:b:c and C:\\dir paths",
    "tab\there and a bell \x07",
]


@pytest.mark.parametrize("json_mode", [False, True], ids=["stdout", "stderr with --json"])
def test_plain_lines_are_what_rich_prints(
    json_mode: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """Output.info skips rich for plain text; the bytes must be those rich's print writes."""
    from rich.console import Console

    from tac_bootstrap.cli.output import Output

    for line in PLAIN_LINES:
        Output(json_mode).info(line)
        ours = capsys.readouterr()
        Console(stderr=json_mode, highlight=False, soft_wrap=True).print(line, markup=False)
        theirs = capsys.readouterr()
        assert (ours.out, ours.err) == (theirs.out, theirs.err), repr(line)


def test_async_class_is_imported_on_first_use() -> None:
    """`from ...adw_database import AsyncOrchestratorDB` still works; plain importers of the
    module (the CLI, the hooks) do not load the async class."""
    script = (
        "import sys\n"
        "import tac_bootstrap.runtime.adw_database as db\n"
        "print('tac_bootstrap.runtime.adw_db_async' in sys.modules)\n"
        "from tac_bootstrap.runtime.adw_database import AsyncOrchestratorDB\n"
        "from tac_bootstrap.runtime.adw_db_async import AsyncOrchestratorDB as real\n"
        "print(AsyncOrchestratorDB is real is db.AsyncOrchestratorDB)\n"
        "print(hasattr(db, 'NoSuchName'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True", "False"]


def test_the_report_styles_name_every_plan_status() -> None:
    """cli/output.py keys its styles by the statuses' values, so that printing a db report
    does not load the plan's module: the two lists must stay one."""
    from tac_bootstrap.cli.output import STATUS_STYLE
    from tac_bootstrap.domain.plan import Status

    assert sorted(STATUS_STYLE) == sorted(status.value for status in Status)
    assert all(STATUS_STYLE[status] for status in Status)  # a member finds its value's style
