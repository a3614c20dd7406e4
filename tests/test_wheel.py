"""The built wheel is complete and works when installed on its own, away from this repository.

One wheel build and one fresh virtual environment: the wheel must carry every template file
(dotfiles included), and `tac-bootstrap init` run from the installed console script must
produce the same project as the source tree does.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO_ROOT / "tac_bootstrap_cli" / "tac_bootstrap"
TEMPLATES_DIR = PACKAGE_DIR / "templates"

EXPECTED_OUTPUT = [
    "tac_bootstrap.yml",
    "adws/schema/schema_orchestrator.sql",
    "adws/schema/README.md",
    "adws/schema/migrations/001_initial.sql",
    "adws/schema/migrations/.gitkeep",
    "adws/schema/.gitignore",
]


def _clean_env() -> dict[str, str]:
    """The environment minus anything that would let the source tree leak into the new venv."""
    env = dict(os.environ)
    for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONSAFEPATH"):
        env.pop(key, None)
    env["PYTHONNOUSERSITE"] = "1"
    env["NO_COLOR"] = "1"
    return env


def _run(
    argv: list[str], cwd: Path, timeout: float, **env: str
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv,
        cwd=cwd,
        env={**_clean_env(), **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, argv))} exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )
    return result


def _source_version() -> str:
    text = (PACKAGE_DIR / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r"^__version__\s*=\s*[\"']([^\"']+)[\"']", text, re.MULTILINE)
    assert match, "no __version__ in tac_bootstrap/__init__.py"
    return match.group(1)


def _files_under(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_wheel_ships_templates_and_installed_cli_works(tmp_path: Path) -> None:
    # -- build ---------------------------------------------------------------------------------
    dist = tmp_path / "dist"
    build_cmd = [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist)]
    if importlib.util.find_spec("hatchling") is not None:
        build_cmd.append("--no-isolation")  # the backend is at hand: skip the isolated env
    _run([*build_cmd, str(REPO_ROOT)], cwd=tmp_path, timeout=300)
    wheels = sorted(dist.glob("*.whl"))
    assert len(wheels) == 1, f"expected one wheel, got {wheels}"
    wheel = wheels[0]
    version = _source_version()
    assert wheel.name.startswith(f"tac_bootstrap-{version}-"), wheel.name

    # -- every template file is in the wheel, unchanged -----------------------------------------
    templates = _files_under(TEMPLATES_DIR)
    assert "adws/schema/migrations/.gitkeep" in templates  # the walk does see dotfiles
    with zipfile.ZipFile(wheel) as archive:
        members = set(archive.namelist())
        missing = sorted(
            rel for rel in templates if f"tac_bootstrap/templates/{rel}" not in members
        )
        assert not missing, f"template files missing from {wheel.name}: {missing}"
        changed = sorted(
            rel
            for rel, data in templates.items()
            if archive.read(f"tac_bootstrap/templates/{rel}") != data
        )
        assert not changed, f"template files differ in {wheel.name}: {changed}"
        # The build hook's modules: one per rendered template, and their index.
        compiled = {m for m in members if m.startswith("tac_bootstrap/_compiled_templates/")}
        rendered = [rel for rel in templates if rel.endswith(".j2")]
        assert "tac_bootstrap/_compiled_templates/index.json" in compiled
        assert len(compiled) == len(rendered) + 1, sorted(compiled)
        # The dashboard's pages and assets are package data too (no CDN: all in the wheel).
        dashboard = _files_under(PACKAGE_DIR / "dashboard")
        shipped = [rel for rel in dashboard if rel.startswith(("templates/", "static/"))]
        assert "templates/base.html" in shipped and "static/dashboard.js" in shipped
        absent = sorted(rel for rel in shipped if f"tac_bootstrap/dashboard/{rel}" not in members)
        assert not absent, f"dashboard files missing from {wheel.name}: {absent}"

    # -- install into a fresh venv -------------------------------------------------------------
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, timeout=180)
    bin_dir = venv / "bin"
    _run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        cwd=tmp_path,
        timeout=600,
    )

    workdir = tmp_path / "elsewhere"  # not the repository, so nothing is imported from source
    workdir.mkdir()
    located = _run(
        [str(bin_dir / "python"), "-c", "import tac_bootstrap; print(tac_bootstrap.__file__)"],
        cwd=workdir,
        timeout=60,
    )
    installed_at = Path(located.stdout.strip()).resolve()
    assert venv.resolve() in installed_at.parents, f"imported from {installed_at}, not the venv"

    # -- the installed console script creates a project ---------------------------------------
    out = tmp_path / "out"
    cache = tmp_path / "cache"  # a first run on this machine: nothing compiled yet
    _run(
        [str(bin_dir / "tac-bootstrap"), "init", "demo", "--yes", "--no-git", "-o", str(out)],
        cwd=workdir,
        timeout=120,
        XDG_CACHE_HOME=str(cache),
    )
    # Every template came compiled with the wheel: none was compiled into the user's cache.
    assert list((cache / "tac-bootstrap" / "jinja-f").iterdir()) == []
    project = out / "demo"
    for rel in EXPECTED_OUTPUT:
        assert (project / rel).is_file(), f"installed CLI did not create demo/{rel}"
    assert "language: python" in (project / "tac_bootstrap.yml").read_text(encoding="utf-8")

    # ... and exactly the project the source tree creates.
    reference = tmp_path / "reference"
    _run(
        [
            sys.executable,
            "-m",
            "tac_bootstrap",
            "init",
            "demo",
            "--yes",
            "--no-git",
            "-o",
            str(reference),
        ],
        cwd=workdir,
        timeout=120,
    )
    assert _files_under(project) == _files_under(reference / "demo")

    # -- the dashboard without its extra: one line saying how to install it, exit 2 ------------
    bare = subprocess.run(
        [str(bin_dir / "tac-bootstrap"), "dashboard", "--project", str(project)],
        cwd=workdir, capture_output=True, text=True, timeout=60, env=_clean_env(),
    )  # fmt: skip
    assert bare.returncode == 2, bare.stderr
    assert "pip install 'tac-bootstrap[dashboard]'" in bare.stderr

    # -- python -m tac_bootstrap --version -----------------------------------------------------
    shown = _run([str(bin_dir / "python"), "-m", "tac_bootstrap", "--version"], workdir, 60)
    assert shown.stdout.strip() == f"tac-bootstrap {version}", shown.stdout
