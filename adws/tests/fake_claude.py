#!/usr/bin/env python3
"""A stand-in for the Claude Code CLI in print mode, for tests where no model is reachable.

It accepts the arguments the workflows pass (-p PROMPT --output-format stream-json --verbose
--model M, and --max-turns, --max-budget-usd, --allowedTools, --disallowedTools,
--permission-mode), prints the event shapes Claude Code 2.1 prints (system/init, system/
api_retry, assistant with a tool_use block, user with the tool_result, assistant text, result
with usage and modelUsage; an API failure as a synthetic assistant message with `error` and a
result with is_error and api_error_status), and runs the project's hooks from
.claude/settings.json with the JSON the real CLI sends on stdin. Our own test suite compares
these shapes with the real CLI's and fails when they drift. It acts out the slash commands
the workflows send: /feature|/bug|/chore write a plan file and answer with its path, /test
and /review answer with JSON.

Failure injection (environment):
  FAKE_CLAUDE_FAIL_ON=TEXT        error result (error_during_execution) when TEXT is in the prompt
  FAKE_CLAUDE_RATE_LIMIT=N        the first N API requests get a 429: the fake retries them
                                  itself (system/api_retry lines) up to CLAUDE_CODE_MAX_RETRIES
                                  (default 10), as the CLI does, then reports the 429
  FAKE_CLAUDE_QUOTA_MODEL=NAME    calls with --model NAME answer "Credit balance is too low"
  FAKE_CLAUDE_CRASH=N             the first N calls exit 1 with no output at all
  FAKE_CLAUDE_STATE_DIR=DIR       where call counters are kept (default: a temp dir per cwd)
  FAKE_CLAUDE_TESTS_FAIL=1        /test reports a failing check
  FAKE_CLAUDE_CLASSIFY=TYPE       /classify_issue answers /TYPE (default: bug when the issue
                                  says fails/error/crash, chore for upgrade/refactor, else
                                  feature)
  FAKE_CLAUDE_PLAN_QUESTIONS=1    /feature|/bug|/chore answer {"questions": [...]} instead of
                                  writing a plan, until the prompt carries answers
  FAKE_CLAUDE_BUILD_WRITES=PATH   /implement and a Patch: prompt write PATH (relative to the
                                  working directory), as a builder changes files
  FAKE_CLAUDE_FIX_CREATES=PATH    a fix prompt (failing checks or review blockers) creates PATH
  FAKE_CLAUDE_REVIEW_BLOCKERS=N   the first N /review calls report a blocker
  FAKE_CLAUDE_HANG_ON=TEXT        a prompt holding TEXT writes the fake's pid to
                                  FAKE_CLAUDE_HANG_MARKER and sleeps (a crash test kills it)
  FAKE_CLAUDE_DURATION_MS=N       the result's duration_ms is N instead of the wall time
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

# The line shapes live beside this file; run by path from any directory (and with
# PYTHONSAFEPATH set, which leaves the script's folder off sys.path), it finds them.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_claude_lines import (
    api_error,
    assistant_line,
    emit,
    error_result,
    init_line,
    retry_line,
    success_result,
    tool_result_line,
)

MODEL_IDS = {"sonnet": "claude-sonnet-4-5", "opus": "claude-opus-4-1", "haiku": "claude-haiku-4-5"}
VALUE_OPTIONS = {
    "--output-format": "format",
    "--model": "model",
    "--max-turns": "max_turns",
    "--max-budget-usd": "max_budget_usd",
    "--permission-mode": "permission_mode",
    "--allowedTools": "allowed_tools",
    "--allowed-tools": "allowed_tools",
    "--disallowedTools": "disallowed_tools",
    "--disallowed-tools": "disallowed_tools",
    "--fallback-model": "fallback_model",
    "--session-id": "session_id",
}


def parse_args(argv: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {
        "prompt": None,
        "format": "text",
        "verbose": False,
        "model": "sonnet",
    }
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-p", "--print"):
            if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                options["prompt"] = argv[i + 1]
                i += 1
        elif arg in VALUE_OPTIONS and i + 1 < len(argv):
            options[VALUE_OPTIONS[arg]] = argv[i + 1]
            i += 1
        elif arg == "--verbose":
            options["verbose"] = True
        i += 1
    return options


def counter(name: str) -> int:
    """How many times this fake has been called for ``name`` (persisted across calls)."""
    default = Path(tempfile.gettempdir()) / (
        "fake-claude-" + hashlib.sha256(os.getcwd().encode()).hexdigest()[:12]
    )
    state = Path(os.environ.get("FAKE_CLAUDE_STATE_DIR") or default)
    state.mkdir(parents=True, exist_ok=True)
    path = state / f"{name}.count"
    count = int(path.read_text()) if path.exists() else 0
    path.write_text(str(count + 1))
    return count


def run_hooks(event_name: str, payload: dict[str, Any], session_id: str) -> None:
    """Run the hooks .claude/settings.json configures for an event, like the real CLI."""
    settings_path = Path.cwd() / ".claude" / "settings.json"
    try:
        settings = json.loads(settings_path.read_text())
    except (OSError, json.JSONDecodeError):
        return
    tool = payload.get("tool_name", "")
    for group in settings.get("hooks", {}).get(event_name, []):
        matcher = group.get("matcher", "")
        if matcher and tool and not re.fullmatch(matcher, tool):
            continue
        for hook in group.get("hooks", []):
            if hook.get("type") != "command":
                continue
            transcript = Path.home() / ".claude" / "projects" / f"{session_id}.jsonl"
            data = {
                "session_id": session_id,
                "transcript_path": str(transcript),
                "cwd": os.getcwd(),
                "permission_mode": "default",
                "hook_event_name": event_name,
                **payload,
            }
            env = {**os.environ, "CLAUDE_PROJECT_DIR": os.getcwd()}
            subprocess.run(
                hook["command"],
                shell=True,
                input=json.dumps(data),
                text=True,
                env=env,
                capture_output=True,
                timeout=float(hook.get("timeout", 60)),
                check=False,
            )


def specs_dir() -> str:
    """paths.specs_dir of the project's tac_bootstrap.yml (where /feature etc. write plans)."""
    try:
        config = Path("tac_bootstrap.yml").read_text(encoding="utf-8")
    except OSError:
        return "specs"
    found = re.search(r"^\s+specs_dir:\s*[\"']?([^\"'#\n]+?)[\"']?\s*(#.*)?$", config, re.M)
    return found.group(1) if found else "specs"


