"""The docs cover the CLI and their links resolve: every command path and long option of the real
CLI tree (walked by introspection, so a new command or option cannot be forgotten) is mentioned
in README.md or docs/*.md, and every relative link points at a file that exists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from hypothesis import given, settings
from hypothesis import strategies as st

from tac_bootstrap.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
SPAN = re.compile(r"``(.+?)``|`([^`\n]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def cli_tree() -> dict[str, list[str]]:
    """Every command path ('' for the root, 'db prune') and its long options."""

    def walk(cmd: Any, path: list[str]) -> Iterator[tuple[str, list[str]]]:
        opts = [o for p in cmd.params for o in [*p.opts, *p.secondary_opts] if o.startswith("--")]
        yield " ".join(path), opts
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            if not sub.hidden:
                yield from walk(sub, [*path, name])

    return dict(walk(typer.main.get_command(app), []))


def units(text: str) -> Iterator[tuple[str, list[str]]]:
    """Paragraphs, table rows and code-block lines, each with its code spans (a code-block line
    is a span of its own)."""
    fenced = False
    paragraph: list[str] = []

    def flush() -> Iterator[tuple[str, list[str]]]:
        if paragraph:
            block = "\n".join(paragraph)
            yield block, [a or b for a, b in SPAN.findall(block)]
            paragraph.clear()

    for line in text.splitlines():
        if line.startswith("```"):
            yield from flush()
            fenced = not fenced
        elif fenced:
            yield line, [line.split("#")[0].strip()]
        elif line.startswith("|"):
            yield from flush()
            yield line, [a or b for a, b in SPAN.findall(line)]
        elif not line.strip():
            yield from flush()
        else:
            paragraph.append(line)
    yield from flush()


def names(span: str, path: str) -> bool:
    """Whether a code span names the command: starts with it, after an optional program name."""
    span = re.sub(r"^(tac-bootstrap|python -m tac_bootstrap)\s*", "", span.strip())
    return bool(path) and re.match(rf"{re.escape(path)}(\s|$|\[)", span) is not None


def mentions(text: str, option: str) -> bool:
    return re.search(rf"{re.escape(option)}(?![\w-])", text) is not None


def undocumented(text: str, tree: dict[str, list[str]]) -> set[tuple[str, str]]:
    """(command, '') for a command no code span names; (command, option) for a long option not
    mentioned where the command (or its group, for shared options) is named."""
    blocks = list(units(text))
    missing: set[tuple[str, str]] = set()
    for path, options in tree.items():
        own = [b for b, spans in blocks if any(names(s, path) for s in spans)]
        if path and not own:
            missing.add((path, ""))
        group = path.rsplit(" ", 1)[0] if " " in path else None
        shared = [b for b, spans in blocks if group and any(names(s, group) for s in spans)]
        root = [b for b, spans in blocks if any(s.startswith("tac-bootstrap") for s in spans)]
        near = own + shared + (root if not path else [])
        for option in options:
            if not any(mentions(b, option) for b in near):
                missing.add((path, option))
    return missing


def broken_links(files: list[Path], read: dict[Path, str] | None = None) -> list[str]:
    bad = []
    for file in files:
        text = read[file] if read is not None else file.read_text()
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            if not (file.parent / target.split("#")[0]).exists():
                bad.append(f"{file.relative_to(ROOT)}: {target}")
    return bad


def all_docs() -> str:
    return "\n\n".join(p.read_text() for p in doc_files())


def test_every_command_and_long_option_is_documented() -> None:
    tree = cli_tree()
    assert "db prune" in tree and "--older-than" in tree["db prune"]  # the walk sees the tree
    assert sorted(undocumented(all_docs(), tree)) == []


def test_every_relative_link_resolves() -> None:
    assert len(doc_files()) >= 6
    assert broken_links(doc_files()) == []


TREE = cli_tree()
PAIRS = sorted((p, o) for p, opts in TREE.items() for o in opts)


@settings(max_examples=60)
@given(st.sets(st.sampled_from(PAIRS), min_size=1, max_size=4))
def test_an_option_taken_out_of_the_docs_is_reported(removed: set[tuple[str, str]]) -> None:
    """Erase some options from the docs: exactly the commands that have them are reported."""
    text = all_docs()
    options = {o for _, o in removed}
    for option in options:
        text = re.sub(rf"{re.escape(option)}(?![\w-])", "--erased", text)
    expected = {(p, o) for p, opts in TREE.items() for o in opts if o in options}
    assert undocumented(text, TREE) == expected


@pytest.mark.parametrize("path", sorted(p for p in TREE if p))
def test_a_command_taken_out_of_the_docs_is_reported(path: str) -> None:
    text = all_docs()
    for span in {a or b for a, b in SPAN.findall(text)} | set(text.splitlines()):
        if names(span.split("#")[0].strip(), path):
            text = text.replace(span, "erased")
    assert (path, "") in undocumented(text, TREE)


@pytest.mark.parametrize(
    ("target", "broken"),
    [
        ("guide.md", False),
        ("guide.md#the-agentic-layer", False),
        ("../specs/hardening/errors.md", False),
        ("https://keepachangelog.com/", False),
        ("#anchor", False),
        ("specs/hardening/errors.md", True),  # relative to docs/, not the repo root
        ("missing.md", True),
        ("../docs/missing.md#x", True),
    ],
)
def test_link_checker_cases(target: str, broken: bool) -> None:
    file = ROOT / "docs" / "guide.md"
    result = broken_links([file], {file: f"see [this]({target}) here"})
    assert bool(result) is broken
