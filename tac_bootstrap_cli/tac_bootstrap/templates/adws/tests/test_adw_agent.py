"""adw_modules/agent.py against the fake agent CLI: parsing, failure kinds, retries, fallback.

The fake prints Claude Code's stream-json shapes (tests/fake_claude.py); every test runs it as
a real process and records into a real SQLite file in tmp (see conftest.layer_env).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from adw_modules.adw_database import OrchestratorDB
from adw_modules.agent import (
    AgentCLINotFound,
    AgentResult,
    PromptRequest,
    parse_stream,
    resolve_cli,
    run_prompt,
)

from conftest import FAKE_CLAUDE

COST = 0.015625  # what the fake charges per successful call
# The fake's final usage: 24 input, 100 cache creation, 400 cache read, 60 output tokens.
PROCESSED_INPUT = 24 + 100 + 400


def run_fake(
    prompt: str, cwd: Path, model: str = "sonnet", **env: str
) -> subprocess.CompletedProcess[str]:
    """The fake CLI as a process, with the arguments the workflows pass."""
    command = [sys.executable, str(FAKE_CLAUDE), "-p", prompt, "--output-format", "stream-json"]
    return subprocess.run(
        [*command, "--verbose", "--model", model],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


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
        "max_retries": 3,
    }
    values.update(changes)
    return PromptRequest(**values)


# -- parse_stream on the fake's real output ------------------------------------------------


def test_parse_stream_success(tmp_path: Path, layer_env: dict[str, str]) -> None:
    run = run_fake("/implement specs/feature-x.md", tmp_path)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    init = json.loads(lines[0])
    result = parse_stream(lines, run.returncode, run.stderr)
    assert result.success
    assert result.failure_kind is None
    assert result.error is None
    assert result.subtype == "success"
    assert result.result_text == "Implemented the plan. 1 file changed."
    assert result.session_id == init["session_id"]
    assert result.model == "claude-sonnet-4-5"
    assert result.input_tokens == 24
    assert result.output_tokens == 60
    assert result.cache_creation_tokens == 100
    assert result.cache_read_tokens == 400
    assert result.cost_usd == COST
    assert result.num_turns == 3
    assert result.duration_ms >= 0
    assert result.tool_uses == ["Edit"]


def test_parse_stream_ignores_noise_between_events(
    tmp_path: Path, layer_env: dict[str, str]
) -> None:
    run = run_fake("/review specs/feature-x.md", tmp_path, model="opus")
    noisy = ["", "not json", "[1, 2]", "{broken", *run.stdout.splitlines(), "trailing text"]
    result = parse_stream(noisy, 0)
    assert result.success
    assert result.model == "claude-opus-4-1"
    assert json.loads(result.result_text)["success"] is True
    assert result.tool_uses == ["Read"]


def test_parse_stream_error_result(tmp_path: Path, layer_env: dict[str, str]) -> None:
    run = run_fake("/implement specs/feature-x.md", tmp_path, FAKE_CLAUDE_FAIL_ON="/implement")
    assert run.returncode == 1
    result = parse_stream(run.stdout.splitlines(), run.returncode, run.stderr)
    assert not result.success
    assert result.subtype == "error_during_execution"
    assert result.error == "Execution failed while handling '/implement'"
    assert result.exit_code == 1
    assert result.cost_usd == 0.0
    assert result.session_id is not None
    assert result.failure_kind == "fatal"


def test_parse_stream_without_result_line_is_transient(
    tmp_path: Path, layer_env: dict[str, str]
) -> None:
    crashed = run_fake("/implement specs/feature-x.md", tmp_path, FAKE_CLAUDE_CRASH="1")
    assert crashed.returncode == 1
    assert crashed.stdout == ""
    result = parse_stream(crashed.stdout.splitlines(), crashed.returncode, crashed.stderr)
    assert not result.success
    assert result.subtype is None
    assert result.failure_kind == "transient"
    assert result.error is not None
    assert "without a result" in result.error
    assert "ECONNRESET" in result.error

    # Killed mid-run: the events so far are kept, but without a result it is still transient.
    complete = run_fake("/implement specs/feature-x.md", tmp_path)
    cut = parse_stream(complete.stdout.splitlines()[:-1], -9, "")
    assert not cut.success
    assert cut.failure_kind == "transient"
    assert cut.model == "claude-sonnet-4-5"
    assert cut.session_id == json.loads(complete.stdout.splitlines()[0])["session_id"]
    assert cut.error is not None
    assert "code -9" in cut.error


def test_parse_stream_rate_limit_and_quota_results(
    tmp_path: Path, layer_env: dict[str, str]
) -> None:
    limited = run_fake("/test", tmp_path, FAKE_CLAUDE_RATE_LIMIT="1")
    result = parse_stream(limited.stdout.splitlines(), limited.returncode, limited.stderr)
    assert not result.success
    assert result.failure_kind == "rate_limit"
    assert result.error is not None
    assert "429" in result.error

    quota = run_fake("/test", tmp_path, FAKE_CLAUDE_QUOTA_MODEL="sonnet")
    result = parse_stream(quota.stdout.splitlines(), quota.returncode, quota.stderr)
    assert not result.success
    assert result.failure_kind == "quota"


@pytest.mark.parametrize(
    ("error", "subtype", "kind"),
    [
        ('API Error: 429 {"type":"rate_limit_error"}', "success", "rate_limit"),
        ("API Error: 529 Overloaded", "success", "rate_limit"),
        ("Claude AI usage limit reached|1767225600", "success", "quota"),
        ("Credit balance is too low", "success", "quota"),
        ("API Error: 500 Internal server error", "success", "transient"),
        ("Request timed out", "error_during_execution", "transient"),
        ("agent CLI exited with code 1 without a result (no result message)", None, "transient"),
        ("Execution failed while handling '/implement'", "error_during_execution", "fatal"),
        ("error_max_turns", "error_max_turns", "fatal"),
    ],
)
def test_failure_kind(error: str, subtype: str | None, kind: str) -> None:
    assert AgentResult(success=False, error=error, subtype=subtype).failure_kind == kind


def test_failure_kind_of_a_success_is_none() -> None:
    assert AgentResult(success=True, result_text="rate limit 429 quota").failure_kind is None


# -- run_prompt against the fake -----------------------------------------------------------


def test_run_prompt_records_one_completed_prompt(
    tmp_path: Path, layer_env: dict[str, str], agent: tuple[OrchestratorDB, str]
) -> None:
    db, agent_id = agent
    result = run_prompt(db, agent_id, request(tmp_path))
    assert result.success
    prompts = db.list_prompts(agent_id=agent_id)
    assert len(prompts) == 1
    prompt = prompts[0]
    assert prompt.status.value == "completed"
    assert prompt.prompt_text == "/implement specs/feature-x.md"
    assert prompt.model == "claude-sonnet-4-5"
    assert prompt.input_tokens == PROCESSED_INPUT
    assert prompt.output_tokens == 60
    assert prompt.cost_usd == COST
    assert prompt.latency_ms is not None
    assert prompt.latency_ms >= 0
    assert prompt.response_text == "Implemented the plan. 1 file changed."
    assert prompt.completed_at is not None
    totals = db.get_agent(agent_id)
    assert (totals.input_tokens, totals.output_tokens, totals.total_cost_usd) == (
        PROCESSED_INPUT,
        60,
        COST,
    )
    # The split of the input tokens is kept in the response log's details.
    logs = rows(
        layer_env["TAC_ORCHESTRATOR_DB"],
        "SELECT log_type, details FROM agent_logs WHERE agent_id = ? ORDER BY rowid",
        agent_id,
    )
    assert [r["log_type"] for r in logs] == ["prompt", "response"]
    details = json.loads(logs[1]["details"])
    assert details["prompt_id"] == prompt.id
    assert (details["input_tokens"], details["cache_creation_tokens"]) == (24, 100)
    assert (details["cache_read_tokens"], details["output_tokens"]) == (400, 60)
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


def test_rate_limit_is_retried(
    tmp_path: Path, layer_env: dict[str, str], agent: tuple[OrchestratorDB, str]
) -> None:
    db, agent_id = agent
    request_ = request(tmp_path, env={"FAKE_CLAUDE_RATE_LIMIT": "2"})
    result = run_prompt(db, agent_id, request_)
    assert result.success
    prompts = rows(
        layer_env["TAC_ORCHESTRATOR_DB"],
        "SELECT status, error_message, cost_usd FROM prompts WHERE agent_id = ? ORDER BY rowid",
        agent_id,
    )
    assert [p["status"] for p in prompts] == ["failed", "failed", "completed"]
    assert all("429" in p["error_message"] for p in prompts[:2])
    assert prompts[2]["error_message"] is None
    assert db.get_agent(agent_id).total_cost_usd == COST
    logs = rows(
        layer_env["TAC_ORCHESTRATOR_DB"],
        "SELECT log_type, log_level, message FROM agent_logs WHERE agent_id = ? ORDER BY rowid",
        agent_id,
    )
    retries = [r["message"] for r in logs if r["message"].startswith("retrying in")]
    assert len(retries) == 2
    assert "attempt 2 of 4" in retries[0]
    assert "attempt 3 of 4" in retries[1]
    failures = [r for r in logs if r["log_type"] == "error"]
    assert [r["log_level"] for r in failures] == ["WARNING", "WARNING"]
    assert all("(rate_limit)" in r["message"] for r in failures)


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
        "SELECT status, model, error_message FROM prompts WHERE agent_id = ? ORDER BY rowid",
        agent_id,
    )
    assert [(p["status"], p["model"]) for p in prompts] == [
        ("failed", "claude-sonnet-4-5"),
        ("completed", "claude-haiku-4-5"),
    ]
    assert "usage limit reached" in prompts[0]["error_message"]
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
        "SELECT status, error_message FROM prompts WHERE agent_id = ? ORDER BY rowid",
        agent_id,
    )
    assert [p["status"] for p in prompts] == ["failed", "completed"]
    assert "without a result" in prompts[0]["error_message"]
    assert "ECONNRESET" in prompts[0]["error_message"]


def test_retries_exhausted(
    tmp_path: Path, layer_env: dict[str, str], agent: tuple[OrchestratorDB, str]
) -> None:
    db, agent_id = agent
    request_ = request(tmp_path, max_retries=2, env={"FAKE_CLAUDE_RATE_LIMIT": "10"})
    result = run_prompt(db, agent_id, request_)
    assert not result.success
    assert result.failure_kind == "rate_limit"
    prompts = db.list_prompts(agent_id=agent_id)
    assert len(prompts) == 3  # the first attempt and two retries
    assert {p.status.value for p in prompts} == {"failed"}
    assert all(p.error_message and "429" in p.error_message for p in prompts)
    assert db.get_agent(agent_id).total_cost_usd == 0.0


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
