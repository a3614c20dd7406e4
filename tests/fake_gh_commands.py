"""The stand-in gh's subcommands over its state: what each prints, and how each refuses."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

try:  # imported as tests.fake_gh_commands
    from . import fake_gh_state as store
    from .fake_gh_flags import (
        BLOCKED_REASONS,
        EXIT_AUTH,
        IMMEDIATELY_MERGEABLE,
        MAX_BODY,
        Exit,
        Parsed,
        flag_error,
        json_fields,
    )
except ImportError:  # run as a script: its own directory is on sys.path
    import fake_gh_state as store  # type: ignore[import-not-found,no-redef]
    from fake_gh_flags import (  # type: ignore[import-not-found,no-redef]
        BLOCKED_REASONS,
        EXIT_AUTH,
        IMMEDIATELY_MERGEABLE,
        MAX_BODY,
        Exit,
        Parsed,
        flag_error,
        json_fields,
    )


def check_auth(state: dict[str, Any]) -> None:
    """gh's root PersistentPreRunE: no credentials (and no GH_TOKEN) → authHelp(), exit 4."""
    if state.get("logged_in", True) or os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN"):
        return
    if os.environ.get("GITHUB_ACTIONS") == "true":
        help_text = (
            "gh: To use GitHub CLI in a GitHub Actions workflow, set the GH_TOKEN environment "
            "variable. Example:\n  env:\n    GH_TOKEN: ${{ github.token }}\n"
        )
    elif os.environ.get("CI"):
        help_text = "gh: To use GitHub CLI in automation, set the GH_TOKEN environment variable.\n"
    else:
        help_text = (
            "To get started with GitHub CLI, please run:  gh auth login\n"
            "Alternatively, populate the GH_TOKEN environment variable with a GitHub API "
            "authentication token.\n"
        )
    raise Exit(EXIT_AUTH, help_text)


def check_repo(state: dict[str, Any], parsed: Parsed) -> None:
    repo = parsed.get("repo") or os.environ.get("GH_REPO")
    if not repo:
        return
    parts = repo.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise Exit(1, f'expected the "[HOST/]OWNER/REPO" format, got "{repo}"\n')
    if "/".join(parts[-2:]) != state["repo"]:
        raise Exit(
            1,
            "GraphQL: Could not resolve to a Repository with the name "
            f"'{'/'.join(parts[-2:])}'. (repository)\n",
        )


def selector_number(selector: str, state: dict[str, Any], kind: str) -> int:
    """A number, "#N" or a URL of this repository (…/issues/N or …/pull/N)."""
    text = selector.strip()
    if text.startswith(("https://", "http://")):
        tail = text.split("://", 1)[1].split("/")
        if len(tail) >= 5 and tail[3] in ("issues", "pull") and tail[4].split("#")[0].isdigit():
            if "/".join(tail[1:3]) != state["repo"]:
                raise Exit(
                    1,
                    "GraphQL: Could not resolve to a Repository with the name "
                    f"'{'/'.join(tail[1:3])}'. (repository)\n",
                )
            return int(tail[4].split("#")[0])
        raise Exit(1, f'invalid {kind} format: "{selector}"\n')
    if text.lstrip("#").isdigit():
        return int(text.lstrip("#"))
    if kind == "pull request":
        pull = next((p for p in state["pulls"] if p["headRefName"] == text), None)
        if pull is None:
            raise Exit(1, f'no pull requests found for branch "{text}"\n')
        return int(pull["number"])
    raise Exit(1, f'invalid {kind} format: "{selector}"\n')


def find_issue(state: dict[str, Any], number: int) -> tuple[dict[str, Any], bool]:
    for issue in state["issues"]:
        if issue["number"] == number:
            return issue, False
    for pull in state["pulls"]:
        if pull["number"] == number:
            return pull, True
    raise Exit(
        1,
        f"GraphQL: Could not resolve to an issue or pull request with the number of {number}. "
        "(repository.issue)\n",
    )


def find_pull(state: dict[str, Any], number: int) -> dict[str, Any]:
    for pull in state["pulls"]:
        if pull["number"] == number:
            found: dict[str, Any] = pull
            return found
    raise Exit(
        1,
        f"GraphQL: Could not resolve to a PullRequest with the number of {number}. "
        "(repository.pullRequest)\n",
    )


def web_url(state: dict[str, Any], kind: str, number: int) -> str:
    return f"https://{state.get('host', 'github.com')}/{state['repo']}/{kind}/{number}"


def exactly_one_arg(parsed: Parsed) -> str:
    if len(parsed.args) != 1:
        raise Exit(1, f"accepts 1 arg(s), received {len(parsed.args)}\n")
    return parsed.args[0]


def issue_view(state: dict[str, Any], parsed: Parsed) -> str:
    number = selector_number(exactly_one_arg(parsed), state, "issue")
    fields = json_fields("issue view", parsed)
    if not fields:
        raise Exit(1, "fake gh: issue view without --json is not modelled\n")
    issue, is_pr = find_issue(state, number)
    return store.go_json(exported(state, issue, fields, is_pr)) + "\n"


