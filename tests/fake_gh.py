#!/usr/bin/env python3
"""A stand-in for the GitHub CLI (gh 2.x) for tests: same arguments, same output, same errors.

Modelled: ``issue view``, ``issue list``, ``issue comment``, ``pr create``, ``pr merge``,
``pr view`` (with ``--json``), ``auth status``, ``--version``. Flags are parsed the way gh's
pflag parses them, and what gh refuses is refused with gh's words and exit code (unknown flag:
the error, a blank line and the command's usage, exit 1; no credentials: exit 4). Anything gh
has but this stand-in does not model fails loudly ("fake gh: ... not modelled", exit 1) rather
than pretending. State and the call log: see fake_gh_state.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:  # imported as tests.fake_gh
    from . import fake_gh_state as store
except ImportError:  # run as a script: its own directory is on sys.path
    import fake_gh_state as store  # type: ignore[import-not-found,no-redef]

VERSION = "gh version 2.63.2 (2024-12-05)\nhttps://github.com/cli/cli/releases/tag/v2.63.2\n"
MAX_BODY = 65_536
EXIT_AUTH = 4  # cmd/gh: exitAuth
ISSUE_FIELDS = [
    "assignees",
    "author",
    "body",
    "closed",
    "closedAt",
    "closedByPullRequestsReferences",
    "comments",
    "createdAt",
    "id",
    "isPinned",
    "labels",
    "milestone",
    "number",
    "projectCards",
    "projectItems",
    "reactionGroups",
    "state",
    "stateReason",
    "title",
    "updatedAt",
    "url",
]
PR_FIELDS = sorted(
    set(ISSUE_FIELDS) - {"closedByPullRequestsReferences", "isPinned", "stateReason"}
    | set(
        [
            "additions",
            "autoMergeRequest",
            "baseRefName",
            "baseRefOid",
            "changedFiles",
            "closingIssuesReferences",
            "commits",
            "deletions",
            "files",
            "fullDatabaseId",
            "headRefName",
            "headRefOid",
            "headRepository",
            "headRepositoryOwner",
            "isCrossRepository",
            "isDraft",
            "latestReviews",
            "maintainerCanModify",
            "mergeCommit",
            "mergeStateStatus",
            "mergeable",
            "mergedAt",
            "mergedBy",
            "potentialMergeCommit",
            "reviewDecision",
            "reviewRequests",
            "reviews",
            "statusCheckRollup",
        ]
    )
)
SUBCOMMANDS = {
    "issue": [
        "close",
        "comment",
        "create",
        "delete",
        "develop",
        "edit",
        "list",
        "lock",
        "pin",
        "reopen",
        "status",
        "transfer",
        "unlock",
        "unpin",
        "view",
    ],
    "pr": [
        "checkout",
        "checks",
        "close",
        "comment",
        "create",
        "diff",
        "edit",
        "list",
        "lock",
        "merge",
        "ready",
        "reopen",
        "revert",
        "review",
        "status",
        "unlock",
        "update-branch",
        "view",
    ],
}
IMMEDIATELY_MERGEABLE = {"CLEAN", "HAS_HOOKS", "UNSTABLE"}
BLOCKED_REASONS = {
    "BLOCKED": "the base branch policy prohibits the merge",
    "BEHIND": "the head branch is not up to date with the base branch",
    "DIRTY": "the merge commit cannot be cleanly created",
}


class Exit(Exception):
    def __init__(self, code: int, stderr: str = "") -> None:
        super().__init__(stderr)
        self.code = code
        self.stderr = stderr


@dataclass(frozen=True)
class Flag:
    name: str
    short: str
    kind: str  # bool | string | slice | int
    usage: str
    default: str = ""

    def varname_and_usage(self) -> tuple[str, str]:
        """pflag.UnquoteUsage: a `word` in the usage names the value, else the type does."""
        if "`" in self.usage:
            before, word, after = self.usage.split("`", 2)
            return word, before + word + after
        names = {"bool": "", "string": "string", "slice": "strings", "int": "int"}
        return names[self.kind], self.usage


FLAGS_FILE = Path(__file__).with_name("fixtures") / "gh" / "flags.txt"


def load_flags() -> tuple[dict[str, tuple[str, list[Flag]]], list[Flag]]:
    """fixtures/gh/flags.txt: a ``[group sub] use`` line, then one flag a line."""
    commands: dict[str, tuple[str, list[Flag]]] = {}
    current: list[Flag] = []
    for line in FLAGS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            name, _, use = line[1:].partition("]")
            current = []
            commands[name] = (use.strip(), current)
            continue
        name, short, kind, usage, *default = (part.strip() for part in line.split(" | "))
        current.append(Flag(name, short, kind, usage, default[0] if default else ""))
    inherited = commands.pop("inherited")[1]
    return commands, inherited


COMMANDS, INHERITED = load_flags()


def flag_usages(flags: list[Flag]) -> str:
    """pflag's FlagUsages: "  -s, --name type", padded to one column, then the usage."""
    rows = []
    for flag in sorted(flags, key=lambda f: f.name):
        head = f"  -{flag.short}, --{flag.name}" if flag.short else f"      --{flag.name}"
        varname, usage = flag.varname_and_usage()
        head += f" {varname}" if varname else ""
        if flag.default:
            usage += (
                f' (default "{flag.default}")'
                if flag.kind == "string"
                else f" (default {flag.default})"
            )
        rows.append((head, usage))
    width = max(len(head) for head, _ in rows) + 1
    return "".join(f"{head} {' ' * (width - len(head))} {usage}\n" for head, usage in rows)


