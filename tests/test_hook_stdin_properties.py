"""The orchestrator hook given any stdin: exit 0, silence, a consistent database.

Claude Code pipes an event to `.claude/hooks/orchestrator_hook.py` of a generated project;
whatever arrives (random bytes, truncated or deeply nested JSON, huge strings, NUL, invalid
UTF-8, wrong types for every known field), the hook must exit 0 and print nothing (the CLI
shows a hook's output to the user, and a failing hook breaks the agent's turn), and the
database must stay consistent with rows only for valid events (a JSON object with a string
hook_event_name), each recorded exactly. Both halves run: Python synchronously
(`python3 orchestrator_hook.py < event`) and the shell half with its background recorder.
In process, the recorder module takes many more inputs.

The hook's files are owner-only whatever the umask: the fallback log (it holds raw hook
input) and the spool files 0600, the directories created for them 0700.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tac_bootstrap.runtime import hook_recorder
from tac_bootstrap.runtime.adw_database import OrchestratorDB

from .conftest import ProjectFactory, examples

KNOWN_FIELDS = [
    "session_id", "transcript_path", "cwd", "tool_name", "tool_input", "tool_response",
    "tool_use_id", "prompt", "message", "error", "reason", "source", "trigger", "agent_id",
    "agent_type", "is_interrupt", "stop_hook_active", "permission_mode",
]  # fmt: skip
SLOW = settings(max_examples=examples(60), suppress_health_check=[HealthCheck.too_slow])


class Layer:
    """A generated project with a migrated database and its own fallback file."""

    def __init__(self, root: Path, database: Path, fallback: Path) -> None:
        self.root = root
        self.database = database
        self.fallback = fallback
        self.hook = root / ".claude" / "hooks" / "orchestrator_hook.py"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("TAC_")},
            "TAC_ORCHESTRATOR_DB": str(self.database),
            "TAC_HOOK_FALLBACK_LOG": str(self.fallback),
            **extra,
        }

    @property
    def spool(self) -> hook_recorder.Spool:
        return hook_recorder.Spool(self.fallback, self.fallback.parent / hook_recorder.SPOOL_NAME)

    def rows(self) -> list[dict[str, Any]]:
        with contextlib.closing(sqlite3.connect(self.database)) as conn:
            found = []
            for table in ("agent_logs", "system_logs"):
                for (details,) in conn.execute(f"SELECT details FROM {table}"):
                    found.append(json.loads(details))
            return found

    def check_consistent(self) -> None:
        with contextlib.closing(sqlite3.connect(self.database)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


@pytest.fixture(scope="module")
def layer(
    tmp_path_factory: pytest.TempPathFactory, project_templates: ProjectFactory
) -> Iterator[Layer]:
    base = tmp_path_factory.mktemp("stdin")
    root = base / "demo"
    shutil.copytree(project_templates("demo", "--no-git"), root, symlinks=True)
    database = base / "orchestrator.db"
    migrations = root / "adws" / "schema" / "migrations"
    OrchestratorDB.open(str(database), migrations_dir=migrations).close()
    yield Layer(root, database, base / "hooks" / "hooks-fallback.jsonl")


# -- inputs -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON object with a string hook_event_name (a known one or not), any types for the
    other known fields, and a unique marker to find its row. Strings stay below the
    recorder's cut (2000 characters) and have no NUL, so the row's details are the event."""
    name = draw(st.sampled_from([*hook_recorder.EVENTS, "SomethingNew"]) | st.text(max_size=20))
    event: dict[str, Any] = {"hook_event_name": name, "marker": str(uuid.uuid4())}
    for field in draw(st.lists(st.sampled_from(KNOWN_FIELDS), unique=True, max_size=8)):
        event[field] = draw(json_values)
    return event


def expected_details(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "transcript_path"}


def _no_nul(value: Any) -> bool:
    return "\\u0000" not in json.dumps(value)


invalid_stdin = st.one_of(
    st.binary(max_size=400),  # random bytes, invalid UTF-8 and NUL among them
    json_values.map(lambda v: json.dumps(v).encode()).filter(lambda b: not b.startswith(b"{")),
    st.dictionaries(st.text(max_size=10), json_values)
    .filter(lambda d: not isinstance(d.get("hook_event_name"), str))
    .map(lambda d: json.dumps(d).encode()),
    valid_events().map(lambda e: json.dumps(e).encode()[:-1]),  # truncated
    st.integers(1, 200_000).map(lambda n: b"[" * n + b"]" * (n % 7)),  # deep nesting
    st.integers(1, 3_000_000).map(lambda n: b'{"hook_event_name": ' + b"9" * n + b"}"),
    st.just(b'{"hook_event_name": "Stop", "x": "\xff\xfe"}'),  # invalid UTF-8 in a string
    st.just(b'{"hook_event_name": NaN}'),
)


# -- subprocess: the hook as Claude Code runs it ----------------------------------------------


def run_python(layer: Layer, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, str(layer.hook)], input=stdin, capture_output=True, env=layer.env()
    )


