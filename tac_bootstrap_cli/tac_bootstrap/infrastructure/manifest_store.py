"""Reading and writing the manifest, and recovering the base content of a generated file.

Base content comes from a local cache (.tac_bootstrap/base/, ignored by git, so upgrades work
before anything is committed) or, failing that, from git history by the recorded blob id.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from tac_bootstrap.domain.errors import ConfigError
from tac_bootstrap.domain.manifest import Fingerprint, Manifest, ManifestEntry, sha256_of
from tac_bootstrap.domain.state_files import (
    BASE_DIR,
    MANIFEST_FILENAME,
    ORIGINAL_DIR,
    STATE_DIR,
    STATE_IGNORE,
    base_path,
    original_path,
)
from tac_bootstrap.infrastructure.filesystem import atomic_write, confined_path
from tac_bootstrap.infrastructure.formatter_style import json_style


def manifest_path(root: Path) -> Path:
    return root / MANIFEST_FILENAME


def load_manifest(root: Path) -> Manifest | None:
    path = confined_path(root, MANIFEST_FILENAME)  # never read state from outside the project
    if not path.is_file():
        return None
    try:
        return Manifest.from_json(path.read_text(encoding="utf-8"), str(path))
    except ValueError as exc:
        hint = "restore it from git, or delete it to start over"
        raise ConfigError(str(exc), hint=hint) from None


def _write_if_changed(path: Path, content: bytes, *, durable: bool = True) -> None:
    """Re-runs stay idempotent: an unchanged file is not rewritten (mtime and inode kept)."""
    if path.is_file() and path.read_bytes() == content:
        return
    atomic_write(path, content, durable=durable)


def save_manifest(root: Path, manifest: Manifest) -> None:
    path = confined_path(root, MANIFEST_FILENAME)
    style = json_style(root, MANIFEST_FILENAME)  # so the project's prettier --check passes
    _write_if_changed(path, manifest.to_json(style).encode("utf-8"))


def remember_base(root: Path, relative: str, content: bytes) -> None:
    """Keep what was generated, for the next upgrade's three-way merge."""
    remember_bases(root, [(relative, content)])


def remember_bases(root: Path, bases: Iterable[tuple[str, bytes]]) -> None:
    """remember_base for many files: the state directory's ignore file is checked once."""
    ignore = confined_path(root, STATE_IGNORE)
    if not ignore.exists():
        atomic_write(ignore, b"# tac-bootstrap's local state: never committed.\n*\n")
    for relative, content in bases:
        # A cache (git history is the other source): no fsync per file.
        _write_if_changed(confined_path(root, base_path(relative)), content, durable=False)


def forget_base(root: Path, relative: str) -> None:
    cached = confined_path(root, base_path(relative))
    if cached.is_file():
        cached.unlink()


def remember_original(root: Path, relative: str, content: bytes) -> None:
    """Keep the user's file as it was before we first merged into it (for `remove`)."""
    ignore = confined_path(root, STATE_IGNORE)
    if not ignore.exists():
        atomic_write(ignore, b"# tac-bootstrap's local state: never committed.\n*\n")
    _write_if_changed(confined_path(root, original_path(relative)), content)


def recover_original(root: Path, relative: str, original: Fingerprint) -> bytes | None:
    """The user's file before our first merge: the local copy, else git history by blob."""
    return _recover(root, original_path(relative), original.sha256, original.blob)


def _recover(root: Path, cached_at: str, sha256: str, blob: str) -> bytes | None:
    cached = confined_path(root, cached_at)
    if cached.is_file():
        content = cached.read_bytes()
        if sha256_of(content) == sha256:
            return content
    if shutil.which("git") is None:
        return None
    result = subprocess.run(
        ["git", "cat-file", "blob", blob], cwd=root, capture_output=True, check=False
    )
    if result.returncode == 0 and sha256_of(result.stdout) == sha256:
        return result.stdout
    return None


def recover_base(root: Path, relative: str, entry: ManifestEntry) -> bytes | None:
    """The content generated last time, or None when neither the cache nor git has it."""
    return _recover(root, base_path(relative), entry.sha256, entry.blob)


__all__ = [
    "BASE_DIR",
    "MANIFEST_FILENAME",
    "ORIGINAL_DIR",
    "STATE_DIR",
    "STATE_IGNORE",
    "base_path",
    "forget_base",
    "load_manifest",
    "manifest_path",
    "original_path",
    "recover_base",
    "recover_original",
    "remember_base",
    "remember_bases",
    "remember_original",
    "save_manifest",
]