def usage_text(command: str) -> str:
    """gh's rootUsageFunc for a leaf command (dedent and re-indent by two cancel out)."""
    use, flags = COMMANDS[command]
    line = f"gh {command.split()[0]} {use}" + ("" if "[flags]" in use else " [flags]")
    return f"Usage:  {line}\n\nFlags:\n{flag_usages(flags)}"


def flag_error(command: str, message: str) -> Exit:
    """printError for a FlagError: the message, a blank line, the usage, a blank line."""
    return Exit(1, f"{message}\n\n{usage_text(command)}\n")


@dataclass
class Parsed:
    values: dict[str, Any] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


def parse_flags(command: str, argv: list[str]) -> Parsed:
    """pflag, interspersed: --name=v, --name v, -s v, -sv, bundled bools, "--" ends flags."""
    flags = COMMANDS[command][1] + INHERITED
    by_name = {f.name: f for f in flags}
    by_short = {f.short: f for f in flags if f.short}
    parsed = Parsed()
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            parsed.args += argv[index + 1 :]
            break
        if arg.startswith("--") and len(arg) > 2:
            name, has_value, value = arg[2:].partition("=")
            flag = by_name.get(name)
            if flag is None:
                raise flag_error(command, f"unknown flag: --{name}")
            if flag.kind != "bool" and not has_value:
                if index + 1 >= len(argv):
                    if name == "json":
                        raise Exit(1, json_fields_listing(command))
                    raise flag_error(command, f"flag needs an argument: --{name}")
                index += 1
                value = argv[index]
            set_flag(command, parsed, flag, value if has_value or flag.kind != "bool" else "true")
        elif arg.startswith("-") and len(arg) > 1:
            letters = arg[1:]
            position = 0
            while position < len(letters):
                letter = letters[position]
                flag = by_short.get(letter)
                if flag is None:
                    raise flag_error(command, f"unknown shorthand flag: '{letter}' in -{letters}")
                if flag.kind == "bool":
                    set_flag(command, parsed, flag, "true")
                    position += 1
                    continue
                rest = letters[position + 1 :].removeprefix("=")
                if not rest:
                    if index + 1 >= len(argv):
                        raise flag_error(
                            command, f"flag needs an argument: '{letter}' in -{letter}"
                        )
                    index += 1
                    rest = argv[index]
                set_flag(command, parsed, flag, rest)
                break
        else:
            parsed.args.append(arg)
        index += 1
    return parsed


