"""The hooks' spool and fallback file: events on their way, and rows still to write.

Standard library only (hook_recorder.py). The shell half of the hook writes one spool file
per event under `<spool>/<CLI pid>/`; a recorder claims a directory (`.recorder`) and its
files (an atomic rename), reads them as entries, and deletes them once recorded. What cannot
be written now goes to the fallback file (appended under its lock) and `replay_fallback`
writes it later.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Generator, Iterable, Mapping
from pathlib import Path
from typing import Any

from .hook_rows import (
    Rejected,
    Row,
    Writer,
    compact_json,
    make_row,
    new_id,
    parse_event,
    timestamp,
    validate_row,
)

try:  # POSIX: the fallback file is shared by concurrent recorders and replays
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locking (the shell hook is POSIX anyway)
    fcntl = None  # type: ignore[assignment]

FALLBACK_ENV_VAR = "TAC_HOOK_FALLBACK_LOG"
FALLBACK_NAME = "hooks-fallback.jsonl"
SPOOL_NAME = "hooks-spool"
RECORDER_LOCK = ".recorder"
IMPORTING_MARKER = ".importing"  # .importing.<pid>: a recorder reads transcripts after a Stop

POLL_SECONDS = 0.005
PARTIAL_GRACE_SECONDS = 2.0  # a spool file that does not parse yet may still be being written
BATCH_SIZE = 500
MAX_FALLBACK_INPUT = 20_000

# <ns>-<sh pid>-<n>.json as the shell half writes it; .<pid> appended once a recorder claims it
_SPOOL_FILE = re.compile(r"(\d+)-(\d+)-(\d+)\.json(?:\.(\d+))?")

Environ = Mapping[str, str]


class Spool:
    """Where a project's hooks keep events: one directory of spool files per CLI process
    (`directory/<pid>/`), and the fallback file of rows still to write and rejected events."""

    __slots__ = ("directory", "fallback")

    def __init__(self, fallback: Path, directory: Path) -> None:
        self.fallback = fallback
        self.directory = directory

    def __repr__(self) -> str:
        return f"Spool(fallback={self.fallback!r}, directory={self.directory!r})"

    @classmethod
    def locate(cls, project_root: Path, logs_dir: str, environ: Environ) -> Spool:
        """TAC_HOOK_FALLBACK_LOG, or <logs_dir>/hooks-fallback.jsonl; the spool directory is
        hooks-spool/ beside it (the shell half of the hook computes the same)."""
        configured = environ.get(FALLBACK_ENV_VAR, "")
        fallback = Path(configured) if configured else project_root / logs_dir / FALLBACK_NAME
        return cls(fallback, fallback.parent / SPOOL_NAME)

    def pending(self) -> bool:
        """Whether anything is waiting (cheap: a stat and a directory listing)."""
        if self.fallback.exists():
            return True
        try:
            return any(self.directory.iterdir())
        except OSError:
            return False


class Entry:
    """One event on its way: its row (None when rejected), raw input and spool file."""

    __slots__ = ("error", "file", "raw", "row")

    def __init__(self, row: Row | None, raw: str, file: Path | None = None, error: str = ""):
        self.row = row
        self.raw = raw
        self.file = file
        self.error = error


def read_spool_file(path: Path, *, complete: bool) -> Entry | None:
    """The entry of a spool file; None while it may still be being written (it does not parse
    and is young). A file that never parses, or names no agent, is rejected."""
    try:
        data = path.read_bytes()
        stat = path.stat()
    except OSError:
        return None  # taken by another recorder meanwhile
    header, newline, body = data.partition(b"\n")
    agent_env = header.decode("utf-8", "replace")
    raw = body.decode("utf-8", "replace")
    match = _SPOOL_FILE.fullmatch(path.name)
    ns = int(match.group(1)) if match else 0
    if ns <= 0:  # `date` without %N (BSD): the file's own time
        ns = stat.st_mtime_ns
    base = path.name if match is None or match.group(4) is None else path.name.rsplit(".", 1)[0]
    entropy = hashlib.sha256(f"{path.parent.name}/{base}".encode()).digest()
    try:
        event = parse_event(raw)
        row = make_row(event, agent_env, new_id(ns, entropy), timestamp(ns))
    except Rejected as exc:
        old = time.time() - stat.st_mtime > PARTIAL_GRACE_SECONDS
        if newline and (complete or old):
            return Entry(None, raw, path, str(exc))
        if not newline and old:
            return Entry(None, data.decode("utf-8", "replace"), path, "truncated spool file")
        return None
    return Entry(row, raw, path)


def spool_files(directory: Path) -> list[Path]:
    """Spool files of one CLI process's directory, oldest first (claimed ones included)."""
    try:
        names = sorted(n for n in os.listdir(directory) if _SPOOL_FILE.fullmatch(n))
    except OSError:
        return []
    return [directory / name for name in names]


