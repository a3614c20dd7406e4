"""The bases of generated files live in one file, .tac_bootstrap/bases.pack (base_pack.py)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tac_bootstrap.domain.manifest import ManifestEntry
from tac_bootstrap.infrastructure import base_pack
from tac_bootstrap.infrastructure.manifest_store import recover_base, update_bases

from .conftest import ProjectFactory, examples, run_cli

PACK = ".tac_bootstrap/bases.pack"
SHARED = {".claude/settings.json", "CLAUDE.md"}  # merged into the user's: no whole base


def test_init_keeps_every_generated_files_base_in_one_json_file(
    new_project: ProjectFactory, tmp_path: Path
) -> None:
    project = new_project(tmp_path)
    state = sorted(p.name for p in (project / ".tac_bootstrap").iterdir())
    assert state == [".gitignore", "bases.pack"]
    document = json.loads((project / PACK).read_text(encoding="utf-8"))
    assert document["format"] == 1
    manifest = json.loads((project / "tac_bootstrap.manifest.json").read_text())["files"]
    assert set(document["files"]) == set(manifest) - SHARED
    for relative, text in document["files"].items():
        assert (project / relative).read_text(encoding="utf-8") == text, relative


RELATIVES = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)


@settings(max_examples=examples(100))
@given(
    first=st.dictionaries(RELATIVES, st.binary(max_size=300), max_size=8),
    second=st.dictionaries(RELATIVES, st.none() | st.binary(max_size=300), max_size=8),
)
def test_what_is_kept_reads_back_byte_for_byte(
    first: dict[str, bytes], second: dict[str, bytes | None]
) -> None:
    """Text or not (invalid UTF-8 is kept as base64); None forgets; a no-op keeps the file."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        update_bases(root, first)
        assert base_pack.load(root) == first
        expected = dict(first)
        for relative, content in second.items():
            if content is None:
                expected.pop(relative, None)
            else:
                expected[relative] = content
        update_bases(root, second)
        assert base_pack.load(root) == expected
        if (root / PACK).exists():
            inode = os.stat(root / PACK).st_ino
            update_bases(root, dict(expected))  # the same again: not rewritten
            assert os.stat(root / PACK).st_ino == inode


DAMAGED = {
    "not json": b"{ half a file",
    "not utf-8": b"\xff\xfe{}",
    "a list": b"[]",
    "another format": b'{"format": 2, "files": {"README.md": "x"}}',
    "files not an object": b'{"format": 1, "files": ["README.md"]}',
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_a_damaged_pack_reads_as_empty_and_the_next_write_replaces_it(
    tmp_path: Path, case: str
) -> None:
    (tmp_path / ".tac_bootstrap").mkdir()
    (tmp_path / PACK).write_bytes(DAMAGED[case])
    assert base_pack.load(tmp_path) == {}
    update_bases(tmp_path, {"README.md": b"generated\n"})
    assert base_pack.load(tmp_path) == {"README.md": b"generated\n"}


def test_a_bad_entry_is_skipped_and_the_others_are_kept(tmp_path: Path) -> None:
    (tmp_path / ".tac_bootstrap").mkdir()
    files = {"a.md": "kept\n", "b.md": 3, "c.bin": {"base64": "!!"}, "d.bin": {"base64": "AAE="}}
    (tmp_path / PACK).write_text(json.dumps({"format": 1, "files": files}), encoding="utf-8")
    assert base_pack.load(tmp_path) == {"a.md": b"kept\n", "d.bin": b"\x00\x01"}


def test_a_base_is_trusted_only_when_it_is_what_the_manifest_recorded(tmp_path: Path) -> None:
    """The pack first, then an older project's own file; each checked against the sha256."""
    generated, edited = b"generated\n", b"edited by hand\n"
    entry = ManifestEntry.of(generated, "README.md.j2")
    legacy = tmp_path / ".tac_bootstrap/base/README.md"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(generated)
    update_bases(tmp_path, {"README.md": edited})
    assert recover_base(tmp_path, "README.md", entry) == generated  # the pack's is not it
    legacy.write_bytes(edited)
    assert recover_base(tmp_path, "README.md", entry) is None  # no git here either
    update_bases(tmp_path, {"README.md": generated})
    assert recover_base(tmp_path, "README.md", entry) == generated


def test_remove_deletes_the_pack_with_the_rest_of_the_state(
    new_project: ProjectFactory, tmp_path: Path
) -> None:
    project = new_project(tmp_path)
    legacy = project / ".tac_bootstrap/base/adws/README.md"  # an older version's cache too
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"old\n")
    result = run_cli("remove", project, "--yes")
    assert result.returncode == 0, result.stderr
    assert not (project / PACK).exists() and not legacy.exists()