def set_flag(command: str, parsed: Parsed, flag: Flag, value: str) -> None:
    label = f"-{flag.short}, --{flag.name}" if flag.short else f"--{flag.name}"
    if flag.kind == "bool":
        lowered = value.lower()
        if lowered not in {"1", "0", "t", "f", "true", "false"}:
            raise flag_error(
                command,
                f'invalid argument "{value}" for "{label}" flag: strconv.ParseBool: parsing '
                f'"{value}": invalid syntax',
            )
        parsed.values[flag.name] = lowered in {"1", "t", "true"}
    elif flag.kind == "int":
        try:
            parsed.values[flag.name] = int(value)
        except ValueError:
            raise flag_error(
                command,
                f'invalid argument "{value}" for "{label}" flag: strconv.ParseInt: parsing '
                f'"{value}": invalid syntax',
            ) from None
    elif flag.kind == "slice":
        parsed.values.setdefault(flag.name, []).extend(
            v.strip() for v in value.split(",") if v.strip()
        )
    else:
        parsed.values[flag.name] = value


def json_fields_listing(command: str) -> str:
    fields = PR_FIELDS if command.startswith("pr") else ISSUE_FIELDS
    return (
        "Specify one or more comma-separated fields for `--json`:\n  "
        + "\n  ".join(sorted(fields))
        + "\n"
    )


def json_fields(command: str, parsed: Parsed) -> list[str]:
    """The requested fields, refused like gh's JSONFlagError; unmodelled ones fail loudly."""
    fields = PR_FIELDS if command.startswith("pr") else ISSUE_FIELDS
    wanted = parsed.get("json") or []
    for name in wanted:
        if name not in fields:
            listing = "\n  ".join(sorted(fields))
            raise Exit(1, f'Unknown JSON field: "{name}"\nAvailable fields:\n  {listing}\n')
    if parsed.get("jq") or parsed.get("template"):
        raise Exit(1, "fake gh: --jq/--template are not modelled\n")
    if parsed.get("web") and wanted:
        raise Exit(1, "cannot use `--web` with `--json`\n")
    return wanted


# commands -----------------------------------------------------------------------------------
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


def unknown_command(group: str, name: str) -> Exit:
    """nestedSuggestFunc: the unknown name, then the group's usage."""
    names = "".join(f"  {sub}\n" for sub in SUBCOMMANDS[group])
    return Exit(
        1,
        f'unknown command "{name}" for "gh {group}"\n\nUsage:  gh {group} <command> '
        f"[flags]\n\nAvailable commands:\n{names}",
    )


def dispatch(argv: list[str], inputs: dict[str, str]) -> str:
    if argv[:1] in (["--version"], ["version"]):
        return VERSION
    if argv[:2] == ["auth", "status"]:
        with store.locked_state() as state:
            return auth_status(state)
    if not argv or argv[0] not in SUBCOMMANDS:
        name = argv[0] if argv else ""
        raise Exit(
            1,
            f'unknown command "{name}" for "gh"\n\nUsage:  gh <command> <subcommand> '
            "[flags]\n\nAvailable commands:\n  issue\n  pr\n",
        )
    if len(argv) < 2 or argv[1] not in SUBCOMMANDS[argv[0]]:
        raise unknown_command(argv[0], argv[1] if len(argv) > 1 else "")
    command = " ".join(argv[:2])
    if command not in COMMANDS:
        raise Exit(1, f"fake gh: gh {command} is not modelled\n")
    parsed = parse_flags(command, argv[2:])
    if parsed.get("help"):
        return usage_text(command)
    with store.locked_state() as state:
        check_auth(state)
        check_repo(state, parsed)
        handlers = {
            "issue view": lambda: issue_view(state, parsed),
            "issue list": lambda: issue_list(state, parsed),
            "issue comment": lambda: issue_comment(state, parsed, inputs),
            "pr create": lambda: pr_create(state, parsed, inputs),
            "pr merge": lambda: pr_merge(state, parsed),
            "pr view": lambda: pr_view(state, parsed),
        }
        return handlers[command]()


def main(argv: list[str]) -> int:
    inputs: dict[str, str] = {}
    code, out, err = 0, "", ""
    try:
        out = dispatch(argv, inputs)
    except Exit as stop:
        code, err = stop.code, stop.stderr
    sys.stdout.write(out)
    sys.stderr.write(err)
    entry: dict[str, Any] = {
        "argv": argv,
        "cwd": os.getcwd(),
        "exit": code,
        "stdout": out,
        "stderr": err,
    }
    entry.update(inputs)
    store.append_log(entry)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
