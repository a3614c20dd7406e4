"""Shared step machinery of the database operations: step types, tables, ids, validation.

An operation is a generator: it validates its input, then yields SQL steps and receives their
results; a driver (sqlite3 or aiosqlite, see adw_database.py) executes the steps inside one
transaction and throws database errors back into the generator, integrity errors as
IntegrityViolation. Validation happens before the first step, so invalid input never reaches
the database.

The SQL is backend-neutral: plain `?` placeholders (a value used twice is passed twice), rows
read by column name, and `{seq}`, `{day}`, `{for_update}` macros that the driver's Dialect
(adw_db_dialect.py) replaces. Ids are UUIDs (a UUID column on PostgreSQL, where comparing it
with 'planner' is an error that aborts the transaction), so a key that is not a UUID is
answered in Python, without SQL: NotFound, or an empty list for a filter.

The operations themselves live in adw_db_ops_agents, adw_db_ops_prompts, adw_db_ops_logs and
adw_db_ops_rollups; adw_db_operations re-exports them all.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Generator, Mapping
from functools import cache
from typing import Any, Literal, TypeVar

from .adw_db_dialect import IntegrityViolation
from .orch_database_types import InvalidInput, NotFound, to_json

T = TypeVar("T")
Mode = Literal["exec", "many", "one", "all"]
Step = tuple[Mode, str, Any]
Op = Generator[Step, Any, T]

TABLES = (
    "orchestrator_agents", "agents", "prompts", "agent_logs", "system_logs",
    "prompt_model_usage", "session_usage", "runs", "run_checks", "webhook_deliveries",
)  # fmt: skip
# The migration that created a table, for those 001 did not: a database at an older version
# lacks them (status, export and prune of a database not yet migrated leave them out).
TABLE_SINCE: dict[str, int] = {
    "prompt_model_usage": 3, "session_usage": 3, "runs": 5, "run_checks": 5,
    "webhook_deliveries": 5,
}  # fmt: skip
# A table's primary key when it is not `id` (copy's ON CONFLICT target, row examples).
KEY_COLUMNS: dict[str, str] = {"runs": "adw_id", "webhook_deliveries": "delivery_id"}
# Every table's columns in schema order (export, iter_rows); an engine's own bookkeeping
# columns (an insertion sequence) are not part of them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "orchestrator_agents": (
        "id", "name", "agent_type", "description", "system_prompt", "default_model",
        "capabilities", "config", "created_at", "updated_at",
    ),
    "agents": (
        "id", "orchestrator_agent_id", "session_id", "adw_id", "name", "status", "model",
        "working_dir", "context", "input_tokens", "output_tokens", "total_cost_usd",
        "error_message", "created_at", "started_at", "completed_at", "cache_creation_tokens",
        "cache_read_tokens",
    ),
    "prompts": (
        "id", "agent_id", "prompt_text", "response_text", "model", "status", "input_tokens",
        "output_tokens", "cost_usd", "latency_ms", "error_message", "created_at", "completed_at",
        "cache_creation_tokens", "cache_read_tokens", "cli_session_id", "failure_kind",
        "cli_retries", "permission_denials",
    ),
    "agent_logs": (
        "id", "agent_id", "log_type", "log_level", "message", "details", "created_at",
        "tool_use_id",
    ),
    "system_logs": ("id", "log_level", "component", "message", "details", "created_at"),
    "prompt_model_usage": (
        "id", "prompt_id", "model", "input_tokens", "output_tokens", "cache_creation_tokens",
        "cache_read_tokens", "cost_usd", "created_at",
    ),
    "session_usage": (
        "id", "session_id", "agent_id", "subagent_id", "message_id", "request_id", "model",
        "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens",
        "cost_usd", "message_at", "created_at",
    ),
    "runs": (
        "adw_id", "workflow", "status", "issue_source", "issue_ref", "issue_title",
        "issue_type", "base_branch", "branch", "worktree", "port_base", "worker_id",
        "lease_expires_at", "heartbeat_at", "claims", "pr_url", "error", "details",
        "created_at", "updated_at", "started_at", "completed_at",
    ),
    "run_checks": (
        "id", "adw_id", "phase", "attempt", "name", "command", "exit_code", "timed_out",
        "duration_ms", "output", "created_at",
    ),
    "webhook_deliveries": ("delivery_id", "event", "received_at"),
}  # fmt: skip


def key_column(table: str) -> str:
    """The column that names a row of `table` (its primary key)."""
    return KEY_COLUMNS.get(table, "id")


def tables_at(version: int) -> tuple[str, ...]:
    """The tables a database at schema `version` has, in foreign-key order."""
    return tuple(t for t in TABLES if TABLE_SINCE.get(t, 1) <= version)


def schema_level() -> Op[int]:
    """The highest migration applied (0 before the first): which tables exist."""
    exists = yield ("one", "{history_exists}", ())
    if not exists["n"]:
        return 0
    row = yield ("one", "SELECT coalesce(max(version), 0) AS v FROM schema_migrations", ())
    return int(row["v"])


# Columns holding JSON text (objects or arrays), in every table that has them.
JSON_COLUMNS = frozenset({"capabilities", "config", "context", "details", "permission_denials"})
TOKEN_KINDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")


@cache
def _batch_validator(entry: type[T]) -> Any:
    """A list validator for batch inputs, built on first use (TypeAdapter is slow to import)."""
    from pydantic import TypeAdapter

    return TypeAdapter(list[entry])  # type: ignore[valid-type]


def new_id() -> str:
    """A UUID version 7: time-ordered, so inserts append to the primary-key index instead of
    landing at random pages (random uuid4 keys halve insert speed as tables grow)."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (millis & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | (rand >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | (rand & 0x3FFF_FFFF_FFFF_FFFF)
    )
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def uuid_key(value: object) -> str | None:
    """The canonical (lower-case, hyphenated) text of a UUID, or None if `value` is not one."""
    if not isinstance(value, str):
        return None
    if _CANONICAL_UUID.fullmatch(value):
        return value  # the ids this API hands out: no parsing on the hot path
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _existing_key(value: object, what: str) -> str:
    """A UUID key for a row that must exist; anything else cannot name one."""
    key = uuid_key(value)
    if key is None:
        raise NotFound(f"{what} {value!r} does not exist")
    return key