def _claimable(path: Path) -> bool:
    """Unclaimed, claimed by this process, or claimed by a process that is gone."""
    match = _SPOOL_FILE.fullmatch(path.name)
    owner = match.group(4) if match else None
    return owner is None or int(owner) == os.getpid() or not _pid_alive(int(owner))


def claim(path: Path) -> Path | None:
    """Take a spool file for this process (an atomic rename); None if another took it."""
    match = _SPOOL_FILE.fullmatch(path.name)
    if match is not None and match.group(4) is not None and int(match.group(4)) == os.getpid():
        return path
    base = path.name if match is None or match.group(4) is None else path.name.rsplit(".", 1)[0]
    claimed = path.with_name(f"{base}.{os.getpid()}")
    try:
        os.rename(path, claimed)
    except OSError:
        return None
    return claimed


def take_entries(
    directory: Path, *, complete: bool, limit: int = BATCH_SIZE, older_than: float = 0.0
) -> list[Entry]:
    """Read and claim the ready spool files of a directory (at most `limit`; with
    `older_than`, only files at least that many seconds old, whoever claimed them)."""
    entries: list[Entry] = []
    for path in spool_files(directory):
        if len(entries) >= limit:
            break
        if older_than:
            try:
                if time.time() - path.stat().st_mtime < older_than:
                    continue
            except OSError:
                continue
        elif not _claimable(path):
            continue
        entry = read_spool_file(path, complete=complete)
        if entry is None:
            continue
        claimed = claim(path)
        if claimed is not None:
            entry.file = claimed
            entries.append(entry)
    return entries


def _now_text() -> str:
    return timestamp(time.time_ns())


def pending_line(row: Row, key: str, reason: str) -> dict[str, Any]:
    return {"time": _now_text(), "database": key, "error": reason[:500], "row": row}


def rejected_line(entry: Entry) -> dict[str, Any]:
    line: dict[str, Any] = {"time": _now_text(), "error": entry.error[:500]}
    line["input"] = entry.raw[:MAX_FALLBACK_INPUT]
    if entry.row is not None:
        line["row"] = entry.row
    return line


def private_dirs(directory: Path) -> None:
    """Create `directory` and its missing parents owner-only (0700, whatever the umask): the
    fallback file and the spool hold raw hook input (prompts, commands, file contents)."""
    missing: list[Path] = []
    while not directory.exists() and directory.parent != directory:
        missing.append(directory)
        directory = directory.parent
    for created in reversed(missing):
        with contextlib.suppress(FileExistsError):
            created.mkdir(mode=0o700)
            os.chmod(created, 0o700)  # mkdir's mode is masked by the umask


