"""Database operations on what a workflow run records besides its row: the project commands
its phases ran (run_checks: exit codes decide, never the agent's word) and the webhook
deliveries a receiver accepted (the replay guard). Generators of SQL steps (adw_db_ops_shared);
adw_db_methods lists them.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

from .adw_db_dialect import IntegrityViolation
from .adw_db_ops_runs import _positive_int
from .adw_db_ops_shared import Op, _foreign_key, _text
from .orch_database_types import InvalidInput

if TYPE_CHECKING:
    from .orch_run_models import CheckRecord

_last_id = [0, 0]  # (milliseconds, counter) of the last check id this process made
_id_lock = threading.Lock()


def check_id() -> str:
    """A UUID version 7 whose 12-bit counter (RFC 9562, method 1) keeps the ids one process
    makes in order within a millisecond, so a run's checks read back in the order they ran
    (ORDER BY created_at, id) even when two finish in the same millisecond."""
    with _id_lock:
        millis = time.time_ns() // 1_000_000
        counter = 0
        if millis <= _last_id[0]:
            millis, counter = _last_id[0], _last_id[1] + 1
            if counter > 0xFFF:
                millis, counter = millis + 1, 0
        _last_id[:] = [millis, counter]
    rand = int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF
    value = (millis & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def record_check(
    adw_id: str,
    phase: str,
    attempt: int,
    name: str,
    command: str,
    exit_code: int | None,
    timed_out: bool,
    duration_ms: int,
    output: str,
) -> Op[CheckRecord]:
    """Record one run of a project command by a phase (attempt from 1); exit_code None when it
    timed out or could not start; output: the trimmed tail the caller kept."""
    from .orch_run_models import CheckRecord

    _text(phase, "phase")
    _text(name, "name")
    _positive_int(attempt, "attempt")
    if exit_code is not None and (isinstance(exit_code, bool) or not isinstance(exit_code, int)):
        raise InvalidInput(f"invalid exit_code: must be an integer or None (got {exit_code!r})")
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, int) or duration_ms < 0:
        raise InvalidInput(f"invalid duration_ms: must be an integer >= 0 (got {duration_ms!r})")
    for text, field in ((command, "command"), (output, "output")):
        if not isinstance(text, str):
            raise InvalidInput(f"invalid {field}: must be a string (got {text!r})")
    new_check = check_id()
    try:
        yield (
            "exec",
            "INSERT INTO run_checks (id, adw_id, phase, attempt, name, command, exit_code, "
            "timed_out, duration_ms, output, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {now})",
            (new_check, adw_id, phase, attempt, name, command, exit_code, bool(timed_out),
             duration_ms, output),
        )  # fmt: skip
    except IntegrityViolation as exc:
        raise _foreign_key(exc, f"run {adw_id!r} does not exist") from None
    row = yield ("one", "SELECT * FROM run_checks WHERE id = ?", (new_check,))
    return CheckRecord.model_validate(dict(row))


def list_checks(adw_id: str) -> Op[list[CheckRecord]]:
    """A run's checks in the order they ran."""
    from .orch_run_models import CheckRecord

    rows = yield (
        "all",
        "SELECT * FROM run_checks WHERE adw_id = ? ORDER BY created_at, id",
        (adw_id,),
    )
    return [CheckRecord.model_validate(dict(r)) for r in rows]


def remember_delivery(delivery_id: str, event: str) -> Op[bool]:
    """Record a webhook delivery id; False when it was seen before (a replay: refuse it)."""
    _text(delivery_id, "delivery_id")
    if not isinstance(event, str):
        raise InvalidInput(f"invalid event: must be a string (got {event!r})")
    count = yield (
        "exec",
        "INSERT INTO webhook_deliveries (delivery_id, event, received_at) "
        "VALUES (?, ?, {now}) ON CONFLICT (delivery_id) DO NOTHING",
        (delivery_id, event),
    )
    return bool(count)
