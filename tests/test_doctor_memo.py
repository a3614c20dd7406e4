"""`doctor` answered from its memos says exactly what a doctor without them says.

Two memos stand in for the expensive part of doctor (application/doctor/inputs.py and
files_memo.py): the config's plain values (no yaml, no pydantic) and the files section's rows
(no rendering). Each test runs the real CLI twice over the same project state, once allowed
to use the memos and once with TAC_BOOTSTRAP_NO_CACHE=1, and compares the exit code and both
streams byte for byte; the changes are made after a doctor recorded its memos, so a stale
memo shows up as a difference. The other sections run every time and are the same either way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tac_bootstrap.application.doctor import files_memo
from tac_bootstrap.application.doctor.inputs import load_inputs
from tests.test_python_probe import fake_python
from tests.test_render_check_memo import CHANGES as RENDER_CHECK_CHANGES
from tests.test_startup_imports import imported_by

ProjectFactory = Callable[..., Path]
Outcome = tuple[int, str, str]

_ON_A_HIT = [
    "yaml",
    "pydantic",
    "jinja2",
    "tac_bootstrap.domain.config",
    "tac_bootstrap.application.scaffold_service",
    "tac_bootstrap.application.doctor.files",
    # the manifest's model and store: the memos need only its name (domain/state_files.py)
    "tac_bootstrap.domain.manifest",
    "tac_bootstrap.infrastructure.manifest_store",
    # the agent runner: the agent CLI row only looks the CLI up (runtime/agent_cli.py)
    "tac_bootstrap.runtime.agent",
    # the database runtime's operations: this project has no database yet
    "tac_bootstrap.runtime.adw_database",
]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A private cache, a wide table and a hooks' Python that answers at once (its row is
    the same either way; the real probe has tests of its own)."""
    python = fake_python(
        tmp_path, """echo '{"python": [3, 12, 1], "pydantic": "2.9.2"}'"""
    )  # fmt: skip
    values = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "NO_COLOR": "1",
        "COLUMNS": "200",
        "TAC_PYTHON": str(python),
    }
    values.pop("TAC_BOOTSTRAP_NO_CACHE", None)
    return values