def issue_list(state: dict[str, Any], parsed: Parsed) -> str:
    fields = json_fields("issue list", parsed)
    wanted_state = parsed.get("state", "open")
    if wanted_state not in ("open", "closed", "all"):
        raise flag_error(
            "issue list",
            f'invalid argument "{wanted_state}" for "-s, --state" flag: valid values are '
            f"{{open|closed|all}}",
        )
    limit = parsed.get("limit", 30)
    if limit < 1:
        raise Exit(1, f"invalid limit: {limit}\n")
    if not fields or any(
        parsed.get(name) for name in ("app", "assignee", "author", "mention", "milestone", "search")
    ):
        raise Exit(
            1, "fake gh: this issue list is not modelled (needs --json, no search filters)\n"
        )
    labels = {label.lower() for label in parsed.get("label", [])}
    rows = []
    for issue in sorted(
        state["issues"], key=lambda i: (i.get("createdAt", ""), i["number"]), reverse=True
    ):
        open_now = issue.get("state", "OPEN") == "OPEN"
        if (wanted_state == "open" and not open_now) or (wanted_state == "closed" and open_now):
            continue
        if not labels <= {name.lower() for name in issue.get("labels", [])}:
            continue
        rows.append(exported(state, issue, fields, False))
    return store.go_json(rows[:limit]) + "\n"


def exported(
    state: dict[str, Any], item: dict[str, Any], fields: list[str], is_pr: bool
) -> dict[str, Any]:
    try:
        return store.export(state, item, fields, is_pr)
    except KeyError as missing:
        raise Exit(1, f"fake gh: JSON field {missing} is not modelled\n") from None


def read_body(parsed: Parsed, inputs: dict[str, str]) -> str | None:
    """--body, or --body-file (a path, or "-" for standard input) like cmdutil.ReadFile;
    what was read is kept for the call log."""
    if parsed.get("body-file") is None:
        given: str | None = parsed.get("body")
        return given
    name = str(parsed.get("body-file"))
    try:
        if name == "-":
            inputs["stdin"] = sys.stdin.read()
            inputs["body"] = inputs["stdin"]
        else:
            with open(name, encoding="utf-8") as handle:
                inputs["body"] = handle.read()
    except FileNotFoundError:
        raise Exit(1, f"open {name}: no such file or directory\n") from None
    return inputs["body"]


def issue_comment(state: dict[str, Any], parsed: Parsed, inputs: dict[str, str]) -> str:
    number = selector_number(exactly_one_arg(parsed), state, "issue")
    given = [
        name
        for name in ("body", "body-file", "editor", "web")
        if parsed.get(name) not in (None, False)
    ]
    if len(given) > 1:
        raise flag_error(
            "issue comment", "specify only one of `--body`, `--body-file`, `--editor`, or `--web`"
        )
    if not given:
        raise flag_error("issue comment", "flags required when not running interactively")
    if given[0] in ("editor", "web") or parsed.get("edit-last") or parsed.get("delete-last"):
        raise Exit(
            1, "fake gh: issue comment --editor/--web/--edit-last/--delete-last are not modelled\n"
        )
    body = read_body(parsed, inputs) or ""
    item, is_pr = find_issue(state, number)
    if not body.strip():
        raise Exit(1, "GraphQL: Body cannot be blank (addComment)\n")
    if len(body) > MAX_BODY:
        raise Exit(
            1, f"GraphQL: Body is too long (maximum is {MAX_BODY} characters) (addComment)\n"
        )
    database_id = state["next_comment_id"]
    state["next_comment_id"] += 1
    kind = "pull" if is_pr else "issues"
    url = f"{web_url(state, kind, number)}#issuecomment-{database_id}"
    item.setdefault("comments", []).append(
        {
            "id": f"IC_kwDOfake{database_id}",
            "author": state.get("viewer", store.DEFAULT_VIEWER)["login"],
            "authorAssociation": "OWNER",
            "body": body,
            "createdAt": store.now(state),
            "url": url,
        }
    )
    return url + "\n"


