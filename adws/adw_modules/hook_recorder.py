"""Record every Claude Code hook event in the orchestrator database, off the agent's critical path.

Standard library only (any python3 >= 3.10, with or without the project's dependencies): the
hook never imports pydantic, yaml, psycopg or the rest of the runtime. The runtime imports
this module to replay what the hooks could not write (`OrchestratorDB.replay_hook_events`).

How one event travels:

1. Claude Code runs `exec sh .claude/hooks/orchestrator_hook.py` for every event it fires.
   The shell half of that file writes TAC_AGENT_ID and the event JSON (stdin) to a *spool
   file* `<spool>/<CLI pid>/<ns>-<pid>-<n>.json`, starts a recorder for that CLI process
   unless one is running, and exits 0 without printing: the agent waits for `sh`, `date` and
   `cat`, never for Python or the database. (Not the CLI's "async" hooks: in print mode it
   kills those still running at exit, and their events are lost.) Stop and SessionEnd run
   it with `--wait`: it returns once the recorder has written this CLI's events (at most
   2 s), so they are in the database when a turn ends and when `claude -p` exits.
2. The recorder (`python3 -S orchestrator_hook.py --drain DIR`, detached from the hook, at
   nice 10 unless a waiting event started it) turns each spool file into a row whose id (a
   UUIDv7) and time come from the moment the event was seen, writes the batch in one BEGIN
   IMMEDIATE transaction with sqlite3, deletes the files once committed, and lingers
   LINGER_SECONDS for more events of the same agent. After Stop, SubagentStop and
   SessionEnd it also records the session's transcript usage (transcripts.py), once the
   agent is idle, so no hook waits for that.
3. What cannot be written now (PostgreSQL, which this module cannot reach without psycopg; a
   locked, missing or unmigrated database) is appended as ready rows to the *fallback file*
   and deleted from the spool. The recorder's next successful write and the runtime (on
   open, and `replay_hook_events()`) replay those rows; ids make every insert idempotent, so
   a replay never duplicates. What can never be written (bad input, an unknown agent) is
   kept in the fallback file as a rejected entry, for a person to read.

Where events go: inside a workflow TAC_AGENT_ID names the agent (agent_logs). Outside one,
each Claude Code session gets its own agent (`interactive_agent_id(session_id)`) under the
orchestrator agent `claude_code`: created on its first event, completed by SessionEnd. An
event without a session id goes to system_logs. Tool calls and their results (or failures)
share a tool_use_id, stored in its own column; prompt_id, agent_id and agent_type (inside
subagents) stay in the details, which keep every field of the event but transcript_path,
with long strings and lists cut.

`python3 orchestrator_hook.py` without arguments records the event on stdin synchronously
(the same rows, the same fallback): that is what tests and scripts use.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

# The parts, by job: what an event becomes, where rows go, where events wait. Their public
# names are importable from here too (the runtime, transcripts.py and tests use them so).
from .hook_rows import (
    AGENT_ENV_VAR,
    COMPLETED_STATUS,
    EVENTS,
    INTERACTIVE_AGENT_NAME,
    INTERACTIVE_AGENT_TYPE,
    INTERACTIVE_DESCRIPTION,
    INTERACTIVE_NAMESPACE,
    INTERACTIVE_ORCHESTRATOR,
    INTERACTIVE_STATUS,
    LOG_LEVELS,
    LOG_TYPES,
    MAX_ITEMS,
    MAX_SUBJECT,
    MAX_TEXT,
    TRANSCRIPT_EVENTS,
    UNKNOWN_EVENT,
    Rejected,
    Row,
    Writer,
    canonical_uuid,
    compact_json,
    database_key,
    describe,
    interactive_agent_id,
    make_row,
    new_id,
    parse_event,
    timestamp,
    validate_row,
)
from .hook_spool import (
    BATCH_SIZE,
    FALLBACK_ENV_VAR,
    FALLBACK_NAME,
    IMPORTING_MARKER,
    MAX_FALLBACK_INPUT,
    PARTIAL_GRACE_SECONDS,
    POLL_SECONDS,
    RECORDER_LOCK,
    SPOOL_NAME,
    Entry,
    Environ,
    Spool,
    _claim,
    _release,
    append_fallback,
    claim,
    pending_line,
    read_spool_file,
    recorder_alive,
    rejected_line,
    replay_fallback,
    spool_files,
    take_entries,
    wait_until_recorded,
)
from .hook_writer import (
    HOOK_BUSY_TIMEOUT_MS,
    SQLiteWriter,
    Step,
    Target,
    _uri_path,
    ensure_interactive_agent,
    record_rows,
    resolve_target,
)

__all__ = [
    "AGENT_ENV_VAR", "BATCH_SIZE", "BUSY_TIMEOUT_ENV_VAR", "COMPLETED_STATUS",
    "DATABASE_ENV_VAR", "EVENTS", "FALLBACK_ENV_VAR", "FALLBACK_NAME", "HOOK_BUSY_TIMEOUT_MS",
    "IMPORTING_MARKER", "IMPORT_DELAY_SECONDS", "INTERACTIVE_AGENT_NAME",
    "INTERACTIVE_AGENT_TYPE", "INTERACTIVE_DESCRIPTION", "INTERACTIVE_NAMESPACE",
    "INTERACTIVE_ORCHESTRATOR", "INTERACTIVE_STATUS", "LINGER_SECONDS", "LOG_LEVELS",
    "LOG_TYPES", "MAX_FALLBACK_INPUT", "MAX_ITEMS", "MAX_SUBJECT", "MAX_TEXT",
    "PARTIAL_GRACE_SECONDS", "POLL_SECONDS", "RECORDER_LOCK", "REPLAY_WAIT_SECONDS",
    "SPOOL_NAME", "TRANSCRIPT_EVENTS", "UNKNOWN_EVENT", "Entry", "Environ",
    "Recorder", "Rejected", "Row", "SQLiteWriter", "Spool", "Step", "Target", "Writer",
    "_uri_path", "append_fallback", "canonical_uuid", "claim", "compact_json",
    "database_key", "describe", "drain", "ensure_interactive_agent", "interactive_agent_id",
    "main", "make_row", "new_id", "parse_event", "pending_line", "read_spool_file",
    "record_rows", "record_stdin", "recorder_alive", "rejected_line", "replay",
    "replay_fallback", "resolve_target", "spool_files", "take_entries", "timestamp",
    "validate_row", "wait_until_recorded",
]  # fmt: skip

DATABASE_ENV_VAR = "TAC_ORCHESTRATOR_DB"
BUSY_TIMEOUT_ENV_VAR = "TAC_HOOK_BUSY_TIMEOUT_MS"
LINGER_SECONDS = 0.5  # a recorder waits this long for the agent's next event before exiting
IMPORT_DELAY_SECONDS = 0.2  # a Stop's transcript import waits this long for more events
REPLAY_WAIT_SECONDS = 3.0  # the runtime waits this long for live recorders before replaying


# -- recording ------------------------------------------------------------------------------


class Recorder:
    """Writes entries to the target, or to the fallback file; replays on success."""

    def __init__(self, target: Target, spool: Spool, busy_timeout_ms: int) -> None:
        self.target = target
        self.spool = spool
        self.writer = SQLiteWriter(target.path, busy_timeout_ms) if target.path else None
        # Transcript imports wait until the agent is idle (flush_imports): written rows of
        # Stop, SubagentStop and SessionEnd, and the marker that tells wait_until_recorded.
        self.deferred: list[Row] = []
        self.marker: Path | None = None
        self.deferred_since = 0.0

    def handle(self, entries: list[Entry]) -> None:
        rows = [e.row for e in entries if e.row is not None]
        fallback: list[dict[str, Any]] = [rejected_line(e) for e in entries if e.row is None]
        by_id = {e.row["id"]: e for e in entries if e.row is not None}
        written = False
        if rows and self.writer is not None:
            try:
                _inserted, rejected = self.writer(rows)
                written = True
            except Exception as exc:  # locked, missing, not a database, not migrated ...
                reason = f"{type(exc).__name__}: {exc}"
                fallback += [pending_line(row, self.target.key, reason) for row in rows]
            else:
                for row, reason in rejected:
                    entry = by_id[row["id"]]
                    entry.error = reason
                    fallback.append(rejected_line(entry))
        elif rows:
            fallback += [pending_line(row, self.target.key, self.target.reason) for row in rows]
        if fallback:
            append_fallback(self.spool.fallback, fallback)
        if written and self.writer is not None and self.spool.fallback.exists():
            with contextlib.suppress(Exception):  # the database is back: replay what waits
                replay_fallback(self.spool.fallback, self.target.key, self.writer)
        # A spool file is gone only once its event is recorded or in the fallback file (and
        # any replay it allowed is done): what the hook's --wait (Stop, SessionEnd) waits for.
        directory = next((e.file.parent for e in entries if e.file is not None), None)
        for entry in entries:
            if entry.file is not None:
                with contextlib.suppress(FileNotFoundError):
                    entry.file.unlink()
        if written and self.writer is not None:
            # Not now: the agent would wait for it (its next --wait event queues behind it).
            # wait_until_recorded waits for the marker, so the session's usage is there too
            # when a test or script looks.
            refused = {id(row) for row, _ in rejected}
            wanted = [r for r in rows if r["event"] in TRANSCRIPT_EVENTS and id(r) not in refused]
            if wanted:
                if not self.deferred:
                    self.deferred_since = time.monotonic()
                self.deferred += wanted
                if self.marker is None and directory is not None:
                    self.marker = directory / f"{IMPORTING_MARKER}.{os.getpid()}"
                    with contextlib.suppress(OSError):
                        self.marker.touch()

    def imports_due(self) -> bool:
        """Deferred imports are due once the session ended or the agent was idle a while."""
        if not self.deferred:
            return False
        if any(row["event"] == "SessionEnd" for row in self.deferred):
            return True
        return time.monotonic() - self.deferred_since >= IMPORT_DELAY_SECONDS

    def flush_imports(self) -> None:
        """The deferred transcript imports, then the marker goes."""
        rows, self.deferred = self.deferred, []
        try:
            if rows:
                self.import_transcripts(rows, [])
        finally:
            if self.marker is not None:
                with contextlib.suppress(OSError):
                    self.marker.unlink()
                self.marker = None

    def import_transcripts(self, rows: list[Row], refused: list[Row]) -> None:
        """After Stop, SubagentStop and SessionEnd: the session's usage from its transcript
        (transcript_import.py and its parts, imported only then; not transcripts.py, whose
        locations the hook never needs). Never fails the recorder: what is not recorded now
        is on disk, and the next Stop or `db import-transcripts` records it."""
        if self.writer is None or not any(row["event"] in TRANSCRIPT_EVENTS for row in rows):
            return
        with contextlib.suppress(Exception):
            from . import transcript_import as transcripts

            skip = {id(row) for row in refused}
            run = transcripts.sqlite_runner(self.writer.path, self.writer.busy_timeout_ms)
            kept = [row for row in rows if id(row) not in skip]
            offsets = self.spool.fallback.parent / transcripts.OFFSETS_NAME
            transcripts.import_after_hooks(run, kept, offsets)  # only what is new since

    def close(self) -> None:
        try:
            self.flush_imports()
        finally:
            if self.writer is not None:
                self.writer.close()


def record_stdin(raw: str, agent_env: str, recorder: Recorder, *, ns: int | None = None) -> None:
    """Record one event given as text, synchronously (the hook run without arguments)."""
    moment = time.time_ns() if ns is None else ns
    try:
        entry = Entry(make_row(parse_event(raw), agent_env, new_id(moment), timestamp(moment)), raw)
    except Rejected as exc:
        entry = Entry(None, raw, error=str(exc))
    recorder.handle([entry])


def drain(
    directory: Path,
    recorder: Recorder,
    *,
    linger: float = LINGER_SECONDS,
    complete: bool = False,
) -> int:
    """Record every spool file of one CLI process's directory, oldest first, in batches;
    then wait up to `linger` seconds for more before leaving. Returns the entries handled.

    The shell half starts a recorder unless directory/.recorder names a live one; the lock
    is released before the last look at the directory, so an event spooled while a recorder
    leaves is either seen by it or finds no live recorder and starts another."""
    handled = 0
    if not _claim(directory):
        return 0  # another recorder handled every file and removed the directory
    try:
        deadline = time.monotonic() + linger
        while True:
            entries = take_entries(directory, complete=complete)
            if entries:
                recorder.handle(entries)
                handled += len(entries)
                deadline = time.monotonic() + linger
                continue
            if recorder.imports_due():
                recorder.flush_imports()
                continue
            if time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
                continue
            recorder.flush_imports()
            _release(directory)
            if not spool_files(directory):
                break
            if not _claim(directory):  # an event arrived as we were leaving
                break
            deadline = time.monotonic() + linger
    finally:
        _release(directory)
        with contextlib.suppress(OSError):
            directory.rmdir()  # only when empty; the next event re-creates it
    return handled


def replay(
    spool: Spool,
    target_key: str,
    write: Writer,
    *,
    take_spool: bool = True,
    wait_seconds: float = REPLAY_WAIT_SECONDS,
) -> int:
    """What the runtime does on open (hook_replay.replay): wait for live recorders, record
    the spool files nobody is recording, then the fallback file's rows of this database.
    Imported only then: the hook itself never replays. Returns the rows inserted."""
    from . import hook_replay

    return hook_replay.replay(
        spool, target_key, write, take_spool=take_spool, wait_seconds=wait_seconds
    )


# -- the hook's entry point -------------------------------------------------------------------


def _busy_timeout(environ: Environ) -> int:
    try:
        return max(0, int(environ.get(BUSY_TIMEOUT_ENV_VAR, "")))
    except ValueError:
        return HOOK_BUSY_TIMEOUT_MS


def main(
    argv: list[str] | None = None,
    *,
    project_root: Path,
    adws_dir: str = "adws",
    logs_dir: str = "logs",
    configured_database: str = "",
    stdin: TextIO | None = None,
    environ: Environ | None = None,
) -> int:
    """`orchestrator_hook.py` (the Python half): record stdin, or `--drain DIR` in the
    background. Never raises, never prints; always returns 0."""
    env = os.environ if environ is None else environ
    args = sys.argv[1:] if argv is None else argv
    spool = Spool.locate(project_root, logs_dir, env)
    raw = ""
    try:
        target = resolve_target(
            env.get(DATABASE_ENV_VAR, "") or configured_database, project_root, adws_dir
        )
        recorder = Recorder(target, spool, _busy_timeout(env))
        try:
            if args[:1] == ["--drain"] and len(args) == 2:
                with contextlib.suppress(OSError):
                    os.setsid()  # outlive the hook's process group; the agent never waits
                import signal  # the shell half ignores SIGTERM; out of its group, obey it again

                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                drain(Path(args[1]), recorder)
            else:
                raw = (stdin or sys.stdin).read()
                record_stdin(raw, env.get(AGENT_ENV_VAR, ""), recorder)
        finally:
            recorder.close()
    except BaseException as exc:  # a hook must never break the agent
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            return 0
        with contextlib.suppress(Exception):  # the last resort must not fail either
            entry = Entry(None, raw, error=f"{type(exc).__name__}: {exc}")
            append_fallback(spool.fallback, [rejected_line(entry)])
    return 0
