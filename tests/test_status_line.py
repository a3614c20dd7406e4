"""The generated status line (.claude/hooks/status_line.py), run as a real process with the
python3 the hooks use, over real SQLite databases the runtime wrote.

It shows the session's (or, with TAC_ADW_ID, the run's) cost, tokens and model as `db cost`
counts them; and whatever the database is (missing, empty, locked, corrupt, PostgreSQL) it
prints one short line, exits 0, and never prints the database's location, a password or a
control character taken from the database or the CLI.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.hook_writer import resolve_target

from .conftest import REPO_ROOT, ProjectFactory

MIGRATIONS = REPO_ROOT / "adws" / "schema" / "migrations"
SESSION = "5b0c9d7e-1111-4222-8333-944455556666"
OTHER_SESSION = "5b0c9d7e-aaaa-4bbb-8ccc-9ddddeeeeeee"
CLI_INPUT: dict[str, Any] = {
    "session_id": SESSION,
    "model": {"id": "claude-opus-5-5", "display_name": "Opus 5.5"},
    "cost": {"total_cost_usd": 0.0123},
}
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def hook_python() -> str:
    """The python3 the generated settings run the status line with (no venv, no packages)."""
    return "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, project_templates: ProjectFactory) -> Path:
    """One generated project for the module (a copy: tests never change the templates)."""
    target = tmp_path_factory.mktemp("status-line") / "demo"
    shutil.copytree(project_templates("demo", "--no-git"), target, symlinks=True)
    return target


def run_line(
    project: Path, stdin: object = CLI_INPUT, **env: str
) -> subprocess.CompletedProcess[str]:
    """The status line as Claude Code runs it: stdin JSON, -S, the project's environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TAC_", "CLAUDE"))}
    clean.update(env)
    text = stdin if isinstance(stdin, str) else json.dumps(stdin)
    return subprocess.run(
        [hook_python(), "-S", str(project / ".claude" / "hooks" / "status_line.py")],
        input=text,
        capture_output=True,
        text=True,
        env=clean,
        cwd=project,
        timeout=30,
    )


def line_of(result: subprocess.CompletedProcess[str]) -> str:
    """Exit 0, nothing on stderr, exactly one printable line: what the CLI shows."""
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1, repr(result.stdout)
    line = result.stdout[:-1]
    assert not CONTROL.search(line), repr(line)
    return line


def migrated(path: Path) -> OrchestratorDB:
    return OrchestratorDB.open(str(path), migrations_dir=MIGRATIONS)


def add_usage(
    path: Path, agent_id: str, session_id: str, n: int, model: str, minute: int = 0
) -> None:
    """Transcript usage rows (what the recorder imports after a turn) for one agent."""
    conn = sqlite3.connect(path)
    with conn:
        for i in range(n):
            conn.execute(
                "INSERT INTO session_usage (id, session_id, agent_id, message_id, model, "
                "input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, "
                "cost_usd, message_at) VALUES (?, ?, ?, ?, ?, 100, 20, 300, 1000, 0.0105, ?)",
                (
                    str(uuid.uuid4()),
                    session_id,
                    agent_id,
                    f"msg-{agent_id}-{i}",
                    model,
                    f"2026-12-01T10:{minute:02d}:{i:02d}.000Z",
                ),
            )
    conn.close()


def expected(db: OrchestratorDB, session_id: str) -> tuple[float, int]:
    """`db cost --session`: the cost and every token of the session."""
    rows = db.rollup("session", session_id=session_id)
    cost = sum(r.cost_usd for r in rows)
    toks = sum(
        r.input_tokens + r.output_tokens + r.cache_creation_tokens + r.cache_read_tokens
        for r in rows
    )
    return cost, toks


