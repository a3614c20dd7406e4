"""settings.json merged as JSON: the issue 13 matrix, formatting kept, errors that say where,
and properties (idempotent; remove gives the user's exact bytes back) over generated files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tac_bootstrap.domain.json_layout import JsonTextError, Number, parse
from tac_bootstrap.domain.settings_merge import (
    OwnedSettings,
    SettingsMergeError,
    is_empty_settings,
    merge_settings,
    owned_in,
    unmerge_settings,
)

from .conftest import REPO_ROOT, examples

# The layer's real output: this repository's own generated settings (render writes it).
OURS = (REPO_ROOT / ".claude" / "settings.json").read_bytes()
OURS_DOC: dict[str, Any] = json.loads(OURS)
OUR_EVENTS = list(OURS_DOC["hooks"])
OUR_COMMANDS = {
    event: [entry["command"] for group in groups for entry in group["hooks"]]
    for event, groups in OURS_DOC["hooks"].items()
}
OUR_RULES: dict[str, list[str]] = {
    kind: OURS_DOC["permissions"][kind] for kind in ("allow", "ask", "deny")
}
HOOK = OUR_COMMANDS["SessionStart"][0]
GUARD = OUR_COMMANDS["PreToolUse"][1]


def dumps(document: object, indent: int | str = 2, eol: str = "\n", final: str = "\n") -> bytes:
    return (json.dumps(document, indent=indent).replace("\n", eol) + final).encode()


def merged(user: object, ours: bytes = OURS) -> tuple[dict[str, Any], bytes, OwnedSettings]:
    result = merge_settings(dumps(user), ours, None)
    return json.loads(result.content), result.content, result.owned


def settings_file(permissions: dict[str, Any] | None = None, **hooks: list[Any]) -> bytes:
    """A small `ours`: the given permissions and hooks, rendered as the template does."""
    document: dict[str, Any] = {}
    if permissions is not None:
        document["permissions"] = permissions
    if hooks:
        document["hooks"] = hooks
    return dumps(document)


def command_hook(command: str, timeout: int = 10) -> dict[str, Any]:
    return {"type": "command", "command": command, "timeout": timeout}


def count(document: dict[str, Any], event: str, command: str) -> int:
    groups = document.get("hooks", {}).get(event, [])
    return sum(entry.get("command") == command for g in groups for entry in g["hooks"])


# -- a file we create, and our own file merged again --------------------------------------------


def test_no_file_gives_ours_byte_for_byte_and_we_own_everything_in_it() -> None:
    result = merge_settings(None, OURS, None)
    assert result.content == OURS
    assert result.skipped == ()
    assert result.owned == owned_in(OURS)
    assert result.owned.hooks["PreToolUse"] == (HOOK, GUARD)
    assert result.owned.permissions["deny"] == tuple(OUR_RULES["deny"])
    again = merge_settings(result.content, OURS, result.owned)
    assert (again.content, again.owned) == (OURS, result.owned)


def test_an_empty_file_is_filled_like_a_missing_one() -> None:
    assert merge_settings(b"", OURS, None).content == OURS
    assert merge_settings(b"\n  \n", OURS, None).content == OURS


def test_our_own_file_unmerged_is_empty() -> None:
    emptied = unmerge_settings(OURS, owned_in(OURS))
    assert emptied == b"{}\n"
    assert is_empty_settings(emptied)
    assert not is_empty_settings(b'{"model": "opus"}\n')
    assert not is_empty_settings(b"{not json")


# -- hooks --------------------------------------------------------------------------------------


def test_user_hooks_for_the_same_event_are_kept_and_ours_added_in_a_new_group() -> None:
    theirs = {"matcher": "Bash", "hooks": [command_hook("./lint-bash.sh", 5)]}
    document, content, owned = merged({"hooks": {"PreToolUse": [theirs]}})
    groups = document["hooks"]["PreToolUse"]
    assert groups[0] == theirs
    assert groups[1] == OURS_DOC["hooks"]["PreToolUse"][0]
    assert len(groups) == 2
    # The user's event keeps its place; ours that they did not have follow, in our order.
    assert list(document["hooks"]) == ["PreToolUse", *(e for e in OUR_EVENTS if e != "PreToolUse")]
    rerun = merge_settings(content, OURS, owned)
    assert rerun.content == content
    assert rerun.owned == owned


def test_a_hand_merged_copy_of_our_command_is_present_adopted_and_left_as_it_is() -> None:
    # The user merged our proposal by hand, under their own matcher and timeout, and did not
    # copy the guard: the copy is not duplicated or changed, only the guard is added.
    copy = {"matcher": "*", "hooks": [command_hook(HOOK, 99)]}
    document, _, owned = merged({"hooks": {"PreToolUse": [copy]}})
    groups = document["hooks"]["PreToolUse"]
    assert groups == [
        copy,
        {"matcher": "", "hooks": [OURS_DOC["hooks"]["PreToolUse"][0]["hooks"][1]]},
    ]
    assert count(document, "PreToolUse", HOOK) == 1
    assert owned.hooks["PreToolUse"] == (HOOK, GUARD)


def test_hooks_the_user_disabled_are_added_and_said_to_be_off() -> None:
    result = merge_settings(dumps({"disableAllHooks": True}), OURS, None)
    assert result.skipped == ('hooks added but not run: you set "disableAllHooks": true',)
    assert count(json.loads(result.content), "Stop", OUR_COMMANDS["Stop"][0]) == 1


def test_our_command_anywhere_in_the_event_counts_whatever_the_group_or_matcher() -> None:
    user = {
        "hooks": {
            "PreToolUse": [
                {"matcher": "Edit", "hooks": [command_hook("./mine.sh")]},
                {"matcher": "Bash", "hooks": [command_hook(GUARD, 1), command_hook(HOOK, 2)]},
            ]
        }
    }
    result = merge_settings(dumps(user), OURS, None)
    document = json.loads(result.content)
    assert document["hooks"]["PreToolUse"] == user["hooks"]["PreToolUse"]


def test_an_entry_the_user_deleted_is_added_back_and_said_so() -> None:
    first = merge_settings(dumps({"model": "opus"}), OURS, None)
    document = json.loads(first.content)
    del document["hooks"]["Stop"]
    document["permissions"]["allow"].remove("Bash(git push:*)")
    second = merge_settings(dumps(document), OURS, first.owned)
    assert count(json.loads(second.content), "Stop", OUR_COMMANDS["Stop"][0]) == 1
    assert second.restored == (
        'allow "Bash(git push:*)": it was missing, added back',
        "Stop: our hook: it was missing, added back",
    )
    assert first.restored == ()
    # Moved to "ask" instead: the user's choice is kept.
    document = json.loads(second.content)
    document["permissions"]["allow"].remove("Bash(git push:*)")
    document["permissions"]["ask"].append("Bash(git push:*)")
    third = merge_settings(dumps(document), OURS, second.owned)
    assert third.content == dumps(document)
    assert third.skipped == ('allow "Bash(git push:*)" not added: you ask for it',)
    assert third.restored == ()


def test_user_entries_without_a_command_and_other_events_are_untouched() -> None:
    user = {
        "hooks": {
            "Stop": [{"hooks": [{"type": "prompt", "prompt": "Is the task done?"}]}],
            "WorktreeCreate": [{"hooks": [command_hook("./wt.sh")]}],
        }
    }
    document, _, _ = merged(user)
    assert document["hooks"]["Stop"][0] == user["hooks"]["Stop"][0]
    assert document["hooks"]["WorktreeCreate"] == user["hooks"]["WorktreeCreate"]
    assert list(document["hooks"])[:2] == ["Stop", "WorktreeCreate"]


# -- permissions --------------------------------------------------------------------------------


def test_permissions_are_a_union_the_users_rules_first_in_their_order() -> None:
    user = {"permissions": {"allow": ["Bash(npm test:*)", "WebFetch"], "defaultMode": "plan"}}
    document, _, owned = merged(user)
    allow = document["permissions"]["allow"]
    assert allow[:2] == ["Bash(npm test:*)", "WebFetch"]
    assert allow[2:] == OUR_RULES["allow"]
    assert list(document["permissions"]) == ["allow", "defaultMode", "ask", "deny"]
    assert document["permissions"]["defaultMode"] == "plan"
    assert owned.permissions["allow"] == tuple(OUR_RULES["allow"])


def test_the_users_choice_wins_over_ours_and_is_reported() -> None:
    user = {
        "permissions": {
            "allow": ["Bash(git push --force:*)"],
            "deny": ["Bash(git status:*)"],
            "ask": ["Bash(git reset --hard:*)"],
        }
    }
    result = merge_settings(dumps(user), OURS, None)
    document = json.loads(result.content)
    assert result.skipped == (
        'allow "Bash(git status:*)" not added: you deny it',
        'deny "Bash(git push --force:*)" not added: you allow it',
        'deny "Bash(git reset --hard:*)" not added: you ask for it',
    )
    assert "Bash(git push --force:*)" not in document["permissions"]["deny"]
    assert "Bash(git status:*)" not in document["permissions"]["allow"]
    assert "Bash(git push --force:*)" not in result.owned.permissions["deny"]
    # Skipped again (not silently added) on every later merge.
    again = merge_settings(result.content, OURS, result.owned)
    assert again.skipped == result.skipped
    assert again.content == result.content


def test_a_rule_the_user_already_has_is_not_duplicated_nor_claimed() -> None:
    user = {"permissions": {"allow": ["Read"], "deny": ["Read(**/.env)"]}}
    result = merge_settings(dumps(user), OURS, None)
    document = json.loads(result.content)
    assert document["permissions"]["allow"].count("Read") == 1
    assert "Read" not in result.owned.permissions["allow"]
    assert "Read(**/.env)" not in result.owned.permissions["deny"]
    # ... so remove gives the user's rules back.
    assert unmerge_settings(result.content, result.owned) == dumps(user)
    # And stays the user's on later merges.
    assert (
        "Read" not in merge_settings(result.content, OURS, result.owned).owned.permissions["allow"]
    )


def test_our_deny_wins_over_our_own_allow_and_ask() -> None:
    ours = settings_file(
        {"allow": ["Bash(x:*)", "Read"], "ask": ["Bash(x:*)", "Edit"], "deny": ["Bash(x:*)"]}
    )
    result = merge_settings(dumps({"model": "opus"}), ours, None)
    assert json.loads(result.content)["permissions"] == {
        "allow": ["Read"],
        "ask": ["Edit"],
        "deny": ["Bash(x:*)"],
    }
    assert result.skipped == ()


def test_containers_are_created_only_when_needed() -> None:
    ours = settings_file({"allow": ["Read"], "ask": [], "deny": []})
    document = json.loads(merge_settings(dumps({"model": "opus"}), ours, None).content)
    assert document == {"model": "opus", "permissions": {"allow": ["Read"]}}
    # Every rule already there: nothing to add, the file is not touched.
    user = dumps({"permissions": {"allow": ["Read"]}})
    assert merge_settings(user, ours, None).content == user


# -- every key we do not own --------------------------------------------------------------------

UNKNOWN_KEYS = (
    b'{\n  "model": "claude-opus-4",\n  "env": {"BIG": 123456789012345678901234567890, "F": 1.0,'
    b' "E": 1E+2, "Z": -0, "S": "caf\\u00e9 \\/ \\"q\\""},\n  "statusLine": {"type": "command",'
    b' "command": "x"},\n  "permissions": {"defaultMode": "acceptEdits", "allow": ["A"]},\n'
    b'  "cleanupPeriodDays": 30,\n  "includeCoAuthoredBy": false,\n  "apiKeyHelper": null\n}\n'
)


def test_unknown_keys_are_kept_in_their_order_with_their_exact_text() -> None:
    result = merge_settings(UNKNOWN_KEYS, OURS, None)
    text = result.content.decode()
    document = json.loads(result.content)
    assert list(document) == [
        "model",
        "env",
        "statusLine",
        "permissions",
        "cleanupPeriodDays",
        "includeCoAuthoredBy",
        "apiKeyHelper",
        "hooks",
    ]
    # Untouched values are written back exactly as the user wrote them: numbers' spelling
    # (1.0, 1E+2, -0, a 30-digit integer), escapes, inline layout.
    for line in UNKNOWN_KEYS.decode().splitlines()[1:3]:
        assert line.rstrip(",") in text
    assert '"defaultMode": "acceptEdits"' in text
    assert unmerge_settings(result.content, result.owned) == UNKNOWN_KEYS.replace(
        b'{"defaultMode": "acceptEdits", "allow": ["A"]}',
        b'{\n    "defaultMode": "acceptEdits",\n    "allow": [\n      "A"\n    ]\n  }',
    )


# -- errors: one line naming the place, a hint, never a raw exception ---------------------------

SYNTAX_ERRORS = [
    (
        b'{\n  "model": "x", // the model\n  "env": {}\n}\n',
        "line 2, column 17: a comment",
        "remove the comments",
    ),
    (
        b'{\n  /* block */\n  "model": "x"\n}\n',
        "line 2, column 3: a comment",
        "remove the comments",
    ),
    (b'# settings\n{"a": 1}', "line 1, column 1: a comment", "remove the comments"),
    (b'{\n  model: "opus"\n}', "line 2, column 3: Expecting property name", "keys take double"),
    (b'{\n  "a": [1, 2,],\n  "b": 1\n}', "line 2, column 14: a trailing comma", "remove the comma"),
    (b'{\n  "a": 1,\n}\n', "line 3, column 1: a trailing comma before '}'", "remove the comma"),
    (b'{\n  "a": 1\n  "b": 2\n}\n', "line 3, column 3: Expecting ',' delimiter", "fix the JSON"),
    (b"{\n  'a': 1\n}\n", "line 2, column 3: Expecting property name", "double quotes"),
    (b'{\n  "a": {\n', "line 3, column 1: the text ends early", "close every bracket"),
    (b'{"a": NaN}', "line 1, column 7: Expecting value", "strict JSON"),
    (b'{"a": "tab\tinside"}', "line 1, column 11: Invalid control character", "fix the JSON"),
    (
        b'{"a": 1}\n{"b": 2}\n',
        "line 2, column 1: more text after the closing brace",
        "one JSON object",
    ),
    (b'{"a": 01}', "line 1, column 8: Expecting ',' delimiter", "fix the JSON"),
]


@pytest.mark.parametrize(("content", "where", "hint"), SYNTAX_ERRORS)
def test_invalid_json_is_refused_with_line_and_column(
    content: bytes, where: str, hint: str
) -> None:
    with pytest.raises(SettingsMergeError) as raised:
        merge_settings(content, OURS, None)
    error = raised.value
    assert error.message.startswith("not valid JSON at ")
    assert where in error.message
    assert hint in error.hint
    assert "\n" not in error.message + error.hint
    assert isinstance(error, ValueError)
    with pytest.raises(SettingsMergeError):
        unmerge_settings(content, owned_in(OURS))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'{\n  "model": "a",\n  "model": "b"\n}\n',
            'duplicate key "model" at line 3, column 3 (first at line 2)',
        ),
        (
            b'{"permissions": {\n "allow": [],\n "deny": [],\n "allow": ["Read"]}}',
            'duplicate key "permissions.allow" at line 4, column 2 (first at line 2)',
        ),
        (
            b'{"hooks": {"Stop": [{"hooks": [], "matcher": "", "hooks": []}]}}',
            'duplicate key "hooks.Stop[0].hooks" at line 1',
        ),
    ],
)
def test_a_duplicate_key_is_refused_naming_the_key_and_line(content: bytes, message: str) -> None:
    with pytest.raises(SettingsMergeError) as raised:
        merge_settings(content, OURS, None)
    assert raised.value.message.startswith(message)
    assert "silently use the last one" in raised.value.message
    assert "keep one" in raised.value.hint


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "the top level is a list, not an object (line 1)"),
        ("settings", "the top level is a string, not an object"),
        ({"hooks": []}, '"hooks" is a list, not an object (line 2)'),
        (
            {"hooks": {"PreToolUse": "exec sh x"}},
            '"hooks.PreToolUse" is a string, not a list (line 3)',
        ),
        ({"hooks": {"Stop": {"hooks": []}}}, '"hooks.Stop" is an object, not a list'),
        ({"hooks": {"Stop": [{"hooks": []}, "x"]}}, '"hooks.Stop[1]" is a string, not an object'),
        (
            {"hooks": {"Stop": [{"hooks": {"command": "x"}}]}},
            '"hooks.Stop[0].hooks" is an object, not a list',
        ),
        (
            {"hooks": {"Stop": [{"hooks": ["x"]}]}},
            '"hooks.Stop[0].hooks[0]" is a string, not an object',
        ),
        ({"hooks": None}, '"hooks" is null, not an object'),
        ({"permissions": ["Read"]}, '"permissions" is a list, not an object'),
        ({"permissions": {"allow": "Read"}}, '"permissions.allow" is a string, not a list'),
        (
            {"permissions": {"deny": ["Read", 3]}},
            '"permissions.deny[1]" is a number, not a string (line 5)',
        ),
        ({"permissions": {"ask": [True]}}, '"permissions.ask[0]" is true/false, not a string'),
    ],
)
def test_a_wrong_shape_is_refused_naming_the_key_path(document: object, message: str) -> None:
    with pytest.raises(SettingsMergeError) as raised:
        merge_settings(dumps(document), OURS, None)
    assert raised.value.message.startswith(message)
    assert "as Claude Code expects" in raised.value.hint


def test_non_utf8_bytes_are_refused() -> None:
    with pytest.raises(SettingsMergeError) as raised:
        merge_settings(b'{\n  "model": "caf\xe9"\n}\n', OURS, None)
    assert raised.value.message == "not UTF-8 at line 2, column 16 (byte 17)"
    assert "UTF-8" in raised.value.hint


def test_a_file_nested_too_deeply_is_an_error_not_a_crash() -> None:
    with pytest.raises(SettingsMergeError) as raised:
        merge_settings(b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", OURS, None)
    assert "nested too deeply" in raised.value.message


def test_other_keys_shapes_are_not_our_business() -> None:
    # Keys we do not own are passed through whatever they hold.
    user = {"permissions": {"additionalDirectories": "../x", "defaultMode": 3}, "env": []}
    document, _, _ = merged(user)
    assert document["permissions"]["additionalDirectories"] == "../x"
    assert document["env"] == []


# -- formatting ---------------------------------------------------------------------------------

USER = {"model": "opus", "permissions": {"allow": ["Bash(npm test:*)"]}}


def test_bom_is_kept() -> None:
    user = b"\xef\xbb\xbf" + dumps(USER)
    result = merge_settings(user, OURS, None)
    assert result.content.startswith(b"\xef\xbb\xbf{\n")
    assert result.content.count(b"\xef\xbb\xbf") == 1
    assert unmerge_settings(result.content, result.owned) == user


def test_crlf_is_kept() -> None:
    user = dumps(USER, eol="\r\n", final="\r\n")
    result = merge_settings(user, OURS, None)
    assert result.content.count(b"\n") == result.content.count(b"\r\n") > 100
    assert result.content.endswith(b"}\r\n")
    assert unmerge_settings(result.content, result.owned) == user


@pytest.mark.parametrize("indent", ["\t", 4, 1, 8])
def test_the_users_indent_is_kept(indent: int | str) -> None:
    user = dumps(USER, indent=indent)
    result = merge_settings(user, OURS, None)
    unit = indent if isinstance(indent, str) else " " * indent
    assert result.content.decode() == json.dumps(json.loads(result.content), indent=indent) + "\n"
    assert f'\n{unit}"hooks": {{\n{unit * 2}"SessionStart"'.encode() in result.content
    assert unmerge_settings(result.content, result.owned) == user


def test_no_final_newline_is_kept_and_other_trailing_text_too() -> None:
    for final in ("", "\n\n", "  \n"):
        user = dumps(USER, final=final)
        result = merge_settings(user, OURS, None)
        assert result.content.endswith(b"\n}" + final.encode())
        assert unmerge_settings(result.content, result.owned) == user


NON_ASCII_OURS = settings_file({"allow": ["Read(./données/**)"]})


def test_non_ascii_is_written_raw_when_the_user_writes_it_raw() -> None:
    user = json.dumps({"model": "opus", "note": "café"}, indent=2, ensure_ascii=False).encode()
    content = merge_settings(user, NON_ASCII_OURS, None).content
    assert '"Read(./données/**)"'.encode() in content
    assert '"note": "café"'.encode() in content


def test_non_ascii_is_escaped_when_the_user_escapes_it() -> None:
    user = dumps({"model": "opus", "note": "café"})
    content = merge_settings(user, NON_ASCII_OURS, None).content
    assert b'"Read(./donn\\u00e9es/**)"' in content
    assert b'"note": "caf\\u00e9"' in content
    assert content.isascii()


def test_a_one_line_file_is_written_with_the_default_indent_and_its_separators() -> None:
    result = merge_settings(b'{"model":"opus"}', settings_file({"allow": ["Read"]}), None)
    assert (
        result.content
        == b'{\n  "model":"opus",\n  "permissions":{\n    "allow":[\n      "Read"\n    ]\n  }\n}'
    )


def test_a_file_with_nothing_to_add_is_returned_byte_for_byte() -> None:
    # Odd spacing, inline lists, a hand-merged copy of everything: nothing changes, nothing moves.
    document = json.loads(OURS)
    text = (
        json.dumps(document, indent=3, separators=(" ,", " : ")).replace("\n", "\r\n") + "\r\n\r\n"
    )
    user = b"\xef\xbb\xbf" + text.encode()
    result = merge_settings(user, OURS, None)
    assert result.content == user
    # Adopted: the hooks are ours now; the rules were already there, so they stay the user's.
    assert result.owned.hooks == owned_in(OURS).hooks
    assert result.owned.permissions == {}


# -- upgrade: what ours dropped goes, what changed is replaced, the user's stays ----------------

OLD_STOP = "exec sh old-hook.sh --wait"
V1 = settings_file(
    {"allow": ["Read", "Bash(old:*)"], "deny": ["Bash(rm -rf /:*)"]},
    Stop=[{"hooks": [command_hook(OLD_STOP), command_hook("notify-send done")]}],
    PreCompact=[{"hooks": [command_hook("exec sh compact.sh")]}],
    PreToolUse=[{"matcher": "", "hooks": [command_hook("guard-v1", 30)]}],
)
V2 = settings_file(
    {"allow": ["Read", "Edit"], "ask": ["Bash(git add -f:*)"], "deny": ["Bash(rm -rf /:*)"]},
    Stop=[
        {
            "hooks": [
                command_hook("exec sh new-hook.sh --wait"),
                command_hook("notify-send done", 20),
            ]
        }
    ],
    PreToolUse=[{"matcher": "", "hooks": [command_hook("guard-v2", 30)]}],
)


def test_upgrade_removes_what_ours_dropped_and_replaces_a_changed_command() -> None:
    user = {
        "permissions": {"allow": ["WebFetch"], "ask": []},
        "hooks": {"Stop": [{"hooks": [command_hook("say done", 5)]}]},
        "model": "opus",
    }
    first = merge_settings(dumps(user), V1, None)
    second = merge_settings(first.content, V2, first.owned)
    document = json.loads(second.content)
    assert document["permissions"] == {
        "allow": ["WebFetch", "Read", "Edit"],
        "ask": ["Bash(git add -f:*)"],
        "deny": ["Bash(rm -rf /:*)"],
    }
    assert document["hooks"] == {
        "Stop": [
            {"hooks": [command_hook("say done", 5)]},
            {"hooks": [command_hook("notify-send done", 20)]},
            {"hooks": [command_hook("exec sh new-hook.sh --wait")]},
        ],
        "PreToolUse": [{"matcher": "", "hooks": [command_hook("guard-v2", 30)]}],
    }
    assert list(document) == ["permissions", "hooks", "model"]
    assert second.owned.hooks == {
        "Stop": ("exec sh new-hook.sh --wait", "notify-send done"),
        "PreToolUse": ("guard-v2",),
    }
    assert second.owned.permissions == {
        "allow": ("Read", "Edit"),
        "ask": ("Bash(git add -f:*)",),
        "deny": ("Bash(rm -rf /:*)",),
    }
    # The user's own empty "ask" list was filled, not created: remove leaves it empty, not gone.
    assert unmerge_settings(second.content, second.owned) == dumps(user)
    again = merge_settings(second.content, V2, second.owned)
    assert (again.content, again.owned) == (second.content, second.owned)


def test_upgrade_changes_our_entry_in_place_unless_the_user_edited_it() -> None:
    # Same command, new timeout: an entry still as we wrote it follows; an edited one stays.
    first = merge_settings(dumps({}), V1, None)
    document = json.loads(first.content)
    assert document["hooks"]["Stop"][0]["hooks"][1] == command_hook("notify-send done")
    upgraded = json.loads(merge_settings(first.content, V2, first.owned).content)
    assert upgraded["hooks"]["Stop"][0]["hooks"] == [command_hook("notify-send done", 20)]
    document["hooks"]["Stop"][0]["hooks"][1]["timeout"] = 99
    edited = json.loads(merge_settings(dumps(document), V2, first.owned).content)
    assert edited["hooks"]["Stop"][0]["hooks"] == [command_hook("notify-send done", 99)]
    # A hand-merged copy (adopted, never written by us) keeps its timeout too.
    copy = {"hooks": {"Stop": [{"hooks": [command_hook("notify-send done", 7)]}]}}
    adopted = merge_settings(dumps(copy), V1, None)
    after = json.loads(merge_settings(adopted.content, V2, adopted.owned).content)
    assert after["hooks"]["Stop"][0] == copy["hooks"]["Stop"][0]


def test_upgrade_takes_out_only_our_entries_from_a_group_the_user_added_to() -> None:
    first = merge_settings(dumps({}), V1, None)
    document = json.loads(first.content)
    document["hooks"]["PreCompact"][0]["hooks"].append(command_hook("mine.sh"))
    document["permissions"]["allow"].append("Bash(mine:*)")
    second = merge_settings(dumps(document), V2, first.owned)
    after = json.loads(second.content)
    assert after["hooks"]["PreCompact"] == [{"hooks": [command_hook("mine.sh")]}]
    assert after["permissions"]["allow"] == ["Read", "Bash(mine:*)", "Edit"]


def test_a_rule_moved_between_our_lists_moves() -> None:
    before = settings_file({"allow": ["Bash(git push:*)"]})
    after = settings_file({"ask": ["Bash(git push:*)"]})
    first = merge_settings(dumps({"permissions": {"allow": ["Read"]}}), before, None)
    second = merge_settings(first.content, after, first.owned)
    assert json.loads(second.content)["permissions"] == {
        "allow": ["Read"],
        "ask": ["Bash(git push:*)"],
    }
    assert second.skipped == ()


def test_a_file_we_created_upgrades_like_a_merged_one() -> None:
    created = merge_settings(None, V1, None)
    upgraded = merge_settings(created.content, V2, created.owned)
    document = json.loads(upgraded.content)
    assert "PreCompact" not in document["hooks"]
    assert document["permissions"]["allow"] == ["Read", "Edit"]
    assert unmerge_settings(upgraded.content, upgraded.owned) == b"{}\n"


# -- the manifest record ------------------------------------------------------------------------


def test_owned_settings_round_trip_through_json() -> None:
    owned = merge_settings(dumps({"permissions": {"ask": []}}), OURS, None).owned
    data = owned.to_dict()
    assert json.loads(json.dumps(data)) == data
    hooks = data["hooks"]
    assert isinstance(hooks, dict)
    assert list(hooks) == sorted(hooks)
    assert OwnedSettings.from_dict(json.loads(json.dumps(data))) == owned
    assert OwnedSettings.from_dict({}) == OwnedSettings({}, {})


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"hooks": []},
        {"hooks": {"Stop": "x"}},
        {"hooks": {"Stop": [1]}},
        {"permissions": {"allow": "Read"}},
        {"permissions": {"maybe": ["Read"]}},
        {"created": [[]]},
        {"created": "hooks"},
    ],
)
def test_owned_settings_from_a_bad_shape_is_a_value_error(data: object) -> None:
    with pytest.raises(ValueError, match="owned settings"):
        OwnedSettings.from_dict(data)


# -- properties over generated user files -------------------------------------------------------

_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
_our_rules = [rule for rules in OUR_RULES.values() for rule in rules]
_rule = st.one_of(st.sampled_from(_our_rules), _text)
_all_ours = {command for commands in OUR_COMMANDS.values() for command in commands}
_command = _text.filter(lambda command: command not in _all_ours)
_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), _text
)
_json = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=3)),
    max_leaves=8,
)
_entry = st.fixed_dictionaries(
    {"type": st.just("command"), "command": _command}, optional={"timeout": st.integers(1, 600)}
)
_group = st.fixed_dictionaries(
    {"hooks": st.lists(_entry, max_size=3)},
    optional={"matcher": st.sampled_from(["", "Bash", "*"])},
)
_hooks = st.dictionaries(
    st.sampled_from([*OUR_EVENTS, "WorktreeCreate", "Custom"]),
    st.lists(_group, max_size=3),
    max_size=4,
)
_permissions = st.fixed_dictionaries(
    {},
    optional={
        "allow": st.lists(_rule, max_size=4),
        "ask": st.lists(_rule, max_size=3),
        "deny": st.lists(_rule, max_size=4),
        "defaultMode": st.sampled_from(["default", "plan"]),
        "additionalDirectories": st.lists(_text, max_size=2),
    },
)


@st.composite
def user_settings(draw: st.DrawFn) -> dict[str, Any]:
    items: list[tuple[str, Any]] = list(
        draw(
            st.dictionaries(
                _text.filter(lambda k: k not in ("hooks", "permissions")), _json, max_size=4
            )
        ).items()
    )
    if draw(st.booleans()):
        items.append(("hooks", draw(_hooks)))
    if draw(st.booleans()):
        items.append(("permissions", draw(_permissions)))
    return dict(draw(st.permutations(items)))


_style = st.fixed_dictionaries(
    {
        "indent": st.sampled_from([2, 4, "\t"]),
        "eol": st.sampled_from(["\n", "\r\n"]),
        "final": st.sampled_from(["\n", "", "\r\n\r\n"]),
        "ensure_ascii": st.booleans(),
        "bom": st.booleans(),
    }
)


def styled(document: object, style: dict[str, Any]) -> bytes:
    text = json.dumps(document, indent=style["indent"], ensure_ascii=style["ensure_ascii"])
    bom = b"\xef\xbb\xbf" if style["bom"] else b""
    eol: str = style["eol"]
    final: str = style["final"]
    return bom + (text.replace("\n", eol) + final).encode()


@settings(max_examples=examples(400))
@given(user=user_settings(), style=_style)
def test_merge_keeps_the_user_adds_ours_once_is_idempotent_and_remove_restores(
    user: dict[str, Any], style: dict[str, Any]
) -> None:
    original = styled(user, style)
    result = merge_settings(original, OURS, None)
    document = json.loads(result.content.removeprefix(b"\xef\xbb\xbf"))
    # Every key of the user's, in order, their values untouched where we own nothing.
    assert [key for key in document if key in user] == list(user)
    for key, value in user.items():
        if key not in ("hooks", "permissions"):
            assert document[key] == value
    # Every user entry still there, first; each of our commands exactly once per event.
    for event, groups in user.get("hooks", {}).items():
        assert document["hooks"][event][: len(groups)] == groups
    for event, commands in OUR_COMMANDS.items():
        for command in commands:
            assert count(document, event, command) == 1
    # Every rule of ours in its list, unless the user chose otherwise (and we said so).
    permissions = user.get("permissions", {})
    for kind, rules in OUR_RULES.items():
        theirs = permissions.get(kind, [])
        assert document["permissions"][kind][: len(theirs)] == theirs
        for rule in rules:
            elsewhere = [k for k in OUR_RULES if k != kind and rule in permissions.get(k, [])]
            if rule in theirs or not elsewhere:
                assert rule in document["permissions"][kind]
            else:
                assert f'{kind} "{rule}" not added: you' in "\n".join(result.skipped)
    # Idempotent, and remove gives back the user's exact bytes.
    again = merge_settings(result.content, OURS, result.owned)
    assert (again.content, again.owned, again.skipped) == (
        result.content,
        result.owned,
        result.skipped,
    )
    assert unmerge_settings(result.content, result.owned) == original


@settings(max_examples=examples(200))
@given(user=user_settings())
def test_an_upgrade_then_remove_restores_the_user_too(user: dict[str, Any]) -> None:
    original = dumps(user)
    first = merge_settings(original, V1, None)
    second = merge_settings(first.content, V2, first.owned)
    assert merge_settings(second.content, V2, second.owned).content == second.content
    assert unmerge_settings(second.content, second.owned) == original


@settings(max_examples=examples(200))
@given(
    user=user_settings(),
    rule=_text.filter(lambda rule: rule not in _our_rules),
    kind=st.sampled_from(["allow", "ask", "deny"]),
    event=st.sampled_from(OUR_EVENTS),
    command=_command,
)
def test_what_the_user_adds_after_a_merge_survives_the_next_merge_and_remove(
    user: dict[str, Any], rule: str, kind: str, event: str, command: str
) -> None:
    first = merge_settings(dumps(user), OURS, None)
    edited = json.loads(first.content)
    edited["permissions"][kind].append(rule)
    edited["hooks"][event].append({"hooks": [command_hook(command)]})
    second = merge_settings(dumps(edited), OURS, first.owned)
    assert second.content == dumps(edited)
    # Remove takes out exactly ours: the user's file as it was, plus what they added since.
    expected = json.loads(dumps(user))
    expected.setdefault("permissions", {}).setdefault(kind, []).append(rule)
    expected.setdefault("hooks", {}).setdefault(event, []).append(
        {"hooks": [command_hook(command)]}
    )
    assert unmerge_settings(second.content, second.owned) == dumps(expected)


# -- real repositories' own settings ------------------------------------------------------------

REAL = sorted((REPO_ROOT / "tests" / "fixtures" / "claude_settings").glob("*.json"))


@pytest.mark.parametrize("path", REAL, ids=[path.stem for path in REAL])
def test_real_settings_files_merge_keep_theirs_and_remove_restores_them(path: Path) -> None:
    original = path.read_bytes()
    user = json.loads(original)
    result = merge_settings(original, OURS, None)
    document = json.loads(result.content)
    assert [key for key in document if key in user] == list(user)
    for event, groups in user.get("hooks", {}).items():
        assert document["hooks"][event][: len(groups)] == groups
    for event, commands in OUR_COMMANDS.items():
        for command in commands:
            assert count(document, event, command) == 1
    for kind, rules in user.get("permissions", {}).items():
        if kind in ("allow", "ask", "deny"):
            assert document["permissions"][kind][: len(rules)] == rules
            assert not set(rules) & set(result.owned.permissions.get(kind, ()))
    again = merge_settings(result.content, OURS, result.owned)
    assert (again.content, again.owned) == (result.content, result.owned)
    assert unmerge_settings(result.content, result.owned) == original


def test_a_real_file_that_allows_what_we_deny_keeps_its_choice() -> None:
    # 007/dotfiles allows "Bash(git add:*)" and friends we allow too (not claimed), and has its
    # own empty "deny": our denies go in it, and remove empties it again without deleting it.
    original = (REPO_ROOT / "tests/fixtures/claude_settings/007__dotfiles.json").read_bytes()
    result = merge_settings(original, OURS, None)
    document = json.loads(result.content)
    assert document["permissions"]["deny"] == OUR_RULES["deny"]
    assert "Bash(git add:*)" not in result.owned.permissions["allow"]
    assert b'"deny": []' in unmerge_settings(result.content, result.owned)


# -- the strict JSON reader underneath ---------------------------------------------------------


def plain(value: object) -> object:
    """The reader's value as json.loads gives it."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Number):
        return json.loads(value.text)
    return str(value) if isinstance(value, str) else value


