"""The project an ADW module belongs to: its root, its adws dir and its config settings.

Modules live at <project>/<adws_dir>/adw_modules/, so everything is found from this file's
location, never from the current directory: a workflow or hook started from anywhere acts on
the project it was generated into. The same file also lives in the tac-bootstrap package
(runtime/), which is no project: there ``current_project()`` refuses, so nothing defaults to a
database or a runs dir inside site-packages; give an explicit location instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

CONFIG_FILENAME = "tac_bootstrap.yml"
MODULES_DIR = "adw_modules"
ENV_VAR = "TAC_ORCHESTRATOR_DB"


class NotInProject(RuntimeError):
    """The runtime runs from the tac-bootstrap package, not from a project's adw_modules."""


@dataclass(frozen=True)
class ProjectSettings:
    root: Path
    adws_dir: str

    @cached_property
    def settings(self) -> dict[str, Any]:
        """The parsed config file, read on first use (hooks often never need it)."""
        return read_settings(self.root)

    def section(self, name: str) -> dict[str, Any]:
        value = self.settings.get(name)
        return value if isinstance(value, dict) else {}

    def path(self, key: str, default: str) -> Path:
        return self.root / str(self.section("paths").get(key) or default)


def project_of(module_dir: Path) -> ProjectSettings | None:
    """The project whose ``<adws_dir>/adw_modules`` is ``module_dir``; None for any other dir.

    The root is the nearest parent holding the config file (the adws dir's parent without one).
    """
    if module_dir.name != MODULES_DIR:
        return None
    adws = module_dir.parent
    root = next((p for p in adws.parents if (p / CONFIG_FILENAME).is_file()), adws.parent)
    return ProjectSettings(root, adws.relative_to(root).as_posix())


@cache
def module_project() -> ProjectSettings | None:
    """The project this module was generated into, or None inside the tac-bootstrap package."""
    return project_of(Path(__file__).resolve().parent)


def current_project() -> ProjectSettings:
    """The project this module was generated into; refuses inside the tac-bootstrap package."""
    project = module_project()
    if project is None:
        raise NotInProject(
            f"no project: this runtime runs from {Path(__file__).resolve().parent}, not from a "
            f"project's <adws_dir>/{MODULES_DIR}; use the project's copy (run from "
            f"<project>/adws/{MODULES_DIR}, where {ENV_VAR} may name the database) or pass "
            "the database and migrations_dir explicitly"
        )
    return project


def read_settings(root: Path) -> dict[str, Any]:
    """The config file as plain data ({} without one); validated by tac-bootstrap itself."""
    config = root / CONFIG_FILENAME
    if not config.is_file():
        return {}
    import yaml  # only needed when a config file exists

    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}
