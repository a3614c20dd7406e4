"""A table written as rich would print it to a pipe or a file, without importing rich.

Rich's console and table cost ~18 ms of imports and doctor's table another ~10 ms to lay out:
more than all of doctor's checks. Where rich's output is fully determined (no terminal on any
standard stream, none of the environment variables rich reads for width or colour, a UTF-8
stream, printable text of single-cell characters) its bytes are these: the same column
widths (measured, then collapsed to its default 80 columns as rich collapses them), the same
word wrapping and folding, the same box. Anywhere else, or for text whose layout this module
does not follow (tabs, wide characters, a word rich would cut with an ellipsis), ``render``
answers None and the caller prints with rich. `tests/test_plain_table.py` compares the two
for random tables.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from typing import NamedTuple, TextIO

RICH_DEFAULT_WIDTH = 80  # rich's width when no standard stream is a terminal
# What rich reads to choose width, colour or the terminal: any of them set, rich decides.
RICH_ENVIRONMENT = ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE", "JUPYTER_COLUMNS")
PADDING = 2  # one space either side of a cell, rich's default
_ONE_CELL = frozenset("✔✖…")  # the non-ASCII characters our tables print, one cell each
_WORD = re.compile(r"\s*\S+\s*")  # a word as rich's wrapping sees it: with surrounding spaces
_TRAILING_SPACE = re.compile(r"\s+$")


class Column(NamedTuple):
    header: str
    right: bool = False  # justified right (rich: justify="right")
    wrap: bool = True  # may be narrowed and wrapped (rich: not no_wrap)
    fold: bool = False  # a word too long for the column is folded (rich: overflow="fold")


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


def _plain_line(line: str) -> bool:
    return all(" " <= c <= "~" or c in _ONE_CELL for c in line)


def render(title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> str | None:
    """Rich's ``Table(title=Text(title))`` of ``Text`` cells (default box and padding, the
    columns' justify, no_wrap and overflow) printed by a console with ``soft_wrap`` on; None
    when the text is outside what this module lays out as rich does."""
    cells = [[column.header for column in columns], *(list(row) for row in rows)]
    texts = [title, *(cell for row in cells for cell in row)]
    if not title or not rows or not all(_plain_line(x) for t in texts for x in t.split("\n")):
        return None
    borders = len(columns) + 1
    widths = _column_widths(columns, cells, RICH_DEFAULT_WIDTH - borders)
    if widths is None or any(width < PADDING for width in widths):
        return None
    lines = title.split("\n")  # with soft_wrap, rich prints a title as it is
    lines.append(_rule("┏", "━", "┳", "┓", widths))
    for number, row in enumerate(cells):
        laid = [_lay_out(text, column, width - PADDING) for text, column, width in
                zip(row, columns, widths, strict=True)]  # fmt: skip
        if any(cell is None for cell in laid):
            return None
        lines += _row_lines(laid, widths, header=number == 0)
        if number == 0:
            lines.append(_rule("┡", "━", "╇", "┩", widths))
    lines.append(_rule("└", "─", "┴", "┘", widths))
    return "\n".join(lines) + "\n"


def _rule(left: str, fill: str, middle: str, end: str, widths: list[int]) -> str:
    return left + middle.join(fill * width for width in widths) + end


def _row_lines(laid: list[list[str] | None], widths: list[int], *, header: bool) -> list[str]:
    """One row's lines: cells padded to one height (a header's at the bottom, rich's way)."""
    height = max(len(cell or ()) for cell in laid)
    blocks: list[list[str]] = []
    for cell, width in zip(laid, widths, strict=True):
        inner = width - PADDING
        blank = [" " * inner] * (height - len(cell or ()))
        blocks.append(blank + (cell or []) if header else (cell or []) + blank)
    bar = "┃" if header else "│"
    return [bar + bar.join(f" {block[i]} " for block in blocks) + bar for i in range(height)]


def _measure(text: str, limit: int) -> tuple[int, int]:
    """A cell's (minimum, maximum) width with padding, as rich's Padding(Text) measures it
    against ``limit`` columns: its longest word and its longest line."""
    if limit - PADDING < 1:
        return limit, limit
    lines = text.splitlines()
    longest = max((len(line) for line in lines), default=0)
    words = text.split()
    shortest = max((len(word) for word in words), default=longest)
    low, high = min(shortest, longest, limit), min(longest, limit)
    if high < 1:
        low = high = 0
    return min(low + PADDING, limit), min(high + PADDING, limit)


