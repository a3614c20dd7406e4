"""The stand-in gh's state (issues, comments, pull requests) and its JSON as gh 2.x prints it.

State lives in the JSON file ``FAKE_GH_STATE`` names, locked while a call reads and writes it,
so concurrent runs see one GitHub. Every call is appended to ``FAKE_GH_LOG`` (default: the
state file + ``.log``), one JSON line each. ``FakeGitHub`` is the test side: it writes the
state, puts a ``gh`` on a bin dir, and reads back what was called.

Output shapes follow gh's Go code (cited in adws/README.md, "GitHub: what gh prints"): the
``--json`` exporter prints one compact line with the top-level keys sorted (gh builds a map),
nested objects in their Go struct order, HTML characters unescaped, U+2028/U+2029 escaped.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FAKE_GH = Path(__file__).with_name("fake_gh.py")
DEFAULT_VIEWER = {"login": "octocat", "id": "MDQ6VXNlcjU4MzIzMQ==", "name": "The Octocat"}


def go_json(value: Any) -> str:
    """``value`` as Go's encoding/json writes it with SetEscapeHTML(false)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def now(state: dict[str, Any]) -> str:
    fixed = state.get("now")
    if fixed:
        return str(fixed)
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def state_path() -> Path:
    configured = os.environ.get("FAKE_GH_STATE")
    if not configured:
        sys.stderr.write("fake gh: FAKE_GH_STATE is not set\n")
        raise SystemExit(1)
    return Path(configured)


@contextlib.contextmanager
def locked_state() -> Iterator[dict[str, Any]]:
    """The state, exclusively; written back when the block ends without an exception."""
    path = state_path()
    with open(f"{path}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(path.read_text(encoding="utf-8"))
        yield state
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state, indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)


def append_log(entry: dict[str, Any]) -> None:
    path = os.environ.get("FAKE_GH_LOG") or f"{state_path()}.log"
    with open(path, "a", encoding="utf-8") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.write(json.dumps(entry, ensure_ascii=False) + "\n")


# gh's objects -------------------------------------------------------------------------------
def author_json(author: dict[str, Any]) -> dict[str, Any]:
    """api.Author.MarshalJSON: a map (so sorted keys); a bot has no id and an "app/" login."""
    if author.get("bot"):
        return {"is_bot": True, "login": "app/" + str(author["login"])}
    return {
        "id": author.get("id", ""),
        "is_bot": False,
        "login": author["login"],
        "name": author.get("name", ""),
    }


def label_json(state: dict[str, Any], name: str) -> dict[str, Any]:
    """api.IssueLabel: id, name, description, color."""
    known = state.get("labels", {}).get(name, {})
    return {
        "id": known.get("id", f"LA_kwDOfake{abs(hash(name)) % 10**8:08d}"),
        "name": name,
        "description": known.get("description", ""),
        "color": known.get("color", "ededed"),
    }


def comment_json(comment: dict[str, Any], viewer: str) -> dict[str, Any]:
    """api.Comment in struct order; ``url`` is omitempty; empty reactionGroups are dropped."""
    data: dict[str, Any] = {
        "id": comment["id"],
        "author": {"login": comment["author"]},
        "authorAssociation": comment.get("authorAssociation", "NONE"),
        "body": comment["body"],
        "createdAt": comment["createdAt"],
        "includesCreatedEdit": bool(comment.get("includesCreatedEdit", False)),
        "isMinimized": False,
        "minimizedReason": "",
        "reactionGroups": [],
    }
    if comment.get("url"):
        data["url"] = comment["url"]
    data["viewerDidAuthor"] = comment["author"] == viewer
    return data


def auto_merge_json(request: dict[str, Any] | None, state: dict[str, Any]) -> Any:
    """api.AutoMergeRequest, or null when auto-merge is off."""
    if not request:
        return None
    return {
        "authorEmail": None,
        "commitBody": None,
        "commitHeadline": None,
        "mergeMethod": request["mergeMethod"],
        "enabledAt": request["enabledAt"],
        "enabledBy": author_json(state.get("viewer", DEFAULT_VIEWER)),
    }


