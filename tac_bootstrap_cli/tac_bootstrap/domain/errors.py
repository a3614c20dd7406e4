"""Errors a user can act on. The CLI prints them as one line, never as a traceback."""

from __future__ import annotations


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


class UnsafePathError(OperationError):
    """A planned path would land outside the target directory."""
