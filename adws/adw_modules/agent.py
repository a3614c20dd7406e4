"""Run the agent CLI (Claude Code) in print mode and record every prompt in the database.

The CLI is started as ``claude -p PROMPT --output-format stream-json --verbose --model M``:
one JSON object per line, the last of type "result" with the run's outcome. Fields this
module relies on (see adws/README.md for where the format is documented):

  {"type": "system", "subtype": "init", "session_id": ..., "model": ...}
  {"type": "assistant", "message": {"model": ..., "content": [...], "usage": {...}}, ...}
  {"type": "result", "subtype": "success" | "error_max_turns" | "error_during_execution",
   "is_error": bool, "result": str, "session_id": str, "duration_ms": int, "num_turns": int,
   "total_cost_usd": float, "usage": {"input_tokens", "output_tokens",
   "cache_creation_input_tokens", "cache_read_input_tokens"}}

Rate limits and transient failures are retried with exponential backoff; an exhausted quota
switches to the fallback model. Each attempt is one row in `prompts`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .adw_database import OrchestratorDB
from .orch_database_models import OrchestratorError

CLI_ENV_VAR = "CLAUDE_CODE_PATH"
RETRY_BASE_ENV_VAR = "ADW_RETRY_BASE_SECONDS"

RATE_LIMIT_MARKERS = ("rate limit", "rate_limit", "429", "overloaded", "529", "too many requests")
QUOTA_MARKERS = ("usage limit", "quota", "credit balance is too low", "insufficient credit")
TRANSIENT_MARKERS = (
    "api error: 5",
    "internal server error",
    "econnreset",
    "connection reset",
    "connection error",
    "timed out",
    "timeout",
    "network",
)


class AgentCLINotFound(OrchestratorError):
    """The agent CLI is not installed or CLAUDE_CODE_PATH is wrong."""


@dataclass
class AgentResult:
    """The outcome of one CLI run, parsed from its stream-json output."""

    success: bool
    result_text: str = ""
    session_id: str | None = None
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0
    duration_ms: int = 0
    num_turns: int = 0
    error: str | None = None
    subtype: str | None = None
    exit_code: int = 0
    tool_uses: list[str] = field(default_factory=list)

    @property
    def failure_kind(self) -> str | None:
        """None on success; else 'quota', 'rate_limit', 'transient' or 'fatal'."""
        if self.success:
            return None
        text = f"{self.error or ''} {self.result_text}".lower()
        if any(marker in text for marker in QUOTA_MARKERS):
            return "quota"
        if any(marker in text for marker in RATE_LIMIT_MARKERS):
            return "rate_limit"
        if self.subtype is None or any(marker in text for marker in TRANSIENT_MARKERS):
            return "transient"  # no result line at all: the CLI crashed or was killed
        return "fatal"


def parse_stream(lines: Iterable[str], exit_code: int = 0, stderr: str = "") -> AgentResult:
    """Fold stream-json lines into an AgentResult; tolerant of noise and partial output."""
    result = AgentResult(success=False, exit_code=exit_code)
    saw_result = False
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind == "system" and event.get("subtype") == "init":
            result.session_id = event.get("session_id") or result.session_id
            result.model = event.get("model") or result.model
        elif kind == "assistant":
            message = event.get("message") or {}
            result.model = message.get("model") or result.model
            for block in message.get("content") or []:
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    result.tool_uses.append(str(block.get("name")))
        elif kind == "result":
            saw_result = True
            usage = event.get("usage") or {}
            result.subtype = event.get("subtype")
            result.result_text = str(event.get("result") or "")
            result.session_id = event.get("session_id") or result.session_id
            result.cost_usd = float(event.get("total_cost_usd") or 0.0)
            result.duration_ms = int(event.get("duration_ms") or 0)
            result.num_turns = int(event.get("num_turns") or 0)
            result.input_tokens = int(usage.get("input_tokens") or 0)
            result.output_tokens = int(usage.get("output_tokens") or 0)
            result.cache_creation_tokens = int(usage.get("cache_creation_input_tokens") or 0)
            result.cache_read_tokens = int(usage.get("cache_read_input_tokens") or 0)
            is_error = bool(event.get("is_error")) or result.subtype != "success"
            result.success = not is_error and exit_code == 0
            if not result.success:
                result.error = result.result_text or result.subtype or "agent reported an error"
    if not saw_result:
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else "no result message"
        result.error = f"agent CLI exited with code {exit_code} without a result ({detail})"
    return result


def resolve_cli(configured: str | None = None) -> str:
    """The agent CLI executable: CLAUDE_CODE_PATH, then the configured name, then `claude`."""
    candidate = os.environ.get(CLI_ENV_VAR) or configured or "claude"
    found = shutil.which(candidate)
    if found is None:
        raise AgentCLINotFound(
            f"agent CLI {candidate!r} not found; install Claude Code "
            f"(npm install -g @anthropic-ai/claude-code) or set {CLI_ENV_VAR} to its path"
        )
    return found


@dataclass
class PromptRequest:
    prompt: str
    model: str
    fallback_model: str | None = None
    working_dir: Path | None = None
    output_file: Path | None = None  # raw stream-json is appended here as it arrives
    max_retries: int = 3
    env: dict[str, str] = field(default_factory=dict)


def run_cli_once(cli: str, request: PromptRequest, model: str) -> AgentResult:
    """One CLI run, streaming stdout line by line into the per-run log file."""
    command = [cli, "-p", request.prompt, "--output-format", "stream-json", "--verbose"]
    command += ["--model", model]
    lines: list[str] = []
    env = {**os.environ, **request.env}
    log = None
    if request.output_file is not None:
        request.output_file.parent.mkdir(parents=True, exist_ok=True)
        log = request.output_file.open("a", encoding="utf-8")
    try:
        with subprocess.Popen(
            command,
            cwd=request.working_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            assert process.stdout is not None and process.stderr is not None
            for line in process.stdout:
                lines.append(line)
                if log is not None:
                    log.write(line)
                    log.flush()
            stderr = process.stderr.read()
            exit_code = process.wait()
    finally:
        if log is not None:
            log.close()
    return parse_stream(lines, exit_code, stderr)


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter: base * 2^attempt * [0.5, 1.5)."""
    base = float(os.environ.get(RETRY_BASE_ENV_VAR, "2.0"))
    return base * float(2**attempt) * (0.5 + random.random())