def _column_range(texts: list[str], limit: int) -> tuple[int, int]:
    measured = [_measure(text, limit) for text in texts]
    low = max(m[0] for m in measured)
    high = max(m[1] for m in measured)
    return min(low, limit), min(high, limit)


def _column_widths(
    columns: Sequence[Column], cells: list[list[str]], limit: int
) -> list[int] | None:
    """Rich's ``Table._calculate_column_widths`` for a table that does not expand."""
    if limit < 1:
        return None
    texts = [[row[i] for row in cells] for i in range(len(columns))]
    widths = [_column_range(column, limit)[1] or 1 for column in texts]
    if sum(widths) > limit:
        widths = _collapse(widths, [column.wrap for column in columns], limit)
        if sum(widths) > limit:  # rich's last resort: narrow every column alike
            widths = _ratio_reduce(sum(widths) - limit, [1] * len(widths), widths, widths)
        pairs = zip(texts, widths, strict=True)
        widths = [_column_range(column, width)[1] for column, width in pairs]
    return widths


def _collapse(widths: list[int], wrapable: list[bool], limit: int) -> list[int]:
    """Narrow the widest wrapping columns toward the next widest until the table fits."""
    excess = sum(widths) - limit
    if not any(wrapable):
        return widths
    while sum(widths) and excess > 0:
        pairs = list(zip(widths, wrapable, strict=True))
        widest = max(w for w, ok in pairs if ok)
        next_widest = max(w if ok and w != widest else 0 for w, ok in pairs)
        ratios = [1 if (w == widest and ok) else 0 for w, ok in pairs]
        if not any(ratios) or widest == next_widest:
            break
        steps = [min(excess, widest - next_widest)] * len(widths)
        widths = _ratio_reduce(excess, ratios, steps, widths)
        excess = sum(widths) - limit
    return widths


def _ratio_reduce(total: int, ratios: list[int], most: list[int], values: list[int]) -> list[int]:
    """Take ``total`` from ``values`` in proportion to ``ratios``, at most ``most`` each
    (rich's ``ratio_reduce``, whose rounding decides which column gives the odd cell)."""
    ratios = [ratio if limit else 0 for ratio, limit in zip(ratios, most, strict=True)]
    remaining_ratio = sum(ratios)
    if not remaining_ratio:
        return values[:]
    remaining, result = total, []
    for ratio, limit, value in zip(ratios, most, values, strict=True):
        if ratio and remaining_ratio > 0:
            taken = min(limit, round(ratio * remaining / remaining_ratio))
            result.append(value - taken)
            remaining -= taken
            remaining_ratio -= ratio
        else:
            result.append(value)
    return result


def _lay_out(text: str, column: Column, width: int) -> list[str] | None:
    """The cell's lines, each ``width`` wide (rich's ``Text.wrap`` and ``Lines.justify``), or
    None where rich would cut a line with an ellipsis (too long for a column that does not
    fold)."""
    if width < 1 and text:
        return None  # a column narrowed to its padding: rich's layout of text there is odd
    laid: list[str] = []
    for line in text.split("\n"):
        for piece in _wrap(line, width, fold=column.fold) if column.wrap else [line]:
            if column.right:
                piece = piece.rstrip()
            if len(piece) > width:
                if not column.fold:
                    return None
                piece = piece[:width]
            laid.append(piece.rjust(width) if column.right else piece.ljust(width))
    return laid


def _wrap(line: str, width: int, *, fold: bool) -> list[str]:
    """Rich's ``divide_line`` and ``rstrip_end``: break before a word that does not fit,
    fold a word longer than a line, and drop the spaces that overhang the width."""
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(line):
        start, word = match.start(), match.group()
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:
            if not fold:
                if start:
                    breaks.append(start)
                offset = len(word)
                continue
            chunks = [word[i : i + width] for i in range(0, len(word), width)]
            for number, chunk in enumerate(chunks):
                if start:
                    breaks.append(start)
                if number == len(chunks) - 1:
                    offset = len(chunk)
                else:
                    start += len(chunk)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    pieces = [line[a:b] for a, b in zip([0, *breaks], [*breaks, len(line)], strict=True)]
    return [_strip_overhang(piece, width) for piece in pieces]


def _strip_overhang(piece: str, width: int) -> str:
    excess = len(piece) - width
    if excess <= 0:
        return piece
    spaces = _TRAILING_SPACE.search(piece)
    return piece[: len(piece) - min(len(spaces.group()), excess)] if spaces else piece
