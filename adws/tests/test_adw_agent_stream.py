"""adw_modules/agent_stream.py on the fake agent CLI's output: what a run's stream says.

The fake prints Claude Code's stream-json shapes (tests/fake_claude.py), run here as a real
process; parse_stream turns them into an outcome (success, failure kind, usage, cost).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from adw_modules.agent_stream import CliOutcome, parse_stream
from conftest import COST, FAKE_CLAUDE, TOKENS


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


# -- parse_stream on the fake's output ------------------------------------------------------


def test_parse_stream_success(tmp_path: Path, layer_env: dict[str, str]) -> None:
    run = run_fake("/implement specs/feature-x.md", tmp_path, FAKE_CLAUDE_DURATION_MS="4321")
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
    # Tokens come from modelUsage: the assistant lines carry only their stream's first usage.
    assert result.input_tokens == TOKENS["input"]
    assert result.output_tokens == TOKENS["output"]
    assert result.cache_creation_tokens == TOKENS["cache_write"]
    assert result.cache_read_tokens == TOKENS["cache_read"]
    assert [share.model for share in result.models] == ["claude-sonnet-4-5"]
    assert result.cost_usd == COST
    assert result.num_turns == 2
    assert result.duration_ms == 4321  # the CLI's own figure, not a clock of ours
    assert result.tool_uses == ["Edit"]
    assert "Glob" not in result.available_tools and "Bash" in result.available_tools


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


def test_parse_stream_without_result_line_is_a_crash(
    tmp_path: Path, layer_env: dict[str, str]
) -> None:
    crashed = run_fake("/implement specs/feature-x.md", tmp_path, FAKE_CLAUDE_CRASH="1")
    assert crashed.returncode == 1
    assert crashed.stdout == ""
    result = parse_stream(crashed.stdout.splitlines(), crashed.returncode, crashed.stderr)
    assert not result.success
    assert result.subtype is None
    assert result.failure_kind == "crash"
    assert result.error is not None
    assert "without a result" in result.error
    assert "ECONNRESET" in result.error

    # Killed mid-run: the events so far are kept, but without a result it is a crash.
    complete = run_fake("/implement specs/feature-x.md", tmp_path)
    cut = parse_stream(complete.stdout.splitlines()[:-1], -9, "")
    assert not cut.success
    assert cut.failure_kind == "crash"
    assert cut.model == "claude-sonnet-4-5"
    assert cut.session_id == json.loads(complete.stdout.splitlines()[0])["session_id"]
    assert cut.error is not None
    assert "code -9" in cut.error


def test_parse_stream_rate_limit_and_quota_results(
    tmp_path: Path, layer_env: dict[str, str]
) -> None:
    limited = run_fake("/test", tmp_path, FAKE_CLAUDE_RATE_LIMIT="9", CLAUDE_CODE_MAX_RETRIES="2")
    result = parse_stream(limited.stdout.splitlines(), limited.returncode, limited.stderr)
    assert not result.success
    assert (result.failure_kind, result.api_error_status) == ("rate_limit", 429)
    assert len(result.retries) == 2  # the CLI's own retries, announced by api_retry lines
    assert result.model == "claude-sonnet-4-5"  # never the synthetic placeholder

    quota = run_fake("/test", tmp_path, FAKE_CLAUDE_QUOTA_MODEL="sonnet")
    result = parse_stream(quota.stdout.splitlines(), quota.returncode, quota.stderr)
    assert not result.success
    assert result.failure_kind == "quota"


def result_line(**fields: Any) -> str:
    return json.dumps({"type": "result", "subtype": "success", "is_error": True, **fields})


@pytest.mark.parametrize(
    ("fields", "assistant_error", "kind"),
    [
        ({"api_error_status": 429}, "rate_limit", "rate_limit"),
        ({"api_error_status": 529}, None, "overloaded"),
        ({"api_error_status": 500}, None, "server_error"),
        ({"api_error_status": 401}, "authentication_failed", "auth"),
        ({"api_error_status": 400}, "billing_error", "quota"),
        ({"api_error_status": 400}, "invalid_request", "invalid_request"),
        # The wording says nothing: a 429 whose text mentions usage is still a rate limit.
        ({"api_error_status": 429, "result": "not your usage limit"}, "rate_limit", "rate_limit"),
        ({"terminal_reason": "api_error", "result": "Connection closed"}, None, "connection"),
        ({"subtype": "error_max_turns", "errors": ["Reached maximum number of turns (2)"]},
         None, "max_turns"),
        ({"subtype": "error_max_budget_usd", "errors": ["Reached maximum budget"]}, None, "budget"),
        ({"subtype": "error_during_execution", "result": "quota 429 rate limit"}, None, "fatal"),
    ],
)  # fmt: skip
def test_failure_kind_comes_from_structured_fields(
    fields: dict[str, Any], assistant_error: str | None, kind: str
) -> None:
    lines = []
    if assistant_error:
        lines.append(
            json.dumps(
                {
                    "type": "assistant",
                    "error": assistant_error,
                    "message": {"model": "<synthetic>", "content": [{"type": "text", "text": "x"}]},
                }
            )
        )
    lines.append(result_line(**fields))
    outcome = parse_stream(lines, 1)
    assert outcome.failure_kind == kind
    assert outcome.model is None  # <synthetic> is never taken for a model
    if "errors" in fields:
        assert outcome.error == fields["errors"][0]


def test_failure_kind_of_a_success_is_none() -> None:
    line = json.dumps({"type": "result", "subtype": "success", "is_error": False, "result": "429"})
    assert parse_stream([line]).failure_kind is None
    assert CliOutcome(timed_out=True, saw_result=True, is_error=False).failure_kind == "timeout"


def test_the_last_result_line_wins_and_model_usage_is_complete() -> None:
    """A background subagent makes the CLI print two result lines; tokens come from the
    last one's modelUsage (its `usage` undercounts), split by model."""
    first = result_line(
        is_error=False,
        result="first",
        total_cost_usd=0.01,
        modelUsage={"claude-sonnet-4-5": {"inputTokens": 1, "outputTokens": 1, "costUSD": 0.01}},
    )
    last = result_line(
        is_error=False, result="All done.", total_cost_usd=0.03,
        usage={"input_tokens": 5, "output_tokens": 5},
        modelUsage={
            "claude-sonnet-4-5": {"inputTokens": 10, "outputTokens": 20, "cacheReadInputTokens": 30,
                                  "cacheCreationInputTokens": 40, "costUSD": 0.02},
            "claude-haiku-4-5": {"inputTokens": 1, "outputTokens": 2, "costUSD": 0.01},
            "<synthetic>": {"inputTokens": 0, "outputTokens": 0, "costUSD": 0},
        },
    )  # fmt: skip
    outcome = parse_stream([first, last])
    assert outcome.success and outcome.result_text == "All done."
    assert [s.model for s in outcome.models] == ["claude-sonnet-4-5", "claude-haiku-4-5"]
    assert (outcome.input_tokens, outcome.output_tokens) == (11, 22)
    assert (outcome.cache_read_tokens, outcome.cache_creation_tokens) == (30, 40)
    assert outcome.cost_usd == 0.03
