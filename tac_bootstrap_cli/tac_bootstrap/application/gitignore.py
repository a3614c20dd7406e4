"""The repository-root .gitignore lines the agentic layer needs (add-agentic, render, doctor).

An existing .gitignore belongs to the user: its bytes are kept exactly as they are and only the
missing lines are appended, under one comment header. A missing .gitignore is created.

No generated file may end up ignored (it would never be committed, and every clone would lack
it): our own lines ignore none, and when the repository's rules do, ``update_layer_gitignore``
appends the negations that re-include them (see ignored_files) and reports what it cannot undo.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from tac_bootstrap.application.ignored_files import (
    IgnoredPaths,
    Negations,
    describe_unfixable,
    few,
    git_ignored,
    negations,
)
from tac_bootstrap.domain.config_values import CONFIG_FILENAME
from tac_bootstrap.domain.state_files import MANIFEST_FILENAME, PROPOSAL_SUFFIX, STATE_DIR
from tac_bootstrap.infrastructure.filesystem import atomic_write, confined_path

if TYPE_CHECKING:
    from tac_bootstrap.domain.config import TacConfig
    from tac_bootstrap.domain.plan import ApplyReport, ScaffoldPlan

GITIGNORE = ".gitignore"
HEADER = "# tac-bootstrap agentic layer"
NEGATION_PASSES = 3  # a rule hidden behind an ignored directory shows once that is re-included


class GitignoreAction(str, Enum):
    CREATE = "create"  # there was no .gitignore
    APPEND = "append"  # some lines were missing
    UNCHANGED = "unchanged"  # every line is already there
    SKIPPED = "skipped"  # not a regular file (a directory, a symlink): left alone


@dataclass(frozen=True)
class GitignoreUpdate:
    action: GitignoreAction
    lines: tuple[str, ...]  # the lines added (or, in a dry run, that would be)
    detail: str = ""
    path: str = GITIGNORE
    ignored: tuple[str, ...] = ()  # generated files git ignored before (the lines re-include)
    warnings: tuple[str, ...] = ()  # generated files git still ignores, and why
    ignored_by: tuple[str, ...] = ()  # "path (source:line: pattern)", one per ``ignored``
    rules: tuple[str, ...] = ()  # "source:line: pattern", one per ``ignored``
    unfixable: tuple[str, ...] = ()  # the ``ignored`` no line of ours can re-include

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "action": self.action.value,
            "lines": list(self.lines),
            **({"detail": self.detail} if self.detail else {}),
            **({"ignored": list(self.ignored_by)} if self.ignored else {}),
            **({"warnings": list(self.warnings)} if self.warnings else {}),
        }


def required_lines(config: TacConfig) -> list[str]:
    """What git must ignore at the root: local state, the database files, our proposals and
    the runs' worktrees (``workflow.worktrees_dir``, anchored: a ``trees`` elsewhere is not
    ours). None of them may match a generated file. The run logs are not here: the generated
    ``<logs_dir>/.gitignore`` ignores everything beside itself, while a root ``logs/`` line
    would ignore that file too (and any ``logs`` directory elsewhere in the repository).
    """
    return [
        f"{STATE_DIR}/",
        "*.db-wal",
        "*.db-shm",
        config.default_database_path,
        f"*{PROPOSAL_SUFFIX}",  # the layer's version beside a user's file, to merge by hand
        f"/{config.workflow.worktrees_dir.strip('/')}/",  # each run's git worktree
    ]


def generated_paths(plan: ScaffoldPlan, report: ApplyReport | None = None) -> list[str]:
    """The files of the layer that must be committed: the plan's, the config and the manifest.

    A conflicting file (``report``) is the user's own, left as it was: if they keep it out of
    git, that is their choice, never undone by us.
    """
    conflicts = {result.path for result in report.conflicts} if report is not None else set()
    return committed_paths(op.path for op in plan.files if op.path not in conflicts)


def committed_paths(files: Iterable[str]) -> list[str]:
    """The given generated files with the config and the manifest, sorted."""
    return sorted({*files, CONFIG_FILENAME, MANIFEST_FILENAME})


def _pattern(line: str) -> str | None:
    """A .gitignore line reduced to what it matches at the root, for 'is it already there?'.

    '/logs/', 'logs/' and 'logs' all keep logs/ out of git; comments and blanks match nothing.
    """
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    return text.strip("/") or None


def update_gitignore(root: Path, lines: list[str], *, dry_run: bool) -> GitignoreUpdate:
    """Append the missing ``lines`` to ``root/.gitignore`` (create it if absent).

    Existing bytes are never changed: the result is the old content, a newline if it lacked a
    final one, a blank line, the header and the missing lines, in the file's own line ending.
    """
    return _append(root, lines, dry_run=dry_run, header=True)


def _append(root: Path, lines: list[str], *, dry_run: bool, header: bool) -> GitignoreUpdate:
    """``update_gitignore``; without ``header`` the lines continue the block just written."""
    if not lines:  # nothing to add: never a .gitignore holding only our header
        return GitignoreUpdate(GitignoreAction.UNCHANGED, ())
    path = root / GITIGNORE  # checked before confined_path, which refuses escaping symlinks
    if path.is_symlink() or (path.exists() and not path.is_file()):
        kind = "a symlink" if path.is_symlink() else "not a regular file"
        return GitignoreUpdate(
            GitignoreAction.SKIPPED,
            tuple(lines),
            f"it is {kind}; add these lines to it yourself",
        )
    path = confined_path(root, GITIGNORE)
    if not path.exists():
        if not dry_run:
            atomic_write(path, "\n".join([HEADER, *lines, ""]).encode("utf-8"))
        return GitignoreUpdate(GitignoreAction.CREATE, tuple(lines))
    data = path.read_bytes()
    text = data.decode("utf-8", errors="surrogateescape")
    present = {_pattern(line) for line in text.splitlines()}
    missing = [line for line in lines if _pattern(line) not in present]
    if not missing:
        return GitignoreUpdate(GitignoreAction.UNCHANGED, ())
    newline = "\r\n" if "\r\n" in text else "\n"
    suffix = ""
    if text and not text.endswith(("\n", "\r")):
        suffix += newline  # finish the user's last line first
    if header and text.strip() and not (text + suffix).endswith(newline * 2):
        suffix += newline  # a blank line before our block
    suffix += newline.join([HEADER, *missing] if header else missing) + newline
    if not dry_run:
        atomic_write(path, data + suffix.encode("utf-8"))
    return GitignoreUpdate(GitignoreAction.APPEND, tuple(missing))


def update_layer_gitignore(
    root: Path, required: list[str], generated: Iterable[str], *, dry_run: bool
) -> GitignoreUpdate:
    """Append ``required`` and the negations that keep every ``generated`` path in git.

    Git is asked first (when the project is in a git repository); the negations go in the same
    block as ``required``. A rule that hid another (``*.md`` below an ignored ``.claude/``)
    shows once the directory is re-included, so the check runs again after writing (at most
    NEGATION_PASSES times); what still is ignored then is reported in ``warnings``.
    """
    paths = sorted(set(generated))
    found = git_ignored(root, paths)
    if found is None:  # no git, or not a repository: nothing can be ignored yet
        return update_gitignore(root, required, dry_run=dry_run)
    needed = negations(found, paths)
    update = update_gitignore(root, [*required, *needed.lines], dry_run=dry_run)
    ignored = tuple(needed.ignored)
    rules = tuple(str(found.rules[p]) for p in ignored)
    update = replace(
        update,
        rules=rules,
        unfixable=tuple(needed.unfixable),
        ignored_by=tuple(f"{p} ({r})" for p, r in zip(ignored, rules, strict=True)),
    )
    if dry_run or update.action is GitignoreAction.SKIPPED or not needed.ignored:
        return replace(update, ignored=ignored, warnings=_warnings(found, needed, dry_run))
    added = list(update.lines)
    for attempt in range(NEGATION_PASSES + 1):
        found = git_ignored(root, ignored)
        if found is None or attempt == NEGATION_PASSES:
            break
        if not any(path in found.rules for path in ignored):
            break
        needed = negations(found, ignored)
        more = _append(root, needed.lines, dry_run=False, header=not added)
        if not more.lines:
            break
        added.extend(more.lines)
    action = update.action
    if added and action is GitignoreAction.UNCHANGED:
        action = GitignoreAction.APPEND
    warnings = () if found is None else _warnings(found, negations(found, ignored), dry_run)
    return replace(update, action=action, lines=tuple(added), ignored=ignored, warnings=warnings)


def _warnings(found: IgnoredPaths, needed: Negations, dry_run: bool) -> tuple[str, ...]:
    """The unfixable rules, and (after writing) any file the negations did not re-include."""
    messages = describe_unfixable(needed.unfixable)
    if not dry_run:  # ``found`` is the state after writing
        left = [p for p in needed.ignored if p not in needed.unfixable]
        messages += [
            f"git still ignores generated file {path} ({found.rules[path]}): re-include it in "
            ".gitignore, or it will never be committed"
            for path in left
        ]
    return tuple(messages)


def keep_generated_in_git(
    root: Path, plan: ScaffoldPlan, *, dry_run: bool = False
) -> GitignoreUpdate:
    """For render (and doctor): only the negations, when git ignores a generated file."""
    try:
        return update_layer_gitignore(root, [], generated_paths(plan), dry_run=dry_run)
    except OSError as exc:  # the layer is written; an unwritable .gitignore is only reported
        reason = f"could not update it ({exc.strerror or exc})"
        return GitignoreUpdate(GitignoreAction.SKIPPED, (), reason)


def describe_ignored(update: GitignoreUpdate, *, check: bool) -> list[str]:
    """What render (``check``: render --check) and init say about generated files git ignores:
    one line per rule, naming the files (the first few) and what to do."""
    if not update.ignored:
        return []
    by_rule: dict[str, list[str]] = {}
    for path, rule in zip(update.ignored, update.rules, strict=True):
        if path not in update.unfixable:  # those have their own line, in the warnings
            by_rule.setdefault(rule, []).append(path)
    if check:
        return [
            f"git ignores generated {_files(paths)} ({rule}): no commit has "
            f"{_them(paths)}, so a clone lacks {_them(paths)}; `tac-bootstrap render` (or "
            f"`doctor --fix`) re-includes {_them(paths)} in .gitignore, then commit .gitignore "
            f"and {_them(paths)}"
            for rule, paths in by_rule.items()
        ] + list(update.warnings)
    said = list(update.warnings)
    if update.action is GitignoreAction.SKIPPED:
        said.insert(
            0, f"{update.path}: {update.detail}; git ignores {few(list(update.ignored_by))}"
        )
    elif update.lines:
        said.insert(
            0,
            f"{update.path}: appended {len(update.lines)} line(s) so that git keeps the "
            f"generated {_files(list(update.ignored))} it ignored (by "
            f"{'; '.join(by_rule)}): commit .gitignore with them",
        )
    return said


def _files(paths: list[str]) -> str:
    return f"file {paths[0]}" if len(paths) == 1 else f"files {few(paths)}"


def _them(paths: list[str]) -> str:
    return "it" if len(paths) == 1 else "them"
