"""The layer must not break a Node/TypeScript project's own checks: the commands detection
writes (`npm test`: vitest, `npm run lint`: eslint and `prettier --check .`, `npm run
typecheck`: tsc) pass with the layer committed, in the main checkout (with a run's worktree and
a run's state file in it) and in the worktree; `biome check .` too. The project's style is not
prettier's default, so the layer's files pass because they are left out or written in it. The
checks still report the project's own faults. Real tools, pinned (tests/node_tools.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tac_bootstrap.domain.manifest import MANIFEST_FILENAME
from tac_bootstrap.domain.prettier_json import JsonStyle, dumps
from tac_bootstrap.infrastructure.manifest_store import load_manifest, save_manifest
from tac_bootstrap.runtime.adw_worktree import create_worktree

from . import node_tools

BIN = Path(sys.executable).parent
WORKTREE = "trees/run00001"
PACKAGE = {
    "name": "shop",
    "version": "1.0.0",
    "private": True,
    "type": "module",
    "scripts": {
        "test": "vitest run",
        "lint": "eslint . && prettier --check .",
        "typecheck": "tsc --noEmit",
        "format": "prettier --write .",
    },
    "devDependencies": {
        name: node_tools.PINNED[name]
        for name in (
            "@eslint/js",
            "eslint",
            "prettier",
            "typescript",
            "typescript-eslint",
            "vitest",
        )
    },
}
# Not prettier's defaults: four spaces, no semicolons, single quotes, prose wrapped at 100.
PRETTIER = {
    "singleQuote": True,
    "semi": False,
    "printWidth": 100,
    "tabWidth": 4,
    "proseWrap": "always",
}
TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022",
        "module": "ESNext",
        "moduleResolution": "Bundler",
        "strict": True,
        "noEmit": True,
        "skipLibCheck": True,
    }
}
ESLINT = """import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(js.configs.recommended, ...tseslint.configs.recommended)
"""
SOURCES = {
    "src/sum.ts": "export function sum(a: number, b: number): number {\n    return a + b\n}\n",
    "src/sum.test.ts": (
        "import { expect, test } from 'vitest'\nimport { sum } from './sum'\n\n"
        "test('sum', () => {\n    expect(sum(1, 2)).toBe(3)\n})\n"
    ),
    "README.md": "# shop\n\nA shop.\n",
}


def run(
    cwd: Path, command: str, *, ok: tuple[int, ...] = (0,), modules: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "TAC_", "npm_"))}
    if modules is not None:
        env["PATH"] = f"{modules / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(NO_COLOR="1", CI="1", npm_config_update_notifier="false")
    done = subprocess.run(
        command,
        shell=True,
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode in ok, f"{command} in {cwd}: {done.stdout[-4000:]}{done.stderr[-3000:]}"
    return done


def git(cwd: Path, *args: str) -> None:
    quoted = " ".join(f"'{a}'" for a in args)
    run(cwd, f"git -c user.name=T -c user.email=t@example.com {quoted}")


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The pinned tools; skipped loudly (or failed where TAC_REQUIRE_NODE_TOOLS=1)."""
    modules, reason = node_tools.install()
    if modules is None:
        if os.environ.get(node_tools.REQUIRE_ENV_VAR) == "1":
            pytest.fail(f"{node_tools.REQUIRE_ENV_VAR}=1 but {node_tools.SKIP_PREFIX} {reason}")
        pytest.skip(f"{node_tools.SKIP_PREFIX} {reason}")
    return modules


