"""The config check: it runs first because every other check needs the config's values."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tac_bootstrap.application.doctor.inputs import DoctorInputs, load_inputs
from tac_bootstrap.application.doctor.report import FAIL, OK, Check
from tac_bootstrap.domain.errors import ConfigError

if TYPE_CHECKING:
    from tac_bootstrap.domain.config import TacConfig

Loaded = tuple[DoctorInputs, "TacConfig | None"]


def check_config(root: Path) -> tuple[Check, Loaded | None, ConfigError | None]:
    """The config row, and the checks' inputs (with the config, when it was loaded)."""
    try:
        inputs, config = load_inputs(root)
    except ConfigError as exc:
        return Check("config", FAIL, exc.message, exc.hint), None, exc
    return Check("config", OK, inputs.config_message), (inputs, config), None
