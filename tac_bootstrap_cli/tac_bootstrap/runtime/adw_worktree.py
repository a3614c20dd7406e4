"""Each run's own git worktree, branch, port range and copied env files, made and removed safely.

A run works in ``<worktrees_dir>/<adw_id>`` (trees/ by default, git-ignored) on its own branch,
so parallel runs never share files. Everything here is idempotent because a run can crash at
any point: a worktree left behind is reused, an existing branch is checked out again, and a
worktree directory deleted by hand is pruned from git's list. Nothing is removed with
uncommitted work in it unless forced, and then only after a patch backup of that work.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import pytest_boundary
from .adw_git import (
    GitError,
    branch_exists,
    copied_files,
    current_branch,
    git,
    is_merged,
    remember_copied,
    remote_default_branch,
    worktree_lock,
)

SLUG_MAX = 40
ISSUE_TYPES = ("feature", "bug", "chore")
_ADW_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_NOT_REF = re.compile(r"[^A-Za-z0-9_-]+")


class WorktreeError(GitError):
    """A worktree cannot be made, reused or removed as asked (the message says why)."""


class WorktreeDirty(WorktreeError):
    """The worktree holds uncommitted work; it is kept unless removal is forced."""


def slugify(title: str, limit: int = SLUG_MAX) -> str:
    """ASCII lowercase words joined by '-', at most ``limit`` characters, cut at a word end."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > limit:
        cut = slug[:limit]
        slug = cut.rsplit("-", 1)[0] if "-" in cut and slug[limit] != "-" else cut
    return slug.strip("-")


def branch_name(issue_type: str, ref: str, title: str) -> str:
    """``feature/12-add-login-page``: the type, the issue number (else the adw_id), the title's
    slug. Valid for `git check-ref-format --branch` whatever the inputs (tested with git)."""
    kind = issue_type if issue_type in ISSUE_TYPES else "feature"
    ref_part = _NOT_REF.sub("-", ref).strip("-_")[:SLUG_MAX].rstrip("-_") or "run"
    slug = slugify(title)
    return f"{kind}/{ref_part}-{slug}" if slug else f"{kind}/{ref_part}"


def default_base_branch(root: Path, remote: str = "origin") -> str:
    """The remote's default branch (its HEAD as this clone knows it), else the current one."""
    found = remote_default_branch(root, remote) or current_branch(root)
    if found:
        return found
    raise WorktreeError(
        f"no base branch for a run in {root}: HEAD is detached and remote {remote!r} has no "
        f"default branch (refs/remotes/{remote}/HEAD); set workflow.base_branch in "
        f"tac_bootstrap.yml, check out a branch, or run `git remote set-head {remote} --auto`"
    )


def repository_root(root: Path) -> Path:
    """The top of the git work tree holding ``root`` (the project may be a part of it)."""
    try:
        return Path(git(root, "rev-parse", "--show-toplevel").stdout.strip())
    except GitError as exc:
        raise WorktreeError(
            f"{root} is not in a git repository, so a run cannot have its own "
            f"worktree (set workflow.isolation: none, or git init): {exc}"
        ) from None


def project_in_worktree(root: Path, worktree: Path) -> Path:
    """Where the project ``root`` is inside a worktree of its repository (a monorepo part is
    a sub-directory of the checkout)."""
    top = repository_root(root)
    return worktree / Path(os.path.relpath(root.resolve(), top.resolve()))


@dataclass(frozen=True)
class WorktreeInfo:
    path: Path
    head: str | None
    branch: str | None  # short name; None when detached
    prunable: bool  # git knows it but its directory is gone
    locked: bool


def list_worktrees(root: Path) -> list[WorktreeInfo]:
    """Every worktree git knows for this repository, the main checkout first."""
    out = git(root, "worktree", "list", "--porcelain").stdout  # -z needs git 2.36
    found: list[WorktreeInfo] = []
    for block in out.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, _, value = line.partition(" ")
            if key:
                fields[key] = value
        if "worktree" not in fields:
            continue
        branch = fields.get("branch", "")
        found.append(
            WorktreeInfo(
                path=Path(fields["worktree"]),
                head=fields.get("HEAD"),
                branch=branch.removeprefix("refs/heads/") or None,
                prunable="prunable" in fields,
                locked="locked" in fields,
            )
        )
    return found