def _new_repo(root: Path, modules: Path, files: dict[str, str]) -> None:
    """A committed repository whose node_modules (ignored) is the pinned tools' install."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / ".gitignore").write_text("node_modules\ndist/\n")
    (root / "node_modules").symlink_to(modules, target_is_directory=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")


def _add_layer(root: Path) -> None:
    """add-agentic, the layer committed as the user is told to, one run's worktree and its
    state file in the main checkout (written by the project's own runtime copy)."""
    run(root, f"'{BIN / 'tac-bootstrap'}' add-agentic . --yes")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "agentic layer")
    create_worktree(root, "run00001", "feature/run00001-demo", "main")
    state = (
        "import sys; sys.path.insert(0, 'adws'); from adw_modules.adw_state import ADWState; "
        "ADWState(adw_id='run00001', issue='demo', questions=['a', 'b']).save()"
    )
    run(root, f"'{sys.executable}' -c \"{state}\"")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, node_modules: Path) -> Path:
    """A TypeScript package formatted in its own prettier style, with the layer added."""
    root = tmp_path_factory.mktemp("node-checks") / "shop"
    root.mkdir()
    files = {
        "package.json": json.dumps(PACKAGE, indent=4) + "\n",
        ".prettierrc.json": json.dumps(PRETTIER, indent=4) + "\n",
        "tsconfig.json": json.dumps(TSCONFIG, indent=4) + "\n",
        "eslint.config.js": ESLINT,
        **SOURCES,
    }
    _new_repo(root, node_modules, files)
    run(root, "npx prettier --check .")  # the project's own files are in its style
    _add_layer(root)
    return root


def commands(root: Path) -> dict[str, str]:
    data = yaml.safe_load((root / "tac_bootstrap.yml").read_text())
    return {k: v for k, v in data["commands"].items() if v}


def test_detection_writes_the_projects_own_scripts(project: Path) -> None:
    detected = commands(project)
    assert {k: detected[k] for k in ("test", "lint", "typecheck", "format")} == {
        "test": "npm test",
        "lint": "npm run lint",
        "typecheck": "npm run typecheck",
        "format": "npm run format",
    }


@pytest.mark.parametrize("where", [".", WORKTREE])
def test_the_detected_checks_pass_with_the_layer(project: Path, where: str) -> None:
    """Each check command a workflow runs (and the format check) exits 0, in the checkout and
    in the run's worktree (no node_modules of its own: npm finds the checkout's)."""
    cwd = project / where
    detected = commands(project)
    for key in ("test", "lint", "typecheck"):
        run(cwd, detected[key])
    for command in ("npx prettier --check .", "npx eslint .", "npx tsc --noEmit"):
        run(cwd, command)
    assert (project / "logs" / "adw" / "run00001" / "adw_state.json").is_file()


def test_the_format_command_leaves_the_layer_as_written(project: Path) -> None:
    """`npm run format` (prettier --write .) is what the agent runs: it changes no layer file."""
    run(project, commands(project)["format"])
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    )
    assert status.stdout == "", status.stdout


def test_the_projects_own_faults_are_still_reported(project: Path) -> None:
    """A lint error and a misformatted file of the project's own fail the checks, and only
    they are named."""
    bad, ugly = project / "src" / "bad.ts", project / "src" / "ugly.ts"
    bad.write_text("export let unused = 1\nlet never = 2\n")
    ugly.write_text('export const x = "double quotes";\n')
    try:
        lint = run(project, commands(project)["lint"], ok=(1,))
        flagged = {line for line in lint.stdout.splitlines() if line.startswith("/")}
        assert flagged == {str(bad)}, lint.stdout
        check = run(project, "npx prettier --check .", ok=(1,))
        warned = {line for line in check.stderr.splitlines() if line.startswith("[warn] ")}
        assert warned - {line for line in warned if "Code style issues" in line} == {
            "[warn] src/ugly.ts"
        }, check.stderr
    finally:
        bad.unlink()
        ugly.unlink()


@pytest.mark.parametrize(
    "style",
    [
        {},
        {"printWidth": 120},
        {"tabWidth": 4},
        {"useTabs": True},
        {"printWidth": 60, "overrides": [{"files": "*.{json,md}", "options": {"tabWidth": 3}}]},
    ],
    ids=["defaults", "wide", "four", "tabs", "override"],
)
def test_the_manifest_is_written_in_the_projects_prettier_style(
    project: Path, node_modules: Path, tmp_path: Path, style: dict[str, object]
) -> None:
    """The manifest sits at the root, where only the project's configuration applies."""
    (tmp_path / ".prettierrc.json").write_text(json.dumps(style))
    manifest = load_manifest(project)
    assert manifest is not None
    save_manifest(tmp_path, manifest)
    run(tmp_path, f"prettier --check {MANIFEST_FILENAME}", modules=node_modules)


def doctor_row(project: Path) -> dict[str, object]:
    out = run(project, f"'{BIN / 'tac-bootstrap'}' doctor . --json", ok=(0, 1)).stdout
    rows = [row for row in json.loads(out)["checks"] if row["name"] == "node checks"]
    assert len(rows) == 1, rows
    row: dict[str, object] = rows[0]
    return row


