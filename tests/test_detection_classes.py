"""Stack detection on the classes of mistakes a holdout of real repositories found.

specs/existing-repositories-2/holdout.md lists them: a Makefile line taken for a rule that is
not one, a CI flag cut in the middle, a program's installer taken for the dependency install,
a check-only format script, a framework from a dev-only group, Ruby's companion and config
gems, and a unittest script with no runner. holdout2.md adds: task recipes judged only by their
names, a CI step running several recipes taken whole, a repository's ``scripts/test`` ignored,
and ``tsc`` guessed for single-file components it cannot read. Each test here is about the
class (GNU make syntax, shell words, manifests), written from the tools' documented behaviour,
not from a fixture.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tac_bootstrap.application.stack_detection import DetectedStack, detect_stack
from tac_bootstrap.application.stack_detection.commands import (
    Classified,
    classify,
    classify_each,
)
from tac_bootstrap.application.stack_detection.makefile import makefile_recipe, makefile_targets
from tac_bootstrap.application.stack_detection.recipes import body_commands
from tac_bootstrap.application.stack_detection.shellwords import only_checks

from .conftest import tree_snapshot


def detect(tmp_path: Path, files: dict[str, str]) -> DetectedStack:
    root = tmp_path / "repo"
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    before = tree_snapshot(root)
    stack = detect_stack(root)
    assert tree_snapshot(root) == before, "detection must never write"
    return stack


def findings(stack: DetectedStack) -> str:
    return " | ".join(e.finding for e in stack.evidence)


# -- Makefile: only a line that starts a rule is a target ---------------------------------------


@pytest.mark.parametrize(
    ("makefile", "targets"),
    [
        # a colon inside a function call: $(warning ...), $(info ...), $(error ...), $(eval ...)
        ('$(warning "lint tool missing, run: curl x | sh")\ntest:\n\tgo test\n', ["test"]),
        ("$(info serve: not here)\n$(eval $(call gen,dev: x))\nlint:\n", ["lint"]),
        ("ifeq (, $(shell which x))\n$(error run: install x)\nendif\nbuild:\n", ["build"]),
        # recipe lines, also after a blank line, a comment or a conditional inside the recipe
        ("build:\n\techo run: done\n\n# note\n\techo start: x\n", ["build"]),
        ("release:\nifndef TOKEN\n\t$(error dev: no token)\nendif\n\tgoreleaser\n", ["release"]),
        # a recipe line continued by a backslash stays in the recipe, whatever it starts with
        ("test:\n\tpytest \\\n  serve: x\nfmt:\n", ["test", "fmt"]),
        # variable values: every assignment operator, and export/override in front
        ("X = a:b\nY := run:c\nZ ::= d:e\nW ?= up:1\nV != echo serve: x\nA += dev: y\n", []),
        ("export U = dev: y\noverride T := start: z\n", []),
        # define blocks, also nested and with a prefix
        ("define HELP\nrun: the app\nendef\nlint:\n", ["lint"]),
        ("override define A\ndefine B\nup: x\nendef\nserve: y\nendef\ntest:\n", ["test"]),
        # comments
        ("# run: this is a comment\ntest: # builds: everything\n", ["test"]),
        # computed, pattern and special targets are not names to run
        ("$(BIN): main.go\n%.o: %.c\n.PHONY: test\n$(addprefix x/, up dev): z\n", []),
        # real rules: double colon, grouped targets, several targets, a target-specific
        # variable (not a rule of its own)
        (
            "clean::\n\trm x\nall install &: y\nfmt serve: z\n",
            ["clean", "all", "install", "fmt", "serve"],
        ),
        ("test: ARGS = -x\nlint:\n", ["lint"]),
        ("  indented: rule\n\ttab: recipe-like line outside a rule\n", ["indented"]),
    ],
)
def test_only_lines_that_start_a_rule_are_targets(makefile: str, targets: list[str]) -> None:
    assert makefile_targets(makefile) == targets


def test_a_recipe_is_gathered_across_comments_conditionals_and_rules_of_the_same_target() -> None:
    text = "install: deps\ninstall:\n\t# step\n\n\tcp x /usr/local/bin\nifdef X\n\techo\nendif\n"
    recipe, prerequisites = makefile_recipe(text, "install")
    assert prerequisites == ["deps"]
    assert recipe == ["# step", "cp x /usr/local/bin", "echo"]


def test_a_make_function_call_does_not_give_a_start_command(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "go.mod": "module example.com/lib\n\ngo 1.22\n",
            "Makefile": '$(warning "no linter; run: curl https://x | sh")\n'
            "test:\n\tgo test ./...\n",
        },
    )
    assert stack.commands.test == "make test"
    assert stack.commands.start != "make run"


# -- CI flag cleanup: whole arguments, never a prefix of one --------------------------------------


@pytest.mark.parametrize(
    ("ci_command", "cleaned"),
    [
        # each CI-only option goes whole, in its `=` and its two-word spelling
        ("pytest -x --cov-report=xml --junitxml=out/junit.xml --color=always", "pytest -x"),
        ("pytest --cov-report xml --junit-xml out.xml --color yes tests", "pytest tests"),
        ("go test -coverprofile=cover.out -covermode atomic ./...", "go test ./..."),
        ("pre-commit run --all-files --show-diff-on-failure", "pre-commit run --all-files"),
        # a value the cleanup does not know keeps the whole argument (and the command works)
        (
            "pytest tests --cov-report=xml:./coverage.xml --cov-report term-missing",
            "pytest tests --cov-report=xml:./coverage.xml --cov-report term-missing",
        ),
        ("pytest --cov-report xml:cov.xml", "pytest --cov-report xml:cov.xml"),
        (
            "pytest --cov-report=xml-strict --color=auto",
            "pytest --cov-report=xml-strict --color=auto",
        ),
        # an option name that only starts like a CI-only one is another option
        (
            "pytest --junitxml-prefix=x --colors=always",
            "pytest --junitxml-prefix=x --colors=always",
        ),
    ],
)
def test_ci_only_flags_are_removed_as_whole_arguments(ci_command: str, cleaned: str) -> None:
    found = classify(ci_command)
    assert isinstance(found, Classified)
    assert found.command == cleaned
    assert shlex.split(found.command)[0] == shlex.split(ci_command)[0]


def test_no_word_of_a_cleaned_ci_command_is_a_fragment_of_the_original(tmp_path: Path) -> None:
    workflow = (
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: poetry run pytest tests --cov=src --cov-report=xml:./cov.xml -v\n"
    )
    stack = detect(
        tmp_path,
        {
            "pyproject.toml": '[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\n'
            'python = "^3.11"\n',
            "poetry.lock": "",
            ".github/workflows/ci.yml": workflow,
        },
    )
    original = set(shlex.split("poetry run pytest tests --cov=src --cov-report=xml:./cov.xml -v"))
    assert set(shlex.split(stack.commands.test)) <= original


# -- install: a repository's installer of its own program is not the dependency install ---------


def _workflow(*runs: str) -> str:
    steps = "".join(f"      - run: {run}\n" for run in runs)
    return f"on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n{steps}"


GO_MOD = "module example.com/tool\n\ngo 1.22\n"


@pytest.mark.parametrize("installer", ["./install --all", "./install.sh", "bash ./install.sh -y"])
def test_a_root_installer_the_ci_runs_is_not_the_install_command(
    tmp_path: Path, installer: str
) -> None:
    stack = detect(tmp_path, {"go.mod": GO_MOD, ".github/workflows/ci.yml": _workflow(installer)})
    assert stack.commands.install == "go mod download"
    assert "installer" in findings(stack)


def test_an_install_script_is_judged_by_what_it_runs(tmp_path: Path) -> None:
    program = "#!/bin/sh\ncp bin/tool ~/.local/bin/\necho 'source ~/.tool.bash' >> ~/.bashrc\n"
    deps = "#!/bin/sh\nset -e\npython -m pip install -r requirements.txt\n"
    base = {"requirements.txt": "requests\n", "setup.py": "from setuptools import setup\n"}
    own = detect(
        tmp_path / "own",
        {
            **base,
            "script/install": program,
            ".github/workflows/ci.yml": _workflow("script/install"),
        },
    )
    assert own.commands.install != "script/install"
    assert "installs the program itself" in findings(own)
    fetches = detect(
        tmp_path / "deps",
        {**base, "scripts/setup": deps, ".github/workflows/ci.yml": _workflow("scripts/setup")},
    )
    assert fetches.commands.install == "scripts/setup"


def test_an_unreadable_install_script_under_scripts_keeps_the_convention(tmp_path: Path) -> None:
    """``script/bootstrap`` that is not in the checkout (or cannot be read): by the "scripts to
    rule them all" convention it installs the dependencies."""
    stack = detect(
        tmp_path,
        {"Gemfile": 'gem "rack"\n', ".github/workflows/ci.yml": _workflow("script/bootstrap")},
    )
    assert stack.commands.install == "script/bootstrap"


