"""Nothing is ever written outside the target directory, and writes are atomic."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.domain.errors import UnsafePathError
from tac_bootstrap.infrastructure.filesystem import atomic_write, confined_path

from .conftest import tree_snapshot


@pytest.mark.parametrize("relative", ["../x", "a/../../x", "/etc/passwd", ""])
def test_confined_path_refuses_escapes(tmp_path: Path, relative: str) -> None:
    with pytest.raises(UnsafePathError):
        confined_path(tmp_path, relative)


def test_confined_path_refuses_a_symlink_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="symlink"):
        confined_path(root, "link/file.txt")
    (root / "inner").mkdir()
    (root / "ok").symlink_to(root / "inner")
    assert confined_path(root, "ok/file.txt") == root / "ok" / "file.txt"


def test_init_refuses_a_symlinked_layer_dir_pointing_outside(cli: Any, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    project = tmp_path / "out" / "demo"
    project.mkdir(parents=True)
    (project / "adws").symlink_to(outside)
    result = cli("init", "demo", "-o", tmp_path / "out", "--yes")
    assert result.exit_code == 1
    assert "outside" in result.stderr and "symlink" in result.stderr
    assert list(outside.iterdir()) == []
    assert [p.name for p in project.iterdir()] == ["adws"]  # nothing half-written


def test_config_path_escape_is_refused_before_writing(cli: Any, tmp_path: Path) -> None:
    assert cli("init", "demo", "-o", tmp_path, "--yes").exit_code == 0
    project = tmp_path / "demo"
    config = project / "tac_bootstrap.yml"
    config.write_text(config.read_text().replace('adws_dir: "adws"', 'adws_dir: "../../evil"'))
    before = tree_snapshot(tmp_path)
    result = cli("render", project)
    assert result.exit_code == 2
    assert "paths.adws_dir" in result.stderr
    assert tree_snapshot(tmp_path) == before


def test_atomic_write_sets_modes_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "tool.sh"
    atomic_write(target, b"#!/bin/sh\n", executable=True)
    assert os.access(target, os.X_OK)
    atomic_write(tmp_path / "plain.txt", b"x")
    assert not os.access(tmp_path / "plain.txt", os.X_OK)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["plain.txt", "sub", "tool.sh"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "data.txt"
    target.write_text("old")

    with pytest.raises(TypeError):
        atomic_write(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["data.txt"]
