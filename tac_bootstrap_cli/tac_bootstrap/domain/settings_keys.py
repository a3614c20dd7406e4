"""Our top-level settings beyond hooks and permissions (the status line), merged so the
user's own always wins.

A setting like ``"statusLine"`` holds one value: there is no list to add ours to. So ours is
added only where the user has none, refreshed on upgrade only while it is still exactly as we
wrote it (recorded in the manifest as canonical JSON), and taken out by ``remove`` only then.
A user's own value, or ours once they edited it, is theirs: never replaced or removed (the
merge says it skipped ours). Pure functions over the parsed root; settings_merge calls them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tac_bootstrap.domain.settings_read import canonical_json

OWNED_KEYS = ("statusLine",)
_MISSING = object()


@dataclass
class KeysMerge:
    """The root after merging our keys, what we own of them now, and what to tell the user."""

    root: dict[str, object]
    # key -> our value as we wrote it (kept while the user's own replaces it, so the
    # manifest does not change because of their edit)
    owned: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)


def ours_in(root: dict[str, object]) -> dict[str, str]:
    """Our keys in our own rendered settings, as canonical JSON."""
    return {key: canonical_json(root[key]) for key in OWNED_KEYS if key in root}


def merge_keys(
    root: dict[str, object], ours: dict[str, object], written: dict[str, str]
) -> KeysMerge:
    """``root`` (the user's file) with our keys merged. ``ours``: our rendered root ({} to
    take ours out); ``written``: our keys as the previous merge wrote them. ``root`` is
    returned unchanged (the same object) when nothing changes."""
    result = KeysMerge(root)
    for key in OWNED_KEYS:
        current = root.get(key, _MISSING)
        mine = ours.get(key, _MISSING)
        as_written = key in written and current is not _MISSING
        still_ours = as_written and canonical_json(current) == written[key]
        if mine is _MISSING:
            if still_ours:
                result.root = {k: v for k, v in result.root.items() if k != key}
            continue
        if current is _MISSING:
            result.root = {**result.root, key: mine}
            result.owned[key] = canonical_json(mine)
            if key in written:
                result.restored.append(f'"{key}": ours was missing, added back')
        elif still_ours:
            if canonical_json(current) != canonical_json(mine):
                result.root = {**result.root, key: mine}
            result.owned[key] = canonical_json(mine)
        elif canonical_json(current) != canonical_json(mine):
            result.skipped.append(f'"{key}" not added: you have your own')
            if key in written:  # still what we wrote, should the user put ours back
                result.owned[key] = written[key]
    return result
