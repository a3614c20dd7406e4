"""Hatch build hook: the wheel ships its templates compiled to Python modules.

Runs for `pip install .` and `pip install -e .` alike (an editable install reads the modules
from the source tree, where they are ignored by git), in the build environment, where only
hatchling and jinja2 are installed; see tac_bootstrap/infrastructure/precompiled_templates.py.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

COMPILED = "tac_bootstrap_cli/tac_bootstrap/_compiled_templates"


class CompiledTemplatesHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        source = str(Path(self.root) / "tac_bootstrap_cli")
        sys.path.insert(0, source)
        try:
            from tac_bootstrap.infrastructure.precompiled_templates import (
                COMPILED_DIR,
                compile_templates,
            )
        finally:
            sys.path.remove(source)
        compile_templates(COMPILED_DIR.parent / "templates", COMPILED_DIR)
        build_data["artifacts"].append(f"/{COMPILED}/")
