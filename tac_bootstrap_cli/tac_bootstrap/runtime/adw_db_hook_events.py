"""Hook events in the orchestrator database: replaying the spool, and interactive agents.

OrchestratorDB.replay_hook_events() and interactive_agent() are these; the recorder itself
(hook_recorder.py) is stdlib-only and never imports the database classes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from . import adw_db_operations as ops
from .adw_db_connection import DatabaseLocation
from .adw_project import module_project
from .orch_database_types import InvalidInput, OrchestratorError

if TYPE_CHECKING:
    from .adw_database import OrchestratorDB
    from .orch_database_models import Agent


def interactive_agent(session_id: str, *, working_dir: str | None = None) -> ops.Op[Agent]:
    """The agent of Claude Code session `session_id` outside a workflow, created when
    missing (orchestrator agent `claude_code`); its id is interactive_agent_id(S)."""
    from . import hook_recorder as hooks

    if not isinstance(session_id, str) or not session_id.strip():
        raise InvalidInput(f"invalid session_id: must be a non-empty string (got {session_id!r})")
    agent_id = yield from hooks.ensure_interactive_agent(session_id, working_dir=working_dir)
    return (yield from ops.get_agent(agent_id))


def _hook_key(location: DatabaseLocation) -> str:
    from . import hook_recorder as hooks

    return hooks.database_key(path=location.path, url=location.url)


def hook_spool(location: DatabaseLocation) -> tuple[Any, bool] | None:
    """(the hook spool of the project this database belongs to, whether this database is the
    one that project's hooks write to), or None outside a project. The project is the one
    holding the migrations directory, so `tac-bootstrap db` and the project's own runtime
    find the same spool."""
    from . import hook_recorder as hooks
    from .adw_db_connection import resolve_location
    from .adw_project import CONFIG_FILENAME, read_settings

    root = next(
        (p for p in location.migrations_dir.parents if (p / CONFIG_FILENAME).is_file()), None
    )
    if root is None:
        return None
    project = module_project()  # None inside the tac-bootstrap package (the CLI)
    settings = project.settings if project and root == project.root else read_settings(root)
    sections = {
        name: value if isinstance(value := settings.get(name), dict) else {}
        for name in ("paths", "orchestrator")
    }
    paths, orchestrator = sections["paths"], sections["orchestrator"]
    spool = hooks.Spool.locate(root, str(paths.get("logs_dir") or "logs"), os.environ)
    try:
        own = resolve_location(
            root,
            adws_dir=str(paths.get("adws_dir") or "adws"),
            configured=str(orchestrator.get("database") or ""),
        )
    except OrchestratorError:
        return spool, False
    return spool, _hook_key(own) == _hook_key(location)


def replay_hook_events(db: OrchestratorDB, spool: Any, wait_seconds: float | None) -> int:
    from . import hook_recorder as hooks

    take_spool = True
    if spool is None:
        found = hook_spool(db.location)
        if found is None:
            return 0
        spool, take_spool = found
    if not spool.pending():
        return 0

    def write(rows: list[dict[str, Any]]) -> tuple[int, list[tuple[dict[str, Any], str]]]:
        result = db._write(hooks.record_rows(rows), lambda: hooks.record_rows(rows))
        if any(row.get("event") in hooks.TRANSCRIPT_EVENTS for row in rows):
            from . import transcripts  # a replayed Stop/SessionEnd: its session's usage too

            refused = {id(row) for row, _ in result[1]}
            kept = [row for row in rows if id(row) not in refused]
            transcripts.import_after_hooks(transcripts.db_runner(db), kept)
        return result

    wait = hooks.REPLAY_WAIT_SECONDS if wait_seconds is None else wait_seconds
    return hooks.replay(
        spool, _hook_key(db.location), write, take_spool=take_spool, wait_seconds=wait
    )