# -- format: the script that writes, judged by what it runs --------------------------------------


def _package(scripts: dict[str, str], lock: str = "yarn.lock") -> dict[str, str]:
    manifest = {"name": "app", "scripts": scripts, "devDependencies": {"prettier": "^3"}}
    return {"package.json": json.dumps(manifest), lock: ""}


@pytest.mark.parametrize(
    ("scripts", "chosen"),
    [
        # the plainly named script only checks; its writing sibling is the format command
        ({"format": "prettier --check .", "format:fix": "prettier --write ."}, "format:fix"),
        ({"prettier": "prettier --check **/*.js", "prettier:fix": "prettier -w ."}, "prettier:fix"),
        (
            {"fmt": "prettier --list-different src", "format:write": "prettier --write src"},
            "format:write",
        ),
        ({"format": "dprint check", "fmt": "dprint fmt"}, "fmt"),
        # lint:fix formats only when it runs a formatter
        (
            {"format": "prettier -c .", "lint:fix": "eslint . --fix && prettier --write ."},
            "lint:fix",
        ),
        # a writing `format` stays first, whatever else there is
        ({"format": "prettier --write .", "format:check": "prettier --check ."}, "format"),
    ],
)
def test_the_format_script_is_one_that_writes(
    tmp_path: Path, scripts: dict[str, str], chosen: str
) -> None:
    stack = detect(tmp_path, _package(scripts))
    assert stack.commands.format == f"yarn run {chosen}"


def test_a_check_only_format_script_is_never_the_format_command(tmp_path: Path) -> None:
    scripts = {"format": "prettier --check .", "lint:fix": "eslint --fix ."}
    stack = detect(tmp_path, _package(scripts))
    # eslint --fix is no formatter: the declared prettier, told to write, is the format command
    assert stack.commands.format == "yarn prettier --write ."
    assert "scripts.format only checks" in findings(stack)


@pytest.mark.parametrize("spelling", ["bun run format", "bun format"])
def test_a_ci_running_a_check_only_script_does_not_make_it_the_format(
    tmp_path: Path, spelling: str
) -> None:
    files = _package({"format": "prettier --check src", "format:fix": "prettier --write src"})
    files.pop("yarn.lock")
    files.update({"bun.lockb": "", ".github/workflows/ci.yml": _workflow("bun install", spelling)})
    assert detect(tmp_path, files).commands.format == "bun run format:fix"


