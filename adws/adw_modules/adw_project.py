"""The project an ADW module belongs to: its root, its adws dir and its config settings.

Modules live at <project>/<adws_dir>/adw_modules/, so everything is found from this file's
location, never from the current directory: a workflow or hook started from anywhere acts on
the project it was generated into.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

CONFIG_FILENAME = "tac_bootstrap.yml"


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


@cache
def current_project() -> ProjectSettings:
    adws = Path(__file__).resolve().parent.parent
    root = next((p for p in adws.parents if (p / CONFIG_FILENAME).is_file()), adws.parent)
    return ProjectSettings(root, adws.relative_to(root).as_posix())


def read_settings(root: Path) -> dict[str, Any]:
    """The config file as plain data ({} without one); validated by tac-bootstrap itself."""
    config = root / CONFIG_FILENAME
    if not config.is_file():
        return {}
    import yaml  # only needed when a config file exists

    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}
