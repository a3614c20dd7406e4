"""Strict JSON read and written back in the user's layout, for merging into their files.

``json.loads`` is not enough for a file we share with the user: it accepts ``NaN`` (Claude
Code's ``JSON.parse`` does not), takes the last of two duplicate keys silently, and forgets
how the file was written. This parser keeps, for every object and array, the exact text it
came from, and for every string and number its exact spelling; the writer emits that text
for whatever the merge did not change, so only the containers we touch are re-serialised
(in the indent, line ending, separators and escaping detected from the file).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

JsonPath = tuple[str | int, ...]
# json's own string scanner (C-accelerated): not in typeshed's json.decoder stub.
_scanstring = cast(Callable[[str, int, bool], tuple[str, int]], vars(json.decoder)["scanstring"])

_WHITESPACE = " \t\n\r"
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERALS: tuple[tuple[str, object], ...] = (("true", True), ("false", False), ("null", None))
_SURROGATE = re.compile("[\ud800-\udfff]")
# A \u escape of a non-ASCII character (\u0080 and up): the file escapes what it could write raw.
_NON_ASCII_ESCAPE = re.compile(r"\\u(?!00[0-7][0-9a-fA-F])[0-9a-fA-F]{4}")


class JsonTextError(ValueError):
    """Not strict JSON: ``reason`` (json's wording) at offset ``pos`` of the text.

    For a duplicate key, ``first_pos`` is where the first one is and ``path`` names the key.
    """

    def __init__(
        self, reason: str, pos: int, first_pos: int | None = None, path: JsonPath = ()
    ) -> None:
        super().__init__(f"{reason} at offset {pos}")
        self.reason = reason
        self.pos = pos
        self.first_pos = first_pos
        self.path = path


class Str(str):
    """A string as read: equal to its value, written back with its original spelling."""

    raw: str

    def __new__(cls, value: str, raw: str) -> Str:
        made = super().__new__(cls, value)
        made.raw = raw
        return made


@dataclass(frozen=True)
class Number:
    """A number as read, kept as text: 1.0 stays 1.0, a 30-digit integer stays exact."""

    text: str


@dataclass(frozen=True)
class Layout:
    """How a file is written (``indent`` None: on one line, never detected, for callers)."""

    indent: str | None = "  "
    newline: str = "\n"
    colon: str = ": "
    comma: str = ", "
    ensure_ascii: bool = False


@dataclass
class Document:
    """A parsed file: its value, the text around it, and what the writer needs to keep it."""

    text: str
    value: object
    start: int
    end: int
    raw: dict[int, tuple[object, str]]
    positions: dict[JsonPath, int]
    layout: Layout

    def write(self, value: object) -> str:
        """``value`` (this document's value after a copy-on-write merge) as the file's text."""
        body = _Writer(self.layout, self.raw).emit(value, 0)
        return self.text[: self.start] + body + self.text[self.end :]


def line_column(text: str, pos: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, pos) + 1
    return text.count("\n", 0, pos) + 1, pos - line_start + 1


def parse(text: str) -> Document:
    """The document in ``text``; raises JsonTextError where it is not strict JSON."""
    parser = _Parser(text)
    start = parser.skip(0)
    try:
        value, end = parser.value(start, ())
    except RecursionError:
        raise JsonTextError("nested too deeply", start) from None
    rest = parser.skip(end)
    if rest != len(text):
        raise JsonTextError("Extra data", rest)
    layout = _detect_layout(text, start, end, parser.colon, parser.comma)
    return Document(text, value, start, end, parser.raw, parser.positions, layout)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.raw: dict[int, tuple[object, str]] = {}
        self.positions: dict[JsonPath, int] = {}
        self.colon: str | None = None
        self.comma: str | None = None

    def skip(self, pos: int) -> int:
        text = self.text
        while pos < len(text) and text[pos] in _WHITESPACE:
            pos += 1
        return pos

    def value(self, pos: int, path: JsonPath) -> tuple[object, int]:
        pos = self.skip(pos)
        self.positions[path] = pos
        char = self.text[pos : pos + 1]
        if char == "{":
            return self.parse_object(pos, path)
        if char == "[":
            return self.parse_array(pos, path)
        if char == '"':
            return self.string(pos)
        for literal, literal_value in _LITERALS:
            if self.text.startswith(literal, pos):
                return literal_value, pos + len(literal)
        number = _NUMBER.match(self.text, pos)
        if number is None:
            raise JsonTextError("Expecting value", pos)
        return Number(number.group()), number.end()

    def string(self, pos: int) -> tuple[Str, int]:
        try:
            value, end = _scanstring(self.text, pos + 1, True)
        except json.JSONDecodeError as error:
            raise JsonTextError(error.msg, error.pos) from None
        return Str(value, self.text[pos:end]), end

    def parse_object(self, start: int, path: JsonPath) -> tuple[dict[str, object], int]:
        result: dict[str, object] = {}
        first_seen: dict[str, int] = {}
        pos = self.skip(start + 1)
        if self.text[pos : pos + 1] != "}":
            while True:
                if self.text[pos : pos + 1] != '"':
                    raise JsonTextError("Expecting property name enclosed in double quotes", pos)
                key_pos = pos
                key, pos = self.string(pos)
                colon_start = pos
                pos = self.skip(pos)
                if self.text[pos : pos + 1] != ":":
                    raise JsonTextError("Expecting ':' delimiter", pos)
                pos = self.skip(pos + 1)
                if self.colon is None:
                    self.colon = self.text[colon_start:pos]
                if key in first_seen:
                    raise JsonTextError("duplicate key", key_pos, first_seen[key], (*path, key))
                first_seen[key] = key_pos
                result[key], pos = self.value(pos, (*path, key))
                pos = self.after_item(pos, "}")
                if pos < 0:
                    pos = -pos
                    break
        self.raw[id(result)] = (result, self.text[start : pos + 1])
        return result, pos + 1

    def parse_array(self, start: int, path: JsonPath) -> tuple[list[object], int]:
        result: list[object] = []
        pos = self.skip(start + 1)
        if self.text[pos : pos + 1] != "]":
            while True:
                item, pos = self.value(pos, (*path, len(result)))
                result.append(item)
                pos = self.after_item(pos, "]")
                if pos < 0:
                    pos = -pos
                    break
        self.raw[id(result)] = (result, self.text[start : pos + 1])
        return result, pos + 1

    def after_item(self, pos: int, close: str) -> int:
        """After an item: the next item's offset, or minus the closing bracket's offset."""
        pos = self.skip(pos)
        char = self.text[pos : pos + 1]
        if char == close:
            return -pos
        if char != ",":
            raise JsonTextError("Expecting ',' delimiter", pos)
        after = self.skip(pos + 1)
        if self.comma is None:
            self.comma = self.text[pos:after]
        if close == "}" and self.text[after : after + 1] != '"':
            raise JsonTextError("Expecting property name enclosed in double quotes", after)
        return after


def _detect_layout(text: str, start: int, end: int, colon: str | None, comma: str | None) -> Layout:
    first_newline = text.find("\n")
    newline = "\r\n" if first_newline > 0 and text[first_newline - 1] == "\r" else "\n"
    # One-line files are written out with the default indent too: the merge adds dozens of
    # entries, and a 5000-character line is nobody's style.
    indent = "  "
    for line in text[start:end].splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and stripped != line:
            indent = line[: len(line) - len(stripped)]
            break
    raw_non_ascii = any(ord(char) > 0x7F for char in text)
    return Layout(
        indent=indent,
        newline=newline,
        colon=colon if colon is not None and "\n" not in colon else ": ",
        comma=comma if comma is not None and "\n" not in comma else ", ",
        ensure_ascii=not raw_non_ascii and _NON_ASCII_ESCAPE.search(text) is not None,
    )


class _Writer:
    def __init__(self, layout: Layout, raw: dict[int, tuple[object, str]]) -> None:
        self.layout = layout
        self.raw = raw

    def emit(self, value: object, depth: int) -> str:
        kept = self.raw.get(id(value))
        if kept is not None and kept[0] is value:
            return kept[1]
        if isinstance(value, str):
            return self.string(value)
        if value is None or isinstance(value, bool):
            return {None: "null", True: "true", False: "false"}[value]
        if isinstance(value, Number):
            return value.text
        if isinstance(value, (int, float)):
            return json.dumps(value)
        if isinstance(value, dict):
            colon = self.layout.colon
            items = [self.string(k) + colon + self.emit(v, depth + 1) for k, v in value.items()]
            return self.wrap("{", items, "}", depth)
        if isinstance(value, list):
            return self.wrap("[", [self.emit(item, depth + 1) for item in value], "]", depth)
        raise TypeError(f"not a JSON value: {type(value).__name__}")

    def string(self, value: str) -> str:
        if isinstance(value, Str):
            return value.raw
        written = json.dumps(value, ensure_ascii=self.layout.ensure_ascii)
        return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", written)

    def wrap(self, opening: str, items: list[str], closing: str, depth: int) -> str:
        if not items:
            return opening + closing
        indent = self.layout.indent
        if indent is None:
            return opening + self.layout.comma.join(items) + closing
        inner = self.layout.newline + indent * (depth + 1)
        outer = self.layout.newline + indent * depth
        return opening + inner + ("," + inner).join(items) + outer + closing