def test_a_make_format_target_that_only_checks_is_not_the_format(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\ndependencies = []\n[tool.black]\n',
            "Makefile": "format:\n\tblack --check --diff .\ntest:\n\tpytest\n",
        },
    )
    assert stack.commands.format == "black ."
    assert "`make format` only checks" in findings(stack)


@pytest.mark.parametrize(
    ("command", "checks"),
    [
        ("prettier --check .", True),
        ("prettier -l src", True),
        ("black --diff --check .", True),
        ("npm run format:check", True),
        ("prettier --write .", False),
        ("eslint --fix . && prettier --check .", False),
        ("gofmt -w .", False),
        ("ruff format .", False),  # writes by default: no check flag
        ("npm run prettier:fix", False),
    ],
)
def test_only_checks_reads_what_a_formatting_command_does(command: str, checks: bool) -> None:
    assert only_checks(command) is checks


# -- framework: from what the project needs to run, not from its dev groups ----------------------


@pytest.mark.parametrize(
    "dev_only_declaration",
    [
        '[dependency-groups]\ndev = ["pytest", "fastapi>=0.110"]\n',
        '[tool.uv]\ndev-dependencies = ["fastapi"]\n',
        '[project.optional-dependencies]\ntest = ["fastapi"]\ndocs = ["mkdocs"]\n',
    ],
)
def test_a_framework_in_a_dev_group_or_extra_is_not_the_framework(
    tmp_path: Path, dev_only_declaration: str
) -> None:
    pyproject = '[project]\nname = "sdk"\ndependencies = ["httpx", "pydantic"]\n'
    stack = detect(tmp_path, {"pyproject.toml": pyproject + dev_only_declaration})
    assert stack.framework == "none"
    assert "fastapi only in a dev group or extra" in findings(stack)


def test_a_framework_in_a_feature_extra_or_the_runtime_dependencies_is_the_framework(
    tmp_path: Path,
) -> None:
    runtime = '[project]\nname = "api"\ndependencies = ["fastapi"]\n[dependency-groups]\ndev = []\n'
    assert detect(tmp_path / "a", {"pyproject.toml": runtime}).framework == "fastapi"
    extra = '[project]\nname = "x"\ndependencies = ["attrs"]\n'
    extra += '[project.optional-dependencies]\nserver = ["flask"]\n'
    assert detect(tmp_path / "b", {"pyproject.toml": extra}).framework == "flask"


def test_poetry_dev_groups_and_dev_requirement_files_do_not_give_the_framework(
    tmp_path: Path,
) -> None:
    poetry = (
        '[tool.poetry]\nname = "lib"\n[tool.poetry.dependencies]\npython = "^3.11"\n'
        'attrs = "*"\n[tool.poetry.group.test.dependencies]\ndjango = "*"\n'
    )
    assert detect(tmp_path / "p", {"pyproject.toml": poetry}).framework == "none"
    requirements = {"requirements.txt": "requests\n", "requirements-dev.txt": "flask\npytest\n"}
    assert detect(tmp_path / "r", requirements).framework == "none"
    pipfile = '[packages]\nrequests = "*"\n[dev-packages]\ndjango = "*"\n'
    assert detect(tmp_path / "f", {"Pipfile": pipfile}).framework == "none"


def test_with_no_runtime_dependency_declared_every_dependency_counts(tmp_path: Path) -> None:
    assert detect(tmp_path, {"requirements-dev.txt": "django\n"}).framework == "django"


def test_a_node_framework_only_in_dev_dependencies_is_not_the_framework(tmp_path: Path) -> None:
    library = {"name": "mw", "dependencies": {"debug": "*"}, "devDependencies": {"express": "*"}}
    stack = detect(tmp_path / "lib", {"package.json": json.dumps(library)})
    assert stack.framework == "none"
    assert "express only in devDependencies" in findings(stack)
    bundled = {"name": "spa", "devDependencies": {"react": "*", "vite": "*"}}
    assert detect(tmp_path / "spa", {"package.json": json.dumps(bundled)}).framework == "react"


# -- Ruby: a framework through its companion gems, RuboCop however it is declared ----------------


@pytest.mark.parametrize("companion", ["sinatra-contrib", "sinatra-activerecord"])
def test_a_sinatra_companion_gem_makes_a_sinatra_app(tmp_path: Path, companion: str) -> None:
    gemfile = f'source "https://rubygems.org"\ngem "puma"\ngem "{companion}", "~> 2.0"\n'
    stack = detect(tmp_path, {"Gemfile": gemfile, "config.ru": "run App\n"})
    assert stack.framework == "sinatra"
    assert stack.commands.start == "bundle exec rackup"


def test_a_gem_that_only_starts_like_a_framework_is_not_a_companion(tmp_path: Path) -> None:
    stack = detect(tmp_path, {"Gemfile": 'gem "sinatra_helpers_x"\ngem "rails_best"\n'})
    assert stack.framework == "none"


@pytest.mark.parametrize(
    "declaration",
    [
        {"Gemfile": 'gem "rack"\ngem "rubocop-performance", require: false\n'},
        {"Gemfile": 'gem "rack"\ngem "caliber"\n', ".config/rubocop/config.yml": "inherit_gem:\n"},
        {"Gemfile": 'gem "rack"\n', ".rubocop.yml": "inherit_gem:\n  house_style: default.yml\n"},
        {
            "Gemfile": 'gem "rack"\n',
            "Rakefile": 'require "rubocop/rake_task"\nRuboCop::RakeTask.new\n',
        },
        {"Gemfile": 'gem "rack"\n', "Rakefile": "task :rubocop do\n  sh 'rubocop || true'\nend\n"},
    ],
)
def test_rubocop_declared_through_a_plugin_a_config_or_a_rake_task(
    tmp_path: Path, declaration: dict[str, str]
) -> None:
    stack = detect(tmp_path, declaration)
    assert stack.commands.lint == "bundle exec rubocop"
    assert stack.commands.format == "bundle exec rubocop -a"