def test_a_session_shows_db_cost_totals_tokens_and_its_latest_model(
    project: Path, tmp_path: Path
) -> None:
    database = tmp_path / "orch.db"
    with migrated(database) as db:
        planner = db.register_orchestrator_agent("planner", "planner")
        worker = db.start_agent(planner.id, SESSION, adw_id="adw00001")
        for i in range(3):
            prompt = db.start_prompt(worker.id, f"step {i}", model="sonnet")
            db.complete_prompt(
                prompt.id, input_tokens=1000, output_tokens=200, cost_usd=0.5, cache_read_tokens=7
            )
        interactive = db.start_agent(planner.id, SESSION, name="interactive")
        other = db.start_agent(planner.id, OTHER_SESSION)
        prompt = db.start_prompt(other.id, "elsewhere", model="opus")
        db.complete_prompt(prompt.id, input_tokens=9, output_tokens=9, cost_usd=99.0)
    add_usage(database, interactive.id, SESSION, 4, "claude-haiku-5")
    # The worker's transcript (its prompts count it) holds the session's latest message.
    add_usage(database, worker.id, SESSION, 2, "claude-sonnet-5", minute=5)
    with migrated(database) as db:
        cost, toks = expected(db, SESSION)
    assert round(cost, 4) == 1.542  # 3 x 0.5 + 4 x 0.0105; the worker's transcript not twice
    line = line_of(run_line(project, TAC_ORCHESTRATOR_DB=str(database)))
    assert line == f"tac ${cost:.2f} | {toks / 1000:.1f}k tok | claude-sonnet-5"


def test_a_run_shows_its_own_totals_status_and_model(project: Path, tmp_path: Path) -> None:
    database = tmp_path / "orch.db"
    with migrated(database) as db:
        db.create_run("adw0run1", "adw_sdlc", status="running")
        builder = db.register_orchestrator_agent("builder", "builder")
        for phase, model in (("plan", "opus"), ("build", "claude-sonnet-5")):
            agent = db.start_agent(builder.id, f"s-{phase}", adw_id="adw0run1", model=model)
            prompt = db.start_prompt(agent.id, phase, model=model)
            db.complete_prompt(prompt.id, input_tokens=400, output_tokens=100, cost_usd=0.125)
        elsewhere = db.start_agent(builder.id, "s-x", adw_id="adw0run2", model="haiku")
        prompt = db.start_prompt(elsewhere.id, "x")
        db.complete_prompt(prompt.id, input_tokens=5, cost_usd=7.0)
    line = line_of(run_line(project, TAC_ORCHESTRATOR_DB=str(database), TAC_ADW_ID="adw0run1"))
    assert line == "tac run adw0run1 running $0.2500 | 1.0k tok | claude-sonnet-5"


@pytest.mark.parametrize("models", [("opus", "haiku"), ("haiku", "opus")])
def test_of_two_agents_started_in_one_millisecond_the_last_ones_model_is_shown(
    project: Path, tmp_path: Path, models: tuple[str, str]
) -> None:
    database = tmp_path / "orch.db"
    with migrated(database) as db:
        builder = db.register_orchestrator_agent("builder", "builder")
        for phase, model in zip(("plan", "build"), models, strict=True):
            db.start_agent(builder.id, SESSION, adw_id="adw0tie1", model=model, name=phase)
    conn = sqlite3.connect(database)
    with conn:  # the timestamps have a millisecond's resolution: a tie is one update away
        conn.execute("UPDATE agents SET created_at = '2026-12-01T10:00:00.000Z'")
    conn.close()
    for env in ({"TAC_ADW_ID": "adw0tie1"}, {}):  # a run's line, and a session's
        line = line_of(run_line(project, TAC_ORCHESTRATOR_DB=str(database), **env))
        assert line.endswith(f" | 0 tok | {models[1]}"), line


def test_an_empty_database_shows_zero_and_the_cli_model(project: Path, tmp_path: Path) -> None:
    database = tmp_path / "orch.db"
    migrated(database).close()
    line = line_of(run_line(project, TAC_ORCHESTRATOR_DB=str(database)))
    assert line == "tac $0.0000 | 0 tok | Opus 5.5"


def test_a_missing_database_is_said_and_not_created(project: Path, tmp_path: Path) -> None:
    database = tmp_path / "nowhere" / "orch.db"
    line = line_of(run_line(project, TAC_ORCHESTRATOR_DB=str(database)))
    assert line == "tac: no database yet | Opus 5.5"
    assert not database.parent.exists()
    # The project's default file (adws/schema/orchestrator.db) is read when nothing is set.
    default = project / "adws" / "schema" / "orchestrator.db"
    assert not default.exists()
    assert line_of(run_line(project)) == "tac: no database yet | Opus 5.5"
    migrated(default).close()
    try:
        assert line_of(run_line(project)) == "tac $0.0000 | 0 tok | Opus 5.5"
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{default}{suffix}").unlink(missing_ok=True)


