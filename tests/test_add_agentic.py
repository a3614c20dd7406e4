"""`tac-bootstrap add-agentic`: the agentic layer for an existing repository.

Real repositories in temporary directories, through CliRunner, real processes (no terminal:
never a hang) and a real pseudo-terminal for the interactive confirmation. The rule under test
throughout: a file the repository already has is never modified, except that .gitignore gets
its missing lines appended.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.application.gitignore import (
    HEADER,
    GitignoreAction,
    required_lines,
    update_gitignore,
)
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import (
    FRAMEWORKS,
    PACKAGE_MANAGERS,
    Language,
    TacConfig,
    new_config,
)
from tac_bootstrap.infrastructure.config_loader import load_config

from .conftest import run_cli, tree_snapshot
from .test_interactive import TIMEOUT, pty_session

GITIGNORE_LINES = [  # what add-agentic ensures; none of them may match a generated file
    ".tac_bootstrap/",
    "*.db-wal",
    "*.db-shm",
    "adws/schema/orchestrator.db",
    "*.tac-bootstrap",
    "/trees/",
]
SOME_LINES = [  # any lines, for the append mechanics of update_gitignore
    ".tac_bootstrap/",
    "logs/",
    "*.db-wal",
    "*.db-shm",
    "adws/schema/orchestrator.db",
]

PYPROJECT = """\
[project]
name = "shop"
dependencies = ["fastapi>=0.110"]

[tool.uv]
dev-dependencies = ["pytest>=8"]

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.ruff]
line-length = 100