def test_rubocop_is_never_guessed_for_a_ruby_project_that_does_not_declare_it(
    tmp_path: Path,
) -> None:
    stack = detect(tmp_path, {"Gemfile": 'gem "rack"\n', "Rakefile": "task :test do\nend\n"})
    assert stack.commands.lint == ""
    assert stack.commands.format == ""


# -- Python: a root unittest script when no test runner is declared ------------------------------

UNITTEST_SCRIPT = (
    "import unittest\n\nclass T(unittest.TestCase):\n    def test_x(self):\n        pass\n"
)


@pytest.mark.parametrize(
    ("script", "body", "command"),
    [
        (
            "tests.py",
            UNITTEST_SCRIPT + "\nif __name__ == '__main__':\n    unittest.main()\n",
            "python tests.py",
        ),
        ("test.py", UNITTEST_SCRIPT + "\nunittest.main(verbosity=2)\n", "python test.py"),
        (
            "tests.py",
            "from unittest import TestCase\n\nclass T(TestCase):\n    pass\n",
            "python -m unittest",
        ),
    ],
)
def test_a_root_unittest_script_is_the_test_command_when_nothing_else_is(
    tmp_path: Path, script: str, body: str, command: str
) -> None:
    stack = detect(tmp_path, {"requirements.txt": "flask\n", script: body})
    assert stack.commands.test == command
    assert "no test runner declared" in findings(stack)


def test_a_unittest_script_runs_through_the_project_runner(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": '[project]\nname = "x"\n',
        "uv.lock": "",
        "tests.py": UNITTEST_SCRIPT,
    }
    assert detect(tmp_path, files).commands.test == "uv run python -m unittest"


def test_a_declared_runner_or_a_script_that_is_not_unittest_wins(tmp_path: Path) -> None:
    declared = {"requirements.txt": "pytest\n", "tests.py": UNITTEST_SCRIPT}
    assert detect(tmp_path / "a", declared).commands.test == "python -m pytest"
    other = {"requirements.txt": "requests\n", "test.py": "print('manual check')\n"}
    assert detect(tmp_path / "b", other).commands.test == ""
    # "unittest" in a comment or string is not an import of it
    mention = {"requirements.txt": "requests\n", "tests.py": "# no unittest here\nx = 1\n"}
    assert detect(tmp_path / "c", mention).commands.test == ""


@pytest.mark.parametrize(
    "tasks",
    [
        '[tool.hatch.envs.default.scripts]\nfmt = "black --check --diff ."\n',
        '[tool.poe.tasks]\nformat = { cmd = "ruff format --check ." }\n',
        '[tool.pdm.scripts]\nformat = ["ruff format --check .", "ruff check ."]\n',
    ],
)
def test_a_python_format_task_that_only_checks_is_not_the_format(
    tmp_path: Path, tasks: str
) -> None:
    pyproject = '[project]\nname = "x"\ndependencies = []\n[tool.ruff]\n' + tasks
    stack = detect(tmp_path, {"pyproject.toml": pyproject})
    assert stack.commands.format == "ruff format ."


def test_a_root_installer_that_builds_and_copies_the_program_is_not_the_install(
    tmp_path: Path,
) -> None:
    installer = "#!/bin/sh\ncargo build --release\ninstall -m 755 target/release/x /usr/local/bin\n"
    stack = detect(
        tmp_path,
        {
            "Cargo.toml": '[package]\nname = "x"\nversion = "0.1.0"\n',
            "install.sh": installer,
            ".github/workflows/ci.yml": _workflow("./install.sh"),
        },
    )
    assert stack.commands.install != "./install.sh"


# -- task recipes: judged by what they run, not only by their names -----------------------------

UV_PROJECT = '[project]\nname = "x"\ndependencies = []\n'
TASK_FILES = {
    "justfile": "{name}:\n    {body}\n",
    "Makefile": "{name}:\n\t{body}\n",
    "Taskfile.yml": "version: '3'\ntasks:\n  {name}:\n    cmds:\n      - {body}\n",
}
RUNNERS = {"justfile": "just", "Makefile": "make", "Taskfile.yml": "task"}


def task_file(kind: str, recipes: dict[str, str]) -> str:
    if kind == "Taskfile.yml":
        tasks = "".join(f"  {n}:\n    cmds:\n      - {b}\n" for n, b in recipes.items())
        return "version: '3'\ntasks:\n" + tasks
    return "".join(TASK_FILES[kind].format(name=n, body=b) for n, b in recipes.items())


@pytest.mark.parametrize("kind", list(TASK_FILES))
@pytest.mark.parametrize("body", ["uv sync", "npm install", "pip install -r requirements.txt"])
def test_a_build_recipe_that_only_installs_is_not_the_build(
    tmp_path: Path, kind: str, body: str
) -> None:
    files = {"pyproject.toml": UV_PROJECT, "uv.lock": "", kind: task_file(kind, {"build": body})}
    stack = detect(tmp_path, files)
    assert stack.commands.build != f"{RUNNERS[kind]} build"
    assert "an install, not a build" in findings(stack)


@pytest.mark.parametrize("kind", list(TASK_FILES))
@pytest.mark.parametrize("body", ["uv build", "uv sync && uv build", "docker compose build"])
def test_a_build_recipe_that_builds_stays_the_build(tmp_path: Path, kind: str, body: str) -> None:
    files = {"pyproject.toml": UV_PROJECT, "uv.lock": "", kind: task_file(kind, {"build": body})}
    assert detect(tmp_path, files).commands.build == f"{RUNNERS[kind]} build"


