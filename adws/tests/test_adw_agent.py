"""adw_modules/agent.py against the fake agent CLI: arguments, recording, retries, fallback.

The fake prints Claude Code's stream-json shapes (tests/fake_claude.py); every test runs it as
a real process and records into a real SQLite file in tmp (see conftest.layer_env). What
parse_stream makes of the stream is in test_adw_agent_stream.py.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adw_modules.adw_database import OrchestratorDB
from adw_modules.agent import (
    AgentCLINotFound,
    PromptRequest,
    cli_arguments,
    resolve_cli,
    run_prompt,
)
from adw_modules.agent_stream import parse_stream
from conftest import COST, FAKE_CLAUDE, TOKENS


def rows(db_path: str, sql: str, *params: Any) -> list[sqlite3.Row]:
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, params))


@pytest.fixture
def agent(layer_env: dict[str, str]) -> Iterator[tuple[OrchestratorDB, str]]:
    """An open database in tmp and a running agent instance to record prompts for."""
    with OrchestratorDB.open() as db:
        owner = db.register_orchestrator_agent("adw_test_agent", "builder")
        instance = db.start_agent(owner.id, "session-agent-tests", name="agent-test")
        yield db, instance.id


def request(tmp_path: Path, **changes: Any) -> PromptRequest:
    """A prompt run in tmp (no .claude/settings.json there, so the fake runs no hooks)."""
    values: dict[str, Any] = {
        "prompt": "/implement specs/feature-x.md",
        "model": "sonnet",
        "working_dir": tmp_path,
        "output_file": tmp_path / "raw_output.jsonl",
        "max_retries": 1,
    }
    values.update(changes)
    return PromptRequest(**values)


def test_cli_arguments_carry_the_phase_limits_and_permissions(tmp_path: Path) -> None:
    args = cli_arguments(
        request(
            tmp_path,
            max_turns=7,
            max_budget_usd=0.25,
            permission_mode="acceptEdits",
            allowed_tools=["Read", "Bash(git diff:*)"],
            disallowed_tools=["Bash(git push --force:*)"],
        ),
        "opus",
    )
    assert args[args.index("--model") + 1] == "opus"
    assert args[args.index("--max-turns") + 1] == "7"
    assert float(args[args.index("--max-budget-usd") + 1]) == 0.25
    assert args[args.index("--permission-mode") + 1] == "acceptEdits"
    assert args[args.index("--allowedTools") + 1] == "Read,Bash(git diff:*)"
    assert args[args.index("--disallowedTools") + 1] == "Bash(git push --force:*)"


# -- run_prompt against the fake -----------------------------------------------------------


def test_run_prompt_records_one_completed_prompt(
    tmp_path: Path, layer_env: dict[str, str], agent: tuple[OrchestratorDB, str]
) -> None:
    db, agent_id = agent
    started = time.monotonic()
    result = run_prompt(db, agent_id, request(tmp_path))
    elapsed_ms = int((time.monotonic() - started) * 1000)
    assert result.success
    prompts = db.list_prompts(agent_id=agent_id)
    assert len(prompts) == 1
    prompt = prompts[0]
    assert prompt.status.value == "completed"
    assert prompt.prompt_text == "/implement specs/feature-x.md"
    assert prompt.model == "claude-sonnet-4-5"
    # Every token kind in its own column: cache tokens are not folded into input.
    assert (prompt.input_tokens, prompt.output_tokens) == (TOKENS["input"], TOKENS["output"])
    assert prompt.cache_creation_tokens == TOKENS["cache_write"]
    assert prompt.cache_read_tokens == TOKENS["cache_read"]
    assert prompt.cost_usd == COST
    assert prompt.cli_session_id == result.session_id
    assert (prompt.cli_retries, prompt.failure_kind, prompt.permission_denials) == (0, None, [])
    # Wall time around the CLI process: it spans the CLI's own duration and lies within the
    # call (same monotonic clock, both truncated to whole milliseconds).
    assert prompt.latency_ms is not None
    assert result.duration_ms <= prompt.latency_ms <= elapsed_ms
    assert prompt.response_text == "Implemented the plan. 1 file changed."
    assert prompt.completed_at is not None
    [share] = db.prompt_model_usage(prompt.id)
    assert (share.model, share.cost_usd, share.cache_read_tokens) == (
        "claude-sonnet-4-5",
        COST,
        TOKENS["cache_read"],
    )
    totals = db.get_agent(agent_id)
    assert (totals.input_tokens, totals.output_tokens, totals.total_cost_usd) == (
        TOKENS["input"],
        TOKENS["output"],
        COST,
    )
    assert (totals.cache_creation_tokens, totals.cache_read_tokens) == (100, 400)
    assert totals.model == "claude-sonnet-4-5"
    logs = rows(
        layer_env["TAC_ORCHESTRATOR_DB"],
        "SELECT log_type, details FROM agent_logs WHERE agent_id = ? ORDER BY rowid",
        agent_id,
    )
    assert [r["log_type"] for r in logs] == ["prompt", "response"]
    details = json.loads(logs[1]["details"])
    assert details["prompt_id"] == prompt.id
    assert details["tools"] == ["Edit"]


def test_run_prompt_writes_the_raw_stream(
    tmp_path: Path, layer_env: dict[str, str], agent: tuple[OrchestratorDB, str]
) -> None:
    db, agent_id = agent
    raw = tmp_path / "phase" / "raw_output.jsonl"
    result = run_prompt(db, agent_id, request(tmp_path, output_file=raw))
    events = [json.loads(line) for line in raw.read_text(encoding="utf-8").splitlines()]
    assert [e["type"] for e in events] == ["system", "assistant", "user", "assistant", "result"]
    assert events[0]["subtype"] == "init"
    assert events[-1]["session_id"] == result.session_id
    assert events[-1]["total_cost_usd"] == COST
    # The file is the very stream the result was parsed from.
    assert parse_stream(raw.read_text(encoding="utf-8").splitlines()) == result


def test_rate_limits_are_retried_by_the_cli_and_recorded_once(
    tmp_path: Path, layer_env: dict[str, str], agent: tuple[OrchestratorDB, str]
) -> None:
    """One retry policy: the CLI retries (CLAUDE_CODE_MAX_RETRIES); the workflow does not
    run the whole prompt again on top of it, and records the CLI's retries."""
    db, agent_id = agent
    request_ = request(tmp_path, cli_max_retries=3, env={"FAKE_CLAUDE_RATE_LIMIT": "2"})
    result = run_prompt(db, agent_id, request_)
    assert result.success
    [prompt] = db.list_prompts(agent_id=agent_id)
    assert (prompt.status.value, prompt.cli_retries) == ("completed", 2)
    messages = [
        r["message"]
        for r in rows(
            layer_env["TAC_ORCHESTRATOR_DB"],
            "SELECT message FROM agent_logs WHERE agent_id = ? ORDER BY rowid",
            agent_id,
        )
    ]
    assert sum("the agent CLI retried after rate_limit" in m for m in messages) == 2


