"""Files the layer shares with the user: our part merged into their own file.

`.claude/settings.json` is merged as JSON (our hook entries and permission rules, the rest is
theirs) and `CLAUDE.md` gets a delimited section; see domain/settings_merge.py and
domain/markdown_section.py for the rules. Every command that writes or checks the layer (the
plan executor behind init, add-agentic and render; upgrade; doctor) decides a shared file's
state here, so they agree: merging our part in never needs ``--force`` (the user's content is
kept, and a backup is made before each write), while a file that cannot be merged (invalid
JSON, broken markers, an edit inside our section) is a conflict that ``--force`` resolves by
replacing the file or the section, again with a backup.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from tac_bootstrap.domain.manifest import Fingerprint, ManifestEntry, MergeKind
from tac_bootstrap.domain.markdown_section import (
    SectionError,
    canonical_section,
    same_section,
    section_of,
    with_section,
    without_section,
)
from tac_bootstrap.domain.plan import FileOperation, Status
from tac_bootstrap.domain.settings_merge import (
    OwnedSettings,
    SettingsMergeError,
    merge_settings,
    owned_in,
    unmerge_settings,
)
from tac_bootstrap.infrastructure.manifest_store import recover_base


@dataclass(frozen=True)
class SharedOutcome:
    """What a shared file should become, and what the manifest records once it does."""

    status: Status  # CREATE, IDENTICAL, MERGE, CONFLICT or OVERWRITE
    content: bytes  # the file's content after applying (the current content for IDENTICAL)
    entry: ManifestEntry | None  # recorded when applied (None: keep the old entry)
    detail: str = ""
    original: bytes | None = None  # the user's file before our first merge: kept for `remove`
    notes: tuple[str, ...] = ()  # entries of ours left out because the user chose otherwise


def evaluate_shared(
    op: FileOperation,
    current: bytes | None,
    ours: bytes,
    entry: ManifestEntry | None,
    *,
    previous_ours: bytes | None = None,
    force: bool = False,
) -> SharedOutcome:
    """The state of shared file ``op``: ``current`` is on disk (None: absent), ``ours`` what the
    templates produce, ``entry`` the manifest's record. ``previous_ours`` is what we generated
    last time, for a manifest written before we recorded ownership (format 1)."""
    if op.merge is MergeKind.JSON:
        return _json(op, current, ours, entry, previous_ours, force)
    if op.merge is MergeKind.SECTION:
        return _section(op, current, ours, entry, force)
    raise ValueError(f"{op.path} is not a shared file")


def evaluate_shared_in(
    root: Path,
    op: FileOperation,
    current: bytes | None,
    ours: bytes,
    entry: ManifestEntry | None,
    *,
    force: bool = False,
) -> SharedOutcome:
    """``evaluate_shared`` for the project at ``root``: a format-1 manifest's whole-file
    entry gets what we generated then (the base) as what we owned."""
    previous = None
    if entry is not None and entry.merge is MergeKind.WHOLE:
        previous = recover_base(root, op.path, entry)
    return evaluate_shared(op, current, ours, entry, previous_ours=previous, force=force)


def _first_original(current: bytes, entry: ManifestEntry | None) -> bytes | None:
    """The user's own bytes when this is our first merge into their file, else None."""
    if entry is None:
        return current  # their file, never touched by us
    return None  # we created it (a whole-file entry of an older version) or merged before


def _entry(
    op: FileOperation,
    content: bytes,
    entry: ManifestEntry | None,
    owned: dict[str, object],
    original: bytes | None,
) -> ManifestEntry:
    fingerprint = Fingerprint.of(content)
    kept: Fingerprint | None
    if original is not None:
        kept = Fingerprint.of(original)
    elif entry is not None and entry.merge is op.merge:
        kept = entry.original
    else:
        kept = None
    return ManifestEntry(
        fingerprint.sha256,
        fingerprint.blob,
        op.source,
        merge=op.merge,
        owned=owned,
        original=kept,
    )


def _unchanged(
    op: FileOperation,
    current: bytes,
    entry: ManifestEntry | None,
    owned: dict[str, object],
    adopted: bytes | None,
) -> ManifestEntry:
    """The record of a shared file we did not need to write."""
    if entry is not None and entry.merge is op.merge:
        return replace(entry, owned=owned, source=op.source)
    if entry is not None:  # a format-1 whole-file entry: we created the file
        return _entry(op, current, None, owned, None)
    return _entry(op, current, None, owned, adopted)