@contextlib.contextmanager
def _locked(path: Path, *, create: bool) -> Generator[int | None, None, None]:
    """An fd on `path` under an exclusive flock, re-opened if the file was replaced or
    removed while we waited (so no append lands in an unlinked file). None: no file. The file
    is owner-only (0600), also when an older version or another tool created it readable."""
    while True:
        try:
            flags = os.O_RDWR | os.O_APPEND | (os.O_CREAT if create else 0)
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            if create:
                private_dirs(path.parent)
                continue
            yield None
            return
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                stat = os.fstat(fd)
                same = stat.st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                if stat.st_mode & 0o077:
                    with contextlib.suppress(OSError):  # not ours to change: leave it
                        os.fchmod(fd, 0o600)
                yield fd
                return
        finally:
            os.close(fd)  # closing also releases the lock


def append_fallback(path: Path, lines: Iterable[Mapping[str, Any]]) -> None:
    """Append JSON lines in one write, under the file's lock (concurrent recorders)."""
    data = "".join(compact_json(line) + "\n" for line in lines).encode("utf-8")
    if not data:
        return
    with _locked(path, create=True) as fd:
        assert fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]


def replay_fallback(path: Path, key: str, write: Writer) -> int:
    """Write the fallback file's pending rows of database `key` (one transaction) and remove
    them from the file; the rest (other databases, rejected entries) stays. A failing write
    leaves the file as it was and raises. Returns the rows inserted (duplicates skipped)."""
    if not path.exists():
        return 0
    with _locked(path, create=False) as fd:
        if fd is None:
            return 0
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        text = b"".join(chunks).decode("utf-8", "replace")
        keep: list[str] = []
        rows: list[Row] = []
        for line in text.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                item = None
            if not (isinstance(item, dict) and item.get("database") == key and "row" in item):
                if line.strip():
                    keep.append(line)
                continue
            try:
                rows.append(validate_row(item["row"]))
            except Rejected as exc:
                keep.append(compact_json({**item, "database": None, "error": str(exc)}))
        if not rows:
            return 0
        inserted, rejected = write(rows)
        for row, reason in rejected:
            keep.append(compact_json({"time": _now_text(), "error": reason, "row": row}))
        if keep:
            os.ftruncate(fd, 0)
            data = "".join(line + "\n" for line in keep).encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        else:
            os.unlink(path)
        return inserted


# -- which recorder has a spool directory ---------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recorder_alive(directory: Path) -> bool:
    """Whether a recorder (its pid in directory/.recorder) is running for this spool dir."""
    try:
        pid = int((directory / RECORDER_LOCK).read_text().strip() or 0)
    except (OSError, ValueError):
        return False
    return pid > 0 and _pid_alive(pid)


def _claim(directory: Path) -> bool:
    """Mark this process as the directory's recorder; False when the directory is gone (a
    lingering recorder took the last file and removed it: nothing is left to record)."""
    lock = directory / RECORDER_LOCK
    tmp = directory / f".recorder.{os.getpid()}"
    try:
        tmp.write_text(f"{os.getpid()}\n")
        os.replace(tmp, lock)
    except FileNotFoundError:
        return False
    return True


def _release(directory: Path) -> None:
    lock = directory / RECORDER_LOCK
    with contextlib.suppress(OSError, ValueError):
        if int(lock.read_text().strip() or 0) == os.getpid():
            lock.unlink()


def _spool_dirs(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.iterdir() if p.is_dir())
    except OSError:
        return []


def _importing(directory: Path) -> bool:
    """Whether a live recorder is still reading transcripts for this spool directory."""
    try:
        names = os.listdir(directory)
    except OSError:
        return False
    prefix = IMPORTING_MARKER + "."
    return any(
        n.startswith(prefix) and n[len(prefix) :].isdigit() and _pid_alive(int(n[len(prefix) :]))
        for n in names
    )


def wait_until_recorded(spool: Spool, timeout: float = 10.0) -> bool:
    """Wait until no spool file is left (each is recorded or in the fallback file once its
    file is gone) and no recorder is still importing a transcript after a Stop; False on
    timeout. For tests, benchmarks and scripts."""
    deadline = time.monotonic() + timeout
    while True:
        directories = _spool_dirs(spool.directory)
        if not any(spool_files(d) or _importing(d) for d in directories):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
