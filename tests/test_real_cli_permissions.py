"""The permission policy of a generated settings.json, enforced by the real Claude Code CLI.

The model is tests/fake_anthropic.py: it asks for tool calls, and what the CLI sends back as
their results is what the model would see. The project's hooks are removed from its
settings.json, so the PreToolUse guard cannot be what refuses: these are the deny rules.
Run both ways the rules reach the CLI: from settings.json alone (an interactive session), and
as the workflows pass them (--allowedTools/--disallowedTools from the same file).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.runtime.workflow import claude_permissions

from .conftest import run_cli
from .fake_anthropic import Block, FakeAnthropic, Request, text, tool_use
from .real_claude import claude_env, print_mode, run_claude

SECRETS = {
    ".env": "API_KEY=sk-root-env-5f1c9a",
    "sub/.env": "API_KEY=sk-nested-env-77b2d0",
    "sub/.env.local": "API_KEY=sk-nested-local-0c3e91",
    "adws/schema/orchestrator.db": "SQLite format 3 secret-row-4e8a21",
    "logs/hooks-fallback.jsonl": '{"raw": "hook-input-9d0b17"}',
}
CONTROL = "README.md"
CONTROL_TEXT = "an ordinary readme line 31c6"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("permissions")
    done = run_cli("init", "demo", "-o", root, "--yes", "--no-git")
    assert done.returncode == 0, done.stderr
    project = root / "demo"
    for name, content in {**SECRETS, CONTROL: CONTROL_TEXT}.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content + "\n", encoding="utf-8")
    settings_path = project / ".claude" / "settings.json"
    settings = json.loads(settings_path.read_text(encoding="utf-8"))
    settings.pop("hooks")  # the guard must not be what refuses
    settings_path.write_text(json.dumps(settings, indent=2), encoding="utf-8")
    return project


def scripted(steps: list[Block]) -> Callable[[Request], list[Block]]:
    def respond(request: Request) -> list[Block]:
        if not request.has_tools:
            return [text("side answer")]
        return [steps[request.turn]] if request.turn < len(steps) else [text("All done.")]

    return respond


def run(project: Path, api: FakeAnthropic, home: Path, cli: Path, mode: str) -> None:
    args = print_mode("Check the files [[script:permissions]]")
    if mode == "workflow":
        allow, deny = claude_permissions(project, ".claude")
        args += ["--allowedTools", ",".join(allow), "--disallowedTools", ",".join(deny)]
    done = run_claude(cli, args, cwd=project, env=claude_env(api.base_url, home))
    assert done.result, done.stderr


def results_by_id(api: FakeAnthropic) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for request in api.main_requests():
        for result in request.tool_results():
            found[str(result["tool_use_id"])] = result
    return found


def content_text(result: dict[str, Any]) -> str:
    content = result.get("content")
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content or "")


def denied(result: dict[str, Any]) -> bool:
    words = content_text(result).lower()
    return bool(result.get("is_error")) and ("denied" in words or "permission" in words)


@pytest.mark.parametrize("mode", ["settings", "workflow"])
def test_secrets_databases_and_logs_are_refused_a_normal_read_works(
    claude_cli: Path, fake_api: FakeAnthropic, claude_home: Path, project: Path, mode: str
) -> None:
    reads = [tool_use("Read", {"file_path": str(project / name)}) for name in SECRETS]
    control = tool_use("Read", {"file_path": str(project / CONTROL)})
    env = project / "sub" / ".env"
    write = tool_use("Write", {"file_path": str(env), "content": "API_KEY=overwritten\n"})
    fake_api.responder = scripted([*reads, write, control])
    run(project, fake_api, claude_home, claude_cli, mode)
    results = results_by_id(fake_api)
    for step, name in zip(reads, SECRETS, strict=True):
        assert denied(results[step["id"]]), (name, results[step["id"]])
    assert denied(results[write["id"]]), results[write["id"]]
    assert env.read_text(encoding="utf-8") == SECRETS["sub/.env"] + "\n"
    assert CONTROL_TEXT in content_text(results[control["id"]])
    assert not results[control["id"]].get("is_error")
    sent = json.dumps([r.body for r in fake_api.requests])
    for name, secret in SECRETS.items():
        assert secret.split("=")[-1] not in sent, name


@pytest.mark.parametrize("mode", ["settings", "workflow"])
@pytest.mark.parametrize(
    "command",
    [
        "git push --force origin main",
        "git push -f origin main",
        "git push --force-with-lease origin main",
        "git push origin +main",
        "git push +main",
        "git push origin main --force",
        "git push origin main -f",
        "git push origin --force-if-includes main",
    ],
)
def test_a_force_push_is_denied_by_a_rule_a_plain_git_command_runs(
    claude_cli: Path,
    fake_api: FakeAnthropic,
    claude_home: Path,
    project: Path,
    command: str,
    mode: str,
) -> None:
    push = tool_use("Bash", {"command": command, "description": "push"})
    status = tool_use("Bash", {"command": "git status", "description": "status"})
    fake_api.responder = scripted([push, status])
    run(project, fake_api, claude_home, claude_cli, mode)
    results = results_by_id(fake_api)
    assert denied(results[push["id"]]), results[push["id"]]
    # The allow rule Bash(git status:*) ran it (no repository here, so git says so).
    assert "not a git repository" in content_text(results[status["id"]]).lower()


@pytest.mark.parametrize("mode", ["settings", "workflow"])
@pytest.mark.parametrize("command", ["git add -f logs/x", "git add --force .env", "git add . -f"])
def test_git_add_force_is_never_auto_allowed(
    claude_cli: Path,
    fake_api: FakeAnthropic,
    claude_home: Path,
    project: Path,
    command: str,
    mode: str,
) -> None:
    """An ask rule: in print mode nobody can answer, so the CLI does not run it."""
    add = tool_use("Bash", {"command": command, "description": "add"})
    fake_api.responder = scripted([add])
    run(project, fake_api, claude_home, claude_cli, mode)
    result = results_by_id(fake_api)[add["id"]]
    assert result.get("is_error"), result
    assert "not a git repository" not in content_text(result).lower()  # it never ran
