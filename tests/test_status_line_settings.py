"""Our "statusLine" in a user's shared .claude/settings.json: added where they have none,
refreshed while it is still as we wrote it, taken out by `remove`; a user's own status line
(or ours once they edited it) always wins and is never replaced or removed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tac_bootstrap.domain.settings_merge import (
    OwnedSettings,
    merge_settings,
    owned_in,
    unmerge_settings,
)

from .conftest import REPO_ROOT

OURS = (REPO_ROOT / ".claude" / "settings.json").read_bytes()
OUR_STATUS: dict[str, Any] = json.loads(OURS)["statusLine"]
THEIRS = {"type": "command", "command": "~/.claude/my-line.sh", "padding": 2}


def doc(content: bytes) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(content)
    return value


def user_file(**extra: Any) -> bytes:
    return json.dumps({"model": "opus", **extra}, indent=2).encode() + b"\n"


def test_ours_is_generated_and_owned() -> None:
    assert OUR_STATUS["type"] == "command" and OUR_STATUS["padding"] == 0
    assert "/hooks/status_line.py" in OUR_STATUS["command"]
    assert "statusLine" in owned_in(OURS).settings


def test_added_where_the_user_has_none_and_removed_again_byte_for_byte() -> None:
    original = user_file()
    merged = merge_settings(original, OURS, None)
    assert doc(merged.content)["statusLine"] == OUR_STATUS
    assert "statusLine" in merged.owned.settings
    assert not any("statusLine" in note for note in merged.skipped)
    assert unmerge_settings(merged.content, merged.owned) == original


def test_a_users_own_status_line_wins_is_kept_and_survives_remove() -> None:
    original = user_file(statusLine=THEIRS)
    merged = merge_settings(original, OURS, None)
    assert doc(merged.content)["statusLine"] == THEIRS
    assert merged.owned.settings == {}
    assert '"statusLine" not added: you have your own' in merged.skipped
    # Upgrades keep theirs too, and `remove` leaves it.
    again = merge_settings(merged.content, OURS, merged.owned)
    assert doc(again.content)["statusLine"] == THEIRS
    assert doc(unmerge_settings(again.content, again.owned))["statusLine"] == THEIRS


def test_ours_once_edited_by_the_user_is_theirs() -> None:
    first = merge_settings(user_file(), OURS, None)
    edited = doc(first.content)
    edited["statusLine"] = {**OUR_STATUS, "padding": 1}
    content = json.dumps(edited, indent=2).encode()
    # An upgrade with a new command of ours does not replace their edit ...
    newer = json.loads(OURS)
    newer["statusLine"]["command"] += " --v2"
    upgraded = merge_settings(content, json.dumps(newer).encode(), first.owned)
    assert doc(upgraded.content)["statusLine"] == edited["statusLine"]
    assert '"statusLine" not added: you have your own' in upgraded.skipped
    # ... and neither does `remove`; nor does the manifest change because of the edit.
    assert upgraded.owned.settings == first.owned.settings
    assert doc(unmerge_settings(upgraded.content, upgraded.owned))["statusLine"] == {
        **OUR_STATUS,
        "padding": 1,
    }


def test_ours_as_written_is_refreshed_on_upgrade() -> None:
    first = merge_settings(user_file(), OURS, None)
    newer = json.loads(OURS)
    newer["statusLine"]["command"] += " --v2"
    upgraded = merge_settings(first.content, json.dumps(newer).encode(), first.owned)
    assert doc(upgraded.content)["statusLine"] == newer["statusLine"]
    assert upgraded.owned.settings != first.owned.settings
    # Ours dropped from a later version: taken out while still as written.
    del newer["statusLine"]
    dropped = merge_settings(upgraded.content, json.dumps(newer).encode(), upgraded.owned)
    assert "statusLine" not in doc(dropped.content)


def test_ours_deleted_by_the_user_is_added_back_and_said_so() -> None:
    first = merge_settings(user_file(), OURS, None)
    without = {k: v for k, v in doc(first.content).items() if k != "statusLine"}
    again = merge_settings(json.dumps(without).encode(), OURS, first.owned)
    assert doc(again.content)["statusLine"] == OUR_STATUS
    assert '"statusLine": ours was missing, added back' in again.restored


def test_owned_settings_round_trip_through_the_manifest() -> None:
    owned = merge_settings(user_file(), OURS, None).owned
    assert OwnedSettings.from_dict(json.loads(json.dumps(owned.to_dict()))) == owned
    legacy = {k: v for k, v in owned.to_dict().items() if k != "settings"}
    assert OwnedSettings.from_dict(legacy).settings == {}


def test_add_agentic_keeps_a_users_status_line(tmp_path: Path) -> None:
    """End to end: the real command on a repository with its own status line."""
    from .conftest import run_cli

    root = tmp_path / "shop"
    (root / ".claude").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "0"\n')
    settings = root / ".claude" / "settings.json"
    settings.write_text(json.dumps({"statusLine": THEIRS}, indent=2))
    result = run_cli("add-agentic", root, "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(settings.read_text())["statusLine"] == THEIRS
    assert (root / ".claude" / "hooks" / "status_line.py").is_file()
    removed = run_cli("remove", root, "--yes")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert json.loads(settings.read_text()) == {"statusLine": THEIRS}
