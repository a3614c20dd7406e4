"""CLAUDE.md's delimited section: appended, replaced and removed leaving every byte of the
user's text as it was; markers in code blocks are text; broken markers are named by line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tac_bootstrap.domain.markdown_section import (
    BEGIN,
    END,
    SectionError,
    canonical_section,
    same_section,
    section_of,
    with_section,
    without_section,
)

from .conftest import examples


def section(*body: str) -> bytes:
    return "\n".join([BEGIN, *body, END, ""]).encode()


OURS = section("## Commands", "", "```bash", "make test", "```")
NEWER = section("## Commands", "", "- test: `uv run pytest`", "- lint: `uv run ruff check .`")
USER = b"# My project\n\nRead the README first.\n"


def test_a_new_file_is_the_section() -> None:
    assert with_section(None, OURS) == OURS
    assert section_of(OURS) == OURS
    assert without_section(OURS) == b""
    assert with_section(b"", OURS) == OURS


def test_appended_after_a_blank_line_and_removed_exactly() -> None:
    appended = with_section(USER, OURS)
    assert appended == USER + b"\n" + OURS
    assert section_of(appended) == OURS
    assert without_section(appended) == USER
    assert with_section(appended, OURS) == appended


def test_a_last_line_without_newline_is_finished_first() -> None:
    appended = with_section(b"# My project", OURS)
    assert appended == b"# My project\n" + OURS
    assert without_section(appended) == b"# My project"
    for odd in (b"old mac\r", b"x\r\r", b"\r\n", b"\n\r\n", b"a\r\nb\r"):
        assert without_section(with_section(odd, OURS)) == odd


def test_the_users_line_ending_is_used() -> None:
    user = USER.replace(b"\n", b"\r\n")
    appended = with_section(user, OURS)
    assert appended == user + b"\r\n" + OURS.replace(b"\n", b"\r\n")
    assert without_section(appended) == user
    replaced = with_section(appended, NEWER)
    assert replaced == user + b"\r\n" + NEWER.replace(b"\n", b"\r\n")


def test_replacing_keeps_everything_outside_the_markers_byte_for_byte() -> None:
    before = b"# Mine\r\n\r\nmy rules  \n\n"
    after = b"\n## Also mine\n\ttabbed\n"
    current = before + OURS + after
    replaced = with_section(current, NEWER)
    assert replaced == before + NEWER + after
    assert section_of(replaced) == NEWER
    assert with_section(replaced, OURS) == current


def test_an_end_marker_on_the_last_line_without_newline_stays_so() -> None:
    current = USER + b"\n" + OURS.rstrip(b"\n")
    replaced = with_section(current, NEWER)
    assert replaced == USER + b"\n" + NEWER.rstrip(b"\n")


def test_a_section_on_the_first_line_after_a_bom_keeps_the_bom() -> None:
    current = b"\xef\xbb\xbf" + OURS + b"mine\n"
    assert section_of(current) == OURS
    assert with_section(current, NEWER) == b"\xef\xbb\xbf" + NEWER + b"mine\n"
    assert without_section(current) == b"\xef\xbb\xbfmine\n"


def test_an_older_begin_wording_and_indented_markers_are_ours() -> None:
    old = b"intro\n\n   <!-- tac-bootstrap:begin -->\nold text\n<!-- tac-bootstrap:end -->  \n"
    assert with_section(old, OURS) == b"intro\n\n" + OURS


def test_markers_inside_code_blocks_are_text() -> None:
    documented = (
        b"# How the section looks\n\n````markdown\n" + OURS + b"````\n\n"
        b"~~~~\n" + END.encode() + b"\n~~~\n" + BEGIN.encode() + b"\n~~~~\n\n"
        b"    " + BEGIN.encode() + b"\n"
    )
    assert section_of(documented) is None
    appended = with_section(documented, OURS)
    assert appended == documented + b"\n" + OURS
    assert section_of(appended) == OURS
    assert without_section(appended) == documented


def test_a_code_block_inside_our_section_does_not_hide_the_end_marker() -> None:
    current = USER + b"\n" + OURS + b"after\n"
    assert section_of(current) == OURS


@pytest.mark.parametrize(
    ("content", "message", "hint"),
    [
        (
            USER + BEGIN.encode() + b"\nmine\n",
            "line 4: a tac-bootstrap begin marker without an end",
            "end marker",
        ),
        (
            USER + END.encode() + b"\n" + OURS,
            "line 4: a tac-bootstrap end marker without a begin",
            "delete",
        ),
        (
            OURS + b"\n" + OURS,
            "line 9: a second tac-bootstrap section (the first begins at line 1)",
            "keep one",
        ),
        (
            BEGIN.encode() + b"\n" + OURS,
            "line 2: a second tac-bootstrap section (the first begins at line 1)",
            "keep one",
        ),
    ],
)
def test_broken_markers_are_refused_naming_the_line(
    content: bytes, message: str, hint: str
) -> None:
    for call in (section_of, without_section, lambda c: with_section(c, OURS)):
        with pytest.raises(SectionError) as raised:
            call(content)
        assert raised.value.message == message or raised.value.message.startswith(message)
        assert hint in raised.value.hint
        assert "\n" not in raised.value.message + raised.value.hint


def test_appending_after_a_code_block_never_closed_is_refused() -> None:
    with pytest.raises(SectionError) as raised:
        with_section(b"# Notes\n\n````sh\nmake\n```\n", OURS)
    assert raised.value.message == "line 3: a code block that is never closed"
    assert "````" in raised.value.hint


def test_our_section_must_be_markers_and_what_is_between() -> None:
    for bad in (b"no markers\n", OURS.rstrip(b"\n"), b"x\n" + OURS, OURS + b"x\n"):
        with pytest.raises(ValueError, match="section must be"):
            with_section(USER, bad)


# -- properties: arbitrary Markdown without our markers ----------------------------------------

_fragment = st.sampled_from(
    [
        "",
        "# Title",
        "text",
        "  indented",
        "- item",
        "```",
        "```python",
        "~~~",
        "````",
        "<!-- note -->",
        "<!-- tac-bootstrap",
        "end -->",
        "\t",
        " ",
        "é",
        "`code`",
        "> quote",
    ]
)
_line = st.lists(
    st.one_of(
        _fragment,
        st.text(st.characters(exclude_characters="\r\n", exclude_categories=["Cs"]), max_size=8),
    ),
    max_size=3,
).map("".join)


@st.composite
def markdown(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(_line, max_size=12))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    final = draw(st.sampled_from(["", eol]))
    return (eol.join(lines) + (final if lines else "")).encode()


@settings(max_examples=examples(400))
@given(text=markdown(), newer=st.booleans())
def test_append_replace_remove_round_trip(text: bytes, newer: bool) -> None:
    try:
        appended = with_section(text, OURS)
    except SectionError as error:
        assert error.message.endswith("a code block that is never closed")
        assert b"```" in text or b"~~~" in text
        return
    eol = (
        b"\r\n"
        if text.find(b"\n") > 0 and text[text.find(b"\n") - 1 : text.find(b"\n")] == b"\r"
        else b"\n"
    )
    assert appended.startswith(text)
    assert section_of(appended) == OURS.replace(b"\n", eol)
    assert without_section(appended) == text
    assert with_section(appended, OURS) == appended
    replaced = with_section(appended, NEWER if newer else OURS)
    assert replaced.startswith(text)
    assert without_section(replaced) == text
    assert with_section(replaced, OURS) == appended


def test_a_section_written_in_crlf_or_ending_the_file_is_still_the_same_section() -> None:
    crlf = with_section(USER.replace(b"\n", b"\r\n"), OURS)
    present = section_of(crlf)
    assert present is not None and present != OURS
    assert same_section(present, OURS)
    assert canonical_section(present) == OURS
    unfinished = section_of(USER + b"\n" + OURS.rstrip(b"\n"))
    assert unfinished is not None and same_section(unfinished, OURS)
    assert not same_section(section_of(with_section(USER, NEWER)), OURS)
    assert same_section(None, None) and not same_section(None, OURS)


@settings(max_examples=examples(400))
@given(text=st.binary(max_size=200).filter(lambda text: b"tac-bootstrap" not in text))
def test_any_bytes_round_trip_or_are_refused_for_an_open_code_block(text: bytes) -> None:
    # Not even UTF-8, a lone \r at the end, NUL bytes: still byte for byte.
    try:
        appended = with_section(text, OURS)
    except SectionError as error:
        assert error.message.endswith("a code block that is never closed")
        return
    assert without_section(appended) == text
    assert with_section(appended, OURS) == appended
    assert without_section(with_section(appended, NEWER)) == text