def find_worktree(root: Path, path: Path) -> WorktreeInfo | None:
    wanted = _same_path(path)
    return next((w for w in list_worktrees(root) if _same_path(w.path) == wanted), None)


def _same_path(path: Path) -> Path:
    return Path(os.path.realpath(path))


def prune_worktrees(root: Path) -> None:
    """Forget worktrees whose directory was deleted by hand (`git worktree prune`)."""
    git(root, "worktree", "prune")


IGNORE_ALL = "# tac-bootstrap run worktrees (<adw_id>/): local, never committed.\n*\n"


def ensure_ignored(root: Path, worktrees_dir: str) -> None:
    """Keep the worktrees out of the main checkout's `git status` and commits. The layer's
    .gitignore has the line; elsewhere (a project from `init`, an older layer) the directory
    ignores itself with its own .gitignore, as logs/ and .tac_bootstrap/ do."""
    directory = root / worktrees_dir
    top = repository_root(root)
    try:  # git's paths: relative to the top of the work tree
        relative = directory.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        return  # outside the repository (a hand-edited config): nothing to ignore
    if git(top, "check-ignore", "-q", "--", f"{relative}/probe", check=False).returncode == 0:
        return
    if git(top, "ls-files", "--", relative).stdout.strip():
        raise WorktreeError(
            f"{directory} holds files of the repository, so runs cannot have their worktrees "
            "there; set workflow.worktrees_dir in tac_bootstrap.yml to a directory of its own"
        )
    directory.mkdir(parents=True, exist_ok=True)
    marker = directory / ".gitignore"
    if not marker.is_file() or marker.is_symlink():
        marker.unlink(missing_ok=True)
        marker.write_text(IGNORE_ALL, encoding="utf-8")


def _base_ref(root: Path, base_branch: str, remote: str) -> str:
    """The commit a new branch starts from: the local base branch, else the remote's."""
    for ref in (f"refs/heads/{base_branch}", f"refs/remotes/{remote}/{base_branch}"):
        result = git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        if result.returncode == 0:
            return ref
    raise WorktreeError(
        f"base branch {base_branch!r} does not exist in {root} (neither a local branch nor "
        f"{remote}/{base_branch}); set workflow.base_branch in tac_bootstrap.yml to a branch "
        "that has a commit"
    )


def create_worktree(
    root: Path,
    adw_id: str,
    branch: str,
    base_branch: str,
    worktrees_dir: str = "trees",
    *,
    remote: str = "origin",
) -> Path:
    """``<root>/<worktrees_dir>/<adw_id>`` on ``branch``, made from ``base_branch`` if the
    branch is new. Again after a crash: the worktree left is reused, an existing branch is
    checked out (never recreated), a directory deleted by hand is pruned first."""
    if not _ADW_ID.match(adw_id):
        raise WorktreeError(f"invalid adw_id {adw_id!r} for a worktree directory")
    git(root, "check-ref-format", "--branch", branch)
    with worktree_lock(root):  # concurrent adds of one repository race inside git
        return _add_worktree(root, adw_id, branch, base_branch, worktrees_dir, remote)


def _add_worktree(
    root: Path, adw_id: str, branch: str, base_branch: str, worktrees_dir: str, remote: str
) -> Path:
    path = (root / worktrees_dir / adw_id).resolve()
    known = find_worktree(root, path)
    if known is not None and (known.prunable or not path.exists()):
        prune_worktrees(root)
        known = None
    if known is not None:
        if known.branch != branch:
            raise WorktreeError(
                f"{path} is a worktree on {known.branch or 'a detached HEAD'}, not {branch}; "
                "remove it (tac-bootstrap clean) or use another adw_id"
            )
        return path
    if path.exists():
        if any(path.iterdir()):
            raise WorktreeError(f"{path} exists and is not a git worktree; move it away first")
        path.rmdir()  # an empty directory a crashed `git worktree add` left
    ensure_ignored(root, worktrees_dir)
    pytest_boundary.install(path.parent)  # a `pytest` in the main checkout skips the worktrees
    if branch_exists(root, branch):
        git(root, "worktree", "add", "--quiet", str(path), branch)
    else:
        start = _base_ref(root, base_branch, remote)
        git(root, "worktree", "add", "--quiet", "--no-track", "-b", branch, str(path), start)
    return path


