"""The PreToolUse guard with the real Claude Code CLI (tests/real_claude.py).

The fake model (tests/fake_anthropic.py) asks for Bash commands in a generated project where
Bash is allowed (`--allowedTools Bash`); the CLI runs the project's settings.json hooks. A
blocked command must not run (the marker files it would have written are absent) and the
model's next request must carry the guard's reason as the tool result; a harmless command
runs; and a guard that cannot run blocks even a harmless one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import ProjectFactory
from .fake_anthropic import Block, FakeAnthropic, Request, text, tool_use
from .real_claude import claude_env, print_mode, run_claude


@pytest.fixture
def project(new_project: ProjectFactory, tmp_path: Path) -> Path:
    root = new_project(tmp_path / "out", "demo", "--no-git")
    (root / ".env").write_text("API_TOKEN=hunter2-not-for-the-model\n")
    return root


def scripted(commands: list[str]) -> Any:
    """The model: one Bash call per turn, then a final answer."""

    def respond(request: Request) -> list[Block]:
        if not request.has_tools:
            return [text("ok")]
        if request.turn < len(commands):
            return [tool_use("Bash", {"command": commands[request.turn], "description": "run"})]
        return [text("Done.")]

    return respond


def run_commands(
    project: Path, api: FakeAnthropic, home: Path, cli: Path, commands: list[str], **env: str
) -> list[tuple[str, bool]]:
    """Run the conversation; returns each tool result the model got back (text, is_error)."""
    api.responder = scripted(commands)
    environ = claude_env(api.base_url, home, TAC_ORCHESTRATOR_DB=str(home / "orch.db"), **env)
    run = run_claude(
        cli, print_mode("Run the commands.", "--allowedTools", "Bash"), cwd=project, env=environ
    )
    assert run.result.get("subtype") == "success", run.stderr[-2000:]
    last = api.main_requests()[-1]
    results = []
    for block in last.tool_results():
        content = block.get("content")
        if isinstance(content, list):
            content = "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
        results.append((str(content), bool(block.get("is_error"))))
    assert len(results) == len(commands), results
    return results


def test_the_cli_blocks_what_the_guard_refuses_and_runs_the_rest(
    project: Path, fake_api: FakeAnthropic, claude_home: Path, claude_cli: Path
) -> None:
    commands = [
        "touch pushed.marker && git push --force origin main",
        "cat .env > leaked.txt",
        "touch removed.marker; rm -rf ../demo",
        "sh -c 'touch nested.marker; cat ./.e\"nv\"'",
        "echo ok > allowed.marker",
    ]
    results = run_commands(project, fake_api, claude_home, claude_cli, commands)
    for (content, is_error), reason in zip(
        results[:4], ["force push", ".env", "would remove the project", ".env"], strict=True
    ):
        assert is_error, content
        assert "tool guard: blocked:" in content and reason in content, content
    assert "hunter2" not in json.dumps([r.body for r in fake_api.requests])
    for marker in ("pushed.marker", "leaked.txt", "removed.marker", "nested.marker"):
        assert not (project / marker).exists(), marker  # the command never ran
    assert (project / "README.md").exists() or (project / "tac_bootstrap.yml").exists()
    assert results[4] == (results[4][0], False) and "tool guard" not in results[4][0]
    assert (project / "allowed.marker").read_text() == "ok\n"


@pytest.mark.parametrize("breakage", ["truncated guard", "python fails"])
def test_a_guard_that_cannot_run_blocks_with_the_real_cli(
    project: Path,
    fake_api: FakeAnthropic,
    claude_home: Path,
    claude_cli: Path,
    breakage: str,
) -> None:
    env: dict[str, str] = {}
    guard = project / ".claude/hooks/tool_guard.py"
    if breakage == "truncated guard":  # a half-written file: valid Python that stops early
        source = guard.read_text()
        guard.write_text(source[: source.index("\nif __name__")])
    else:
        env["TAC_PYTHON"] = "false"
    [(content, is_error)] = run_commands(
        project, fake_api, claude_home, claude_cli, ["touch ran.marker"], **env
    )
    assert is_error and "tool guard: blocked: the guard failed" in content, content
    assert not (project / "ran.marker").exists()
