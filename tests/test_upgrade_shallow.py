"""`upgrade` in a shallow clone (`git clone --depth 1`): the blobs generated last time, the merge
bases, are not there. Every edited file must be kept as it is, the new version written beside
it, and the message must say what is missing and how to fetch it; after `git fetch
--unshallow` the same upgrade merges."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_cli

# Files whose template uses the project name, so that renaming the project changes them.
EDITED = ["adws/README.md", ".claude/commands/prime.md", "adws/schema/README.md"]


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout


def upgrade_json(root: Path) -> tuple[int, dict[str, Any]]:
    result = run_cli("upgrade", root, "--yes", "--json")
    return result.returncode, json.loads(result.stdout)


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated project whose user edited (and committed) the files in EDITED."""
    base = tmp_path_factory.mktemp("origin")
    result = run_cli("init", "demo", "-o", base, "--yes")
    assert result.returncode == 0, result.stderr
    root = base / "demo"
    for relative in EDITED:
        path = root / relative
        assert "demo" in path.read_text(), f"{relative} does not depend on the project name"
        path.write_text(f"{path.read_text()}\nTeam note for {relative}.\n")
    git(root, "add", *EDITED)
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "edit")
    return root


def shallow_clone(origin: Path, target: Path) -> Path:
    git(target.parent, "clone", "-q", "--depth", "1", f"file://{origin}", str(target))
    assert git(target, "rev-parse", "--is-shallow-repository").strip() == "true"
    config = target / "tac_bootstrap.yml"
    config.write_text(config.read_text().replace('name: "demo"', 'name: "renamed"'))
    return target


@pytest.mark.parametrize("edited", EDITED)
def test_a_shallow_clone_keeps_edited_files_and_says_how_to_fetch_the_base(
    origin: Path, tmp_path: Path, edited: str
) -> None:
    clone = shallow_clone(origin, tmp_path / "clone")
    before = (clone / edited).read_bytes()
    code, document = upgrade_json(clone)
    assert code == 1, document
    files = {f["path"]: f for f in document["files"]}
    row = files[edited]
    assert row["change"] == "conflict"
    assert "shallow clone" in row["detail"]
    assert "git fetch --unshallow" in row["detail"]
    assert "--deepen" in row["detail"]
    assert "commit generated files" not in row["detail"]  # the old, misleading hint
    assert (clone / edited).read_bytes() == before  # kept as it is: no markers, no loss
    proposal = (clone / f"{edited}.tac-bootstrap").read_text()
    assert "renamed" in proposal and "Team note" not in proposal
    # Every edited file is treated the same way; unedited ones are simply updated.
    assert {p for p, f in files.items() if f["change"] == "conflict"} == set(EDITED)
    assert files[".claude/commands/start.md"]["change"] == "update"

    git(clone, "fetch", "-q", "--unshallow")
    code, document = upgrade_json(clone)
    assert code == 0, document
    merged = (clone / edited).read_text()
    assert "Team note" in merged and "renamed" in merged and "<<<<<<<" not in merged


def test_a_full_clone_still_merges(origin: Path, tmp_path: Path) -> None:
    clone = tmp_path / "full"
    git(tmp_path, "clone", "-q", f"file://{origin}", str(clone))
    config = clone / "tac_bootstrap.yml"
    config.write_text(config.read_text().replace('name: "demo"', 'name: "renamed"'))
    code, document = upgrade_json(clone)
    assert code == 0, document
    assert {
        f["path"]: f["change"] for f in document["files"] if f["path"] in EDITED
    } == dict.fromkeys(EDITED, "merge")
