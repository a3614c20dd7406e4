"""Database operations on workflow runs: the run record, its checks, the queue, the ports.

A run's row (`runs`, migration 005) is written by whoever runs it: the phase engine
(create_run, update_run, assign_port, record_check, finish_run), a trigger that only enqueues
(create_run(status="queued")), and queue workers (claim_run, heartbeat_run, requeue_expired).

The queue: `claim_run` turns the oldest queued run into a running one held by a worker with
a lease; the worker extends the lease with `heartbeat_run`; `requeue_expired` puts runs whose
lease ran out (their worker died) back in the queue. Every time the queue reads is the
database's clock (`{now}`, `{lease_until}`), so workers on machines whose clocks differ agree.
On PostgreSQL a claim locks the row it takes and skips rows other claims hold (FOR UPDATE SKIP
LOCKED): concurrent workers take different runs without waiting; on SQLite the write
transaction (BEGIN IMMEDIATE) makes claims take turns.

Two partial unique indexes decide the races between machines: one active run per issue
(create_run raises RunExists) and one active run per port slot (assign_port).
Operations are generators of SQL steps (adw_db_ops_shared); adw_db_methods lists them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .adw_db_dialect import IntegrityViolation
from .adw_db_ops_shared import Op, _enum, _json, _limit, _text
from .orch_database_types import (
    ACTIVE_RUN_STATUSES,
    TERMINAL_RUN_STATUSES,
    InvalidInput,
    IssueSource,
    IssueType,
    NoFreePort,
    NotFound,
    RunExists,
    RunStatus,
    to_json,
)

if TYPE_CHECKING:
    from .orch_run_models import RunRecord

_ACTIVE_SQL = "('queued', 'running', 'paused')"
_HOLDS_PORT_SQL = "('running', 'paused')"
# Columns update_run may set; the queue's own (worker_id, lease, heartbeat, claims) and the
# timestamps are written only by the operations that own them.
UPDATABLE_RUN_FIELDS = frozenset(
    {
        "workflow", "status", "issue_ref", "issue_title", "issue_type", "base_branch",
        "branch", "worktree", "port_base", "pr_url", "error", "details",
    }
)  # fmt: skip


def _run(row: Mapping[str, Any] | None) -> RunRecord | None:
    from .orch_run_models import RunRecord

    return None if row is None else RunRecord.model_validate(dict(row))


def _positive_number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidInput(f"invalid {field}: must be a positive number (got {value!r})")
    return float(value)


def _positive_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"invalid {field}: must be a positive integer (got {value!r})")
    return value


def _issue_ref(value: Any) -> str | None:
    """A GitHub number may be given as an int; it is stored as text."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(value, "issue_ref")


def _optional_enum(enum: type[Any], value: Any, field: str) -> str | None:
    return None if value is None else str(_enum(enum, value, field).value)


def _run_for_update(adw_id: str) -> Op[RunRecord]:
    """The run, locked until the write ends (PostgreSQL; SQLite's write lock covers it)."""
    row = yield ("one", "SELECT * FROM runs WHERE adw_id = ? {for_update}", (adw_id,))
    run = _run(row)
    if run is None:
        raise NotFound(f"run {adw_id!r} does not exist")
    return run


def _active_holder(source: str, ref: str) -> Op[str | None]:
    row = yield (
        "one",
        f"SELECT adw_id FROM runs WHERE issue_source = ? AND issue_ref = ? "
        f"AND status IN {_ACTIVE_SQL}",
        (source, ref),
    )
    return None if row is None else str(row["adw_id"])


