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
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from tac_bootstrap.cli import plain_table
from tac_bootstrap.cli.output import rich_table

Column = plain_table.Column
# Words short and long (folded), spaces (runs of them too) and line breaks; non-ASCII
# characters our tables print ("…" too, in the doctor-shaped case: here it marks rich's cuts).
CELL = st.text(alphabet=string.ascii_letters + string.punctuation + "  ✔✖\n", max_size=90)
SHORT = st.text(alphabet=string.ascii_letters + string.digits + " [:]", max_size=12)
# Prose: enough words to make rich narrow the table to 80 columns and wrap.
WORD = st.text(alphabet=string.ascii_letters + "./_-'", min_size=1, max_size=18)
PROSE = st.lists(WORD, min_size=3, max_size=25).map(" ".join)


def _rich(title: str, columns: list[Column], rows: list[list[str]], *, left: bool) -> str:
    """What the CLI's console (soft_wrap, no highlighting) prints to a file, 80 columns, for
    the table `Output.table` gives rich."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, highlight=False, soft_wrap=True)
    plain_styles = [[""] * len(columns) for _ in rows]
    console.print(rich_table(title, columns, rows, plain_styles, title_left=left))
    return buffer.getvalue()


@st.composite
def tables(draw: st.DrawFn) -> tuple[str, list[Column], list[list[str]], bool]:
    width = draw(st.integers(1, 5))
    title = draw(SHORT.filter(str.strip))
    columns = [
        Column(draw(SHORT), right=draw(st.booleans()), wrap=wrap, fold=draw(st.booleans()))
        for wrap in draw(st.lists(st.booleans(), min_size=width, max_size=width))
    ]
    cell = st.one_of(SHORT, CELL, PROSE)
    rows = draw(st.lists(st.lists(cell, min_size=width, max_size=width), min_size=1, max_size=6))
    return title, columns, rows, draw(st.booleans())


@settings(max_examples=500, deadline=None)
@given(tables())
def test_a_table_it_renders_is_byte_for_byte_what_rich_prints(
    table: tuple[str, list[Column], list[list[str]], bool],
) -> None:
    title, columns, rows, left = table
    ours = plain_table.render(title, columns, rows)
    theirs = _rich(title, columns, rows, left=left)
    if ours is not None:
        assert ours == theirs
    else:  # left to rich only where it cuts a line with an ellipsis or squeezes a column
        top = next(line for line in theirs.splitlines() if line.startswith("┏"))
        narrowest = min(len(part) for part in top.strip("┏┓").split("┳"))  # to its padding
        assert "…" in theirs or narrowest <= plain_table.PADDING


def test_doctor_shaped_tables_are_rendered_not_left_to_rich() -> None:
    """The layout doctor prints: wrapped and folded messages, details on their own lines."""
    columns = [
        Column("check", wrap=False),
        Column("status", wrap=False),
        Column("message", fold=True),
        Column("how to fix", fold=True),
    ]
    rows = [
        ["config", "✔ ok", "tac_bootstrap.yml is valid (project 'demo', python)", ""],
        ["files", "✖ fail", "2 missing\n  adws/a.py\n  adws/b.py\n  … and 9 more", "run "
         "`tac-bootstrap doctor --fix` (restores them from the templates)"],
        ["schema", "! warn", "adws/schema/schema_orchestrator.sql_a_very_long_path_name_"
         "that_does_not_fit", "see https://example.invalid/a/really/long/url/to/fold"],
    ]  # fmt: skip
    ours = plain_table.render("tac-bootstrap doctor: /tmp/x", columns, rows)
    assert ours is not None
    assert ours == _rich("tac-bootstrap doctor: /tmp/x", columns, rows, left=True)
    assert len(ours.splitlines()) > len(rows) + 5  # wrapped


@pytest.mark.parametrize(
    ("title", "cell"),
    [
        ("Summary", "naïve"),  # not a character known to be one cell wide
        ("Summary", "tab\there"),  # rich expands tabs
        ("Summary", "日本"),  # double width
        ("Summary", "a\rb"),  # a line break rich's measure sees and its wrap does not
        ("", "created"),  # rich prints no title line
    ],
)
def test_text_it_cannot_be_sure_of_is_left_to_rich(title: str, cell: str) -> None:
    assert plain_table.render(title, [Column("result")], [[cell]]) is None


def test_a_line_rich_would_cut_with_an_ellipsis_is_left_to_rich() -> None:
    columns = [Column("name", wrap=False), Column("words")]
    assert plain_table.render("T", columns, [["x" * 90, "y"]]) is None
    assert plain_table.render("T", columns, [["x", "y" * 90]]) is None  # no fold: cut
    folded = [Column("name", wrap=False), Column("words", fold=True)]
    assert plain_table.render("T", folded, [["x", "y" * 90]]) is not None


def test_no_rows_is_left_to_rich() -> None:
    assert plain_table.render("Summary", [Column("result")], []) is None


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


@pytest.mark.parametrize("env", [{"COLUMNS": "80"}, {"FORCE_COLOR": ""}])
def test_doctors_table_is_the_same_down_either_path(tmp_path: Path, env: dict[str, str]) -> None:
    """doctor's wrapped table: written without rich where rich's bytes are known, by rich
    otherwise; the same bytes, healthy and with failed rows, details and hints."""
    made = _cli("init", "demo", "--no-git", "--yes", cwd=tmp_path, env={})
    assert made.returncode == 0, made.stderr[-500:]
    project = tmp_path / "demo"
    reports: list[list[str]] = []
    for removed in ([], ["adws/adw_modules/adw_db_dialect.py", ".claude/commands/chore.md"]):
        for name in removed:
            (project / name).unlink()
        runs = [_cli("doctor", cwd=project, env=extra) for extra in ({}, env)]
        assert ["| rich.table" in run.stderr for run in runs] == [False, True]
        reports.append([run.stdout for run in runs])
        assert runs[0].stdout == runs[1].stdout
    healthy, broken = reports[0][0], reports[1][0]
    assert "┃ check " in healthy and "✔ ok" in healthy
    assert "✖ fail" in broken and "db_dialect.py" in broken and "missing" in broken


def _on_a_terminal(*args: str, cwd: Path) -> str:
    """The real CLI with its output on a terminal (a pty), as a person sees it."""
    leader, follower = pty.openpty()
    env = {**_without_rich_settings(), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    with subprocess.Popen(
        [sys.executable, "-m", "tac_bootstrap", *args],
        cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower,
    ) as process:  # fmt: skip
        os.close(follower)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_on_a_terminal_rich_prints_the_tables_with_their_styles(tmp_path: Path) -> None:
    """The rich path keeps rich's table styles: an italic title, a bold header, coloured
    statuses; the text itself is never read as markup."""
    made = _on_a_terminal("init", "demo", "--no-git", "--yes", cwd=tmp_path)
    assert "\x1b[3mSummary" in made  # italic: rich's table.title style
    assert "\x1b[1m" in made  # bold headers
    doctor = _on_a_terminal("doctor", cwd=tmp_path / "demo")
    assert "\x1b[3mtac-bootstrap doctor: " in doctor
    assert "\x1b[32m✔ ok" in doctor  # green