def test_a_ci_running_an_install_only_build_recipe_does_not_make_it_the_build(
    tmp_path: Path,
) -> None:
    files = {
        "pyproject.toml": UV_PROJECT,
        "uv.lock": "",
        "justfile": "build:\n    uv sync\n",
        ".github/workflows/ci.yml": _workflow("just build"),
    }
    assert detect(tmp_path, files).commands.build != "just build"


def test_a_format_recipe_that_formats_the_justfile_itself_is_not_the_format(
    tmp_path: Path,
) -> None:
    justfile = "# Format the justfile\nfmt:\n    just --fmt --unstable\n"
    files = {"requirements.txt": "django\nblack\n", "justfile": justfile}
    assert detect(tmp_path / "a", files).commands.format == "black ."
    # a recipe that runs the formatter (among tools we do not know) takes its place
    justfile += "lint-fmt:\n    -isort .\n    -black .\n    -djhtml templates/\n"
    files = {"requirements.txt": "django\n", "justfile": justfile}
    assert detect(tmp_path / "b", files).commands.format == "just lint-fmt"
    # a justfile recipe that formats the code stays
    files = {"Cargo.toml": '[package]\nname = "x"\n', "justfile": "fmt:\n    cargo fmt --all\n"}
    assert detect(tmp_path / "c", files).commands.format == "just fmt"


@pytest.mark.parametrize("kind", ["justfile", "Taskfile.yml"])
def test_a_task_file_format_recipe_that_only_checks_is_not_the_format(
    tmp_path: Path, kind: str
) -> None:
    files = {
        "Cargo.toml": '[package]\nname = "x"\n',
        kind: task_file(kind, {"fmt": "cargo fmt --check"}),
    }
    assert detect(tmp_path, files).commands.format == "cargo fmt"


def test_a_lint_recipe_that_runs_no_linter_gives_way_to_the_declared_linters(
    tmp_path: Path,
) -> None:
    justfile = "# Check consistency of your env files\nlint:\n    modenv check\n"
    with_hooks = {
        "requirements.txt": "flask\n",
        "justfile": justfile,
        ".pre-commit-config.yaml": "repos: []\n",
    }
    stack = detect(tmp_path / "a", with_hooks)
    assert stack.commands.lint == "pre-commit run --all-files"
    assert "runs no linter" in findings(stack)
    # a recipe that runs the hooks (through a pipeline) is the lint command
    sibling = justfile + "pre-commit:\n    git ls-files | xargs pre-commit run --files\n"
    files = {"requirements.txt": "flask\n", "justfile": sibling}
    assert detect(tmp_path / "b", files).commands.lint == "just pre-commit"
    # the declared linter of the stack
    files = {"pyproject.toml": UV_PROJECT + "[tool.ruff]\n", "uv.lock": "", "justfile": justfile}
    assert detect(tmp_path / "c", files).commands.lint == "uv run ruff check ."


def test_a_lint_recipe_stays_when_nothing_declared_can_replace_it(tmp_path: Path) -> None:
    # nothing else declared: the repository's own entry point
    files = {"requirements.txt": "flask\n", "justfile": "lint:\n    modenv check\n"}
    assert detect(tmp_path / "a", files).commands.lint == "just lint"
    # the toolchain's linter is no declared one: a Go repository's `make lint` stays
    go = {"go.mod": "module x\n\ngo 1.22\n", "Makefile": "lint:\n\tgolint ./...\n"}
    assert detect(tmp_path / "b", go).commands.lint == "make lint"
    # a recipe whose command hides behind a variable may run anything: it stays
    hooks = {".pre-commit-config.yaml": "repos: []\n", "requirements.txt": "flask\n"}
    opaque = {**hooks, "Makefile": "lint:\n\t$(LINTER) run ./...\n"}
    assert detect(tmp_path / "c", opaque).commands.lint == "make lint"
    template = {**hooks, "justfile": "lint:\n    {{ LINTER }} run\n"}
    assert detect(tmp_path / "f", template).commands.lint == "just lint"
    # one that runs a linter, itself or through the recipes it calls, stays
    calls = {**hooks, "justfile": "lint: ruff\nruff:\n    ruff check .\n"}
    assert detect(tmp_path / "d", calls).commands.lint == "just lint"
    direct = {**hooks, "justfile": "lint:\n    just ruff\nruff:\n    ruff check .\n"}
    assert detect(tmp_path / "e", direct).commands.lint == "just lint"


@pytest.mark.parametrize(
    "body",
    [
        "shellcheck scripts/*.sh",
        "yamllint .",
        "mypy src",
        "codespell",
        "ruff check .",
        "docker compose run --rm app ruff check .",
        "nix-shell --pure --run 'cargo clippy --all-targets'",
    ],
)
def test_a_lint_recipe_that_runs_a_checker_stays(tmp_path: Path, body: str) -> None:
    files = {
        "pyproject.toml": UV_PROJECT + "[tool.ruff]\n",
        "uv.lock": "",
        ".pre-commit-config.yaml": "repos: []\n",
        "Makefile": f"lint:\n\t{body}\n",
    }
    assert detect(tmp_path, files).commands.lint == "make lint"


@pytest.mark.parametrize(
    ("build", "expected"), [("npm install", ""), ("npm ci && tsc -p .", "npm run build")]
)
def test_a_package_json_build_script_that_only_installs_is_not_the_build(
    tmp_path: Path, build: str, expected: str
) -> None:
    files = {"package.json": json.dumps({"name": "x", "scripts": {"build": build}})}
    assert detect(tmp_path, files).commands.build == expected


def test_a_recipe_body_is_read_as_the_commands_it_runs() -> None:
    lines = [
        "@echo start",
        "-black .",
        "git ls-files -- . | xargs -0 pre-commit run --files",
        "pytest {{ ARGS }}",
    ]
    assert body_commands(lines) == [
        "echo start",
        "black .",
        "git ls-files -- .",
        "pre-commit run --files",
        "pytest",
    ]


