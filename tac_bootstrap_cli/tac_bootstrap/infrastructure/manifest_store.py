"""Reading and writing the manifest, and recovering the base content of a generated file.

Base content comes from a local cache (.tac_bootstrap/bases.pack, ignored by git, so upgrades
work before anything is committed; an older project's .tac_bootstrap/base/ too) or, failing
that, from git history by the recorded blob id.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tac_bootstrap.domain.errors import ConfigError
from tac_bootstrap.domain.manifest import Fingerprint, Manifest, ManifestEntry, sha256_of
from tac_bootstrap.domain.state_files import (
    BASE_PACK,
    MANIFEST_FILENAME,
    ORIGINAL_DIR,
    STATE_DIR,
    STATE_IGNORE,
    legacy_base_path,
    original_path,
)
from tac_bootstrap.infrastructure import base_pack
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


def update_bases(root: Path, changes: Mapping[str, bytes | None]) -> None:
    """Keep what was generated (bytes) for the next upgrade's three-way merge, or forget a
    file's base (None): one rewrite of the pack for a whole run."""
    if not changes:
        return
    _ensure_state_ignore(root)
    base_pack.update(root, changes)


def _ensure_state_ignore(root: Path) -> None:
    ignore = confined_path(root, STATE_IGNORE)
    if not ignore.exists():
        atomic_write(ignore, b"# tac-bootstrap's local state: never committed.\n*\n")


def remember_original(root: Path, relative: str, content: bytes) -> None:
    """Keep the user's file as it was before we first merged into it (for `remove`)."""
    _ensure_state_ignore(root)
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
    packed = base_pack.get(root, relative)
    if packed is not None and sha256_of(packed) == entry.sha256:
        return packed
    return _recover(root, legacy_base_path(relative), entry.sha256, entry.blob)


__all__ = [
    "BASE_PACK",
    "MANIFEST_FILENAME",
    "ORIGINAL_DIR",
    "STATE_DIR",
    "STATE_IGNORE",
    "load_manifest",
    "manifest_path",
    "original_path",
    "recover_base",
    "recover_original",
    "remember_original",
    "save_manifest",
    "update_bases",
]
