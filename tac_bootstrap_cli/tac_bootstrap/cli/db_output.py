"""What every `tac-bootstrap db` command prints the same way: progress bars and sizes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tac_bootstrap.application import database_service as service
from tac_bootstrap.cli.output import Output

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
