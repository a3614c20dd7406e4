"""What a verified GitHub delivery asks the layer to do: enqueue a run, re-queue one, or nothing.

Only called after the signature, the size and the replay guard accepted the delivery
(adw_webhook.py). Payload shapes: GitHub's `issues`, `issue_comment` and `ping` events
(docs.github.com/webhooks/webhook-events-and-payloads); fields are read defensively, since a
signed payload is still data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .adw_database import OrchestratorDB
from .adw_db_ops_prune_runs import DELIVERY_MIN_DAYS
from .adw_issues import is_layer_comment
from .adw_triggers import (
    TRUSTED_ASSOCIATIONS,
    active_run,
    enqueue_issue,
    parse_command,
    requeue_paused,
    valid_workflow,
)

ISSUE_ACTIONS = frozenset({"opened", "labeled", "reopened"})


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EventContext:
    db: OrchestratorDB
    label: str
    workflow: str
    adws_dir: Path | None
    delivery: str


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def ignored(reason: str) -> Reply:
    return Reply(202, {"ignored": reason})


def content_key(event: str, payload: dict[str, Any]) -> str | None:
    """A replay key made of signed fields: X-GitHub-Delivery is a header the signature does not
    cover, so a captured body re-sent under a fresh delivery id is caught by what it says (the
    comment's id; the issue, action, label, sender and update time of an issues event: the
    time has whole seconds, so two people's labels within one second stay two events)."""
    action = _text(payload.get("action"))
    issue = _mapping(payload.get("issue"))
    if event == "issue_comment":
        comment_id = _mapping(payload.get("comment")).get("id")
        return f"signed:issue_comment:{action}:{comment_id}" if comment_id else None
    if event == "issues" and issue.get("id") is not None:
        label = _text(_mapping(payload.get("label")).get("name"))
        stamp = _text(issue.get("updated_at"))
        sender = _mapping(payload.get("sender")).get("id")
        return f"signed:issues:{issue.get('id')}:{action}:{label}:{sender}:{stamp}"[:256]
    return None


# The signed time of each event the receiver acts on: what it last changed.
SIGNED_TIMES = {"issue_comment": ("comment", "updated_at"), "issues": ("issue", "updated_at")}


def stale_problem(
    event: str, payload: dict[str, Any], now: datetime | None = None
) -> tuple[int, str] | None:
    """(status, why) for an event signed longer ago than deliveries are remembered: the replay
    guard forgets a delivery after DELIVERY_MIN_DAYS (db prune), and the signature has no
    time of its own, so an older captured body is refused by the time it carries."""
    where = SIGNED_TIMES.get(event)
    if where is None:
        return None
    name = ".".join(where)
    stamp = _text(_mapping(payload.get(where[0])).get(where[1]))
    try:
        signed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return 400, f"{name} is missing or not a time ({stamp[:40]!r})"
    if signed.tzinfo is None:
        signed = signed.replace(tzinfo=timezone.utc)
    age = (now or datetime.now(timezone.utc)) - signed
    if age > timedelta(days=DELIVERY_MIN_DAYS):
        return 409, (
            f"the event was last changed {age.days} days ago ({name} {stamp}), longer ago than "
            f"deliveries are remembered ({DELIVERY_MIN_DAYS:g} days): refused as a replay"
        )
    return None


def handle_event(ctx: EventContext, event: str, payload: dict[str, Any]) -> Reply:
    """The reply to a verified delivery of `event`."""
    if event == "ping":
        return Reply(200, {"pong": _text(payload.get("zen")) or "ok"})
    if event == "issues":
        return _issues(ctx, payload)
    if event == "issue_comment":
        return _issue_comment(ctx, payload)
    return ignored(f"event {event!r} is not handled (only issues, issue_comment, ping)")


def _issue_of(payload: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    issue = _mapping(payload.get("issue"))
    number = issue.get("number")
    valid = isinstance(number, int) and not isinstance(number, bool) and number > 0
    return issue, number if valid else None


def _labels(issue: dict[str, Any]) -> set[str]:
    labels = issue.get("labels")
    names = (_text(_mapping(label).get("name")) for label in labels or [])
    return set(names) if isinstance(labels, list) else set()


def _issues(ctx: EventContext, payload: dict[str, Any]) -> Reply:
    action = _text(payload.get("action"))
    issue, number = _issue_of(payload)
    if action not in ISSUE_ACTIONS:
        return ignored(f"issues action {action!r} starts no run")
    if number is None:
        return Reply(400, {"error": "issues payload without an issue number"})
    if _text(issue.get("state")) != "open":
        return ignored(f"issue #{number} is not open")
    trusted_author = _text(issue.get("author_association")) in TRUSTED_ASSOCIATIONS
    if action == "labeled":
        if _text(_mapping(payload.get("label")).get("name")) != ctx.label:
            return ignored(f"the label added is not {ctx.label!r}")
        # Adding a label needs triage access, so a labeler is trusted, except the author of
        # the issue: an issue template applies its labels for anyone, as the author.
        sender = _text(_mapping(payload.get("sender")).get("login"))
        author = _text(_mapping(issue.get("user")).get("login"))
        if sender == author and not trusted_author:
            return ignored("the label came with the issue of an author without write access")
    else:
        if ctx.label not in _labels(issue):
            return ignored(f"issue #{number} is not labeled {ctx.label!r}")
        if not trusted_author:
            return ignored("the issue's author has no write access to the repository")
    return _enqueue(ctx, issue, number, ctx.workflow, f"issues.{action}", payload)


def _issue_comment(ctx: EventContext, payload: dict[str, Any]) -> Reply:
    action = _text(payload.get("action"))
    issue, number = _issue_of(payload)
    comment = _mapping(payload.get("comment"))
    body = _text(comment.get("body"))
    if action != "created":
        return ignored(f"issue_comment action {action!r} starts no run")
    # The loop guard first: the layer's own comments and bots' never start anything.
    if is_layer_comment(body):
        return ignored("a comment of the layer itself (loop guard)")
    senders = (_mapping(payload.get("sender")), _mapping(comment.get("user")))
    if any(_text(who.get("type")) == "Bot" for who in senders):
        return ignored("a comment by a bot")
    if number is None:
        return Reply(400, {"error": "issue_comment payload without an issue number"})
    if "pull_request" in issue:
        return ignored("a comment on a pull request, not on an issue")
    if _text(comment.get("author_association")) not in TRUSTED_ASSOCIATIONS:
        return ignored("the commenter has no write access to the repository")
    paused = active_run(ctx.db, "github", str(number))
    if paused is not None and paused.status == "paused":
        reason = {"delivery": ctx.delivery, "comment_id": comment.get("id")}
        if requeue_paused(ctx.db, paused.adw_id, reason):
            return Reply(202, {"requeued": paused.adw_id, "issue": number})
    requested = parse_command(body)
    if requested is None:
        return ignored("not an adw command (`adw` or `/adw <workflow>`)")
    workflow = requested or ctx.workflow
    if not valid_workflow(workflow, ctx.adws_dir):
        return ignored(f"unknown workflow {workflow!r}")
    return _enqueue(ctx, issue, number, workflow, "issue_comment.created", payload)


def _enqueue(
    ctx: EventContext,
    issue: dict[str, Any],
    number: int,
    workflow: str,
    trigger: str,
    payload: dict[str, Any],
) -> Reply:
    sender = _text(_mapping(payload.get("sender")).get("login"))
    details = {
        "trigger": "webhook",
        "event": trigger,
        "delivery": ctx.delivery,
        "sender": sender,
        "issue_url": _text(issue.get("html_url")),
        "repository": _text(_mapping(payload.get("repository")).get("full_name")),
    }
    result = enqueue_issue(
        ctx.db,
        source="github",
        ref=str(number),
        title=_text(issue.get("title")),
        workflow=workflow,
        details=details,
    )
    if not result.created:
        return Reply(200, {"already running": result.adw_id, "issue": number})
    return Reply(202, {"queued": result.adw_id, "issue": number, "workflow": workflow})
