"""Read and write tac_bootstrap.yml, reporting errors with file, line and field.

The file is untrusted input: it may be a FIFO, a device, huge, or YAML built to exhaust the
parser (aliases, deep nesting, giant numbers). Every limit is checked before the work it
bounds, so that any file gives a TacConfig or one ConfigError line in bounded time and memory.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tac_bootstrap.domain.config import CONFIG_FILENAME, TacConfig
from tac_bootstrap.domain.config_values import CONTROL_IN_FILE, quote, shown
from tac_bootstrap.domain.errors import ConfigError

MAX_CONFIG_BYTES = 1 << 20  # a real config is a few kilobytes
MAX_DEPTH = 64  # nested sequences/mappings; the config itself needs 4
MAX_NODES = 10_000  # YAML nodes in the document; the config itself has about 100
MAX_NUMBER_CHARS = 32  # digits of an int or float scalar (int() refuses > 4300 itself)

_STANDARD_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")
)
_STR_TAG = "tag:yaml.org,2002:str"
_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def load_config(path: Path) -> TacConfig:
    """Parse and validate a config file; every failure is a ConfigError naming file and line."""
    return load_config_and_text(path)[0]


def load_config_and_text(path: Path) -> tuple[TacConfig, str]:
    """The config and the very text it was parsed from (for a memo keyed by that text)."""
    text = read_config_text(path)
    return parse_config(text, _source(path)), text


def _source(path: Path) -> str:
    """The file as messages name it: a directory called "a\\nb" must not break the line."""
    return shown(str(path), 300)


def read_config_text(path: Path) -> str:
    """The file's text, read without blocking and at most MAX_CONFIG_BYTES + 1 bytes of it.

    O_NONBLOCK makes opening a FIFO with no writer return at once; fstat on the open
    descriptor (not the name, which could be swapped) then admits regular files only."""
    source = _source(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ConfigError(
            f"{source}: no config file found",
            hint="run `tac-bootstrap init NAME` to create a project, or pass the project path",
        ) from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot open config file ({exc.strerror})") from None
    except ValueError as exc:  # a NUL byte in the name
        raise ConfigError(f"{source}: cannot open config file ({exc})") from None
    try:
        data = _read_regular(fd, source)
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read config file ({exc.strerror})") from None
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_column(data, exc.start)
        raise ConfigError(
            f"{source}:{line}:{column}: not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            hint="save the file as UTF-8",
        ) from None


def _read_regular(fd: int, source: str) -> bytes:
    mode = os.fstat(fd).st_mode
    for is_kind, kind in _FILE_KINDS:
        if is_kind(mode):
            raise ConfigError(
                f"{source}: the config must be a regular file, not {kind}",
                hint=f"replace it with a regular {CONFIG_FILENAME}",
            )
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{source}: the config must be a regular file")
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_CONFIG_BYTES:  # st_size may lie (/proc): count what is read
        chunk = os.read(fd, MAX_CONFIG_BYTES + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > MAX_CONFIG_BYTES:
        raise _too_big(source, max(size, os.fstat(fd).st_size))
    return b"".join(chunks)


def _too_big(source: str, size: int) -> ConfigError:
    return ConfigError(
        f"{source}: config file is {size} bytes, over the limit of {MAX_CONFIG_BYTES} (1 MiB)",
        hint="a tac_bootstrap.yml is a few kilobytes; check the file",
    )


def _line_column(text: str | bytes, index: int) -> tuple[int, int]:
    """1-based line and column of index in a str or bytes."""
    if isinstance(text, bytes):
        return text.count(b"\n", 0, index) + 1, index - text.rfind(b"\n", 0, index)
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


def parse_config(text: str, source: str) -> TacConfig:
    if len(text) > MAX_CONFIG_BYTES:
        raise _too_big(source, len(text.encode("utf-8", "surrogatepass")))
    bad = CONTROL_IN_FILE.search(text)
    if bad is not None:
        line, column = _line_column(text, bad.start())
        raise ConfigError(
            f"{source}:{line}:{column}: the non-printable character U+{ord(bad.group()):04X} "
            "is not allowed in the config",
            hint="remove it (tab, newline and carriage return are the only ones allowed)",
        )
    loader = _ConfigLoader(text, source)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ConfigError(f"{source}: config file is empty", hint="see `tac-bootstrap init`")
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise ConfigError(f"{where}: invalid YAML: {shown(exc.problem or exc.context)}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {shown(str(exc))}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}:{root.start_mark.line + 1}: the config must be a mapping of sections "
            "(project, paths, commands, agentic, orchestrator)"
        )
    try:
        return TacConfig.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, root, source) from None


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader refusing what a config never needs and what would let a file exhaust us.

    PyYAML's composer and constructor recurse once per nesting level, so depth is checked in
    compose_node before recursing; aliases (the "billion laughs") and anchors are refused
    outright; numbers are bounded before int() or float() sees them."""

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self._source = source
        self._depth = 0
        self._nodes = 0

    def _refuse(self, mark: yaml.Mark | None, message: str, hint: str = "") -> ConfigError:
        where = f"{self._source}:{mark.line + 1}" if mark else self._source
        return ConfigError(f"{where}: {message}", hint=hint)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        mark = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            raise self._refuse(
                mark, "YAML aliases (*name) are not allowed in the config", "write the value out"
            )
        if getattr(event, "anchor", None) is not None:
            raise self._refuse(
                mark, "YAML anchors (&name) are not allowed in the config", "remove the anchor"
            )
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and tag not in _STANDARD_TAGS:
            raise self._refuse(
                mark, f"the YAML tag {quote(tag)} is not allowed in the config", "remove it"
            )
        collection = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        if isinstance(parent, yaml.MappingNode) and index is None and collection:
            raise self._refuse(mark, "a mapping key must be a name, not a list or mapping")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise self._refuse(mark, f"the config has more than {MAX_NODES} YAML values")
        if not collection:
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise self._refuse(mark, f"the config nests deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        node = super().compose_mapping_node(anchor)
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag != _STR_TAG:
                raise self._refuse(
                    key_node.start_mark,
                    f"the key {quote(key_node.value)} is not a plain name (a number, boolean, "
                    "null or << is no key here)",
                    "quote it or check its spelling",
                )
            if key_node.value in seen:
                raise self._refuse(
                    key_node.start_mark,
                    f"duplicate key {quote(key_node.value)} (first set on line "
                    f"{seen[key_node.value]})",
                    "keep only one",
                )
            seen[key_node.value] = line
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Constructors raise bare ValueError/KeyError on values like `!!int x`: one line."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, KeyError, TypeError, OverflowError, IndexError):  # IndexError: !!int ""
            raise self._refuse(
                node.start_mark, f"{quote(node.value)} is not a valid {node.tag.rsplit(':')[-1]}"
            ) from None

    def construct_bounded_number(self, node: yaml.ScalarNode) -> Any:
        if len(str(node.value)) > MAX_NUMBER_CHARS:
            raise self._refuse(
                node.start_mark,
                f"a number of {len(str(node.value))} characters is too long "
                f"(at most {MAX_NUMBER_CHARS})",
            )
        kind = node.tag.rsplit(":")[-1]
        if kind == "int":
            return self.construct_yaml_int(node)
        return self.construct_yaml_float(node)


_ConfigLoader.add_constructor("tag:yaml.org,2002:int", _ConfigLoader.construct_bounded_number)
_ConfigLoader.add_constructor("tag:yaml.org,2002:float", _ConfigLoader.construct_bounded_number)
# YAML 1.2 floats without a dot (1e-05, 1e+16: how Python, and so the template, prints them)
# are floats, not the strings YAML 1.1 makes of them.
EXPONENT_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$")
_ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:float", EXPONENT_FLOAT, list("-+0123456789"))


def _line_of(root: yaml.Node, loc: tuple[int | str, ...]) -> int:
    """The 1-based line of the deepest YAML node along a Pydantic error location."""
    node = root
    line = root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((kv for kv in node.value if kv[0].value == part), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _config_error(exc: ValidationError, root: yaml.Node, source: str) -> ConfigError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(first["loc"])
    field = ".".join(shown(p, 60) for p in loc) or "(top level)"
    message = shown(str(first["msg"]).removeprefix("Value error, "), 300)
    if first["type"] == "extra_forbidden":
        message = "unknown key"
        hint = "remove it or check its spelling"
    elif first["type"] == "missing":
        hint = "add it"
    else:
        hint = "fix the value"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return ConfigError(
        f"{source}:{_line_of(root, loc)}: field '{field}': {message}{more}", hint=hint
    )