# -- a CI step that runs several recipes: one command per field ----------------------------------


@pytest.mark.parametrize("runner", ["just", "make", "task"])
def test_a_ci_step_running_several_recipes_is_split_per_field(runner: str) -> None:
    found = classify_each(f"{runner} lint test")
    assert [(c.field, c.command) for c in found if isinstance(c, Classified)] == [
        ("lint", f"{runner} lint"),
        ("test", f"{runner} test"),
    ]
    options = classify_each(f"{runner} -j 2 fmt build")
    assert [c.command for c in options if isinstance(c, Classified)] == [
        f"{runner} -j 2 fmt",
        f"{runner} -j 2 build",
    ]


def test_a_single_field_or_a_recipe_argument_keeps_the_command_whole() -> None:
    assert [c.command for c in classify_each("make deps test") if isinstance(c, Classified)] == [
        "make deps test"
    ]
    # just's words after a recipe may be its arguments
    assert [
        c.command for c in classify_each("just test lint-fix") if isinstance(c, Classified)
    ] == ["just test lint-fix"]
    # poe runs one task, the rest are its arguments
    assert len(classify_each("uv run poe lint test")) == 1


def test_detection_takes_each_recipe_of_a_multi_recipe_ci_step_for_its_field(
    tmp_path: Path,
) -> None:
    files = {
        "Cargo.toml": '[package]\nname = "x"\n',
        "justfile": "lint:\n    cargo clippy\ntest:\n    cargo test\n",
        ".github/workflows/ci.yml": _workflow("just lint test", "npm run lint && npm test"),
    }
    stack = detect(tmp_path, files)
    assert (stack.commands.lint, stack.commands.test) == ("just lint", "just test")


# -- a repository's own scripts/test declares itself ---------------------------------------------


@pytest.mark.parametrize("script", ["scripts/test", "script/test", "bin/test"])
def test_an_executable_test_script_is_the_test_command(tmp_path: Path, script: str) -> None:
    root = tmp_path / "repo"
    path = root / script
    path.parent.mkdir(parents=True)
    path.write_text("venv/bin/python -m pytest tests\n", encoding="utf-8")
    path.chmod(0o755)
    (root / "requirements.txt").write_text("starlette\n", encoding="utf-8")
    assert detect_stack(root).commands.test == script


def test_a_shell_test_script_that_is_not_executable_runs_through_its_shell(tmp_path: Path) -> None:
    bash = {"requirements.txt": "requests\n", "scripts/test": "#!/usr/bin/env bash\npytest\n"}
    assert detect(tmp_path / "a", bash).commands.test == "bash scripts/test"
    posix = {"requirements.txt": "requests\n", "scripts/test.sh": "pytest\n"}
    assert detect(tmp_path / "b", posix).commands.test == "sh scripts/test.sh"
    # not executable and not a shell script: nothing says how to run it
    other = {"requirements.txt": "requests\n", "scripts/test": "pytest\n"}
    assert detect(tmp_path / "c", other).commands.test == ""
    # a task file's test target comes first
    make = {**bash, "Makefile": "test:\n\tpytest -x\n"}
    assert detect(tmp_path / "d", make).commands.test == "make test"


# -- typecheck: tsc does not read .vue or .svelte files --------------------------------------------


def _ts_package(**deps: str) -> str:
    return json.dumps({"name": "app", "devDependencies": {"typescript": "5", **deps}})


@pytest.mark.parametrize(
    ("deps", "typecheck"),
    [
        ({"nuxt": "3"}, "npx nuxi typecheck"),
        ({"nuxt": "3", "vue-tsc": "2"}, "npx nuxi typecheck"),
        ({"vue": "3", "vue-tsc": "2"}, "npx vue-tsc --noEmit"),
        ({"svelte": "4", "@sveltejs/kit": "2", "svelte-check": "3"}, "npx svelte-check"),
        ({"vue": "3"}, ""),
        ({"svelte": "4"}, ""),
        ({"react": "18"}, "npx tsc --noEmit"),
        # astro check: built in before Astro 3, then from @astrojs/check (else it prompts)
        ({"astro": "^2.10.3"}, "npx astro check"),
        ({"astro": "^4.0.0", "@astrojs/check": "0.5"}, "npx astro check"),
        ({"astro": "^4.0.0"}, ""),
    ],
)
def test_the_typecheck_guess_reads_single_file_components_or_is_none(
    tmp_path: Path, deps: dict[str, str], typecheck: str
) -> None:
    files = {"package.json": _ts_package(**deps), "tsconfig.json": "{}"}
    assert detect(tmp_path, files).commands.typecheck == typecheck


def test_a_vue_project_s_own_typecheck_script_is_kept(tmp_path: Path) -> None:
    manifest = json.loads(_ts_package(vue="3"))
    manifest["scripts"] = {"typecheck": "tsc --noEmit"}
    files = {"package.json": json.dumps(manifest), "tsconfig.json": "{}"}
    assert detect(tmp_path, files).commands.typecheck == "npm run typecheck"


# -- node: a script that runs the tool, production launchers, published libraries -----------------


def _manifest(**fields: object) -> dict[str, str]:
    return {"package.json": json.dumps({"name": "pkg", **fields})}


@pytest.mark.parametrize(
    ("scripts", "lint"),
    [
        ({"lint:eslint": "eslint . --ext .js,.ts,.astro"}, "npm run lint:eslint"),
        ({"eslint": "eslint src"}, "npm run eslint"),
        # a fixing variant is not the lint; nor a script named for something else
        ({"lint:fix": "eslint . --fix"}, "npx eslint ."),
        ({"check": "eslint ."}, "npx eslint ."),
        ({"lint-css": "stylelint '**/*.css'"}, "npx eslint ."),
    ],
)
def test_a_script_running_the_declared_tool_beats_the_guess(
    tmp_path: Path, scripts: dict[str, str], lint: str
) -> None:
    files = _manifest(scripts=scripts, devDependencies={"eslint": "8"})
    assert detect(tmp_path, files).commands.lint == lint