def doctor(project: Path, env: dict[str, str], *extra: str, memo: bool = True) -> Outcome:
    run_env = dict(env) if memo else {**env, "TAC_BOOTSTRAP_NO_CACHE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "doctor", *extra],
        cwd=project,
        env=run_env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    return result.returncode, result.stdout, result.stderr


def all_present(project: Path) -> str:
    """What the files row says when every file the manifest lists is there."""
    entries = json.loads((project / "tac_bootstrap.manifest.json").read_text())["files"]
    return f"all {len(entries)} generated files are present"


def memo_files(env: dict[str, str], kind: str) -> list[Path]:
    return sorted(Path(env["XDG_CACHE_HOME"], "tac-bootstrap", kind).glob("*.json"))


@pytest.fixture
def recorded(tmp_path: Path, new_project: ProjectFactory, env: dict[str, str]) -> Path:
    """A project whose doctor recorded both memos."""
    project = new_project(tmp_path)
    doctor(project, env)
    assert len(memo_files(env, "doctor-inputs")) == 1
    assert len(memo_files(env, "doctor-files")) == 1
    return project


@pytest.mark.parametrize("extra", [(), ("--json",)], ids=["human", "json"])
def test_a_doctor_from_its_memos_says_what_the_real_one_says(
    recorded: Path, env: dict[str, str], extra: tuple[str, ...]
) -> None:
    replayed = doctor(recorded, env, *extra)
    assert replayed == doctor(recorded, env, *extra, memo=False)
    if extra:
        rows = {row["name"]: row for row in json.loads(replayed[1])["checks"]}
        assert rows["files"]["status"] == "ok" and rows["config"]["status"] == "ok"
        assert "project 'demo'" in rows["config"]["message"]
    else:
        assert all_present(recorded) in replayed[1]


def test_a_doctor_that_finds_its_memos_loads_neither_yaml_pydantic_nor_jinja2(
    recorded: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("XDG_CACHE_HOME", "TAC_PYTHON"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("TAC_BOOTSTRAP_NO_CACHE", raising=False)
    modules = imported_by(recorded, ["doctor"])
    assert "tac_bootstrap.application.doctor.files_memo" in modules  # doctor really ran
    loaded = sorted(m for m in modules for bad in _ON_A_HIT if m == bad or m.startswith(bad + "."))
    assert loaded == []
    monkeypatch.setenv("TAC_BOOTSTRAP_NO_CACHE", "1")  # the real doctor does load them
    assert {"yaml", "pydantic", "jinja2"} <= imported_by(recorded, ["doctor"])


def _replace_in_config(old: str, new: str) -> Callable[[Path], None]:
    def change(project: Path) -> None:
        config = project / "tac_bootstrap.yml"
        text = config.read_text()
        assert old in text
        config.write_text(text.replace(old, new, 1))

    return change


def _delete_a_migration(project: Path) -> None:
    (project / "adws/schema/migrations/001_initial.sql").unlink()


def _break_the_manifest(project: Path) -> None:
    (project / "tac_bootstrap.manifest.json").write_text("{")


def _edit_inside_our_section(project: Path) -> None:
    claude_md = project / "CLAUDE.md"
    text = claude_md.read_text()
    claude_md.write_text(text.replace("- Workflows:", "- My workflows:", 1))


def _create_the_database(project: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "db", "init"], cwd=project, check=True,
        capture_output=True, env={**os.environ, "TAC_BOOTSTRAP_NO_CACHE": "1"},
    )  # fmt: skip


def _break_the_schema(project: Path) -> None:
    schema = project / "adws/schema/schema_orchestrator.sql"
    schema.write_text(schema.read_text() + "\nCREATE TABLE broken (;\n")


# What render --check's memo is tested against, and what only doctor reads: the values its
# other sections take from the config, the migrations, the manifest's shape, our part of a
# shared file, the database and the schema.
CHANGES: dict[str, Callable[[Path], None]] = {
    **RENDER_CHECK_CHANGES,
    "agent CLI changed": _replace_in_config('agent_cli: "claude"', 'agent_cli: "/no/such/cli"'),
    "adws_dir moved": _replace_in_config('adws_dir: "adws"', 'adws_dir: "layer"'),
    "claude_dir moved": _replace_in_config('claude_dir: ".claude"', 'claude_dir: ".agent"'),
    "lint reaches the layer": _replace_in_config('lint: "ruff check ."', 'lint: "mypy ."'),
    "migration deleted": _delete_a_migration,
    "manifest broken": _break_the_manifest,
    "our section of CLAUDE.md edited": _edit_inside_our_section,
    "database created": _create_the_database,
    "schema broken": _break_the_schema,
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_every_change_after_a_recorded_doctor_gets_the_real_answer(
    recorded: Path, env: dict[str, str], change: str
) -> None:
    before = doctor(recorded, env)
    CHANGES[change](recorded)
    after = doctor(recorded, env)
    assert after == doctor(recorded, env, memo=False)
    if change not in ("database created", "info/exclude ignores markdown"):
        assert after != before, change  # each of these changes what doctor says


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=st.lists(st.sampled_from(sorted(CHANGES)), min_size=1, max_size=3, unique=True))
def test_any_sequence_of_changes_and_doctors_agrees_with_the_real_doctor(
    tmp_path_factory: pytest.TempPathFactory,
    new_project: ProjectFactory,
    env: dict[str, str],
    changes: list[str],
) -> None:
    project = new_project(tmp_path_factory.mktemp("seq"))
    doctor(project, env)
    for change in changes:  # a doctor after every change: each may record new memos
        try:
            CHANGES[change](project)
        except (OSError, AssertionError, subprocess.CalledProcessError):
            continue  # an earlier change took away what this one changes
        assert doctor(project, env) == doctor(project, env, memo=False), changes


def test_a_fix_after_a_recorded_doctor_is_reported_as_it_happened(
    recorded: Path, env: dict[str, str]
) -> None:
    RENDER_CHECK_CHANGES["required deleted"](recorded)
    fixed = doctor(recorded, env, "--fix", "--json")
    document = json.loads(fixed[1])
    assert [item["check"] for item in document["fixed"]] == ["files"]
    assert (recorded / "adws/adw_modules/adw_database.py").exists()
    after = doctor(recorded, env)
    assert after == doctor(recorded, env, memo=False)
    assert all_present(recorded) in after[1]


def test_what_git_decided_is_not_kept(
    tmp_path: Path, new_project: ProjectFactory, env: dict[str, str]
) -> None:
    """A generated file deleted but not recorded: git tells a deletion from a file never
    committed, so the files rows are not kept (the config's values are)."""
    project = new_project(tmp_path)
    RENDER_CHECK_CHANGES["optional deleted"](project)
    first = doctor(project, env)
    assert first[0] == 1 and "not yet recorded" in first[1]
    assert memo_files(env, "doctor-files") == [] and memo_files(env, "doctor-inputs")
    subprocess.run(["git", "rm", "-q", "--cached", ".claude/commands/feature.md"], cwd=project)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "gone"], cwd=project
    )
    assert doctor(project, env) == doctor(project, env, memo=False)


