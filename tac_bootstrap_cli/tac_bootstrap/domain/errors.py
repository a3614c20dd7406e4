"""Errors a user can act on. The CLI prints them as one line, never as a traceback."""

from __future__ import annotations

import errno
import os


class TacError(Exception):
    """Base class: ``exit_code`` tells the CLI how to exit."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class UsageError(TacError):
    """Bad arguments or an invalid config file (exit 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """The config file is missing, unreadable or invalid (exit 2)."""


class OperationError(TacError):
    """The operation itself failed (exit 1)."""


class TemplateError(OperationError):
    """A template failed to render; the message names the template and line."""


class Interrupted(TacError):
    """Ctrl-C: exit 130, the shell's convention (128 + SIGINT)."""

    exit_code = 130


class UnsafePathError(OperationError):
    """A planned path would land outside the target directory."""


# -- OS errors: one line naming the path and the cause -----------------------------------------

_SHOWN_PATH = 160  # characters of a path shown; a 300-character name is cut, not echoed whole

_HINTS = {
    errno.EACCES: "check the permissions of that path, or choose another location",
    errno.EPERM: "check the permissions of that path, or choose another location",
    errno.EROFS: "the filesystem is read-only; choose another location",
    errno.ENOSPC: "free some disk space, then run the command again",
    errno.EDQUOT: "free some disk space (quota exceeded), then run the command again",
    errno.ENAMETOOLONG: "use a shorter name",
    errno.ENOTDIR: "a file is in the way of a directory; move it or choose another location",
    errno.EISDIR: "a directory is in the way of a file; move it or choose another location",
    errno.EEXIST: "something is already there; move it or choose another location",
    errno.ENOENT: "check that the path exists",
    errno.ELOOP: "a symbolic link loops; fix or remove it",
    errno.EBUSY: "the path is busy (a mount point?); choose another location",
    errno.EXDEV: "source and destination are on different filesystems; choose another location",
}


def _shown(path: object) -> str:
    text = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    return text if len(text) <= _SHOWN_PATH else text[: _SHOWN_PATH - 1] + "…"


def os_error_parts(exc: OSError) -> tuple[str, str]:
    """(cause with the path(s), hint) for an OSError; never a traceback, never a repr."""
    cause = exc.strerror or str(exc) or type(exc).__name__
    paths = [_shown(p) for p in (exc.filename, exc.filename2) if p is not None]
    where = f" ({' -> '.join(paths)})" if paths else ""
    hint = _HINTS.get(exc.errno or 0, "check the path, then run the command again")
    return f"{cause}{where}", hint


def from_os_error(exc: OSError, argument: str | None = None) -> TacError:
    """An OSError as a TacError: exit 2 when it is about the user's own ``argument``."""
    text, hint = os_error_parts(exc)
    if argument is not None:
        return UsageError(f"{argument}: {text}", hint=hint)
    return OperationError(text, hint=hint)