def create_run(
    adw_id: str,
    workflow: str,
    *,
    status: str = "running",
    issue_source: str = "text",
    issue_ref: str | int | None = None,
    issue_title: str = "",
    issue_type: str | None = None,
    base_branch: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> Op[RunRecord]:
    """Record a new run: `status="running"` for a run that starts now in this process (no
    worker holds it, so it is never requeued), `"queued"` for one a worker will claim.
    Raises RunExists (`.existing` = the other run's adw_id) when adw_id is taken or the issue
    (issue_source, issue_ref) already has a queued, running or paused run anywhere."""
    _text(adw_id, "adw_id")
    _text(workflow, "workflow")
    state = _enum(RunStatus, status, "status")
    if state not in (RunStatus.QUEUED, RunStatus.RUNNING):
        raise InvalidInput(f"invalid status: a new run is queued or running (got {status!r})")
    source = _enum(IssueSource, issue_source, "issue_source").value
    ref = _issue_ref(issue_ref)
    kind = _optional_enum(IssueType, issue_type, "issue_type")
    if not isinstance(issue_title, str):
        raise InvalidInput(f"invalid issue_title: must be a string (got {issue_title!r})")
    given = dict(details) if isinstance(details, Mapping) else details
    details_json = _json(given, "details", dict)
    if (yield ("one", "SELECT adw_id FROM runs WHERE adw_id = ?", (adw_id,))) is not None:
        raise RunExists(f"run {adw_id!r} already exists", existing=adw_id)
    if ref is not None:
        holder = yield from _active_holder(source, ref)
        if holder is not None:
            raise RunExists(
                f"{source} issue {ref} already has an active run ({holder})", existing=holder
            )
    started = "{now}" if state is RunStatus.RUNNING else "NULL"
    try:
        yield (
            "exec",
            "INSERT INTO runs (adw_id, workflow, status, issue_source, issue_ref, issue_title, "
            "issue_type, base_branch, details, created_at, updated_at, started_at) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, {{now}}, {{now}}, {started})",
            (adw_id, workflow, state.value, source, ref, issue_title, kind, base_branch,
             details_json),
        )  # fmt: skip
    except IntegrityViolation as exc:
        if exc.kind != "unique":
            raise InvalidInput(f"rejected by the database: {exc}") from None
        # Another machine created it between the checks above and this insert.
        raise RunExists(
            f"run {adw_id!r} not created: a concurrent run took its adw_id or issue ({exc})"
        ) from None
    return (yield from _run_for_update(adw_id))


def get_run(adw_id: str) -> Op[RunRecord | None]:
    """The run, or None."""
    row = yield ("one", "SELECT * FROM runs WHERE adw_id = ?", (adw_id,))
    return _run(row)


def list_runs(
    *, status: str | Iterable[str] | None = None, limit: int = 100
) -> Op[list[RunRecord]]:
    """Runs newest first; `status` one status or several (e.g. ACTIVE_RUN_STATUSES)."""
    from .orch_run_models import RunRecord

    wanted = [status] if isinstance(status, (str, RunStatus)) else list(status or [])
    values = [_enum(RunStatus, s, "status").value for s in wanted]
    where = f"WHERE status IN ({', '.join('?' * len(values))}) " if values else ""
    rows = yield (
        "all",
        f"SELECT * FROM runs {where}ORDER BY created_at DESC, adw_id DESC LIMIT ?",
        (*values, _limit(limit)),
    )
    return [RunRecord.model_validate(dict(r)) for r in rows]


def _changes(fields: Mapping[str, Any]) -> dict[str, Any]:
    """update_run's fields validated and turned into column values (details: a dict)."""
    unknown = sorted(set(fields) - UPDATABLE_RUN_FIELDS)
    if unknown:
        allowed = ", ".join(sorted(UPDATABLE_RUN_FIELDS))
        raise InvalidInput(f"invalid run field(s) {', '.join(unknown)}; update_run sets {allowed}")
    values = dict(fields)
    if "status" in values:
        state = _enum(RunStatus, values["status"], "status")
        if state in TERMINAL_RUN_STATUSES:
            raise InvalidInput(f"status {state.value!r} is final: use finish_run")
        values["status"] = state.value
    if "workflow" in values:
        _text(values["workflow"], "workflow")
    if "issue_ref" in values:
        values["issue_ref"] = _issue_ref(values["issue_ref"])
    if "issue_type" in values:
        values["issue_type"] = _optional_enum(IssueType, values["issue_type"], "issue_type")
    if values.get("port_base") is not None:
        _positive_int(values["port_base"], "port_base")
    if "details" in values:
        values["details"] = json.loads(_json(values["details"], "details", dict))
    return values


def update_run(adw_id: str, **fields: Any) -> Op[RunRecord]:
    """Set some of UPDATABLE_RUN_FIELDS; `details` is merged into the stored object (a key
    set to None stays, as null). A non-final status only (finish_run ends a run); back to
    "queued" also frees the run's lease and port slot, so a worker can claim it again."""
    values = _changes(fields)
    run = yield from _run_for_update(adw_id)
    if "status" in values and run.status in TERMINAL_RUN_STATUSES:
        raise InvalidInput(f"run {adw_id!r} is already {run.status.value}")
    if "details" in values:
        values["details"] = to_json({**run.details, **values["details"]})
    if values.get("status") == RunStatus.QUEUED.value:
        values.update(port_base=None, lease_expires_at=None)
    if values:
        assignments = ", ".join(f"{column} = ?" for column in values)
        try:
            yield (
                "exec",
                f"UPDATE runs SET {assignments}, updated_at = {{now}} WHERE adw_id = ?",
                (*values.values(), adw_id),
            )
        except IntegrityViolation as exc:
            if exc.kind == "unique" and "port" not in str(exc):
                raise RunExists(f"run {adw_id!r} not updated: {exc}") from None
            raise InvalidInput(f"run {adw_id!r} not updated: {exc}") from None
    return (yield from _run_for_update(adw_id))


def reopen_run(adw_id: str) -> Op[RunRecord]:
    """A finished run (completed, failed, cancelled) resumed with --adw-id: running again in
    this process, with completed_at, error, the lease and the port slot cleared (assign_port
    gives it a slot again) and started_at now. Raises RunExists when its issue has another
    active run meanwhile, InvalidInput when the run is not finished."""
    run = yield from _run_for_update(adw_id)
    if run.status not in TERMINAL_RUN_STATUSES:
        raise InvalidInput(f"run {adw_id!r} is {run.status.value}: only a finished run reopens")
    if run.issue_ref is not None:
        holder = yield from _active_holder(run.issue_source.value, run.issue_ref)
        if holder is not None:
            raise RunExists(
                f"run {adw_id!r} not reopened: {run.issue_source.value} issue {run.issue_ref} "
                f"has an active run ({holder})",
                existing=holder,
            )
    try:
        yield (
            "exec",
            "UPDATE runs SET status = 'running', completed_at = NULL, error = NULL, "
            "worker_id = NULL, lease_expires_at = NULL, port_base = NULL, started_at = {now}, "
            "updated_at = {now} WHERE adw_id = ?",
            (adw_id,),
        )
    except IntegrityViolation as exc:  # another machine started a run of the issue just now
        raise RunExists(f"run {adw_id!r} not reopened: {exc}") from None
    return (yield from _run_for_update(adw_id))


def assign_port(adw_id: str, base: int, span: int, slots: int) -> Op[int]:
    """The first port of the lowest free slot `base + k * span` (k < slots) for a running or
    paused run, recorded in port_base; a run that already holds a slot in range keeps it.
    Port assignments take turns ({port_lock}); the unique index on the active runs' port_base
    is the guarantee. Raises NoFreePort when every slot is held."""
    _positive_int(base, "base")
    _positive_int(span, "span")
    _positive_int(slots, "slots")
    yield ("one", "{port_lock}", ())
    run = yield from _run_for_update(adw_id)
    if run.status not in (RunStatus.RUNNING, RunStatus.PAUSED):
        raise InvalidInput(f"run {adw_id!r} is {run.status.value}: only an active run holds a port")
    end = base + span * slots
    kept = run.port_base
    if kept is not None and base <= kept < end and (kept - base) % span == 0:
        return kept
    rows = yield (
        "all",
        f"SELECT port_base FROM runs WHERE status IN {_HOLDS_PORT_SQL} "
        "AND port_base IS NOT NULL AND port_base >= ? AND port_base < ? AND adw_id <> ?",
        (base, end, adw_id),
    )
    held = {(int(r["port_base"]) - base) // span for r in rows}
    free = next((k for k in range(slots) if k not in held), None)
    if free is None:
        raise NoFreePort(
            f"no free port slot for run {adw_id!r}: all {slots} slots of {span} ports from "
            f"{base} are held by running or paused runs"
        )
    port = base + free * span
    try:
        yield ("exec", "UPDATE runs SET port_base = ?, updated_at = {now} WHERE adw_id = ?",
               (port, adw_id))  # fmt: skip
    except IntegrityViolation as exc:
        raise InvalidInput(f"port {port} for run {adw_id!r}: {exc}") from None
    return port


def claim_run(worker_id: str, lease_seconds: float) -> Op[RunRecord | None]:
    """Take the oldest queued run for `worker_id`: running, leased for lease_seconds (by the
    database's clock), claims + 1, started_at now, error cleared. None: the queue is empty."""
    _text(worker_id, "worker_id")
    lease = _positive_number(lease_seconds, "lease_seconds")
    row = yield (
        "one",
        "SELECT adw_id FROM runs WHERE status = 'queued' ORDER BY created_at, adw_id "
        "LIMIT 1 {skip_locked}",
        (),
    )
    if row is None:
        return None
    adw_id = str(row["adw_id"])
    yield (
        "exec",
        "UPDATE runs SET status = 'running', worker_id = ?, lease_expires_at = {lease_until}, "
        "heartbeat_at = {now}, claims = claims + 1, started_at = {now}, error = NULL, "
        "updated_at = {now} WHERE adw_id = ? AND status = 'queued'",
        (worker_id, lease, adw_id),
    )
    return (yield from _run_for_update(adw_id))


def heartbeat_run(adw_id: str, worker_id: str, lease_seconds: float) -> Op[bool]:
    """Extend the lease of a running run this worker holds. False: it no longer holds it
    (the lease expired and the run was requeued, or the run is paused or finished)."""
    _text(worker_id, "worker_id")
    lease = _positive_number(lease_seconds, "lease_seconds")
    count = yield (
        "exec",
        "UPDATE runs SET heartbeat_at = {now}, lease_expires_at = {lease_until} "
        "WHERE adw_id = ? AND worker_id = ? AND status = 'running'",
        (lease, adw_id, worker_id),
    )
    return bool(count)


_EXPIRED = "status = 'running' AND lease_expires_at IS NOT NULL AND lease_expires_at < {now}"


def requeue_expired(*, max_claims: int | None = None) -> Op[list[str]]:
    """Put running runs whose lease ran out back in the queue (their worker died or lost the
    database), freeing their port slot; returns their adw_ids. Given max_claims, a run
    already claimed that many times is failed instead (a run that kills every worker that
    takes it must not cost forever). Runs nobody leased (started in-process) are never touched."""
    # One statement, so one reading of the clock decides both fates: with two, a lease that
    # ran out between them slipped past the cap back into the queue.
    if max_claims is not None:
        _positive_int(max_claims, "max_claims")
    capped = "claims >= ?" if max_claims is not None else "1 = 0"
    caps = (max_claims,) * 4 if max_claims is not None else ()
    rows = yield (
        "all",
        f"UPDATE runs SET status = CASE WHEN {capped} THEN 'failed' ELSE 'queued' END, "
        "lease_expires_at = NULL, "
        f"port_base = CASE WHEN {capped} THEN port_base ELSE NULL END, "
        f"error = CASE WHEN {capped} THEN 'not requeued: its lease expired after ' || "
        "CAST(claims AS TEXT) || ' claims (the last by worker ' || coalesce(worker_id, '?') || "
        "')' ELSE 'requeued: the lease of worker ' || coalesce(worker_id, '?') || ' expired' END, "
        f"completed_at = CASE WHEN {capped} THEN {{now}} ELSE completed_at END, "
        f"updated_at = {{now}} WHERE {_EXPIRED} RETURNING adw_id, status",
        caps,
    )
    return sorted(str(r["adw_id"]) for r in rows if r["status"] == "queued")


def finish_run(
    adw_id: str,
    status: str,
    *,
    error: str | None = None,
    pr_url: str | None = None,
    worker_id: str | None = None,
) -> Op[RunRecord]:
    """End a run: completed, failed or cancelled, with completed_at now; the lease, the issue
    and the port slot are released. error/pr_url, when given, are recorded. Given worker_id,
    only a run still running under that worker is finished (a worker that lost its lease
    must not end the next holder's run): otherwise the row is returned unchanged."""
    state = _enum(RunStatus, status, "status")
    if state not in TERMINAL_RUN_STATUSES:
        raise InvalidInput(
            f"invalid status: a run finishes completed, failed or cancelled (got {status!r})"
        )
    run = yield from _run_for_update(adw_id)
    if worker_id is not None and (
        run.status is not RunStatus.RUNNING or run.worker_id != worker_id
    ):
        return run
    if run.status in TERMINAL_RUN_STATUSES:
        raise InvalidInput(f"run {adw_id!r} is already {run.status.value}")
    yield (
        "exec",
        "UPDATE runs SET status = ?, error = coalesce(?, error), pr_url = coalesce(?, pr_url), "
        "lease_expires_at = NULL, completed_at = {now}, updated_at = {now} WHERE adw_id = ?",
        (state.value, error, pr_url, adw_id),
    )
    return (yield from _run_for_update(adw_id))


__all__ = [
    "ACTIVE_RUN_STATUSES",
    "UPDATABLE_RUN_FIELDS",
    "assign_port",
    "claim_run",
    "create_run",
    "finish_run",
    "get_run",
    "heartbeat_run",
    "list_runs",
    "reopen_run",
    "requeue_expired",
    "update_run",
]