def _by_id_or_name(value: str) -> tuple[str, tuple[str, ...]]:
    key = uuid_key(value)
    if key is None:
        return "name = ?", (value,)
    return "(id = ? OR name = ?)", (key, value)


def _row(model: type[T], row: Mapping[str, Any] | None, what: str, key: str) -> T:
    if row is None:
        raise NotFound(f"{what} {key!r} does not exist")
    return model.model_validate(dict(row))  # type: ignore[attr-defined, no-any-return]


def _text(value: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"invalid {field}: must be a non-empty string (got {value!r})")
    return value


def _enum(enum: type[Any], value: Any, field: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidInput(f"invalid {field}: {value!r} is not one of {allowed}") from None


def _json(value: Any, field: str, kind: type) -> str:
    """Validate a JSON column value (dict/list, or JSON text of one) and return its text."""
    if value is None:
        value = kind()
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise InvalidInput(f"invalid {field}: malformed JSON ({exc})") from None
    if not isinstance(value, kind):
        raise InvalidInput(f"invalid {field}: must be a JSON {kind.__name__} (got {value!r})")
    try:
        return to_json(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"invalid {field}: not serialisable as JSON ({exc})") from None


def _foreign_key(exc: IntegrityViolation, message: str) -> Exception:
    if exc.kind == "foreign_key":
        return NotFound(message)
    return InvalidInput(f"rejected by the database: {exc}")


def _limit(limit: int) -> int:
    if not isinstance(limit, int) or limit < 1:
        raise InvalidInput(f"invalid limit: must be a positive integer (got {limit!r})")
    return limit