def test_a_locked_database_says_busy_at_once(project: Path, tmp_path: Path) -> None:
    database = tmp_path / "orch.db"
    migrated(database).close()
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("DELETE FROM system_logs")
        line = line_of(run_line(project, TAC_ORCHESTRATOR_DB=str(database)))
    finally:
        holder.close()
    assert line == "tac: database busy | Opus 5.5"


@pytest.mark.parametrize(
    "content",
    [b"this is not a database\n" * 100, b"SQLite format 3\x00" + b"\xff" * 4080, b""],
    ids=["text", "broken-header", "empty-file"],
)
def test_a_corrupt_database_is_unreadable_not_a_crash(
    project: Path, tmp_path: Path, content: bytes
) -> None:
    database = tmp_path / "orch.db"
    database.write_bytes(content)
    line = line_of(run_line(project, TAC_ORCHESTRATOR_DB=str(database)))
    assert line == "tac: database unreadable | Opus 5.5"
    assert database.read_bytes() == content  # read-only: not repaired, not written


@pytest.mark.parametrize(
    "setting",
    [
        "postgresql://tac:s3cr3t-pw@db.internal:5432/orch",
        "postgres+psycopg://tac:s3cr3t-pw@db.internal/orch",
        "host=db.internal dbname=orch user=tac password=s3cr3t-pw",
    ],
)
def test_postgresql_shows_the_cli_cost_and_no_secret(
    project: Path, setting: str, tmp_path: Path
) -> None:
    line = line_of(run_line(project, TAC_ORCHESTRATOR_DB=setting))
    assert line == "tac [postgresql: not read] | $0.0123 (CLI) | Opus 5.5"
    for secret in ("s3cr3t", "db.internal", "tac:"):
        assert secret not in line


def test_hostile_text_from_the_database_and_the_cli_is_shown_inert(
    project: Path, tmp_path: Path
) -> None:
    hostile = "\x1b]0;pwned\x07\x1b[31mevil\x1b[0m\r\n\u202emodel\x9b2J\x00"
    database = tmp_path / "orch.db"
    with migrated(database) as db:
        db.create_run("adw0bad1", "adw_sdlc", status="running")
        orch = db.register_orchestrator_agent("builder", "builder")
        agent = db.start_agent(orch.id, SESSION, adw_id="adw0bad1", model=hostile)
        prompt = db.start_prompt(agent.id, "x", model=hostile)
        db.complete_prompt(prompt.id, input_tokens=1, cost_usd=0.5)
    add_usage(database, agent.id, SESSION, 1, hostile)
    cli = {**CLI_INPUT, "model": {"display_name": "\x1b[2J\x1b]8;;http://x\x07Opus\n2"}}
    session_line = line_of(run_line(project, cli, TAC_ORCHESTRATOR_DB=str(database)))
    assert session_line == "tac $0.5000 | 1 tok | evilmodel"
    run_line_ = line_of(
        run_line(project, cli, TAC_ORCHESTRATOR_DB=str(database), TAC_ADW_ID="adw0bad1")
    )
    assert run_line_ == "tac run adw0bad1 running $0.5000 | 1 tok | evilmodel"
    missing = line_of(run_line(project, cli, TAC_ORCHESTRATOR_DB=str(tmp_path / "none.db")))
    assert missing == "tac: no database yet | Opus2"
    long_name = line_of(
        run_line(project, {"model": {"display_name": "x" * 500}}, TAC_ORCHESTRATOR_DB="pg://")
    )
    assert len(long_name) < 80


@pytest.mark.parametrize("stdin", ["", "not json", "[1, 2]", '{"session_id": 7}', "{" * 10000])
def test_any_stdin_still_gives_a_line(project: Path, tmp_path: Path, stdin: str) -> None:
    database = tmp_path / "orch.db"
    migrated(database).close()
    line = line_of(run_line(project, stdin, TAC_ORCHESTRATOR_DB=str(database)))
    assert line.startswith("tac: ")


