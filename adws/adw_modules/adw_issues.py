"""Issues a run works from, wherever they live: GitHub (through gh) or Markdown files.

The engine and the triggers see one interface (``IssueSource``) and two dataclasses; the
source is chosen by the ``issues`` section of tac_bootstrap.yml. Every comment the layer posts
ends with a marker naming the run (``<!-- tac-bootstrap adw_id=<id> -->``): the loop guard
(``is_layer_comment``) and the plan-questions resume (``answers_after``) rely on it, because
gh usually posts as the same account as the human, so the author cannot tell them apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .adw_markdown import (
    close_fences,
    neutralize_html_comments,
    neutralize_team_mentions,
    strip_control,
)
from .adw_project import ProjectSettings, current_project
from .adw_settings import settings

MARKER_PREFIX = "<!-- tac-bootstrap adw_id="
QUESTION_MARKER = "<!-- tac-bootstrap question -->"
ADW_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
MARKER_LINE = re.compile(
    rf"^[ \t]*<!-- tac-bootstrap adw_id=({ADW_ID_PATTERN}) -->[ \t]*\r?$", re.M
)
_QUESTION_LINE = re.compile(r"^[ \t]*<!-- tac-bootstrap question -->[ \t]*\r?$", re.M)
# GitHub refuses comment and pull request bodies over 65536 characters.
MAX_BODY_CHARS = 65_536
_TRUNCATED = "\n\n… (truncated: the full text is in the run's logs)"


class IssueError(RuntimeError):
    """An issue source failed; the message is one line a person can act on."""


class IssueNotFound(IssueError):
    """The issue does not exist (or this account cannot see it)."""


# Who may answer a run's questions on GitHub: people with write access to the repository.
# Anyone can comment on a public issue; an outsider's "answer" would go into the plan prompt.
TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


@dataclass(frozen=True)
class Comment:
    author: str
    body: str
    created_at: str  # ISO 8601, UTC ("2026-12-01T18:52:22Z"); "" when unknown
    association: str = ""  # GitHub's authorAssociation (OWNER, MEMBER, ...); "" in local mode


@dataclass(frozen=True)
class Issue:
    source: str  # "github" | "local"
    ref: str  # the GitHub number as text, or the file's path relative to the project
    number: int | None
    title: str
    body: str
    labels: tuple[str, ...] = ()
    author: str = ""
    comments: tuple[Comment, ...] = field(default=())
    url: str = ""


class IssueSource(Protocol):
    """Where issues are read, commented on, and turned into pull requests."""

    name: str

    def read(self, ref: str) -> Issue: ...

    def list_open(self, label: str) -> list[Issue]: ...

    def comment(self, issue: Issue, adw_id: str, text: str, *, question: bool = False) -> str: ...

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
    ) -> str: ...

    def enable_auto_merge(self, url: str) -> str: ...


def marker(adw_id: str) -> str:
    """The line every layer comment ends with; refuses ids the loop guard could not read back."""
    if not re.fullmatch(ADW_ID_PATTERN, adw_id):
        raise ValueError(f"adw_id {adw_id!r} cannot go into a comment marker")
    return f"{MARKER_PREFIX}{adw_id} -->"


def is_layer_comment(body: str) -> bool:
    """True for a comment the layer wrote (the loop guard: such comments never start runs)."""
    return MARKER_LINE.search(body or "") is not None


def layer_comment_adw_id(body: str) -> str | None:
    """The run a layer comment belongs to (the last marker wins), None for a human comment."""
    found = MARKER_LINE.findall(body or "")
    return found[-1] if found else None


def is_question_comment(body: str) -> bool:
    return is_layer_comment(body) and _QUESTION_LINE.search(body) is not None


def layer_comment_body(adw_id: str, text: str, *, question: bool = False) -> str:
    """``text`` made safe to post as the layer: control characters dropped, every ``<!--`` in
    it neutralized (so only the layer's own marker lines are HTML comments and no value inside
    can forge or close one), no ``@org/team`` ping, cut to GitHub's limit, an open code
    block closed (it would swallow the marker), then the marker lines appended. Values
    placed in ``text`` still need md_text/md_code/md_code_block."""
    tail = "\n\n" + (QUESTION_MARKER + "\n" if question else "") + marker(adw_id) + "\n"
    safe = neutralize_html_comments(strip_control(text, keep_newlines=True))
    safe = neutralize_team_mentions(safe).rstrip()
    return close_fences(fit_body(safe, MAX_BODY_CHARS - len(tail) - 8)) + tail


def fit_body(text: str, limit: int = MAX_BODY_CHARS) -> str:
    """``text`` cut to ``limit`` characters with a note saying so, and a code block the cut
    left open closed (the caller appends its tail, the marker, after this)."""
    keep = limit - len(_TRUNCATED)
    while len(text) > limit:
        cut = close_fences(text[: max(keep, 0)].rstrip()) + _TRUNCATED
        if len(cut) <= limit or keep <= 0:
            return cut
        keep -= len(cut) - limit
    return text


def human_comments(comments: Iterable[Comment]) -> list[Comment]:
    return [c for c in comments if not is_layer_comment(c.body)]


def answers_after(issue: Issue, adw_id: str) -> list[Comment]:
    """The human comments posted after this run's last question comment, oldest first.

    Empty while nobody answered, and when the run never asked (nothing to resume on). Comments
    of other runs are no answers either (another run's progress is not a person speaking), and
    on GitHub only people with write access answer (``TRUSTED_ASSOCIATIONS``): the answers go
    into the planner's prompt. In local mode whoever can write the file is trusted.
    """
    last_question = None
    for index, comment in enumerate(issue.comments):
        if is_question_comment(comment.body) and layer_comment_adw_id(comment.body) == adw_id:
            last_question = index
    if last_question is None:
        return []
    answers = human_comments(issue.comments[last_question + 1 :])
    if issue.source == "github":
        answers = [c for c in answers if c.association in TRUSTED_ASSOCIATIONS]
    return answers


def closing_line(issue: Issue | None) -> str:
    """The line that links a pull request to its issue ("Closes #12" closes it on merge)."""
    if issue is None:
        return ""
    if issue.source == "github" and issue.number is not None:
        return f"Closes #{issue.number}"
    if issue.source == "local":
        return f"Closes the local issue `{issue.ref}`"
    return ""


def pick_labels(raw: object) -> tuple[str, ...]:
    """Label names from a front matter value: a list, or one comma separated string."""
    if isinstance(raw, str):
        items: Sequence[object] = raw.split(",")
    elif isinstance(raw, list):
        items = raw
    else:
        return ()
    names = (strip_control(str(item)).strip() for item in items if item is not None)
    return tuple(name for name in names if name)


def issue_source(
    project: ProjectSettings | None = None, *, source: str | None = None
) -> IssueSource:
    """The configured source (``issues.source``), or the one named by ``source`` (a run resumed
    with the source it was started with, whatever the config says now)."""
    settings_project = project or current_project()
    values = settings("issues", settings_project)
    chosen = source or values["source"]
    if chosen == "local":
        from .adw_local_issues import LocalIssueSource

        return LocalIssueSource(settings_project.root, values["local_dir"])
    if chosen == "github":
        from .adw_github import GitHubSource

        return GitHubSource(settings_project.root)
    raise IssueError(f"unknown issues.source {chosen!r}: use github or local")
