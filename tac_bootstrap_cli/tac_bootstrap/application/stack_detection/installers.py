"""Whether an install script a CI runs installs the dependencies or the program itself.

``script/bootstrap`` or ``scripts/install`` of a project that follows the "scripts to rule them
all" convention fetch its dependencies: that is the install command. A root ``./install`` (fzf,
nvm, oh-my-zsh) puts the built program on the machine, with shell integration: CI runs it to
test the installer, and it is not how a developer gets the dependencies. What the script runs
decides when the script can be read; its place decides when it cannot.
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath

from .reading import Reader

# A package manager fetching a project's dependencies (building the program, ``cargo build``
# before copying it to ~/.local/bin, is not that).
_DEPENDENCY_INSTALL = re.compile(
    r"\b(pip3?|uv pip|pip-sync)\s+install\b|\bpip-sync\b|\buv\s+sync\b|\bpipenv\s+(install|sync)\b"
    r"|\b(poetry|pdm|hatch\s+env)\s+(install|sync|create)\b|\bconda\s+env\s+(create|update)\b"
    r"|\b(npm|pnpm|bun)\s+(ci|install|i)\b|\byarn(\s+install)?\s*($|[;&|\n])"
    r"|\bbundle(\s+install)?\s*($|[;&|\n])|\bbundle\s+check\b"
    r"|\bgo\s+(mod\s+download|get)\b|\bcargo\s+fetch\b|\bcomposer\s+install\b"
    r"|\b(mvnw?|gradlew?)\b[^\n]*\b(dependency:|dependencies|install)\b",
    re.MULTILINE,
)
# Names a program's own installer has at the root of its repository.
_ROOT_INSTALLERS = {"install", "install.sh", "install.bash"}


def runs_dependency_install(text: str) -> bool:
    """Whether a command (or a script's text) runs a package manager's dependency install."""
    return bool(_DEPENDENCY_INSTALL.search(text))


def script_path(command: str) -> str | None:
    """The repository script ``command`` runs (``bash scripts/install`` -> scripts/install)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if words and words[0] in ("bash", "sh", "zsh") and len(words) > 1:
        words = words[1:]
    if not words or "/" not in words[0]:
        return None
    return words[0]


def installs_the_program(files: Reader, command: str, directory: str = "") -> str | None:
    """Why the install script ``command`` (run in ``directory``) is not the dependency install
    (it installs the program), or None when it is, or when it cannot be told."""
    path = script_path(command)
    if path is None or path.startswith("/"):
        return None
    relative = (PurePosixPath(directory) / path).as_posix() if directory else path
    relative = relative.removeprefix("./")
    if files.is_file(relative):
        text = files.text(relative, [])
        if text is not None:
            if runs_dependency_install(text):
                return None
            return f"{path} runs no package manager's install: it installs the program itself"
    if PurePosixPath(relative).parent == PurePosixPath(".") and (
        PurePosixPath(relative).name in _ROOT_INSTALLERS
    ):
        return f"{path} at the root is the program's own installer, not the dependencies'"
    return None