def write_file(variable: str, text: str) -> tuple[str, str, dict[str, Any]] | None:
    """Write the file an environment variable names, as an agent's Write tool would."""
    target = os.environ.get(variable)
    if not target:
        return None
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return "Changed 1 file.", "Write", {"file_path": str(path.resolve()), "content": text}


def classify(text: str) -> str:
    configured = os.environ.get("FAKE_CLAUDE_CLASSIFY")
    if configured:
        return f"/{configured}"
    lowered = text.lower()
    if any(word in lowered for word in ("fails", "error", "crash", "broken")):
        return "/bug"
    if any(word in lowered for word in ("upgrade", "refactor", "rename dependency")):
        return "/chore"
    return "/feature"


def act_on_text(prompt: str) -> tuple[str, str, dict[str, Any]] | None:
    """The prompts that are no slash command: a patch, a fix of failing checks or blockers."""
    if prompt.startswith("Patch:"):
        return write_file("FAKE_CLAUDE_BUILD_WRITES", "patched\n")
    if prompt.startswith(("Fix the failing checks", "Fix the review's blockers")):
        return write_file("FAKE_CLAUDE_FIX_CREATES", "fixed\n")
    return None


def act(prompt: str) -> tuple[str, str, dict[str, Any]]:
    """(final answer, tool name, tool input) for the slash command in the prompt."""
    words = prompt.split()
    command = words[0] if words else ""
    if command == "/classify_issue":
        return classify(" ".join(words[1:])), "Read", {"file_path": "README.md"}
    questions = os.environ.get("FAKE_CLAUDE_PLAN_QUESTIONS") == "1" and "## Answers" not in prompt
    if command in ("/feature", "/bug", "/chore") and questions:
        asked = {"questions": ["Which page should link to it?", "Is a login required?"]}
        return json.dumps(asked), "Read", {"file_path": "README.md"}
    if command in ("/feature", "/bug", "/chore") and len(words) >= 2:
        kind, adw_id = command[1:], words[1]
        slug = "-".join(re.sub(r"[^a-z0-9 ]", "", " ".join(words[2:]).lower()).split()[:4])
        plan = Path(specs_dir()) / f"{kind}-{adw_id}-{slug or 'plan'}.md"
        plan.parent.mkdir(parents=True, exist_ok=True)
        plan.write_text(f"# {kind.title()}: {' '.join(words[2:])}\n\nadw_id: {adw_id}\n")
        return plan.as_posix(), "Write", {"file_path": str(plan.resolve()), "content": "..."}
    if command == "/test":
        failed = os.environ.get("FAKE_CLAUDE_TESTS_FAIL") == "1"
        checks = [
            {
                "check": "tests",
                "command": "pytest",
                "passed": not failed,
                "error": "1 failed" if failed else None,
            },
            {"check": "lint", "command": "ruff check .", "passed": True, "error": None},
        ]
        return json.dumps(checks), "Bash", {"command": "pytest", "description": "Run tests"}
    if command == "/review":
        blockers = int(os.environ.get("FAKE_CLAUDE_REVIEW_BLOCKERS", "0"))
        if blockers and counter("review") < blockers:
            issue = {"severity": "blocker", "description": "the endpoint has no test"}
            answer = {"success": False, "summary": "a blocker", "issues": [issue]}
            return json.dumps(answer), "Read", {"file_path": words[1] if len(words) > 1 else "x"}
        answer = {"success": True, "summary": "matches the plan", "issues": []}
        return json.dumps(answer), "Read", {"file_path": words[1] if len(words) > 1 else "x"}
    if command == "/implement":
        written = write_file("FAKE_CLAUDE_BUILD_WRITES", "built\n")
        if written:
            return written
        return (
            "Implemented the plan. 1 file changed.",
            "Edit",
            {
                "file_path": words[1] if len(words) > 1 else "x",
                "old_string": "a",
                "new_string": "b",
            },
        )
    if command == "/document":
        return "none", "Read", {"file_path": "README.md"}
    return act_on_text(prompt) or ("Done.", "Read", {"file_path": "README.md"})