[tool.mypy]
strict = true
"""
USER_GITIGNORE = b"# mine\n__pycache__/\n/logs\n.venv"  # no final newline; /logs covers logs/
USER_SETTINGS = b'{"permissions": {"allow": ["Bash(make:*)"]}}\n'
USER_README = b"# shop\n\nOur shop.\n"


def python_repo(root: Path) -> Path:
    (root / ".claude").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "main.py").write_text("app = None\n")
    (root / ".gitignore").write_bytes(USER_GITIGNORE)
    (root / "README.md").write_bytes(USER_README)
    (root / ".claude" / "settings.json").write_bytes(USER_SETTINGS)
    return root


def node_repo(root: Path) -> Path:
    root.mkdir(parents=True)
    package = {
        "name": "web",
        "private": True,
        "packageManager": "pnpm@9.0.0",
        "scripts": {"test": "vitest run", "lint": "eslint .", "dev": "vite", "build": "vite build"},
        "dependencies": {"react": "^18.0.0"},
        "devDependencies": {"typescript": "^5.4.0", "vitest": "^1.0.0"},
    }
    (root / "package.json").write_text(json.dumps(package, indent=2))
    (root / "pnpm-lock.yaml").write_text("lockfileVersion: '9.0'\n")
    (root / "tsconfig.json").write_text("{}\n")
    return root


def outside_layer(snapshot: dict[str, bytes]) -> dict[str, bytes]:
    """The repository's own files: what add-agentic must leave byte for byte as it was
    (.claude/settings.json is merged: tests/test_shared_files.py)."""
    return {path: data for path, data in snapshot.items() if path in {
        "pyproject.toml", "main.py", "README.md",
    }}  # fmt: skip


# -- the whole run, as a real process without a terminal ---------------------------------------


def test_python_repo_gets_config_and_layer_and_keeps_every_user_file(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    before = tree_snapshot(root)
    # No --yes and no terminal: the detected values are taken; the run never waits for input.
    result = run_cli("add-agentic", root, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output  # the user's .claude/settings.json is merged
    assert "conflict:" not in output
    assert "Language [" not in output  # never prompted

    # The repository's own files are untouched, byte for byte.
    after = tree_snapshot(root)
    assert outside_layer(after) == outside_layer(before)
    # .gitignore: the old bytes unchanged, the missing lines appended under the header.
    gitignore = after[".gitignore"]
    assert gitignore.startswith(USER_GITIGNORE)
    appended = gitignore[len(USER_GITIGNORE) :].decode()
    assert appended == (
        "\n\n# tac-bootstrap agentic layer\n"
        ".tac_bootstrap/\n*.db-wal\n*.db-shm\nadws/schema/orchestrator.db\n*.tac-bootstrap\n"
        "/trees/\n"
    )  # no logs line: logs/.gitignore ignores the logs (the user's /logs is outside git here)

    # The config holds what was detected.
    config = load_config(root / "tac_bootstrap.yml")
    assert config.project.name == "shop"
    assert (config.project.language, config.project.framework) == (Language.PYTHON, "fastapi")
    assert config.package_manager.value == "uv"
    assert config.commands.test == "uv run python -m pytest"
    assert config.commands.lint == "uv run ruff check ."
    assert config.commands.typecheck == "uv run mypy ."
    assert config.commands.start == "uv run uvicorn main:app"
    # The layer is there, and it uses the project's own commands.
    for path in (
        "adws/adw_sdlc.py",
        "adws/adw_modules/adw_database.py",
        "adws/schema/schema_orchestrator.sql",
        ".claude/hooks/orchestrator_hook.py",
        "specs/templates/feature.md",
        "logs/.gitignore",
        "tac_bootstrap.manifest.json",
    ):
        assert (root / path).is_file(), path
    assert "`uv run python -m pytest`" in (root / ".claude/commands/test.md").read_text()
    manifest = json.loads((root / "tac_bootstrap.manifest.json").read_text())
    # The user's settings keep their rule and gain the layer's hooks; the manifest says which
    # part is ours, and nothing is proposed beside it.
    settings = json.loads((root / ".claude/settings.json").read_text())
    assert settings["permissions"]["allow"][0] == "Bash(make:*)"
    assert "orchestrator_hook.py" in json.dumps(settings["hooks"]["PreToolUse"])
    assert manifest["files"][".claude/settings.json"]["merge"] == "json"
    assert not (root / ".claude/settings.json.tac-bootstrap").exists()

    # Once the config exists, the repository has the layer: a second run is refused.
    again = run_cli("add-agentic", root, cwd=tmp_path)
    assert again.returncode == 2
    assert "already has the agentic layer" in again.stderr
    assert "use `tac-bootstrap upgrade`" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1  # one line, no traceback
    assert tree_snapshot(root) == after


def test_stdin_closed_pipe_without_yes_never_hangs(tmp_path: Path) -> None:
    root = node_repo(tmp_path / "web")
    result = subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "add-agentic", str(root)],
        input="",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert load_config(root / "tac_bootstrap.yml").commands.test == "pnpm run test"


# -- in-process ----------------------------------------------------------------------------------


def test_node_repo_with_pnpm_lock_and_scripts(cli: Any, tmp_path: Path) -> None:
    root = node_repo(tmp_path / "web")
    result = cli("add-agentic", root, "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["command"] == "add-agentic"
    assert document["project"] == "web"
    assert document["stack"]["language"] == "typescript"
    assert document["stack"]["framework"] == "react"
    assert document["stack"]["package_manager"] == "pnpm"
    assert document["stack"]["commands"]["test"] == "pnpm run test"
    assert document["stack"]["commands"]["typecheck"] == "pnpm exec tsc --noEmit"
    assert document["stack"]["commands"]["start"] == "pnpm run dev"
    assert {
        "file": "package.json",
        "finding": "\"packageManager\": 'pnpm@9.0.0' -> package manager pnpm",
    } in document["evidence"]
    assert document["gitignore"] == {
        "path": ".gitignore",
        "action": "create",
        "lines": GITIGNORE_LINES,
    }
    assert document["summary"]["conflict"] == 0
    # People's output (the detected table) went to stderr; stdout is the JSON document alone.
    assert "Detected in" in result.stderr

    config = load_config(root / "tac_bootstrap.yml")
    assert config.package_manager.value == "pnpm"
    assert config.commands.lint == "pnpm run lint"
    assert config.commands.build == "pnpm run build"
    assert config.git.init is False
    assert (root / ".gitignore").read_text() == "\n".join([HEADER, *GITIGNORE_LINES, ""])
    settings = json.loads((root / ".claude/settings.json").read_text())
    assert "Bash(pnpm run test:*)" in settings["permissions"]["allow"]


def test_dry_run_writes_nothing_and_shows_the_gitignore_lines(cli: Any, tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    before = tree_snapshot(root)
    result = cli("add-agentic", root, "--dry-run")
    assert result.exit_code == 0  # the user's settings.json would be merged
    assert tree_snapshot(root) == before
    assert "tac_bootstrap.yml  create" in result.stdout
    assert "settings.json  merge" in result.stdout
    assert ".gitignore: would append 6 line(s): .tac_bootstrap/, *.db-wal" in result.stdout

    (root / ".claude" / "settings.json").unlink()
    result = cli("add-agentic", root, "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["dry_run"] is True
    assert document["gitignore"]["action"] == "append"
    assert not (root / "tac_bootstrap.yml").exists()
    assert not (root / "adws").exists()


def test_ruby_repo_gets_a_ruby_layer(cli: Any, tmp_path: Path) -> None:
    root = tmp_path / "blog"
    root.mkdir()
    (root / "Gemfile").write_text("source 'https://rubygems.org'\ngem 'rails'\ngem 'rubocop'\n")
    (root / "spec").mkdir()
    result = cli("add-agentic", root, "--yes")
    assert result.exit_code == 0, result.stderr
    config = load_config(root / "tac_bootstrap.yml")
    assert (config.project.language, config.project.framework) == (Language.RUBY, "rails")
    assert config.package_manager.value == "bundler"
    assert config.commands.test == "bundle exec rspec"
    prime = (root / ".claude/commands/prime.md").read_text()
    assert "Ruby with Rails" in prime
    assert "`bundle exec rspec spec/path/to/thing_spec.rb:42`" in prime


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing"], "does not exist"),
        (["file.txt"], "is not a directory"),
    ],
)
def test_path_must_be_an_existing_directory(
    cli: Any, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "file.txt").write_text("x")
    result = cli("add-agentic", *(str(tmp_path / a) for a in args))
    assert result.exit_code == 2
    assert message in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_leftover_manifest_without_config_is_refused(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "tac_bootstrap.manifest.json").write_text("{}")
    result = cli("add-agentic", tmp_path, "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["ok"] is False


def test_an_empty_directory_is_a_python_guess_with_a_warning(cli: Any, tmp_path: Path) -> None:
    result = cli("add-agentic", tmp_path, "--yes")
    assert result.exit_code == 0, result.stderr
    assert "no language markers found" in result.stderr
    config = load_config(tmp_path / "tac_bootstrap.yml")
    assert config.project.language is Language.PYTHON
    assert config.commands.test == ""  # nothing invented


# -- a person at a terminal ----------------------------------------------------------------------


def _choice_prompt(label: str) -> re.Pattern[str]:
    return re.compile(rf"{label}\s*\[([^\]\n]*)\]\s*\(([^)\n]*)\)\s*:")


def _command_prompt(label: str) -> re.Pattern[str]:
    return re.compile(rf"{label} command\s*\(([^\n]*)\)\s*:")


def test_pty_confirm_and_change_the_test_command(tmp_path: Path) -> None:
    root = python_repo(tmp_path / "shop")
    (root / ".claude" / "settings.json").unlink()
    argv = [sys.executable, "-m", "tac_bootstrap", "add-agentic"]
    with pty_session(argv, cwd=root) as session:
        session.expect(re.compile(r"Detected in"))
        language = session.expect(_choice_prompt("Language"))
        assert language.group(2) == "python" and "ruby" in language.group(1).split("/")
        session.send("")
        framework = session.expect(_choice_prompt("Framework"))
        assert framework.group(2) == "fastapi"
        session.send("")
        manager = session.expect(_choice_prompt("Package manager"))
        assert manager.group(2) == "uv"
        session.send("")
        test = session.expect(_command_prompt("Test"))
        assert test.group(1) == "uv run python -m pytest"
        session.send("uv run pytest -x -q")
        lint = session.expect(_command_prompt("Lint"))
        assert lint.group(1) == "uv run ruff check ."
        session.send("")
        typecheck = session.expect(_command_prompt("Typecheck"))
        assert typecheck.group(1) == "uv run mypy ."
        session.send("-")  # none
        start = session.expect(_command_prompt("Start"))
        assert start.group(1) == "uv run uvicorn main:app"
        session.send("")
        code = session.wait()
        assert code == 0, session.text

    config = load_config(root / "tac_bootstrap.yml")
    assert config.commands.test == "uv run pytest -x -q"
    assert config.commands.lint == "uv run ruff check ."
    assert config.commands.typecheck == ""
    assert config.commands.start == "uv run uvicorn main:app"
    assert config.commands.install == "uv sync"  # not asked: kept as detected
    assert "`uv run pytest -x -q`" in (root / ".claude/commands/test.md").read_text()


def test_pty_changing_the_language_offers_that_languages_defaults(tmp_path: Path) -> None:
    root = node_repo(tmp_path / "web")
    argv = [sys.executable, "-m", "tac_bootstrap", "add-agentic", "--dry-run"]
    with pty_session(argv, cwd=root) as session:
        assert session.expect(_choice_prompt("Language")).group(2) == "typescript"
        session.send("go")
        framework = session.expect(_choice_prompt("Framework"))
        assert framework.group(1).split("/") == ["none", "gin", "echo"]
        session.send("")
        session.expect(_choice_prompt("Package manager"))
        session.send("")
        assert session.expect(_command_prompt("Test")).group(1) == "go test ./..."
        session.send("")
        assert session.expect(_command_prompt("Lint")).group(1) == "go vet ./..."
        session.send("")
        assert session.expect(_command_prompt("Typecheck")).group(1) == "-"  # none for Go
        session.send("")
        assert session.expect(_command_prompt("Start")).group(1) == "go run ."
        session.send("")
        session.expect(re.compile(r"tac_bootstrap\.yml\s+create"))
        code = session.wait()
        assert code == 0, session.text
    assert not (root / "tac_bootstrap.yml").exists()  # a dry run, even after questions


# -- .gitignore merging --------------------------------------------------------------------------


def _config() -> TacConfig:
    return new_config("x")


def test_required_lines_follow_the_config() -> None:
    config = _config()
    assert required_lines(config) == GITIGNORE_LINES  # no logs line: see GITIGNORE_LINES
    config.paths.logs_dir = "var/log"
    config.paths.adws_dir = "agents"
    assert not any("var/log" in line for line in required_lines(config))
    assert required_lines(config)[3] == "agents/schema/orchestrator.db"


def test_gitignore_with_crlf_keeps_its_line_endings(tmp_path: Path) -> None:
    original = b"node_modules/\r\n.tac_bootstrap\r\n"
    (tmp_path / ".gitignore").write_bytes(original)
    update = update_gitignore(tmp_path, SOME_LINES, dry_run=False)
    assert update.action is GitignoreAction.APPEND
    assert update.lines == ("logs/", "*.db-wal", "*.db-shm", "adws/schema/orchestrator.db")
    data = (tmp_path / ".gitignore").read_bytes()
    assert data == original + (
        b"\r\n# tac-bootstrap agentic layer\r\nlogs/\r\n*.db-wal\r\n*.db-shm\r\n"
        b"adws/schema/orchestrator.db\r\n"
    )


def test_gitignore_ending_in_a_blank_line_gets_no_second_one(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_bytes(b"dist/\n\n")
    update_gitignore(tmp_path, ["logs/"], dry_run=False)
    assert (
        tmp_path / ".gitignore"
    ).read_bytes() == b"dist/\n\n# tac-bootstrap agentic layer\nlogs/\n"


def test_complete_gitignore_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / ".gitignore"
    path.write_bytes(("\n".join(SOME_LINES)).encode())
    os.utime(path, (1_000_000, 1_000_000))
    update = update_gitignore(tmp_path, SOME_LINES, dry_run=False)
    assert update.action is GitignoreAction.UNCHANGED and update.lines == ()
    assert path.stat().st_mtime == 1_000_000
    # Appending twice would be the same as appending once.
    path.write_bytes(b"a\n")
    update_gitignore(tmp_path, SOME_LINES, dry_run=False)
    once = path.read_bytes()
    assert update_gitignore(tmp_path, SOME_LINES, dry_run=False).action.value == "unchanged"
    assert path.read_bytes() == once


def test_gitignore_dry_run_and_symlink_write_nothing(tmp_path: Path) -> None:
    update = update_gitignore(tmp_path, SOME_LINES, dry_run=True)
    assert update.action is GitignoreAction.CREATE
    assert not (tmp_path / ".gitignore").exists()
    (tmp_path / "shared-ignore").write_text("x\n")
    (tmp_path / ".gitignore").symlink_to("shared-ignore")
    update = update_gitignore(tmp_path, SOME_LINES, dry_run=False)
    assert update.action is GitignoreAction.SKIPPED
    assert (tmp_path / "shared-ignore").read_text() == "x\n"
    assert (tmp_path / ".gitignore").is_symlink()


# -- every language renders ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "framework"),
    [(lang, fw) for lang in Language for fw in FRAMEWORKS[lang]],
)
def test_every_template_renders_for_every_stack(language: Language, framework: str) -> None:
    """A language or framework missing from a template's lookup table fails here, not in use."""
    service = ScaffoldService()
    for pm in PACKAGE_MANAGERS[language]:
        config = new_config("stack", language, framework, pm)
        plan = service.build_plan(config, include_config=True)
        for op in plan.files:
            content = service.content_for(op, config)
            assert content.endswith(b"\n") or op.path.endswith(".gitkeep"), op.path
        prime = service.content_for(
            next(op for op in plan.files if op.path == ".claude/commands/prime.md"), config
        ).decode()
        assert language.value.lower() in prime.lower()


def test_changing_the_language_keeps_makefile_targets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.prompt import Prompt

    from tac_bootstrap.application.stack_detection import detect_stack
    from tac_bootstrap.cli.add_agentic import _ask
    from tac_bootstrap.cli.output import Output

    root = node_repo(tmp_path / "web")
    (root / "Makefile").write_text("test:\n\tvitest\n")
    answers = iter(["python", "none", "poetry", "", "", "", ""])
    monkeypatch.setattr(Prompt, "ask", lambda *args, **kwargs: next(answers) or kwargs["default"])
    language, framework, pm, commands = _ask(Output(), detect_stack(root))
    assert (language, framework, pm.value) == (Language.PYTHON, "none", "poetry")
    assert commands.test == "make test"  # the Makefile target survives the change
    assert commands.lint == "poetry run ruff check ."  # the rest: poetry's defaults
    assert commands.install == "poetry install"
