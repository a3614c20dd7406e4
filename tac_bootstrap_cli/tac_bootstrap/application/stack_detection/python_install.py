"""Python's install command: what makes a fresh clone ready to run its tests.

The package manager's own sync (uv, poetry, pipenv) when there is one; with pip, the project
itself (editable) when it can be built, and its requirement files. Two rules keep that command
working: a pyproject.toml that only configures tools (no ``[build-system]``, no dependencies,
no setup.py/setup.cfg, requirement files beside it) is not a package, so ``pip install -e .``
is not made for it; and the extra a developer needs for the tests (``dev``, else ``test``)
is included, else the tests cannot import their tools after the install.
"""

from __future__ import annotations

import configparser
from typing import Any

from tac_bootstrap.domain.config import PackageManager

from .model import Candidate
from .reading import Reader, strings, table

# The extra a developer installs to work on the project, first found wins.
_DEV_EXTRAS = ("dev", "develop", "test", "tests", "testing")
# In a requirements/ folder, the file a developer installs (dev includes ci or base), first
# found wins; only when nothing else (the package, a root requirements file) is installed.
_REQUIREMENTS_FILES = ("dev", "development", "local", "ci", "test", "tests", "base", "common")


def python_install(
    files: Reader,
    c: Candidate,
    py: dict[str, Any] | None,
    cfg: configparser.ConfigParser | None,
    requirements: list[str],
    pipenv: bool,
) -> str:
    project = table(py, "project")
    extra = _dev_extra(project)
    if c.package_manager is PackageManager.UV:
        groups = table(py, "dependency-groups") or table(py, "tool", "uv").get("dev-dependencies")
        if extra is not None and not groups:
            c.note("pyproject.toml", f"extra {extra!r} holds the development tools -> synced")
            return f"uv sync --extra {extra}"
        return "uv sync"
    if c.package_manager is PackageManager.POETRY:
        return "poetry install"
    if pipenv:
        return "pipenv install --dev"
    parts = []
    if _installable(files, c, py, cfg, requirements):
        parts.append(f"-e '.[{extra}]'" if extra else "-e .")
    root_requirements = sorted(
        (r for r in requirements if "/" not in r), key=lambda r: (r != "requirements.txt", r)
    )
    if not parts and not root_requirements and (chosen := _requirements_folder(requirements)):
        c.note(chosen, "the requirements folder's development file -> install")
        root_requirements = [chosen]
    parts += [f"-r {r}" for r in root_requirements]
    return "python -m pip install " + " ".join(parts) if parts else ""


def _dev_extra(project: dict[str, Any]) -> str | None:
    extras = table(project, "optional-dependencies")
    return next((name for name in _DEV_EXTRAS if name in extras), None)


def _installable(
    files: Reader,
    c: Candidate,
    py: dict[str, Any] | None,
    cfg: configparser.ConfigParser | None,
    requirements: list[str],
) -> bool:
    """The project can be built and installed: setup.py, setup.cfg's metadata, a pyproject
    with a build system, or one whose ``[project]`` declares dependencies (pip builds it with
    setuptools). A ``[project]`` table with neither, next to requirement files that hold the
    dependencies, only configures tools."""
    if files.is_file("setup.py") or (cfg is not None and cfg.has_section("metadata")):
        return True
    project = table(py, "project")
    if not project:
        return False
    if "build-system" in (py or {}) or strings(project.get("dependencies")):
        return True
    if not requirements:
        return True  # pip still builds it (setuptools); nothing else would install anything
    c.note("pyproject.toml", "no build system, no dependencies: not installed as a package")
    return False


def _requirements_folder(requirements: list[str]) -> str | None:
    """``requirements/dev.txt`` (else ci, base...) when nothing else installs the project."""
    folder = [r for r in requirements if r.startswith("requirements/") and r.count("/") == 1]
    by_stem = {r.removeprefix("requirements/").removesuffix(".txt"): r for r in folder}
    return next((by_stem[stem] for stem in _REQUIREMENTS_FILES if stem in by_stem), None)