def refusal(options: dict[str, Any]) -> str | None:
    """The CLI's error for arguments it refuses (and what this fake does not implement)."""
    if options["prompt"] is None:
        return (
            "Error: Input must be provided either through stdin or as a prompt argument "
            "when using --print"
        )
    if options["format"] == "stream-json" and not options["verbose"]:
        return "Error: When using --print, --output-format=stream-json requires --verbose"
    if options["format"] != "stream-json":
        return "fake_claude only implements --output-format stream-json"
    return None


def rate_limited(session_id: str, started: float) -> bool:
    """The first FAKE_CLAUDE_RATE_LIMIT requests get a 429, retried as the CLI does; True
    when the retries ran out (the failure is printed)."""
    limited = int(os.environ.get("FAKE_CLAUDE_RATE_LIMIT", "0"))
    max_retries = int(os.environ.get("CLAUDE_CODE_MAX_RETRIES", "10"))
    attempt = 0
    while limited and counter("rate_limit") < limited:
        if attempt >= max_retries:
            text = "API Error: Request rejected (429) · Rate limited"
            api_error(session_id, started, 429, "rate_limit", text)
            return True
        attempt += 1
        emit(retry_line(session_id, attempt, max_retries))
    return False


def act_out(prompt: str, model: str, session_id: str, started: float) -> None:
    """One tool call and the answer, with the hooks the real CLI runs around them."""
    answer, tool, tool_input = act(prompt)
    tool_use_id = "toolu_" + uuid.uuid4().hex[:24]
    call = {"type": "tool_use", "id": tool_use_id, "name": tool, "input": tool_input}
    emit(assistant_line(session_id, model, [call]))
    used = {"tool_name": tool, "tool_input": tool_input}
    run_hooks("PreToolUse", {**used, "tool_use_id": tool_use_id}, session_id)
    done = {**used, "tool_response": {"success": True}, "tool_use_id": tool_use_id}
    run_hooks("PostToolUse", done, session_id)
    emit(tool_result_line(session_id, tool_use_id))
    emit(assistant_line(session_id, model, [{"type": "text", "text": answer}]))
    run_hooks("Stop", {"stop_hook_active": False}, session_id)
    emit(success_result(session_id, started, model, answer))


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    refused = refusal(options)
    if refused is not None:
        print(refused, file=sys.stderr)
        return 1
    crashes = int(os.environ.get("FAKE_CLAUDE_CRASH", "0"))
    if crashes and counter("crash") < crashes:
        print("Error: connect ECONNRESET", file=sys.stderr)
        return 1
    prompt: str = options["prompt"]
    model_alias: str = options["model"]
    model = MODEL_IDS.get(model_alias, model_alias)
    session_id = str(uuid.uuid4())
    started = time.monotonic()
    emit(init_line(session_id, model))
    if rate_limited(session_id, started):
        return 1
    if os.environ.get("FAKE_CLAUDE_QUOTA_MODEL") == model_alias:
        return api_error(session_id, started, 400, "billing_error", "Credit balance is too low")
    run_hooks("UserPromptSubmit", {"prompt": prompt}, session_id)
    fail_on = os.environ.get("FAKE_CLAUDE_FAIL_ON")
    if fail_on and fail_on in prompt:
        text = f"Execution failed while handling {fail_on!r}"
        return error_result(session_id, started, text, "error_during_execution")
    hang_on = os.environ.get("FAKE_CLAUDE_HANG_ON")
    if hang_on and hang_on in prompt:
        Path(os.environ["FAKE_CLAUDE_HANG_MARKER"]).write_text(str(os.getpid()))
        time.sleep(600)
    act_out(prompt, model, session_id, started)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