VITEST_CONFIG = """import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({ test: { exclude: [...configDefaults.exclude, 'trees/**'] } })
"""
ESLINT_IGNORING_TREES = """import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
    { ignores: ['trees/'] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
)
"""


def test_doctor_says_how_to_keep_the_checks_off_the_worktrees(project: Path) -> None:
    """In the checkout, vitest, eslint and tsc also check the runs' worktrees: a broken run
    really fails them there, doctor warns, and what it says to add really leaves trees/ out."""
    row = doctor_row(project)
    assert row["status"] == "warn", row
    assert "vitest, eslint, tsc also check trees/" in str(row["message"]), row
    worktree_src = project / WORKTREE / "src"
    (worktree_src / "wip.ts").write_text("export const x: number = 'no'\nlet unused = 1\n")
    (worktree_src / "wip.test.ts").write_text(
        "import { expect, test } from 'vitest'\n\ntest('wip', () => expect(1).toBe(2))\n"
    )
    eslint, tsconfig = project / "eslint.config.js", project / "tsconfig.json"
    before = {path: path.read_text() for path in (eslint, tsconfig)}
    detected = commands(project)
    try:
        for key in ("test", "lint", "typecheck"):
            failed = run(project, detected[key], ok=(1, 2))
            assert "trees/run00001/src/wip" in failed.stdout + failed.stderr, key
        hint = str(row["hint"])
        assert "test.exclude: [...configDefaults.exclude, 'trees/**']" in hint
        assert "{ ignores: ['trees/'] }" in hint and '"exclude": ["node_modules", "trees"]' in hint
        (project / "vitest.config.ts").write_text(VITEST_CONFIG)
        eslint.write_text(ESLINT_IGNORING_TREES)
        config = {**TSCONFIG, "exclude": ["node_modules", "trees"]}
        tsconfig.write_text(dumps(config, JsonStyle(print_width=100, tab_width=4)))
        for key in ("test", "lint", "typecheck"):
            run(project, detected[key])
        assert doctor_row(project)["status"] == "ok"
    finally:
        (project / "vitest.config.ts").unlink(missing_ok=True)
        for path, text in before.items():
            path.write_text(text)
        for name in ("wip.ts", "wip.test.ts"):
            (worktree_src / name).unlink()


@pytest.fixture(scope="module")
def biome_project(tmp_path_factory: pytest.TempPathFactory, node_modules: Path) -> Path:
    """A package checked by Biome with `biome init`'s configuration (tabs), the layer added."""
    root = tmp_path_factory.mktemp("biome-checks") / "web"
    root.mkdir()
    package = {
        "name": "web",
        "private": True,
        "scripts": {"lint": "biome check ."},
        "devDependencies": {"@biomejs/biome": node_tools.PINNED["@biomejs/biome"]},
    }
    files = {
        "package.json": json.dumps(package, indent="\t") + "\n",
        "src/add.js": "export function add(a, b) {\n\treturn a + b;\n}\n",
    }
    _new_repo(root, node_modules, files)
    run(root, "npx biome init")
    run(root, "npx biome check --write .")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "biome")
    run(root, "npx biome check .")
    run(root, f"'{BIN / 'tac-bootstrap'}' add-agentic . --yes")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "agentic layer")
    return root


def test_biome_check_passes_with_the_layer(biome_project: Path) -> None:
    """In the checkout, and in a run's worktree (Biome in the checkout while a worktree exists
    is another matter: see specs/layer-vs-project-checks-node.md)."""
    assert commands(biome_project)["lint"] == "npm run lint"
    run(biome_project, "npm run lint")
    bad = biome_project / "src" / "bad.js"
    bad.write_text("export function f(a) {\n  return a == 1\n}\n")  # == and spaces: not ours
    try:
        failed = run(biome_project, "npx biome check .", ok=(1,))
    finally:
        bad.unlink()
    said = failed.stdout + failed.stderr
    assert "src/bad.js" in said
    for layer in (".claude", "adws/", "specs/", "CLAUDE.md", "tac_bootstrap"):
        assert layer not in said, said
    worktree = create_worktree(biome_project, "run00001", "feature/run00001-demo", "main")
    run(Path(worktree), "npm run lint")
