"""Three-way merges with `git merge-file`: the merge git itself uses, with markers every
mergetool and editor understands (<<<<<<< / ======= / >>>>>>>)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tac_bootstrap.domain.errors import OperationError


@dataclass(frozen=True)
class MergeResult:
    content: bytes
    conflicts: int


def git_available() -> bool:
    return shutil.which("git") is not None


def shallow_repository(root: Path) -> bool:
    """Whether ``root`` is in a shallow clone (`git clone --depth N`): its history, and with it
    the blobs an upgrade merges against, stops at the cut."""
    if not git_available():
        return False
    result = subprocess.run(
        ["git", "rev-parse", "--is-shallow-repository"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0 and result.stdout.strip() == "true"


def merge3(base: bytes, ours: bytes, theirs: bytes, *, labels: tuple[str, str, str]) -> MergeResult:
    """Merge ``theirs`` (the new render) into ``ours`` (the user's file) relative to ``base``."""
    if not git_available():
        raise OperationError("git is needed for three-way merges", hint="install git")
    with tempfile.TemporaryDirectory(prefix="tac-merge-") as tmp:
        paths = []
        for name, content in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(tmp) / name
            path.write_bytes(content)
            paths.append(str(path))
        ours_label, base_label, theirs_label = labels
        command = ["git", "merge-file", "-p", "-L", ours_label, "-L", base_label]
        result = subprocess.run(
            [*command, "-L", theirs_label, *paths],
            capture_output=True,
            check=False,
        )
    # Exit status: the number of conflicts (0 = clean); negative (>= 128 here) = an error.
    if result.returncode >= 128 or result.returncode < 0:
        detail = result.stderr.decode(errors="replace").strip()
        raise OperationError(f"git merge-file failed: {detail}")
    return MergeResult(result.stdout, result.returncode)
