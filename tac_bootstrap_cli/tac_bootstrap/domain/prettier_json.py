"""JSON written the way prettier prints it, so `prettier --check .` passes on a layer file
that sits where no layer-owned prettier configuration reaches (the manifest at the root).

Prettier's own rules for a ``.json`` file: an object whose first key is on a new line stays
expanded (we always expand one); an array stays on one line when it fits in printWidth,
unless it holds an expanded object or is a list of two or more arrays (or objects) that each
have two or more entries. The width, indentation and tabs are the project's (JsonStyle).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JsonStyle:
    """The prettier options that change how a JSON file is printed (its defaults here)."""

    print_width: int = 80
    tab_width: int = 2
    use_tabs: bool = False

    def indent(self, depth: int) -> str:
        return ("\t" if self.use_tabs else " " * self.tab_width) * depth


DEFAULT_STYLE = JsonStyle()


def dumps(value: Any, style: JsonStyle = DEFAULT_STYLE) -> str:
    """``value`` (keys sorted) as prettier formats it in ``style``, with a final newline."""
    return _Printer(style).value(value, 0, 0, "") + "\n"


class _Printer:
    def __init__(self, style: JsonStyle) -> None:
        self.style = style

    def value(self, value: Any, depth: int, column: int, suffix: str) -> str:
        """``value`` starting at ``column`` of a line at ``depth``, followed by ``suffix``."""
        if isinstance(value, dict):
            if not value:
                return "{}"
            keys = sorted(value)
            inner = self.style.indent(depth + 1)
            width = self.style.tab_width * (depth + 1)
            lines = []
            for index, key in enumerate(keys):
                prefix = f"{json.dumps(str(key))}: "
                comma = "," if index < len(keys) - 1 else ""
                item = self.value(value[key], depth + 1, width + len(prefix), comma)
                lines.append(f"{inner}{prefix}{item}{comma}")
            return "{\n" + "\n".join(lines) + "\n" + self.style.indent(depth) + "}"
        if isinstance(value, (list, tuple)):
            return self.array(list(value), depth, column, suffix)
        return json.dumps(value)

    def array(self, items: list[Any], depth: int, column: int, suffix: str) -> str:
        if not items:
            return "[]"
        if not _must_break(items):
            flat = _flat(items)
            if column + len(flat) + len(suffix) <= self.style.print_width:
                return flat
        inner = self.style.indent(depth + 1)
        width = self.style.tab_width * (depth + 1)
        lines = []
        for index, item in enumerate(items):
            comma = "," if index < len(items) - 1 else ""
            lines.append(inner + self.value(item, depth + 1, width, comma) + comma)
        return "[\n" + "\n".join(lines) + "\n" + self.style.indent(depth) + "]"


def _must_break(items: list[Any]) -> bool:
    """What makes prettier break an array whatever its width."""
    if any(isinstance(item, dict) and item for item in items):
        return True  # an expanded object inside
    if any(isinstance(item, list) and _must_break(item) for item in items):
        return True
    if len(items) < 2:
        return False
    kinds = {type(item) for item in items}
    return len(kinds) == 1 and kinds <= {dict, list} and all(len(item) > 1 for item in items)


def _flat(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flat(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{}"  # only an empty one is ever flat
    return json.dumps(value)
