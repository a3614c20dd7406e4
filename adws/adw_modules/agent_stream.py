"""Read the agent CLI's stream-json output into one outcome, and classify failures by structure.

`claude -p PROMPT --output-format stream-json --verbose` prints one JSON object per line. What
this module relies on, as Claude Code 2.1 prints it (specs/real-claude-cli.md has the details):

  system/init        session_id, model, tools (the tool names this CLI has)
  system/api_retry   one per retry the CLI makes itself: attempt, error_status, error
  system/model_fallback  the CLI switched to --fallback-model (trigger "overloaded")
  system/permission_denied, and result.permission_denials: tool calls that were refused
  assistant          message.model, content (tool_use blocks); an API failure is a
                     synthetic message (model "<synthetic>") with `error` ("rate_limit",
                     "billing_error", "authentication_failed", ...) and api_error_status
  result             subtype ("success", "error_max_turns", "error_max_budget_usd",
                     "error_during_execution"), is_error, api_error_status, errors[],
                     result, session_id, total_cost_usd, num_turns, duration_ms, usage and
                     modelUsage (per model)

Two facts shape the parser. A background subagent makes the CLI print a second result line
after the first: the last one is the outcome. And `usage` undercounts (subagents, the CLI's
own retries, budget stops) while `modelUsage` is complete, so tokens come from modelUsage.
Failures are classified from is_error, subtype, api_error_status and the assistant's `error`
code, never from message wording.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .orch_database_types import FailureKind

SYNTHETIC_MODEL = "<synthetic>"  # the CLI's placeholder model on failed turns; never stored

# The failure kinds (prompts.failure_kind): the model's enum is their one source.
RATE_LIMIT = FailureKind.RATE_LIMIT.value
OVERLOADED = FailureKind.OVERLOADED.value
SERVER_ERROR = FailureKind.SERVER_ERROR.value
CONNECTION = FailureKind.CONNECTION.value
QUOTA = FailureKind.QUOTA.value
AUTH = FailureKind.AUTH.value
INVALID_REQUEST = FailureKind.INVALID_REQUEST.value
MAX_TURNS = FailureKind.MAX_TURNS.value
BUDGET = FailureKind.BUDGET.value
TIMEOUT = FailureKind.TIMEOUT.value
CRASH = FailureKind.CRASH.value
FATAL = FailureKind.FATAL.value

# Kinds the CLI already retried with back-off before reporting them: retrying the whole run
# again only multiplies requests (a persistent 529 once took 44 requests and 740 s).
RETRIED_BY_CLI = frozenset({RATE_LIMIT, OVERLOADED, SERVER_ERROR, CONNECTION})

# The assistant message's `error` codes, and what they mean for us.
ERROR_CODES = {
    "rate_limit": RATE_LIMIT,
    "overloaded": OVERLOADED,
    "billing_error": QUOTA,
    "authentication_failed": AUTH,
    "oauth_org_not_allowed": AUTH,
    "invalid_request": INVALID_REQUEST,
    "server_error": SERVER_ERROR,
    "max_output_tokens": FATAL,
}
SUBTYPES = {"error_max_turns": MAX_TURNS, "error_max_budget_usd": BUDGET}


def kind_for_status(status: int) -> str:
    """An HTTP status the model API answered with, as a failure kind."""
    if status == 429:
        return RATE_LIMIT
    if status == 529:
        return OVERLOADED
    if status in (401, 403):
        return AUTH
    if status == 402:
        return QUOTA
    if status >= 500:
        return SERVER_ERROR
    if status in (408, 409):
        return CONNECTION
    return INVALID_REQUEST


@dataclass
class ModelShare:
    """One model's tokens and cost within a run (the CLI's modelUsage entry)."""

    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class CliOutcome:
    """Everything one CLI run reported, folded from its stream-json lines."""

    exit_code: int = 0
    saw_result: bool = False
    is_error: bool = True
    subtype: str | None = None
    result_text: str = ""
    errors: list[str] = field(default_factory=list)
    api_error_status: int | None = None
    error_code: str | None = None  # the synthetic assistant message's `error`
    terminal_reason: str | None = None
    session_id: str | None = None
    model: str | None = None  # the main model (the one that did most of the work)
    models: list[ModelShare] = field(default_factory=list)
    cost_usd: float = 0.0
    duration_ms: int = 0
    num_turns: int = 0
    cli_version: str | None = None
    available_tools: list[str] = field(default_factory=list)
    tool_uses: list[str] = field(default_factory=list)
    permission_denials: list[dict[str, Any]] = field(default_factory=list)
    retries: list[dict[str, Any]] = field(default_factory=list)  # the CLI's own api_retry lines
    fallbacks: list[dict[str, Any]] = field(default_factory=list)  # its model_fallback lines
    stderr: str = ""
    timed_out: bool = False

    # -- totals --------------------------------------------------------------------------
    def total(self, kind: str) -> int:
        return sum(int(getattr(share, kind)) for share in self.models)

    @property
    def input_tokens(self) -> int:
        return self.total("input_tokens")

    @property
    def output_tokens(self) -> int:
        return self.total("output_tokens")

    @property
    def cache_creation_tokens(self) -> int:
        return self.total("cache_creation_tokens")

    @property
    def cache_read_tokens(self) -> int:
        return self.total("cache_read_tokens")

    # -- outcome -------------------------------------------------------------------------
    @property
    def success(self) -> bool:
        return self.saw_result and not self.is_error and not self.timed_out

    @property
    def failure_kind(self) -> str | None:
        """None on success; else one of the kinds above, from structured fields only."""
        if self.success:
            return None
        if self.timed_out:
            return TIMEOUT
        if not self.saw_result:
            return CRASH  # the CLI died (or was killed) before reporting
        if self.subtype in SUBTYPES:
            return SUBTYPES[self.subtype]
        status = self.api_error_status
        if status is not None and status != 400:
            return kind_for_status(status)  # the HTTP status says it: 529 is overload
        if self.error_code in ERROR_CODES:
            return ERROR_CODES[self.error_code]  # a 400 is a billing or a request error
        if status is not None:
            return kind_for_status(status)
        if self.terminal_reason == "api_error":
            return CONNECTION  # no HTTP status: the connection failed or the stream was cut
        return FATAL

    @property
    def error(self) -> str | None:
        """One line saying what went wrong (None on success)."""
        if self.success:
            return None
        if self.timed_out:
            return "the agent CLI was stopped: the phase ran past its timeout"
        if not self.saw_result:
            tail = self.stderr.strip().splitlines()[-1:] or ["no output"]
            return f"agent CLI exited with code {self.exit_code} without a result ({tail[0]})"
        detail = "; ".join(self.errors) or self.result_text.strip() or self.subtype or "error"
        return detail.splitlines()[0][:500] if detail else "agent reported an error"


def _int(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float:
    try:
        number = float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return number if number >= 0 and number != float("inf") else 0.0


def model_shares(model_usage: Any) -> list[ModelShare]:
    """The result line's modelUsage as shares, biggest cost first; `<synthetic>` dropped."""
    if not isinstance(model_usage, dict):
        return []
    shares = [
        ModelShare(
            model=str(name),
            input_tokens=_int(usage.get("inputTokens")),
            output_tokens=_int(usage.get("outputTokens")),
            cache_creation_tokens=_int(usage.get("cacheCreationInputTokens")),
            cache_read_tokens=_int(usage.get("cacheReadInputTokens")),
            cost_usd=_float(usage.get("costUSD")),
        )
        for name, usage in model_usage.items()
        if isinstance(usage, dict) and name and name != SYNTHETIC_MODEL
    ]
    return sorted(shares, key=lambda s: (-s.cost_usd, -s.output_tokens, s.model))


