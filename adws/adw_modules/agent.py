"""Run the agent CLI (Claude Code) in print mode and record every prompt in the database.

The CLI is started as ``claude -p PROMPT --output-format stream-json --verbose --model M``
plus the phase's limits and permissions (see `cli_arguments`), in a process group of its own
so that a timeout ends it and everything it started. agent_stream.py reads its output.

One retry policy: the CLI retries rate limits, overload, 5xx and cut connections itself
(CLAUDE_CODE_MAX_RETRIES, from `agentic.cli_max_retries`), and each of its retries is
recorded. This module retries only what the CLI cannot: a CLI that died without a result
(`agentic.max_retries` times, with back-off), and an exhausted quota once on the fallback
model. Each attempt is one row in `prompts`, with tokens of every kind, each model's share,
the CLI's session id, its retries, permission denials and the failure kind.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import agent_stream as stream
from .adw_checks import stop_process_group
from .agent_cli import CLI_ENV_VAR as CLI_ENV_VAR  # re-exported, as the two below
from .agent_cli import AgentCLINotFound as AgentCLINotFound
from .agent_cli import resolve_cli as resolve_cli
from .agent_stream import CliOutcome, parse_stream

if TYPE_CHECKING:  # the caller opened it: finding the CLI (doctor) loads no database code
    from .adw_database import OrchestratorDB

RETRY_BASE_ENV_VAR = "ADW_RETRY_BASE_SECONDS"
CLI_RETRIES_ENV_VAR = "CLAUDE_CODE_MAX_RETRIES"
KILL_GRACE_SECONDS = 5.0


@dataclass
class PromptRequest:
    prompt: str
    model: str
    fallback_model: str | None = None
    working_dir: Path | None = None
    output_file: Path | None = None  # raw stream-json is appended here as it arrives
    stderr_file: Path | None = None  # the CLI's stderr (trust warnings, parse errors ...)
    max_retries: int = 1  # re-runs after a crash; the CLI retries API errors itself
    cli_max_retries: int | None = None  # the CLI's own retries (CLAUDE_CODE_MAX_RETRIES)
    timeout_seconds: float | None = None  # wall clock for one CLI run
    max_turns: int | None = None
    max_budget_usd: float | None = None
    allowed_tools: list[str] = field(default_factory=list)
    disallowed_tools: list[str] = field(default_factory=list)
    permission_mode: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def cli_arguments(request: PromptRequest, model: str) -> list[str]:
    """The CLI's options for one run. Permissions go on the command line: in a workspace the
    user never trusted, the CLI ignores the project's permissions.allow but honours these."""
    args = ["-p", request.prompt, "--output-format", "stream-json", "--verbose"]
    args += ["--model", model]
    if request.fallback_model and request.fallback_model != model:
        # The CLI itself switches to it when the main model stays overloaded.
        args += ["--fallback-model", request.fallback_model]
    if request.max_turns:
        args += ["--max-turns", str(request.max_turns)]
    if request.max_budget_usd is not None:
        args += ["--max-budget-usd", f"{request.max_budget_usd:.6f}"]
    if request.permission_mode:
        args += ["--permission-mode", request.permission_mode]
    if request.allowed_tools:
        args += ["--allowedTools", ",".join(request.allowed_tools)]
    if request.disallowed_tools:
        args += ["--disallowedTools", ",".join(request.disallowed_tools)]
    return args


def _pump(source: IO[str], sink: list[str], log: IO[str] | None) -> None:
    for line in source:
        sink.append(line)
        if log is not None:
            log.write(line)
            log.flush()


def _open_log(path: Path | None) -> IO[str] | None:
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a", encoding="utf-8")


