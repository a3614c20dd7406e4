"""The repository-root .gitignore lines the agentic layer needs (used by `add-agentic`).

An existing .gitignore belongs to the user: its bytes are kept exactly as they are and only the
missing lines are appended, under one comment header. A missing .gitignore is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from tac_bootstrap.domain.config import TacConfig
from tac_bootstrap.infrastructure.filesystem import atomic_write, confined_path
from tac_bootstrap.infrastructure.manifest_store import STATE_DIR

GITIGNORE = ".gitignore"
HEADER = "# tac-bootstrap agentic layer"


class GitignoreAction(str, Enum):
    CREATE = "create"  # there was no .gitignore
    APPEND = "append"  # some lines were missing
    UNCHANGED = "unchanged"  # every line is already there
    SKIPPED = "skipped"  # not a regular file (a directory, a symlink): left alone


@dataclass(frozen=True)
class GitignoreUpdate:
    action: GitignoreAction
    lines: tuple[str, ...]  # the lines added (or, in a dry run, that would be)
    detail: str = ""
    path: str = GITIGNORE

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "action": self.action.value,
            "lines": list(self.lines),
            **({"detail": self.detail} if self.detail else {}),
        }


def required_lines(config: TacConfig) -> list[str]:
    """What git must ignore at the root: local state, run logs and the database files."""
    return [
        f"{STATE_DIR}/",
        f"{config.paths.logs_dir}/",
        "*.db-wal",
        "*.db-shm",
        config.default_database_path,
    ]


def _pattern(line: str) -> str | None:
    """A .gitignore line reduced to what it matches at the root, for 'is it already there?'.

    '/logs/', 'logs/' and 'logs' all keep logs/ out of git; comments and blanks match nothing.
    """
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    return text.strip("/") or None


def update_gitignore(root: Path, lines: list[str], *, dry_run: bool) -> GitignoreUpdate:
    """Append the missing ``lines`` to ``root/.gitignore`` (create it if absent).

    Existing bytes are never changed: the result is the old content, a newline if it lacked a
    final one, a blank line, the header and the missing lines, in the file's own line ending.
    """
    path = root / GITIGNORE  # checked before confined_path, which refuses escaping symlinks
    if path.is_symlink() or (path.exists() and not path.is_file()):
        kind = "a symlink" if path.is_symlink() else "not a regular file"
        return GitignoreUpdate(
            GitignoreAction.SKIPPED,
            tuple(lines),
            f"it is {kind}; add these lines to it yourself",
        )
    path = confined_path(root, GITIGNORE)
    if not path.exists():
        if not dry_run:
            atomic_write(path, "\n".join([HEADER, *lines, ""]).encode("utf-8"))
        return GitignoreUpdate(GitignoreAction.CREATE, tuple(lines))
    data = path.read_bytes()
    text = data.decode("utf-8", errors="surrogateescape")
    present = {_pattern(line) for line in text.splitlines()}
    missing = [line for line in lines if _pattern(line) not in present]
    if not missing:
        return GitignoreUpdate(GitignoreAction.UNCHANGED, ())
    newline = "\r\n" if "\r\n" in text else "\n"
    suffix = ""
    if text and not text.endswith(("\n", "\r")):
        suffix += newline  # finish the user's last line first
    if text.strip() and not (text + suffix).endswith(newline * 2):
        suffix += newline  # a blank line before our block
    suffix += newline.join([HEADER, *missing]) + newline
    if not dry_run:
        atomic_write(path, data + suffix.encode("utf-8"))
    return GitignoreUpdate(GitignoreAction.APPEND, tuple(missing))
