"""Creating the project's git repository, so the first generated files are in history.

A run killed between `git init` and the first commit would leave a repository without a
commit (no merge base for upgrades). So `.git/` is created with a marker file before
`git init` and the marker is removed after the commit: a re-run that finds the marker and no
commit knows the repository is its own, unfinished one, and starts it again. A commit-less
repository without the marker is the user's and is left alone. Temp files a killed run may
have left are excluded in `.git/info/exclude` before `git add -A`.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

from tac_bootstrap.infrastructure.filesystem import GIT_EXCLUDE_PATTERN

# Used only when the user has no git identity configured, so the initial commit still works.
FALLBACK_IDENTITY = ["-c", "user.name=tac-bootstrap", "-c", "user.email=tac-bootstrap@localhost"]
INIT_MARKER = "tac-bootstrap-initial-commit"  # in .git/ while the initial commit is pending
EXCLUDE_LINES = f"# tac-bootstrap temp files (never committed)\n{GIT_EXCLUDE_PATTERN}\n"


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)


def has_commit(root: Path) -> bool:
    """Whether root's own `.git` (never a parent repository's) has a commit."""
    git_dir = str(root / ".git")
    return (
        _git(root, "--git-dir", git_dir, "rev-parse", "--verify", "-q", "HEAD^{commit}").returncode
        == 0
    )


def _exclude_temp_files(git_dir: Path) -> None:
    exclude = git_dir / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    current = exclude.read_text(encoding="utf-8") if exclude.is_file() else ""
    if GIT_EXCLUDE_PATTERN not in current.splitlines():
        separator = "" if not current or current.endswith("\n") else "\n"
        exclude.write_text(current + separator + EXCLUDE_LINES, encoding="utf-8")


def _existing(root: Path, git_dir: Path) -> str | None:
    """What to say about a `.git` already there; None when it is ours and unfinished."""
    if git_dir.is_symlink() or not git_dir.is_dir():
        return "git repository already present; left as it is"
    marker = git_dir / INIT_MARKER
    if not any(git_dir.iterdir()):
        git_dir.rmdir()  # killed right after creating it: nothing there to keep
        return None
    if has_commit(root):
        marker.unlink(missing_ok=True)  # killed after the commit, before the cleanup
        return "git repository already present; left as it is"
    if not marker.exists():
        return (
            "a git repository without any commit is already present (not created by "
            "tac-bootstrap); left as it is: commit the generated files yourself"
        )
    shutil.rmtree(git_dir)  # our own interrupted init: nothing committed, start it again
    return None


def init_repository(root: Path, message: str) -> str:
    """git init + add + commit; returns what happened in one line (never raises)."""
    if shutil.which("git") is None:
        return "skipped git init: git is not installed"
    git_dir = root / ".git"
    resumed = git_dir.exists() or git_dir.is_symlink()
    if resumed:
        try:
            said = _existing(root, git_dir)
        except OSError as exc:
            return f"could not restart the interrupted git init: {exc.strerror} ({exc.filename})"
        if said is not None:
            return said
    else:
        inside = _git(root, "rev-parse", "--show-toplevel")
        if inside.returncode == 0:
            # A project created inside another repository's work tree belongs to it.
            return f"inside the git repository {inside.stdout.strip()}; no new repository created"
    try:
        git_dir.mkdir()
        (git_dir / INIT_MARKER).write_text("initial commit pending\n", encoding="utf-8")
        result = _git(root, "init", "-q")
        if result.returncode != 0:
            return f"git init failed: {result.stderr.strip()}"
        _exclude_temp_files(git_dir)
    except OSError as exc:
        return f"git init failed: {exc.strerror} ({exc.filename})"
    result = _git(root, "add", "-A")
    if result.returncode != 0:
        return f"git add failed: {result.stderr.strip()}"
    identity = [] if _git(root, "config", "user.email").stdout.strip() else FALLBACK_IDENTITY
    result = _git(root, *identity, "commit", "-q", "-m", message)
    if result.returncode != 0:
        return f"git commit failed: {result.stderr.strip() or result.stdout.strip()}"
    with contextlib.suppress(OSError):
        (git_dir / INIT_MARKER).unlink(missing_ok=True)  # a leftover is cleared next time
    if resumed:
        return "completed the interrupted initial commit of the git repository"
    return "created a git repository with an initial commit"
