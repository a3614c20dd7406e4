"""Monorepos and workspaces in `add-agentic`: the parts are detected, shown, and the commands
work from the root (application/stack_detection/workspaces.py, parts.py).

The fixtures in tests/fixtures/workspaces/ are the files detection reads from real public
repositories (each folder's SOURCE.md names the repository and commits). Each layout is run
through the real CLI (`python -m tac_bootstrap add-agentic COPY --yes --json`) in a copy; the
synthetic repositories below test one rule each (safe globs, the cap, filter syntax).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap import api
from tac_bootstrap.application.add_agentic_service import inspect_repository
from tac_bootstrap.application.stack_detection import detect_stack
from tac_bootstrap.application.stack_detection.parts import MAX_CHAIN, combine, from_root
from tac_bootstrap.application.stack_detection.workspace_glob import Walk
from tac_bootstrap.application.stack_detection.workspaces import (
    MAX_PARTS,
    detect_workspace,
    go_work_uses,
)
from tac_bootstrap.domain.config import new_config
from tac_bootstrap.domain.errors import UsageError
from tac_bootstrap.domain.permissions import command_rules, command_warnings, settings_policy

from .conftest import run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "workspaces"


def copy_fixture(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    return root


def add_agentic(root: Path, *options: str) -> tuple[dict[str, Any], str]:
    """The real CLI, `--yes --json`: its document and its stderr."""
    result = run_cli("add-agentic", root, "--yes", "--json", *options, env={"NO_COLOR": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout), result.stderr


def allow_rules(root: Path) -> list[str]:
    settings = json.loads((root / ".claude/settings.json").read_text())
    return list(settings["permissions"]["allow"])


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def package_json(name: str, **scripts: str) -> str:
    return json.dumps({"name": name, "scripts": scripts})


# -- the fixtures of real repositories, through the real CLI --------------------------------------


def test_backend_and_frontend_layout_runs_each_part_from_the_root(tmp_path: Path) -> None:
    # fastapi/full-stack-fastapi-template before its root workspace files: no root manifest.
    root = copy_fixture("fullstack-fastapi", tmp_path)
    doc, stderr = add_agentic(root)
    stack, commands = doc["stack"], doc["stack"]["commands"]
    parts = {p["path"]: p for p in doc["parts"]}
    assert list(parts) == ["backend", "frontend"]
    assert (parts["backend"]["role"], parts["frontend"]["role"]) == ("backend", "frontend")
    assert parts["backend"]["source"] == "layout"
    # The primary language is the heaviest part's: the FastAPI backend.
    assert (stack["language"], stack["framework"], stack["package_manager"]) == (
        "python",
        "fastapi",
        "uv",
    )
    # Each part's command with its tool's directory option, chained.
    assert commands["lint"].startswith("uv run --directory backend ")
    assert commands["lint"].endswith(" && npm --prefix frontend run lint")
    assert commands["build"].endswith(" && npm --prefix frontend run build")
    assert commands["test"].startswith("uv run --directory backend ")
    assert commands["typecheck"].endswith(" && (cd frontend && npx tsc --noEmit)")
    assert commands["install"].startswith("uv sync --directory backend")
    # "No language markers found" is not said: the warning names the parts.
    assert "no language markers found" not in stderr
    assert "no language markers at the root; found parts: backend (python), frontend" in stderr
    # A chain of simple commands gets one allow rule per command, and no warning.
    assert "not a simple command" not in stderr
    rules = allow_rules(root)
    assert "Bash(npm --prefix frontend run lint:*)" in rules
    assert "Bash(npx tsc --noEmit:*)" in rules  # the subshell's cd needs no rule
    assert not [rule for rule in rules if "&&" in rule or rule.startswith("Bash(cd")]


def test_part_option_detects_that_part_only(tmp_path: Path) -> None:
    root = copy_fixture("fullstack-fastapi", tmp_path)
    doc, _ = add_agentic(root, "--part", "frontend")
    assert doc["part"] == "frontend"
    assert doc["stack"]["language"] == "typescript"
    commands = doc["stack"]["commands"]
    assert commands["lint"] == "npm --prefix frontend run lint"
    assert commands["start"] == "npm --prefix frontend run dev"
    assert commands["typecheck"] == "(cd frontend && npx tsc --noEmit)"
    assert doc["project"] == "fullstack-fastapi"  # the repository's name, not the part's


def test_unknown_part_is_one_line_usage_error_listing_the_parts(tmp_path: Path) -> None:
    root = copy_fixture("fullstack-fastapi", tmp_path)
    result = run_cli("add-agentic", root, "--yes", "--part", "mobile", env={"NO_COLOR": "1"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "--part mobile: no such part" in lines[0]
    assert "parts: backend, frontend" in lines[0]
    assert not (root / "tac_bootstrap.yml").exists()


def test_uv_and_bun_workspaces_at_the_root(tmp_path: Path) -> None:
    # fastapi/full-stack-fastapi-template today: [tool.uv.workspace] + package.json workspaces.
    root = copy_fixture("fullstack-fastapi-workspaces", tmp_path)
    doc, _ = add_agentic(root)
    parts = {p["path"]: p for p in doc["parts"]}
    assert (parts["backend"]["source"], parts["frontend"]["source"]) == (
        "pyproject.toml",
        "package.json",
    )
    # A bun workspace member without a lock file of its own uses bun, through bun's filter.
    assert parts["frontend"]["package_manager"] == "bun"
    commands = doc["stack"]["commands"]
    assert "bun run --filter frontend build" in commands["build"]
    # The backend's tests are reached even when the root's own test command is bun's.
    assert "uv run --directory backend " in commands["test"]


def test_pnpm_workspace_with_turborepo(tmp_path: Path) -> None:
    # t3-oss/create-t3-turbo: the root's turbo scripts win; the parts are shown.
    root = copy_fixture("create-t3-turbo", tmp_path)
    doc, _ = add_agentic(root)
    assert [(p["path"], p["package"]) for p in doc["parts"]] == [
        ("apps/nextjs", "@acme/nextjs"),
        ("packages/api", "@acme/api"),
    ]
    assert all(p["package_manager"] == "pnpm" for p in doc["parts"])
    stack = doc["stack"]
    assert (stack["language"], stack["framework"]) == ("typescript", "nextjs")
    assert stack["commands"]["typecheck"] == "pnpm run type-check"  # the root's: turbo type-check
    assert stack["commands"]["lint"] == "pnpm run lint"


@pytest.mark.parametrize("wanted", ["apps/nextjs", "./apps/nextjs/", "nextjs", "@acme/nextjs"])
def test_part_by_path_folder_name_or_package_uses_pnpm_filter(tmp_path: Path, wanted: str) -> None:
    root = FIXTURES / "create-t3-turbo"
    inspection = inspect_repository(root, dry_run=True, part=wanted)
    assert inspection.part is not None and inspection.part.path == "apps/nextjs"
    commands = inspection.stack.commands
    assert commands.lint == "pnpm --filter @acme/nextjs run lint"
    assert commands.typecheck == "pnpm --filter @acme/nextjs run type-check"


def test_nx_workspace_projects_run_through_nx(tmp_path: Path) -> None:
    # nrwl/nx-examples: projects with only a project.json are parts; nx runs their targets.
    root = copy_fixture("nx-examples", tmp_path)
    doc, _ = add_agentic(root, "--part", "cart")
    assert doc["stack"]["commands"]["test"] == "yarn nx run cart:test"
    assert doc["stack"]["commands"]["start"] == "yarn nx run cart:serve"
    assert doc["stack"]["commands"]["install"] == "yarn install"
    inspection = inspect_repository(FIXTURES / "nx-examples", dry_run=True)
    assert [p.path for p in inspection.workspace.parts] == ["apps/cart", "apps/products"]
    evidence: list[Any] = []
    together = combine("test", inspection.workspace.parts, inspection.workspace, evidence)
    assert together == "yarn nx run-many -t test"


def test_uv_workspace_root_with_its_own_tools_keeps_its_commands(tmp_path: Path) -> None:
    # pydantic/pydantic-ai: the root runs pytest, ruff, pyright for every member.
    root = copy_fixture("pydantic-ai", tmp_path)
    doc, _ = add_agentic(root)
    assert len(doc["parts"]) == 5
    assert {p["package_manager"] for p in doc["parts"]} == {"uv"}
    assert "pydantic-ai-slim" in {p["package"] for p in doc["parts"]}
    alone = detect_stack(FIXTURES / "pydantic-ai")
    assert doc["stack"]["commands"] == alone.commands.model_dump()


def test_cargo_workspace_commands_stay_cargo_s(tmp_path: Path) -> None:
    # BurntSushi/ripgrep: cargo runs every member itself.
    root = copy_fixture("ripgrep", tmp_path)
    doc, _ = add_agentic(root)
    assert len(doc["parts"]) == 9
    assert {p["source"] for p in doc["parts"]} == {"Cargo.toml"}
    assert doc["stack"]["commands"] == detect_stack(FIXTURES / "ripgrep").commands.model_dump()


def test_go_work_modules_are_tested_in_one_go_command(tmp_path: Path) -> None:
    # 0xsj/fn-go: nine modules, no go.mod at the root.
    root = copy_fixture("fn-go", tmp_path)
    doc, stderr = add_agentic(root)
    assert len(doc["parts"]) == 9
    assert doc["stack"]["language"] == "go"
    test = doc["stack"]["commands"]["test"]
    assert test.startswith("go test ./gateway/... ./pkg/... ./services/auth-service/... ")
    assert test.count("/...") == 9
    assert "Bash(" + test + ":*)" in allow_rules(root)
    assert "found parts: gateway (go), pkg (go)" in stderr
    assert "and 3 more" in stderr


def test_api_part_parameter_mirrors_the_cli(tmp_path: Path) -> None:
    root = copy_fixture("fullstack-fastapi", tmp_path)
    report = api.add_agentic(root, dry_run=True, part="backend")
    assert report.inspection.part is not None
    assert report.to_dict()["part"] == "backend"
    assert report.config.project.language.value == "python"
    with pytest.raises(UsageError, match="parts: backend, frontend"):
        api.add_agentic(root, dry_run=True, part="nope")


# -- the rules, one at a time ---------------------------------------------------------------------


def test_globs_never_leave_the_root(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"package.json": package_json("evil", test="x")})
    root = write(
        tmp_path / "repo",
        {
            "package.json": json.dumps(
                {"workspaces": ["../outside", "/etc", "~/x", "packages/*", "packages/**"]}
            ),
            "packages/a/package.json": package_json("a", test="vitest"),
        },
    )
    (root / "packages" / "link").symlink_to(outside, target_is_directory=True)
    workspace = detect_workspace(root, detect_stack(root))
    assert [p.path for p in workspace.parts] == ["packages/a"]
    findings = [e.finding for e in workspace.evidence]
    assert sum("leaves the root" in f for f in findings) == 3
    assert any(e.file == "packages/link" and "outside" in e.finding for e in workspace.evidence)


def test_parts_are_capped_with_evidence(tmp_path: Path) -> None:
    files = {"pnpm-workspace.yaml": "packages:\n  - 'packages/*'\n"}
    for number in range(MAX_PARTS + 7):
        files[f"packages/p{number:02}/package.json"] = package_json(f"p{number:02}")
    root = write(tmp_path / "big", files)
    workspace = detect_workspace(root, detect_stack(root))
    assert len(workspace.parts) == MAX_PARTS
    assert any(f"{MAX_PARTS + 7} parts declared" in e.finding for e in workspace.evidence)


def test_a_globstar_does_not_enter_node_modules(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo",
        {
            "package.json": json.dumps({"workspaces": ["packages/**"]}),
            "packages/ui/package.json": package_json("ui"),
            "packages/ui/node_modules/dep/package.json": package_json("dep"),
        },
    )
    walk = Walk(root, [])
    assert walk.expand("package.json", ["packages/**"], ("package.json",)) == ["packages/ui"]


def test_yarn_workspaces_object_form_and_its_filter(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo",
        {
            "package.json": json.dumps({"private": True, "workspaces": {"packages": ["apps/*"]}}),
            "yarn.lock": "",
            "apps/web/package.json": package_json("web", lint="eslint ."),
        },
    )
    inspection = inspect_repository(root, dry_run=True)
    (part,) = inspection.workspace.parts
    assert part.stack.package_manager.value == "yarn"
    assert inspection.stack.commands.lint == "yarn workspace web run lint"


def test_npm_workspaces_several_members_one_command(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo",
        {
            "package.json": json.dumps({"workspaces": ["packages/*"]}),
            "package-lock.json": "{}",
            "packages/a/package.json": package_json("a", test="vitest"),
            "packages/b/package.json": package_json("b", test="jest", lint="eslint ."),
        },
    )
    commands = inspect_repository(root, dry_run=True).stack.commands
    assert commands.test == "npm run test --workspaces --if-present"
    assert commands.lint == "npm run lint --workspace=b"


def test_turbo_tasks_run_through_turbo_when_the_root_has_no_script(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo",
        {
            "package.json": json.dumps({"packageManager": "pnpm@9.0.0"}),
            "pnpm-workspace.yaml": "packages:\n  - apps/*\n  - '!apps/legacy'\n",
            "turbo.json": json.dumps({"tasks": {"test": {}, "lint": {}}}),
            "apps/web/package.json": package_json("web", test="vitest", lint="eslint ."),
            "apps/docs/package.json": package_json("docs", test="vitest"),
            "apps/legacy/package.json": package_json("legacy", test="mocha"),
        },
    )
    inspection = inspect_repository(root, dry_run=True)
    assert [p.path for p in inspection.workspace.parts] == ["apps/docs", "apps/web"]
    assert inspection.stack.commands.test == "pnpm exec turbo run test"
    assert inspection.stack.commands.lint == "pnpm --filter web run lint"


def test_go_work_use_directives() -> None:
    text = 'go 1.22\n// a comment\nuse ./tools\nuse (\n\t./api // the API\n\t"./worker"\n)\n'
    assert sorted(go_work_uses(text)) == ["./api", "./tools", "./worker"]


def test_only_tooling_at_the_root_still_finds_the_layout(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo",
        {
            "package.json": package_json("repo-tools", format="prettier --write ."),
            "api/requirements.txt": "flask\npytest\n",
            "web/package.json": package_json("web", test="vitest", build="vite build"),
        },
    )
    inspection = inspect_repository(root, dry_run=True)
    assert [p.path for p in inspection.workspace.parts] == ["api", "web"]
    assert inspection.stack.commands.format == "npm run format"  # the root's own
    assert "npm --prefix web test" in inspection.stack.commands.test


def test_subfolders_with_manifests_are_named_and_can_be_picked(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"tools/requirements.txt": "pytest\n", "README.md": "hi\n"})
    inspection = inspect_repository(root, dry_run=True)
    assert inspection.workspace.parts == ()
    (warning,) = inspection.warnings
    assert "no language markers at the root; subfolders with their own manifest" in warning
    assert "tools (python)" in warning
    picked = inspect_repository(root, dry_run=True, part="tools")
    assert picked.part is not None and picked.warnings == []
    assert all(not cmd or "tools" in cmd for _, cmd in picked.stack.commands)


def test_nothing_anywhere_is_still_no_language_markers(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"README.md": "hi\n"})
    assert inspect_repository(root, dry_run=True).warnings == [
        "no language markers found; check the values above"
    ]


def test_one_start_command_only_and_chains_are_capped(tmp_path: Path) -> None:
    files = {f"services/s{n}/Gemfile": "gem 'rspec'\n" for n in range(MAX_CHAIN + 1)}
    files["services/s0/Gemfile"] = "gem 'rails'\ngem 'rspec'\n"
    root = write(tmp_path / "repo", files)
    inspection = inspect_repository(root, dry_run=True)
    assert len(inspection.workspace.parts) == MAX_CHAIN + 1
    commands = inspection.stack.commands
    assert commands.test == ""  # too many to chain
    assert any("too many to chain" in e.finding for e in inspection.stack.evidence)
    assert commands.start.count("&&") <= 1  # one part's start: (cd services/s0 && ...)
    assert commands.start.startswith("(cd services/s0 && ")


def test_from_root_quotes_an_unusual_folder(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"my api/Gemfile": "gem 'rspec'\n"})
    part = inspect_repository(root, dry_run=True, part="my api").part
    assert part is not None
    workspace = detect_workspace(root, detect_stack(root))
    assert from_root("bundle exec rspec", part, workspace) == "(cd 'my api' && bundle exec rspec)"
    assert from_root("make test", part, workspace) == "(cd 'my api' && make test)"


# -- permissions for chains -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "rules"),
    [
        ("uv run --directory api pytest", ["Bash(uv run --directory api pytest:*)"]),
        ("a -q && b", ["Bash(a -q:*)", "Bash(b:*)"]),
        ("(cd api && pytest) && (cd web && npm test)", ["Bash(pytest:*)", "Bash(npm test:*)"]),
        ("cd api && pytest", ["Bash(pytest:*)"]),
        ("(cd .. && pytest)", []),  # out of the project: asked
        ("(cd /tmp && pytest)", []),
        ("a && b; rm -rf x", []),
        ("a && b | sh", []),
        ("(a && b", []),
        ("a) && b", []),
        ("((a && b))", []),
    ],
)
def test_chain_rules(command: str, rules: list[str]) -> None:
    assert command_rules(command) == rules


def test_a_chain_is_allowed_and_not_warned_about() -> None:
    base = new_config("demo")
    chain = "(cd api && pytest) && npm --prefix web test"
    config = base.model_copy(update={"commands": base.commands.model_copy(update={"test": chain})})
    assert command_warnings(config) == []
    allow = settings_policy(config).allow
    assert "Bash(pytest:*)" in allow and "Bash(npm --prefix web test:*)" in allow
    bad = base.model_copy(
        update={"commands": base.commands.model_copy(update={"test": "(cd .. && pytest)"})}
    )
    (warning,) = command_warnings(bad)
    assert warning.startswith("commands.test is not a simple command")


def test_picking_a_part_s_toolchain_at_the_prompt_keeps_the_combined_commands() -> None:
    from tac_bootstrap.application.add_agentic_service import proposed_commands
    from tac_bootstrap.domain.config import Language, PackageManager

    inspection = inspect_repository(FIXTURES / "fullstack-fastapi", dry_run=True)
    stack, parts = inspection.stack, inspection.workspace.parts
    picked = proposed_commands(stack, Language.TYPESCRIPT, PackageManager.NPM, "react", parts)
    assert picked == stack.commands  # the frontend's toolchain: the commands cover it already
    other = proposed_commands(stack, Language.GO, PackageManager.GO, "none", parts)
    assert other != stack.commands  # a toolchain no part has: its defaults


def test_the_cli_shows_the_parts_table(tmp_path: Path) -> None:
    root = copy_fixture("create-t3-turbo", tmp_path)
    result = run_cli("add-agentic", root, "--yes", "--dry-run", env={"NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Parts (commands run from the root)" in out
    assert "apps/nextjs" in out and "typescript/nextjs (pnpm)" in out
    assert "pnpm-workspace.yaml" in out  # what declared the part
    wide = {"NO_COLOR": "1", "COLUMNS": "200"}
    chosen = run_cli("add-agentic", root, "--yes", "--dry-run", "--part", "packages/api", env=wide)
    assert "(part packages/api only)" in chosen.stdout
    assert "packages/api (--part)" in chosen.stdout


@pytest.mark.parametrize("wanted", ["../outside", "/etc", "missing"])
def test_part_outside_or_missing_is_an_error(tmp_path: Path, wanted: str) -> None:
    write(tmp_path / "outside", {"package.json": package_json("evil", test="x")})
    root = copy_fixture("fullstack-fastapi", tmp_path)
    with pytest.raises(UsageError, match="no such part"):
        inspect_repository(root, dry_run=True, part=wanted)
