"""The stand-in gh's command line: gh's flags (fixtures/gh/flags.txt), parsed the way gh's
pflag parses them, refused with gh's words, and the usage text gh prints after a flag error."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def unknown_command(group: str, name: str) -> Exit:
    """nestedSuggestFunc: the unknown name, then the group's usage."""
    names = "".join(f"  {sub}\n" for sub in SUBCOMMANDS[group])
    return Exit(
        1,
        f'unknown command "{name}" for "gh {group}"\n\nUsage:  gh {group} <command> [flags]\n\n'
        f"Available commands:\n{names}",
    )
