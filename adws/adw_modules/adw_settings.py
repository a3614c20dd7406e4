"""The workflow, issues, triggers and queue settings a run reads, with their defaults.

tac-bootstrap validates tac_bootstrap.yml (domain/workflow_config.py); the runtime only reads
it, so a key missing from an older config falls back to the same default here.
tests/test_workflow_config.py keeps these defaults equal to the validated model's.
"""

from __future__ import annotations

from typing import Any

from .adw_project import ProjectSettings, current_project

DEFAULTS: dict[str, dict[str, Any]] = {
    "workflow": {
        "isolation": "worktree",
        "worktrees_dir": "trees",
        "base_branch": "",
        "remote": "origin",
        "copy_files": [".env", ".env.local"],
        "port_base": 9100,
        "ports_per_run": 10,
        "max_port_slots": 50,
        "setup": "",
        "check_commands": ["test", "lint", "typecheck"],
        "command_timeout_seconds": 900,
        "test_attempts": 3,
        "review_attempts": 2,
        "commit": True,
        "auto_merge": False,
    },
    "issues": {"source": "github", "local_dir": "issues", "label": "adw"},
    "triggers": {
        "max_concurrent": 4,
        "poll_interval_seconds": 60,
        "webhook_host": "127.0.0.1",
        "webhook_port": 8787,
        "webhook_secret_env": "TAC_WEBHOOK_SECRET",
        "webhook_max_bytes": 1_048_576,
    },
    "queue": {"lease_seconds": 120, "heartbeat_seconds": 20},
}


def settings(section: str, project: ProjectSettings | None = None) -> dict[str, Any]:
    """The section's values: the config's where present and of the default's type, else the
    default (a hand-edited config that tac-bootstrap never validated must not crash a run)."""
    configured = (project or current_project()).section(section)
    values = dict(DEFAULTS[section])
    for key, default in DEFAULTS[section].items():
        value = configured.get(key)
        if value is None:
            continue
        if isinstance(default, bool):
            if isinstance(value, bool):
                values[key] = value
        elif isinstance(default, int):
            if isinstance(value, int) and not isinstance(value, bool):
                values[key] = value
        elif isinstance(default, list):
            if isinstance(value, list):
                values[key] = [str(item) for item in value]
        elif isinstance(value, str):
            values[key] = value
    return values
