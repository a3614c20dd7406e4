"""Database operations on agent and system log lines: single, batched, newest first.

Operations are generators of SQL steps (adw_db_ops_shared); adw_db_operations re-exports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .adw_db_dialect import IntegrityViolation
from .adw_db_ops_shared import (
    Op,
    _batch_validator,
    _enum,
    _existing_key,
    _foreign_key,
    _limit,
    new_id,
    uuid_key,
)
from .orch_database_types import LogLevel, LogType, NotFound, format_timestamp, to_json, utc_now

if TYPE_CHECKING:
    from .orch_database_models import AgentLogEntry, LogRecord, SystemLogEntry

LEVEL_ORDER = [level.value for level in LogLevel]


_AGENT_LOG_INSERT = (
    "INSERT INTO agent_logs (id, agent_id, log_type, log_level, message, details, created_at, "
    "tool_use_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SYSTEM_LOG_INSERT = (
    "INSERT INTO system_logs (id, log_level, component, message, details, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def log_agent(
    agent_id: str,
    log_type: LogType | str,
    message: str,
    *,
    level: LogLevel | str = LogLevel.INFO,
    details: dict[str, Any] | str | None = None,
    tool_use_id: str | None = None,
) -> Op[str]:
    """One agent log line; tool_use_id pairs a tool call with its result or failure."""
    from .orch_database_models import AgentLogEntry, validated

    entry = validated(
        AgentLogEntry,
        "agent log",
        agent_id=agent_id,
        log_type=log_type,
        message=message,
        log_level=level,
        details={} if details is None else details,
        tool_use_id=tool_use_id,
    )
    key = _existing_key(agent_id, "agent")
    log_id = new_id()
    try:
        yield ("exec", _AGENT_LOG_INSERT, _agent_log_params(log_id, key, entry, utc_now()))
    except IntegrityViolation as exc:
        raise _foreign_key(exc, f"agent {agent_id!r} does not exist") from None
    return log_id


def _agent_log_params(
    log_id: str, agent_key: str, entry: AgentLogEntry, now: str
) -> tuple[Any, ...]:
    return (
        log_id,
        agent_key,
        entry.log_type.value,
        entry.log_level.value,
        entry.message,
        to_json(entry.details),
        now,
        entry.tool_use_id,
    )


def log_agent_batch(entries: Iterable[AgentLogEntry | Mapping[str, Any]]) -> Op[int]:
    """Insert many agent log lines in one transaction; one bad entry rejects the batch."""
    from pydantic import ValidationError

    from .orch_database_models import AgentLogEntry, invalid_input

    try:
        batch = _batch_validator(AgentLogEntry).validate_python(list(entries))
    except ValidationError as exc:
        raise invalid_input(exc, "agent log batch") from None
    if not batch:
        return 0
    keys = {given: uuid_key(given) for given in {entry.agent_id for entry in batch}}
    missing = {given for given, key in keys.items() if key is None}
    agent_ids = sorted({key for key in keys.values() if key is not None})
    if agent_ids:
        placeholders = ",".join("?" * len(agent_ids))
        known = yield ("all", f"SELECT id FROM agents WHERE id IN ({placeholders})", agent_ids)
        found = {row["id"] for row in known}
        missing |= {given for given, key in keys.items() if key is not None and key not in found}
    if missing:
        raise NotFound(f"agent(s) {', '.join(sorted(map(repr, missing)))} do not exist")
    now = utc_now()
    yield (
        "many",
        _AGENT_LOG_INSERT,
        [_agent_log_params(new_id(), keys[entry.agent_id] or "", entry, now) for entry in batch],
    )
    return len(batch)


def log_system(
    message: str,
    *,
    level: LogLevel | str = LogLevel.INFO,
    component: str = "system",
    details: dict[str, Any] | str | None = None,
) -> Op[str]:
    from .orch_database_models import SystemLogEntry, validated

    entry = validated(
        SystemLogEntry,
        "system log",
        message=message,
        log_level=level,
        component=component,
        details={} if details is None else details,
    )
    log_id = new_id()
    yield ("exec", _SYSTEM_LOG_INSERT, _system_log_params(log_id, entry, utc_now()))
    return log_id


def _system_log_params(log_id: str, entry: SystemLogEntry, now: str) -> tuple[Any, ...]:
    return (
        log_id,
        entry.log_level.value,
        entry.component,
        entry.message,
        to_json(entry.details),
        now,
    )


def log_system_batch(entries: Iterable[SystemLogEntry | Mapping[str, Any]]) -> Op[int]:
    from pydantic import ValidationError

    from .orch_database_models import SystemLogEntry, invalid_input

    try:
        batch = _batch_validator(SystemLogEntry).validate_python(list(entries))
    except ValidationError as exc:
        raise invalid_input(exc, "system log batch") from None
    now = utc_now()
    if batch:
        yield (
            "many",
            _SYSTEM_LOG_INSERT,
            [_system_log_params(new_id(), entry, now) for entry in batch],
        )
    return len(batch)


def recent_logs(
    *,
    agent_id: str | None = None,
    min_level: LogLevel | str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    include_system: bool = True,
) -> Op[list[LogRecord]]:
    """Agent and system log lines, newest first; an agent filter leaves out system logs."""
    if agent_id is not None:
        agent_key = uuid_key(agent_id)
        if agent_key is None:
            return []  # no agent has that id
        agent_id = agent_key
    conditions, params = [], []
    if min_level is not None:
        level = _enum(LogLevel, min_level, "level")
        allowed = LEVEL_ORDER[LEVEL_ORDER.index(level.value) :]
        conditions.append(f"log_level IN ({','.join('?' * len(allowed))})")
        params.extend(allowed)
    if since is not None:
        conditions.append("created_at >= ?")
        params.append(format_timestamp(since))
    shared = " AND ".join(conditions)
    agent_where = " AND ".join(filter(None, [shared, "agent_id = ?" if agent_id else ""]))
    agent_sql = (
        "SELECT 'agent' AS source, id, agent_id, log_type, log_level, NULL AS component, "
        "message, details, created_at, {seq} AS seq FROM agent_logs"
        + (f" WHERE {agent_where}" if agent_where else "")
    )
    all_params: list[Any] = [*params, *([agent_id] if agent_id else [])]
    parts = [agent_sql]
    if include_system and agent_id is None:
        parts.append(
            "SELECT 'system', id, NULL, NULL, log_level, component, message, details, "
            "created_at, {seq} FROM system_logs" + (f" WHERE {shared}" if shared else "")
        )
        all_params.extend(params)
    # Within one millisecond, insertion order ({seq}) keeps the newest-first order exact.
    sql = " UNION ALL ".join(parts) + " ORDER BY created_at DESC, seq DESC LIMIT ?"
    rows = yield ("all", sql, (*all_params, _limit(limit)))
    return [_log_record(dict(row)) for row in rows]


def _log_record(values: dict[str, Any]) -> LogRecord:
    from .orch_database_models import LogRecord

    values.pop("seq")
    return LogRecord.model_validate(values)
