"""Run isolation with real git: branch names, worktrees made, reused after a crash and removed,
env files, the run's environment, dirty detection, patch backups and the push guard."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tac_bootstrap.runtime.adw_git import (
    GitError,
    changed_files,
    commit_all,
    is_merged,
    push_branch,
)
from tac_bootstrap.runtime.adw_worktree import (
    WorktreeDirty,
    WorktreeError,
    branch_name,
    copy_env_files,
    create_worktree,
    default_base_branch,
    discard_worktree,
    find_worktree,
    list_worktrees,
    project_in_worktree,
    remove_worktree,
    run_environment,
    worktree_dirty,
)

from .conftest import examples


def git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env=env
    )
    return done.stdout


def make_repo(path: Path, branch: str = "main") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", branch)
    git(path, "config", "user.name", "Tester")
    git(path, "config", "user.email", "tester@example.com")
    (path / ".gitignore").write_text("/trees/\n.env\n")
    (path / "app.py").write_text("print('hello')\n")
    git(path, "add", ".gitignore", "app.py")
    git(path, "commit", "-q", "-m", "first")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "project")


@pytest.fixture
def remote(tmp_path: Path, repo: Path) -> Path:
    """A real bare repository as origin, its HEAD main, fetched so origin/HEAD is known."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main")
    git(repo, "remote", "set-head", "origin", "--auto")
    return bare


def check_ref_format(name: str) -> bool:
    done = subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True)
    return done.returncode == 0


# -- branch names ---------------------------------------------------------------------------


def test_branch_name_examples() -> None:
    assert branch_name("feature", "12", "Add login page") == "feature/12-add-login-page"
    assert branch_name("bug", "a1b2c3d4", "Crash on  'save' (Ünïcode)") == (
        "bug/a1b2c3d4-crash-on-save-unicode"
    )
    assert branch_name("chore", "7", "") == "chore/7"
    assert branch_name("chore", "7", "🚀🚀") == "chore/7"
    assert branch_name("weird type", "", "x") == "feature/run-x"
    long = branch_name("feature", "9", "word " * 40)
    assert len(long.split("/", 1)[1]) <= len("9-") + 40 and not long.endswith("-")


@settings(max_examples=examples(200))
@given(
    issue_type=st.sampled_from(["feature", "bug", "chore", "", "feat/ure", "..", "@{"]),
    ref=st.text(max_size=80),
    title=st.text(max_size=300),
)
def test_branch_name_is_always_valid_for_git(issue_type: str, ref: str, title: str) -> None:
    name = branch_name(issue_type, ref, title)
    assert check_ref_format(name), name
    kind, _, rest = name.partition("/")
    assert kind in ("feature", "bug", "chore") and rest
    assert len(rest) <= 81  # ref (at most 40) + '-' + slug (at most 40)


@settings(max_examples=examples(100))
@given(title=st.text(alphabet=st.characters(categories=["L", "N", "P", "S", "Z"]), max_size=200))
def test_slug_is_ascii_lowercase_and_short(title: str) -> None:
    slug = branch_name("feature", "1", title).removeprefix("feature/1").removeprefix("-")
    assert len(slug) <= 40
    assert all(c.isascii() and (c.islower() or c.isdigit() or c == "-") for c in slug)
    assert not slug.startswith("-") and not slug.endswith("-") and "--" not in slug


# -- base branch ----------------------------------------------------------------------------


def test_default_base_branch_prefers_the_remote_head(repo: Path, remote: Path) -> None:
    git(repo, "checkout", "-q", "-b", "topic")
    assert default_base_branch(repo, "origin") == "main"


def test_default_base_branch_is_the_current_branch_without_remote(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "develop")
    assert default_base_branch(repo, "origin") == "develop"


