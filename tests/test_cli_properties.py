"""Property-based tests of the whole command line, in-process through typer's CliRunner.

Hypothesis builds argument lists for every command (real option names in any order, random
values: huge integers, inf/nan, unicode, long names, paths to files, directories and devices)
and runs them in a temporary directory holding a project. Whatever the input: no exception
escapes, the exit code is 0, 1 or 2, nothing looks like a traceback or an internal error, no
password is printed, and with --json stdout is exactly one JSON document.

Paths that a command writes to are generated relative (inside the temporary directory) and
never absolute; devices and /proc are only offered where a command reads.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tac_bootstrap.cli.app import app
from tac_bootstrap.cli.params import MAX_BATCH, MAX_DAYS, MAX_LIMIT

from .conftest import ProjectFactory, examples

SECRET = "s3cr3t-pw"

# -- values ----------------------------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
    max_size=24,
).filter(lambda t: not t.startswith("-"))
_ints = st.integers(min_value=-(2**70), max_value=2**70).map(str)
_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["inf", "-inf", "nan", "1e309", "1e10", "0", "0.5", "36500", "36500.01"]),
)
_numbers = st.one_of(_ints, _floats, _text)
_durations = st.one_of(
    st.builds(
        lambda n, unit: f"{n}{unit}",
        st.one_of(st.integers(min_value=0, max_value=10**20), st.floats(0, 1e30)),
        st.sampled_from("smhdw"),
    ),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "yesterday"]),
    _numbers,
)
_safe_name = st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True)
# Where a command may write: relative, inside the temporary directory.
_write_path = st.one_of(
    _safe_name,
    st.builds(lambda a, b: f"{a}/{b}", _safe_name, _safe_name),
    st.sampled_from(["afile", "adir", "afile/below", "proj", "proj/sub", "x" * 300, "é✓"]),
)
# Where a command only reads (or refuses before writing).
_read_path = st.one_of(_write_path, st.sampled_from([".", "/dev/null", "/proc/self/status"]))
_project = st.sampled_from(["proj", ".", "adir", "afile", "/dev/null", "/proc", "proj/sub"])

# -- commands: (words, {option: values}, [positional values]) ---------------------------------

_COMMON = {"--json": None}
Spec = tuple[list[str], dict[str, "st.SearchStrategy[str] | None"], list["st.SearchStrategy[str]"]]
COMMANDS: list[Spec] = [
    (["version"], {}, []),
    (
        ["init"],
        {
            **_COMMON,
            "-o": _write_path,
            "--language": st.one_of(st.sampled_from(["python", "go", "rust", "cobol"]), _text),
            "--framework": st.one_of(st.sampled_from(["none", "fastapi", "express"]), _text),
            "--package-manager": st.one_of(st.sampled_from(["pip", "uv", "npm"]), _text),
            "--yes": None,
            "--no-git": None,
            "--dry-run": None,
            "--force": None,
        },
        [st.one_of(_safe_name, _text, st.just("x" * 300))],
    ),
    (["render"], {**_COMMON, "--dry-run": None, "--force": None, "--check": None}, [_project]),
    (["upgrade"], {**_COMMON, "--dry-run": None, "--yes": None}, [_project]),
    (["doctor"], {**_COMMON, "--fix": None}, [st.sampled_from(["proj", ".", "adir", "/dev/null"])]),
    (["add-agentic"], {**_COMMON, "--yes": None, "--dry-run": None}, [_write_path]),
    (["db", "init"], {**_COMMON, "--project": _project}, []),
    (["db", "migrate"], {**_COMMON, "--project": _project, "--dry-run": None}, []),
    (["db", "status"], {**_COMMON, "--project": _project}, []),
    (
        ["db", "stats"],
        {
            **_COMMON,
            "--project": _project,
            "--by": st.one_of(st.sampled_from(["session", "agent", "model", "day"]), _text),
            "--session": _text,
        },
        [],
    ),
    (
        ["db", "import-transcripts"],
        {**_COMMON, "--project": _project, "--since": _numbers, "--dry-run": None},
        [st.one_of(_write_path, st.just("/dev/null"))],
    ),
    (
        ["db", "logs"],
        {
            **_COMMON,
            "--project": _project,
            "--agent": _text,
            "--level": st.one_of(st.sampled_from(["DEBUG", "info", "ERROR"]), _text),
            "--since": _durations,
            "-n": _numbers,
        },
        [],
    ),
    (
        ["db", "prune"],
        {
            **_COMMON,
            "--project": _project,
            "--older-than": _numbers,
            "--dry-run": None,
            "--yes": None,
        },
        [],
    ),
    (["db", "backup"], {**_COMMON, "--project": _project}, [_write_path]),
    (
        ["db", "export"],
        {**_COMMON, "--project": _project, "--format": st.sampled_from(["json", "csv", "xml"])},
        [_write_path],
    ),
    (
        ["db", "copy"],
        {**_COMMON, "--project": _project, "--batch-size": _numbers},
        [st.one_of(_read_path, st.just(f"postgresql://u:{SECRET}@127.0.0.1:1/db")), _write_path],
    ),
]

_ENVIRONMENTS = st.sampled_from(
    [
        {},
        {"TAC_ORCHESTRATOR_DB": "adir"},
        {"TAC_ORCHESTRATOR_DB": "/proc/x"},
        {"TAC_ORCHESTRATOR_DB": "sub/x.db"},
        {"TAC_ORCHESTRATOR_DB": "sqlite:///afile"},
        {"TAC_ORCHESTRATOR_DB": f"postgresql://u:{SECRET}@127.0.0.1:1/db"},
        {"TAC_ORCHESTRATOR_DB": f"host=127.0.0.1 port=1 user=u password={SECRET} dbname=db"},
    ]
)


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    words, options, positionals = draw(st.sampled_from(COMMANDS))
    chosen = draw(st.lists(st.sampled_from(sorted(options)), unique=True)) if options else []
    parts: list[list[str]] = []
    for name in chosen:
        values = options[name]
        parts.append([name] if values is None else [name, draw(values)])
    for positional in positionals:
        if draw(st.booleans()):
            parts.append([draw(positional)])
    if draw(st.integers(0, 9)) == 0:  # now and then an unknown option or a stray word
        parts.append([draw(st.sampled_from(["--bogus", "-Z", "--json=1", "stray", "--older"]))])
    order = draw(st.permutations(range(len(parts))))
    return [*words, *(token for index in order for token in parts[index])]


# -- the workspace -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, project_templates: ProjectFactory) -> Path:
    """Shared by all generated examples (what one writes, the next may see)."""
    return _make_workspace(tmp_path_factory.mktemp("cli-properties"), project_templates)


@pytest.fixture
def fresh_workspace(tmp_path: Path, project_templates: ProjectFactory) -> Path:
    return _make_workspace(tmp_path, project_templates)


def _make_workspace(base: Path, project_templates: ProjectFactory) -> Path:
    """`init proj -y --no-git` in base (a copy of the session's), and things in the way."""
    shutil.copytree(project_templates("proj", "--no-git"), base / "proj", symlinks=True)
    (base / "afile").write_text("a file in the way\n")
    (base / "adir").mkdir()
    (base / "claude-home").mkdir()
    return base


@contextlib.contextmanager
def inside(directory: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(previous)


def _wants_json(argv: list[str]) -> bool:
    return "--json" in argv and not {"-h", "--help"} & set(argv)


def check_invocation(workspace: Path, argv: list[str], env: dict[str, str]) -> None:
    runner = CliRunner()
    env = {**env, "CLAUDE_CONFIG_DIR": str(workspace / "claude-home"), "NO_COLOR": "1"}
    with inside(workspace):
        result = runner.invoke(app, argv, env=env, catch_exceptions=True)
    where = f"argv={argv!r} env={env!r}\nstdout={result.stdout[-2000:]}\nstderr={result.stderr}"
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), f"{result.exception!r}\n{where}"
    assert result.exit_code in (0, 1, 2), where
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream, where
        assert "internal error" not in stream, where
        assert SECRET not in stream, where
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    if argv[:2] != ["db", "import-transcripts"]:  # that one lists each unreadable transcript
        # exit 2 is always one error line; exit 1 may be a report (doctor, conflicts, --check)
        assert len(errors) == (1 if result.exit_code == 2 else len(errors[:1])), where
    if _wants_json(argv):
        document = json.loads(result.stdout)  # exactly one document: trailing data fails
        assert isinstance(document, dict), where
        if result.exit_code != 0:
            assert document.get("ok") is False, where


@settings(max_examples=examples(300))
@given(argv=command_lines(), env=_ENVIRONMENTS)
def test_any_command_line_ends_in_a_clean_exit(
    workspace: Path, argv: list[str], env: dict[str, str]
) -> None:
    check_invocation(workspace, argv, env)


# -- numbers: the parser refuses exactly what is out of range -----------------------------------


def _expected_range(option: str, text: str) -> bool:
    """True when ``text`` is a value the option accepts (the model the parsers must match)."""
    value = text.strip()
    if option in ("-n", "--batch-size"):
        high = MAX_LIMIT if option == "-n" else MAX_BATCH
        if not re.fullmatch(r"[+-]?[0-9]+", value):
            return False
        return 1 <= int(value) <= high
    try:
        number = float(value) if len(value) <= 40 else math.nan  # longer is never a sane age
    except ValueError:
        return False
    return math.isfinite(number) and 0 <= number <= MAX_DAYS


NUMERIC_OPTIONS = [
    (["db", "logs", "-n"], "-n"),
    (["db", "prune", "--older-than"], "--older-than"),
    (["db", "import-transcripts", "--since"], "--since"),
    (["db", "copy", "a", "b", "--batch-size"], "--batch-size"),
]


@given(
    target=st.sampled_from(NUMERIC_OPTIONS),
    value=st.one_of(_ints, _floats, st.integers(-3, MAX_LIMIT + 3).map(str), _text),
)
def test_numeric_options_accept_exactly_their_range(
    tmp_path_factory: pytest.TempPathFactory, target: tuple[list[str], str], value: str
) -> None:
    words, option = target
    empty = tmp_path_factory.getbasetemp()  # no project: a valid number ends in a config error
    runner = CliRunner()
    with inside(empty):
        result = runner.invoke(app, [*words, value, "--json"], catch_exceptions=True)
    where = f"{words} {value!r}: {result.stderr}"
    assert result.exit_code == 2, where
    document = json.loads(result.stdout)
    refused = "Invalid value for" in document["error"]
    assert refused != _expected_range(option, value), where
    if refused:
        assert " to " in document["error"], where  # the accepted range is stated


# -- a few of the same through real processes ---------------------------------------------------

SUBPROCESS_CASES = [
    ["db", "logs", "-n", str(2**80), "--json"],
    ["db", "prune", "--older-than", "nan", "--json", "--project", "proj"],
    ["render", "/dev/null", "--json"],
    ["init", "x" * 300, "-o", "adir", "--json"],
    ["db", "copy", f"postgresql://u:{SECRET}@127.0.0.1:1/db", "out.db", "--json", "-P", "proj"],
    ["upgrade", "adir", "--json"],
    ["add-agentic", "afile", "--json"],
]


@pytest.mark.parametrize("argv", SUBPROCESS_CASES, ids=lambda a: " ".join(a)[:40])
def test_the_same_holds_in_a_real_process(fresh_workspace: Path, argv: list[str]) -> None:
    workspace = fresh_workspace
    proc = subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", *argv],
        cwd=workspace,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CLAUDE_CONFIG_DIR": str(workspace / "claude-home")},
    )
    assert proc.returncode in (1, 2), proc.stderr
    assert "Traceback" not in proc.stderr and SECRET not in proc.stderr + proc.stdout
    assert json.loads(proc.stdout)["ok"] is False
