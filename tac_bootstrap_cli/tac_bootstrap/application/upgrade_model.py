"""What an upgrade found for each file: the change it makes and the plan of all of them.

Kept apart from upgrade_service (which classifies and applies) so the CLI and the API can
describe a plan without the machinery that builds it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from tac_bootstrap.application.proposals import PROPOSAL_SUFFIX
from tac_bootstrap.domain.manifest import ManifestEntry

OURS_MARKER = b"<<<<<<< your version"


def shallow_detail(relative: str, entry: ManifestEntry) -> str:
    return (
        f"your edit kept; the version generated last time (git blob {entry.blob[:12]}) is not "
        "in this shallow clone, so it cannot be merged: run `git fetch --unshallow` (or "
        "`git fetch --deepen 50`) and upgrade again, or merge by hand the new version written "
        f"beside it as {relative}{PROPOSAL_SUFFIX}"
    )


def has_conflict_markers(content: bytes) -> bool:
    """True while a file still holds the markers a previous upgrade wrote."""
    return content.startswith(OURS_MARKER) or b"\n" + OURS_MARKER in content


class Change(str, Enum):
    UNCHANGED = "unchanged"  # already what the templates produce
    UPDATE = "update"  # unedited file, new template content
    CREATE = "create"  # new template file
    KEEP = "keep"  # user edit kept; the template did not change
    MERGE = "merge"  # user edit and template change merged cleanly
    CONFLICT = "conflict"  # merged with conflict markers, or a foreign file in the way
    DELETED = "deleted"  # the user deleted it: stays deleted
    REMOVE = "remove"  # the templates no longer produce it and it is unedited
    OBSOLETE = "obsolete"  # the templates no longer produce it, but it was edited: kept

    @property
    def writes(self) -> bool:
        return self in (Change.UPDATE, Change.CREATE, Change.MERGE, Change.CONFLICT)


@dataclass
class UpgradeItem:
    path: str
    change: Change
    detail: str = ""
    write: bytes | None = None  # content to write (UPDATE/CREATE/MERGE/CONFLICT with markers)
    generated: bytes | None = None  # the new render, recorded as the next base
    source: str = ""
    executable: bool = False
    current: bytes | None = None  # the file on disk now, for diffs and backups
    record: ManifestEntry | None = None  # a shared file's manifest entry once applied
    original: bytes | None = None  # the user's file before our first merge into it

    def diff(self) -> str:
        before = (self.current or b"").decode("utf-8", errors="replace").splitlines(keepends=True)
        after_bytes = b"" if self.change is Change.REMOVE else (self.write or b"")
        after = after_bytes.decode("utf-8", errors="replace").splitlines(keepends=True)
        return "".join(difflib.unified_diff(before, after, f"a/{self.path}", f"b/{self.path}", n=2))


@dataclass
class UpgradePlan:
    root: Path
    items: list[UpgradeItem]
    had_manifest: bool

    def count(self, change: Change) -> int:
        return sum(1 for item in self.items if item.change is change)

    @property
    def conflicts(self) -> list[UpgradeItem]:
        return [item for item in self.items if item.change is Change.CONFLICT]

    @property
    def pending(self) -> list[UpgradeItem]:
        """Items that would change something on disk."""
        return [
            i
            for i in self.items
            if (i.change.writes and i.write is not None) or i.change is Change.REMOVE
        ]

    def summary(self) -> dict[str, int]:
        return {change.value: self.count(change) for change in Change}
