"""Where tac-bootstrap keeps its own files in a project: the manifest and the local state.

Names only, apart from the manifest's model and store, so that the commands that merely look
at these paths (doctor's memos, the ignore rules, `render --check`) load neither.
"""

from __future__ import annotations

MANIFEST_FILENAME = "tac_bootstrap.manifest.json"
STATE_DIR = ".tac_bootstrap"  # local state, ignored by git (its own .gitignore says `*`)
STATE_IGNORE = f"{STATE_DIR}/.gitignore"
BASE_DIR = f"{STATE_DIR}/base"  # what was generated last, for the next three-way merge
ORIGINAL_DIR = f"{STATE_DIR}/original"  # users' files as they were before our first merge
PROPOSAL_SUFFIX = ".tac-bootstrap"  # the layer's version beside a file we may not write


def base_path(relative: str) -> str:
    """Where the cached base of ``relative`` lives, relative to the project."""
    return f"{BASE_DIR}/{relative}"


def original_path(relative: str) -> str:
    """Where the user's own version of shared file ``relative`` is kept, relative to the project."""
    return f"{ORIGINAL_DIR}/{relative}"
