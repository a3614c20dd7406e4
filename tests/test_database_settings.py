"""The `db` commands' config values from a memo (application/database_settings.py).

Every answer from the memo is compared with what loading the config for real gives, through
random sequences of edits; the command's own output with and without the memo; and the
imports of a `db status` that found its memo.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tac_bootstrap.application.database_settings import KIND, DatabaseSettings, database_settings
from tac_bootstrap.domain.errors import ConfigError
from tac_bootstrap.infrastructure import memo_store
from tac_bootstrap.infrastructure.config_loader import load_config
from tac_bootstrap.runtime.adw_db_migrations import migrate
from tests.test_startup_imports import imported_by

ProjectFactory = Callable[..., Path]
CONFIG = "tac_bootstrap.yml"


def real_answer(root: Path) -> DatabaseSettings | str:
    try:
        return DatabaseSettings.of(load_config(root / CONFIG))
    except ConfigError as exc:
        return str(exc)


def memo_answer(root: Path) -> DatabaseSettings | str:
    try:
        return database_settings(root)
    except ConfigError as exc:
        return str(exc)


def memos(cache: Path) -> list[Path]:
    return sorted((cache / "tac-bootstrap" / KIND).glob("*.json"))


def set_line(root: Path, key: str, value: str) -> None:
    """Replace the line `  key: ...` of the config (each key the edits use appears once)."""
    path = root / CONFIG
    lines = path.read_text(encoding="utf-8").splitlines()
    found = [i for i, line in enumerate(lines) if line.strip().startswith(f"{key}:")]
    assert len(found) == 1, (key, found)
    indent = lines[found[0]][: len(lines[found[0]]) - len(lines[found[0]].lstrip())]
    lines[found[0]] = f"{indent}{key}: {value}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _directory_in_the_way(root: Path) -> None:
    (root / CONFIG).unlink(missing_ok=True)
    (root / CONFIG).mkdir()


EDITS: dict[str, Callable[[Path], object]] = {
    "database file": lambda root: set_line(root, "database", '"data/other.db"'),
    "default database": lambda root: set_line(root, "database", '""'),
    "timeout": lambda root: set_line(root, "busy_timeout_ms", "1234"),
    "timeout invalid": lambda root: set_line(root, "busy_timeout_ms", "-5"),
    "adws dir": lambda root: set_line(root, "adws_dir", "agents"),
    "logs dir": lambda root: set_line(root, "logs_dir", '"var/hook-logs"'),
    "broken yaml": lambda root: (root / CONFIG).write_text("project: [\n", encoding="utf-8"),
    "removed": lambda root: (root / CONFIG).unlink(missing_ok=True),
    "a directory": _directory_in_the_way,
}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TAC_BOOTSTRAP_NO_CACHE", raising=False)
    return tmp_path / "cache"


def test_the_memo_answers_like_the_config_and_is_used(
    tmp_path: Path, new_project: ProjectFactory, cache: Path
) -> None:
    project = new_project(tmp_path)
    first = memo_answer(project)
    assert first == real_answer(project) == DatabaseSettings("adws", "", 30000, "logs")
    assert len(memos(cache)) == 1
    # The memo, not the config, answered: a memo saying something else is believed as long as
    # the config's bytes are the recorded ones (which is what makes it safe to believe).
    memo = json.loads(memos(cache)[0].read_text())
    memo["settings"]["busy_timeout_ms"] = 777
    memos(cache)[0].write_text(json.dumps(memo))
    assert memo_answer(project) == DatabaseSettings("adws", "", 777, "logs")
    (project / CONFIG).write_text((project / CONFIG).read_text() + "\n", encoding="utf-8")
    assert memo_answer(project) == real_answer(project) == first


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.sampled_from(sorted(EDITS)), min_size=1, max_size=5))
def test_any_sequence_of_edits_agrees_with_loading_the_config(
    tmp_path_factory: pytest.TempPathFactory,
    new_project: ProjectFactory,
    cache: Path,
    edits: list[str],
) -> None:
    project = new_project(tmp_path_factory.mktemp("p"))
    original = (project / CONFIG).read_bytes()
    assert memo_answer(project) == real_answer(project)
    for name in edits:
        if isinstance(real_answer(project), str):  # the edits below change a readable config
            if (project / CONFIG).is_dir():
                (project / CONFIG).rmdir()
            (project / CONFIG).write_bytes(original)
            assert memo_answer(project) == real_answer(project), "restored"
        EDITS[name](project)
        assert memo_answer(project) == real_answer(project), name
        assert memo_answer(project) == real_answer(project), f"{name}, asked again"


def test_db_status_says_the_same_with_and_without_the_memo(
    tmp_path: Path, new_project: ProjectFactory, cache: Path
) -> None:
    project = new_project(tmp_path)

    def status(no_cache: str) -> str:
        env = {**os.environ, "TAC_BOOTSTRAP_NO_CACHE": no_cache}
        run = subprocess.run(
            [sys.executable, "-m", "tac_bootstrap", "db", "status", "--json"],
            cwd=project, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return run.stdout

    real = status("1")
    assert memos(cache) == []  # turned off: nothing kept
    assert status("") == real  # records
    assert len(memos(cache)) == 1
    assert status("") == real  # replays
    set_line(project, "database", '"elsewhere/orch.db"')
    assert json.loads(status(""))["path"] == str((project / "elsewhere/orch.db").resolve())


def test_a_db_status_that_finds_its_memo_loads_neither_yaml_nor_pydantic(
    tmp_path: Path, new_project: ProjectFactory, cache: Path
) -> None:
    project = new_project(tmp_path)
    first = imported_by(project, ["db", "status"])
    assert {"yaml", "tac_bootstrap.domain.config"} <= first  # nothing remembered yet
    again = imported_by(project, ["db", "status"])
    # domain.stacks: the language registry, read only to build `init`'s help.
    heavy: tuple[str, ...] = ("yaml", "pydantic", "pydantic_core", "tac_bootstrap.domain.config")
    heavy += ("tac_bootstrap.domain.stacks",)
    assert "tac_bootstrap.cli.app" in again
    assert sorted(m for m in again if m.split(".")[0] in heavy or m in heavy) == []


def test_a_db_status_from_its_memo_still_replays_the_hooks_spool_in_the_configured_logs_dir(
    tmp_path: Path, new_project: ProjectFactory, cache: Path
) -> None:
    """The open replays what the hooks could not write; the CLI names the spool from the memo
    (paths.logs_dir), so the runtime need not parse the config to find it."""
    project = new_project(tmp_path)
    set_line(project, "logs_dir", '"var/hook-logs"')
    upgrade = subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "upgrade", "--yes"],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stderr  # the hooks now spool to the new directory
    settings_text = (project / ".claude" / "settings.json").read_text(encoding="utf-8")
    command = json.loads(settings_text)["hooks"]["Stop"][0]["hooks"][0]["command"]
    payload = {"session_id": "s-memo", "hook_event_name": "Stop", "stop_hook_active": False}
    hook = subprocess.run(
        command, shell=True, input=json.dumps(payload), capture_output=True, text=True,
        env={**os.environ, "CLAUDE_PROJECT_DIR": str(project), "TAC_PYTHON": sys.executable},
        timeout=60,
    )  # fmt: skip
    assert (hook.returncode, hook.stdout) == (0, "")
    fallback = project / "var" / "hook-logs" / "hooks-fallback.jsonl"
    assert fallback.is_file()  # no database yet: the event waits
    # The database made without an OrchestratorDB open (which would replay the event itself).
    database = project / "adws" / "schema" / "orchestrator.db"
    with sqlite3.connect(database) as conn:
        migrate(conn, project / "adws" / "schema" / "migrations")
    conn.close()
    assert memo_answer(project) == real_answer(project)  # remembered, logs dir included
    modules = imported_by(project, ["db", "status"])
    assert "tac_bootstrap.cli.app" in modules and "yaml" not in modules
    assert not fallback.exists()
    with sqlite3.connect(database) as conn:
        logs = conn.execute("SELECT message FROM agent_logs").fetchall()
    conn.close()
    assert logs == [("Stop",)]


@pytest.mark.parametrize(
    "database",
    [
        "postgresql://agent:hunter2secret@127.0.0.1:1/orch",
        "host=127.0.0.1 port=1 password=hunter2secret dbname=orch",
    ],
    ids=["url", "keywords"],
)
def test_a_server_setting_is_never_copied_into_the_cache(
    tmp_path: Path, new_project: ProjectFactory, cache: Path, database: str
) -> None:
    project = new_project(tmp_path)
    set_line(project, "database", json.dumps(database))
    assert memo_answer(project) == real_answer(project)
    assert memo_answer(project).database == database  # type: ignore[union-attr]
    kept = [p.read_bytes() for p in cache.rglob("*") if p.is_file()]
    assert all(b"hunter2secret" not in data for data in kept)
    assert memos(cache) == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda memo: memo["settings"].update(busy_timeout_ms="30000"),
        lambda memo: memo["settings"].pop("adws_dir"),
        lambda memo: memo.update(settings=[1, 2, 3]),
        lambda memo: memo.update(config="not a state"),
        lambda memo: memo.update(installation="another"),
        lambda memo: memo.update(root="/elsewhere"),
    ],
    ids=["wrong type", "no value", "not a mapping", "bad state", "other install", "other root"],
)
def test_a_damaged_memo_means_loading_the_config(
    tmp_path: Path,
    new_project: ProjectFactory,
    cache: Path,
    damage: Callable[[dict[str, object]], None],
) -> None:
    project = new_project(tmp_path)
    set_line(project, "busy_timeout_ms", "4321")
    assert memo_answer(project).busy_timeout_ms == 4321  # type: ignore[union-attr]
    memo = json.loads(memos(cache)[0].read_text())
    damage(memo)
    memos(cache)[0].write_text(json.dumps(memo))
    assert memo_answer(project) == real_answer(project)


def test_the_memo_keeps_the_state_of_the_bytes_it_parsed(
    tmp_path: Path, new_project: ProjectFactory, cache: Path
) -> None:
    project = new_project(tmp_path)
    database_settings(project)
    recorded = json.loads(memos(cache)[0].read_text())["config"]
    real_root = os.path.realpath(project)
    assert recorded == memo_store.state(real_root, CONFIG)
    assert recorded == memo_store.state_of(real_root, CONFIG, (project / CONFIG).read_bytes())
