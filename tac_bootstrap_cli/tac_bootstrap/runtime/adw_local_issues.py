"""Issues as Markdown files in a folder, for a project with no GitHub at all.

``<local_dir>/12-add-login.md`` is issue 12: its title is the first ``# `` heading, an optional
YAML front matter gives ``labels:`` (and ``state: closed``, ``author:``). The layer never
rewrites a person's issue file: its comments go to ``<local_dir>/12-add-login.comments.md``
next to it, and a "pull request" is the run's branch, left in place, plus a summary file
``<local_dir>/pulls/<adw_id>.md`` with the commits and the diffstat. A person answers a plan
question by writing below the last comment in the comments file.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from .adw_issues import (
    MARKER_LINE,
    Comment,
    Issue,
    IssueError,
    IssueNotFound,
    closing_line,
    fit_body,
    layer_comment_body,
    marker,
    pick_labels,
)
from .adw_markdown import (
    close_fences,
    md_code,
    md_code_block,
    md_text,
    neutralize_html_comments,
    strip_control,
)

LAYER_AUTHOR = "tac-bootstrap"
COMMENTS_SUFFIX = ".comments.md"
PULLS_DIR = "pulls"
_HEADER = re.compile(
    r"^<!-- tac-bootstrap comment author=(\S*) created_at=(\S*) -->[ \t]*\r?$", re.M
)
_LEADING_NUMBER = re.compile(r"^(\d+)")
_GIT_TIMEOUT = 60


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class LocalIssueSource:
    """The ``issues.source: local`` side of ``IssueSource``."""

    name = "local"

    def __init__(self, root: Path, local_dir: str = "issues") -> None:
        self.root = Path(root).resolve()
        self.dir = (self.root / local_dir).resolve()

    # reading ---------------------------------------------------------------------------
    def issue_files(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return sorted(
            path
            for path in self.dir.iterdir()
            if path.suffix == ".md"
            and not path.name.endswith(COMMENTS_SUFFIX)
            and path.is_file()
            and path.resolve().parent == self.dir
        )

    def resolve(self, ref: str) -> Path:
        """The issue file ``ref`` names: a path (as recorded in the runs table), a file name,
        a stem, or the number its name starts with. Nothing outside the issues folder."""
        wanted = strip_control(str(ref)).strip()
        files = self.issue_files()
        if "/" in wanted or os.sep in wanted:
            target = (self.root / wanted).resolve()
            matches = [path for path in files if path == target]
        else:
            matches = [path for path in files if wanted in (path.name, path.stem)]
            if not matches and wanted.lstrip("#").isdigit():
                number = int(wanted.lstrip("#"))
                matches = [path for path in files if issue_number(path) == number]
        if not matches:
            raise IssueNotFound(f"no local issue {wanted!r} in {self.dir}")
        if len(matches) > 1:
            names = ", ".join(path.name for path in matches)
            raise IssueError(f"local issue {wanted!r} is ambiguous in {self.dir}: {names}")
        return matches[0]

    def read(self, ref: str) -> Issue:
        return self._parse(self.resolve(ref))

    def list_open(self, label: str) -> list[Issue]:
        """Open issues carrying ``label`` (every open one when ``label`` is empty), by number
        then name. A file that cannot be read is skipped, not fatal to a poller."""
        found: list[Issue] = []
        for path in self.issue_files():
            try:
                issue = self._parse(path)
            except IssueError:
                continue
            state = read_front_matter(path)[0].get("state", "open")
            if str(state).lower() == "closed":
                continue
            if label and label.lower() not in {name.lower() for name in issue.labels}:
                continue
            found.append(issue)
        return sorted(found, key=lambda i: (i.number is None, i.number or 0, i.ref))

    def _parse(self, path: Path) -> Issue:
        meta, text = read_front_matter(path)
        title, body = split_title(text)
        title = title or str(meta.get("title") or "").strip() or path.stem
        return Issue(
            source="local",
            ref=self._relative(path),
            number=issue_number(path),
            title=strip_control(title).strip(),
            body=body,
            labels=pick_labels(meta.get("labels")),
            author=strip_control(str(meta.get("author") or "")).strip(),
            comments=tuple(read_comments(sidecar_of(path))),
            url=self._relative(path),
        )

    def _relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    # writing ---------------------------------------------------------------------------
    def comment(self, issue: Issue, adw_id: str, text: str, *, question: bool = False) -> str:
        """Appends the comment to the issue's comments file (created on first use); returns
        that file's path. The issue file itself is never touched."""
        sidecar = sidecar_of(self.resolve(issue.ref))
        if question:
            text += f"\n\n_To answer, write at the end of {md_code(sidecar.name)}, then resume._"
        body = layer_comment_body(adw_id, text, question=question)
        entry = f"\n<!-- tac-bootstrap comment author={LAYER_AUTHOR} created_at={utc_now()} -->\n"
        fd = os.open(sidecar, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, (entry + body).encode("utf-8"))
        finally:
            os.close(fd)
        return str(sidecar)

    def open_pull_request(
        self,
        worktree: Path,
        branch: str,
        base: str,
        title: str,
        body: str,
        issue: Issue | None,
        *,
        adw_id: str = "",
    ) -> str:
        """Leaves ``branch`` where it is and writes the summary a reviewer starts from to
        ``<local_dir>/pulls/<adw_id or branch>.md``; returns that file's path."""
        try:
            git(worktree, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
        except IssueError:
            raise IssueError(f"branch {branch!r} not found in {worktree}") from None
        base_ref = resolve_base(worktree, base)
        commits = git(worktree, "log", "--no-color", "--format=%h %s", f"{base_ref}..{branch}")
        diffstat = git(worktree, "diff", "--no-color", "--stat", f"{base_ref}...{branch}")
        name = adw_id or re.sub(r"[^A-Za-z0-9_.-]+", "-", branch).strip("-.") or "branch"
        summary = self.dir / PULLS_DIR / f"{name}.md"
        text = render_summary(title, body, branch, base, issue, commits, diffstat, adw_id)
        write_atomic(summary, text)
        return str(summary)

    def enable_auto_merge(self, url: str) -> str:
        """Local mode never merges: the branch and its summary wait for a person."""
        return "unavailable"


def issue_number(path: Path) -> int | None:
    found = _LEADING_NUMBER.match(path.name)
    return int(found.group(1)) if found else None


def sidecar_of(issue_file: Path) -> Path:
    return issue_file.with_name(issue_file.stem + COMMENTS_SUFFIX)


def read_front_matter(path: Path) -> tuple[dict[str, object], str]:
    """(front matter, the rest) of an issue file; ({}, all of it) without front matter."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise IssueError(f"cannot read local issue {path}: {exc.strerror or exc}") from exc
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if not text.startswith("---\n"):
        return {}, text
    end = re.search(r"^(?:---|\.\.\.)[ \t]*$", text[4:], re.M)
    if end is None:
        return {}, text
    import yaml

    try:
        meta = yaml.safe_load(text[4 : 4 + end.start()])
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise IssueError(f"front matter of {path.name} is not valid YAML: {first}") from exc
    rest = text[4 + end.end() :].lstrip("\n")
    return (meta if isinstance(meta, dict) else {}), rest


def split_title(text: str) -> tuple[str, str]:
    """(the first ``# `` heading's text, the text without that line). A ``# `` line inside a
    fenced code block (a shell comment in an example) is no heading."""
    lines = text.split("\n")
    fence = ""
    for index, line in enumerate(lines):
        opening = re.match(r"^ {0,3}(`{3,}|~{3,})", line)
        if opening and (not fence or opening.group(1).startswith(fence)):
            fence = "" if fence else opening.group(1)[0] * 3
            continue
        heading = None if fence else re.match(r"^# +(.+?)[ \t]*#*[ \t]*$", line)
        if heading:
            parts = ("\n".join(lines[:index]).strip(), "\n".join(lines[index + 1 :]).strip())
            return heading.group(1).strip(), "\n\n".join(part for part in parts if part)
    return "", text.strip()


def read_comments(sidecar: Path) -> list[Comment]:
    """The comments file as comments, oldest first. Text a person wrote below a layer
    comment's marker (or above the first header) is a comment of its own, dated by the file."""
    try:
        text = sidecar.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
        written = datetime.fromtimestamp(sidecar.stat().st_mtime, timezone.utc)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise IssueError(f"cannot read {sidecar}: {exc.strerror or exc}") from exc
    stamp = written.strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = list(_HEADER.finditer(text))
    comments = human_text(text[: headers[0].start()] if headers else text, stamp)
    for index, header in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
        block = text[header.end() : end].strip("\n")
        author, created_at = header.group(1), header.group(2)
        markers = list(MARKER_LINE.finditer(block))
        if author == LAYER_AUTHOR and markers:
            cut = markers[-1].end()
            comments.append(Comment(author, block[:cut].strip(), created_at))
            comments.extend(human_text(block[cut:], stamp))
        elif block.strip():
            comments.append(Comment(author, block.strip(), created_at))
    return comments


def human_text(text: str, stamp: str) -> list[Comment]:
    stripped = text.strip()
    return [Comment("", stripped, stamp)] if stripped else []


def resolve_base(worktree: Path, base: str) -> str:
    """The base as a ref git can compare with: the local branch, else a remote's copy."""
    for candidate in (f"refs/heads/{base}", f"refs/remotes/origin/{base}", base):
        try:
            git(worktree, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
        except IssueError:
            continue
        return candidate
    raise IssueError(f"base branch {base!r} not found in {worktree}")


def render_summary(
    title: str,
    body: str,
    branch: str,
    base: str,
    issue: Issue | None,
    commits: str,
    diffstat: str,
    adw_id: str,
) -> str:
    description = close_fences(
        neutralize_html_comments(strip_control(fit_body(body), keep_newlines=True)).strip()
    )
    lines = [
        f"# {md_text(title, limit=256)}",
        "",
        f"- Branch: {md_code(branch)} (not pushed, not merged)",
        f"- Base: {md_code(base)}",
    ]
    if issue is not None:
        lines.append(f"- Issue: {md_text(issue.title)} ({md_code(issue.ref)})")
    lines += [
        f"- To merge it yourself: {md_code(f'git switch {base} && git merge --no-ff {branch}')}",
        "",
        "## Description",
        "",
        description or "_No description._",
        "",
        closing_line(issue),
        "",
        "## Commits",
        "",
        md_code_block(commits.strip("\n") or "(no commits ahead of the base)"),
        "",
        "## Diffstat",
        "",
        md_code_block(diffstat.strip("\n") or "(no changes)"),
        "",
    ]
    if adw_id:
        lines.append(marker(adw_id))
    return "\n".join(lines) + "\n"


def git(worktree: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(worktree), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise IssueError(f"git {args[0]} failed in {worktree}: {exc}") from exc
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[0]
        raise IssueError(f"git {args[0]} failed in {worktree}: {reason}")
    return done.stdout


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
