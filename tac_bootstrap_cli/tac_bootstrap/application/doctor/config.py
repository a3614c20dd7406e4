"""The config check: it runs first because every other check needs the loaded config."""

from __future__ import annotations

from pathlib import Path

from tac_bootstrap.application.doctor.report import FAIL, OK, Check
from tac_bootstrap.domain.config import CONFIG_FILENAME, TacConfig
from tac_bootstrap.domain.errors import ConfigError
from tac_bootstrap.infrastructure.config_loader import load_config


def check_config(root: Path) -> tuple[Check, TacConfig | None, ConfigError | None]:
    try:
        config = load_config(root / CONFIG_FILENAME)
    except ConfigError as exc:
        return Check("config", FAIL, exc.message, exc.hint), None, exc
    message = (
        f"{CONFIG_FILENAME} is valid (project {config.project.name!r}, "
        f"{config.project.language.value})"
    )
    return Check("config", OK, message), config, None
