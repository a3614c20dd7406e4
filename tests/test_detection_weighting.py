"""Weighing the stacks of a repository, the project's name, and the wider name mapping.

Small but realistic repositories in temporary directories (see tests/test_detection_fixtures.py
for whole real ones).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tac_bootstrap.application.stack_detection.makefile import interactive_reason
from tac_bootstrap.domain.config import Language, PackageManager

from .test_stack_detection import detect, findings, package_json

# -- weighing ------------------------------------------------------------------------------------


def test_a_manifest_with_its_lock_file_beats_a_stray_requirements_file(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "package.json": package_json(
                dependencies={"express": "4"}, scripts={"test": "jest", "start": "node app.js"}
            ),
            "package-lock.json": "{}",
            "requirements-docs.txt": "mkdocs\n",
        },
    )
    assert (stack.language, stack.framework) == (Language.JAVASCRIPT, "express")
    assert stack.ecosystems == ("node", "python")
    why = findings(stack, ".")
    assert "primary stack javascript: package.json + package-lock.json + framework express" in why
    assert "over python: requirements-docs.txt (score 1)" in why


def test_tooling_only_package_json_does_not_beat_a_python_project(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "svc"\n[dependency-groups]\ndev = ["pytest"]\n',
            "uv.lock": "",
            "package.json": package_json(
                devDependencies={"husky": "9", "prettier": "3", "@commitlint/cli": "19"},
                scripts={"format": "prettier --write .", "prepare": "husky"},
            ),
            "pnpm-lock.yaml": "",
            ".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: uv run pytest\n",
        },
    )
    assert (stack.language, stack.package_manager) == (Language.PYTHON, PackageManager.UV)
    why = findings(stack, ".")
    assert "python: pyproject.toml + uv.lock + CI runs uv run pytest (score 7)" in why
    assert (
        "javascript: package.json, tooling only (@commitlint/cli, husky, prettier) (score 0)" in why
    )
    # Python gives no formatter: the repository's own prettier script is used, and said.
    assert stack.commands.format == "pnpm run format"
    assert "python gives none" in findings(stack, "package.json")


def test_browser_libraries_of_a_django_app_are_its_assets(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "requirements.txt": "Django>=5\n",
            "manage.py": "",
            "package.json": package_json(
                dependencies={"bootstrap": "5", "htmx.org": "2"}, devDependencies={"sass": "1"}
            ),
            "package-lock.json": "{}",
        },
    )
    assert (stack.language, stack.framework) == (Language.PYTHON, "django")
    assert "tooling only" in findings(stack, "package.json")


def test_ci_adds_weight_to_the_stack_it_runs(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "requirements.txt": "requests\n",
        "package.json": package_json(dependencies={"left-pad": "1"}),
    }
    without_ci = detect(tmp_path / "a", files)
    assert without_ci.language is Language.JAVASCRIPT  # package.json 3 over requirements.txt 2
    with_ci = detect(
        tmp_path / "b",
        {
            **files,
            "pytest.ini": "",
            ".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: pytest\n"
            "      - run: mypy .\n",
        },
    )
    assert with_ci.language is Language.PYTHON
    assert "CI runs pytest and 1 more" in findings(with_ci, ".")


def test_a_tie_goes_to_the_registry_order_and_says_so(tmp_path: Path) -> None:
    stack = detect(tmp_path, {"go.mod": "module m\n", "Cargo.toml": '[package]\nname = "r"\n'})
    assert stack.language is Language.GO
    assert "a tie: the registry's order decides" in findings(stack, ".")


# -- the project's name --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "name", "source"),
    [
        ({"pyproject.toml": '[project]\nname = "shop-api"\n'}, "shop-api", "pyproject.toml"),
        ({"pyproject.toml": '[tool.poetry]\nname = "legacy"\n'}, "legacy", "pyproject.toml"),
        ({"setup.cfg": "[metadata]\nname = cfgname\n"}, "cfgname", "setup.cfg"),
        ({"package.json": '{"name": "@acme/web-app"}'}, "web-app", "package.json"),
        ({"package.json": '{"name": "plain"}'}, "plain", "package.json"),
        ({"Cargo.toml": '[package]\nname = "rg"\n'}, "rg", "Cargo.toml"),
        ({"go.mod": "module github.com/labstack/echo/v4\n"}, "echo", "go.mod"),
        ({"go.mod": "module example.com/svc\n"}, "svc", "go.mod"),
        (
            {
                "pom.xml": "<project xmlns='http://maven.apache.org/POM/4.0.0'><parent>"
                "<artifactId>spring-boot-starter-parent</artifactId></parent>"
                "<artifactId>orders</artifactId></project>"
            },
            "orders",
            "pom.xml",
        ),
        (
            {"build.gradle": "plugins {}\n", "settings.gradle": "rootProject.name = 'inventory'\n"},
            "inventory",
            "settings.gradle",
        ),
        (
            {
                "Gemfile": "gemspec\n",
                "tool.gemspec": 'Gem::Specification.new { |s| s.name = "tool" }',
            },
            "tool",
            "tool.gemspec",
        ),
    ],
)
def test_the_name_comes_from_the_primary_manifest(
    tmp_path: Path, files: dict[str, str | bytes], name: str, source: str
) -> None:
    stack = detect(tmp_path, files)
    assert stack.name == name
    assert f"name: {name} (from {source}" in findings(stack, source)


def test_the_name_falls_back_to_the_directory(tmp_path: Path) -> None:
    rails = detect(tmp_path / "a", {"Gemfile": "gem 'rails'\n"})
    assert rails.name == "repo"
    assert "name: repo (from the directory" in findings(rails, ".")
    unreadable = detect(tmp_path / "b", {"package.json": '{"name": "日本"}'})
    assert unreadable.name == "repo"  # nothing valid left of the manifest's name
    secondary = detect(
        tmp_path / "c", {"go.mod": "module m/tool\n", "package.json": '{"name": "docs-site"}'}
    )
    assert secondary.name == "tool"  # the primary stack's manifest, not the docs' package.json


# -- the wider name mapping ------------------------------------------------------------------------


def test_makefile_tests_check_and_dev_targets(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "go.mod": "module m\n",
            "Makefile": "tests:\n\tgo test ./...\ncheck:\n\tgo vet ./...\n"
            "dev:\n\tair\nup:\n\tdocker compose up\n",
        },
    )
    c = stack.commands
    assert (c.test, c.lint, c.start) == ("make tests", "make check", "make dev")


@pytest.mark.parametrize(
    ("recipe", "why"),
    [
        ("\t@read -p 'Name? ' name; echo $$name > .env\n", "reads from the terminal"),
        ("\tsudo apt-get install -y libpq-dev\n", "runs sudo"),
        ("\tcurl -fsSL https://example.com/install.sh | bash\n", "pipes a download into a shell"),
        ("\t@./configure.sh  # press Enter at each question\n", "prompts"),
    ],
)
def test_an_interactive_install_target_is_a_warning_not_the_install_command(
    tmp_path: Path, recipe: str, why: str
) -> None:
    makefile = "install: deps\n\tpip install -e .\ndeps:\n" + recipe + "test:\n\tpytest\n"
    assert interactive_reason(makefile, "install") is not None
    stack = detect(tmp_path, {"pyproject.toml": '[project]\nname = "x"\n', "Makefile": makefile})
    assert stack.commands.install == "python -m pip install -e ."
    assert stack.commands.test == "make test"
    assert any(why in warning and "make install" in warning for warning in stack.warnings)
    assert why in findings(stack, "Makefile")


@pytest.mark.parametrize(
    "recipe",
    ["\tgo install ./cmd/tool\n", "\tinstall -m 755 bin/tool $(DESTDIR)$(PREFIX)/bin\n"],
)
def test_an_install_target_that_installs_the_program_is_not_the_install_command(
    tmp_path: Path, recipe: str
) -> None:
    stack = detect(tmp_path, {"go.mod": "module m\n", "Makefile": "install:\n" + recipe})
    assert stack.commands.install == "go mod download"
    assert "installs the program" in findings(stack, "Makefile")


def test_a_plain_install_target_is_used(tmp_path: Path) -> None:
    stack = detect(tmp_path, {"Makefile": "install:\n\tpip install -r requirements.txt\n"})
    assert stack.commands.install == "make install"
    assert stack.warnings == ()


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("node dist/main.js", "npm run dev"),
        ("next start", "npm run dev"),
        ("vite preview", "npm run dev"),
        ("node server.js", "npm start"),
        ("nest start", "npm start"),
    ],
)
def test_dev_over_a_start_that_serves_a_build(tmp_path: Path, start: str, expected: str) -> None:
    stack = detect(
        tmp_path, {"package.json": package_json(scripts={"start": start, "dev": "nodemon src"})}
    )
    assert stack.commands.start == expected


def test_rails_binstubs_are_what_rails_developers_run(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "Gemfile": "gem 'rails'\ngem 'rubocop-rails-omakase', require: false\n",
        ".rubocop.yml": "",
        "bin/rails": "",
        "bin/rubocop": "",
    }
    stack = detect(tmp_path / "a", {**files, "bin/dev": ""})
    c = stack.commands
    assert (c.test, c.lint, c.format, c.start) == (
        "bin/rails test",
        "bin/rubocop",
        "bin/rubocop -a",
        "bin/dev",
    )
    without_dev = detect(tmp_path / "b", files)
    assert without_dev.commands.start == "bin/rails server"


def test_legacy_uv_dev_dependencies_and_basedpyright(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\n[tool.uv]\n'
            'dev-dependencies = ["pytest>=8", "basedpyright", "ruff"]\n',
        },
    )
    c = stack.commands
    assert (c.test, c.typecheck, c.lint) == (
        "uv run python -m pytest",
        "uv run basedpyright",
        "uv run ruff check .",
    )


def test_no_tool_is_chosen_that_the_repository_does_not_declare(tmp_path: Path) -> None:
    stack = detect(tmp_path, {"pyproject.toml": '[project]\nname = "x"\ndependencies = ["ruff"]\n'})
    c = stack.commands
    assert c.lint == "ruff check ."  # ruff, never flake8
    assert c.typecheck == ""  # no mypy guessed: neither a config nor a dependency declares it
    assert c.test == ""  # no pytest guessed either
    ts = detect(tmp_path / "js", {"package.json": package_json(scripts={"build": "tsc"})})
    assert ts.commands.typecheck == ""  # no tsconfig.json, no typescript dependency: no tsc


def test_pre_commit_hooks_are_the_lint_command_when_nothing_else_is(tmp_path: Path) -> None:
    stack = detect(tmp_path, {"go.mod": "module m\n", ".pre-commit-config.yaml": "repos: []\n"})
    assert stack.commands.lint == "go vet ./..."  # the stack's own linter first
    python = detect(
        tmp_path / "py",
        {"requirements.txt": "requests\n", ".pre-commit-config.yaml": "repos: []\n"},
    )
    assert python.commands.lint == "pre-commit run --all-files"


def test_tox_commands_declare_their_tools(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "setup.py": "from setuptools import setup\nsetup(name='lib')\n",
            "tox.ini": "[tox]\nenvlist = py3\n[testenv]\ncommands = pytest {posargs}\n"
            "[testenv:types]\ncommands = mypy src\n",
        },
    )
    assert (stack.commands.test, stack.commands.typecheck) == ("python -m pytest", "mypy .")
    assert stack.name == "lib"


def test_a_nested_manage_py_and_rake_without_a_test_task(tmp_path: Path) -> None:
    django = detect(tmp_path / "d", {"requirements.txt": "Django\n", "src/manage.py": ""})
    assert django.commands.start == "python src/manage.py runserver"
    assert django.commands.test == "python src/manage.py test"
    rake = detect(tmp_path / "r", {"Gemfile": "gem 'rake'\n", "Rakefile": "task default: :build\n"})
    assert rake.commands.test == "bundle exec rake"
    tasks = detect(
        tmp_path / "t", {"Gemfile": "gem 'rake'\n", "Rakefile": "Rake::TestTask.new(:test)\n"}
    )
    assert tasks.commands.test == "bundle exec rake test"


def test_expected_json_is_valid_for_every_fixture() -> None:
    # The fixtures' expected values use only known languages and package managers.
    root = Path(__file__).parent / "fixtures" / "repos"
    for expected in root.glob("*/expected.json"):
        data = json.loads(expected.read_text())
        assert Language(data["language"]) and PackageManager(data["package_manager"])


def test_pyproject_task_tables_beat_tool_guesses(tmp_path: Path) -> None:
    hatch = detect(
        tmp_path / "hatch",
        {
            "pyproject.toml": '[project]\nname = "lib"\ndependencies = ["pytest", "mypy", "ruff"]\n'
            '[tool.hatch.envs.default.scripts]\ntest = "pytest {args}"\n'
            '[tool.hatch.envs.types.scripts]\ncheck = "mypy src"\n'
            "[tool.hatch.envs.hatch-static-analysis]\n",
        },
    )
    c = hatch.commands
    assert (c.test, c.typecheck, c.lint, c.format) == (
        "hatch run test",
        "hatch run types:check",
        "hatch fmt --check",
        "hatch fmt",
    )
    assert "[tool.hatch.envs.types.scripts] -> typecheck" in findings(hatch, "pyproject.toml")
    poe = detect(
        tmp_path / "poe",
        {
            "pyproject.toml": '[project]\nname = "app"\n[tool.poe.tasks]\ntest = "pytest"\n'
            'lint = "ruff check ."\n',
            "uv.lock": "",
        },
    )
    assert (poe.commands.test, poe.commands.lint) == ("uv run poe test", "uv run poe lint")
    pdm = detect(
        tmp_path / "pdm",
        {"pyproject.toml": '[project]\nname = "x"\n[tool.pdm.scripts]\nlint = "flake8"\n'},
    )
    assert pdm.commands.lint == "pdm run lint"
    hatch_toml = detect(
        tmp_path / "toml",
        {
            "pyproject.toml": '[project]\nname = "y"\n',
            "hatch.toml": '[envs.default.scripts]\ntest = "pytest"\n',
        },
    )
    assert hatch_toml.commands.test == "hatch run test"


def test_node_tools_give_the_commands_no_script_gives(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "package.json": package_json(
                scripts={"lint": "eslint src"},
                devDependencies={"vitest": "2", "eslint": "9", "prettier": "3"},
            ),
            "pnpm-lock.yaml": "",
        },
    )
    c = stack.commands
    assert (c.test, c.lint, c.format) == (
        "pnpm exec vitest run",
        "pnpm run lint",  # the script wins over the tool
        "pnpm exec prettier --write .",
    )
    assert "depends on vitest" in findings(stack, "package.json")


def test_justfile_and_taskfile_recipes_after_the_makefile(tmp_path: Path) -> None:
    just = (
        "set dotenv-load\nexport X := '1'\n# comment\n@test *args:\n    go test ./... {{args}}\n"
        "lint:\n    golangci-lint run\nbuild target='x': lint\n    go build\n"
    )
    stack = detect(
        tmp_path / "a",
        {
            "go.mod": "module m\n",
            "justfile": just,
            "Makefile": "lint:\n\tgo vet ./...\n",
            "Taskfile.yml": "version: '3'\ntasks:\n  dev:\n    cmds: [air]\n  test: {cmds: [x]}\n",
        },
    )
    c = stack.commands
    assert (c.test, c.lint, c.build, c.start) == (
        "just test",
        "make lint",
        "just build",
        "task dev",
    )
    assert "recipes: test -> just test" in findings(stack, "justfile")
    broken = detect(tmp_path / "b", {"go.mod": "module m\n", "Taskfile.yml": "tasks: [\n"})
    assert broken.commands.test == "go test ./..."
    assert "unreadable" in findings(broken, "Taskfile.yml")


def test_nox_sessions_and_tox_environments_fill_what_nothing_else_gives(tmp_path: Path) -> None:
    noxfile = (
        "import nox\n\n@nox.session(python=['3.12'])\ndef tests(session):\n    pass\n\n"
        "@nox.session\n@nox.parametrize('x', [1])\ndef lint(session, x):\n    pass\n"
    )
    stack = detect(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "lib"\n[dependency-groups]\ndev = ["pytest"]\n',
            "noxfile.py": noxfile,
            "tox.ini": "[tox]\nenvlist = py3\n[testenv:typing]\ncommands = pyright\n",
        },
    )
    c = stack.commands
    assert c.test == "python -m pytest"  # the declared tool first
    assert (c.lint, c.typecheck) == ("nox -s lint", "tox -e typing")
    assert "session -> lint: nox -s lint" in findings(stack, "noxfile.py")
