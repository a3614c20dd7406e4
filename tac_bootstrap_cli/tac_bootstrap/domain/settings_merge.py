"""Our hooks and permissions merged into the user's Claude Code ``settings.json``, as JSON.

Most repositories that adopt the layer already have ``.claude/settings.json``. We own only
our hook entries (by command) and our permission rules in it, recorded in the manifest as
``OwnedSettings``, so a later merge (upgrade) changes or removes exactly those and ``remove``
takes them out again. Everything else is the user's: never replaced, reordered or dropped.
Pure functions, bytes in and bytes out; design notes in
``specs/existing-repositories-2/merge-library.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tac_bootstrap.domain.settings_keys import OWNED_KEYS, merge_keys, ours_in
from tac_bootstrap.domain.settings_read import (
    BOM,
    KINDS,
    SettingsMergeError,
    canonical_json,
    command_of,
    commands_of,
    entries_of,
    events_of,
    hook_commands,
    load_settings,
    path_exists,
    rules_of,
    strings_of,
)

__all__ = [
    "OwnedSettings",
    "SettingsMerge",
    "SettingsMergeError",
    "is_empty_settings",
    "merge_settings",
    "owned_in",
    "unmerge_settings",
]

_VERB = {"allow": "allow", "ask": "ask for", "deny": "deny"}
KeyPath = tuple[str, ...]


@dataclass(frozen=True)
class OwnedSettings:
    """What the layer owns inside a settings file: recorded in the manifest.

    ``created``: the containers ("permissions", "permissions.ask", "hooks", "hooks.Stop", as
    key paths) that did not exist before we merged; only those are removed when we leave them
    empty, so a user's own empty ``"ask": []`` survives an add-then-remove round trip.
    ``entries``: per event, our hook entries as we last wrote them (canonical JSON); an entry
    still exactly so is updated when ours changes (a new timeout), one the user edited is not.
    """

    hooks: dict[str, tuple[str, ...]]
    permissions: dict[str, tuple[str, ...]]
    created: tuple[KeyPath, ...] = field(default=())
    entries: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Our top-level settings (settings_keys: the status line) as we last wrote them.
    settings: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        settings = {"settings": dict(sorted(self.settings.items()))} if self.settings else {}
        return {
            "hooks": {event: list(cmds) for event, cmds in sorted(self.hooks.items()) if cmds},
            "permissions": {
                kind: list(rules) for kind, rules in sorted(self.permissions.items()) if rules
            },
            "created": [list(path) for path in sorted(set(self.created))],
            "entries": {event: list(json) for event, json in sorted(self.entries.items()) if json},
            **settings,
        }

    @classmethod
    def from_dict(cls, data: object) -> OwnedSettings:
        if not isinstance(data, dict):
            raise ValueError("owned settings: not an object")
        hooks = _string_lists(data.get("hooks", {}), "hooks")
        permissions = _string_lists(data.get("permissions", {}), "permissions")
        if not set(permissions) <= set(KINDS):
            raise ValueError(f"owned settings: permissions other than {', '.join(KINDS)}")
        created = data.get("created", [])
        if not isinstance(created, list) or not all(
            isinstance(path, list) and path and all(isinstance(key, str) for key in path)
            for path in created
        ):
            raise ValueError("owned settings: created is not a list of key paths")
        entries = _string_lists(data.get("entries", {}), "entries")
        paths = tuple(sorted({tuple(path) for path in created}))
        settings = data.get("settings", {})
        if not isinstance(settings, dict) or not all(isinstance(v, str) for v in settings.values()):
            raise ValueError("owned settings: settings is not an object of strings")
        return cls(hooks, permissions, paths, entries, {str(k): v for k, v in settings.items()})


NOTHING_OWNED = OwnedSettings({}, {})


def _string_lists(value: object, name: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict) or not all(
        isinstance(items, list) and all(isinstance(item, str) for item in items)
        for items in value.values()
    ):
        raise ValueError(f"owned settings: {name} is not an object of string lists")
    return {str(key): tuple(items) for key, items in value.items()}


@dataclass(frozen=True)
class SettingsMerge:
    content: bytes  # the merged file
    owned: OwnedSettings  # what we own in it now
    # One line each: an entry of ours NOT added because the user chose otherwise (or, with
    # "disableAllHooks": true, that our hooks are there but will not run).
    skipped: tuple[str, ...] = ()
    # One line each: an entry we owned that was missing (the user deleted it) and is added back
    # (to keep one of our rules out, the user moves it to another list: that choice is kept).
    restored: tuple[str, ...] = ()


def owned_in(ours: bytes) -> OwnedSettings:
    """Everything in our own rendered settings (what we own in a file we created)."""
    root = load_settings(ours, ours=True).root
    hooks = {event: cmds for event, cmds in hook_commands(root).items() if cmds}
    permissions = {kind: rules for kind, rules in rules_of(root).items() if rules}
    created: list[KeyPath] = []
    if "permissions" in root:
        created += [("permissions",), *(("permissions", kind) for kind in permissions)]
    if "hooks" in root:
        created += [("hooks",), *(("hooks", event) for event in events_of(root))]
    entries = {event: _our_entries(groups) for event, groups in events_of(root).items()}
    created_paths = tuple(sorted(created))
    return OwnedSettings(
        hooks, permissions, created_paths, _canonical_entries(entries), ours_in(root)
    )


def merge_settings(
    current: bytes | None, ours: bytes, owned: OwnedSettings | None
) -> SettingsMerge:
    """Our hooks and permissions merged into the user's file. current None: the file does not
    exist -> content is `ours` byte for byte. owned: what we owned after the previous merge
    (None on the first merge)."""
    ours_root = load_settings(ours, ours=True).root
    if current is None or not current.removeprefix(BOM).strip():
        return SettingsMerge(ours, owned_in(ours))
    loaded = load_settings(current, ours=False)
    previous = owned if owned is not None else NOTHING_OWNED
    merged = _Merge(loaded.root, previous)
    merged.permissions(rules_of(ours_root))
    merged.hooks(events_of(ours_root))
    merged.keys(ours_root)
    if merged.root.get("disableAllHooks") is True and merged.owned_hooks:
        merged.skipped.append('hooks added but not run: you set "disableAllHooks": true')
    return SettingsMerge(
        current if merged.root is loaded.root else loaded.write(merged.root),
        merged.owned(),
        tuple(merged.skipped),
        tuple(merged.restored),
    )


def unmerge_settings(current: bytes, owned: OwnedSettings) -> bytes:
    """The user's file with everything we own taken out (for `remove`)."""
    loaded = load_settings(current, ours=False)
    merged = _Merge(loaded.root, owned)
    merged.permissions({kind: () for kind in KINDS})
    merged.hooks({})
    merged.keys({})
    return current if merged.root is loaded.root else loaded.write(merged.root)


