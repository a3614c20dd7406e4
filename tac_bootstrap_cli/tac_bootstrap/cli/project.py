"""Which project a command works on: one rule for render, upgrade, doctor and the db commands.

The rule lives in the application layer (the Python API uses it too); the db commands import
it from here.
"""

from __future__ import annotations

from tac_bootstrap.application.project_lookup import project_root, require_writable

__all__ = ["project_root", "require_writable"]