def _usage_share(usage: Any, model: str | None) -> list[ModelShare]:
    """Older CLIs without modelUsage: the result's usage, under the run's model."""
    if not isinstance(usage, dict) or not model:
        return []
    share = ModelShare(
        model=model,
        input_tokens=_int(usage.get("input_tokens")),
        output_tokens=_int(usage.get("output_tokens")),
        cache_creation_tokens=_int(usage.get("cache_creation_input_tokens")),
        cache_read_tokens=_int(usage.get("cache_read_input_tokens")),
    )
    return [share] if any(share.as_dict()[k] for k in share.as_dict() if k != "model") else []


def _apply(outcome: CliOutcome, event: dict[str, Any]) -> None:
    kind = event.get("type")
    subtype = event.get("subtype")
    if kind == "system" and subtype == "init":
        outcome.session_id = event.get("session_id") or outcome.session_id
        model = event.get("model")
        if isinstance(model, str) and model != SYNTHETIC_MODEL:
            outcome.model = outcome.model or model
        tools = event.get("tools")
        if isinstance(tools, list):
            outcome.available_tools = [str(t) for t in tools]
        outcome.cli_version = event.get("claude_code_version") or outcome.cli_version
    elif kind == "system" and subtype == "api_retry":
        outcome.retries.append(
            {k: event.get(k) for k in ("attempt", "max_retries", "error_status", "error")}
        )
    elif kind == "system" and subtype == "model_fallback":
        outcome.fallbacks.append(
            {k: event.get(k) for k in ("trigger", "original_model", "fallback_model")}
        )
    elif kind == "assistant":
        found = event.get("message")
        message: dict[str, Any] = found if isinstance(found, dict) else {}
        model = message.get("model")
        if (
            isinstance(model, str)
            and model != SYNTHETIC_MODEL
            and not event.get("parent_tool_use_id")
        ):
            outcome.model = model  # follows a fallback: the latest main-agent model
        if event.get("error"):
            outcome.error_code = str(event["error"])
        for block in message.get("content") or []:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                outcome.tool_uses.append(str(block.get("name")))
    elif kind == "result":
        _apply_result(outcome, event)