def run_cli_once(cli: str, request: PromptRequest, model: str) -> CliOutcome:
    """One CLI run: stdout streamed into the run log, stderr kept, a timeout enforced."""
    env = {**os.environ, **request.env}
    if request.cli_max_retries is not None:
        env[CLI_RETRIES_ENV_VAR] = str(request.cli_max_retries)
    stdout_lines: list[str] = []
    stderr_lines: list[str] = []
    log = _open_log(request.output_file)
    err_log = _open_log(request.stderr_file)
    timed_out = False
    try:
        process = subprocess.Popen(
            [cli, *cli_arguments(request, model)],
            cwd=request.working_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert process.stdout is not None and process.stderr is not None
        readers = [
            threading.Thread(target=_pump, args=(process.stdout, stdout_lines, log), daemon=True),
            threading.Thread(
                target=_pump, args=(process.stderr, stderr_lines, err_log), daemon=True
            ),
        ]
        for reader in readers:
            reader.start()
        try:
            exit_code = process.wait(timeout=request.timeout_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            stop_process_group(process)
            exit_code = process.wait()
        for reader in readers:
            reader.join(timeout=KILL_GRACE_SECONDS)
    finally:
        for handle in (log, err_log):
            if handle is not None:
                handle.close()
    outcome = parse_stream(stdout_lines, exit_code, "".join(stderr_lines))
    outcome.timed_out = timed_out
    return outcome


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter: base * 2^attempt * [0.5, 1.5)."""
    base = float(os.environ.get(RETRY_BASE_ENV_VAR, "2.0"))
    return base * float(2**attempt) * (0.5 + random.random())


def outcome_fields(outcome: CliOutcome, model: str, latency_ms: int) -> dict[str, Any]:
    """The prompt row's fields for an outcome (complete_prompt / fail_prompt keywords)."""
    return {
        "model": outcome.model or model,
        "input_tokens": outcome.input_tokens,
        "output_tokens": outcome.output_tokens,
        "cache_creation_tokens": outcome.cache_creation_tokens,
        "cache_read_tokens": outcome.cache_read_tokens,
        "cost_usd": outcome.cost_usd,
        "latency_ms": latency_ms,
        "response_text": outcome.result_text,
        "cli_session_id": outcome.session_id,
        "cli_retries": len(outcome.retries),
        "permission_denials": outcome.permission_denials,
        "model_usage": [share.as_dict() for share in outcome.models],
    }


def _details(outcome: CliOutcome, prompt_id: str) -> dict[str, Any]:
    return {
        "prompt_id": prompt_id,
        "agent_session_id": outcome.session_id,
        "models": [share.as_dict() for share in outcome.models],
        "cost_usd": outcome.cost_usd,
        "duration_ms": outcome.duration_ms,
        "num_turns": outcome.num_turns,
        "tools": outcome.tool_uses,
        "cli_retries": outcome.retries,
        "permission_denials": outcome.permission_denials,
        "model_fallbacks": outcome.fallbacks,
        "cli_version": outcome.cli_version,
    }


def _record_attempt(
    db: OrchestratorDB, agent_id: str, prompt_id: str, outcome: CliOutcome, model: str, ms: int
) -> None:
    fields = outcome_fields(outcome, model, ms)
    details = _details(outcome, prompt_id)
    for retry in outcome.retries:
        db.log_agent(
            agent_id,
            "state_change",
            f"the agent CLI retried after {retry.get('error') or retry.get('error_status')} "
            f"(attempt {retry.get('attempt')} of {retry.get('max_retries')})",
            level="WARNING",
            details={"prompt_id": prompt_id, **retry},
        )
    for switch in outcome.fallbacks:
        db.log_agent(
            agent_id,
            "state_change",
            f"the agent CLI fell back from {switch.get('original_model')} to "
            f"{switch.get('fallback_model')} ({switch.get('trigger')})",
            level="WARNING",
            details={"prompt_id": prompt_id, **switch},
        )
    for denial in outcome.permission_denials:
        db.log_agent(
            agent_id,
            "error",
            f"permission denied: {denial.get('tool_name')}",
            level="WARNING",
            details={"prompt_id": prompt_id, **denial},
        )
    if outcome.stderr.strip():
        db.log_agent(
            agent_id,
            "hook",
            f"agent CLI stderr: {outcome.stderr.strip().splitlines()[-1][:200]}",
            level="WARNING",
            details={"prompt_id": prompt_id, "stderr": outcome.stderr[-4000:]},
        )
    if outcome.success:
        db.complete_prompt(prompt_id, **fields)
        db.log_agent(agent_id, "response", "prompt completed", details=details)
        return
    kind = outcome.failure_kind
    db.fail_prompt(prompt_id, outcome.error or "failed", failure_kind=kind, **fields)
    db.log_agent(
        agent_id,
        "error",
        f"prompt failed ({kind}): {(outcome.error or '')[:200]}",
        level="WARNING" if kind in stream.RETRIED_BY_CLI else "ERROR",
        details={**details, "failure_kind": kind, "exit_code": outcome.exit_code},
    )


def run_prompt(
    db: OrchestratorDB, agent_id: str, request: PromptRequest, cli: str | None = None
) -> CliOutcome:
    """Run a prompt; every attempt is recorded as a prompt with its usage."""
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
        outcome = run_cli_once(executable, request, model)
        latency_ms = int((time.monotonic() - started) * 1000)
        _record_attempt(db, agent_id, prompt_row.id, outcome, model, latency_ms)
        if outcome.model:
            db.set_agent_model(agent_id, outcome.model)
        kind = outcome.failure_kind
        if kind is None:
            return outcome
        fallback = request.fallback_model
        if kind == stream.QUOTA and fallback and fallback != model and not switched:
            switched = True
            model = fallback
            db.log_agent(agent_id, "state_change", f"quota exhausted; falling back to {model}")
            continue
        if kind == stream.CRASH and attempt < request.max_retries:
            delay = backoff_seconds(attempt)
            attempt += 1
            db.log_agent(
                agent_id,
                "state_change",
                f"the agent CLI died; retrying in {delay:.2f}s "
                f"(attempt {attempt + 1} of {request.max_retries + 1})",
                details={"delay_seconds": delay, "failure_kind": kind},
            )
            time.sleep(delay)
            continue
        return outcome


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
    outcome = run_cli_once(cli, PromptRequest(args.prompt, args.model), args.model)
    report = {**outcome.__dict__, "failure_kind": outcome.failure_kind, "error": outcome.error}
    print(json.dumps(report, indent=2, default=lambda o: getattr(o, "__dict__", str(o))))
    return 0 if outcome.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
