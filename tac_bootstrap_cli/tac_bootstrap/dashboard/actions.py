"""The dashboard's one write, only with `--allow-actions`: cancel a queued or running run.

It goes through the runtime's API on a connection of its own (the app's is read-only), as
`finish_run(status="cancelled")`: the run's lease, issue and port slot are released the way
every other end of a run releases them. A run that already ended is left as it is.
"""

from __future__ import annotations

from typing import Any

from tac_bootstrap.application import database_service as service
from tac_bootstrap.runtime.orch_database_types import InvalidInput, NotFound

CANCELLABLE = ("queued", "running")


def cancel_run(target: service.DatabaseTarget, adw_id: str) -> dict[str, Any]:
    """{"ok", "adw_id", "status", "message"}: ok only when this call cancelled the run."""
    with service.opened(target, migrate=False) as db:
        try:
            run = db.get_run(adw_id)
        except NotFound:
            run = None
        if run is None:
            return {"ok": False, "adw_id": adw_id, "status": None, "message": "no such run"}
        if run.status.value not in CANCELLABLE:
            return {
                "ok": False,
                "adw_id": adw_id,
                "status": run.status.value,
                "message": f"the run is {run.status.value}: only a queued or running run "
                "can be cancelled",
            }
        try:
            done = db.finish_run(adw_id, "cancelled", error="cancelled from the dashboard")
        except InvalidInput as exc:  # it ended between the read and the write
            return {"ok": False, "adw_id": adw_id, "status": None, "message": str(exc)}
    return {"ok": True, "adw_id": adw_id, "status": done.status.value, "message": "cancelled"}
