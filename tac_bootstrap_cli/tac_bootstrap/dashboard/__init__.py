"""`tac-bootstrap dashboard`: a local web application over the orchestrator database.

Needs the optional extra `tac-bootstrap[dashboard]` (Starlette and uvicorn); nothing here is
imported by the CLI until the command runs.
"""

from __future__ import annotations

EXTRA_HINT = (
    "pip install 'tac-bootstrap[dashboard]' (or: uv tool install 'tac-bootstrap[dashboard]')"
)


def missing_dependencies() -> list[str]:
    """The extra's packages that cannot be imported (the command imports them next anyway)."""
    import importlib

    missing = []
    for name in ("starlette", "uvicorn"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing
