"""Creating the project's git repository, so the first generated files are in history."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# Used only when the user has no git identity configured, so the initial commit still works.
FALLBACK_IDENTITY = ["-c", "user.name=tac-bootstrap", "-c", "user.email=tac-bootstrap@localhost"]


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)


def init_repository(root: Path, message: str) -> str:
    """git init + add + commit; returns what happened in one line (never raises)."""
    if shutil.which("git") is None:
        return "skipped git init: git is not installed"
    if (root / ".git").exists():
        return "git repository already present; left as it is"
    inside = _git(root, "rev-parse", "--show-toplevel")
    if inside.returncode == 0:
        # A project created inside another repository's work tree belongs to that repository.
        return f"inside the git repository {inside.stdout.strip()}; no new repository created"
    steps = [("init", "-q"), ("add", "-A")]
    for step in steps:
        result = _git(root, *step)
        if result.returncode != 0:
            return f"git {step[0]} failed: {result.stderr.strip()}"
    identity = [] if _git(root, "config", "user.email").stdout.strip() else FALLBACK_IDENTITY
    result = _git(root, *identity, "commit", "-q", "-m", message)
    if result.returncode != 0:
        return f"git commit failed: {result.stderr.strip() or result.stdout.strip()}"
    return "created a git repository with an initial commit"