@pytest.mark.parametrize(
    "start",
    [
        "cross-env NODE_ENV=production pm2 start ./src/index.js",
        "NODE_ENV=production node src/server.js",
        "pm2-runtime start ecosystem.config.js",
        "forever start app.js",
    ],
)
def test_a_production_launcher_start_gives_way_to_dev(tmp_path: Path, start: str) -> None:
    files = _manifest(scripts={"start": start, "dev": "nodemon src/index.js"})
    stack = detect(tmp_path, files)
    assert stack.commands.start == "npm run dev"
    assert "production" in findings(stack)
    # without a dev script the start is all there is; a plain start is kept
    assert detect(tmp_path / "b", _manifest(scripts={"start": start})).commands.start == "npm start"
    plain = _manifest(scripts={"start": "node src/index.js", "dev": "nodemon src/index.js"})
    assert detect(tmp_path / "c", plain).commands.start == "npm start"


@pytest.mark.parametrize(
    "shape",
    [{"main": "./dist/index.js"}, {"exports": "./index.js"}, {"files": ["distribution"]}],
)
def test_a_published_library_takes_no_framework_from_its_dev_dependencies(
    tmp_path: Path, shape: dict[str, object]
) -> None:
    dev = {"devDependencies": {"express": "5", "ava": "5"}}
    assert detect(tmp_path, _manifest(**shape, **dev)).framework == "none"
    # a private package with everything in devDependencies is a bundled app: judged by them all
    app = _manifest(**shape, **dev, private=True)
    assert detect(tmp_path / "b", app).framework == "express"
    # a runtime dependency decides as before
    served = _manifest(**shape, dependencies={"express": "5"})
    assert detect(tmp_path / "c", served).framework == "express"


@pytest.mark.parametrize(("linter", "lint"), [("xo", "npx xo"), ("standard", "npx standard")])
def test_a_declared_eslint_wrapper_is_the_lint_also_inside_npm_test(
    tmp_path: Path, linter: str, lint: str
) -> None:
    files = _manifest(
        scripts={"test": f"{linter} && npm run build && ava"},
        devDependencies={linter: "1", "eslint": "8", "ava": "5"},
    )
    stack = detect(tmp_path, files)
    assert (stack.commands.lint, stack.commands.test) == (lint, "npm test")


# -- a service that serves nothing over HTTP: its worker is the start ---------------------------


_CELERY_REQS = {"requirements.txt": "celery\nredis\n"}


def test_a_makefile_target_running_a_celery_worker_is_the_start(tmp_path: Path) -> None:
    make = "worker:\n\tPYTHONPATH=x \\\n\t\tcelery -A proj worker -l info\ntest:\n\tpytest\n"
    stack = detect(tmp_path, {**_CELERY_REQS, "Makefile": make})
    assert stack.commands.start == "make worker"
    assert "Celery worker" in findings(stack)


def test_a_procfile_gives_the_start_web_first_then_a_celery_worker(tmp_path: Path) -> None:
    both = "# processes\nweb: gunicorn proj.wsgi\nworker: celery -A proj worker\n"
    assert detect(tmp_path, {**_CELERY_REQS, "Procfile": both}).commands.start == (
        "gunicorn proj.wsgi"
    )
    worker = {**_CELERY_REQS, "Procfile": "worker: celery -A proj worker -l info\n"}
    assert detect(tmp_path / "b", worker).commands.start == "celery -A proj worker -l info"
    # a process that is not a Celery worker is not taken for the start
    other = {**_CELERY_REQS, "Procfile": "release: python migrate.py\n"}
    assert detect(tmp_path / "c", other).commands.start == ""


def test_a_worker_never_replaces_the_framework_s_start(tmp_path: Path) -> None:
    files = {
        "requirements.txt": "django\ncelery\n",
        "manage.py": "",
        "Procfile": "worker: celery -A proj worker\n",
    }
    assert detect(tmp_path, files).commands.start == "python manage.py runserver"


# -- Python install: requirements folders, configuration-only pyprojects, the test extra ---------


@pytest.mark.parametrize(
    ("names", "chosen"),
    [
        (["base", "ci", "dev"], "requirements/dev.txt"),
        (["base", "ci"], "requirements/ci.txt"),
        (["base", "prod"], "requirements/base.txt"),
        (["prod"], None),
    ],
)
def test_a_requirements_folder_installs_its_development_file(
    tmp_path: Path, names: list[str], chosen: str | None
) -> None:
    files = {f"requirements/{name}.txt": "requests\n" for name in names}
    install = detect(tmp_path, files).commands.install
    assert install == (f"python -m pip install -r {chosen}" if chosen else "")


def test_a_configuration_only_pyproject_is_not_installed_as_a_package(tmp_path: Path) -> None:
    config = '[project]\nname = "site"\nversion = "1"\n[tool.ruff]\nline-length = 120\n'
    files = {"pyproject.toml": config, "requirements.txt": "django\n"}
    assert detect(tmp_path, files).commands.install == "python -m pip install -r requirements.txt"
    # a build system, or dependencies pip builds the project for, make it a package
    built = config + '[build-system]\nrequires = ["setuptools"]\n'
    assert detect(tmp_path / "b", {**files, "pyproject.toml": built}).commands.install == (
        "python -m pip install -e . -r requirements.txt"
    )
    with_deps = config.replace('version = "1"', 'version = "1"\ndependencies = ["click"]')
    assert detect(tmp_path / "c", {"pyproject.toml": with_deps}).commands.install == (
        "python -m pip install -e ."
    )


