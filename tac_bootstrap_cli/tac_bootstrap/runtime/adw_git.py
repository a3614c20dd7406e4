"""Git for a run: commit its work, list what changed, push its branch (never the base branch).

Every call is a real `git` process with no terminal (stdin closed, a timeout), and without the
GIT_DIR/GIT_INDEX_FILE a git hook may have left in the environment, so a workflow started from
a hook still acts on the worktree it names. Errors are GitError with git's own message.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from .orch_database_types import OrchestratorError

GIT_TIMEOUT_SECONDS = 300
FALLBACK_NAME = "ADW"
FALLBACK_EMAIL = "adw@localhost"
# Files a commit of a run never takes, even when no .gitignore covers them: the orchestrator
# database (its default name; a configured path is added from TAC_ORCHESTRATOR_DB) and SQLite's
# side files, which change under every running hook.
NEVER_COMMITTED = ("orchestrator.db", "*.db-wal", "*.db-shm", "*.db-journal")
COPIED_FILES_MARKER = "tac-bootstrap-copied-files.json"
_GIT_ENV_LEAKS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX")


class GitError(OrchestratorError):
    """A git command failed, or a push was refused on purpose (the base branch)."""


def git(
    cwd: Path,
    *args: str,
    check: bool = True,
    env: dict[str, str] | None = None,
    timeout: float = GIT_TIMEOUT_SECONDS,
) -> subprocess.CompletedProcess[str]:
    """Run `git args` in ``cwd``; with ``check`` a non-zero exit raises GitError."""
    full_env = {k: v for k, v in os.environ.items() if k not in _GIT_ENV_LEAKS}
    full_env.update(env or {})
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args)} took longer than {timeout:.0f} s in {cwd}") from None
    if check and result.returncode != 0:
        detail = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()
        raise GitError(f"git {' '.join(args)} failed in {cwd}: {' / '.join(detail[-5:])}")
    return result


def git_dir(worktree: Path) -> Path:
    """This worktree's private git directory (.git/worktrees/<name> for a linked one)."""
    out = git(worktree, "rev-parse", "--absolute-git-dir").stdout.strip()
    return Path(out)


def copied_files(worktree: Path) -> list[str]:
    """The files copy_env_files put in this worktree: not the run's work, never committed."""
    try:
        marker = git_dir(worktree) / COPIED_FILES_MARKER
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (GitError, OSError, ValueError):
        return []
    return [str(p) for p in data] if isinstance(data, list) else []


def remember_copied(worktree: Path, paths: Sequence[str]) -> None:
    marker = git_dir(worktree) / COPIED_FILES_MARKER
    known = sorted({*copied_files(worktree), *paths})
    marker.write_text(json.dumps(known, indent=1) + "\n", encoding="utf-8")


def _excluded(worktree: Path, path: str, copied: set[str]) -> bool:
    """Whether a run's commit must leave ``path`` out (see NEVER_COMMITTED)."""
    name = path.rsplit("/", 1)[-1]
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in NEVER_COMMITTED):
        return True
    if path in copied:
        return True
    configured = os.environ.get("TAC_ORCHESTRATOR_DB", "")
    if configured and "://" not in configured:
        target = Path(configured)
        full = (worktree / path).resolve()
        return full in {target.resolve(), (worktree / target).resolve()}
    return False


def _identity(worktree: Path) -> list[str]:
    """``-c`` options for the fallback identity when git has none configured."""
    name = git(worktree, "config", "user.name", check=False).stdout.strip()
    email = git(worktree, "config", "user.email", check=False).stdout.strip()
    options: list[str] = []
    if not name:
        options += ["-c", f"user.name={FALLBACK_NAME}"]
    if not email:
        options += ["-c", f"user.email={FALLBACK_EMAIL}"]
    return options


def staged_files(worktree: Path) -> list[str]:
    out = git(worktree, "diff", "--cached", "--name-only", "-z", "--no-renames").stdout
    return [p for p in out.split("\0") if p]


def commit_all(worktree: Path, message: str) -> str | None:
    """Stage everything git does not ignore and commit it; the new commit's sha, or None when
    nothing changed. The database, its side files and the copied env files stay out."""
    if not message.strip():
        raise GitError("a commit needs a message")
    top = top_level(worktree)  # the whole checkout, also from a project's sub-directory
    git(top, "add", "--all", "--", ".")
    copied = set(copied_files(top))
    left_out = [p for p in staged_files(top) if _excluded(top, p, copied)]
    if left_out:  # back to HEAD's version, or out of the index on a branch with no commit
        if git(top, "rev-parse", "--verify", "--quiet", "HEAD", check=False).returncode == 0:
            git(top, "reset", "-q", "HEAD", "--", *left_out)
        else:
            git(top, "rm", "-q", "--cached", "--ignore-unmatch", "--", *left_out)
    if not staged_files(top):
        return None
    message_file = git_dir(top) / "TAC_COMMIT_MSG"
    message_file.write_text(message.rstrip() + "\n", encoding="utf-8")
    try:
        git(top, *_identity(top), "commit", "-q", "-F", str(message_file))
    finally:
        message_file.unlink(missing_ok=True)
    return git(top, "rev-parse", "HEAD").stdout.strip()


