"""The workflow/issues/triggers/queue config: validated by the CLI, read by the runtime."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from tac_bootstrap.domain.config import TacConfig, new_config
from tac_bootstrap.domain.workflow_config import (
    IssuesSection,
    QueueSection,
    TriggersSection,
    WorkflowSection,
)
from tac_bootstrap.runtime.adw_project import ProjectSettings
from tac_bootstrap.runtime.adw_settings import DEFAULTS, settings

SECTIONS: dict[str, type[BaseModel]] = {
    "workflow": WorkflowSection,
    "issues": IssuesSection,
    "triggers": TriggersSection,
    "queue": QueueSection,
}


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_the_runtime_defaults_equal_the_validated_defaults(name: str) -> None:
    assert DEFAULTS[name] == SECTIONS[name]().model_dump(mode="json")


def test_the_rendered_config_round_trips_every_section(tmp_path: Path) -> None:
    from tac_bootstrap.application.scaffold_service import ScaffoldService
    from tac_bootstrap.infrastructure.config_loader import load_config

    config = new_config("demo")
    service = ScaffoldService()
    text = service.renderer.render("tac_bootstrap.yml.j2", service.render_context(config))
    (tmp_path / "tac_bootstrap.yml").write_text(text, encoding="utf-8")
    loaded = load_config(tmp_path / "tac_bootstrap.yml")
    for name in SECTIONS:
        assert getattr(loaded, name) == getattr(config, name)
    project = ProjectSettings(tmp_path, "adws")
    for name in SECTIONS:
        assert settings(name, project) == DEFAULTS[name]


def test_the_runtime_ignores_values_of_the_wrong_type(tmp_path: Path) -> None:
    (tmp_path / "tac_bootstrap.yml").write_text(
        "workflow:\n  test_attempts: lots\n  commit: 1\n  worktrees_dir: work\n", encoding="utf-8"
    )
    values = settings("workflow", ProjectSettings(tmp_path, "adws"))
    assert values["test_attempts"] == DEFAULTS["workflow"]["test_attempts"]
    assert values["commit"] is True
    assert values["worktrees_dir"] == "work"


@pytest.mark.parametrize(
    ("section", "values"),
    [
        ("workflow", {"base_branch": "feature/../main"}),
        ("workflow", {"worktrees_dir": "../outside"}),
        ("workflow", {"isolation": "docker"}),
        ("workflow", {"check_commands": ["deploy"]}),
        ("workflow", {"test_attempts": 0}),
        ("workflow", {"copy_files": ["/etc/passwd"]}),
        ("workflow", {"port_base": 65_000, "ports_per_run": 100}),
        ("issues", {"source": "jira"}),
        ("issues", {"label": ""}),
        ("triggers", {"webhook_secret_env": "not a name"}),
        ("triggers", {"webhook_host": "http://0.0.0.0/"}),
        ("queue", {"lease_seconds": 1}),
        ("queue", {"unknown": 1}),
    ],
)
def test_bad_values_are_refused(section: str, values: dict[str, object]) -> None:
    data = new_config("demo").model_dump(mode="json")
    data[section] = {**data[section], **values}
    with pytest.raises(ValidationError):
        TacConfig.model_validate(data)
