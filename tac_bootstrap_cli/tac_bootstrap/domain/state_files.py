"""Where tac-bootstrap keeps its own files in a project: the manifest and the local state.

Names only, apart from the manifest's model and store, so that the commands that merely look
at these paths (doctor's memos, the ignore rules, `render --check`) load neither.
"""

from __future__ import annotations

from collections.abc import Iterable

MANIFEST_FILENAME = "tac_bootstrap.manifest.json"
STATE_DIR = ".tac_bootstrap"  # local state, ignored by git (its own .gitignore says `*`)
STATE_IGNORE = f"{STATE_DIR}/.gitignore"
BASE_PACK = f"{STATE_DIR}/bases.pack"  # what was generated last, for the next three-way merge
LEGACY_BASE_DIR = f"{STATE_DIR}/base"  # the same, one file per base (older projects)
ORIGINAL_DIR = f"{STATE_DIR}/original"  # users' files as they were before our first merge
PROPOSAL_SUFFIX = ".tac-bootstrap"  # the layer's version beside a file we may not write


def legacy_base_path(relative: str) -> str:
    """Where an older version kept the base of ``relative``, relative to the project; still
    read, never written (infrastructure/base_pack.py says why)."""
    return f"{LEGACY_BASE_DIR}/{relative}"


def original_path(relative: str) -> str:
    """Where the user's own version of shared file ``relative`` is kept, relative to the project."""
    return f"{ORIGINAL_DIR}/{relative}"


def base_sources(relatives: Iterable[str]) -> list[str]:
    """Every project file the bases of ``relatives`` may be read from (for the memos that
    must notice a changed base): the pack, and the older layout's own files."""
    legacy = [legacy_base_path(relative) for relative in relatives]
    return [BASE_PACK, *legacy] if legacy else []