def top_level(path: Path) -> Path:
    """The top of the work tree holding ``path``: git's paths are relative to it."""
    return Path(git(path, "rev-parse", "--show-toplevel").stdout.strip())


def changed_files(worktree: Path, since: str | None = None) -> list[str]:
    """The paths with uncommitted changes (staged, unstaged, untracked and not ignored), and
    with ``since`` (a commit or branch) also those committed after it; sorted, no duplicates,
    relative to the top of the checkout."""
    worktree = top_level(worktree)
    out = git(worktree, "status", "--porcelain=v1", "-z", "--untracked-files=all").stdout
    paths: set[str] = set()
    entries = out.split("\0")
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        paths.add(entry[3:])
        if entry[0] in "RC":  # a rename's source follows as its own entry
            index += 1
    if since:
        diff = git(worktree, "diff", "--name-only", "-z", f"{since}...HEAD").stdout
        paths.update(p for p in diff.split("\0") if p)
    return sorted(paths)


def is_work_tree(path: Path) -> bool:
    """Whether ``path`` is inside a git work tree (False also when git is missing)."""
    try:
        found = git(path, "rev-parse", "--is-inside-work-tree", check=False)
    except GitError:
        return False
    return found.returncode == 0 and found.stdout.strip() == "true"


def current_branch(worktree: Path) -> str | None:
    """The checked-out branch's short name; None for a detached HEAD."""
    result = git(worktree, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return result.stdout.strip() or None if result.returncode == 0 else None


def remote_default_branch(root: Path, remote: str) -> str | None:
    """The remote's default branch as this clone knows it (refs/remotes/<remote>/HEAD)."""
    ref = f"refs/remotes/{remote}/HEAD"
    result = git(root, "symbolic-ref", "--quiet", "--short", ref, check=False)
    name = result.stdout.strip()
    if result.returncode != 0 or not name:
        return None
    return name[len(remote) + 1 :] if name.startswith(f"{remote}/") else name


def _remote_head(worktree: Path, remote: str) -> str | None:
    """The default branch the remote itself advertises (asked only when pushing)."""
    result = git(worktree, "ls-remote", "--symref", remote, "HEAD", check=False, timeout=60)
    for line in result.stdout.splitlines():
        if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD"):
            return line[len("ref: refs/heads/") : -len("\tHEAD")]
    return None


def push_branch(worktree: Path, remote: str, branch: str, base_branch: str) -> None:
    """Push ``branch`` (only it) to ``remote`` and track it; refuses the base branch and the
    remote's default branch: a run's work reaches them only through a reviewed pull request."""
    if not branch or branch.startswith("-") or not remote or remote.startswith("-"):
        raise GitError(f"refusing to push: unusable remote {remote!r} or branch {branch!r}")
    protected = {
        base_branch,
        remote_default_branch(worktree, remote),
        _remote_head(worktree, remote),
    }
    if branch in protected:
        raise GitError(
            f"refusing to push {branch!r}: it is the base branch or {remote}'s default branch; "
            "a run pushes only its own branch and opens a pull request"
        )
    git(worktree, "check-ref-format", "--branch", branch)
    refspec = f"refs/heads/{branch}:refs/heads/{branch}"
    git(worktree, "push", "--quiet", "--set-upstream", remote, refspec)


def branch_exists(root: Path, branch: str) -> bool:
    result = git(root, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
    return result.returncode == 0


def is_merged(root: Path, branch: str, into: str) -> bool:
    """Whether every commit of ``branch`` is in ``into`` (a branch, remote branch or sha); a
    branch that does not exist has nothing to lose, so it counts as merged."""
    if not branch_exists(root, branch):
        return True
    result = git(root, "merge-base", "--is-ancestor", f"refs/heads/{branch}", into, check=False)
    if result.returncode not in (0, 1):
        raise GitError(f"cannot tell whether {branch} is merged into {into}: {result.stderr}")
    return result.returncode == 0


WORKTREE_LOCK = "tac-bootstrap-worktrees.lock"


@contextlib.contextmanager
def worktree_lock(root: Path) -> Iterator[None]:
    """Runs adding or removing worktrees of one repository take turns: `git worktree add`
    racing another add (or a list) fails now and then ("failed to read .git/worktrees/<other>/
    commondir"; 1 in 248 with 8 at once, none under a lock). An advisory lock in the common git
    dir, shared by every worktree; where fcntl is missing, no lock."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    common = Path(git(root, "rev-parse", "--git-common-dir").stdout.strip())
    lock_path = (common if common.is_absolute() else root / common) / WORKTREE_LOCK
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