def test_default_base_branch_refuses_a_detached_head_without_remote(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    with pytest.raises(WorktreeError, match=r"detached.*workflow\.base_branch"):
        default_base_branch(repo, "origin")


# -- worktrees ------------------------------------------------------------------------------


def test_create_worktree_on_its_own_branch(repo: Path) -> None:
    path = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    assert path == (repo / "trees" / "a1b2c3d4").resolve()
    assert git(path, "branch", "--show-current").strip() == "feature/1-x"
    assert (path / "app.py").read_text() == "print('hello')\n"
    assert git(repo, "status", "--porcelain") == ""  # trees/ is ignored
    assert git(repo, "branch", "--show-current").strip() == "main"  # the checkout is untouched


def test_create_worktree_is_idempotent_and_resumes_after_a_crash(repo: Path) -> None:
    path = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    (path / "work.txt").write_text("half done\n")
    again = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    assert again == path and (path / "work.txt").read_text() == "half done\n"
    with pytest.raises(WorktreeError, match="not feature/2-y"):
        create_worktree(repo, "a1b2c3d4", "feature/2-y", "main")


def test_existing_branch_is_checked_out_not_recreated(repo: Path) -> None:
    path = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    (path / "new.py").write_text("x = 1\n")
    sha = commit_all(path, "feat: new (adw_id a1b2c3d4)")
    remove_worktree(repo, path, force=False, backup_dir=repo / "backups")
    assert git(repo, "branch", "--list", "feature/1-x").strip()  # unmerged: the branch stays
    again = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    assert git(again, "rev-parse", "HEAD").strip() == sha


def test_worktree_deleted_by_hand_is_pruned_and_made_again(repo: Path) -> None:
    import shutil

    path = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    shutil.rmtree(path)
    assert find_worktree(repo, path) is not None  # git still lists it (prunable)
    again = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    assert again == path and (path / "app.py").exists()
    assert len([w for w in list_worktrees(repo) if not w.prunable]) == 2


def test_create_worktree_refuses_a_missing_base_branch(repo: Path) -> None:
    with pytest.raises(WorktreeError, match="base branch 'nope' does not exist"):
        create_worktree(repo, "a1b2c3d4", "feature/1-x", "nope")
    assert not (repo / "trees" / "a1b2c3d4").exists()


def test_create_worktree_from_the_remote_branch_only(repo: Path, remote: Path) -> None:
    git(repo, "checkout", "-q", "-b", "other")
    git(repo, "branch", "-q", "-D", "main")
    path = create_worktree(repo, "a1b2c3d4", "bug/2-y", "main")
    assert git(path, "rev-parse", "HEAD") == git(repo, "rev-parse", "origin/main")
    tracking = subprocess.run(["git", "config", "--get", "branch.bug/2-y.merge"], cwd=path)
    assert tracking.returncode == 1  # no upstream: a bare `git push` cannot reach main


def test_unignored_worktrees_dir_ignores_itself(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "old")
    (repo / ".gitignore").write_text("")
    git(repo, "commit", "-q", "-am", "no ignore lines")
    path = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main", "work/trees")
    (path / "change.txt").write_text("x\n")
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert (repo / "work" / "trees" / ".gitignore").read_text().endswith("\n*\n")
    assert "change.txt" in git(path, "status", "--porcelain")  # the worktree's own status


def test_worktrees_dir_with_tracked_files_is_refused(repo: Path) -> None:
    (repo / "trees").mkdir()
    (repo / "trees" / "oak.txt").write_text("a tree\n")
    git(repo, "add", "-f", "trees/oak.txt")
    git(repo, "commit", "-q", "-m", "a tracked trees/")
    (repo / ".gitignore").write_text("")
    with pytest.raises(WorktreeError, match="holds files of the repository"):
        create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")


# -- env files and environment --------------------------------------------------------------


def test_copy_env_files_keeps_modes_and_stays_inside(repo: Path, tmp_path: Path) -> None:
    (repo / ".env").write_text("SECRET=1\n")
    (repo / ".env").chmod(0o600)
    (repo / "config").mkdir()
    (repo / "config" / "local.env").write_text("A=1\n")
    (repo / "config" / "run.sh").write_text("#!/bin/sh\n")
    (repo / "config" / "run.sh").chmod(0o755)
    outside = tmp_path / "outside.env"
    outside.write_text("NOT=mine\n")
    (repo / "config" / "leak.env").symlink_to(outside)
    path = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    (repo / "trees" / "elsewhere.env").write_text("in the worktrees dir\n")
    copied = copy_env_files(
        repo,
        path,
        [".env", "config/*.env", "config/run.sh", "app.py", "../*.env", "**/*.env", "/etc/passwd"],
    )
    assert copied == [".env", "config/local.env", "config/run.sh"]
    assert (path / ".env").read_text() == "SECRET=1\n"
    assert stat.S_IMODE((path / ".env").stat().st_mode) == 0o600
    assert stat.S_IMODE((path / "config" / "run.sh").stat().st_mode) == 0o755
    assert not (path / "config" / "leak.env").exists()
    assert not worktree_dirty(path)  # the copies are not the run's work
    assert commit_all(path, "chore: nothing") is None  # and never committed


def test_run_environment() -> None:
    env = run_environment("a1b2c3d4", Path("/w/trees/a1b2c3d4"), 9110, 10)
    assert env == {
        "TAC_ADW_ID": "a1b2c3d4",
        "TAC_WORKTREE": "/w/trees/a1b2c3d4",
        "TAC_PORT_BASE": "9110",
        "TAC_PORT_RANGE": "9110-9119",
        "PORT": "9110",
    }
    with pytest.raises(WorktreeError):
        run_environment("a1b2c3d4", Path("/w"), 65530, 10)


# -- commits, dirty work, backups -----------------------------------------------------------


def test_commit_all_commits_everything_but_ignored_files_and_the_database(repo: Path) -> None:
    path = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    assert commit_all(path, "feat: nothing yet") is None
    (path / "app.py").write_text("print('bye')\n")
    (path / "new dir").mkdir()
    (path / "new dir" / "ünï.txt").write_text("x\n")
    (path / ".env").write_text("ignored\n")
    (path / "adws" / "schema").mkdir(parents=True)
    (path / "adws" / "schema" / "orchestrator.db").write_bytes(b"SQLite format 3\0")
    (path / "adws" / "schema" / "orchestrator.db-wal").write_bytes(b"wal")
    git(path, "add", "-f", "adws/schema/orchestrator.db")  # even when an agent staged it
    sha = commit_all(path, "feat: change (adw_id a1b2c3d4)")
    assert sha and git(path, "rev-parse", "HEAD").strip() == sha
    committed = git(path, "-c", "core.quotePath=false", "show", "--name-only", "--format=", sha)
    assert sorted(committed.splitlines()) == ["app.py", "new dir/ünï.txt"]
    assert git(path, "log", "-1", "--format=%an <%ae>%n%s").splitlines() == [
        "Tester <tester@example.com>",
        "feat: change (adw_id a1b2c3d4)",
    ]
    assert changed_files(path) == ["adws/schema/orchestrator.db", "adws/schema/orchestrator.db-wal"]
    assert changed_files(path, "main") == [
        "adws/schema/orchestrator.db",
        "adws/schema/orchestrator.db-wal",
        "app.py",
        "new dir/ünï.txt",
    ]


def test_commit_all_falls_back_to_the_adw_identity(repo: Path, tmp_path: Path) -> None:
    git(repo, "config", "--unset", "user.name")
    git(repo, "config", "--unset", "user.email")
    path = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    (path / "x.txt").write_text("x\n")
    home = tmp_path / "home"
    home.mkdir()
    old = {k: os.environ.get(k) for k in ("HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL")}
    os.environ.update(HOME=str(home), XDG_CONFIG_HOME=str(home), GIT_CONFIG_GLOBAL="/dev/null")
    try:
        assert commit_all(path, "chore: x")
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert git(path, "log", "-1", "--format=%an <%ae>").strip() == "ADW <adw@localhost>"


def test_dirty_worktree_is_kept_unless_forced_then_backed_up(repo: Path, tmp_path: Path) -> None:
    path = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    assert not worktree_dirty(path)
    (path / "app.py").write_text("print('staged')\n")
    git(path, "add", "app.py")
    (path / "app.py").write_text("print('staged and then unstaged')\n")
    (path / "untracked.txt").write_text("new\n")
    (path / "blob.bin").write_bytes(bytes(range(256)))
    assert worktree_dirty(path)
    backups = tmp_path / "backups"
    with pytest.raises(WorktreeDirty, match="uncommitted work"):
        remove_worktree(repo, path, force=False, backup_dir=backups)
    assert path.exists() and not backups.exists()
    removed = discard_worktree(repo, path, force=True, backup_dir=backups)
    assert not path.exists() and removed.patch is not None and removed.branch_deleted
    assert find_worktree(repo, path) is None
    assert not git(repo, "branch", "--list", "feature/1-x").strip()  # merged (no commits)
    # the patch restores all of it on a fresh checkout of the same commit
    fresh = create_worktree(repo, "b2c3d4e5", "feature/2-restore", "main")
    git(fresh, "apply", str(removed.patch))
    assert (fresh / "app.py").read_text() == "print('staged and then unstaged')\n"
    assert (fresh / "untracked.txt").read_text() == "new\n"
    assert (fresh / "blob.bin").read_bytes() == bytes(range(256))


def test_forced_removal_of_an_unmerged_branch_keeps_a_bundle(repo: Path, tmp_path: Path) -> None:
    path = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    (path / "w.txt").write_text("work\n")
    sha = commit_all(path, "feat: work")
    removed = discard_worktree(repo, path, force=True, backup_dir=tmp_path / "b")
    assert removed.patch is None and removed.branch_deleted and removed.bundle is not None
    git(repo, "fetch", "-q", str(removed.bundle), "feature/1-x:restored")
    assert git(repo, "rev-parse", "restored").strip() == sha


def test_merged_branch_is_deleted_with_its_worktree(repo: Path, tmp_path: Path) -> None:
    path = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    (path / "w.txt").write_text("work\n")
    commit_all(path, "feat: work")
    assert not is_merged(repo, "feature/1-x", "main")
    git(repo, "merge", "-q", "--ff-only", "feature/1-x")
    assert is_merged(repo, "feature/1-x", "main")
    removed = discard_worktree(repo, path, force=False, backup_dir=tmp_path / "b")
    assert removed.branch_deleted and removed.bundle is None


def test_remove_a_worktree_deleted_by_hand(repo: Path, tmp_path: Path) -> None:
    import shutil

    path = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    shutil.rmtree(path)
    assert remove_worktree(repo, path, force=False, backup_dir=tmp_path / "b") is None
    assert all(not w.prunable for w in list_worktrees(repo))


def test_remove_refuses_a_directory_that_is_no_worktree(repo: Path, tmp_path: Path) -> None:
    stray = repo / "trees" / "stray"
    stray.mkdir(parents=True)
    (stray / "keep.txt").write_text("mine\n")
    with pytest.raises(WorktreeError, match="not a worktree"):
        remove_worktree(repo, stray, force=True, backup_dir=tmp_path / "b")
    assert (stray / "keep.txt").exists()


# -- push guard -----------------------------------------------------------------------------


def test_push_branch_pushes_only_the_run_branch(repo: Path, remote: Path) -> None:
    path = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    (path / "w.txt").write_text("work\n")
    sha = commit_all(path, "feat: work")
    push_branch(path, "origin", "feature/1-x", "main")
    assert git(remote, "rev-parse", "refs/heads/feature/1-x").strip() == sha
    assert git(remote, "rev-parse", "refs/heads/main") == git(repo, "rev-parse", "main")


def test_push_branch_refuses_the_base_and_the_default_branch(repo: Path, remote: Path) -> None:
    before = git(remote, "show-ref")
    with pytest.raises(GitError, match="refusing to push 'main'"):
        push_branch(repo, "origin", "main", "main")
    git(repo, "checkout", "-q", "-b", "develop")
    with pytest.raises(GitError, match="refusing to push 'main'"):
        push_branch(repo, "origin", "main", "develop")  # origin's default branch
    with pytest.raises(GitError, match="refusing to push 'develop'"):
        push_branch(repo, "origin", "develop", "develop")
    git(repo, "remote", "set-head", "origin", "--delete")  # the remote itself still says main
    with pytest.raises(GitError, match="refusing to push 'main'"):
        push_branch(repo, "origin", "main", "develop")
    assert git(remote, "show-ref") == before


def test_commit_all_from_a_project_part_commits_the_whole_checkout(repo: Path) -> None:
    (repo / "backend").mkdir()
    (repo / "backend" / "api.py").write_text("x = 1\n")
    git(repo, "add", "backend")
    git(repo, "commit", "-q", "-m", "a part")
    path = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main")
    part = project_in_worktree(repo / "backend", path)
    assert part == path / "backend"
    (part / "api.py").write_text("x = 2\n")
    (path / "README.md").write_text("outside the part\n")
    (path / "orchestrator.db").write_bytes(b"SQLite format 3\0")
    sha = commit_all(part, "feat: both (adw_id a1b2c3d4)")
    committed = git(path, "show", "--name-only", "--format=", str(sha)).split()
    assert sorted(committed) == ["README.md", "backend/api.py"]
    assert changed_files(part) == ["orchestrator.db"]


def test_four_worktrees_made_at_once_do_not_interfere(repo: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ids = [f"run{n:05d}" for n in range(4)]

    def make(adw_id: str) -> Path:
        path = create_worktree(repo, adw_id, f"feature/{adw_id}", "main")
        (path / f"{adw_id}.txt").write_text(adw_id)
        assert commit_all(path, f"feat: {adw_id}")
        return path

    with ThreadPoolExecutor(max_workers=4) as pool:
        paths = list(pool.map(make, ids))
    for adw_id, path in zip(ids, paths, strict=True):
        files = git(path, "ls-files").split()
        assert f"{adw_id}.txt" in files and len([f for f in files if f.startswith("run")]) == 1
        assert git(path, "branch", "--show-current").strip() == f"feature/{adw_id}"
    assert git(repo, "status", "--porcelain") == ""


def test_worktree_adds_wait_for_the_repository_s_worktree_lock(repo: Path) -> None:
    """Concurrent `git worktree add`s of one repository race inside git (a benchmark lost 1
    of 16 runs to it at 8 at once): each add holds the lock in the common git dir."""
    import threading

    from tac_bootstrap.runtime.adw_git import worktree_lock

    made: list[Path] = []
    with worktree_lock(repo):
        adder = threading.Thread(
            target=lambda: made.append(create_worktree(repo, "lock0001", "feature/lock", "main"))
        )
        adder.start()
        adder.join(timeout=2)
        assert adder.is_alive() and not made  # waiting for the lock, nothing added yet
        assert "lock0001" not in git(repo, "worktree", "list")
    adder.join(timeout=120)
    assert made and (made[0] / ".git").is_file()


def test_commit_all_on_a_branch_with_no_commit_yet(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    git(fresh, "init", "-q", "-b", "main")
    (fresh / "a.txt").write_text("a\n")
    (fresh / "orchestrator.db-wal").write_bytes(b"wal")
    env = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "T"}
    os.environ.update(env)
    try:
        sha = commit_all(fresh, "chore: first")
    finally:
        for key in env:
            os.environ.pop(key, None)
    assert sha and git(fresh, "show", "--name-only", "--format=", sha).split() == ["a.txt"]


def test_worktrees_dir_outside_the_repository(repo: Path, tmp_path: Path) -> None:
    """A hand-edited config (never validated) may point out of the repository: it works, and
    nothing in the repository changes."""
    path = create_worktree(repo, "a1b2c3d4", "feature/1-x", "main", str(tmp_path / "elsewhere"))
    assert path == (tmp_path / "elsewhere" / "a1b2c3d4").resolve() and (path / "app.py").exists()
    assert not (tmp_path / "elsewhere" / ".gitignore").exists()
    assert git(repo, "status", "--porcelain") == ""
