"""OS errors as the domain's TacError, the same way for the CLI and the Python API.

An OSError on a path the user gave (or directly inside or beside it) is about the user's
argument: a usage error (exit 2) naming it. Any other is an operation error (exit 1).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tac_bootstrap.domain.errors import TacError, UsageError, from_os_error


def argument_of(exc: OSError, arguments: Mapping[str, Path | None]) -> str | None:
    """The option whose path the OSError is about: the path itself, or one directly in it or
    beside it (a temp file next to a destination)."""
    if exc.filename is None:
        return None
    failing = Path(os.path.abspath(os.fsdecode(exc.filename)))
    for name, given in arguments.items():
        if given is None:
            continue
        path = Path(os.path.abspath(given))
        if failing in (path, path.parent) or failing.parent in (path, path.parent):
            return f"{name} {given}"
    return None


def cwd_exists() -> bool:
    try:
        os.getcwd()
    except OSError:
        return False
    return True


def as_tac_error(exc: OSError, arguments: Mapping[str, Path | None]) -> TacError:
    if exc.filename is None and not cwd_exists():
        return UsageError("the current directory no longer exists", hint="cd elsewhere")
    return from_os_error(exc, argument_of(exc, arguments))


@contextmanager
def tac_errors(arguments: Mapping[str, Path | None] | None = None) -> Iterator[None]:
    """Re-raise an OSError as a TacError (the Python API's only kind of error)."""
    try:
        yield
    except OSError as exc:
        raise as_tac_error(exc, arguments or {}) from exc
