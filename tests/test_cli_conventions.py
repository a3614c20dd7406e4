"""CLI conventions, checked over the whole command tree found by introspection (so a new
command is covered without editing this file): every command answers --help; usage lines
have no `{NAME}` braces; group listings never cut a summary with "..."; each short flag means
one thing everywhere; bare `tac-bootstrap` and `tac-bootstrap db` print help and exit 0;
shell completion works through the installed script.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tac_bootstrap.cli.app import app

SCRIPT = Path(sys.executable).parent / "tac-bootstrap"


def _tree(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every (words, click command) pair under command, the root included."""
    found = [(path, command)]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found.extend(_tree(sub, (*path, name)))
    return found


def _contexts(
    command: Any, path: tuple[str, ...] = (), parent: Any = None
) -> list[tuple[tuple[str, ...], Any, Any]]:
    """Every command with the click context it runs in (settings inherited as when run)."""
    ctx = command.context_class(
        command,
        info_name=path[-1] if path else "tac-bootstrap",
        parent=parent,
        **command.context_settings,
    )
    found = [(path, command, ctx)]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found.extend(_contexts(sub, (*path, name), ctx))
    return found


ROOT = app.click_command()  # what the installed script runs (cli/lazy_commands.py)
TREE = _tree(ROOT)
GROUPS = [(path, cmd) for path, cmd in TREE if getattr(cmd, "commands", None)]
PATHS = [path for path, _ in TREE]


def _script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script (its program name decides the completion variable)."""
    return subprocess.run(
        [str(SCRIPT), *args],
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_tree_has_every_known_command() -> None:
    """Guards the walk itself: it reaches nested groups, `db copy` included."""
    assert {("init",), ("render",), ("db",), ("db", "copy"), ("db", "export")} <= set(PATHS)
    assert len(PATHS) >= 17


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "root")
def test_every_command_has_help_with_a_plain_usage_line(path: tuple[str, ...]) -> None:
    done = _script(*path, "--help")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr == ""
    usage = done.stdout.splitlines()[0]
    assert usage.startswith(f"Usage: {' '.join(('tac-bootstrap', *path))} ")
    assert "{" not in usage and "}" not in usage, usage
    # Option metavars (choices would render as {json|csv}) live in the Options section.
    options = done.stdout.partition("\nOptions:\n")[2].partition("\nCommands:\n")[0]
    assert "{" not in options, options


@pytest.mark.parametrize("columns", ["50", "80", "200"])
@pytest.mark.parametrize("path", [p for p, _ in GROUPS], ids=lambda p: " ".join(p) or "root")
def test_group_listings_never_cut_a_summary(path: tuple[str, ...], columns: str) -> None:
    done = _script(*path, "--help", env={"COLUMNS": columns})
    assert done.returncode == 0, done.stderr
    listing = done.stdout.partition("\nCommands:\n")[2]
    assert listing.strip(), done.stdout
    assert "..." not in listing, listing
    assert not listing.rstrip().endswith(","), listing


@settings(max_examples=200)
@given(limit=st.integers(min_value=1, max_value=300))
def test_every_summary_is_a_whole_sentence_at_any_width(limit: int) -> None:
    """click shortens a summary to the width it has left (`limit`); a short_help it never cuts."""
    for path, command in TREE[1:]:
        summary = command.get_short_help_str(limit=limit)
        assert summary.endswith(".") and not summary.endswith("..."), (path, limit, summary)


def test_each_short_flag_means_one_thing() -> None:
    meaning: dict[str, set[str]] = {}
    for _path, command, ctx in _contexts(ROOT):
        for param in command.get_params(ctx):  # with --help, which depends on the context
            names = [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
            shorts = [n for n in names if n.startswith("-") and not n.startswith("--")]
            longs = sorted(n for n in names if n.startswith("--"))
            for short in shorts:
                meaning.setdefault(short, set()).add(longs[0] if longs else "")
    assert meaning["-h"] == {"--help"}
    assert meaning["-l"] == {"--language"} and meaning["-f"] == {"--framework"}
    conflicts = {short: longs for short, longs in meaning.items() if len(longs) != 1}
    assert not conflicts


@pytest.mark.parametrize("args", [(), ("db",)], ids=["bare", "db"])
def test_no_subcommand_prints_help_and_exits_0(args: tuple[str, ...]) -> None:
    done = _script(*args)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith(f"Usage: {' '.join(('tac-bootstrap', *args))} ")
    assert "\nCommands:\n" in done.stdout


def _from_bash(*args: str) -> subprocess.CompletedProcess[str]:
    """The console script run by a bash (not exec'd), as at a user's bash prompt: without a
    shell argument, completion detects the shell from the parent processes, not $SHELL."""
    command = " ".join(shlex.quote(word) for word in (str(SCRIPT), *args))
    return subprocess.run(
        ["bash", "-c", f"{command}; exit $?"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_show_completion_prints_the_bash_function() -> None:
    """Typer's --show-completion is a flag: the shell is always the detected one."""
    done = _from_bash("--show-completion")
    assert done.returncode == 0, done.stderr
    assert "_tac_bootstrap_completion()" in done.stdout
    assert "_TAC_BOOTSTRAP_COMPLETE=complete_bash" in done.stdout
    assert "complete -o default -F _tac_bootstrap_completion tac-bootstrap" in done.stdout


def _names(path: tuple[str, ...]) -> set[str]:
    return set(dict(TREE)[path].commands)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("tac-bootstrap ", _names(())),
        ("tac-bootstrap db ", _names(("db",))),
        ("tac-bootstrap db co", {"copy"}),
        ("tac-bootstrap db i", {"init", "import-transcripts"}),
        ("tac-bootstrap db export --fo", {"--format"}),
        ("tac-bootstrap init x --lang", {"--language"}),
    ],
)
def test_bash_completion_offers_the_commands(words: str, expected: set[str]) -> None:
    cword = len(words.split(" ")) - 1
    done = _script(
        env={
            "_TAC_BOOTSTRAP_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(cword),
        }
    )
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == expected
