"""`tac-bootstrap remove`: the layer out again, the repository byte for byte as before.

Round trips (add-agentic, then remove) on the repositories of tests/test_add_agentic.py, one
with its own CLAUDE.md and a settings.json with hooks of its own, every real-repository
fixture, and a fresh git clone (no local copies: the originals come from git history). Then
what the user edited after add-agentic (kept and listed, or --force with a backup; their own
settings entries and CLAUDE.md text kept), the database (kept, or --purge-database with a
consistent backup), and the CLI conventions (confirmation, --dry-run, --json, exit codes).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tac_bootstrap import api
from tac_bootstrap.application.gitignore import HEADER
from tac_bootstrap.application.remove_gitignore import without_our_lines
from tac_bootstrap.application.remove_service import RemoveReport
from tac_bootstrap.domain.errors import UnsafePathError, UsageError
from tac_bootstrap.domain.manifest import LayerAdditions

from .conftest import run_cli, tree_snapshot
from .test_add_agentic import USER_GITIGNORE, USER_SETTINGS, python_repo
from .test_interactive import pty_session

FIXTURES = Path(__file__).parent / "fixtures"
REAL_REPOS = sorted(
    [p for p in (FIXTURES / "repos").glob("*") if p.is_dir()]
    + [p for p in (FIXTURES / "workspaces").glob("*") if p.is_dir()]
)
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]

SETTINGS_WITH_HOOKS = b"""{
    "hooks": {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "./scripts/check.sh"}]}
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]
    },
    "permissions": {"allow": ["Bash(make:*)"], "deny": ["Read(./secrets/**)"]},
    "model": "opus"
}
"""
USER_CLAUDE_MD = b"# shop\r\n\r\nRun `make test` before committing.\r\n"


def tree(root: Path) -> tuple[dict[str, bytes], list[str]]:
    """Every file with its bytes, and every directory: what 'nothing extra left' compares."""
    directories = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir())
    files = {k: v for k, v in tree_snapshot(root).items() if not k.startswith(".git/")}
    return files, [d for d in directories if d != ".git" and not d.startswith(".git/")]


def round_trip(root: Path) -> RemoveReport:
    before = tree(root)
    added = api.add_agentic(root)
    assert (root / "tac_bootstrap.manifest.json").is_file(), added.to_dict()
    report = api.remove(root)
    assert report.ok, report.to_dict()
    assert report.backup is None  # nothing needed a backup: nothing of ours is left
    assert tree(root) == before
    return report


def repo_with_claude_setup(root: Path) -> Path:
    (root / ".claude").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    (root / ".claude" / "settings.json").write_bytes(SETTINGS_WITH_HOOKS)
    (root / "CLAUDE.md").write_bytes(USER_CLAUDE_MD)
    return root


# -- round trips ----------------------------------------------------------------------------


def test_python_repo_round_trip_is_byte_identical_and_leaves_nothing(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    report = round_trip(root)
    actions = {item.path: item.action.value for item in report.plan.items}
    assert actions[".claude/settings.json"] == "restore"  # the user's bytes, not a re-dump
    assert actions[".gitignore"] == "restore"
    assert (root / ".gitignore").read_bytes() == USER_GITIGNORE  # still no final newline
    assert (root / ".claude" / "settings.json").read_bytes() == USER_SETTINGS
    assert api.add_agentic(root).ok  # and the layer can be added again


def test_own_claude_md_and_settings_with_hooks_round_trip(tmp_path: Path) -> None:
    root = repo_with_claude_setup(tmp_path / "shop")
    before = tree(root)
    api.add_agentic(root)
    merged = json.loads((root / ".claude" / "settings.json").read_bytes())
    assert len(merged["hooks"]["PreToolUse"]) > 1  # ours beside theirs
    assert b"tac-bootstrap:begin" in (root / "CLAUDE.md").read_bytes()
    report = api.remove(root)
    assert report.ok and report.backup is None
    assert tree(root) == before


def test_without_a_copy_of_the_original_only_our_part_is_taken_out(tmp_path: Path) -> None:
    root = repo_with_claude_setup(tmp_path / "shop")
    api.add_agentic(root)
    shutil.rmtree(root / ".tac_bootstrap" / "original")  # no local copy, no git history
    report = api.remove(root)
    assert report.ok
    actions = {item.path: item.action.value for item in report.plan.items}
    assert actions[".claude/settings.json"] == "unmerge"
    # The same JSON (every key and entry of theirs, none of ours); a container we changed
    # may be laid out differently (json_layout), which only the original's bytes avoid.
    settings = (root / ".claude" / "settings.json").read_bytes()
    assert json.loads(settings) == json.loads(SETTINGS_WITH_HOOKS)
    assert (root / "CLAUDE.md").read_bytes() == USER_CLAUDE_MD  # text: exact


@pytest.mark.parametrize("fixture", REAL_REPOS, ids=[p.name for p in REAL_REPOS])
def test_real_repository_fixtures_round_trip(fixture: Path, tmp_path: Path) -> None:
    root = tmp_path / fixture.name
    shutil.copytree(fixture, root, symlinks=True)
    round_trip(root)


def test_repository_without_gitignore_gets_it_deleted_again(tmp_path: Path) -> None:
    root = tmp_path / "bare"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/bare\n\ngo 1.22\n")
    report = round_trip(root)
    assert {i.path: i.action.value for i in report.plan.items}[".gitignore"] == "delete"


def test_fresh_clone_restores_the_originals_from_git_history(tmp_path: Path) -> None:
    origin = repo_with_claude_setup(tmp_path / "origin")
    (origin / ".gitignore").write_bytes(b"node_modules/\n")
    subprocess.run(["git", "init", "-q"], cwd=origin, check=True)
    subprocess.run(["git", "add", "."], cwd=origin, check=True)
    subprocess.run([*GIT, "commit", "-qm", "before"], cwd=origin, check=True)
    before = tree(origin)
    api.add_agentic(origin)
    subprocess.run(["git", "add", "."], cwd=origin, check=True)
    subprocess.run([*GIT, "commit", "-qm", "layer"], cwd=origin, check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    assert not (clone / ".tac_bootstrap").exists()  # no local copy of the originals
    report = api.remove(clone)
    assert report.ok, report.to_dict()
    actions = {item.path: item.action.value for item in report.plan.items}
    assert actions[".claude/settings.json"] == actions["CLAUDE.md"] == "restore"
    assert tree(clone) == before
    status = subprocess.run(
        ["git", "diff", "--stat", "HEAD~1"], cwd=clone, capture_output=True, text=True
    )
    assert status.stdout == ""  # the work tree is the commit before add-agentic


# -- what the user changed after add-agentic ------------------------------------------------


def test_edited_generated_file_is_kept_then_force_backs_it_up(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    before = tree(root)
    api.add_agentic(root)
    edited = root / ".claude" / "commands" / "test.md"
    edited.write_text("my own test command\n")
    first = run_cli("remove", root, "--yes", "--json")
    assert first.returncode == 1, first.stderr
    document = json.loads(first.stdout)
    assert document["ok"] is False and document["kept"] == [".claude/commands/test.md"]
    assert document["manifest_kept"] is True
    assert edited.read_text() == "my own test command\n"
    assert not (root / "tac_bootstrap.yml").exists()
    manifest = json.loads((root / "tac_bootstrap.manifest.json").read_text())
    assert list(manifest["files"]) == [".claude/commands/test.md"]
    assert "remove --force" in first.stderr

    second = run_cli("remove", root, "--yes", "--force", "--json")
    assert second.returncode == 0, second.stderr
    backup = json.loads(second.stdout)["backup"]
    assert backup.startswith(".tac_bootstrap/backups/")
    kept = root / backup / ".claude" / "commands" / "test.md"
    assert kept.read_text() == "my own test command\n"
    files, directories = tree(root)
    assert {k: v for k, v in files.items() if not k.startswith(".tac_bootstrap/")} == before[0]
    assert [d for d in directories if not d.startswith(".tac_bootstrap")] == before[1]


def test_user_settings_entries_added_later_are_kept_with_their_formatting(
    tmp_path: Path,
) -> None:
    root = repo_with_claude_setup(tmp_path / "shop")
    api.add_agentic(root)
    settings = root / ".claude" / "settings.json"
    merged = settings.read_bytes()
    mine = b'"Bash(make:*)", "Bash(npm run:*)"'
    theirs = merged.replace(b'"Bash(make:*)"', mine, 1).replace(
        b'"model": "opus"', b'"model": "opus",\n    "env": {"CI": "1"}', 1
    )
    assert theirs.count(b"npm run") == 1 and b'"env"' in theirs
    settings.write_bytes(theirs)
    report = api.remove(root)
    assert report.ok
    after = settings.read_bytes()
    expected = json.loads(SETTINGS_WITH_HOOKS)
    expected["permissions"]["allow"].append("Bash(npm run:*)")
    expected["env"] = {"CI": "1"}
    assert json.loads(after) == expected  # theirs kept, ours all gone
    assert b'"env": {"CI": "1"}' in after and b'"model": "opus",' in after  # as they wrote it
    assert after.startswith(b'{\n    "hooks": {\n')  # their indentation
    item = next(i for i in report.plan.items if i.path == ".claude/settings.json")
    assert item.action.value == "unmerge" and item.backup_path is not None
    assert (root / item.backup_path).read_bytes() == theirs


def test_claude_md_text_outside_the_section_is_kept(tmp_path: Path) -> None:
    root = repo_with_claude_setup(tmp_path / "shop")
    api.add_agentic(root)
    claude = root / "CLAUDE.md"
    claude.write_bytes(b"Intro.\r\n" + claude.read_bytes())
    assert api.remove(root).ok
    assert claude.read_bytes() == b"Intro.\r\n" + USER_CLAUDE_MD


def test_claude_md_edited_inside_the_section_is_kept_unless_forced(tmp_path: Path) -> None:
    root = repo_with_claude_setup(tmp_path / "shop")
    api.add_agentic(root)
    claude = root / "CLAUDE.md"
    edited = claude.read_bytes().replace(
        b"tac-bootstrap:end", b"mine -->\r\n<!-- tac-bootstrap:end", 1
    )
    claude.write_bytes(edited)
    report = api.remove(root)
    assert not report.ok and [i.path for i in report.plan.kept] == ["CLAUDE.md"]
    assert claude.read_bytes() == edited
    forced = api.remove(root, force=True)
    assert forced.ok
    assert claude.read_bytes() == USER_CLAUDE_MD  # the original, recovered
    assert forced.backup is not None
    assert (root / forced.backup / "CLAUDE.md").read_bytes() == edited


def test_gitignore_lines_the_user_added_after_ours_survive(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    api.add_agentic(root)
    gitignore = root / ".gitignore"
    gitignore.write_bytes(gitignore.read_bytes() + b"dist/\n")
    assert api.remove(root).ok
    # Their line is kept; ours and our header go (the blank line before it too).
    assert gitignore.read_bytes() == USER_GITIGNORE + b"\ndist/\n"


def test_negation_blocks_appended_later_are_cut_before_the_recorded_text() -> None:
    ours = f"\n\n{HEADER}\n.tac_bootstrap/\n*.db-wal\n"
    later = f"\n{HEADER}\n!/logs/\n/logs/*\n!/logs/.gitignore\n"
    removal = without_our_lines(("a\nb" + ours + later).encode(), LayerAdditions("", False, ours))
    assert (removal.content, removal.exact, removal.delete) == (b"a\nb", True, False)
    created = without_our_lines(ours[2:].encode(), LayerAdditions("", True, ours[2:]))
    assert created.delete


def test_proposal_beside_a_conflicting_file_goes_the_users_file_stays(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    (root / "adws").mkdir()
    (root / "adws" / "README.md").write_text("our own adws\n")
    before = tree(root)
    api.add_agentic(root)
    assert (root / "adws" / "README.md.tac-bootstrap").is_file()
    report = api.remove(root)
    assert report.ok
    assert tree(root) == before


# -- the database ---------------------------------------------------------------------------


def test_database_is_kept_with_the_gitignore_that_hides_it(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    api.add_agentic(root)
    api.db.init(root)
    (root / "logs" / "start.log").write_text("server started\n")
    report = api.remove(root)
    assert report.ok
    assert (root / "adws" / "schema" / "orchestrator.db").is_file()
    assert (root / "adws" / "schema" / ".gitignore").is_file()  # still keeps it out of git
    assert (root / "logs" / ".gitignore").is_file()  # the same for the run logs
    assert (root / "logs" / "start.log").read_text() == "server started\n"
    assert not (root / "adws" / "schema" / "schema_orchestrator.sql").exists()
    assert report.plan.database.action == "kept"
    assert any("--purge-database" in warning for warning in report.warnings)


def test_purge_database_backs_it_up_consistently_and_moves_the_run_logs(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    before = tree(root)
    api.add_agentic(root)
    api.db.init(root)
    run_state = root / "logs" / "adw" / "a1b2c3d4" / "adw_state.json"
    run_state.parent.mkdir(parents=True)
    run_state.write_text("{}\n")
    report = api.remove(root, purge_database=True)
    assert report.ok, report.to_dict()
    assert report.backup is not None
    backup = root / report.backup
    with sqlite3.connect(backup / "adws" / "schema" / "orchestrator.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 1
    assert (backup / "logs" / "adw" / "a1b2c3d4" / "adw_state.json").read_text() == "{}\n"
    files, directories = tree(root)
    assert {k: v for k, v in files.items() if not k.startswith(".tac_bootstrap/")} == before[0]
    assert [d for d in directories if not d.startswith(".tac_bootstrap")] == before[1]


# -- CLI conventions ------------------------------------------------------------------------


def test_no_terminal_or_json_without_yes_refuses_and_changes_nothing(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    api.add_agentic(root)
    added = tree(root)
    for extra in ((), ("--json",)):
        result = run_cli("remove", root, *extra)
        assert result.returncode == 2, result.stderr
        assert "--yes" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert tree(root) == added
        if extra:
            error = json.loads(result.stdout)
            assert (error["ok"], error["command"], error["exit_code"]) == (False, "remove", 2)


def test_dry_run_lists_every_action_and_writes_nothing(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    api.add_agentic(root)
    added = tree(root)
    result = run_cli("remove", root, "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert tree(root) == added
    manifest = json.loads((root / "tac_bootstrap.manifest.json").read_text())
    listed = {item["path"] for item in document["files"]}
    assert set(manifest["files"]) | {"tac_bootstrap.yml", ".gitignore"} <= listed
    assert "adws" in document["directories"]
    assert document == api.remove(root, dry_run=True).to_dict()  # the API's report
    text = run_cli("remove", root, "--dry-run")
    assert "restore" in text.stdout and "rmdir" in text.stdout


def test_path_without_layer_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run_cli("remove", tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") <= 1 and "no agentic layer" in result.stderr
    missing = run_cli("remove", tmp_path / "nowhere", "--json")
    error = json.loads(missing.stdout)
    assert (missing.returncode, error["command"], error["exit_code"]) == (2, "remove", 2)
    (tmp_path / "tac_bootstrap.yml").write_text("project: {}\n")
    with pytest.raises(UsageError, match=r"no tac_bootstrap\.manifest\.json"):
        api.remove(tmp_path)


def test_symlink_out_of_the_project_refuses_before_any_change(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    api.add_agentic(root)
    outside = tmp_path / "outside"
    shutil.move(root / ".claude" / "commands", outside)
    (root / ".claude" / "commands").symlink_to(outside)
    added = tree(root)
    outside_files = tree_snapshot(outside)
    with pytest.raises(UnsafePathError):
        api.remove(root)
    assert tree(root) == added
    assert tree_snapshot(outside) == outside_files


def test_pty_shows_the_plan_and_asks_no_keeps_everything(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    api.add_agentic(root)
    added = tree(root)
    argv = [sys.executable, "-m", "tac_bootstrap", "remove"]
    with pty_session(argv, cwd=root) as session:
        session.expect(re.compile(r"restore"))
        session.expect(re.compile(r"Remove the agentic layer from \S+\?"))
        session.send("n")
        assert session.wait() == 2, session.text
    assert tree(root) == added
    with pty_session(argv, cwd=root) as session:
        session.expect(re.compile(r"Remove the agentic layer from \S+\?"))
        session.send("y")
        assert session.wait() == 0, session.text
    assert not (root / "tac_bootstrap.yml").exists()


def test_an_init_project_keeps_only_the_config_backup(tmp_path: Path) -> None:
    api.init("demo", output_dir=tmp_path, git=False)
    root = tmp_path / "demo"
    config = (root / "tac_bootstrap.yml").read_bytes()
    report = api.remove(root)
    assert report.ok and report.backup is not None  # init records no config: backed up
    files, _directories = tree(root)
    assert files == {
        f"{report.backup}/tac_bootstrap.yml": config,
        ".tac_bootstrap/backups/.gitignore": b"*\n",
    }


def test_a_run_stopped_before_the_manifest_went_is_completed_by_running_again(
    tmp_path: Path,
) -> None:
    root = python_repo(tmp_path / "shop")
    before = tree(root)
    api.add_agentic(root)
    manifest = (root / "tac_bootstrap.manifest.json").read_bytes()
    assert api.remove(root).ok
    (root / "tac_bootstrap.manifest.json").write_bytes(manifest)  # as if it stopped there
    again = api.remove(root)
    assert again.ok, again.to_dict()
    assert tree(root) == before


def test_after_render_upgrade_and_compiled_modules_the_round_trip_holds(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"theirs")  # not ours: stays
    before = tree(root)
    api.add_agentic(root)
    assert api.render(root).ok
    assert api.upgrade(root).ok
    beside_sources = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "adws", ".claude/hooks"],
        cwd=root, check=True, env=beside_sources,
    )  # fmt: skip
    assert list((root / "adws" / "adw_modules" / "__pycache__").glob("*.pyc"))
    report = api.remove(root)
    assert report.ok, report.to_dict()
    assert tree(root) == before


def test_negations_add_agentic_appended_for_the_repositorys_rules_go_too(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    (root / ".gitignore").write_bytes(b"*.md\nlogs\n.claude/\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    before = tree(root)
    added = api.add_agentic(root)
    assert added.gitignore.ignored  # git ignored generated files: negations were appended
    assert b"!/" in (root / ".gitignore").read_bytes()
    report = api.remove(root)
    assert report.ok, report.to_dict()
    assert tree(root) == before


def test_a_manifest_naming_a_path_outside_is_refused_before_any_change(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    api.add_agentic(root)
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours\n")
    manifest_path = root / "tac_bootstrap.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    digest = hashlib.sha256(b"not yours\n").hexdigest()
    manifest["files"]["../secret.txt"] = {"blob": "0" * 40, "sha256": digest, "source": ""}
    manifest_path.write_text(json.dumps(manifest))
    added = tree(root)
    with pytest.raises(UnsafePathError):
        api.remove(root)
    assert tree(root) == added and secret.read_text() == "not yours\n"


def test_postgresql_database_is_never_dropped_and_says_so(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    api.add_agentic(root)
    config = root / "tac_bootstrap.yml"
    text = config.read_text()
    config.write_text(text.replace('database: ""', 'database: "postgresql://me@db.invalid/orch"'))
    report = api.remove(root, purge_database=True)
    assert report.ok
    assert report.plan.database.action == "postgresql"
    said = [w for w in report.warnings if "PostgreSQL" in w]
    assert len(said) == 1 and "never dropped" in said[0] and "me@db.invalid" in said[0]
    assert report.backup is not None  # the edited config
    assert (root / report.backup / "tac_bootstrap.yml").read_text() != text


def test_a_logs_directory_the_repository_had_gets_no_leftover_gitignore(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    (root / "logs").mkdir()
    (root / "logs" / "README.txt").write_text("our own logs folder\n")
    report = round_trip(root)  # their file does not keep our logs/.gitignore
    assert {i.path: i.action.value for i in report.plan.items}["logs/.gitignore"] == "delete"
