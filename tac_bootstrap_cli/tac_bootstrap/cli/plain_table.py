"""A small table written as rich would print it to a pipe or a file, without importing rich.

Rich's console and table cost ~18 ms of imports: as much as writing a third of an `init`'s
files. Where rich's output is fully determined (no terminal on any standard stream, none of
the environment variables rich reads for width or colour, a UTF-8 stream, short printable
ASCII cells that fit in its default 80 columns) its bytes are these; anywhere else the
caller prints with rich. `tests/test_plain_table.py` compares the two for random tables.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TextIO

RICH_DEFAULT_WIDTH = 80  # rich's width when no standard stream is a terminal
# What rich reads to choose width, colour or the terminal: any of them set, rich decides.
RICH_ENVIRONMENT = ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE", "JUPYTER_COLUMNS")


def plain_stream(stream: TextIO) -> bool:
    """Whether rich would print to ``stream`` with no colour, no box fallback and 80 columns."""
    if sys.platform == "win32" or any(name in os.environ for name in RICH_ENVIRONMENT):
        return False
    encoding = (getattr(stream, "encoding", None) or "").lower()
    if not encoding.startswith("utf"):
        return False  # rich draws ASCII boxes
    for fd in (0, 1, 2):  # rich takes its width from any terminal among them
        try:
            if os.isatty(fd):
                return False
        except OSError:
            continue
    try:
        return not stream.isatty()
    except ValueError:  # closed
        return False


_MARKUP = frozenset("[]:")  # rich's markup tags and :emoji: codes, in the strings it is given


def _simple(text: str) -> bool:
    """Printable ASCII that rich prints as written: no markup or emoji code (the rich path
    gets the same words as markup) and no space at either end (rich strips some of those)."""
    return (
        text.isascii() and text.isprintable() and text == text.strip() and _MARKUP.isdisjoint(text)
    )


def render(
    title: str, headers: Sequence[str], right: Sequence[bool], rows: Sequence[Sequence[str]]
) -> str | None:
    """Rich's ``Table(title=title)`` (default box, padding and header) printed by a console
    with ``soft_wrap`` on; None when a cell is not plain enough to be sure of rich's bytes."""
    cells = [list(headers), *(list(row) for row in rows)]
    texts = [title, *(cell for row in cells for cell in row)]
    if not title or not rows or not all(_simple(text) for text in texts):
        return None
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    if sum(widths) + 3 * len(widths) + 1 > RICH_DEFAULT_WIDTH:
        return None

    def line(left: str, fill: str, middle: str, end: str) -> str:
        return left + middle.join(fill * (w + 2) for w in widths) + end

    def row_line(bar: str, row: Sequence[str]) -> str:
        padded = (
            cell.rjust(w) if at_right else cell.ljust(w)
            for cell, w, at_right in zip(row, widths, right, strict=True)
        )
        return bar + bar.join(f" {cell} " for cell in padded) + bar

    lines = [
        title,  # with soft_wrap, rich leaves the title where it starts
        line("┏", "━", "┳", "┓"),
        row_line("┃", headers),
        line("┡", "━", "╇", "┩"),
        *(row_line("│", row) for row in rows),
        line("└", "─", "┴", "┘"),
    ]
    return "\n".join(lines) + "\n"
