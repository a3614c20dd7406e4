"""What `remove` does to each file the manifest lists: the decisions, no writes.

A whole file we generated is deleted when it still is as generated (sha256 in the manifest);
one the user edited is kept and listed, or with ``--force`` backed up and deleted. A file we
share with the user (settings.json, CLAUDE.md) goes back to the user's own bytes when it is
still as we last wrote it (local copy in .tac_bootstrap/original/, else git history); a file
we created is deleted; otherwise only our part is taken out (backup first), and a file we
created that is then empty is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from tac_bootstrap.domain.manifest import ManifestEntry, MergeKind, sha256_of
from tac_bootstrap.domain.markdown_section import (
    SectionError,
    canonical_section,
    section_of,
    without_section,
)
from tac_bootstrap.domain.settings_merge import (
    OwnedSettings,
    SettingsMergeError,
    is_empty_settings,
    unmerge_settings,
)
from tac_bootstrap.infrastructure.filesystem import confined_path
from tac_bootstrap.infrastructure.manifest_store import recover_original


class Removal(str, Enum):
    DELETE = "delete"  # ours and unedited (or --force, backup kept): deleted
    RESTORE = "restore"  # a shared file given back as it was before our first merge
    UNMERGE = "unmerge"  # our part taken out of the user's file (backup kept)
    MOVE = "move"  # run data moved into the backup (--purge-database)
    KEEP = "keep"  # left in place (detail says why)
    GONE = "gone"  # already absent: nothing to do


@dataclass
class RemoveItem:
    """One path and what remove does (or, in a dry run, would do) to it."""

    path: str  # relative to the project; a directory removed whole ends with "/"
    action: Removal
    detail: str = ""
    content: bytes | None = None  # RESTORE / UNMERGE: what the file becomes
    backup: bool = False  # the current content is saved first
    edited: bool = False  # KEEP: a file of ours the user edited (the layer is not all gone)
    backup_path: str | None = None  # where the backup went, once applied
    database: bool = False  # the SQLite database: backed up through its backup API

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "action": self.action.value,
            **({"detail": self.detail} if self.detail else {}),
            **({"backup": self.backup_path} if self.backup_path else {}),
            **({"edited": True} if self.edited else {}),
        }


FORCE_HINT = "`tac-bootstrap remove --force` removes it (a backup is kept)"


def _edited(path: str, reason: str, force: bool, *, remove: Removal = Removal.DELETE) -> RemoveItem:
    if force:
        return RemoveItem(path, remove, f"{reason}; --force (backup kept)", backup=True)
    return RemoveItem(path, Removal.KEEP, f"{reason}: kept; {FORCE_HINT}", edited=True)


def plan_entry(root: Path, path: str, entry: ManifestEntry, *, force: bool) -> RemoveItem:
    """What remove does to generated file ``path`` (recorded as ``entry``)."""
    if (root / path).is_symlink():
        return RemoveItem(path, Removal.KEEP, "a symlink now, not ours: left alone")
    full = confined_path(root, path)  # a manifest naming a path outside is refused: no change
    if full.exists() and not full.is_file():
        return RemoveItem(path, Removal.KEEP, "not a regular file any more: left alone")
    if not full.exists():
        return RemoveItem(path, Removal.GONE, "already deleted")
    current = full.read_bytes()
    if entry.merge is MergeKind.WHOLE:
        if sha256_of(current) == entry.sha256:
            return RemoveItem(path, Removal.DELETE)
        return _edited(path, "you edited it", force)
    return _shared(root, path, entry, current, force)


def _shared(root: Path, path: str, entry: ManifestEntry, current: bytes, force: bool) -> RemoveItem:
    original = None
    if entry.original is not None:
        original = recover_original(root, path, entry.original)
    if sha256_of(current) == entry.sha256:  # as we last wrote it
        if entry.original is None:
            return RemoveItem(path, Removal.DELETE, "we created it; unedited")
        if original is not None:
            return RemoveItem(path, Removal.RESTORE, "your file as it was", content=original)
    try:
        rest = _without_ours(entry, current)
    except (SettingsMergeError, SectionError, ValueError) as exc:
        reason = f"cannot take the layer's part out: {_message(exc)}"
        if not force:
            return RemoveItem(path, Removal.KEEP, f"{reason}; kept; {FORCE_HINT}", edited=True)
        if original is not None:
            detail = f"{reason}; --force: your file as it was (backup kept)"
            return RemoveItem(path, Removal.RESTORE, detail, content=original, backup=True)
        if entry.original is None:
            return RemoveItem(path, Removal.DELETE, f"{reason}; --force (backup kept)", backup=True)
        return RemoveItem(
            path, Removal.KEEP, f"{reason}; your original cannot be recovered: kept", edited=True
        )
    if rest is None:  # the user edited inside our CLAUDE.md section
        reason = "you edited inside the tac-bootstrap section"
        if not force:
            return RemoveItem(path, Removal.KEEP, f"{reason}: kept; {FORCE_HINT}", edited=True)
        item = _rest(path, entry, current, without_section(current), original)
        item.detail = f"{reason}; --force: {item.detail}"
        item.backup = True
        return item
    return _rest(path, entry, current, rest, original)


def _rest(
    path: str, entry: ManifestEntry, current: bytes, rest: bytes, original: bytes | None
) -> RemoveItem:
    """The file without our part: the user's original, nothing left, or the user's file."""
    if entry.original is None and _empty(entry, rest):
        return RemoveItem(path, Removal.DELETE, "we created it; nothing else in it", backup=True)
    if original is not None and rest == original:  # edited since our last write: backed up
        detail = "your file as it was (backup kept)"
        return RemoveItem(path, Removal.RESTORE, detail, content=original, backup=True)
    if rest == current:
        return RemoveItem(path, Removal.KEEP, "nothing of the layer's left in it")
    detail = "the layer's part taken out, the rest is yours (backup kept)"
    if entry.original is not None and original is None:
        detail += "; your file as it was before could not be found (no local copy, not in git)"
    return RemoveItem(path, Removal.UNMERGE, detail, content=rest, backup=True)


def _empty(entry: ManifestEntry, rest: bytes) -> bool:
    if entry.merge is MergeKind.JSON:
        return is_empty_settings(rest)
    return not rest.strip()


def _without_ours(entry: ManifestEntry, current: bytes) -> bytes | None:
    """The file without our part; None for a section the user edited inside."""
    if entry.merge is MergeKind.JSON:
        if entry.owned is None:
            raise ValueError("the manifest does not record what the layer owns in it")
        return unmerge_settings(current, OwnedSettings.from_dict(entry.owned))
    present = section_of(current)
    if present is None:
        return current
    recorded = (entry.owned or {}).get("section")
    if recorded not in (sha256_of(present), sha256_of(canonical_section(present))):
        return None
    return without_section(current)


def _message(exc: Exception) -> str:
    message = getattr(exc, "message", "") or str(exc)
    return str(message)
