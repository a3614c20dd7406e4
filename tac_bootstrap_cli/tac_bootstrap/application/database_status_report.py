"""`db status` as a call returning a report, apart from the other db reports: `db status` is
run often and each report dataclass costs start-up time (database_reports re-exports both)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tac_bootstrap.application import database_service as service
from tac_bootstrap.runtime.adw_db_status import DatabaseStatus


def where(target: service.DatabaseTarget) -> dict[str, Any]:
    """The keys every `db` JSON document uses to say which database it is about."""
    return {
        "path": str(target.path) if target.path is not None else None,
        "backend": target.backend,
        "location": target.display,
    }


@dataclass(frozen=True)
class StatusReport:
    """`db status`: the runtime's DatabaseStatus of the project's database."""

    target: service.DatabaseTarget
    status: DatabaseStatus
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        state = self.status
        return {
            "ok": True,
            **where(self.target),
            "server_version": state.server_version or None,
            "source": self.target.location.source,
            "exists": state.exists,
            "size_bytes": state.size_bytes,
            "schema_version": state.schema_version,
            "pending_migrations": state.pending,
            "counts": state.counts,
        }


def database_status(project: Path | None) -> StatusReport:
    target = service.locate(project)
    return StatusReport(target, service.status(target))
