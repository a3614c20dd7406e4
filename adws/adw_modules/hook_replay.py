"""The runtime's side of the hooks: record what they left (spool files, the fallback file).

Run by OrchestratorDB on open and by `replay_hook_events()` (through hook_recorder.replay),
never by the hook itself, which only writes and falls back. Standard library only.
"""

from __future__ import annotations

import contextlib
import time

from .hook_rows import Writer
from .hook_spool import (
    POLL_SECONDS,
    Spool,
    _spool_dirs,
    append_fallback,
    recorder_alive,
    rejected_line,
    replay_fallback,
    spool_files,
    take_entries,
)

STALE_SECONDS = 60.0  # a spool file a live recorder left this long is the runtime's to write


def replay(
    spool: Spool,
    target_key: str,
    write: Writer,
    *,
    take_spool: bool = True,
    wait_seconds: float,
) -> int:
    """What the runtime does on open: wait (bounded) for live recorders to finish, record the
    spool files nobody is recording (when `take_spool`: this is the hooks' own database), then
    the fallback file's rows of this database. Returns the rows inserted."""
    inserted = 0
    if take_spool:
        deadline = time.monotonic() + wait_seconds
        while True:
            live = [d for d in _spool_dirs(spool.directory) if spool_files(d) and recorder_alive(d)]
            if not live or time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS * 2)
        for directory in _spool_dirs(spool.directory):
            # A live recorder writes its files within milliseconds; one that has left files
            # for a minute is stuck, or its pid now names another process: take them too
            # (the ids make a double write harmless).
            stale = STALE_SECONDS if recorder_alive(directory) else 0.0
            entries = take_entries(directory, complete=False, limit=1 << 30, older_than=stale)
            if not entries:
                continue
            rows = [e.row for e in entries if e.row is not None]
            count, rejected = write(rows) if rows else (0, [])
            inserted += count
            lines = [rejected_line(e) for e in entries if e.row is None]
            by_id = {e.row["id"]: e for e in entries if e.row is not None}
            for row, reason in rejected:
                by_id[row["id"]].error = reason
                lines.append(rejected_line(by_id[row["id"]]))
            append_fallback(spool.fallback, lines)
            for entry in entries:
                if entry.file is not None:
                    with contextlib.suppress(FileNotFoundError):
                        entry.file.unlink()
            with contextlib.suppress(OSError):
                directory.rmdir()
    inserted += replay_fallback(spool.fallback, target_key, write)
    return inserted