def run_sh(layer: Layer, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(
        ["sh", str(layer.hook)], input=stdin, capture_output=True, env=layer.env()
    )
    assert hook_recorder.wait_until_recorded(layer.spool, timeout=20), stdin[:100]
    return done


@SLOW
@given(st.one_of(invalid_stdin, valid_events().map(lambda e: json.dumps(e).encode())))
def test_any_stdin_exits_0_silently_and_leaves_the_database_consistent(
    layer: Layer, stdin: bytes
) -> None:
    for run in (run_python, run_sh):
        before = len(layer.rows())
        done = run(layer, stdin)
        assert (done.returncode, done.stdout, done.stderr) == (0, b"", b""), run.__name__
        layer.check_consistent()
        try:
            event = json.loads(stdin.decode("utf-8", "replace"))  # as the recorder reads it
        except (ValueError, RecursionError):
            event = None
        valid = isinstance(event, dict) and isinstance(event.get("hook_event_name"), str)
        if valid and isinstance(event, dict) and "marker" in event and _no_nul(event):
            mine = [r for r in layer.rows() if r.get("marker") == event.get("marker")]
            assert mine[-1:] == [expected_details(event)], run.__name__
        elif not valid:
            assert len(layer.rows()) == before, run.__name__


@SLOW
@given(st.lists(valid_events(), min_size=1, max_size=5))
def test_valid_events_are_recorded_exactly_once_each(
    layer: Layer, events: list[dict[str, Any]]
) -> None:
    events = [e for e in events if _no_nul(e)]
    for event in events:
        assert run_sh(layer, json.dumps(event).encode()).returncode == 0
    markers = {e["marker"] for e in events}
    recorded = [r for r in layer.rows() if r.get("marker") in markers]
    key = json.dumps
    assert sorted(map(key, recorded)) == sorted(key(expected_details(e)) for e in events)


# -- in process: the recorder module, many more inputs ---------------------------------------


@settings(max_examples=examples(400), suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=300),
        invalid_stdin.map(lambda b: b.decode("utf-8", "surrogateescape")),
        valid_events().map(json.dumps),
    )
)
def test_the_recorder_in_process_never_raises_prints_or_corrupts(layer: Layer, raw: str) -> None:
    before = len(layer.rows())
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = hook_recorder.main(
            [],
            project_root=layer.root,
            stdin=io.StringIO(raw),
            environ={k: v for k, v in layer.env().items() if k.startswith("TAC_")},
        )
    assert (code, out.getvalue(), err.getvalue()) == (0, "", "")
    layer.check_consistent()
    try:
        event = json.loads(raw)
    except (ValueError, RecursionError):
        event = None
    if not (isinstance(event, dict) and isinstance(event.get("hook_event_name"), str)):
        assert len(layer.rows()) == before


# -- owner-only files -------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def umask_022() -> None:
    os.umask(0o022)


def test_the_fallback_log_and_its_new_directory_are_owner_only(
    layer: Layer, tmp_path: Path
) -> None:
    fallback = tmp_path / "new" / "dir" / "hooks-fallback.jsonl"
    env = layer.env(
        TAC_ORCHESTRATOR_DB=str(tmp_path / "missing.db"), TAC_HOOK_FALLBACK_LOG=str(fallback)
    )
    event = json.dumps({"hook_event_name": "Stop", "session_id": "s", "secret": "raw input"})
    done = subprocess.run(
        [sys.executable, str(layer.hook)],
        input=event.encode(),
        env=env,
        capture_output=True,
        preexec_fn=umask_022,
    )
    assert done.returncode == 0
    assert "raw input" in fallback.read_text()  # the missing database: the row waits here
    assert (mode(fallback), mode(fallback.parent), mode(fallback.parent.parent)) == (
        0o600,
        0o700,
        0o700,
    )


def test_a_readable_fallback_log_is_made_owner_only_on_the_next_append(
    layer: Layer, tmp_path: Path
) -> None:
    fallback = tmp_path / "hooks-fallback.jsonl"
    fallback.write_text("")
    fallback.chmod(0o644)  # as an older version, or another tool, left it
    env = layer.env(
        TAC_ORCHESTRATOR_DB=str(tmp_path / "missing.db"), TAC_HOOK_FALLBACK_LOG=str(fallback)
    )
    subprocess.run(
        [sys.executable, str(layer.hook)],
        input=b'{"hook_event_name": "Stop"}',
        env=env,
        preexec_fn=umask_022,
        check=True,
    )
    assert mode(fallback) == 0o600 and fallback.read_text()


def test_spool_files_and_directories_are_owner_only(layer: Layer, tmp_path: Path) -> None:
    fallback = tmp_path / "logs" / "hooks-fallback.jsonl"
    # no recorder runs (TAC_PYTHON fails), so the spool file stays to be looked at
    env = layer.env(TAC_HOOK_FALLBACK_LOG=str(fallback), TAC_PYTHON="false")
    subprocess.run(
        ["sh", str(layer.hook)],
        input=b'{"hook_event_name": "Stop", "secret": "raw"}',
        env=env,
        preexec_fn=umask_022,
        check=True,
    )
    spool = fallback.parent / hook_recorder.SPOOL_NAME
    [directory] = list(spool.iterdir())
    [spooled] = list(directory.iterdir())
    assert b"raw" in spooled.read_bytes()
    assert (mode(spooled), mode(directory), mode(spool), mode(fallback.parent)) == (
        0o600,
        0o700,
        0o700,
        0o700,
    )


def test_the_hook_without_its_layer_writes_an_owner_only_fallback(
    tmp_path: Path, new_project: ProjectFactory
) -> None:
    """The hook's last resort (adws/adw_modules missing or broken) writes the raw event."""
    root = new_project(tmp_path, "demo", "--no-git")
    (root / "adws" / "adw_modules" / "hook_recorder.py").unlink()
    fallback = tmp_path / "fresh" / "hooks-fallback.jsonl"
    done = subprocess.run(
        [sys.executable, str(root / ".claude" / "hooks" / "orchestrator_hook.py")],
        input=b'{"hook_event_name": "Stop", "secret": "raw"}',
        env={**os.environ, "TAC_HOOK_FALLBACK_LOG": str(fallback)},
        capture_output=True,
        preexec_fn=umask_022,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert "cannot load hook_recorder" in fallback.read_text()
    assert (mode(fallback), mode(fallback.parent)) == (0o600, 0o700)
