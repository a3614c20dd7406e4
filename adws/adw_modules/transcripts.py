"""Usage of Claude Code sessions read from their transcripts, for interactive sessions too.

Standard library only, like hook_recorder.py (which imports this module when it records a
Stop, SubagentStop or SessionEnd event): no pydantic, no psycopg.

A session's transcript is the JSONL file the CLI writes to
`~/.claude/projects/<cwd, every character but letters and digits as ->/<session id>.jsonl`
(`$CLAUDE_CONFIG_DIR/projects/...` when that is set); each subagent's is
`<session id>/subagents/agent-<agent id>.jsonl` beside it. Every assistant message the API
returned is there with its `message.id`, the request's `requestId`, `message.model` and
`message.usage`. What this module does with them:

- One row per message in session_usage, deduplicated by (message id, request id): the CLI
  writes a message of several content blocks as several lines, each with the same usage, so
  the lines of one message count once, and importing a transcript again adds nothing (a
  message whose usage grew since, say a line written before its final usage, is updated).
  A message without a request id is matched by its message id alone.
- Skipped: `<synthetic>` messages (the CLI's placeholder for an API error, zero usage), lines
  with no usage at all, and lines that are not JSON, not UTF-8, truncated or missing fields.
  A bad line is counted, never fatal.
- Cost: transcripts carry none, so it is computed from PRICES (measured against the CLI, see
  there). A model not in the table costs 0 and is reported as unpriced.
- Linked to the session: a workflow prompt whose prompts.cli_session_id is the session makes
  its agent the rows' agent; otherwise the session's interactive agent (the hook recorder's
  rule: orchestrator agent `claude_code`, agents.session_id = the CLI session id, created
  when missing).

What the transcripts cannot show (measured with CLI 2.1.332): a response the CLI discarded (a
malformed stream it retried without streaming) leaves no line, and a stream cut mid-response
leaves the message_start usage (output_tokens 1); the CLI's result line counts both. So a
workflow prompt's usage comes from its result line, and the transcript rows of a session
that belongs to a prompt are never counted again in the rollups.

The writes are operations in adw_db_operations' style (generators yielding SQL steps): run
with plain sqlite3 by `import_into_sqlite` (the hook recorder) and by OrchestratorDB on both
engines (`OrchestratorDB.import_transcripts`, `tac-bootstrap db import-transcripts`).

The parts, by job (this module re-exports their public names and runs an import of paths):
transcript_prices (the rates), transcript_reading (a file's messages), transcript_locations
(where a project's transcripts are), transcript_usage (the session_usage operations) and
transcript_import (runners, reports, import_files, import_after_hooks: what the hook
recorder imports after Stop, without the locations).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .hook_rows import TRANSCRIPT_EVENTS
from .hook_writer import Step
from .transcript_import import (
    OFFSETS_NAME,
    HookImport,
    Offsets,
    Op,
    Progress,
    Report,
    Runner,
    db_runner,
    gather,
    hook_imports,
    import_after_hooks,
    import_files,
    no_database_runner,
    sqlite_runner,
)
from .transcript_locations import (
    CONFIG_DIR_ENV_VAR,
    MAX_MANGLED,
    claude_config_dir,
    find_transcripts,
    mangle,
    project_transcript_dirs,
)
from .transcript_prices import (
    LONG_CONTEXT,
    PRICES,
    PRICES_SOURCE,
    Price,
    canonical_model,
    cost_usd,
    price_of,
)
from .transcript_reading import (
    BAD_LINE,
    NOT_A_MESSAGE,
    SKIPPED,
    SYNTHETIC_MODEL,
    Message,
    Transcript,
    normalise_timestamp,
    parse_line,
    read_transcript,
    session_files,
)
from .transcript_usage import (
    CHUNK,
    COUNTED_USAGE,
    TOKEN_COLUMNS,
    Counts,
    record_messages,
    unpriced_models,
    workflow_agents,
)

__all__ = [
    "BAD_LINE", "CHUNK", "CONFIG_DIR_ENV_VAR", "COUNTED_USAGE", "LONG_CONTEXT", "MAX_MANGLED",
    "NOT_A_MESSAGE", "OFFSETS_NAME", "PRICES", "PRICES_SOURCE", "SKIPPED", "SYNTHETIC_MODEL",
    "TOKEN_COLUMNS", "TRANSCRIPT_EVENTS", "Counts", "HookImport", "Message", "Offsets", "Op",
    "Price", "Progress", "Report", "Runner", "Step", "Transcript", "canonical_model",
    "claude_config_dir", "cost_usd", "db_runner", "find_transcripts", "gather",
    "hook_imports", "import_after_hooks", "import_files", "import_transcripts", "mangle",
    "no_database_runner", "normalise_timestamp", "parse_line", "price_of",
    "project_transcript_dirs", "read_transcript", "record_messages", "session_files",
    "sqlite_runner", "unpriced_models", "workflow_agents",
]  # fmt: skip


def import_transcripts(
    db: Any,
    paths: Iterable[os.PathLike[str] | str] = (),
    *,
    project_root: os.PathLike[str] | str | None = None,
    since_days: float | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
) -> Report:
    """Import Claude Code transcripts into the database (`db`: an OrchestratorDB, or the path
    of a SQLite file). Without `paths`, every transcript of the project's sessions
    (project_transcript_dirs of `project_root`); files and folders otherwise. Idempotent."""
    run = db_runner(db) if hasattr(db, "_write") else sqlite_runner(Path(db))
    given = list(paths)
    if not given:
        if project_root is None:
            raise ValueError("import_transcripts needs paths or a project_root")
        given = list(project_transcript_dirs(project_root, environ))
    files, errors = find_transcripts(given, since_days=since_days)
    report = import_files(run, files, dry_run=dry_run, progress=progress)
    report.errors[:0] = errors
    return report