def copy_env_files(root: Path, worktree: Path, patterns: list[str]) -> list[str]:
    """Copy the files matching ``patterns`` (globs relative to the checkout) into the worktree,
    keeping their modes; the copied paths, relative. Never reads through a symlink leading out
    of the checkout, never writes out of the worktree, never overwrites a tracked file."""
    source_root = _same_path(root)
    target_root = _same_path(worktree)
    tracked = set(git(worktree, "ls-files", "-z").stdout.split("\0"))
    copied: list[str] = []
    for pattern in patterns:
        if not pattern or Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            continue
        for match in sorted(root.glob(pattern)):
            relative = _copyable(match, root, source_root, target_root)
            if relative is None or relative in tracked or relative in copied:
                continue
            destination = worktree / relative
            if not _inside(_same_path(destination.parent), target_root):
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            if destination.is_symlink():
                destination.unlink()
            shutil.copy2(_same_path(match), destination)
            copied.append(relative)
    if copied:
        remember_copied(worktree, copied)
    return copied


def _copyable(match: Path, root: Path, source_root: Path, target_root: Path) -> str | None:
    """The match's path relative to the checkout, when it is a regular file that really is
    in the checkout (not reached through a symlink out of it, not in a worktree, not .git)."""
    real = _same_path(match)
    if not real.is_file() or not _inside(real, source_root) or _inside(real, target_root.parent):
        return None
    relative = match.relative_to(root)
    if ".git" in relative.parts or _inside(_same_path(root / relative), target_root.parent):
        return None
    return relative.as_posix()