def test_a_server_setting_keeps_no_inputs(
    tmp_path: Path, new_project: ProjectFactory, env: dict[str, str]
) -> None:
    """A PostgreSQL URL may hold a password: its inputs never reach the cache."""
    project = new_project(tmp_path)
    url = "postgresql://tac:s3cret-pw@127.0.0.1:1/tac"
    _replace_in_config('database: ""', f'database: "{url}"')(project)
    env = {**env, "PGCONNECT_TIMEOUT": "2"}
    assert doctor(project, env) == doctor(project, env, memo=False)
    assert memo_files(env, "doctor-inputs") == []
    cache = Path(env["XDG_CACHE_HOME"])
    assert not any("s3cret-pw" in p.read_text() for p in cache.rglob("*.json"))


def test_an_unusable_cache_only_means_the_real_doctor(
    tmp_path: Path, new_project: ProjectFactory, env: dict[str, str]
) -> None:
    project = new_project(tmp_path)
    real = doctor(project, env, memo=False)
    not_a_directory = tmp_path / "cache-file"
    not_a_directory.write_text("")
    assert doctor(project, {**env, "XDG_CACHE_HOME": str(not_a_directory)}) == real
    doctor(project, env)
    for kind in ("doctor-inputs", "doctor-files"):
        for memo in memo_files(env, kind):
            memo.write_text('{"format": 1, "inputs": [], "rows": "x"}')
    assert doctor(project, env) == real


def test_the_files_check_reads_no_project_file_the_memo_does_not_record(
    tmp_path: Path, new_project: ProjectFactory
) -> None:
    """The memo is right only if it records every file the real files check reads: every file
    it opens or lists inside the project (git's own directory aside) must be among them."""
    project = new_project(tmp_path).resolve()
    script = f"""
import json, os, sys
from pathlib import Path
from tac_bootstrap.application.doctor import files
from tac_bootstrap.application.doctor.files_memo import read_by_check
from tac_bootstrap.application.doctor.inputs import load_inputs
from tac_bootstrap.application.doctor.report import _Context
root = {str(project)!r}
ctx = _Context(Path(root), *load_inputs(Path(root)))
ctx.plan()  # the plan itself reads no project file; rendering is part of the check
seen = set()
def hook(event, args):
    if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, Path)):
        path = os.path.abspath(os.fspath(args[0]))
        if path.startswith(root + os.sep):
            seen.add(os.path.relpath(path, root))
sys.addaudithook(hook)
rows, asked_git = files.check_files(ctx)
print(json.dumps({{"rows": len(rows), "read": read_by_check(ctx.inputs), "seen": sorted(seen)}}))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path,
        env={**os.environ, "TAC_BOOTSTRAP_NO_CACHE": "1"},
    )  # fmt: skip
    answer = json.loads(result.stdout.splitlines()[-1])
    assert answer["rows"] >= 4 and len(answer["seen"]) > 100
    unrecorded = [p for p in answer["seen"] if p not in answer["read"] and not p.startswith(".git")]
    assert unrecorded == []


def test_the_inputs_from_a_memo_are_those_of_the_config(
    tmp_path: Path, new_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = new_project(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TAC_BOOTSTRAP_NO_CACHE", raising=False)
    loaded, config = load_inputs(project)
    remembered, none = load_inputs(project)
    assert config is not None and none is None
    assert remembered == loaded
    assert remembered.generated and set(remembered.shared) <= set(remembered.generated)
    read = files_memo.read_by_check(remembered)
    assert ".tac_bootstrap/base/.claude/settings.json" in read  # a shared file's base
    assert {"tac_bootstrap.yml", "tac_bootstrap.manifest.json"} <= set(read)
