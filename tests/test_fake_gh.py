"""The stand-in gh prints what gh 2.x prints: its output against the documented fixtures.

tests/fixtures/gh/ holds gh's output for the calls the layer makes, written from gh's source
and real captured output (README.md there and adws/README.md, "GitHub: what gh prints", say
where each shape comes from). Here the stand-in is driven into the same situations and must
print the same bytes on the same stream with the same exit code, so a test passing against
the stand-in means something for real gh.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.fake_gh_state import FakeGitHub, go_json

FIXTURES = Path(__file__).parent / "fixtures" / "gh"
ISSUE_VIEW = ["issue", "view", "12", "--json", "number,title,body,labels,author,comments,url"]
LIST_FIELDS = "number,title,body,labels,author,url"


@pytest.fixture
def github(tmp_path: Path) -> FakeGitHub:
    fake = FakeGitHub(tmp_path / "gh")
    fake.update(
        now="2026-11-30T12:00:00Z",
        labels={
            "adw": {
                "id": "LA_kwDOAbCdE88AAAABc1",
                "description": "Run an AI developer workflow",
                "color": "0e8a16",
            }
        },
        next_comment_id=4_000_000_002,
    )
    fake.add_issue(
        12,
        "Add a login page",
        "As a user I want to log in.\r\n\r\n<details>ok</details>",
        labels=["adw"],
        author={"login": "alice", "id": "MDQ6VXNlcjE=", "name": "Alice"},
        comments=[
            {
                "id": "IC_kwDOAbCdE86Aa1bB",
                "author": "bob",
                "authorAssociation": "MEMBER",
                "body": "Use OAuth, please.",
                "createdAt": "2026-11-12T10:00:00Z",
                "url": "https://github.com/acme/widgets/issues/12#issuecomment-4000000001",
            }
        ],
    )
    fake.add_issue(
        7, "Bump a dependency", labels=["adw"], author={"login": "dependabot", "bot": True}
    )
    return fake


def gh(
    fake: FakeGitHub, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN", "CI")}
    return subprocess.run(
        [str(fake.gh), *args],
        env={**clean, **fake.env(), **env},
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def key_paths(value: Any, path: str = "") -> list[str]:
    """Every key path in document order (lists by their first element): the shape to compare."""
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            out.append(f"{path}.{key}:{type(item).__name__}")
            out += key_paths(item, f"{path}.{key}")
        return out
    if isinstance(value, list) and value:
        return key_paths(value[0], f"{path}[]")
    return []


def test_issue_view_json(github: FakeGitHub) -> None:
    done = gh(github, *ISSUE_VIEW)
    assert (done.returncode, done.stderr) == (0, "")
    assert key_paths(json.loads(done.stdout)) == key_paths(json.loads(fixture("issue_view.json")))
    assert done.stdout == fixture("issue_view.json")


def test_issue_list_json(github: FakeGitHub) -> None:
    done = gh(github, "issue", "list", "--label", "adw", "--state", "open", "--json", LIST_FIELDS)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == fixture("issue_list.json")


def test_issue_comment_prints_the_comment_url(github: FakeGitHub) -> None:
    done = gh(github, "issue", "comment", "12", "--body-file", "-", stdin="Thanks!\n")
    assert (done.returncode, done.stdout, done.stderr) == (0, fixture("issue_comment.stdout"), "")


def test_pr_create_prints_the_url_and_refuses_a_second_one(
    github: FakeGitHub, tmp_path: Path
) -> None:
    body = tmp_path / "body.md"
    body.write_text("Closes #12\n")
    args = ["pr", "create", "--base", "main", "--head", "feature/12-add-a-login-page"]
    args += ["--title", "feat: add a login page", "--body-file", str(body)]
    done = gh(github, *args)
    assert (done.returncode, done.stdout, done.stderr) == (0, fixture("pr_create.stdout"), "")
    again = gh(github, *args)
    assert (again.returncode, again.stdout, again.stderr) == (1, "", fixture("existing_pr.stderr"))


def test_pr_merge_auto_is_silent_and_pr_view_shows_it(github: FakeGitHub, tmp_path: Path) -> None:
    github.update(pulls=[])
    body = tmp_path / "body.md"
    body.write_text("b")
    gh(
        github,
        "pr",
        "create",
        "-B",
        "main",
        "-H",
        "feature/12-add-a-login-page",
        "-t",
        "t",
        "-F",
        str(body),
    )
    url = "https://github.com/acme/widgets/pull/13"
    merged = gh(github, "pr", "merge", "--auto", "--squash", url)
    assert (merged.returncode, merged.stdout, merged.stderr) == (0, "", "")
    view = gh(
        github,
        "pr",
        "view",
        url,
        "--json",
        "number,url,state,headRefName,baseRefName,autoMergeRequest",
    )
    assert (view.returncode, view.stderr) == (0, "")
    assert view.stdout == fixture("pr_view.json")


def test_unknown_issue(github: FakeGitHub) -> None:
    done = gh(github, "issue", "view", "99", "--json", "number")
    assert (done.returncode, done.stdout, done.stderr) == (1, "", fixture("unknown_issue.stderr"))


def test_not_logged_in(github: FakeGitHub) -> None:
    github.update(logged_in=False)
    done = gh(github, *ISSUE_VIEW)
    assert (done.returncode, done.stdout, done.stderr) == (4, "", fixture("not_logged_in.stderr"))
    in_ci = gh(github, *ISSUE_VIEW, CI="1")
    assert in_ci.returncode == 4
    assert (
        in_ci.stderr
        == "gh: To use GitHub CLI in automation, set the GH_TOKEN environment variable.\n"
    )


def test_unknown_flag_prints_the_usage(github: FakeGitHub) -> None:
    done = gh(github, "issue", "view", "12", "--bogus")
    assert (done.returncode, done.stdout, done.stderr) == (1, "", fixture("unknown_flag.stderr"))
    short = gh(github, "issue", "view", "12", "-z")
    assert short.stderr.startswith("unknown shorthand flag: 'z' in -z\n\nUsage:  gh issue view")


def test_flags_are_refused_before_credentials_are_checked(github: FakeGitHub) -> None:
    github.update(logged_in=False)
    done = gh(github, "issue", "view", "12", "--bogus")
    assert done.returncode == 1 and done.stderr.startswith("unknown flag: --bogus")


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        (
            ["issue", "view", "12", "--json"],
            "Specify one or more comma-separated fields for `--json`:",
        ),
        (["issue", "view", "12", "--json", "nope"], 'Unknown JSON field: "nope"'),
        (["issue", "frob"], 'unknown command "frob" for "gh issue"'),
        (["issue", "view"], "accepts 1 arg(s), received 0"),
        (
            ["issue", "list", "--limit", "x", "--json", "number"],
            'invalid argument "x" for "-L, --limit" flag',
        ),
        (["issue", "comment", "12"], "flags required when not running interactively"),
        (["pr", "create", "--head", "x", "--title", "t"], "must provide `--title` and `--body`"),
        (
            ["pr", "merge", "13"],
            "GraphQL: Could not resolve to a PullRequest with the number of 13.",
        ),
        (["issue", "close", "12"], "fake gh: gh issue close is not modelled"),
    ],
)
def test_refusals(github: FakeGitHub, args: list[str], first_line: str) -> None:
    done = gh(github, *args)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines()[0].startswith(first_line)


def test_every_call_is_logged(github: FakeGitHub) -> None:
    gh(github, "issue", "comment", "12", "--body-file", "-", stdin="logged body")
    gh(github, "issue", "view", "99", "--json", "number")
    calls = github.calls()
    assert [c["argv"][:2] for c in calls] == [["issue", "comment"], ["issue", "view"]]
    assert calls[0]["stdin"] == "logged body" and calls[0]["exit"] == 0
    assert calls[1]["exit"] == 1 and "Could not resolve" in calls[1]["stderr"]


def test_concurrent_calls_share_one_state(github: FakeGitHub) -> None:
    env = {**os.environ, **github.env()}
    procs = [
        subprocess.Popen(
            [str(github.gh), "issue", "comment", "12", "--body", f"c{n}"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    urls = [proc.communicate()[0].strip() for proc in procs]
    assert len(set(urls)) == 8
    bodies = sorted(c["body"] for c in github.read()["issues"][0]["comments"][1:])
    assert bodies == sorted(f"c{n}" for n in range(8))


def test_json_is_encoded_like_go() -> None:
    """encoding/json with SetEscapeHTML(false): <, > and & stay, U+2028/U+2029 are escaped,
    control characters use the short escapes where Go has them (Go 1.22+: \\b and \\f too)."""
    text = go_json({"b": "<a href='x'>&</a>\u2028\u2029\n\t\x08\x0c\x01é", "a": [1, None, True]})
    assert text == '{"b":"<a href=\'x\'>&</a>\\u2028\\u2029\\n\\t\\b\\f\\u0001é","a":[1,null,true]}'
