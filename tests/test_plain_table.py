"""`cli/plain_table.py` writes what rich prints for a small table to a pipe, without rich:
the same bytes for random tables, rich wherever its output depends on more than the table,
and the real CLI's summary identical down either path."""

from __future__ import annotations

import io
import os
import pty
import re
import string
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tac_bootstrap.cli import plain_table

PRINTABLE = st.text(alphabet=string.ascii_letters + string.digits + string.punctuation + " ")


def _rich(
    title: str, headers: list[str], right: list[bool], rows: list[list[str]], *, markup: bool
) -> str:
    """What the CLI's console (soft_wrap, no highlighting) prints to a file, 80 columns: the
    strings given as markup, as `Output._table` gives them, or as plain `Text`."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, highlight=False, soft_wrap=True)
    cell: Callable[[str], str | Text] = str if markup else Text
    table = Table(title=cell(title))
    for header, at_right in zip(headers, right, strict=True):
        table.add_column(cell(header), justify="right" if at_right else "left")
    for row in rows:
        table.add_row(*map(cell, row))
    console.print(table)
    return buffer.getvalue()


@st.composite
def tables(draw: st.DrawFn) -> tuple[str, list[str], list[bool], list[list[str]]]:
    width = draw(st.integers(1, 4))
    title = draw(PRINTABLE.filter(bool))
    headers = draw(st.lists(PRINTABLE, min_size=width, max_size=width))
    right = draw(st.lists(st.booleans(), min_size=width, max_size=width))
    rows = draw(
        st.lists(st.lists(PRINTABLE, min_size=width, max_size=width), min_size=1, max_size=5)
    )
    return title, headers, right, rows


@settings(max_examples=300, deadline=None)
@given(tables())
def test_a_table_it_renders_is_byte_for_byte_what_rich_prints(
    table: tuple[str, list[str], list[bool], list[list[str]]],
) -> None:
    title, headers, right, rows = table
    ours = plain_table.render(title, headers, right, rows)
    if ours is not None:
        assert ours == _rich(title, headers, right, rows, markup=False)
        assert ours == _rich(title, headers, right, rows, markup=True)
    else:  # left to rich: a space at an end, possible markup, or too wide for 80 columns
        cells = [headers, *rows]
        texts = [title, *(cell for row in cells for cell in row)]
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
        too_wide = sum(widths) + 3 * len(widths) + 1 > plain_table.RICH_DEFAULT_WIDTH
        unsure = any(text != text.strip() or set("[]:") & set(text) for text in texts)
        assert too_wide or unsure


@pytest.mark.parametrize(
    ("title", "cell"),
    [
        ("Summary", "naïve"),  # not ASCII: rich measures cells, not characters
        ("Summary", "tab\there"),
        ("Summary", "0 "),  # rich strips it when justifying right
        ("Summary", "日本"),  # double width
        ("", "created"),  # rich prints no title line
        ("Summary", "[bold]x[/]"),  # markup: rich prints "x"
        ("Summary", ":smile:"),  # an emoji code: rich prints the emoji
    ],
)
def test_text_it_cannot_be_sure_of_is_left_to_rich(title: str, cell: str) -> None:
    assert plain_table.render(title, ["result"], [False], [[cell]]) is None


def test_no_rows_is_left_to_rich() -> None:
    assert plain_table.render("Summary", ["result", "files"], [False, True], []) is None


def _file_stream(tmp_path: Path, encoding: str = "utf-8") -> io.TextIOWrapper:
    return open(tmp_path / "out.txt", "w", encoding=encoding)


@pytest.mark.parametrize("name", ["COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE", "JUPYTER_COLUMNS"])
def test_an_environment_rich_reads_leaves_the_table_to_rich(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    for fd in (0, 1, 2):
        if os.isatty(fd):
            pytest.skip("the test's own terminal decides first")
    for other in plain_table.RICH_ENVIRONMENT:  # pytest-xdist's workers set COLUMNS
        monkeypatch.delenv(other, raising=False)
    with _file_stream(tmp_path) as stream:
        assert plain_table.plain_stream(stream)
        monkeypatch.setenv(name, "")
        assert not plain_table.plain_stream(stream)


def test_a_stream_rich_would_draw_in_ascii_or_a_terminal_is_left_to_rich(tmp_path: Path) -> None:
    with _file_stream(tmp_path, "latin-1") as stream:
        assert not plain_table.plain_stream(stream)
    leader, follower = pty.openpty()
    try:
        with open(follower, "w", encoding="utf-8", closefd=False) as terminal:
            assert not plain_table.plain_stream(terminal)
    finally:
        os.close(leader)
        os.close(follower)


def test_a_terminal_on_stdin_is_left_to_rich(tmp_path: Path) -> None:
    """rich takes its width from whichever standard stream is a terminal, stdin included."""
    leader, follower = pty.openpty()
    script = (
        "import sys; from tac_bootstrap.cli import plain_table; "
        "print(plain_table.plain_stream(sys.stdout))"
    )
    try:
        results = [
            subprocess.run(
                [sys.executable, "-c", script],
                stdin=stdin,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
                env=_without_rich_settings(),
            ).stdout.strip()
            for stdin in (follower, subprocess.DEVNULL)
        ]
    finally:
        os.close(leader)
        os.close(follower)
    assert results == ["False", "True"]


def _without_rich_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in plain_table.RICH_ENVIRONMENT}


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real CLI with no terminal, its imports listed on stderr (PYTHONPROFILEIMPORTTIME)."""
    return subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", *args],
        cwd=cwd,
        env={**_without_rich_settings(), "PYTHONPROFILEIMPORTTIME": "1", **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("env", [{"COLUMNS": "80"}, {"FORCE_COLOR": ""}])
def test_the_summary_of_init_and_render_is_the_same_down_either_path(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """The CLI with no terminal writes the table itself (rich never imported); with a setting
    rich reads (chosen so that rich prints plain text in 80 columns) rich prints it. Same
    bytes for every kind of row."""
    outputs: list[list[str]] = []
    for variant, extra in (("plain", {}), ("rich", env)):
        base = tmp_path / variant
        base.mkdir()
        steps = [_cli("init", "demo", "--no-git", "--yes", cwd=base, env=extra)]
        project = base / "demo"
        (project / ".claude" / "commands" / "chore.md").write_text("mine\n", encoding="utf-8")
        steps.append(_cli("render", cwd=project, env=extra))  # a conflict row
        steps.append(_cli("render", "--force", cwd=project, env=extra))  # an overwritten row
        assert [s.returncode for s in steps] == [0, 1, 0], [s.stderr[-500:] for s in steps]
        imported_rich = ["| rich.table" in s.stderr for s in steps]
        assert imported_rich == [variant == "rich"] * 3
        outputs.append([re.sub(r"backups/[0-9TZ.]+/", "backups/<time>/", s.stdout) for s in steps])
    assert outputs[0] == outputs[1]
    assert "┃ result " in outputs[0][0] and "conflicts │     1" in outputs[0][1]
    assert "overwritten (backup kept)" in outputs[0][2]