def is_empty_settings(content: bytes) -> bool:
    """True for a settings file with nothing left in it (``{}``): the caller may delete it."""
    try:
        return not load_settings(content, ours=False).root
    except SettingsMergeError:
        return False


# -- the merge: copy-on-write, so every container we did not change is written back as read --


class _Merge:
    def __init__(self, root: dict[str, object], previous: OwnedSettings) -> None:
        self.root = root
        self.previous = previous
        self.created: set[KeyPath] = set(previous.created)
        self.owned_hooks: dict[str, tuple[str, ...]] = {}
        self.owned_entries: dict[str, tuple[str, ...]] = {}
        self.owned_rules: dict[str, tuple[str, ...]] = {}
        self.skipped: list[str] = []
        self.restored: list[str] = []
        self.owned_settings: dict[str, str] = {}

    def owned(self) -> OwnedSettings:
        existing = {path for path in self.created if path_exists(self.root, path)}
        created = tuple(sorted(existing))
        return OwnedSettings(
            self.owned_hooks, self.owned_rules, created, self.owned_entries, self.owned_settings
        )

    def keys(self, ours_root: dict[str, object]) -> None:
        """Our top-level keys (the status line): a user's own always wins (settings_keys)."""
        ours = {key: _plain(ours_root[key]) for key in OWNED_KEYS if key in ours_root}
        merged = merge_keys(self.root, ours, self.previous.settings)
        self.root = merged.root
        self.owned_settings = merged.owned
        self.skipped += merged.skipped
        self.restored += merged.restored

    def set_key(self, key: str, old: object, new: dict[str, object]) -> None:
        """Put ``new`` at top-level ``key`` (created at the end; dropped if we emptied it)."""
        if new is old or (old is None and not new):
            return
        if not new and (key,) in self.created:
            self.root = {k: v for k, v in self.root.items() if k != key}
        else:
            if old is None:
                self.created.add((key,))
            self.root = {**self.root, key: new}

    def permissions(self, ours: dict[str, tuple[str, ...]]) -> None:
        old = self.root.get("permissions")
        perms: dict[str, object] = old if isinstance(old, dict) else {}
        lists = {kind: list(strings_of(perms.get(kind))) for kind in KINDS if kind in perms}
        for kind, rules in self.previous.permissions.items():
            stale = set(rules) - set(ours.get(kind, ()))
            if kind in lists and stale:
                lists[kind] = [rule for rule in lists[kind] if rule not in stale]
        owned: dict[str, list[str]] = {kind: [] for kind in KINDS}
        for kind in KINDS:
            for rule in ours.get(kind, ()):
                self.place_rule(kind, rule, lists, owned)
        new = dict(perms)
        for kind, kept in lists.items():
            if kind in perms and kept == perms[kind]:
                continue
            if not kept and ("permissions", kind) in self.created:
                del new[kind]
                continue
            if kind not in perms:
                self.created.add(("permissions", kind))
            new[kind] = kept
        changed = list(new) != list(perms) or any(new[k] is not perms[k] for k in new)
        self.set_key("permissions", old, new if changed else perms)
        self.owned_rules = {kind: tuple(rules) for kind, rules in owned.items() if rules}

    def place_rule(
        self, kind: str, rule: str, lists: dict[str, list[str]], owned: dict[str, list[str]]
    ) -> None:
        if rule in lists.get(kind, ()):
            # Already there: ours only if we put it there; the user's rule stays theirs.
            if rule in self.previous.permissions.get(kind, ()):
                owned[kind].append(rule)
            return
        chosen = next((other for other in KINDS if rule in lists.get(other, ())), None)
        if chosen is not None:
            self.skipped.append(f'{kind} "{rule}" not added: you {_VERB[chosen]} it')
            return
        lists.setdefault(kind, []).append(rule)
        owned[kind].append(rule)
        if rule in self.previous.permissions.get(kind, ()):
            self.restored.append(f'{kind} "{rule}": it was missing, added back')

    def hooks(self, ours: dict[str, list[dict[str, object]]]) -> None:
        old = self.root.get("hooks")
        events: dict[str, object] = old if isinstance(old, dict) else {}
        ours_commands = {event: commands_of(groups) for event, groups in ours.items()}
        new = dict(events)
        for event, commands in self.previous.hooks.items():
            stale = set(commands) - set(ours_commands.get(event, ()))
            groups = new.get(event)
            if stale and isinstance(groups, list):
                new[event] = _without_commands(groups, stale)
        ours_entries = {event: _our_entries(groups) for event, groups in ours.items()}
        for event, by_command in ours_entries.items():
            groups = new.get(event)
            as_written = set(self.previous.entries.get(event, ()))
            if as_written and isinstance(groups, list):
                new[event] = _refreshed(groups, by_command, as_written)
        for event, our_groups in ours.items():
            groups = new.get(event)
            present = set(commands_of(groups if isinstance(groups, list) else []))
            added = _missing_groups(our_groups, present)
            if not added:
                continue
            back = set(commands_of(added)) & set(self.previous.hooks.get(event, ()))
            if back:
                what = (
                    "our hook: it was" if len(back) == 1 else f"{len(back)} of our hooks: they were"
                )
                self.restored.append(f"{event}: {what} missing, added back")
            if isinstance(groups, list):
                new[event] = [*groups, *added]
            else:
                new[event] = added
                self.created.add(("hooks", event))
        for event in list(new):
            if new[event] == [] and ("hooks", event) in self.created:
                del new[event]
        changed = list(new) != list(events) or any(new[k] is not events[k] for k in new)
        self.set_key("hooks", old, new if changed else events)
        self.owned_hooks = {event: cmds for event, cmds in ours_commands.items() if cmds}
        self.owned_entries = _canonical_entries(ours_entries)


def _our_entries(groups: list[dict[str, object]]) -> dict[str, object]:
    """Our hook entries of one event by command (the first one of a command)."""
    by_command: dict[str, object] = {}
    for group in groups:
        for entry in entries_of(group):
            command = command_of(entry)
            if command is not None:
                by_command.setdefault(str(command), entry)
    return by_command


def _canonical_entries(entries: dict[str, dict[str, object]]) -> dict[str, tuple[str, ...]]:
    return {
        event: tuple(canonical_json(entry) for entry in by_command.values())
        for event, by_command in entries.items()
        if by_command
    }


def _refreshed(groups: list[object], ours: dict[str, object], as_written: set[str]) -> list[object]:
    """``groups`` with each entry of ours that is still as we wrote it replaced by ours now."""

    def refreshed(entry: object) -> object:
        command = command_of(entry)
        if command is None or command not in ours:
            return entry
        written = canonical_json(entry)
        if written not in as_written or written == canonical_json(ours[command]):
            return entry
        return _plain(ours[command])

    result: list[object] = []
    for group in groups:
        entries = entries_of(group)
        updated = [refreshed(entry) for entry in entries]
        if isinstance(group, dict) and not all(map(_same, updated, entries)):
            result.append({**group, "hooks": updated})
        else:
            result.append(group)
    return groups if all(map(_same, result, groups)) else result


def _without_commands(groups: list[object], commands: set[str]) -> list[object]:
    """``groups`` without the hook entries running ``commands`` (a group we emptied goes)."""
    result: list[object] = []
    for group in groups:
        entries = group.get("hooks") if isinstance(group, dict) else None
        if not isinstance(group, dict) or not isinstance(entries, list):
            result.append(group)
            continue
        kept = [entry for entry in entries if command_of(entry) not in commands]
        if len(kept) == len(entries):
            result.append(group)
        elif kept:
            result.append({**group, "hooks": kept})
    return groups if len(result) == len(groups) and all(map(_same, result, groups)) else result


def _same(a: object, b: object) -> bool:
    return a is b


def _missing_groups(our_groups: list[dict[str, object]], present: set[str]) -> list[object]:
    """New groups shaped like ours holding only our hook entries missing from the event."""
    added: list[object] = []
    for group in our_groups:
        entries = [
            _plain(entry)
            for entry in entries_of(group)
            if (command := command_of(entry)) is not None and command not in present
        ]
        for entry in entries:
            present.add(str(command_of(entry)))
        if entries:
            added.append({k: entries if k == "hooks" else _plain(v) for k, v in group.items()})
    return added


def _plain(value: object) -> object:
    """A deep copy of one of our values, its strings written in the user's style."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value