def test_a_rate_limit_the_cli_gave_up_on_is_not_retried_again(
    tmp_path: Path, layer_env: dict[str, str], agent: tuple[OrchestratorDB, str]
) -> None:
    db, agent_id = agent
    request_ = request(
        tmp_path, max_retries=3, cli_max_retries=2, env={"FAKE_CLAUDE_RATE_LIMIT": "10"}
    )
    result = run_prompt(db, agent_id, request_)
    assert not result.success
    assert result.failure_kind == "rate_limit"
    [prompt] = db.list_prompts(agent_id=agent_id)
    assert (prompt.status.value, prompt.failure_kind, prompt.cli_retries) == (
        "failed",
        "rate_limit",
        2,
    )
    assert prompt.model == "claude-sonnet-4-5"
    assert db.get_agent(agent_id).total_cost_usd == 0.0


def test_quota_falls_back_to_the_fallback_model(
    tmp_path: Path, layer_env: dict[str, str], agent: tuple[OrchestratorDB, str]
) -> None:
    db, agent_id = agent
    request_ = request(tmp_path, fallback_model="haiku", env={"FAKE_CLAUDE_QUOTA_MODEL": "sonnet"})
    result = run_prompt(db, agent_id, request_)
    assert result.success
    assert result.model == "claude-haiku-4-5"
    prompts = rows(
        layer_env["TAC_ORCHESTRATOR_DB"],
        "SELECT status, model, error_message, failure_kind FROM prompts WHERE agent_id = ? "
        "ORDER BY rowid",
        agent_id,
    )
    assert [(p["status"], p["model"], p["failure_kind"]) for p in prompts] == [
        ("failed", "claude-sonnet-4-5", "quota"),
        ("completed", "claude-haiku-4-5", None),
    ]
    assert "Credit balance is too low" in prompts[0]["error_message"]
    assert db.get_agent(agent_id).model == "claude-haiku-4-5"  # agents.model follows it
    messages = [
        r["message"]
        for r in rows(
            layer_env["TAC_ORCHESTRATOR_DB"],
            "SELECT message FROM agent_logs WHERE agent_id = ? ORDER BY rowid",
            agent_id,
        )
    ]
    assert "quota exhausted; falling back to haiku" in messages
    assert "prompt sent to haiku (attempt 1)" in messages


