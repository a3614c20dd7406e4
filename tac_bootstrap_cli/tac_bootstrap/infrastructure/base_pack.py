"""The bases of a project's generated files, kept together in one JSON file.

A base is what tac-bootstrap generated last for a file: the common ancestor of the next
upgrade's three-way merge. They used to be one file each under ``.tac_bootstrap/base/``; an
`init` created ~150 of them, and creating a file costs 0.5-1 ms on ordinary disks, more than
rendering one. One file keeps the cache as readable (``jq -r '.files["README.md"]'``) and lets
every writer replace it atomically. A base is only a cache (git history by blob id is the other
source, and every read is checked against the manifest's sha256), so a damaged pack reads as
empty and is replaced by the next write. It is JSON named ``bases.pack``, not ``.json``:
prettier reads only the root .gitignore and Biome none unless told, so a project's
``prettier --check .`` or ``biome check .`` would format a ``.json`` there; both pass over a
name they do not know.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from pathlib import Path

from tac_bootstrap.domain.state_files import BASE_PACK
from tac_bootstrap.infrastructure.filesystem import atomic_write, confined_path

FORMAT = 1
_Key = tuple[int, int, int]
# One reading per pack version and process: an upgrade asks for several bases in a row.
_read: dict[str, tuple[_Key, dict[str, bytes]]] = {}


def load(root: Path) -> dict[str, bytes]:
    """Every base in the project's pack ({} when there is none or it cannot be read)."""
    path = confined_path(root, BASE_PACK)
    try:
        info = os.stat(path)
    except OSError:
        return {}
    key = (info.st_mtime_ns, info.st_size, info.st_ino)
    known = _read.get(str(path))
    if known is not None and known[0] == key:
        return dict(known[1])
    try:
        entries = _decode(path.read_bytes())
    except OSError:
        return {}
    _read[str(path)] = (key, entries)
    return dict(entries)


def get(root: Path, relative: str) -> bytes | None:
    return load(root).get(relative)


def update(root: Path, changes: Mapping[str, bytes | None]) -> None:
    """Set (bytes) or forget (None) bases in one atomic rewrite; an unchanged pack is kept."""
    if not changes:
        return
    entries = load(root)
    before = dict(entries)
    for relative, content in changes.items():
        if content is None:
            entries.pop(relative, None)
        else:
            entries[relative] = content
    path = confined_path(root, BASE_PACK)
    if entries == before and path.is_file():
        return
    # A cache that a re-run regenerates: no fsync.
    atomic_write(path, encode(entries), durable=False)


def encode(entries: Mapping[str, bytes]) -> bytes:
    """The pack's bytes: one line per file, sorted, text kept as text (base64 otherwise)."""
    files: dict[str, str | dict[str, str]] = {}
    for relative in sorted(entries):
        content = entries[relative]
        try:
            files[relative] = content.decode("utf-8")
        except UnicodeDecodeError:
            files[relative] = {"base64": base64.b64encode(content).decode("ascii")}
    document = {"format": FORMAT, "files": files}
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _decode(data: bytes) -> dict[str, bytes]:
    try:
        document = json.loads(data)
    except ValueError:  # includes UnicodeDecodeError
        return {}
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return {}
    files = document.get("files")
    if not isinstance(files, dict):
        return {}
    entries: dict[str, bytes] = {}
    for relative, value in files.items():
        content = _content(value)
        if content is not None:
            entries[relative] = content
    return entries


def _content(value: object) -> bytes | None:
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate written by hand: not a base of ours
            return None
    if isinstance(value, dict) and isinstance(value.get("base64"), str):
        try:
            return base64.b64decode(value["base64"], validate=True)
        except (binascii.Error, ValueError):
            return None
    return None
