"""A user's Claude Code settings file read as Claude Code reads it, or refused saying where.

Strict JSON (no comments, no trailing commas, no NaN), UTF-8, no duplicate keys (Claude Code
would silently take the last one), and the shapes of the parts we merge into ("hooks",
"permissions"). Every refusal is a SettingsMergeError whose message is one line naming the
place (line and column, or the key path) and whose hint says how to fix it. Then the
accessors the merge reads a checked document with (hook entries by command, rules per list).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from tac_bootstrap.domain.errors import OperationError
from tac_bootstrap.domain.json_layout import (
    Document,
    JsonPath,
    JsonTextError,
    Number,
    line_column,
    parse,
)

KINDS = ("allow", "ask", "deny")
BOM = b"\xef\xbb\xbf"


class SettingsMergeError(OperationError, ValueError):
    """The user's file cannot be merged as JSON: says where (line, column or key path) and how
    to fix it. ``message`` is one line and does not name the file (the caller does)."""


@dataclass
class LoadedSettings:
    """A settings file read: its BOM (kept on write) and its document."""

    bom: bytes
    document: Document

    @property
    def root(self) -> dict[str, object]:
        value = self.document.value
        assert isinstance(value, dict)
        return value

    def write(self, root: dict[str, object]) -> bytes:
        return self.bom + self.document.write(root).encode("utf-8")


def load_settings(content: bytes, *, ours: bool) -> LoadedSettings:
    """The file read as Claude Code reads it; SettingsMergeError (``ours``: our own file, a bug)
    where it cannot be."""
    bom = BOM if content.startswith(BOM) else b""
    body = content[len(bom) :]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        line = body.count(b"\n", 0, error.start) + 1
        column = error.start - body.rfind(b"\n", 0, error.start)
        raise _error(
            f"not UTF-8 at line {line}, column {column} (byte {error.start + len(bom)})",
            "save the file as UTF-8 (Claude Code reads settings as UTF-8)",
            ours,
        ) from None
    try:
        document = parse(text)
    except JsonTextError as error:
        raise _syntax_error(text, error, ours) from None
    _check_shapes(document, ours)
    return LoadedSettings(bom, document)


def _error(message: str, hint: str, ours: bool) -> SettingsMergeError:
    if ours:
        return SettingsMergeError(f"the layer's own settings: {message}", "report this bug")
    return SettingsMergeError(message, hint)


def _syntax_error(text: str, error: JsonTextError, ours: bool) -> SettingsMergeError:
    line, column = line_column(text, error.pos)
    where = f"line {line}, column {column}"
    if error.first_pos is not None:
        first_line, _ = line_column(text, error.first_pos)
        return _error(
            f'duplicate key "{_dotted(error.path)}" at {where} (first at line {first_line}):'
            " Claude Code would silently use the last one",
            "keep one of the two (merge their contents into one), then run the command again",
            ours,
        )
    reason, hint = error.reason, "fix the JSON there (Claude Code reads strict JSON)"
    before = text[: error.pos].rstrip()
    if text.startswith(("//", "/*", "#"), error.pos):
        reason = "a comment (comments are not JSON)"
        hint = "Claude Code reads strict JSON: remove the comments (// and /* */)"
    elif reason.startswith("Expecting property name") and text[error.pos : error.pos + 1].isalpha():
        hint = "JSON keys take double quotes (JSON5 or JavaScript syntax is not read)"
    elif text[error.pos : error.pos + 1] in ("}", "]") and before.endswith(","):
        reason = f"a trailing comma before '{text[error.pos]}'"
        hint = "Claude Code reads strict JSON: remove the comma after the last item"
    elif text.startswith("'", error.pos):
        hint = "JSON strings and keys take double quotes, not single ones"
    elif reason == "Extra data":
        reason = "more text after the closing brace"
        hint = "the file must hold one JSON object: remove what follows its closing brace"
    elif error.pos >= len(text):
        reason = f"the text ends early: {reason}"
        hint = "close every bracket and string (the file may have been cut short)"
    return _error(
        f"not valid JSON at {where}: {reason}", f"{hint}, then run the command again", ours
    )


def _dotted(path: JsonPath) -> str:
    shown = ""
    for key in path:
        shown += f"[{key}]" if isinstance(key, int) else (f".{key}" if shown else key)
    return shown


def _kind_of(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Number):
        return "a number"
    return "null" if value is None else "true/false"


def _check_shapes(document: Document, ours: bool) -> None:
    """Refuse what Claude Code would reject, before touching anything: named by key path."""

    def expect(path: JsonPath, value: object, kind: type, shown: str) -> None:
        if isinstance(value, kind):
            return
        line, _ = line_column(document.text, document.positions.get(path, 0))
        place = f'"{_dotted(path)}"' if path else "the top level"
        raise _error(
            f"{place} is {_kind_of(value)}, not {shown} (line {line})",
            f"make it {shown} as Claude Code expects (see its settings documentation),"
            " then run the command again",
            ours,
        )

    root = document.value
    expect((), root, dict, "an object")
    assert isinstance(root, dict)
    if "hooks" in root:
        hooks = root["hooks"]
        expect(("hooks",), hooks, dict, "an object")
        for event, groups in hooks.items():
            expect(("hooks", event), groups, list, "a list")
            for index, group in enumerate(groups):
                path: JsonPath = ("hooks", event, index)
                expect(path, group, dict, "an object")
                if "hooks" in group:
                    expect((*path, "hooks"), group["hooks"], list, "a list")
                    for number, entry in enumerate(group["hooks"]):
                        expect((*path, "hooks", number), entry, dict, "an object")
    if "permissions" in root:
        perms = root["permissions"]
        expect(("permissions",), perms, dict, "an object")
        for kind in KINDS:
            if kind in perms:
                expect(("permissions", kind), perms[kind], list, "a list")
                for index, rule in enumerate(perms[kind]):
                    expect(("permissions", kind, index), rule, str, "a string")


# -- the parts of a settings document the merge reads --------------------------------------------

# Claude Code checks deny, then ask, then allow: among our own rules the stricter one wins.
_PRECEDENCE = ("deny", "ask", "allow")


def entries_of(group: object) -> list[object]:
    entries = group.get("hooks") if isinstance(group, dict) else None
    return entries if isinstance(entries, list) else []


def command_of(entry: object) -> str | None:
    command = entry.get("command") if isinstance(entry, dict) else None
    return command if isinstance(command, str) else None


def commands_of(groups: Sequence[object]) -> tuple[str, ...]:
    """The commands of an event's hook entries, in order, each once."""
    seen: dict[str, None] = {}
    for group in groups:
        for entry in entries_of(group):
            command = command_of(entry)
            if command is not None:
                seen.setdefault(str(command))
    return tuple(seen)