def test_the_test_extra_is_installed_with_the_project(tmp_path: Path) -> None:
    pyproject = (
        '[project]\nname = "tool"\ndependencies = ["click"]\n'
        '[project.optional-dependencies]\ntest = ["pytest"]\ndocs = ["sphinx"]\n'
        '[build-system]\nrequires = ["setuptools"]\n'
    )
    assert detect(tmp_path, {"pyproject.toml": pyproject}).commands.install == (
        "python -m pip install -e '.[test]'"
    )
    uv = {"pyproject.toml": pyproject, "uv.lock": ""}
    assert detect(tmp_path / "b", uv).commands.install == "uv sync --extra test"
    # with a dependency group, uv syncs the development tools by default
    grouped = {**uv, "pyproject.toml": pyproject + '[dependency-groups]\ndev = ["pytest"]\n'}
    assert detect(tmp_path / "c", grouped).commands.install == "uv sync"


# -- FastAPI: a main.py that runs uvicorn itself is started with python -------------------------


_FASTAPI = {"requirements.txt": "fastapi\nuvicorn\n"}


@pytest.mark.parametrize(
    ("main", "start"),
    [
        (
            'import uvicorn\n\nif __name__ == "__main__":\n    uvicorn.run("app.server:app")\n',
            "python main.py",
        ),
        ("from uvicorn import run\n\nrun('app:app')\n", "python main.py"),
        # an app module: uvicorn imports it; a mention in a comment is no import
        ("from fastapi import FastAPI\n\napp = FastAPI()\n", "uvicorn main:app"),
        (
            "# run with: uvicorn.run(app)\nfrom fastapi import FastAPI\napp = FastAPI()\n",
            "uvicorn main:app",
        ),
    ],
)
def test_a_main_module_running_uvicorn_is_started_with_python(
    tmp_path: Path, main: str, start: str
) -> None:
    assert detect(tmp_path, {**_FASTAPI, "main.py": main}).commands.start == start


# -- Java: the development mode of Quarkus and Micronaut ----------------------------------------


def _pom(plugin: str) -> str:
    return (
        "<project><modelVersion>4.0.0</modelVersion><artifactId>svc</artifactId><build><plugins>"
        f"<plugin><artifactId>{plugin}</artifactId></plugin></plugins></build></project>"
    )


@pytest.mark.parametrize(
    ("files", "start"),
    [
        ({"pom.xml": _pom("quarkus-maven-plugin")}, "mvn quarkus:dev"),
        ({"pom.xml": _pom("quarkus-maven-plugin"), "mvnw": ""}, "./mvnw quarkus:dev"),
        ({"pom.xml": _pom("micronaut-maven-plugin"), "mvnw": ""}, "./mvnw mn:run"),
        ({"pom.xml": _pom("maven-surefire-plugin")}, ""),
        (
            {"build.gradle.kts": 'plugins {\n    id("io.quarkus")\n}\n', "gradlew": ""},
            "./gradlew quarkusDev",
        ),
        ({"build.gradle": "plugins {\n    id 'io.micronaut.application'\n}\n"}, "gradle run"),
        ({"build.gradle": "plugins {\n    id 'java-library'\n}\n"}, ""),
    ],
)
def test_a_jvm_framework_s_dev_mode_is_the_start(
    tmp_path: Path, files: dict[str, str], start: str
) -> None:
    assert detect(tmp_path, files).commands.start == start


# -- CI feature matrices: the plain command, not one variant ------------------------------------


def _rust_ci(*runs: str) -> dict[str, str]:
    steps = "".join(f"      - run: {run}\n" for run in runs)
    workflow = f"on: push\njobs:\n  ci:\n    runs-on: ubuntu-latest\n    steps:\n{steps}"
    return {
        "Cargo.toml": '[package]\nname = "lib"\nversion = "0.1.0"\n',
        ".github/workflows/ci.yml": workflow,
    }


@pytest.mark.parametrize(
    ("runs", "typecheck"),
    [
        (("cargo check --no-default-features", "cargo check"), "cargo check"),
        (
            ("cargo check --features backtrace", "cargo check --all-targets"),
            "cargo check --all-targets",
        ),
        (("cargo check -F serde", "cargo check --features=std"), "cargo check -F serde"),
        # one variant only: the repository chose it
        (("cargo check --no-default-features",), "cargo check --no-default-features"),
    ],
)
def test_a_ci_feature_matrix_gives_its_plain_command(
    tmp_path: Path, runs: tuple[str, ...], typecheck: str
) -> None:
    assert detect(tmp_path, _rust_ci(*runs)).commands.typecheck == typecheck


# -- Flask: an app's own FlaskGroup console script ---------------------------------------------


_FLASK_PROJECT = (
    '[project]\nname = "forum"\ndependencies = ["flask"]\n'
    '[project.scripts]\nforum = "forum.cli:main"\n[build-system]\nrequires = ["hatchling"]\n'
)


@pytest.mark.parametrize(
    ("cli", "start"),
    [
        (
            "from flask.cli import FlaskGroup\n\n@click.group(cls=FlaskGroup)\ndef main(): ...\n",
            "forum run",
        ),
        ("import click\n\n@click.group()\ndef main(): ...\n", "flask run"),
        (None, "flask run"),  # the module is not there: nothing says it has `run`
    ],
)
def test_a_flask_app_s_flaskgroup_script_runs_the_server(
    tmp_path: Path, cli: str | None, start: str
) -> None:
    files = {"pyproject.toml": _FLASK_PROJECT}
    if cli is not None:
        files["forum/cli.py"] = cli
    assert detect(tmp_path, files).commands.start == start