def field_value(state: dict[str, Any], item: dict[str, Any], field: str, is_pr: bool) -> Any:
    viewer = state.get("viewer", DEFAULT_VIEWER)["login"]
    kind = "pull" if is_pr else "issues"
    simple = {
        "number": item["number"],
        "title": item["title"],
        "body": item.get("body", ""),
        "state": item.get("state", "OPEN"),
        "closed": item.get("state", "OPEN") != "OPEN",
        "closedAt": item.get("closedAt"),
        "createdAt": item.get("createdAt", "2026-01-01T00:00:00Z"),
        "updatedAt": item.get("updatedAt", item.get("createdAt", "2026-01-01T00:00:00Z")),
        "url": f"https://{state.get('host', 'github.com')}/{state['repo']}/{kind}/{item['number']}",
        "id": ("PR_kwDOfake" if is_pr else "I_kwDOfake") + str(item["number"]),
        "author": author_json(item.get("author", state.get("viewer", DEFAULT_VIEWER))),
        "labels": [label_json(state, name) for name in item.get("labels", [])],
        "comments": [comment_json(c, viewer) for c in item.get("comments", [])],
        "assignees": [],
        "milestone": None,
        "reactionGroups": [],
        "isPinned": False,
        "stateReason": item.get("stateReason", ""),
    }
    if is_pr:
        simple.update(
            {
                "headRefName": item["headRefName"],
                "baseRefName": item["baseRefName"],
                "isDraft": bool(item.get("isDraft", False)),
                "mergeStateStatus": item.get("mergeStateStatus", "BLOCKED"),
                "mergedAt": item.get("mergedAt"),
                "autoMergeRequest": auto_merge_json(item.get("autoMergeRequest"), state),
            }
        )
    if field not in simple:
        raise KeyError(field)
    return simple[field]


def export(
    state: dict[str, Any], item: dict[str, Any], fields: list[str], is_pr: bool
) -> dict[str, Any]:
    """The ExportData map: gh marshals a Go map, so the keys come out sorted."""
    return {field: field_value(state, item, field, is_pr) for field in sorted(set(fields))}


# the test side ------------------------------------------------------------------------------
class FakeGitHub:
    """A GitHub for one test: state file, log, and a bin dir whose ``gh`` is the stand-in."""

    def __init__(self, directory: Path, repo: str = "acme/widgets") -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.state_file = self.directory / "gh-state.json"
        self.log_file = self.directory / "gh-calls.log"
        self.bin = self.directory / "bin"
        self.bin.mkdir(exist_ok=True)
        self.gh = self.bin / "gh"
        self.gh.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_GH}" "$@"\n')
        self.gh.chmod(0o755)
        self.write(
            {
                "repo": repo,
                "host": "github.com",
                "default_branch": "main",
                "logged_in": True,
                "viewer": dict(DEFAULT_VIEWER),
                "labels": {},
                "issues": [],
                "pulls": [],
                "next_comment_id": 4_000_000_001,
                "auto_merge_allowed": True,
            }
        )

    def env(self, **extra: str) -> dict[str, str]:
        """Variables that point gh (on PATH and GH_PATH) at this stand-in."""
        return {
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "GH_PATH": str(self.gh),
            "FAKE_GH_STATE": str(self.state_file),
            "FAKE_GH_LOG": str(self.log_file),
            **extra,
        }

    def read(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(self.state_file.read_text(encoding="utf-8"))
        return state

    def write(self, state: dict[str, Any]) -> None:
        self.state_file.write_text(json.dumps(state, indent=1, ensure_ascii=False), "utf-8")

    def update(self, **values: Any) -> None:
        self.write({**self.read(), **values})

    def add_issue(self, number: int, title: str, body: str = "", **extra: Any) -> dict[str, Any]:
        issue = {"number": number, "title": title, "body": body, "state": "OPEN", "labels": []}
        issue.update({"createdAt": f"2026-11-{min(number, 28):02d}T09:00:00Z", "comments": []})
        issue.update(extra)
        state = self.read()
        state["issues"].append(issue)
        self.write(state)
        return issue

    def add_comment(
        self, number: int, author: str, body: str, created_at: str, association: str = "MEMBER"
    ) -> None:
        state = self.read()
        issue = next(i for i in state["issues"] if i["number"] == number)
        database_id = state["next_comment_id"]
        state["next_comment_id"] += 1
        url = f"https://github.com/{state['repo']}/issues/{number}#issuecomment-{database_id}"
        issue["comments"].append(
            {
                "id": f"IC_kwDOfake{database_id}",
                "author": author,
                "authorAssociation": association,
                "body": body,
                "createdAt": created_at,
                "url": url,
            }
        )
        self.write(state)

    def calls(self) -> list[dict[str, Any]]:
        if not self.log_file.exists():
            return []
        return [json.loads(line) for line in self.log_file.read_text("utf-8").splitlines()]

    def argvs(self) -> list[list[str]]:
        return [call["argv"] for call in self.calls()]