def _inside(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def run_environment(
    adw_id: str, worktree: Path, port_base: int, ports_per_run: int
) -> dict[str, str]:
    """The variables a run's agent and the project's commands get: who they are, where they
    work and the ports that are theirs (PORT is the first)."""
    if ports_per_run < 1 or not 0 < port_base <= 65536 - ports_per_run:
        raise WorktreeError(f"no valid port range from {port_base} with {ports_per_run} ports")
    last = port_base + ports_per_run - 1
    return {
        "TAC_ADW_ID": adw_id,
        "TAC_WORKTREE": str(worktree),
        "TAC_PORT_BASE": str(port_base),
        "TAC_PORT_RANGE": f"{port_base}-{last}",
        "PORT": str(port_base),
    }


def worktree_dirty(path: Path) -> bool:
    """Whether the worktree holds work no commit has: staged, unstaged or untracked files
    that git does not ignore (the env files copied in are not the run's work)."""
    if not path.exists():
        return False
    out = git(path, "status", "--porcelain=v1", "-z", "--untracked-files=all").stdout
    ours = set(copied_files(path))
    return any(entry[3:] not in ours for entry in out.split("\0") if len(entry) > 3)


def backup_patch(path: Path, backup_dir: Path) -> Path | None:
    """A patch of every uncommitted change (staged, unstaged and untracked files, binary ones
    included) against HEAD; `git apply <patch>` on HEAD restores it. None: nothing to save."""
    head = git(path, "rev-parse", "HEAD").stdout.strip()
    with tempfile.TemporaryDirectory(prefix="tac-backup-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        git(path, "read-tree", "HEAD", env=env)
        git(path, "add", "--all", "--", ".", env=env)
        ours = copied_files(path)
        if ours:  # copies of the main checkout's secrets, not the run's work
            git(path, "rm", "-q", "--cached", "--ignore-unmatch", "--", *ours, env=env)
        patch = git(path, "diff", "--cached", "--binary", "--full-index", head, env=env).stdout
    if not patch.strip():
        return None
    backup_dir.mkdir(parents=True, exist_ok=True)
    target = backup_dir / f"{path.name}-{_stamp()}.patch"
    header = (
        f"# tac-bootstrap: uncommitted work of worktree {path} (branch "
        f"{current_branch(path) or 'detached'}, HEAD {head}).\n"
        f"# Restore: git checkout {head} (or its branch), then git apply {target.name}\n"
    )
    target.write_text(header + patch, encoding="utf-8", errors="surrogateescape")
    return target


@dataclass(frozen=True)
class RemovedWorktree:
    path: Path
    branch: str | None
    patch: Path | None  # the backup of uncommitted work, if there was any
    branch_deleted: bool
    bundle: Path | None = None  # the commits of an unmerged branch deleted by force


def discard_worktree(
    root: Path,
    path: Path,
    *,
    force: bool,
    backup_dir: Path,
    base_branch: str | None = None,
    remote: str = "origin",
    branch: str | None = None,
) -> RemovedWorktree:
    """``remove_worktree`` with what it did: the backup and whether the branch went too. The
    branch (the worktree's, else ``branch``: a run's whose directory is gone) is deleted only
    when merged into ``base_branch``, or with ``force`` (then its commits go to a bundle)."""
    known = list_worktrees(root)
    info = next((w for w in known if _same_path(w.path) == _same_path(path)), None)
    if info is not None and info is known[0]:
        raise WorktreeError(f"{path} is the repository's main checkout, not a run's worktree")
    if info is not None and (info.prunable or not path.exists()):
        prune_worktrees(root)
    elif info is None and path.exists():
        raise WorktreeError(f"{path} is not a worktree of the repository at {root}; not removed")
    patch: Path | None = None
    branch = info.branch if info is not None and info.branch else branch
    if info is not None and path.exists():
        if worktree_dirty(path):
            if not force:
                raise WorktreeDirty(
                    f"{path} has uncommitted work; commit it, or remove it with --force "
                    "(a patch backup is written first)"
                )
            patch = backup_patch(path, backup_dir)
        with worktree_lock(root):
            git(root, "worktree", "remove", "--force", str(path))
    deleted, bundle = False, None
    if branch is not None and branch_exists(root, branch):
        merged = _merged(root, branch, base_branch, remote)
        if force or merged:
            if not merged:  # its commits would be lost: kept in a bundle beside the patch
                bundle = backup_bundle(root, branch, backup_dir)
            git(root, "branch", "-D", branch)
            deleted = True
    return RemovedWorktree(path, branch, patch, deleted, bundle)


def backup_bundle(root: Path, branch: str, backup_dir: Path) -> Path:
    """The branch's commits as a git bundle; `git fetch <bundle> <branch>:<branch>` restores."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    target = backup_dir / f"{branch.replace('/', '-')}-{_stamp()}.bundle"
    git(root, "bundle", "create", str(target), f"refs/heads/{branch}")  # no --quiet before 2.31
    return target


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def _merged(root: Path, branch: str, base_branch: str | None, remote: str) -> bool:
    try:
        base = base_branch or default_base_branch(root, remote)
    except WorktreeError:
        return False
    if base == branch:
        return False
    return any(
        is_merged(root, branch, ref)
        for ref in (f"refs/heads/{base}", f"refs/remotes/{remote}/{base}")
        if git(root, "rev-parse", "--verify", "--quiet", ref, check=False).returncode == 0
    )


def remove_worktree(
    root: Path, path: Path, *, force: bool, backup_dir: Path, base_branch: str | None = None
) -> Path | None:
    """Remove a run's worktree (and its branch when merged or forced). Refuses one with
    uncommitted work (WorktreeDirty) unless ``force``, which first writes the patch backup
    into ``backup_dir``: its path is returned (None when there was nothing to save)."""
    removed = discard_worktree(
        root, path, force=force, backup_dir=backup_dir, base_branch=base_branch
    )
    return removed.patch