def load_script(project: Path) -> ModuleType:
    """The generated script as a module, to compare its rules with the runtime's."""
    spec = importlib.util.spec_from_file_location(
        "status_line_under_test", project / ".claude" / "hooks" / "status_line.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "setting",
    [
        "",
        "orch.db",
        "data/x.db",
        "/abs/orch.db",
        "~/orch.db",
        "sqlite:///rel.db",
        "sqlite:////abs/orch.db",
        "sqlite://localhost/rel.db",
        "sqlite://otherhost/x.db",
        "postgresql://u:p@h/d",
        "postgres://h/d",
        "postgresql+psycopg://h/d",
        "host=h dbname=d",
        "mysql://x/y",
    ],
)
def test_it_finds_the_database_the_hooks_write(
    project: Path, setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same file as the hooks' recorder (hook_writer.resolve_target), or none."""
    script = load_script(project)
    monkeypatch.setenv("TAC_ORCHESTRATOR_DB", setting)
    target = resolve_target(setting, project)
    found = script.database_path(str(project))
    assert (Path(found) if found else None) == target.path


def test_the_generated_settings_command_prints_the_line_even_without_python(
    project: Path, tmp_path: Path
) -> None:
    settings = json.loads((project / ".claude" / "settings.json").read_text(encoding="utf-8"))
    status = settings["statusLine"]
    assert status["type"] == "command" and status["padding"] == 0
    database = tmp_path / "orch.db"
    migrated(database).close()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TAC_", "CLAUDE"))}
    base.update(CLAUDE_PROJECT_DIR=str(project), TAC_ORCHESTRATOR_DB=str(database))
    for python, expected_line in (
        (hook_python(), "tac $0.0000 | 0 tok | Opus 5.5"),
        (str(tmp_path / "no-python3"), "tac: status line unavailable"),
    ):
        done = subprocess.run(
            ["sh", "-c", status["command"]],
            input=json.dumps(CLI_INPUT),
            capture_output=True,
            text=True,
            env={**base, "TAC_PYTHON": python},
            cwd=tmp_path,
            timeout=30,
        )
        assert (done.returncode, done.stdout) == (0, expected_line + "\n"), done.stderr


DOCUMENTS = [
    '{"session_id": "s", "model": {"id": "m", "display_name": "M"}}',
    '  {"a": [1, 2.5, -3e-2, "x\\u001b\\n", null, true, false], "b": {}}\n',
    '{"deep": [[[[[[[["x"]]]]]]]]}',
    '{"nan": NaN, "inf": Infinity}',
    '"just a string"',
    "[1, 2]",
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_its_json_reader_is_json_loads(project: Path, text: str) -> None:
    script = load_script(project)
    assert repr(script.parse_json(text)) == repr(json.loads(text))


@pytest.mark.parametrize("text", ["", "{", '{"a": 1} {"b": 2}', "{'a': 1}", '{"a": 1,}', "nul"])
def test_its_json_reader_refuses_what_json_loads_refuses(project: Path, text: str) -> None:
    script = load_script(project)
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises((ValueError, StopIteration)):
        script.parse_json(text)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[1;31mred\x1b[0m", "red"),
        ("\x1b]0;title\x07name", "name"),
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("a\x9b2Jb", "ab"),
        ("\x1bcreset", "reset"),
        ("tab\there\r\nnext", "tabherenext"),
        ("\u202egnp.exe\u202c", "gnp.exe"),
        ("\x1b[", ""),
        ("plain model-4.5", "plain model-4.5"),
    ],
)
def test_text_is_cleaned_of_escapes_and_controls(project: Path, raw: str, shown: str) -> None:
    assert load_script(project).clean(raw) == shown


@pytest.mark.parametrize(
    "value",
    [
        "host=h dbname=d",
        "HOST = h",
        " dbname=x",
        "user=u  password=p",
        "a=b",
        "a1_b = c",
        "1a=b",
        "orch.db",
        "my dir/orch.db",
        "data/x password=p",
        "data/x Password=p",
        "x=y/z.db",
        "é=x",
        "=x",
    ],
)
def test_it_tells_conninfo_as_the_runtime_does(project: Path, value: str) -> None:
    from tac_bootstrap.runtime.adw_db_private import looks_like_conninfo

    assert load_script(project).names_conninfo(value) == looks_like_conninfo(value)
