"""The phase agents as Claude Code subagents (.claude/agents/*.md), generated from the config.

Each is a whole file the layer owns: its tools fixed by its role, its model from
agentic.models (the reviewer on the heavy model, the others on the default), every config
value escaped for the YAML front matter. render --check, doctor, upgrade and remove treat
them like the other generated files, and a user's own agents beside them are never touched.
The real CLI running them is tests/test_real_cli_subagents.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tac_bootstrap import api

from .conftest import ProjectFactory, run_cli

AGENTS = ".claude/agents"
ROLE_TOOLS = {
    "planner": ["Read", "Grep", "Glob", "Write"],
    "builder": ["Read", "Grep", "Glob", "Edit", "Write", "Bash"],
    "tester": ["Bash", "Read", "Grep", "Glob"],
    "reviewer": ["Read", "Grep", "Glob"],
    "documenter": ["Read", "Grep", "Glob", "Edit", "Write"],
}
# Where each role may write: the reviewer and the tester never edit a file.
EDITING = {"Edit", "Write"}


@pytest.fixture
def project(new_project: ProjectFactory, tmp_path: Path) -> Path:
    return new_project(tmp_path)


def front_matter(path: Path) -> tuple[dict[str, Any], str]:
    """(the YAML front matter, the system prompt) of a subagent file."""
    content = path.read_text(encoding="utf-8")
    assert content.startswith("---\n"), content[:80]
    head, separator, body = content[4:].partition("\n---\n")
    assert separator, "the front matter is not closed"
    fields = yaml.safe_load(head)
    assert isinstance(fields, dict)
    return fields, body


def set_models(project: Path, default: str, heavy: str) -> None:
    """Replace agentic.models in the config (YAML-quoted) and re-render."""
    config = project / "tac_bootstrap.yml"
    text = config.read_text(encoding="utf-8")
    assert 'default: "sonnet"' in text and 'heavy: "opus"' in text
    text = text.replace('default: "sonnet"', f"default: {json.dumps(default)}")
    text = text.replace('heavy: "opus"', f"heavy: {json.dumps(heavy)}")
    config.write_text(text, encoding="utf-8")
    result = run_cli("render", project, "--force")
    assert result.returncode == 0, result.stderr


def agents_drift(cli: Any, project: Path) -> list[dict[str, str]]:
    """What render --check reports under .claude/agents/ (the files of this test)."""
    result = cli("render", project, "--check", "--json")
    differs: list[dict[str, str]] = json.loads(result.stdout)["differs"]
    return [d for d in differs if d["path"].startswith(f"{AGENTS}/")]


def doctor_checks(project: Path) -> list[dict[str, Any]]:
    """doctor's checks, as its --json document lists them."""
    checks: list[dict[str, Any]] = json.loads(json.dumps(api.doctor(project).to_dict()))["checks"]
    return checks


def test_a_fresh_project_has_the_five_phase_agents_with_their_roles_tools(project: Path) -> None:
    assert sorted(p.stem for p in (project / AGENTS).iterdir()) == sorted(ROLE_TOOLS)
    for role, tools in ROLE_TOOLS.items():
        fields, body = front_matter(project / AGENTS / f"{role}.md")
        assert list(fields) == ["name", "description", "tools", "model"]
        assert fields["name"] == role
        assert fields["tools"].split(", ") == tools  # comma-separated, as Claude Code reads it
        assert fields["model"] == ("opus" if role == "reviewer" else "sonnet")
        assert "demo" in fields["description"]
        assert f"You are the **{role}** of **demo**" in body
    # Only the builder and the documenter edit; the planner writes its plan file only.
    assert {r for r, t in ROLE_TOOLS.items() if EDITING & set(t)} == {
        "planner",
        "builder",
        "documenter",
    }
    assert "Write" in ROLE_TOOLS["planner"] and "Edit" not in ROLE_TOOLS["planner"]


@pytest.mark.parametrize(
    ("default", "heavy"),
    [
        ("claude-sonnet-4-5", "claude-opus-4-1"),
        ('fancy: "model" #1', "yes"),  # a colon, quotes and a comment sign; a YAML boolean
        ("null", "- [x] {y}: 'z'"),
        ("\u00fcn\u00ef c\u00f6d\u00e9 \u2013 dash", "back\\slash"),
    ],
)
def test_the_models_come_from_the_config_and_reparse_unchanged(
    project: Path, default: str, heavy: str
) -> None:
    set_models(project, default, heavy)
    for role in ROLE_TOOLS:
        fields, _ = front_matter(project / AGENTS / f"{role}.md")
        assert fields["model"] == (heavy if role == "reviewer" else default)
        assert fields["name"] == role  # nothing the value holds leaked into another field
        assert fields["tools"].split(", ") == ROLE_TOOLS[role]


def test_an_empty_model_inherits_the_sessions(project: Path) -> None:
    set_models(project, "", "")
    for role in ROLE_TOOLS:
        fields, _ = front_matter(project / AGENTS / f"{role}.md")
        assert fields["model"] == "inherit"


def test_the_tester_and_builder_name_the_configured_check_commands(project: Path) -> None:
    config = project / "tac_bootstrap.yml"
    text = config.read_text(encoding="utf-8")
    assert 'test: "python -m pytest"' in text
    config.write_text(text.replace('test: "python -m pytest"', 'test: "make `check`"'), "utf-8")
    assert run_cli("render", project, "--force").returncode == 0
    for role in ("tester", "builder"):
        _, body = front_matter(project / AGENTS / f"{role}.md")
        assert "`` make `check` ``" in body  # the value shown exactly (md_code)
        assert "`lint`: `ruff check .`" in body


def test_agents_are_generated_files_for_render_check_and_doctor(cli: Any, project: Path) -> None:
    reviewer = project / AGENTS / "reviewer.md"
    generated = reviewer.read_bytes()
    reviewer.write_text(generated.decode().replace("tools: Read, Grep, Glob", "tools: Bash"))
    (project / AGENTS / "planner.md").unlink()

    assert agents_drift(cli, project) == [
        {"path": f"{AGENTS}/planner.md", "state": "deleted"},
        {"path": f"{AGENTS}/reviewer.md", "state": "differs"},
    ]
    (edited,) = [c for c in doctor_checks(project) if c["name"] == "edited"]
    assert edited["status"] == "warn" and f"{AGENTS}/reviewer.md" in edited["details"]

    assert cli("render", project, "--force").exit_code == 0
    assert reviewer.read_bytes() == generated
    assert agents_drift(cli, project) == []


def test_a_users_own_agents_are_never_touched(cli: Any, project: Path) -> None:
    own = {
        f"{AGENTS}/security-auditor.md": b"---\nname: security-auditor\n---\nMine.\n",
        f"{AGENTS}/team/helper.md": b"---\nname: helper\ntools: Read\n---\nOurs.\n",
    }
    for relative, content in own.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_bytes(content)

    def untouched() -> None:
        for relative, content in own.items():
            assert (project / relative).read_bytes() == content, relative

    assert agents_drift(cli, project) == []  # not ours: no drift
    mentioned = json.dumps([c for c in doctor_checks(project) if c["name"] in ("files", "edited")])
    assert "security-auditor" not in mentioned and "helper.md" not in mentioned
    assert cli("render", project, "--force").exit_code == 0
    untouched()
    assert api.upgrade(project).ok
    untouched()
    removed = api.remove(project)
    assert removed.ok, removed.to_dict()
    untouched()
    assert sorted(p.name for p in (project / AGENTS).iterdir()) == ["security-auditor.md", "team"]