def run_prompt(
    db: OrchestratorDB, agent_id: str, request: PromptRequest, cli: str | None = None
) -> AgentResult:
    """Run a prompt with retries; every attempt is recorded as a prompt with its usage."""
    executable = cli or resolve_cli()
    model = request.model
    switched = False
    attempt = 0
    while True:
        prompt_row = db.start_prompt(agent_id, request.prompt, model=model)
        db.log_agent(
            agent_id,
            "prompt",
            f"prompt sent to {model} (attempt {attempt + 1})",
            details={"prompt_id": prompt_row.id, "model": model, "attempt": attempt + 1},
        )
        started = time.monotonic()
        result = run_cli_once(executable, request, model)
        latency_ms = int((time.monotonic() - started) * 1000)
        usage: dict[str, Any] = {
            "model": result.model or model,
            "input_tokens": result.input_tokens
            + result.cache_creation_tokens
            + result.cache_read_tokens,
            "output_tokens": result.output_tokens,
            "cost_usd": result.cost_usd,
            "latency_ms": latency_ms,
            "response_text": result.result_text,
        }
        details = {
            "prompt_id": prompt_row.id,
            "agent_session_id": result.session_id,
            "input_tokens": result.input_tokens,
            "cache_creation_tokens": result.cache_creation_tokens,
            "cache_read_tokens": result.cache_read_tokens,
            "output_tokens": result.output_tokens,
            "cost_usd": result.cost_usd,
            "duration_ms": result.duration_ms,
            "num_turns": result.num_turns,
            "tools": result.tool_uses,
        }
        if result.success:
            db.complete_prompt(prompt_row.id, **usage)
            db.log_agent(agent_id, "response", "prompt completed", details=details)
            return result
        kind = result.failure_kind
        db.fail_prompt(prompt_row.id, result.error or "failed", **usage)
        db.log_agent(
            agent_id,
            "error",
            f"prompt failed ({kind}): {(result.error or '')[:200]}",
            level="WARNING" if kind != "fatal" else "ERROR",
            details={**details, "failure_kind": kind, "exit_code": result.exit_code},
        )
        if kind == "quota" and request.fallback_model and not switched:
            switched = True
            model = request.fallback_model
            db.log_agent(agent_id, "state_change", f"quota exhausted; falling back to {model}")
            continue
        if kind in ("rate_limit", "transient") and attempt < request.max_retries:
            delay = backoff_seconds(attempt)
            attempt += 1
            db.log_agent(
                agent_id,
                "state_change",
                f"retrying in {delay:.2f}s (attempt {attempt + 1} of {request.max_retries + 1})",
                details={"delay_seconds": delay, "failure_kind": kind},
            )
            time.sleep(delay)
            continue
        return result


def main(argv: list[str] | None = None) -> int:
    """`python -m adw_modules.agent PROMPT`: run one prompt outside a workflow (debugging)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("prompt")
    parser.add_argument("--model", default="sonnet")
    args = parser.parse_args(argv)
    try:
        cli = resolve_cli()
    except AgentCLINotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = run_cli_once(cli, PromptRequest(args.prompt, args.model), args.model)
    print(json.dumps(result.__dict__, indent=2, default=str))
    return 0 if result.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
