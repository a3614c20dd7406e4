"""The files the layer shares with the user, end to end through the CLI (issue 13).

`.claude/settings.json` is merged as JSON and `CLAUDE.md` gets a marked section, in add-agentic,
render, upgrade and doctor alike; a deleted generated file follows one rule everywhere. The
merge rules themselves are tested in tests/test_settings_merge.py and
tests/test_markdown_section.py; here: what the commands do with them on real files and git.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import ProjectFactory, tree_snapshot

HOOK_SCRIPT = ".claude/hooks/orchestrator_hook.py"

# A user's own settings: a hook on an event the layer also uses, permissions (one of them a
# rule the layer denies), keys the layer knows nothing about, 4-space indentation.
USER_SETTINGS = {
    "model": "opus",
    "env": {"FOO": "bar"},
    "permissions": {
        "allow": ["Bash(npm run lint:*)", "Bash(git push:*)"],
        "defaultMode": "acceptEdits",
    },
    "hooks": {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "./scripts/audit.sh"}]}
        ]
    },
}
USER_CLAUDE_MD = b"# Shop\n\nHouse rules: run the linter before every commit.\n"


def user_repo(root: Path, settings: bytes | None = None, claude_md: bytes | None = None) -> Path:
    (root / ".claude").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "1.0"\n')
    (root / ".claude/settings.json").write_bytes(
        settings if settings is not None else json.dumps(USER_SETTINGS, indent=4).encode()
    )
    if claude_md is not None:
        (root / "CLAUDE.md").write_bytes(claude_md)
    return root


def commands_of(settings: dict[str, Any], event: str) -> list[str]:
    return [h["command"] for group in settings["hooks"].get(event, []) for h in group["hooks"]]


def doctor_rows(cli: Any, project: Path, *args: str) -> dict[str, dict[str, Any]]:
    """doctor's rows by name (the first of each); its exit code depends on the machine (the
    agent CLI row), so the tests look at the rows they are about."""
    document = json.loads(cli("doctor", project, "--json", *args).stdout)
    rows: dict[str, dict[str, Any]] = {}
    for row in document["checks"]:
        rows.setdefault(row["name"], row)
    return rows


def test_add_agentic_merges_into_the_users_settings_and_the_layer_is_clean(
    cli: Any, tmp_path: Path
) -> None:
    root = user_repo(tmp_path / "shop", claude_md=USER_CLAUDE_MD)
    result = cli("add-agentic", root, "--yes", "--json")
    assert result.exit_code == 0, result.stdout
    document = json.loads(result.stdout)
    statuses = {f["path"]: f["status"] for f in document["files"]}
    assert statuses[".claude/settings.json"] == "merge"
    assert statuses["CLAUDE.md"] == "merge"

    text = (root / ".claude/settings.json").read_text()
    settings = json.loads(text)
    # Every key and entry of the user's is there, in their order, with their values.
    assert list(settings)[:4] == ["model", "env", "permissions", "hooks"]
    assert settings["model"] == "opus" and settings["env"] == {"FOO": "bar"}
    assert settings["permissions"]["defaultMode"] == "acceptEdits"
    assert settings["permissions"]["allow"][:2] == ["Bash(npm run lint:*)", "Bash(git push:*)"]
    # Their hook for PreToolUse is kept first; the layer's hook and guard follow it, once.
    pre = commands_of(settings, "PreToolUse")
    assert pre[0] == "./scripts/audit.sh"
    assert sum(HOOK_SCRIPT in c for c in pre) == 1
    assert sum("tool_guard.py" in c for c in pre) == 1
    for event in ("SessionStart", "Stop", "PostToolUse"):
        assert sum(HOOK_SCRIPT in c for c in commands_of(settings, event)) == 1, event
    # The user allows git push: the layer's ask/deny of it is not added over that choice.
    for kind in ("ask", "deny"):
        assert "Bash(git push:*)" not in settings["permissions"].get(kind, [])
    assert text.startswith('{\n    "model"')  # their indentation kept

    claude_md = (root / "CLAUDE.md").read_bytes()
    assert claude_md.startswith(USER_CLAUDE_MD)  # their text first, byte for byte
    assert b"<!-- tac-bootstrap:begin" in claude_md and b"`uv run" not in USER_CLAUDE_MD
    backups = list((root / ".tac_bootstrap/backups").glob("*/.claude/settings.json"))
    assert [b.read_bytes() for b in backups] == [json.dumps(USER_SETTINGS, indent=4).encode()]

    # The way out the old behaviour lacked: check, doctor and upgrade are all content.
    assert cli("render", root, "--check").exit_code == 0
    rows = doctor_rows(cli, root)
    assert "shared" not in rows and rows["files"]["status"] == "ok"
    upgrade = json.loads(cli("upgrade", root, "--dry-run", "--json").stdout)
    changes = {f["path"]: f["change"] for f in upgrade["files"]}
    assert changes[".claude/settings.json"] == changes["CLAUDE.md"] == "unchanged"
    # Idempotent: rendering again writes nothing.
    before = tree_snapshot(root)
    assert cli("render", root).exit_code == 0
    assert tree_snapshot(root) == before


def test_users_later_edits_to_shared_files_are_theirs(cli: Any, tmp_path: Path) -> None:
    root = user_repo(tmp_path / "shop", claude_md=USER_CLAUDE_MD)
    assert cli("add-agentic", root, "--yes").exit_code == 0
    path = root / ".claude/settings.json"
    settings = json.loads(path.read_text())
    settings["hooks"]["Stop"].append({"hooks": [{"type": "command", "command": "notify-send"}]})
    settings["statusLine"] = {"type": "command", "command": "echo hi"}
    path.write_text(json.dumps(settings, indent=4))
    claude_md = root / "CLAUDE.md"
    claude_md.write_bytes(claude_md.read_bytes() + b"\n## Our own notes\n\nMore rules.\n")
    edited = tree_snapshot(root)

    assert cli("render", root, "--check").exit_code == 0  # their edits are not drift
    assert cli("render", root).exit_code == 0
    assert tree_snapshot(root) == edited  # nothing rewritten
    rows = doctor_rows(cli, root)
    assert rows["edited"]["status"] == "ok", rows["edited"]  # shared files are meant to be edited


def test_a_config_change_updates_only_the_layers_rules(cli: Any, tmp_path: Path) -> None:
    root = user_repo(tmp_path / "shop")
    assert cli("add-agentic", root, "--yes").exit_code == 0
    config = root / "tac_bootstrap.yml"

    def set_test_command(command: str) -> None:
        text = config.read_text()
        head, _, rest = text.partition("\ncommands:\n")
        line = next(line for line in rest.splitlines() if line.startswith("  test: "))
        config.write_text(f"{head}\ncommands:\n" + rest.replace(line, f'  test: "{command}"', 1))

    set_test_command("tox -e py")
    assert cli("upgrade", root, "--yes").exit_code == 0  # merged: the tox rule is the layer's
    assert (
        "Bash(tox -e py:*)"
        in json.loads((root / ".claude/settings.json").read_text())["permissions"]["allow"]
    )
    set_test_command("nox -s tests")
    rows = doctor_rows(cli, root)
    assert rows["outdated"]["status"] == "warn"
    assert ".claude/settings.json" in rows["outdated"]["details"]

    result = json.loads(cli("upgrade", root, "--yes", "--json").stdout)
    changes = {f["path"]: f["change"] for f in result["files"]}
    assert changes[".claude/settings.json"] == "merge"
    settings = json.loads((root / ".claude/settings.json").read_text())
    allow = settings["permissions"]["allow"]
    assert "Bash(nox -s tests:*)" in allow
    assert not any(rule.startswith("Bash(tox") for rule in allow)  # the layer's old rule
    assert allow[:2] == ["Bash(npm run lint:*)", "Bash(git push:*)"]  # the user's, kept
    assert commands_of(settings, "PreToolUse")[0] == "./scripts/audit.sh"
    assert cli("render", root, "--check").exit_code == 0


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b'{\n  // my comment\n  "model": "opus"\n}\n', "line 2"),
        (b'{\n  "model": "opus",\n}\n', "line 3"),
        (b'{"model": "opus", "model": "sonnet"}\n', "model"),
        (b'["not", "an", "object"]\n', "object"),
        (b'{"hooks": {"Stop": "echo hi"}}\n', "hooks.Stop"),
    ],
)
def test_a_settings_file_that_is_not_mergeable_json_is_never_rewritten(
    cli: Any, tmp_path: Path, content: bytes, where: str
) -> None:
    root = user_repo(tmp_path / "shop", settings=content)
    result = cli("add-agentic", root, "--yes", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    entry = next(f for f in document["files"] if f["path"] == ".claude/settings.json")
    assert entry["status"] == "conflict"
    assert where in entry["detail"], entry["detail"]
    assert (root / ".claude/settings.json").read_bytes() == content  # byte for byte
    assert b"<<<<<<<" not in (root / ".claude/settings.json").read_bytes()
    proposal = root / ".claude/settings.json.tac-bootstrap"
    assert HOOK_SCRIPT in json.dumps(json.loads(proposal.read_text()))
    assert cli("render", root, "--check").exit_code == 1
    rows = doctor_rows(cli, root)
    assert rows["shared"]["status"] == "fail" and where in rows["shared"]["message"]

    # Once the user fixes their JSON, render merges and removes the proposal it wrote.
    (root / ".claude/settings.json").write_text('{"model": "opus"}\n')
    result = cli("render", root, "--json")
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["cleaned_proposals"] == [".claude/settings.json.tac-bootstrap"]
    assert not proposal.exists()
    assert json.loads((root / ".claude/settings.json").read_text())["model"] == "opus"
    assert cli("render", root, "--check").exit_code == 0


def test_a_proposal_the_user_edited_is_kept(cli: Any, tmp_path: Path) -> None:
    root = user_repo(tmp_path / "shop", settings=b"{ broken\n")
    assert cli("add-agentic", root, "--yes").exit_code == 1
    proposal = root / ".claude/settings.json.tac-bootstrap"
    proposal.write_text(proposal.read_text() + "\n")  # the user touched it
    (root / ".claude/settings.json").write_text("{}\n")
    result = json.loads(cli("render", root, "--json").stdout)
    assert result["ok"] and result["kept_proposals"] == [".claude/settings.json.tac-bootstrap"]
    assert proposal.exists()


def test_a_hand_merged_settings_file_from_the_old_advice_is_adopted(
    cli: Any, tmp_path: Path, new_project: ProjectFactory
) -> None:
    """Before this round a user merged the proposal by hand; their file is now recognised."""
    layer = new_project(tmp_path / "generated")
    ours = json.loads((layer / ".claude/settings.json").read_text())
    hand_merged = {"model": "opus", **ours}
    root = user_repo(tmp_path / "shop", settings=json.dumps(hand_merged, indent=2).encode())
    result = json.loads(cli("add-agentic", root, "--yes", "--json").stdout)
    statuses = {f["path"]: f["status"] for f in result["files"]}
    assert statuses[".claude/settings.json"] in ("identical", "merge")
    settings = json.loads((root / ".claude/settings.json").read_text())
    for event in ours["hooks"]:  # no hook twice
        assert sum(HOOK_SCRIPT in c for c in commands_of(settings, event)) == 1, event
    assert cli("render", root, "--check").exit_code == 0


def test_editing_inside_the_layers_section_is_a_conflict_force_replaces_it(
    cli: Any, tmp_path: Path
) -> None:
    root = user_repo(tmp_path / "shop", claude_md=USER_CLAUDE_MD)
    assert cli("add-agentic", root, "--yes").exit_code == 0
    path = root / "CLAUDE.md"
    path.write_text(path.read_text().replace("Conventions:", "Conventions (mine):"))
    edited = path.read_bytes()
    result = cli("render", root)
    assert result.exit_code == 1 and "CLAUDE.md" in result.stdout
    assert path.read_bytes() == edited
    assert cli("render", root, "--check").exit_code == 1
    assert cli("render", root, "--force").exit_code == 0
    assert "Conventions (mine)" not in path.read_text()
    assert path.read_bytes().startswith(USER_CLAUDE_MD)  # the rest of the file untouched
    backups = list((root / ".tac_bootstrap/backups").glob("*/CLAUDE.md"))
    assert edited in [b.read_bytes() for b in backups]


def test_a_manifest_of_format_1_migrates_and_drops_the_old_hook(
    cli: Any, tmp_path: Path, new_project: ProjectFactory
) -> None:
    """A project from before this round: settings.json recorded as a whole file, whose
    generated version had a hook command the templates no longer produce."""
    project = new_project(tmp_path)
    settings_path = project / ".claude/settings.json"
    old = json.loads(settings_path.read_text())
    old["hooks"]["Stop"][0]["hooks"][0]["command"] = "python3 .claude/hooks/old_hook.py"
    old_bytes = (json.dumps(old, indent=2) + "\n").encode()
    user = json.loads(old_bytes)
    user["model"] = "haiku"  # the user's edit of the generated file
    settings_path.write_text(json.dumps(user, indent=2) + "\n")
    manifest_path = project / "tac_bootstrap.manifest.json"
    manifest = json.loads(manifest_path.read_text())

    entry = manifest["files"][".claude/settings.json"]
    entry.clear()
    entry.update(
        sha256=hashlib.sha256(old_bytes).hexdigest(),
        blob=hashlib.sha1(b"blob %d\0" % len(old_bytes) + old_bytes).hexdigest(),
        source="claude/settings.json.j2",
    )
    manifest["format"] = 1
    manifest_path.write_text(json.dumps(manifest, indent=2))
    base = project / ".tac_bootstrap/base/.claude/settings.json"
    base.parent.mkdir(parents=True, exist_ok=True)
    base.write_bytes(old_bytes)

    result = json.loads(cli("upgrade", project, "--yes", "--json").stdout)
    assert {f["path"]: f["change"] for f in result["files"]}[".claude/settings.json"] == "merge"
    settings = json.loads(settings_path.read_text())
    stop = commands_of(settings, "Stop")
    assert "python3 .claude/hooks/old_hook.py" not in stop  # ours before: taken out
    assert sum(HOOK_SCRIPT in c for c in stop) == 1
    assert settings["model"] == "haiku"
    recorded = json.loads(manifest_path.read_text())
    assert recorded["format"] == 2
    assert recorded["files"][".claude/settings.json"]["merge"] == "json"
    assert cli("render", project, "--check").exit_code == 0


def test_a_deleted_generated_file_follows_one_rule(
    cli: Any, tmp_path: Path, new_project: ProjectFactory
) -> None:
    project = new_project(tmp_path)
    review = ".claude/commands/review.md"
    (project / review).unlink()
    check = json.loads(cli("render", project, "--check", "--json").stdout)
    assert check["differs"] == [{"path": review, "state": "deleted"}]  # not recorded yet
    rows = doctor_rows(cli, project)
    assert rows["deleted"]["status"] == "fail" and rows["deleted"]["fixable"] is True

    rows = doctor_rows(cli, project, "--fix")
    assert "deleted" not in rows and not (project / review).exists()  # recorded, kept deleted
    manifest = json.loads((project / "tac_bootstrap.manifest.json").read_text())
    assert manifest["files"][review]["deleted"] is True
    assert "1 deleted by you" in rows["files"]["message"]
    assert cli("render", project, "--check").exit_code == 0
    assert cli("render", project).exit_code == 0 and not (project / review).exists()
    upgrade = json.loads(cli("upgrade", project, "--yes", "--json").stdout)
    assert {f["path"]: f["change"] for f in upgrade["files"]}[review] == "deleted"
    assert not (project / review).exists()

    bad = cli("render", project, "--restore", "nope.md")
    assert bad.exit_code == 2 and "not a file the layer generates" in bad.stderr
    assert cli("render", project, "--restore", review).exit_code == 0
    assert (project / review).is_file()
    manifest = json.loads((project / "tac_bootstrap.manifest.json").read_text())
    assert "deleted" not in manifest["files"][review]


def test_a_file_the_layer_needs_is_written_again(
    cli: Any, tmp_path: Path, new_project: ProjectFactory
) -> None:
    project = new_project(tmp_path)
    (project / HOOK_SCRIPT).unlink()
    (project / "adws/adw_modules/adw_database.py").unlink()
    assert cli("render", project).exit_code == 0
    assert (project / HOOK_SCRIPT).is_file()
    assert (project / "adws/adw_modules/adw_database.py").is_file()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_add_agentic_commit_clone_and_the_clone_is_clean(cli: Any, tmp_path: Path) -> None:
    root = user_repo(tmp_path / "shop", claude_md=USER_CLAUDE_MD)

    def git(*args: str, cwd: Path = root) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args],
            cwd=cwd,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "before the layer")
    assert cli("add-agentic", root, "--yes").exit_code == 0
    git("add", "-A")
    git("commit", "-q", "-m", "the layer")
    status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True)
    assert status.stdout == b""  # nothing of ours left uncommitted or unignored
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    assert cli("render", clone, "--check").exit_code == 0
    rows = doctor_rows(cli, clone)
    assert rows["files"]["status"] == "ok" and "shared" not in rows and "deleted" not in rows


def test_the_rules_left_out_for_the_users_choices_are_said_once(cli: Any, tmp_path: Path) -> None:
    settings = {"permissions": {"deny": ["Bash(git status:*)"], "allow": ["Bash(git push -f:*)"]}}
    root = user_repo(tmp_path / "shop", settings=json.dumps(settings).encode())
    document = json.loads(cli("add-agentic", root, "--yes", "--json").stdout)
    assert document["notes"] == [
        '.claude/settings.json: allow "Bash(git status:*)" not added: you deny it',
        '.claude/settings.json: deny "Bash(git push -f:*)" not added: you allow it',
    ]
    merged = json.loads((root / ".claude/settings.json").read_text())["permissions"]
    assert "Bash(git status:*)" not in merged["allow"]
    assert "Bash(git push -f:*)" not in merged["deny"]
    again = cli("render", root)
    assert again.exit_code == 0 and "not added" not in again.stdout  # said when merged only


@pytest.mark.parametrize("claude_md", [b"# Shop\r\n\r\nRules.\r\n", b"# Shop\n\nNo final newline"])
def test_a_crlf_or_unfinished_claude_md_is_not_taken_for_an_edit(
    cli: Any, tmp_path: Path, claude_md: bytes
) -> None:
    root = user_repo(tmp_path / "shop", claude_md=claude_md)
    assert cli("add-agentic", root, "--yes").exit_code == 0
    written = (root / "CLAUDE.md").read_bytes()
    assert written.startswith(claude_md)
    if b"\r\n" in claude_md:
        assert b"\n" not in written.replace(b"\r\n", b"")  # ours in the file's line ending
    assert cli("render", root, "--check").exit_code == 0
    assert cli("render", root).exit_code == 0
    assert (root / "CLAUDE.md").read_bytes() == written


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_file_git_ignores_was_never_committed_not_deleted(
    cli: Any, tmp_path: Path, new_project: ProjectFactory
) -> None:
    """An old layer under a `*.md` rule: a clone lacks the plan templates, nobody deleted them."""
    project = new_project(tmp_path)
    shutil.rmtree(project / ".git", ignore_errors=True)  # a history of its own, below
    (project / ".gitignore").write_text("specs/templates/*.md\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "layer"], cwd=project, check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True)
    assert not (clone / "specs/templates/bug.md").exists()

    check = json.loads(cli("render", clone, "--check", "--json").stdout)
    states = {d["path"]: d["state"] for d in check["differs"]}
    assert states["specs/templates/bug.md"] == "missing"  # not "deleted"
    rows = doctor_rows(cli, clone)
    assert "specs/templates/bug.md" in rows["files"]["details"] and "deleted" not in rows
    upgrade = json.loads(cli("upgrade", clone, "--dry-run", "--json").stdout)
    changes = {f["path"]: f for f in upgrade["files"]}
    assert changes["specs/templates/bug.md"]["change"] == "create"
    assert (
        "git ignores it (.gitignore:1: specs/templates/*.md)"
        in (changes["specs/templates/bug.md"]["detail"])
    )
    rendered = json.loads(cli("render", clone, "--json").stdout)
    statuses = {f["path"]: f["status"] for f in rendered["files"]}
    assert statuses["specs/templates/bug.md"] == "create"
    assert (clone / "specs/templates/bug.md").is_file()
    manifest = json.loads((clone / "tac_bootstrap.manifest.json").read_text())
    assert "deleted" not in manifest["files"]["specs/templates/bug.md"]
