"""Whether git ignores the database files and none of the generated ones, and the fix.

Git answers when the project is a repository; ``gitignore_ignores`` reads the patterns itself
when it is not (or git is missing), so the database check works before `git init` too. A
generated file git ignores is never committed, so a clone lacks it: the fix appends the
negations that re-include it (the same lines add-agentic appends).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from tac_bootstrap.application import database_service
from tac_bootstrap.application.doctor.database import _locate
from tac_bootstrap.application.doctor.report import (
    FAIL,
    OK,
    SUBPROCESS_TIMEOUT,
    Check,
    Fixed,
    _Context,
    _listed,
    _plural,
)
from tac_bootstrap.application.gitignore import (
    GitignoreAction,
    committed_paths,
    update_layer_gitignore,
)
from tac_bootstrap.application.ignored_files import (
    IgnoredPaths,
    describe_unfixable,
    escape_pattern,
    git_ignored,
    ignored_by,
    negations,
)
from tac_bootstrap.domain.errors import OperationError, TacError


def _database_paths(target: database_service.DatabaseTarget) -> list[tuple[Path, bool]]:
    """The files that hold the database's data, and whether each is a directory."""
    db = target.path
    if db is None:  # PostgreSQL: no files in the repository
        return []
    return [
        (db, False),
        (db.with_name(db.name + "-wal"), False),
        (db.with_name(db.name + "-shm"), False),
        (db.parent / "backups", True),  # where `db migrate` keeps full copies
    ]


@dataclass(frozen=True)
class _IgnoreState:
    method: str  # "git" or ".gitignore patterns"
    unignored: list[str]  # project-relative POSIX paths; directories end with "/"
    tracked: list[str]


def _ignore_state(ctx: _Context, relative: list[str], found: IgnoredPaths | None) -> _IgnoreState:
    """``found``: git's answer for these paths (None outside a git work tree), shared with
    the generated files' check so doctor starts one `git check-ignore` for both."""
    if found is not None:
        hits = {p for p in relative if ignored_by(found, p) is not None}
        files = [p for p in relative if not p.endswith("/")]
        listed = subprocess.run(
            ["git", "ls-files", "--", *files],
            cwd=ctx.root,
            capture_output=True,
            text=True,
            check=False,
            timeout=SUBPROCESS_TIMEOUT,
        )
        tracked = [p for p in files if p in set(listed.stdout.splitlines())]
        unignored = [p for p in relative if p not in hits and p not in tracked]
        return _IgnoreState("git check-ignore", unignored, tracked)
    unignored = [p for p in relative if not gitignore_ignores(ctx.root, p)]
    return _IgnoreState(".gitignore patterns (not a git repository)", unignored, [])


def check_gitignore(ctx: _Context) -> list[Check]:
    generated = committed_paths(ctx.inputs.generated)
    database, early = _database_relative(ctx)
    found = git_ignored(ctx.root, generated + database)  # one git start answers both
    rows = _generated_rows(generated, found)
    return rows + (early if early else _database_rows(ctx, database, found))


def _database_relative(ctx: _Context) -> tuple[list[str], list[Check]]:
    """The database's paths relative to the project, or the row that makes them moot."""
    try:
        target = _locate(ctx)
    except TacError as exc:
        message = f"cannot locate the database: {exc.message}"
        return [], [Check("gitignore", FAIL, message, exc.hint)]
    if target.location.is_postgres:
        message = "nothing to ignore: the database is on a PostgreSQL server"
        return [], [Check("gitignore", OK, message)]
    relative: list[str] = []
    for path, is_dir in _database_paths(target):
        shown = ctx.shown(path)
        if Path(shown).is_absolute():
            message = f"the database is outside the project ({target.path})"
            return [], [Check("gitignore", OK, message)]
        relative.append(shown + ("/" if is_dir else ""))
    return relative, []


def _database_rows(ctx: _Context, relative: list[str], found: IgnoredPaths | None) -> list[Check]:
    state = _ignore_state(ctx, relative, found)
    rows: list[Check] = []
    if state.tracked:
        rows.append(
            Check(
                "gitignore",
                FAIL,
                f"committed to git: {_listed(state.tracked)} (the database is local state)",
                f"`git rm --cached {' '.join(state.tracked)}` and commit",
                details=tuple(state.tracked),
            )
        )
    if state.unignored:
        rows.append(
            Check(
                "gitignore",
                FAIL,
                f"not ignored by git: {_listed(state.unignored)}",
                "`tac-bootstrap doctor --fix` adds them to .gitignore",
                fixable=True,
                details=tuple(state.unignored),
            )
        )
    return rows or [Check("gitignore", OK, f"the database files are ignored ({state.method})")]


