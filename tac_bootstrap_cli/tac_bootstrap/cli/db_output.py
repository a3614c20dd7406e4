"""What every `tac-bootstrap db` command prints the same way: progress bars, sizes, the
keys naming the database in JSON, and the note when nothing has been recorded yet."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tac_bootstrap.application import database_service as service
from tac_bootstrap.cli.output import Output
from tac_bootstrap.runtime.adw_database import OrchestratorDB

# Below this many rows/pages a progress bar would only flicker.
PROGRESS_THRESHOLD = 20_000


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@contextmanager
def progress_bar(out: Output, label: str) -> Iterator[service.Progress]:
    """A progress bar on stderr for large jobs; silent when stderr is not a terminal."""
    # Imported here: rich.progress costs start-up time and only backup/import show a bar.
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn(label),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=out.stderr_console,
        transient=True,
        disable=not out.stderr_console.is_terminal,
    )
    task = bar.add_task(label, total=None)
    started = False

    def update(done: int, total: int) -> None:
        nonlocal started
        if not started and total >= PROGRESS_THRESHOLD:
            bar.start()
            started = True
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if started:
            bar.stop()


def where(target: service.DatabaseTarget) -> dict[str, Any]:
    """The keys every JSON document uses to say which database it is about."""
    return {
        "path": str(target.path) if target.path is not None else None,
        "backend": target.backend,
        "location": target.display,
    }


@contextmanager
def reading(out: Output, target: service.DatabaseTarget) -> Iterator[OrchestratorDB | None]:
    """The open database, or None (and a note) when nothing has been recorded yet: no SQLite
    file, or a PostgreSQL database without the tables. Warns about pending migrations."""
    if not target.exists:
        out.warn(f"no database at {target.path} yet: nothing has been recorded")
        yield None
        return
    with service.opened(target, migrate=False) as db:
        if not service.initialised(db):
            out.warn(f"no orchestrator tables in {target.display} yet: nothing has been recorded")
            yield None
            return
        todo = db.pending_migrations()
        if todo:
            out.warn(f"{len(todo)} pending migration(s); run `tac-bootstrap db migrate`")
        yield db
