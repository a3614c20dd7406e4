"""The config values every `db` command needs, without parsing the config each time.

`db status` and its siblings need `paths.adws_dir`, `orchestrator.database`,
`orchestrator.busy_timeout_ms` and `paths.logs_dir` (where the hooks spool what they could
not write, replayed on every open); parsing and validating tac_bootstrap.yml for them (yaml and
pydantic) costs more than the rest of the command. Once a config has been validated, its
values are kept in a memo (infrastructure/memo_store.py) with the config's sha256: the same
bytes, under the same installation, give the same values, so the next command reads the memo.
Any other config, including one that no longer validates, is loaded for real: its errors are
reported as they always were.

A server URL may carry a password; it is never copied into the cache (those settings are not
kept: a PostgreSQL command also pays for psycopg and a connection, which dwarf the parse).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tac_bootstrap.domain.config_values import CONFIG_FILENAME
from tac_bootstrap.infrastructure import memo_store

if TYPE_CHECKING:
    from tac_bootstrap.domain.config import TacConfig

KIND = "db-settings"


@dataclass(frozen=True)
class DatabaseSettings:
    """What a project's config says about its orchestrator database."""

    adws_dir: str
    database: str  # "" for the zero-config default
    busy_timeout_ms: int
    logs_dir: str

    @classmethod
    def of(cls, config: TacConfig) -> DatabaseSettings:
        paths, orchestrator = config.paths, config.orchestrator
        return cls(
            paths.adws_dir, orchestrator.database, orchestrator.busy_timeout_ms, paths.logs_dir
        )


def database_settings(root: Path) -> DatabaseSettings:
    """The settings of the project at ``root``: from the memo while its config is unchanged,
    else from the validated config (ConfigError as `load_config` raises it)."""
    real_root = os.path.realpath(root)
    remembered = _remembered(real_root)
    if remembered is not None:
        return remembered
    from tac_bootstrap.infrastructure.config_loader import load_config_and_text

    config, text = load_config_and_text(root / CONFIG_FILENAME)
    settings = DatabaseSettings.of(config)
    _remember(real_root, settings, text.encode("utf-8"))
    return settings


def _remembered(real_root: str) -> DatabaseSettings | None:
    memo = memo_store.load_for_config(KIND, real_root)
    if memo is None:
        return None
    try:
        settings = DatabaseSettings(**memo["settings"])
    except (KeyError, TypeError):
        return None
    typed = (settings.adws_dir, settings.database, settings.busy_timeout_ms, settings.logs_dir)
    if [type(value) for value in typed] != [str, str, int, str]:
        return None
    return settings


def _remember(real_root: str, settings: DatabaseSettings, parsed: bytes) -> None:
    if memo_store.disabled() or names_a_server(settings.database):
        return  # a server URL or libpq keyword string may hold a password
    body = {
        "config": memo_store.state_of(real_root, CONFIG_FILENAME, parsed),
        "settings": asdict(settings),
    }
    memo_store.save(KIND, real_root, body)


def names_a_server(database: str) -> bool:
    """The runtime's own reading of the setting: PostgreSQL (a URL or keyword string)."""
    from tac_bootstrap.runtime.adw_db_private import is_postgres_url, looks_like_conninfo

    value = database.strip()
    return is_postgres_url(value) or looks_like_conninfo(value)