def pr_create(state: dict[str, Any], parsed: Parsed, inputs: dict[str, str]) -> str:
    body = read_body(parsed, inputs)
    title = parsed.get("title")
    if title is None or body is None:
        if not any(parsed.get(name) for name in ("fill", "fill-first", "fill-verbose", "web")):
            raise flag_error(
                "pr create",
                "must provide `--title` and `--body` (or `--fill` or `fill-first` or "
                "`--fillverbose`) when not running interactively",
            )
        raise Exit(1, "fake gh: pr create --fill/--web are not modelled\n")
    head = parsed.get("head")
    if not head:
        raise Exit(1, "fake gh: pr create without --head is not modelled (it would push)\n")
    base = parsed.get("base") or state.get("default_branch", "main")
    for pull in state["pulls"]:
        if pull["headRefName"] == head and pull["baseRefName"] == base and pull["state"] == "OPEN":
            url = web_url(state, "pull", pull["number"])
            raise Exit(
                1,
                f'a pull request for branch "{head}" into branch "{base}" already exists:\n{url}\n',
            )
    check_pushed(state, head, base)
    if title == "":
        raise Exit(1, "pull request title must not be blank\n")
    if len(body) > MAX_BODY:
        raise Exit(
            1,
            f"pull request create failed: GraphQL: Body is too long (maximum is {MAX_BODY} "
            "characters) (createPullRequest)\n",
        )
    number = 1 + max(
        [i["number"] for i in state["issues"]] + [p["number"] for p in state["pulls"]] + [0]
    )
    state["pulls"].append(
        {
            "number": number,
            "title": title,
            "body": body,
            "headRefName": head,
            "baseRefName": base,
            "state": "OPEN",
            "isDraft": bool(parsed.get("draft")),
            "labels": parsed.get("label", []),
            "mergeStateStatus": state.get("merge_state_status", "BLOCKED"),
            "autoMergeRequest": None,
            "createdAt": store.now(state),
            "comments": [],
        }
    )
    return web_url(state, "pull", number) + "\n"


def check_pushed(state: dict[str, Any], head: str, base: str) -> None:
    """With ``remote`` set (a git dir), GitHub's refusals for a head that was never pushed or
    has no commits over the base."""
    remote = state.get("remote")
    if not remote:
        return

    def sha(branch: str) -> str | None:
        done = subprocess.run(
            [
                "git",
                f"--git-dir={remote}",
                "rev-parse",
                "--verify",
                "--quiet",
                f"refs/heads/{branch}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() or None

    head_sha, base_sha = sha(head), sha(base)
    if head_sha is None:
        raise Exit(
            1,
            "pull request create failed: GraphQL: Head sha can't be blank, Base sha can't be "
            f"blank, No commits between {base} and {head}, Head ref must be a branch "
            "(createPullRequest)\n",
        )
    if head_sha == base_sha:
        raise Exit(
            1,
            f"pull request create failed: GraphQL: No commits between {base} and {head} "
            "(createPullRequest)\n",
        )


def pr_merge(state: dict[str, Any], parsed: Parsed) -> str:
    methods = [name for name in ("merge", "rebase", "squash") if parsed.get(name)]
    if len(methods) > 1:
        raise flag_error("pr merge", "only one of --merge, --rebase, or --squash can be enabled")
    if sum(bool(parsed.get(name)) for name in ("auto", "disable-auto", "admin")) > 1:
        raise flag_error("pr merge", "specify only one of `--auto`, `--disable-auto`, or `--admin`")
    if not parsed.args:
        raise Exit(1, "fake gh: pr merge without an argument is not modelled\n")
    pull = find_pull(state, selector_number(exactly_one_arg(parsed), state, "pull request"))
    if pull["state"] == "MERGED":
        raise Exit(0, f"! Pull request #{pull['number']} was already merged\n")
    if parsed.get("disable-auto"):
        pull["autoMergeRequest"] = None
        return ""
    if not methods:
        raise flag_error(
            "pr merge", "--merge, --rebase, or --squash required when not running interactively"
        )
    mergeable_now = pull.get("mergeStateStatus", "BLOCKED") in IMMEDIATELY_MERGEABLE
    if parsed.get("auto") and not mergeable_now:
        if not state.get("auto_merge_allowed", True):
            raise Exit(
                1,
                "GraphQL: Auto merge is not allowed for this repository "
                "(enablePullRequestAutoMerge)\n",
            )
        pull["autoMergeRequest"] = {
            "mergeMethod": methods[0].upper(),
            "enabledAt": store.now(state),
        }
        return ""
    if not mergeable_now and not parsed.get("admin"):
        reason = BLOCKED_REASONS.get(
            pull.get("mergeStateStatus", "BLOCKED"), "the merge is blocked"
        )
        raise Exit(
            1,
            f"X Pull request #{pull['number']} is not mergeable: {reason}.\n"
            "To have the pull request merged after all the requirements have been met, add "
            "the `--auto` flag.\n"
            "To use administrator privileges to immediately merge the pull request, add the "
            "`--admin` flag.\n",
        )
    pull.update(state="MERGED", mergedAt=store.now(state), mergedWith=methods[0].upper())
    return ""


def pr_view(state: dict[str, Any], parsed: Parsed) -> str:
    if not parsed.args:
        raise Exit(1, "fake gh: pr view without an argument is not modelled\n")
    fields = json_fields("pr view", parsed)
    if not fields:
        raise Exit(1, "fake gh: pr view without --json is not modelled\n")
    pull = find_pull(state, selector_number(exactly_one_arg(parsed), state, "pull request"))
    return store.go_json(exported(state, pull, fields, True)) + "\n"


def auth_status(state: dict[str, Any]) -> str:
    if not state.get("logged_in", True):
        raise Exit(1, "You are not logged into any GitHub hosts. To log in, run: gh auth login\n")
    login = state.get("viewer", store.DEFAULT_VIEWER)["login"]
    return (
        f"github.com\n  ✓ Logged in to github.com account {login} (keyring)\n  - Active account: "
        "true\n"
    )
