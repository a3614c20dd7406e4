"""GitHub issues and pull requests through the ``gh`` CLI, the ``issues.source: github`` side.

gh owns authentication, hosts (GitHub Enterprise too) and the repository (the git remote of
the directory it runs in, or ``GH_REPO``); the layer only runs it. Which gh: ``GH_PATH`` when
set, else ``gh`` on PATH. What gh prints for each call used here (fields, URLs, errors, exit
codes) is written down, with its sources, in adws/README.md ("GitHub: what gh prints"), and
tests run against a stand-in that prints exactly that. Bodies go to gh on stdin or in a file
(``--body-file``), never on a command line, where they would show in process listings and
hit the argument length limit.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .adw_issues import (
    MAX_BODY_CHARS,
    Comment,
    Issue,
    IssueError,
    IssueNotFound,
    closing_line,
    fit_body,
    layer_comment_body,
    marker,
)
from .adw_markdown import (
    close_fences,
    neutralize_closing_references,
    neutralize_html_comments,
    neutralize_team_mentions,
    strip_control,
)

ISSUE_FIELDS = "number,title,body,labels,author,comments,url"
LIST_FIELDS = "number,title,body,labels,author,url"
PR_FIELDS = "number,url,state,headRefName,baseRefName,autoMergeRequest"
LIST_LIMIT = 100
MAX_TITLE_CHARS = 256
EXIT_AUTH = 4  # gh's exit code when it has no credentials (cmd/gh: exitAuth)
# Never prompt, never page, never colour, never check for updates: a workflow reads the output.
GH_ENV = {
    "GH_PROMPT_DISABLED": "1",
    "GH_NO_UPDATE_NOTIFIER": "1",
    "GH_SPINNER_DISABLED": "1",
    "GH_PAGER": "cat",
    "NO_COLOR": "1",
    "CLICOLOR": "0",
}
_NOT_FOUND = "Could not resolve to an issue or pull request with the number of"
_EXISTING_PR = re.compile(r"already exists:\s*(https?://\S+)")
_ISSUE_URL = re.compile(r"/issues/(\d+)/?(?:[#?].*)?$")


class GhMissing(IssueError):
    """No gh executable: not installed, or GH_PATH names nothing runnable."""


class GhNotLoggedIn(IssueError):
    """gh has no credentials (it exits 4)."""


class GhFailed(IssueError):
    """gh ran and failed; the message carries its first error line."""


def gh_executable() -> str | None:
    """``GH_PATH`` when set (even to something missing: that is an error, not a fallback),
    else ``gh`` on PATH."""
    configured = os.environ.get("GH_PATH")
    if configured:
        return configured
    return shutil.which("gh")


def issue_number(ref: str) -> int:
    """12, "12", "#12" or an issue URL as the issue number."""
    text = str(ref).strip()
    found = _ISSUE_URL.search(text)
    if found:
        return int(found.group(1))
    if text.lstrip("#").isdigit():
        return int(text.lstrip("#"))
    raise IssueError(f"not a GitHub issue number or URL: {text!r}")


def pr_title(title: str) -> str:
    """One line, no control characters, within GitHub's 256 characters."""
    text = " ".join(strip_control(title).split())
    if len(text) > MAX_TITLE_CHARS:
        text = text[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    return text or "Changes from an AI developer workflow"


def issue_from_json(data: dict[str, Any]) -> Issue:
    """gh's issue JSON (``issue view`` or one ``issue list`` row) as an Issue."""
    labels = tuple(
        str(label.get("name", "")) for label in data.get("labels") or [] if isinstance(label, dict)
    )
    comments = tuple(
        Comment(
            author=login(entry.get("author")),
            body=str(entry.get("body") or ""),
            created_at=str(entry.get("createdAt") or ""),
            association=str(entry.get("authorAssociation") or ""),
        )
        for entry in data.get("comments") or []
        if isinstance(entry, dict)
    )
    number = int(data["number"])
    return Issue(
        source="github",
        ref=str(number),
        number=number,
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        labels=labels,
        author=login(data.get("author")),
        comments=comments,
        url=str(data.get("url") or ""),
    )


def login(author: object) -> str:
    return str(author.get("login") or "") if isinstance(author, dict) else ""


class GitHubSource:
    """The ``IssueSource`` for GitHub, one gh subprocess per call."""

    name = "github"

    def __init__(self, root: Path, *, gh: str | None = None, timeout: float = 120.0) -> None:
        self.root = Path(root)
        self.gh = gh
        self.timeout = timeout

    # running gh ------------------------------------------------------------------------
    def run(self, *args: str, stdin: str | None = None, cwd: Path | None = None) -> str:
        """gh's stdout; an IssueError subclass with one clear line when it fails."""
        done = self.call(*args, stdin=stdin, cwd=cwd)
        if done.returncode != 0:
            raise self.failure(args, done)
        return done.stdout

    def call(
        self, *args: str, stdin: str | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        executable = self.gh or gh_executable()
        if not executable:
            raise GhMissing(
                "gh (the GitHub CLI) is not installed: get it from https://cli.github.com or "
                "set GH_PATH; without GitHub, set issues.source: local in tac_bootstrap.yml"
            )
        try:
            return subprocess.run(
                [executable, *args],
                input=stdin,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                cwd=str(cwd or self.root),
                env={**os.environ, **GH_ENV},
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise GhMissing(f"gh not found at {executable}: install it or fix GH_PATH") from exc
        except PermissionError as exc:
            raise GhMissing(f"gh at {executable} is not executable: fix GH_PATH") from exc
        except subprocess.TimeoutExpired as exc:
            raise GhFailed(f"gh {' '.join(args[:2])} timed out after {self.timeout:g}s") from exc

    def failure(self, args: tuple[str, ...], done: subprocess.CompletedProcess[str]) -> IssueError:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        first = lines[0] if lines else f"exit {done.returncode}, no message"
        command = "gh " + " ".join(args[:2])
        if done.returncode == EXIT_AUTH:
            return GhNotLoggedIn(
                f"{command}: gh is not logged in: run `gh auth login` or set GH_TOKEN"
            )
        if _NOT_FOUND in done.stderr:
            return IssueNotFound(f"{command} {args[2] if len(args) > 2 else ''}: {first}")
        return GhFailed(f"{command} failed (exit {done.returncode}): {first}")

    def json(self, *args: str, cwd: Path | None = None) -> Any:
        out = self.run(*args, cwd=cwd)
        try:
            return json.loads(out)
        except json.JSONDecodeError as exc:
            raise GhFailed(f"gh {' '.join(args[:2])} printed no JSON: {out[:120]!r}") from exc

    # IssueSource -----------------------------------------------------------------------
    def read(self, ref: str) -> Issue:
        number = issue_number(ref)
        data = self.json("issue", "view", str(number), "--json", ISSUE_FIELDS)
        if not isinstance(data, dict):
            raise GhFailed(f"gh issue view {number} printed no issue object")
        return issue_from_json(data)

    def list_open(self, label: str) -> list[Issue]:
        """Open issues with ``label`` (all open ones when empty), oldest number first; without
        comments (``read`` fetches them for the issue a run starts from)."""
        args = ["issue", "list", "--state", "open", "--json", LIST_FIELDS]
        args += ["--limit", str(LIST_LIMIT)]
        if label:
            args += ["--label", label]
        rows = self.json(*args)
        if not isinstance(rows, list):
            raise GhFailed("gh issue list printed no list")
        issues = [issue_from_json(row) for row in rows if isinstance(row, dict)]
        return sorted(issues, key=lambda issue: issue.number or 0)

    def comment(self, issue: Issue, adw_id: str, text: str, *, question: bool = False) -> str:
        """Posts the comment (marker appended) and returns its URL as gh prints it."""
        body = layer_comment_body(adw_id, text, question=question)
        number = str(issue.number if issue.number is not None else issue_number(issue.ref))
        out = self.run("issue", "comment", number, "--body-file", "-", stdin=body)
        return last_line(out)

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
        """``gh pr create`` for the pushed ``branch`` into ``base``; the body links the issue
        ("Closes #N"). Returns the pull request's URL, also when one was already open for the
        branch (a resumed ship step)."""
        full = pull_request_body(body, issue, adw_id)
        with tempfile.TemporaryDirectory(prefix="tac-pr-") as tmp:
            body_file = Path(tmp) / "body.md"
            body_file.write_text(full, encoding="utf-8")
            args: tuple[str, ...] = ("pr", "create", "--base", base, "--head", branch)
            args += ("--title", pr_title(title), "--body-file", str(body_file))
            done = self.call(*args, cwd=worktree)
        if done.returncode == 0:
            return last_line(done.stdout)
        existing = _EXISTING_PR.search(done.stderr)
        if existing:
            return existing.group(1)
        raise self.failure(args, done)

    def enable_auto_merge(self, url: str) -> str:
        """Squash-merge once the repository's required checks pass. gh merges at once when
        nothing is pending, so the answer is "merged" or "enabled"."""
        self.run("pr", "merge", "--auto", "--squash", url)
        state = self.pull_request(url)
        return "merged" if state.get("state") == "MERGED" else "enabled"

    def pull_request(self, url: str) -> dict[str, Any]:
        data = self.json("pr", "view", url, "--json", PR_FIELDS)
        if not isinstance(data, dict):
            raise GhFailed(f"gh pr view {url} printed no pull request object")
        return data


def pull_request_body(body: str, issue: Issue | None, adw_id: str) -> str:
    """The body as posted: no control characters, stray HTML comments, team pings or closing
    references to other issues (merging closes only the run's issue), within GitHub's limit
    with room kept for the closing line and the marker, which come last."""
    tail = ""
    if closing_line(issue):
        tail += "\n\n" + closing_line(issue)
    if adw_id:
        tail += "\n\n" + marker(adw_id)
    text = neutralize_html_comments(strip_control(body, keep_newlines=True))
    text = neutralize_team_mentions(text)
    text = neutralize_closing_references(text, keep=issue.number if issue else None).rstrip()
    return close_fences(fit_body(text, MAX_BODY_CHARS - len(tail) - 9)) + tail + "\n"


def last_line(out: str) -> str:
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    return lines[-1] if lines else ""
