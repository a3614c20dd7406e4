"""Reading a repository's files without ever failing.

Detection must survive any repository: every problem (missing, unreadable, too large,
malformed) becomes evidence instead of an exception, and detection goes on with the other files.
"""

from __future__ import annotations

import configparser
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .model import Evidence

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

# Files larger than this are not read (a lock file or a generated manifest, not a config).
MAX_FILE_BYTES = 4 * 1024 * 1024


class Reader:
    """Reads files under the root; every problem becomes evidence instead of an exception."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def exists(self, name: str) -> bool:
        try:
            return (self.root / name).exists()
        except OSError:
            return False

    def is_file(self, name: str) -> bool:
        try:
            return (self.root / name).is_file()
        except OSError:
            return False

    def is_executable(self, name: str) -> bool:
        try:
            return (self.root / name).is_file() and bool((self.root / name).stat().st_mode & 0o111)
        except OSError:
            return False

    def is_dir(self, name: str) -> bool:
        try:
            return (self.root / name).is_dir()
        except OSError:
            return False

    def glob(self, pattern: str) -> list[str]:
        try:
            found = sorted(self.root.glob(pattern))
        except OSError:
            return []
        return [p.relative_to(self.root).as_posix() for p in found if _safe_is_file(p)]

    def matching(self, patterns: Iterable[str]) -> list[str]:
        """The files named by ``patterns`` (names or glob patterns), in the patterns' order."""
        found: list[str] = []
        for pattern in patterns:
            if any(char in pattern for char in "*?["):
                found += self.glob(pattern)
            elif self.is_file(pattern):
                found.append(pattern)
        return found

    def text(self, name: str, evidence: list[Evidence]) -> str | None:
        """The file's text, or None when it is missing (or not a file) or unreadable."""
        path = self.root / name
        try:
            if not path.is_file():
                return None
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            evidence.append(Evidence(name, f"unreadable: {exc.strerror or exc}"))
            return None
        if len(data) > MAX_FILE_BYTES:
            evidence.append(Evidence(name, "larger than 4 MiB; not read"))
            return None
        return data.decode("utf-8", errors="replace")

    def toml(self, name: str, evidence: list[Evidence]) -> dict[str, Any] | None:
        text = self.text(name, evidence)
        if text is None:
            return None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            evidence.append(Evidence(name, f"unreadable: not valid TOML ({exc})"))
            return None

    def json_object(self, name: str, evidence: list[Evidence]) -> dict[str, Any] | None:
        """The file as a JSON object; None when missing, unreadable, invalid or not an object."""
        text = self.text(name, evidence)
        if text is None:
            return None
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            evidence.append(Evidence(name, f"unreadable: not valid JSON ({exc})"))
            return None
        if not isinstance(parsed, dict):
            evidence.append(Evidence(name, "unreadable: not a JSON object"))
            return None
        return parsed

    def ini(self, name: str, evidence: list[Evidence]) -> configparser.ConfigParser | None:
        # Tolerant: no '%' interpolation, duplicate sections and keys allowed. The file is read
        # for hints, not validated.
        text = self.text(name, evidence)
        if text is None:
            return None
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(text, source=name)
        except configparser.Error as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            evidence.append(Evidence(name, f"unreadable: not a valid INI file ({first_line})"))
            return None
        return parser


def _safe_is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def table(data: Any, *keys: str) -> dict[str, Any]:
    """data[k1][k2]... when every level is a table, else {} (malformed files have any shape)."""
    for key in keys:
        if not isinstance(data, dict):
            return {}
        data = data.get(key)
    return data if isinstance(data, dict) else {}


def strings(value: Any) -> list[str]:
    """The strings of a value that should be a string or a list of them (else [])."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []
