"""How `tac-bootstrap runs` shows the runs: one line per run whatever the width.

On a terminal: a borderless table (as gh's) laid out for the console's width. adw_id, status
and cost are never cut; branch, issue and worktree are cut with an ellipsis (the worktree from
its start, keeping the run's own directory); columns worth least are dropped, in a fixed order,
before any of those would get narrower than is useful. Anywhere else (a pipe, a file): one
tab-separated line per run under a header line, nothing cut, no colour, for cut/awk/grep.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text

from tac_bootstrap.application.runs_service import RunRow

if TYPE_CHECKING:
    from rich.console import Console

GAP = "  "
ELLIPSIS = "…"
STATUS_STYLE = {
    "completed": "green",
    "failed": "red",
    "cancelled": "dim",
    "running": "cyan",
    "queued": "blue",
    "paused": "yellow",
    "stale": "bold yellow",
}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    comfortable: int = 0  # 0: never cut; else the width to keep before dropping a column,
    tight: int = 0  # and the least, when no layout fits at the comfortable widths
    right: bool = False
    cut_start: bool = False  # a path: its end (the run's own directory) says the most


COLUMNS = {
    c.key: c
    for c in (
        Column("adw_id", "adw_id"),
        Column("workflow", "workflow"),
        Column("status", "status"),
        Column("issue", "issue", comfortable=10, tight=8),
        Column("branch", "branch", comfortable=24, tight=12),
        Column("worktree", "worktree", comfortable=16, tight=12, cut_start=True),
        Column("cost", "cost", right=True),
        Column("started", "started UTC"),
    )
}
REMOVED = " (removed)"
# Richest first; the least useful go first: the workflow (nearly always sdlc), the start's
# year, the worktree (trees/<adw_id> unless configured), the issue (the branch names it).
_ALL = tuple(COLUMNS)
_NO_WORKFLOW = ("adw_id", "status", "issue", "branch", "worktree", "cost", "started")
_NO_WORKTREE = ("adw_id", "status", "issue", "branch", "cost", "started")
LAYOUTS: tuple[tuple[tuple[str, ...], bool], ...] = (  # (columns, the start with its year)
    (_ALL, True),
    (_NO_WORKFLOW, True),
    (_NO_WORKFLOW, False),
    (_NO_WORKTREE, False),
    (("adw_id", "status", "branch", "cost", "started"), False),
    (("adw_id", "status", "branch", "cost"), False),
    (("adw_id", "status", "cost"), False),
)
_SEARCH = (  # cut columns to their tight widths before the start goes
    *((keys, year, False) for keys, year in LAYOUTS if "started" in keys),
    *((keys, year, True) for keys, year in LAYOUTS),
)


def printable(value: str) -> str:
    """One line whatever the data: a tab or control character (issue titles are anyone's
    text) would break the row or the tab-separated fields."""
    return "".join(c if c.isprintable() else " " for c in value)


def _home_relative(path: Path) -> str:
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except (ValueError, RuntimeError):  # RuntimeError: no home directory to know
        return str(path)


def shown_path(root: Path, value: str | None) -> str:
    """Relative to the project root when inside it, else ~/... under the home directory."""
    if not value:
        return ""
    path = Path(value)
    for base in dict.fromkeys((root, root.resolve())):
        try:
            return path.relative_to(base).as_posix() or "."
        except ValueError:
            pass
    return _home_relative(path)


def _started(run: RunRow, with_year: bool) -> str:
    minute = (run.started or "")[:16].replace("T", " ")  # to the minute
    return minute if with_year else minute[5:]


def _cells(root: Path, run: RunRow, with_year: bool) -> dict[str, str]:
    worktree = shown_path(root, run.worktree)
    if run.worktree and not run.worktree_exists:
        worktree += REMOVED
    values = {
        "adw_id": run.adw_id,
        "workflow": run.workflow,
        "status": run.status,
        "issue": run.issue,
        "branch": run.branch or "",
        "worktree": worktree,
        "cost": "" if run.cost_usd is None else f"${run.cost_usd:,.4f}",
        "started": _started(run, with_year),
    }
    return {key: printable(value) for key, value in values.items()}


def _cut_start(value: str, width: int) -> str:
    if cell_len(value) <= width:
        return value
    kept = ""
    for char in reversed(value):
        if cell_len(char + kept) > width - 1:
            break
        kept = char + kept
    return ELLIPSIS + kept


def _minimum(column: Column, natural: int, tight: bool) -> int:
    least = column.tight if tight else column.comfortable
    return min(natural, least) if least else natural


def layout(rows: dict[bool, list[dict[str, str]]], width: int) -> tuple[dict[str, int], bool]:
    """The columns shown, each with its width, and whether the start shows its year, for a
    console ``width`` cells wide; ``rows`` are the runs' cells with and without the year.
    The first layout (keeping the start) whose columns fit at comfortable widths, else at
    tight ones; what is left over widens the branch, then the worktree, then the issue."""
    for keys, with_year, tight in _SEARCH:
        natural = {
            key: max([cell_len(COLUMNS[key].header), *(cell_len(r[key]) for r in rows[with_year])])
            for key in keys
        }
        chosen = {k: _minimum(COLUMNS[k], natural[k], tight) for k in keys}
        spare = width - sum(chosen.values()) - len(GAP) * (len(keys) - 1)
        if spare >= 0:
            break
    for key in ("branch", "worktree", "issue"):  # the spare width: the branch says most
        if key in chosen:
            more = min(spare, natural[key] - chosen[key])
            chosen[key] += more
            spare -= more
    return chosen, with_year


def _cell(column: Column, value: str, width: int, style: str = "") -> Text:
    if column.cut_start and cell_len(value) > width:  # "…/nightly/long0001"
        removed = value.endswith(REMOVED)  # what matters then: nothing is there any more
        value = REMOVED.strip() if removed else _cut_start(value, width)
    text = Text(value, style=style, no_wrap=True, overflow="ellipsis")
    text.truncate(width, overflow="ellipsis")
    text.align("right" if column.right else "left", width)
    return text


def _line(cells: Iterable[Text]) -> Text:
    line = Text(GAP).join(cells)
    line.rstrip()
    return line


def print_table(console: Console, root: Path, runs: list[RunRow]) -> None:
    """The terminal's form: a title line, a header line, one line per run."""
    rows = {year: [_cells(root, run, year) for run in runs] for year in (True, False)}
    widths, with_year = layout(rows, console.width)
    console.print(Text(f"Workflow runs: {_home_relative(root)}"))
    console.print(_line(_cell(COLUMNS[k], COLUMNS[k].header, w, "bold") for k, w in widths.items()))
    for run, cells in zip(runs, rows[with_year], strict=True):
        status_style = STATUS_STYLE.get(run.status, "")
        console.print(
            _line(
                _cell(COLUMNS[k], cells[k], w, status_style if k == "status" else "")
                for k, w in widths.items()
            )
        )


TSV_HEADER = ("adw_id", "workflow", "status", "issue", "branch", "worktree", "cost_usd", "started")


def tsv_lines(root: Path, runs: list[RunRow]) -> list[str]:
    """The form for anything but a terminal: tab-separated, nothing cut, a header line."""
    lines = ["\t".join(TSV_HEADER)]
    for run in runs:
        worktree = shown_path(root, run.worktree)
        if run.worktree and not run.worktree_exists:
            worktree += REMOVED
        fields = (
            run.adw_id,
            run.workflow,
            run.status,
            run.issue,
            run.branch or "",
            worktree,
            "" if run.cost_usd is None else f"{run.cost_usd:.4f}",
            run.started or "",
        )
        lines.append("\t".join(printable(f) for f in fields))
    return lines
