"""`render --check` answered from its memo says exactly what the real check says.

The memo (application/render_check_memo.py) replays a clean check while nothing it read has
changed. Each test runs the real CLI twice over the same project state, once allowed to
replay and once with TAC_BOOTSTRAP_NO_CACHE=1, and compares the exit code and both streams
byte for byte; the changes are made after a clean check was recorded, so a stale memo would
show up as a difference.
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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tac_bootstrap.application import render_check_memo
from tac_bootstrap.application.render_service import apply_render, prepare_render
from tac_bootstrap.infrastructure import memo_store
from tests.test_startup_imports import imported_by

ProjectFactory = Callable[..., Path]
Outcome = tuple[int, str, str]

_ON_A_HIT = ["yaml", "pydantic", "jinja2", "tac_bootstrap.domain.config", "rich"]


def check(project: Path, cache: Path, *extra: str, memo: bool = True) -> Outcome:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "NO_COLOR": "1"}
    env.pop("TAC_BOOTSTRAP_NO_CACHE", None)
    if not memo:
        env["TAC_BOOTSTRAP_NO_CACHE"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "render", "--check", *extra],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    return result.returncode, result.stdout, result.stderr


def memo_files(cache: Path) -> list[Path]:
    return sorted((cache / "tac-bootstrap" / "render-check").glob("*.json"))


@pytest.fixture
def recorded(tmp_path: Path, new_project: ProjectFactory) -> tuple[Path, Path]:
    """A project whose clean check is recorded in a private cache."""
    project, cache = new_project(tmp_path), tmp_path / "cache"
    assert check(project, cache)[0] == 0
    assert len(memo_files(cache)) == 1
    return project, cache


@pytest.mark.parametrize("extra", [(), ("--json",)], ids=["human", "json"])
def test_a_replayed_check_says_what_the_real_one_says(
    recorded: tuple[Path, Path], extra: tuple[str, ...]
) -> None:
    project, cache = recorded
    replayed = check(project, cache, *extra)
    assert replayed == check(project, cache, *extra, memo=False)
    assert replayed[0] == 0 and "all " in (replayed[2] if extra else replayed[1])
    if extra:
        assert json.loads(replayed[1]) == {
            "ok": True,
            "command": "render --check",
            "target": ".",
            "differs": [],
        }


def test_a_replayed_check_loads_neither_yaml_pydantic_nor_jinja2(
    recorded: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, cache = recorded
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("TAC_BOOTSTRAP_NO_CACHE", raising=False)
    modules = imported_by(project, ["render", "--check"])
    assert "tac_bootstrap.application.render_check_memo" in modules
    loaded = sorted(m for m in modules for bad in _ON_A_HIT if m == bad or m.startswith(bad + "."))
    assert loaded == []
    monkeypatch.setenv("TAC_BOOTSTRAP_NO_CACHE", "1")  # the real check does load them
    assert {"yaml", "pydantic", "jinja2"} <= imported_by(project, ["render", "--check"])


def _edit(project: Path) -> None:
    path = project / ".claude/commands/feature.md"
    path.write_text(path.read_text() + "\nmine\n")


def _delete_required(project: Path) -> None:
    (project / "adws/adw_modules/adw_database.py").unlink()


def _delete_optional(project: Path) -> None:
    (project / ".claude/commands/feature.md").unlink()


def _same_bytes_through_a_symlink(project: Path) -> None:
    """Identical content, but the file now lives outside the project."""
    path = project / ".claude/commands/feature.md"
    outside = project.parent / "feature-outside.md"
    shutil.copyfile(path, outside)
    path.unlink()
    path.symlink_to(outside)


def _directory_moved_out(project: Path) -> None:
    directory = project / ".claude/commands"
    outside = project.parent / "commands-outside"
    shutil.copytree(directory, outside)
    shutil.rmtree(directory)
    directory.symlink_to(outside, target_is_directory=True)


def _fifo(project: Path) -> None:
    path = project / ".claude/commands/feature.md"
    path.unlink()
    os.mkfifo(path)


def _directory_in_the_way(project: Path) -> None:
    path = project / ".claude/commands/feature.md"
    path.unlink()
    path.mkdir()


def _config_changed(project: Path) -> None:
    config = project / "tac_bootstrap.yml"
    text = config.read_text()
    assert 'name: "demo"' in text
    config.write_text(text.replace('name: "demo"', 'name: "demo2"', 1))


def _config_broken(project: Path) -> None:
    (project / "tac_bootstrap.yml").write_text("project: [unclosed\n")


def _manifest_forgets_a_file(project: Path) -> None:
    manifest = project / "tac_bootstrap.manifest.json"
    data = json.loads(manifest.read_text())
    data["files"].pop(".claude/commands/feature.md")
    manifest.write_text(json.dumps(data))


def _settings_lose_our_part(project: Path) -> None:
    settings = project / ".claude/settings.json"
    data = json.loads(settings.read_text())
    data.pop("hooks", None)
    settings.write_text(json.dumps(data, indent=2) + "\n")


def _git_ignores_a_generated_file(project: Path) -> None:
    with (project / ".gitignore").open("a") as handle:
        handle.write("\n.claude/commands/feature.md\n")


def _global_exclude(project: Path) -> None:
    (project / ".git/info").mkdir(exist_ok=True)
    (project / ".git/info/exclude").write_text("*.md\n")


def _config_removed(project: Path) -> None:
    (project / "tac_bootstrap.yml").unlink()


CHANGES = {
    "edited": _edit,
    "required deleted": _delete_required,
    "optional deleted": _delete_optional,
    "symlink to a copy outside": _same_bytes_through_a_symlink,
    "directory moved outside": _directory_moved_out,
    "fifo": _fifo,
    "directory in the way": _directory_in_the_way,
    "config changed": _config_changed,
    "config broken": _config_broken,
    "config removed": _config_removed,
    "manifest forgets a file": _manifest_forgets_a_file,
    "settings lose our part": _settings_lose_our_part,
    "git ignores a generated file": _git_ignores_a_generated_file,
    "info/exclude ignores markdown": _global_exclude,
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_every_change_after_a_clean_check_gets_the_real_answer(
    recorded: tuple[Path, Path], change: str
) -> None:
    project, cache = recorded
    CHANGES[change](project)
    after = check(project, cache)
    assert after == check(project, cache, memo=False)
    if change not in ("optional deleted", "manifest forgets a file"):
        assert after[0] != 0, after  # each of these is drift, an error or an ignored file
    elif change == "optional deleted":
        assert after[0] == 1 and "deleted" in after[1]


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=st.lists(st.sampled_from(sorted(CHANGES)), min_size=1, max_size=3, unique=True))
def test_any_sequence_of_changes_and_checks_agrees_with_the_real_check(
    tmp_path_factory: pytest.TempPathFactory, new_project: ProjectFactory, changes: list[str]
) -> None:
    base = tmp_path_factory.mktemp("seq")
    project, cache = new_project(base), base / "cache"
    check(project, cache)
    for change in changes:  # a check after every change: each may record a new memo
        try:
            CHANGES[change](project)
        except OSError:  # an earlier change took the file away; the sequence goes on
            continue
        assert check(project, cache) == check(project, cache, memo=False), changes


def test_a_render_after_drift_makes_the_next_check_clean_again(recorded: tuple[Path, Path]) -> None:
    project, cache = recorded
    _delete_required(project)
    assert check(project, cache)[0] == 1
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "render"], cwd=project, env=env, check=True,
        capture_output=True,
    )  # fmt: skip
    assert check(project, cache) == check(project, cache, memo=False)
    assert check(project, cache)[0] == 0


def test_an_unusable_cache_only_means_the_real_check(
    tmp_path: Path, new_project: ProjectFactory
) -> None:
    project = new_project(tmp_path)
    not_a_directory = tmp_path / "cache-file"
    not_a_directory.write_text("")
    first = check(project, not_a_directory)
    assert first[0] == 0 and first == check(project, not_a_directory)
    garbage = tmp_path / "garbage"
    assert check(project, garbage)[0] == 0
    for memo in memo_files(garbage):
        memo.write_text("{not json")
    assert check(project, garbage) == first


def test_no_memo_is_kept_when_turned_off_or_after_drift(
    tmp_path: Path, new_project: ProjectFactory
) -> None:
    project, cache = new_project(tmp_path), tmp_path / "cache"
    check(project, cache, memo=False)
    assert memo_files(cache) == []
    _edit(project)
    assert check(project, cache)[0] == 1
    assert memo_files(cache) == []


def test_the_installation_fingerprint_follows_the_package_files() -> None:
    template = next(Path(memo_store.__file__).parent.parent.glob("templates/**/*.j2"))

    def fingerprint() -> str:
        memo_store.installation.cache_clear()  # taken once per process otherwise
        return memo_store.installation()

    before, info = fingerprint(), template.stat()
    try:
        os.utime(template, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
        assert fingerprint() != before
    finally:
        os.utime(template, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert fingerprint() == before


def test_the_check_reads_no_project_file_the_memo_does_not_record(
    tmp_path: Path, new_project: ProjectFactory
) -> None:
    """The memo is right only if it records every file the real check reads: every file the
    check opens or lists inside the project (git's own aside) must be among them."""
    project = new_project(tmp_path).resolve()
    script = f"""
import json, os, sys
from pathlib import Path
from tac_bootstrap.application.render_service import apply_render, prepare_render
seen = set()
root = {str(project)!r}
def hook(event, args):
    if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, Path)):
        path = os.path.abspath(os.fspath(args[0]))
        if path.startswith(root + os.sep):
            seen.add(os.path.relpath(path, root))
sys.addaudithook(hook)
report = apply_render(prepare_render(Path(root), check=True), check=True)
print(json.dumps({{"ok": report.ok, "read": list(report.read), "seen": sorted(seen)}}))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    answer = json.loads(result.stdout.splitlines()[-1])
    assert answer["ok"]
    unrecorded = [p for p in answer["seen"] if p not in answer["read"] and not _outside_memo(p)]
    assert unrecorded == []


def _outside_memo(path: str) -> bool:
    """What the check may read beyond the recorded files: git's own directory (git is asked
    again on every replay) and the directories of recorded files (their listing decides
    nothing the files' own states do not)."""
    return path == ".git" or path.startswith(".git/")


def test_the_service_reports_what_it_read(tmp_path: Path, new_project: ProjectFactory) -> None:
    project = new_project(tmp_path)
    report = apply_render(prepare_render(project, check=True), check=True)
    assert "tac_bootstrap.yml" in report.read and "tac_bootstrap.manifest.json" in report.read
    assert ".claude/settings.json" in report.read
    assert any(p.startswith(".tac_bootstrap/base/") for p in report.read)  # shared files' bases
    assert set(report.generated) <= set(report.read)


def test_old_memos_are_pruned_past_the_limit(tmp_path: Path, new_project: ProjectFactory) -> None:
    cache = tmp_path / "cache"
    directory = cache / "tac-bootstrap" / "render-check"
    directory.mkdir(parents=True)
    for number in range(render_check_memo.KEEP + 5):
        stale = directory / f"stale{number:04}.json"
        stale.write_text("{}")
        os.utime(stale, ns=(number * 1_000_000_000, number * 1_000_000_000))
    project = new_project(tmp_path)
    assert check(project, cache)[0] == 0
    left = sorted(p.name for p in memo_files(cache))
    assert len(left) == render_check_memo.KEEP
    assert "stale0005.json" not in left and "stale0006.json" in left  # the 6 oldest went
    assert check(project, cache)[0] == 0 and len(memo_files(cache)) == render_check_memo.KEEP


def test_the_config_warnings_are_replayed_too(tmp_path: Path, new_project: ProjectFactory) -> None:
    project, cache = new_project(tmp_path), tmp_path / "cache"
    config = project / "tac_bootstrap.yml"
    config.write_text(
        config.read_text().replace('test: "python -m pytest"', 'test: "python -m pytest | tee t"')
    )
    subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "render", "--force"], cwd=project, check=True,
        capture_output=True, env={**os.environ, "XDG_CACHE_HOME": str(cache)},
    )  # fmt: skip
    first = check(project, cache)
    assert first[0] == 0 and "commands.test is not a simple command" in first[2]
    assert memo_files(cache)
    assert check(project, cache) == first == check(project, cache, memo=False)