def strings_of(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def events_of(root: dict[str, object]) -> dict[str, list[dict[str, object]]]:
    hooks = root.get("hooks")
    if not isinstance(hooks, dict):
        return {}
    return {
        str(event): [group for group in groups if isinstance(group, dict)]
        for event, groups in hooks.items()
        if isinstance(groups, list)
    }


def hook_commands(root: dict[str, object]) -> dict[str, tuple[str, ...]]:
    return {event: commands_of(list(groups)) for event, groups in events_of(root).items()}


def rules_of(root: dict[str, object]) -> dict[str, tuple[str, ...]]:
    """Our rules per list, each once; a rule in two of our lists stays only in the stricter."""
    perms = root.get("permissions")
    perms = perms if isinstance(perms, dict) else {}
    taken: set[str] = set()
    rules: dict[str, tuple[str, ...]] = {}
    for kind in _PRECEDENCE:
        listed = [str(rule) for rule in dict.fromkeys(strings_of(perms.get(kind)))]
        rules[kind] = tuple(rule for rule in listed if rule not in taken)
        taken.update(listed)
    return {kind: rules[kind] for kind in KINDS}


def path_exists(root: dict[str, object], path: tuple[str, ...]) -> bool:
    node: object = root
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def canonical_json(value: object) -> str:
    """One spelling of a JSON value (keys sorted, numbers normalised), to compare entries."""
    if isinstance(value, dict):
        items = sorted((str(key), canonical_json(item)) for key, item in value.items())
        return "{" + ",".join(f"{json.dumps(key)}:{item}" for key, item in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, Number):
        return json.dumps(json.loads(value.text))
    return json.dumps(str(value) if isinstance(value, str) else value)