def _apply_result(outcome: CliOutcome, event: dict[str, Any]) -> None:
    """A result line; a later one (after a background subagent) replaces an earlier one."""
    outcome.saw_result = True
    outcome.subtype = event.get("subtype")
    outcome.is_error = bool(event.get("is_error")) or outcome.subtype != "success"
    outcome.result_text = str(event.get("result") or "")
    errors = event.get("errors")
    outcome.errors = [str(e) for e in errors] if isinstance(errors, list) else []
    status = event.get("api_error_status")
    outcome.api_error_status = status if isinstance(status, int) else None
    if not outcome.is_error:
        outcome.error_code = None  # an earlier failed turn the CLI recovered from
    outcome.terminal_reason = event.get("terminal_reason")
    outcome.session_id = event.get("session_id") or outcome.session_id
    outcome.cost_usd = _float(event.get("total_cost_usd"))
    outcome.duration_ms = _int(event.get("duration_ms"))
    outcome.num_turns = _int(event.get("num_turns"))
    denials = event.get("permission_denials")
    if isinstance(denials, list):
        outcome.permission_denials = [d for d in denials if isinstance(d, dict)]
    outcome.models = model_shares(event.get("modelUsage")) or _usage_share(
        event.get("usage"), outcome.model
    )
    if outcome.models and outcome.model not in {s.model for s in outcome.models}:
        outcome.model = outcome.models[0].model


def parse_stream(lines: Iterable[str], exit_code: int = 0, stderr: str = "") -> CliOutcome:
    """Fold stream-json lines into a CliOutcome; tolerant of noise and partial output."""
    outcome = CliOutcome(exit_code=exit_code, stderr=stderr)
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            _apply(outcome, event)
    return outcome
