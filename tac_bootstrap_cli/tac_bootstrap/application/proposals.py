"""The layer's version of a file written beside the user's own (`<file>.tac-bootstrap`).

add-agentic and upgrade never overwrite a file the user wrote: when one is in the way, the
new version goes beside it so merging it in is easy. A proposal is always a new file (never
the user's); one from an earlier run is replaced.
"""

from __future__ import annotations

from pathlib import Path

from tac_bootstrap.domain.manifest import sha256_of
from tac_bootstrap.domain.state_files import PROPOSAL_SUFFIX as PROPOSAL_SUFFIX  # re-exported
from tac_bootstrap.infrastructure.filesystem import atomic_write, confined_path


def proposal_name(relative: str) -> str:
    """The proposal's path, relative to the project like ``relative``."""
    return relative + PROPOSAL_SUFFIX


def write_proposal(root: Path, relative: str, content: bytes) -> str | None:
    """Write ``content`` beside ``relative``; the proposal's path, or None when a directory
    of that name is in the way (it is left alone)."""
    name = proposal_name(relative)
    proposal = confined_path(root, name)
    if proposal.is_dir():
        return None
    atomic_write(proposal, content)
    return name


def settle_proposal(root: Path, relative: str, ours: bytes, recorded: dict[str, str]) -> str:
    """Once ``relative`` is merged, remove the proposal we wrote beside it.

    Returns "removed", "kept" (the user edited it: theirs to delete) or "" (there is none).
    ``recorded`` (the manifest's proposals: name -> sha256 as written) loses the entry of a
    proposal that is gone. One written by an older version is ours if it is today's version.
    """
    name = proposal_name(relative)
    proposal = confined_path(root, name)
    if not proposal.is_file():
        recorded.pop(name, None)
        return ""
    content = proposal.read_bytes()
    if sha256_of(content) == recorded.get(name) or content == ours:
        proposal.unlink()
        recorded.pop(name, None)
        return "removed"
    return "kept"