def test_quota_without_fallback_fails_at_once(
    tmp_path: Path, layer_env: dict[str, str], agent: tuple[OrchestratorDB, str]
) -> None:
    db, agent_id = agent
    result = run_prompt(db, agent_id, request(tmp_path, env={"FAKE_CLAUDE_QUOTA_MODEL": "sonnet"}))
    assert not result.success
    assert result.failure_kind == "quota"
    assert [p.status.value for p in db.list_prompts(agent_id=agent_id)] == ["failed"]


def test_crash_is_retried(
    tmp_path: Path, layer_env: dict[str, str], agent: tuple[OrchestratorDB, str]
) -> None:
    db, agent_id = agent
    result = run_prompt(db, agent_id, request(tmp_path, env={"FAKE_CLAUDE_CRASH": "1"}))
    assert result.success
    prompts = rows(
        layer_env["TAC_ORCHESTRATOR_DB"],
        "SELECT status, error_message, failure_kind FROM prompts WHERE agent_id = ? ORDER BY rowid",
        agent_id,
    )
    assert [(p["status"], p["failure_kind"]) for p in prompts] == [
        ("failed", "crash"),
        ("completed", None),
    ]
    assert "without a result" in prompts[0]["error_message"]
    assert "ECONNRESET" in prompts[0]["error_message"]


def test_crashes_beyond_max_retries_fail(
    tmp_path: Path, layer_env: dict[str, str], agent: tuple[OrchestratorDB, str]
) -> None:
    db, agent_id = agent
    result = run_prompt(
        db, agent_id, request(tmp_path, max_retries=2, env={"FAKE_CLAUDE_CRASH": "10"})
    )
    assert result.failure_kind == "crash"
    assert len(db.list_prompts(agent_id=agent_id)) == 3  # the first attempt and two retries


def test_fatal_error_is_not_retried(
    tmp_path: Path, layer_env: dict[str, str], agent: tuple[OrchestratorDB, str]
) -> None:
    db, agent_id = agent
    result = run_prompt(db, agent_id, request(tmp_path, env={"FAKE_CLAUDE_FAIL_ON": "/implement"}))
    assert not result.success
    assert result.failure_kind == "fatal"
    prompts = db.list_prompts(agent_id=agent_id)
    assert [p.status.value for p in prompts] == ["failed"]
    assert prompts[0].error_message == "Execution failed while handling '/implement'"
    errors = rows(
        layer_env["TAC_ORCHESTRATOR_DB"],
        "SELECT log_level FROM agent_logs WHERE agent_id = ? AND log_type = 'error'",
        agent_id,
    )
    assert [r["log_level"] for r in errors] == ["ERROR"]


def test_a_phase_timeout_ends_the_cli_and_everything_it_started(
    tmp_path: Path, layer_env: dict[str, str], agent: tuple[OrchestratorDB, str]
) -> None:
    """The CLI runs in its own process group: a timeout ends it and its children."""
    db, agent_id = agent
    marker = tmp_path / "child.pid"
    script = tmp_path / "hanging_cli.py"
    script.write_text(
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(marker)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(600)\n"
    )
    script.chmod(0o755)
    wrapper = tmp_path / "hanging-claude"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {script}\n")
    wrapper.chmod(0o755)
    result = run_prompt(db, agent_id, request(tmp_path, timeout_seconds=1.5), cli=str(wrapper))
    assert result.failure_kind == "timeout"
    [prompt] = db.list_prompts(agent_id=agent_id)
    assert (prompt.status.value, prompt.failure_kind) == ("failed", "timeout")
    child = int(marker.read_text())
    deadline = 50
    while deadline and Path(f"/proc/{child}").exists():
        stat = Path(f"/proc/{child}/stat").read_text().split()
        if stat[2] == "Z":
            break
        deadline -= 1
        import time

        time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists() or stat[2] == "Z"


# -- finding the CLI -----------------------------------------------------------------------


def test_resolve_cli_uses_claude_code_path(layer_env: dict[str, str]) -> None:
    assert Path(resolve_cli()) == FAKE_CLAUDE


def test_resolve_cli_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no-such-dir" / "claude"
    monkeypatch.setenv("CLAUDE_CODE_PATH", str(missing))
    with pytest.raises(AgentCLINotFound) as info:
        resolve_cli("claude")
    message = str(info.value)
    assert str(missing) in message
    assert "not found" in message
    assert "CLAUDE_CODE_PATH" in message
    assert "\n" not in message


def test_resolve_cli_missing_configured_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_CODE_PATH", raising=False)
    with pytest.raises(AgentCLINotFound, match="no-such-agent-cli-3f9a"):
        resolve_cli("no-such-agent-cli-3f9a")
