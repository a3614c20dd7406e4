"""A user's own `.claude/settings.json`, merged by add-agentic, with the real Claude Code CLI.

The repository already uses Claude Code: it has hooks of its own (on an event the layer also
uses) and permission rules. After `add-agentic` the real CLI (tests/real_claude.py, talking to
the fake Messages API) must run both the user's hooks and the layer's, and the layer's must
record the session in the orchestrator database: the merge is only right if the CLI agrees.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tac_bootstrap.runtime import hook_recorder

from .conftest import run_cli
from .fake_anthropic import FakeAnthropic, Request, text, tool_use
from .real_claude import claude_env, print_mode, run_claude
from .test_real_cli_hooks import bare_python, open_db

# The user's hooks write one file per call into $USER_HOOK_DIR, named after their event.
USER_HOOK = 'cat > "$USER_HOOK_DIR/{event}-$(date +%s%N)-$$.json"'


def user_settings() -> dict[str, Any]:
    return {
        "permissions": {"allow": ["Bash(echo:*)"], "defaultMode": "default"},
        "env": {"SHOP_MODE": "test"},
        "hooks": {
            "PreToolUse": [
                {
                    "matcher": "Bash",
                    "hooks": [{"type": "command", "command": USER_HOOK.format(event="pre")}],
                }
            ],
            "Stop": [{"hooks": [{"type": "command", "command": USER_HOOK.format(event="stop")}]}],
        },
    }


def responder(request: Request) -> list[dict[str, Any]]:
    if not request.has_tools:
        return [text("ok")]
    if request.turn == 0:
        return [tool_use("Bash", {"command": "echo merged", "description": "say merged"})]
    return [text("Done.")]


def test_the_cli_runs_the_users_hooks_and_the_layers_after_add_agentic(
    tmp_path: Path, claude_cli: Path, claude_home: Path, monkeypatch: Any
) -> None:
    root = tmp_path / "shop"
    (root / ".claude").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "1"\n')
    (root / ".claude/settings.json").write_text(json.dumps(user_settings(), indent=2) + "\n")
    added = run_cli("add-agentic", root, "--yes", "--json")
    assert added.returncode == 0, added.stdout + added.stderr
    merged = json.loads((root / ".claude/settings.json").read_text())
    assert merged["env"] == {"SHOP_MODE": "test"}

    user_hooks = tmp_path / "user-hooks"
    user_hooks.mkdir()
    database = tmp_path / "orchestrator.db"
    fallback = tmp_path / "hooks" / "hooks-fallback.jsonl"
    monkeypatch.setenv("TAC_ORCHESTRATOR_DB", str(database))
    monkeypatch.setenv("TAC_HOOK_FALLBACK_LOG", str(fallback))
    open_db(root, database).close()  # the hooks never create a database
    with FakeAnthropic(responder) as api:
        env = claude_env(
            api.base_url,
            claude_home,
            TAC_ORCHESTRATOR_DB=str(database),
            TAC_HOOK_FALLBACK_LOG=str(fallback),
            TAC_PYTHON=bare_python(),
            USER_HOOK_DIR=str(user_hooks),
        )
        run = run_claude(
            claude_cli,
            print_mode("say merged", "--allowedTools", "Bash"),
            cwd=root,
            env=env,
        )
    assert run.returncode == 0, run.stderr[-2000:]
    spool = hook_recorder.Spool(fallback, fallback.parent / "hooks-spool")
    assert hook_recorder.wait_until_recorded(spool, timeout=30)

    # The user's hooks ran, once per event: the merge kept them wired.
    ran = sorted(p.name.split("-")[0] for p in user_hooks.iterdir())
    assert ran == ["pre", "stop"], ran
    pre = json.loads(next(user_hooks.glob("pre-*")).read_text())
    assert pre["tool_name"] == "Bash" and pre["tool_input"]["command"] == "echo merged"

    # And the layer's hooks recorded the session: the same tool call, once.
    with sqlite3.connect(database) as conn:
        events = [
            json.loads(details)["hook_event_name"]
            for (details,) in conn.execute("SELECT details FROM agent_logs ORDER BY id")
        ]
    assert events.count("PreToolUse") == 1 and events.count("PostToolUse") == 1, events
    assert "SessionStart" in events and "Stop" in events