def _replace(
    op: FileOperation,
    current: bytes,
    ours: bytes,
    entry: ManifestEntry | None,
    owned: dict[str, object],
    problem: str,
    force: bool,
) -> SharedOutcome:
    """A file we cannot merge into: a conflict, or with --force our version (backup kept)."""
    if force:
        return SharedOutcome(
            Status.OVERWRITE,
            ours,
            _entry(op, ours, entry, owned, _first_original(current, entry)),
            f"{problem}; --force",
            original=_first_original(current, entry),
        )
    return SharedOutcome(Status.CONFLICT, current, None, problem)


def _json(
    op: FileOperation,
    current: bytes | None,
    ours: bytes,
    entry: ManifestEntry | None,
    previous_ours: bytes | None,
    force: bool,
) -> SharedOutcome:
    everything = owned_in(ours).to_dict()
    if current is None:
        return SharedOutcome(Status.CREATE, ours, _entry(op, ours, entry, everything, None))
    previous = _previous_settings(entry, previous_ours)
    try:
        merged = merge_settings(current, ours, previous)
    except SettingsMergeError as exc:
        problem = f"cannot merge the layer's hooks into it: {exc.message} ({exc.hint})"
        return _replace(op, current, ours, entry, everything, problem, force)
    owned = merged.owned.to_dict()
    if merged.content == current:
        # Nothing to write. The entry keeps the content as we last wrote it (so `remove` can
        # tell the user's later edits); a file that already held our part is adopted, its
        # original being the file without our part.
        adopted = unmerge_settings(current, merged.owned) if entry is None else None
        record = _unchanged(op, current, entry, owned, adopted)
        return SharedOutcome(
            Status.IDENTICAL, current, record, original=adopted, notes=merged.skipped
        )
    record = _entry(op, merged.content, entry, owned, _first_original(current, entry))
    return SharedOutcome(
        Status.MERGE,
        merged.content,
        record,
        "the layer's hooks and permissions merged into your settings (yours kept)",
        original=_first_original(current, entry),
        notes=(*merged.skipped, *merged.restored),
    )


def _previous_settings(
    entry: ManifestEntry | None, previous_ours: bytes | None
) -> OwnedSettings | None:
    """What we owned after the last merge: recorded, or (format 1) all we generated then."""
    if entry is None:
        return None
    if entry.merge is MergeKind.JSON and entry.owned is not None:
        try:
            return OwnedSettings.from_dict(entry.owned)
        except ValueError:
            return None
    if previous_ours is not None:
        try:
            return owned_in(previous_ours)
        except SettingsMergeError:
            return None
    return None


def _section(
    op: FileOperation,
    current: bytes | None,
    ours: bytes,
    entry: ManifestEntry | None,
    force: bool,
) -> SharedOutcome:
    section = section_of(ours)
    if section is None:  # pragma: no cover - the template always has its markers
        raise ValueError(f"{op.source} renders no tac-bootstrap section")
    # Hashed and compared as rendered (LF): the file may hold it in CRLF, or unfinished.
    owned: dict[str, object] = {"section": Fingerprint.of(canonical_section(section)).sha256}
    if current is None:
        return SharedOutcome(Status.CREATE, ours, _entry(op, ours, entry, owned, None))
    try:
        present = section_of(current)
    except SectionError as exc:
        return _replace(op, current, ours, entry, owned, f"{exc.message} ({exc.hint})", force)
    original = _first_original(current, entry)
    if same_section(present, section):
        adopted = without_section(current) if entry is None else None
        record = _unchanged(op, current, entry, owned, adopted)
        return SharedOutcome(Status.IDENTICAL, current, record, original=adopted)
    recorded = (entry.owned or {}).get("section") if entry is not None else None
    edited = present is not None and Fingerprint.of(canonical_section(present)).sha256 != recorded
    if edited and not force:
        return SharedOutcome(
            Status.CONFLICT,
            current,
            None,
            "you edited inside the tac-bootstrap section: move your text outside its markers "
            "(the section is regenerated), or use --force to replace the section (a backup is "
            "kept)",
        )
    merged = with_section(current, section)
    detail = "the layer's section added" if present is None else "the layer's section updated"
    return SharedOutcome(
        Status.MERGE,
        merged,
        _entry(op, merged, entry, owned, original),
        f"{detail} (the rest of the file is yours, kept)",
        original=original,
    )
