"""Importing transcripts into the database: runners, reports, and the two import jobs.

`import_files` (the CLI's `db import-transcripts`, through transcripts.import_transcripts)
and `import_after_hooks` (the hook recorder, after Stop, SubagentStop and SessionEnd, reading
each file from where the last import stopped). Standard library only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .hook_rows import TRANSCRIPT_EVENTS
from .hook_writer import HOOK_BUSY_TIMEOUT_MS, Step, _uri_path, drive_sqlite
from .transcript_prices import PRICES_SOURCE
from .transcript_reading import Message, Transcript, _ids_from_path, read_transcript, session_files
from .transcript_usage import Counts, record_messages, workflow_agents

Op = Generator[Step, Any, Any]
Progress = Callable[[int, int], None]  # (bytes done, bytes in all)

Runner = Callable[[Callable[[], Op], bool], Any]  # (build the operation, write?) -> its result


def sqlite_runner(path: Path, busy_timeout_ms: int = HOOK_BUSY_TIMEOUT_MS) -> Runner:
    """Run operations on a SQLite file with the standard library (what the hook can do):
    the database must exist; writes are one BEGIN IMMEDIATE transaction each."""

    def run(build: Callable[[], Op], write: bool) -> Any:
        if not path.is_file():
            raise FileNotFoundError(f"no database at {path} yet (created on first use)")
        uri = "file:" + _uri_path(path) + "?mode=rw"
        conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout_ms / 1000, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            result = drive_sqlite(conn, build())
            conn.execute("COMMIT")
            return result
        finally:
            conn.close()  # without a COMMIT this rolls back

    return run


def gather(report: Report, transcript: Transcript, found: dict[str, Message]) -> bool:
    """Count one read transcript into the report and merge its messages into `found` (one per
    message id); False when it could not be read (its error is in the report)."""
    if transcript.error:
        report.errors.append(transcript.error)
        return False
    report.files += 1
    report.lines += transcript.lines
    report.bad_lines += transcript.bad_lines
    report.skipped += transcript.skipped
    for message in transcript.messages:
        seen = found.get(message.message_id)
        if seen is None:
            found[message.message_id] = message
        else:
            seen.merge(message)
    return True


def db_runner(db: Any) -> Runner:
    """Run operations through an OrchestratorDB (either engine, retries on PostgreSQL)."""

    def run(build: Callable[[], Op], write: bool) -> Any:
        return db._write(build(), build) if write else db._read(build())

    return run


class Report:
    """The outcome of import_transcripts: counts, files, lines and one-line errors."""

    __slots__ = ("bad_lines", "counts", "dry_run", "errors", "files", "lines", "skipped")

    def __init__(self, dry_run: bool = False) -> None:
        self.counts = Counts()
        self.files = 0
        self.lines = 0
        self.bad_lines = 0
        self.skipped = 0
        self.errors: list[str] = []
        self.dry_run = dry_run

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "files": self.files,
            "lines": self.lines,
            "bad_lines": self.bad_lines,
            "skipped_lines": self.skipped,
            **self.counts.to_json(),
            "errors": list(self.errors),
            "prices": PRICES_SOURCE,
        }


def import_files(
    run: Runner,
    files: Sequence[Path],
    *,
    dry_run: bool = False,
    agents: Mapping[str, str] | None = None,
    close_new_agents: bool = True,
    progress: Progress | None = None,
) -> Report:
    """Read transcript files and record them, one session at a time (its transcript and its
    subagents' in one transaction). A file that cannot be read, or a session that cannot be
    written, is an error in the report; the others are still imported."""
    report = Report(dry_run)
    groups, sizes = _by_session(files)
    total, done = sum(sizes.values()), 0
    # Which sessions a workflow prompt ran, asked once for all of them (see workflow_agents).
    named = {key for key in groups if key not in (agents or {})}
    try:
        workflows: dict[str, str] = run(lambda: workflow_agents(named), False) if named else {}
    except Exception:  # no database: each session's own transaction reports it
        workflows, named = {}, set()
    for group in groups.values():
        found: dict[str, Message] = {}
        main_path: str | None = None
        for path in group:
            transcript = read_transcript(path)
            done += sizes.get(path, 0)
            if progress is not None:
                progress(done, total)
            if not gather(report, transcript, found):
                continue
            if main_path is None and path.parent.name != "subagents":
                main_path = str(path)
        if not found:
            continue
        messages = list(found.values())

        def build(messages: list[Message] = messages, where: str | None = main_path) -> Op:
            return record_messages(
                messages,
                agents=agents,
                workflows=workflows,
                checked=named,
                dry_run=dry_run,
                close_new_agents=close_new_agents,
                transcript_path=where,
            )

        try:
            report.counts.add(run(build, not dry_run))
        except Exception as exc:  # one session's failure is reported; the rest goes on
            sessions = ", ".join(sorted({m.session_id for m in messages}))
            report.errors.append(_failure(sessions, exc))
    return report


def _by_session(files: Sequence[Path]) -> tuple[dict[str, list[Path]], dict[Path, int]]:
    """The files grouped by session (a transcript with its subagents'), and their sizes."""
    groups: dict[str, list[Path]] = {}
    sizes: dict[Path, int] = {}
    for path in files:
        session, _ = _ids_from_path(path)
        groups.setdefault(session or str(path), []).append(path)
        with contextlib.suppress(OSError):
            sizes[path] = path.stat().st_size
    return groups, sizes


def _failure(sessions: str, exc: Exception) -> str:
    """One line for the report: the sessions and the error, whitespace collapsed."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"session {sessions}: {type(exc).__name__}: {text}"


# -- after hook events ----------------------------------------------------------------------


class HookImport:
    """A session's transcripts a batch of hook rows asks to import."""

    __slots__ = ("agent_id", "files", "final", "session_id")

    def __init__(self, session_id: str, agent_id: str | None) -> None:
        self.session_id = session_id
        self.agent_id = agent_id
        self.files: list[Path] = []
        self.final = False  # SessionEnd: nothing more will be written

    def __repr__(self) -> str:
        return f"HookImport({self.session_id!r}, {self.agent_id!r}, {self.files!r}, {self.final})"


def hook_imports(rows: Iterable[Mapping[str, Any]]) -> list[HookImport]:
    """What a batch of hook rows asks to import, per session: for Stop and SessionEnd the
    session's transcript and its subagents', for SubagentStop the subagent's transcript;
    each file once, with the agent the hook recorded the session's events for."""
    wanted: dict[str, HookImport] = {}
    for row in rows:
        session = row.get("session_id")
        if row.get("event") not in TRANSCRIPT_EVENTS or not isinstance(session, str) or not session:
            continue
        details = row.get("details")
        details = details if isinstance(details, dict) else {}
        if row["event"] == "SubagentStop" and isinstance(details.get("agent_transcript_path"), str):
            files = [Path(details["agent_transcript_path"])]
        elif isinstance(row.get("transcript_path"), str) and row["transcript_path"]:
            files = session_files(row["transcript_path"])
        else:
            continue
        agent = row.get("agent_id")
        entry = wanted.setdefault(
            session, HookImport(session, agent if isinstance(agent, str) else None)
        )
        entry.files += [f for f in files if f not in entry.files]
        entry.final = entry.final or row["event"] == "SessionEnd"
    return list(wanted.values())


OFFSETS_NAME = "transcript-offsets"  # beside the hooks' fallback file, in the logs folder


class Offsets:
    """Where the hook recorder stopped reading each transcript of one session, so that a
    Stop reads only what the CLI wrote since the last one (a file of a few bytes per session,
    removed at SessionEnd). A transcript that shrank or was replaced is read again from the
    start; reading too much is harmless (duplicates are skipped), too little is impossible:
    an offset is saved only after its messages are committed."""

    def __init__(self, directory: Path, session_id: str) -> None:
        self.path = directory / (re.sub(r"[^A-Za-z0-9_.-]", "_", session_id) + ".json")

    def load(self) -> dict[str, list[int]]:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def start(self, state: Mapping[str, Any], path: Path) -> int:
        """Where to start reading `path`: its saved offset if it is still the same file."""
        saved = state.get(str(path))
        if not (isinstance(saved, list) and len(saved) == 2):
            return 0
        inode, offset = saved
        try:
            stat = path.stat()
        except OSError:
            return 0
        if stat.st_ino != inode or stat.st_size < offset or not isinstance(offset, int):
            return 0
        return max(offset, 0)

    def save(self, state: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.path)

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()


def import_after_hooks(
    run: Runner, rows: Iterable[Mapping[str, Any]], offsets: Path | None = None
) -> Report:
    """Import the transcripts a batch of recorded hook rows points to (Stop, SubagentStop,
    SessionEnd), with the agent the hook recorded them for (a workflow's TAC_AGENT_ID or the
    session's interactive agent), one transaction per session. With `offsets` (a folder)
    each file is read from where the last import stopped. A failure is in the report, never
    raised: the transcript stays on disk, and the next Stop (or `tac-bootstrap db
    import-transcripts`) records it."""
    report = Report()
    for wanted in hook_imports(rows):
        cursor = Offsets(offsets, wanted.session_id) if offsets is not None else None
        state = cursor.load() if cursor is not None else {}
        found: dict[str, Message] = {}
        reached: dict[str, list[int]] = {}
        main_path: str | None = None
        for path in wanted.files:
            if not path.is_file():
                continue
            start = cursor.start(state, path) if cursor is not None else 0
            transcript = read_transcript(path, start, whole_lines=cursor is not None)
            if not gather(report, transcript, found):
                continue
            if main_path is None and path.parent.name != "subagents":
                main_path = str(path)
            reached[str(path)] = [transcript.inode, transcript.end]
        messages = list(found.values())
        agents = {wanted.session_id: wanted.agent_id} if wanted.agent_id else None

        def build(
            messages: list[Message] = messages,
            where: str | None = main_path,
            agents: Mapping[str, str] | None = agents,
        ) -> Op:
            return record_messages(messages, agents=agents, transcript_path=where)

        try:
            if messages:
                report.counts.add(run(build, True))
        except Exception as exc:  # the offsets stay where they were: read again next time
            report.errors.append(_failure(wanted.session_id, exc))
            continue
        if cursor is not None:
            with contextlib.suppress(OSError):
                if wanted.final:
                    cursor.remove()
                else:
                    cursor.save({**state, **reached})
    return report


def no_database_runner() -> Runner:
    """A dry run's runner when there is no database yet: nothing is recorded, all is new."""

    def run(build: Callable[[], Op], write: bool) -> Any:
        op = build()
        value: Any = None
        try:
            while True:
                mode, _sql, _params = op.send(value)
                value = [] if mode == "all" else (None if mode == "one" else 0)
        except StopIteration as stop:
            return stop.value

    return run