_layout = st.fixed_dictionaries(
    {
        "indent": st.sampled_from([None, 0, 2, "\t", " \t"]),
        "separators": st.sampled_from([(",", ":"), (", ", ": "), (" ,", " : ")]),
        "ensure_ascii": st.booleans(),
    }
)


@settings(max_examples=examples(400))
@given(value=_json, layout=_layout)
def test_the_reader_agrees_with_json_and_writes_an_unchanged_value_back_as_read(
    value: object, layout: dict[str, Any]
) -> None:
    text = json.dumps(value, **layout)
    document = parse(text)
    assert plain(document.value) == json.loads(text)
    assert document.write(document.value) == text


def _duplicated(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


REFUSED = object()


@settings(max_examples=examples(800))
@given(value=_json, data=st.data())
def test_the_reader_refuses_what_json_refuses_and_reads_the_rest_the_same(
    value: object, data: st.DataObject
) -> None:
    text = json.dumps({"k": value, "n": [1.5, -2e3]}, indent=2)
    start = data.draw(st.integers(0, len(text)))
    insert = data.draw(
        st.sampled_from([",", "}", "]", "{", "[", '"', "/", "", "x", ":", " ", "\\"])
    )
    mutated = text[:start] + insert + text[start + data.draw(st.integers(0, 2)) :]
    try:
        expected = json.loads(mutated)
    except json.JSONDecodeError:
        expected = REFUSED
    try:
        got = plain(parse(mutated).value)
    except JsonTextError:
        got = REFUSED
    if expected is REFUSED:
        assert got is REFUSED
    elif got is REFUSED:
        # Stricter than Python's json only where Claude Code's JSON.parse is too.
        with pytest.raises(ValueError):
            json.loads(mutated, object_pairs_hook=_duplicated, parse_constant=_no_constant)
    else:
        assert got == expected


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


OUR_ENTRY = {
    (event, entry["command"]): entry
    for event, groups in OURS_DOC["hooks"].items()
    for group in groups
    for entry in group["hooks"]
}


@st.composite
def older_ours(draw: st.DrawFn) -> bytes:
    """An older version of our settings: some of today's entries (other timeouts, matchers),
    some rules in other lists, and entries and rules that today's version dropped."""
    hooks: dict[str, Any] = {}
    for event in draw(st.lists(st.sampled_from([*OUR_EVENTS, "OldEvent"]), unique=True)):
        commands = [
            *draw(st.lists(st.sampled_from(OUR_COMMANDS.get(event, [HOOK])), unique=True)),
            *draw(st.lists(st.sampled_from(["exec sh old.sh", "old-notify"]), unique=True)),
        ]
        entries = [
            command_hook(command, draw(st.sampled_from([5, 10, 30]))) for command in commands
        ]
        group: dict[str, Any] = {"hooks": entries}
        if draw(st.booleans()):
            group = {"matcher": draw(st.sampled_from(["", "*"])), **group}
        if entries:
            hooks[event] = [group]
    permissions: dict[str, list[str]] = {}
    for rule in draw(
        st.lists(st.sampled_from([*_our_rules, "Bash(old:*)", "OldTool"]), unique=True)
    ):
        permissions.setdefault(draw(st.sampled_from(["allow", "ask", "deny"])), []).append(rule)
    return dumps({"permissions": permissions, "hooks": hooks})


@settings(max_examples=examples(200))
@given(user=user_settings(), old=older_ours())
def test_an_upgrade_from_any_older_version_leaves_exactly_todays_entries_and_the_users(
    user: dict[str, Any], old: bytes
) -> None:
    original = dumps(user)
    first = merge_settings(original, old, None)
    second = merge_settings(first.content, OURS, first.owned)
    document = json.loads(second.content)
    for event, groups in user.get("hooks", {}).items():
        assert document["hooks"][event][: len(groups)] == groups
    for event, groups in document["hooks"].items():
        for group in groups:
            for entry in group["hooks"]:
                assert entry["command"] not in ("exec sh old.sh", "old-notify")
                # Ours, as today's version writes it (timeouts refreshed in place).
                assert OUR_ENTRY.get((event, entry["command"]), entry) == entry
    for event, commands in OUR_COMMANDS.items():
        for command in commands:
            assert count(document, event, command) == 1
    theirs = user.get("permissions", {})
    for kind in ("allow", "ask", "deny"):
        listed = document.get("permissions", {}).get(kind, [])
        assert listed[: len(theirs.get(kind, []))] == theirs.get(kind, [])
        assert ("Bash(old:*)" in listed) == ("Bash(old:*)" in theirs.get(kind, []))
    assert merge_settings(second.content, OURS, second.owned).content == second.content
    assert unmerge_settings(second.content, second.owned) == original
