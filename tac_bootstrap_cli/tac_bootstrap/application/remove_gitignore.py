"""Our lines taken out of the root .gitignore, for `remove` (pure: bytes in, bytes out).

add-agentic records the exact text it appended (manifest ``added``). When the file still ends
with it, cutting it off gives back the user's bytes exactly. render and doctor --fix may have
appended blocks of negations after it (each under our header); those trailing blocks are cut
first. When the user edited the file around our lines, the fallback takes out, line by line,
what is ours in each block under our header (our recorded lines, the layer's required lines,
the negations we write); their own lines, even inside our block, are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from tac_bootstrap.application.gitignore import HEADER
from tac_bootstrap.domain.manifest import LayerAdditions

_ALWAYS_OURS = {".tac_bootstrap/", "*.db-wal", "*.db-shm", "*.tac-bootstrap"}


@dataclass(frozen=True)
class GitignoreRemoval:
    content: bytes  # the file without our lines
    exact: bool  # the recorded text was cut off: these are the user's bytes as they were
    delete: bool  # we created the file and nothing else is left in it


def _ours(line: str, recorded: set[str]) -> bool:
    text = line.strip()
    if text in recorded or text in _ALWAYS_OURS:
        return True
    return text.startswith("!/") or (text.startswith("/") and text.endswith("/*"))


def _blank(line: str) -> bool:
    return not line.strip()


def _cut_trailing_block(lines: list[str], recorded: set[str]) -> list[str] | None:
    """The file without its last block if that is ours (header + our lines), with the blank
    line appending put before it; None when the file does not end with a block of ours."""
    starts = [i for i, line in enumerate(lines) if line.strip() == HEADER]
    if not starts:
        return None
    start = starts[-1]
    rest = lines[start + 1 :]
    if not rest or not all(_ours(line, recorded) for line in rest):
        return None
    lines = lines[:start]
    if lines and _blank(lines[-1]):
        lines = lines[:-1]
    return lines


def _cut_recorded(text: str, appended: str) -> str | None:
    """``text`` without the recorded ``appended`` at its end (None: it does not end so)."""
    if text.endswith(appended):
        return text[: len(text) - len(appended)]
    if not text.endswith(("\n", "\r")) and (text + "\n").endswith(appended):
        return text[: len(text) + 1 - len(appended)]  # the user dropped the last newline
    return None


def _cut_blocks(lines: list[str], recorded: set[str]) -> list[str]:
    """The fallback: in every block under our header, drop the header and our lines."""
    kept: list[str] = []
    in_block = False
    for line in lines:
        if line.strip() == HEADER:
            in_block = True
            if kept and _blank(kept[-1]):
                kept.pop()  # the blank line appending put before the header
            continue
        if in_block and _blank(line):
            in_block = False
        if in_block and _ours(line, recorded):
            continue
        kept.append(line)
    return kept


def without_our_lines(content: bytes, added: LayerAdditions | None) -> GitignoreRemoval:
    """``content`` (the root .gitignore) without what the layer added to it."""
    text = content.decode("utf-8", errors="surrogateescape")
    appended = added.gitignore_appended if added is not None else ""
    created = added.gitignore_created if added is not None else False
    recorded = {line.strip() for line in appended.splitlines() if line.strip()}
    recorded.discard(HEADER)
    result = None
    lines: list[str] | None = text.splitlines(keepends=True)
    while appended and lines is not None:  # blocks render or doctor appended after ours
        result = _cut_recorded("".join(lines), appended)
        if result is not None:
            break
        lines = _cut_trailing_block(lines, recorded)
    exact = result is not None
    if result is None:
        result = "".join(_cut_blocks(text.splitlines(keepends=True), recorded))
    data = result.encode("utf-8", errors="surrogateescape")
    return GitignoreRemoval(data, exact, created and not data.strip())