def _generated_rows(generated: list[str], found: IgnoredPaths | None) -> list[Check]:
    """A generated file git ignores is in no commit: every clone lacks it (`files` fails)."""
    if found is None:
        return []  # not a git repository (or no git): nothing is committed yet anyway
    needed = negations(found, generated)
    if not needed.ignored:
        return []  # the usual case: one gitignore row (the database's) is enough
    rows = []
    fixable = [p for p in needed.ignored if p not in needed.unfixable]
    if fixable:
        rules = sorted({str(found.rules[p]) for p in fixable})
        them = "it" if len(fixable) == 1 else "them"
        rows.append(
            Check(
                "gitignore",
                FAIL,
                f"git ignores {_plural(len(fixable), 'generated file')}: {_listed(fixable)} "
                f"(by {'; '.join(rules)}): no commit has {them}, so a clone lacks {them}",
                f"`tac-bootstrap doctor --fix` re-includes {them} in .gitignore (and creates "
                f"{them} if missing); then commit .gitignore and {them}",
                fixable=True,
                details=tuple(f"{p} ({found.rules[p]})" for p in fixable),
            )
        )
    rows += [
        Check("gitignore", FAIL, message, "edit that .gitignore yourself, then commit the files")
        for message in describe_unfixable(needed.unfixable)
    ]
    return rows


def fix_gitignore(ctx: _Context) -> list[Fixed]:
    """Append to the root .gitignore the database paths git does not ignore and the negations
    that re-include ignored generated files (never a generated .gitignore)."""
    target = _locate(ctx)
    lines: list[str] = []
    if not target.location.is_postgres:
        relative = [
            ctx.shown(path) + ("/" if is_dir else "") for path, is_dir in _database_paths(target)
        ]
        if not any(Path(p).is_absolute() for p in relative):
            state = _ignore_state(ctx, relative, git_ignored(ctx.root, relative))
            lines = ["/" + escape_pattern(p) for p in state.unignored]
    # The same append-only update add-agentic uses: existing bytes are never changed.
    update = update_layer_gitignore(
        ctx.root, lines, committed_paths(ctx.inputs.generated), dry_run=False
    )
    if update.action is GitignoreAction.SKIPPED and update.lines:
        raise OperationError(
            f"{ctx.root / '.gitignore'}: {update.detail}: " + ", ".join(update.lines)
        )
    if not update.lines:
        return []
    added = len(update.lines)
    return [Fixed("gitignore", f"added {_plural(added, 'line')} to .gitignore", update.lines)]


def gitignore_ignores(root: Path, relative: str) -> bool:
    """Whether the .gitignore files from ``root`` down to the path's directory ignore it.

    Used only outside a git repository, where `git check-ignore` cannot answer. It follows
    git's rules for the patterns a project uses (comments, ``!`` negation, trailing ``/`` for
    directories, anchoring by a ``/``, the last match winning); a ``*`` may match a ``/``.
    """
    is_dir = relative.endswith("/")
    parts = PurePosixPath(relative.rstrip("/")).parts
    verdict = False
    for depth in range(len(parts)):
        ignore_file = root.joinpath(*parts[:depth], ".gitignore")
        if not ignore_file.is_file():
            continue
        try:
            lines = ignore_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        below = parts[depth:]
        for line in lines:
            matched = _pattern_matches(line, below, is_dir)
            if matched is not None:
                verdict = matched
    return verdict


def _pattern_matches(line: str, parts: tuple[str, ...], is_dir: bool) -> bool | None:
    """True (ignored) or False (re-included) when the pattern matches the path, else None."""
    pattern = line.rstrip("\r")
    # Trailing spaces are dropped unless escaped with a backslash.
    escaped_space = pattern.endswith("\\ ")
    pattern = pattern[:-2].rstrip() + "\\ " if escaped_space else pattern.rstrip()
    if not pattern or pattern.startswith("#"):
        return None
    negate = pattern.startswith("!")
    if negate:
        pattern = pattern[1:]
    pattern = pattern.removeprefix("\\")
    dir_only = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    anchored = "/" in pattern
    pattern = pattern.lstrip("/").removeprefix("**/") if anchored else pattern
    pattern = pattern.replace("\\ ", " ")
    if not pattern:
        return None
    for end in range(1, len(parts) + 1):
        directory = end < len(parts) or is_dir  # leading components are directories
        if dir_only and not directory:
            continue
        candidate = "/".join(parts[:end]) if anchored else parts[end - 1]
        if fnmatchcase(candidate, pattern):
            return not negate
    return None
