"""The config file: round trip, and errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import Language, PackageManager, new_config
from tac_bootstrap.domain.errors import ConfigError
from tac_bootstrap.infrastructure.config_loader import parse_config

from .conftest import tree_snapshot


@pytest.mark.parametrize(
    ("language", "pm"),
    [
        (Language.PYTHON, PackageManager.UV),
        (Language.TYPESCRIPT, PackageManager.YARN),
        (Language.GO, None),
        (Language.RUST, None),
        (Language.JAVA, PackageManager.GRADLE),
    ],
)
def test_rendered_config_reads_back_equal(language: Language, pm: PackageManager | None) -> None:
    config = new_config("round-trip", language, "none", pm)
    text = ScaffoldService().render_config(config)
    assert parse_config(text, "tac_bootstrap.yml") == config


VALID = ScaffoldService().render_config(new_config("demo"))


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("  lint:", "  lnt:", "commands.lnt", "unknown key"),
        (
            "  busy_timeout_ms: 30000",
            "  busy_timeout_ms: soon",
            "orchestrator.busy_timeout_ms",
            "valid integer",
        ),
        ("  language: python", "  language: cobol", "project.language", "Input should be"),
        ('  adws_dir: "adws"', '  adws_dir: "../outside"', "paths.adws_dir", "relative path"),
        ('  name: "demo"', '  name: ".hidden"', "project.name", "starts with '.'"),
        ("  max_retries: 1", "  max_retries: -1", "agentic.max_retries", "greater than"),
        ('  claude_dir: ".claude"', '  claude_dir: "cfg"', "paths.claude_dir", "reads only"),
    ],
)
def test_invalid_config_names_file_line_and_field(
    old: str, new: str, field: str, message: str
) -> None:
    assert old in VALID
    text = VALID.replace(old, new)
    with pytest.raises(ConfigError) as info:
        parse_config(text, "cfg.yml")
    error = str(info.value)
    assert error.startswith(f"cfg.yml:{line_of(text, new.strip().split(':')[0])}: ")
    assert f"field '{field}'" in error
    assert message in error
    assert info.value.exit_code == 2


def test_missing_required_section() -> None:
    with pytest.raises(ConfigError, match=r"cfg.yml:1: field 'project': Field required"):
        parse_config("version: 1\n", "cfg.yml")


def test_duplicate_keys_are_errors() -> None:
    text = VALID.replace("  lint:", '  test: "again"\n  lint:')
    with pytest.raises(ConfigError, match=r"duplicate key 'test' \(first set on line \d+\)"):
        parse_config(text, "cfg.yml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("project: [unclosed\n", "cfg.yml:2: invalid YAML"),
        ("- a list\n", "cfg.yml:1: the config must be a mapping"),
        ("", "config file is empty"),
    ],
)
def test_malformed_yaml(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_config(text, "cfg.yml")


def test_invalid_config_on_render_exits_2_and_writes_nothing(cli: Any, tmp_path: Path) -> None:
    assert cli("init", "demo", "-o", tmp_path, "--yes").exit_code == 0
    project = tmp_path / "demo"
    (project / "adws/schema/README.md").unlink()
    config = project / "tac_bootstrap.yml"
    config.write_text(config.read_text().replace("  lint:", "  lnit:"))
    snapshot = tree_snapshot(project)
    result = cli("render", project)
    assert result.exit_code == 2
    line = line_of(config.read_text(), "lnit:")
    assert result.stderr == (
        f"error: {config}:{line}: field 'commands.lnit': unknown key; "
        "remove it or check its spelling\n"
    )
    assert tree_snapshot(project) == snapshot
