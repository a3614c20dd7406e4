"""The layer's version of a file written beside the user's own (`<file>.tac-bootstrap`).

add-agentic and upgrade never overwrite a file the user wrote: when one is in the way, the
new version goes beside it so merging it in is easy. A proposal is always a new file (never
the user's); one from an earlier run is replaced.
"""

from __future__ import annotations

from pathlib import Path

from tac_bootstrap.infrastructure.filesystem import atomic_write, confined_path

PROPOSAL_SUFFIX = ".tac-bootstrap"  # the new version of a file we may not write


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
