"""A cookiecutter and a copier template equivalent to `tac-bootstrap init`, built from its output.

The generation benchmark compares tools on the same work: the rendered project becomes each
tool's template (the files, their bytes and their modes), with the project name a variable
wherever it appears, and `identical()` proves that each tool's output equals ours.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

# Where the project name is rendered; everything else is copied verbatim by both tools.
RAW_OPEN, RAW_CLOSE = "{% raw %}", "{% endraw %}"
NAME_VARIABLE = {"cookiecutter": "{{ cookiecutter.project_name }}", "copier": "{{ project_name }}"}


def render_ours(cli: str, name: str, out: Path, env: dict[str, str] | None = None) -> Path:
    """`tac-bootstrap init NAME --no-git --yes` into ``out``; returns the project directory."""
    subprocess.run(
        [cli, "init", name, "-o", str(out), "--yes", "--no-git"],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    return out / name


def _templated(text: str, name: str, variable: str) -> str:
    """``text`` as a Jinja template whose output is ``text``: literal parts in raw blocks.

    Raw blocks keep any Jinja-like text of the file literal; the tags touch the variable on
    both sides, so no block tag sits next to a newline that trim_blocks could eat.
    """
    return RAW_OPEN + (RAW_CLOSE + variable + RAW_OPEN).join(text.split(name)) + RAW_CLOSE


def files_of(project: Path) -> list[Path]:
    return sorted(p.relative_to(project) for p in project.rglob("*") if p.is_file())


def _dirs(project: Path) -> list[Path]:
    return sorted(p.relative_to(project) for p in project.rglob("*") if p.is_dir())


def _copy_file(source: Path, dest: Path, content: bytes | None = None) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        shutil.copyfile(source, dest)
    else:
        dest.write_bytes(content)
    os.chmod(dest, stat.S_IMODE(source.stat().st_mode))


def _write_tree(project: Path, name: str, dest: Path, tool: str) -> list[str]:
    """Copy the project to ``dest``, templating the files that contain the name.

    Returns the relative paths copied verbatim (not templated).
    """
    verbatim = []
    for rel in files_of(project):
        source = project / rel
        data = source.read_bytes()
        if name.encode() in data:
            text = _templated(data.decode("utf-8"), name, NAME_VARIABLE[tool])
            suffix = ".jinja" if tool == "copier" else ""
            _copy_file(source, dest / f"{rel}{suffix}", text.encode("utf-8"))
        else:
            _copy_file(source, dest / rel)
            verbatim.append(rel.as_posix())
    return verbatim


def build_cookiecutter(project: Path, name: str, root: Path) -> Path:
    """A cookiecutter template for ``project``: `{{cookiecutter.project_name}}/...`."""
    template = root / "cookiecutter-template"
    project_dir = template / "{{cookiecutter.project_name}}"
    verbatim = _write_tree(project, name, project_dir, "cookiecutter")
    spec = {
        "project_name": name,
        # What cookiecutter must not render (it renders every file otherwise).
        "_copy_without_render": verbatim,
    }
    (template / "cookiecutter.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
    return template


def build_copier(project: Path, name: str, root: Path) -> Path:
    """A copier template for ``project``: only files ending in `.jinja` are rendered."""
    template = root / "copier-template"
    _write_tree(project, name, template / "template", "copier")
    (template / "copier.yml").write_text(
        f"_subdirectory: template\n_templates_suffix: .jinja\n"
        f"project_name:\n  type: str\n  default: {name}\n",
        encoding="utf-8",
    )
    return template


def cookiecutter_config(root: Path) -> Path:
    """A cookiecutter config whose template clone and replay dirs are under ``root``."""
    config = root / "cookiecutterrc.yml"
    config.write_text(
        f"cookiecutters_dir: {root / 'cookiecutters'}\nreplay_dir: {root / 'replay'}\n",
        encoding="utf-8",
    )
    return config


def identical(ours: Path, theirs: Path) -> list[str]:
    """Differences between two trees (paths, bytes, permission bits); empty when identical."""
    problems = []
    mine, other = set(files_of(ours)), set(files_of(theirs))
    problems += [f"only in ours: {p}" for p in sorted(mine - other)]
    problems += [f"only in theirs: {p}" for p in sorted(other - mine)]
    dirs_mine, dirs_other = set(_dirs(ours)), set(_dirs(theirs))
    problems += [f"directory only in ours: {p}" for p in sorted(dirs_mine - dirs_other)]
    problems += [f"directory only in theirs: {p}" for p in sorted(dirs_other - dirs_mine)]
    for rel in sorted(mine & other):
        a, b = ours / rel, theirs / rel
        if a.read_bytes() != b.read_bytes():
            problems.append(f"bytes differ: {rel}")
        mode_a, mode_b = stat.S_IMODE(a.stat().st_mode), stat.S_IMODE(b.stat().st_mode)
        if mode_a != mode_b:
            problems.append(f"mode differs: {rel} ({mode_a:o} vs {mode_b:o})")
    return problems
