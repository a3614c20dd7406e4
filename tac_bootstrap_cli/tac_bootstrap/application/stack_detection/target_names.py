"""The names a task file's targets (Makefile, justfile, Taskfile) have for each command field.

Its own module because both the task-file readers and the CI classifier use it.
"""

from __future__ import annotations

MAKE_TARGETS: dict[str, tuple[str, ...]] = {
    "test": ("test", "tests"),
    "lint": ("lint", "check"),
    "typecheck": ("typecheck", "type-check", "types", "mypy"),
    "format": ("fmt", "format"),
    "start": ("start", "run", "serve", "dev", "up"),
    "build": ("build",),
    "install": ("install", "setup"),
}
