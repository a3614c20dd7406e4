"""Putting outside values (issue titles, branch names, command output) into Markdown safely.

A comment or pull request body the layer posts is rendered by GitHub. An issue title such as
``[urgent](https://evil.example) @org/team fixes #1 <!--`` must come out as that text: no link,
no team ping, no "fixes" keyword that closes another issue on merge, no HTML, and nothing that
opens or closes the HTML comment the layer's marker lives in. Escaping is done where a value is
placed, not on the whole body, so the layer's own Markdown stays Markdown.
"""

from __future__ import annotations

import re

# A word joiner after "@" or "#" stops GitHub's mention and issue-reference autolinking (its
# filters want a name or digits right after the sign) and is invisible when rendered.
WORD_JOINER = "\u2060"
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&])")
_AUTOLINK_SIGNS = re.compile(r"([@#])")
_TEAM_MENTION = re.compile(r"(?<![\w`])@(?=[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9])")
_CLOSING_REFERENCE = re.compile(
    r"\b(close[sd]?|fix(?:e[sd])?|resolve[sd]?)(\s*:?\s+)((?:[\w.-]+/[\w.-]+)?#)(\d+)\b",
    re.IGNORECASE,
)


def strip_control(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` without control and bidirectional-override characters (they can hide or reorder
    what a reviewer reads). Tabs stay; newlines stay only when asked (else become spaces);
    ``\\r\\n`` and lone ``\\r`` become ``\\n``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not keep_newlines:
        text = text.replace("\n", " ")
    return _CONTROL.sub("", text)


def neutralize_html_comments(text: str) -> str:
    """Every ``<!--`` becomes ``&lt;!--``: rendered the same, but no longer an HTML comment, so
    the only comments in a layer body are the markers the layer appends itself."""
    return text.replace("<!--", "&lt;!--")


def neutralize_team_mentions(text: str) -> str:
    """``@org/team`` never pings from a layer body: the layer has no reason to notify a team,
    so one can only have come from a value (an issue title) that was not escaped."""
    return _TEAM_MENTION.sub("@" + WORD_JOINER, text)


def neutralize_closing_references(text: str, keep: int | None = None) -> str:
    """ "fixes #3" in a pull request body closes issue 3 on merge; only the run's own issue
    (``keep``) may be closed, so any other closing reference loses its link."""

    def defuse(found: re.Match[str]) -> str:
        if keep is not None and found.group(3) == "#" and int(found.group(4)) == keep:
            return found.group(0)
        return f"{found.group(1)}{found.group(2)}{found.group(3)}{WORD_JOINER}{found.group(4)}"

    return _CLOSING_REFERENCE.sub(defuse, text)


def close_fences(text: str) -> str:
    """``text`` with a code fence it leaves open closed (a body cut to a length limit can end
    inside a block, which would swallow the marker line after it into the code)."""
    fence = ""
    for line in text.split("\n"):
        found = re.match(r"^ {0,3}(`{3,}|~{3,})", line)
        if not found:
            continue
        run = found.group(1)
        if not fence:
            fence = run
        elif run[0] == fence[0] and len(run) >= len(fence) and not line.strip()[len(run) :]:
            fence = ""
    return f"{text}\n{fence}" if fence else text


def md_text(value: object, *, limit: int = 300) -> str:
    """One value as inline Markdown text: one line, at most ``limit`` characters, every
    Markdown sign backslash-escaped (no link, image, emphasis, HTML or heading can start),
    and ``@``/``#`` followed by a word joiner (no ping, no issue link or closing keyword)."""
    text = " ".join(strip_control(str(value)).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    return _AUTOLINK_SIGNS.sub(lambda m: m.group(1) + WORD_JOINER, text)


def md_code(value: object, *, limit: int = 300) -> str:
    """One value as an inline code span (a branch name, a path): the fence is longer than any
    run of backticks inside, so the value cannot end the span early."""
    text = " ".join(strip_control(str(value)).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_code_block(text: str, *, language: str = "", limit: int = 20_000) -> str:
    """Multi-line output (a failing test's tail) as a fenced block that nothing inside can close:
    the fence is longer than any backtick run in the text. Keeps the tail when cutting, since
    the end of command output is where the failure is."""
    body = strip_control(text, keep_newlines=True)
    if len(body) > limit:
        body = "… (cut)\n" + body[-limit:]
    body = body.replace("<!--", "<!\u2060--")
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    lang = re.sub(r"[^A-Za-z0-9_+-]", "", language)
    return f"{fence}{lang}\n{body.rstrip()}\n{fence}"
