"""Stack detection for `add-agentic`: real repository files in temporary directories.

Each ecosystem gets a small but realistic repository; malformed files must become evidence,
never an exception, and detection must never write anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tac_bootstrap.application.stack_detection import (
    DetectedStack,
    detect_stack,
    makefile_targets,
    project_name_from_dir,
)
from tac_bootstrap.domain.config import Language, PackageManager

from .conftest import tree_snapshot


def repo(root: Path, files: dict[str, str | bytes]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def detect(tmp_path: Path, files: dict[str, str | bytes]) -> DetectedStack:
    root = repo(tmp_path / "repo", files)
    before = tree_snapshot(root)
    stack = detect_stack(root)
    assert tree_snapshot(root) == before, "detection must never write"
    return stack


def findings(stack: DetectedStack, file: str) -> str:
    return " | ".join(e.finding for e in stack.evidence if e.file == file)


# -- Python -----------------------------------------------------------------------------------

POETRY_PYPROJECT = """\
[tool.poetry]
name = "shop"
version = "0.1.0"

[tool.poetry.dependencies]
python = "^3.11"
FastAPI = "^0.110"

[tool.poetry.group.dev.dependencies]
pytest = "^8"

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.ruff]
line-length = 100

[tool.mypy]
strict = true

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"""


def test_poetry_project_with_tool_sections(tmp_path: Path) -> None:
    stack = detect(tmp_path, {"pyproject.toml": POETRY_PYPROJECT, "main.py": "app = None\n"})
    assert (stack.language, stack.package_manager) == (Language.PYTHON, PackageManager.POETRY)
    assert stack.framework == "fastapi"
    c = stack.commands
    assert c.install == "poetry install"
    assert c.test == "poetry run python -m pytest"
    assert c.lint == "poetry run ruff check ."
    assert c.typecheck == "poetry run mypy ."
    assert c.format == "poetry run ruff format ."
    assert c.start == "poetry run uvicorn main:app"
    assert c.build == "poetry build"
    assert "[tool.poetry] -> package manager poetry" in findings(stack, "pyproject.toml")
    assert stack.ecosystems == ("python",)
    assert stack.name == "shop"  # from [tool.poetry] name, not the directory


def test_uv_lock_django_project(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "site"\ndependencies = ["Django>=5", "psycopg"]\n'
            '[tool.mypy]\nfiles = ["site"]\n',
            "uv.lock": "version = 1\n",
            "manage.py": "",
            "conftest.py": "",
        },
    )
    assert stack.package_manager is PackageManager.UV
    assert stack.framework == "django"
    assert stack.commands.install == "uv sync"
    assert stack.commands.start == "uv run python manage.py runserver"
    assert stack.commands.test == "uv run python -m pytest"  # conftest.py means pytest
    assert stack.commands.typecheck == "uv run mypy"  # the configured files are kept
    assert stack.commands.lint == ""  # no linter configured: none is invented
    assert "uv lock file" in findings(stack, "uv.lock")


def test_tool_uv_section_without_lock_means_uv(tmp_path: Path) -> None:
    stack = detect(
        tmp_path, {"pyproject.toml": '[project]\nname = "x"\n[tool.uv]\npackage = true\n'}
    )
    assert stack.package_manager is PackageManager.UV
    assert "[tool.uv]" in findings(stack, "pyproject.toml")


def test_requirements_files_mean_pip(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "requirements.txt": "# web\nflask==3.0.0  # pinned\n-e git+https://x/y.git#egg=y\n",
            "requirements-dev.txt": "-r requirements.txt\npytest>=8\nblack\nflake8\n",
            "app.py": "",
        },
    )
    assert (stack.language, stack.package_manager) == (Language.PYTHON, PackageManager.PIP)
    assert stack.framework == "flask"
    c = stack.commands
    assert c.install == "python -m pip install -r requirements.txt -r requirements-dev.txt"
    assert c.test == "python -m pytest"
    assert c.lint == "flake8"
    assert c.format == "black ."
    assert c.start == "flask run"
    assert "requirement(s)" in findings(stack, "requirements-dev.txt")


def test_setup_cfg_means_python_and_pip(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "setup.cfg": "[metadata]\nname = lib\n\n[options]\ninstall_requires =\n"
            "    requests\n    fastapi\n\n[mypy]\nstrict = True\n\n[tool:pytest]\n",
        },
    )
    assert (stack.language, stack.package_manager) == (Language.PYTHON, PackageManager.PIP)
    assert stack.framework == "fastapi"
    assert stack.commands.install == "python -m pip install -e ."
    assert stack.commands.typecheck == "mypy ."
    assert stack.commands.test == "python -m pytest"


def test_pep621_dev_extra_and_scripts(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "tool"\n[project.optional-dependencies]\n'
            'dev = ["pytest", "pyright"]\n[project.scripts]\nmytool = "tool.cli:main"\n'
            '[build-system]\nrequires = ["hatchling"]\n',
        },
    )
    c = stack.commands
    assert c.install == "python -m pip install -e '.[dev]'"
    assert c.typecheck == "pyright"
    assert c.start == "mytool"
    assert c.build == "python -m build"


# -- JavaScript / TypeScript ------------------------------------------------------------------


def package_json(**fields: object) -> str:
    return json.dumps({"name": "web", "version": "1.0.0", **fields}, indent=2)


def test_typescript_pnpm_with_scripts(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "package.json": package_json(
                scripts={
                    "test": "vitest run",
                    "lint": "eslint .",
                    "typecheck": "tsc --noEmit",
                    "dev": "next dev",
                    "start": "next start",
                    "build": "next build",
                },
                dependencies={"next": "14", "react": "18"},
                devDependencies={"typescript": "5"},
            ),
            "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
        },
    )
    assert (stack.language, stack.package_manager) == (Language.TYPESCRIPT, PackageManager.PNPM)
    assert stack.framework == "nextjs"
    c = stack.commands
    assert c.install == "pnpm install"
    assert c.test == "pnpm run test"
    assert c.lint == "pnpm run lint"
    assert c.typecheck == "pnpm run typecheck"
    assert c.start == "pnpm run dev"  # `next start` serves a build: dev runs from the sources
    assert c.build == "pnpm run build"
    assert "lock file -> package manager pnpm" in findings(stack, "pnpm-lock.yaml")


def test_javascript_npm_express_and_npm_specials(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "package.json": package_json(
                scripts={"test": "jest", "start": "node server.js", "lint": "eslint ."},
                dependencies={"express": "4"},
            ),
            "package-lock.json": "{}",
        },
    )
    assert (stack.language, stack.package_manager) == (Language.JAVASCRIPT, PackageManager.NPM)
    assert stack.framework == "express"
    assert stack.commands.test == "npm test"
    assert stack.commands.start == "npm start"
    assert stack.commands.lint == "npm run lint"
    assert stack.commands.typecheck == ""


def test_npm_placeholder_test_script_is_not_a_test_command(tmp_path: Path) -> None:
    placeholder = 'echo "Error: no test specified" && exit 1'
    stack = detect(tmp_path, {"package.json": package_json(scripts={"test": placeholder})})
    assert stack.commands.test == ""
    assert "placeholder" in findings(stack, "package.json")


@pytest.mark.parametrize(
    ("lock", "pm"),
    [
        ("yarn.lock", PackageManager.YARN),
        ("bun.lockb", PackageManager.BUN),
        ("bun.lock", PackageManager.BUN),
        ("package-lock.json", PackageManager.NPM),
    ],
)
def test_lock_file_decides_the_package_manager(
    tmp_path: Path, lock: str, pm: PackageManager
) -> None:
    stack = detect(tmp_path, {"package.json": package_json(scripts={"lint": "x"}), lock: ""})
    assert stack.package_manager is pm
    expected = "npm run lint" if pm is PackageManager.NPM else f"{pm.value} run lint"
    assert stack.commands.lint == expected


def test_package_manager_field_wins_over_a_stray_lock_file(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {"package.json": package_json(packageManager="yarn@4.1.0"), "package-lock.json": "{}"},
    )
    assert stack.package_manager is PackageManager.YARN
    assert "another lock file (npm)" in findings(stack, "package-lock.json")


def test_tsconfig_alone_means_typescript_and_tsc_typecheck(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "package.json": package_json(dependencies={"@nestjs/core": "10", "express": "4"}),
            "tsconfig.json": "{}",
            "yarn.lock": "",
        },
    )
    assert stack.language is Language.TYPESCRIPT
    assert stack.framework == "nestjs"
    assert stack.commands.typecheck == "yarn tsc --noEmit"


# -- Go, Rust, Java, Ruby ---------------------------------------------------------------------


def test_go_module_with_gin(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "go.mod": "module example.com/api\n\ngo 1.22\n\nrequire (\n"
            "\tgithub.com/gin-gonic/gin v1.9.1\n\tgolang.org/x/net v0.20.0 // indirect\n)\n",
            "cmd/api/main.go": "package main\n",
            ".golangci.yml": "",
        },
    )
    assert (stack.language, stack.package_manager, stack.framework) == (
        Language.GO,
        PackageManager.GO,
        "gin",
    )
    assert stack.commands.test == "go test ./..."
    assert stack.commands.start == "go run ./cmd/api"
    assert stack.commands.lint == "golangci-lint run"


def test_go_single_line_require_echo(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {"go.mod": "module m\nrequire github.com/labstack/echo/v4 v4.11.0\n", "main.go": ""},
    )
    assert stack.framework == "echo"
    assert stack.commands.start == "go run ."


def test_rust_with_axum_and_actix(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "Cargo.toml": '[package]\nname = "svc"\n[dependencies]\naxum = "0.7"\n'
            'tokio = { version = "1", features = ["full"] }\n',
            "src/main.rs": "fn main() {}\n",
        },
    )
    assert (stack.language, stack.package_manager, stack.framework) == (
        Language.RUST,
        PackageManager.CARGO,
        "axum",
    )
    assert stack.commands.start == "cargo run"
    assert stack.commands.test == "cargo test"
    actix = detect(
        tmp_path / "actix",
        {"Cargo.toml": '[package]\nname = "a"\n[dependencies]\nactix-web = "4"\n'},
    )
    assert actix.framework == "actix"
    assert actix.commands.start == ""  # a library: nothing to run


POM = """<?xml version="1.0"?>
<project>
  <parent><groupId>org.springframework.boot</groupId>
  <artifactId>spring-boot-starter-parent</artifactId></parent>
  <artifactId>svc</artifactId>
</project>
"""


def test_maven_spring_with_wrapper(tmp_path: Path) -> None:
    stack = detect(tmp_path, {"pom.xml": POM, "mvnw": "#!/bin/sh\n"})
    assert (stack.language, stack.package_manager, stack.framework) == (
        Language.JAVA,
        PackageManager.MAVEN,
        "spring",
    )
    assert stack.commands.test == "./mvnw test"
    assert stack.commands.start == "./mvnw spring-boot:run"


def test_gradle_kts_spring_without_wrapper(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {"build.gradle.kts": 'plugins {\n  id("org.springframework.boot") version "3.2.0"\n}\n'},
    )
    assert (stack.package_manager, stack.framework) == (PackageManager.GRADLE, "spring")
    assert stack.commands.test == "gradle test"
    assert stack.commands.start == "gradle bootRun"


def test_gradle_application_plugin(tmp_path: Path) -> None:
    stack = detect(
        tmp_path, {"build.gradle": "plugins {\n    id 'application'\n}\n", "gradlew": ""}
    )
    assert stack.framework == "none"
    assert stack.commands.start == "./gradlew run"


def test_ruby_rails_with_rspec_and_rubocop(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "Gemfile": 'source "https://rubygems.org"\ngem "rails", "~> 7.1"\n'
            "group :development, :test do\n  gem 'rspec-rails'\n"
            "  gem 'rubocop', require: false\nend\n",
            "Gemfile.lock": "GEM\n",
            "config.ru": "",
        },
    )
    assert (stack.language, stack.package_manager, stack.framework) == (
        Language.RUBY,
        PackageManager.BUNDLER,
        "rails",
    )
    c = stack.commands
    assert c.install == "bundle install"
    assert c.test == "bundle exec rspec"
    assert c.lint == "bundle exec rubocop"
    assert c.start == "bundle exec rails server"


def test_ruby_sinatra_with_minitest(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {"Gemfile": "gem 'sinatra'\ngem 'minitest'\n", "Rakefile": "", "config.ru": ""},
    )
    assert stack.framework == "sinatra"
    assert stack.commands.test == "bundle exec rake test"
    assert stack.commands.start == "bundle exec rackup"
    assert stack.commands.lint == ""


# -- Makefile -----------------------------------------------------------------------------------

MAKEFILE = """\
PYTHON ?= python3
test := not-a-target
lint ::= not-a-target-either
.PHONY: test lint type-check fmt serve

define HELP
test: inside a define is not a target
endef

$(VENV)/bin/python:
\tpython3 -m venv .venv

%.o: %.c
\tcc -c $<

test: lint
\tpytest

lint:
\truff check .

type-check:  ## run mypy
\tmypy .

fmt serve:
\truff format .
"""


def test_makefile_targets_override_detected_commands(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\n[tool.pytest.ini_options]\n[tool.ruff]\n',
            "Makefile": MAKEFILE,
        },
    )
    c = stack.commands
    assert c.test == "make test"
    assert c.lint == "make lint"
    assert c.typecheck == "make type-check"
    assert c.format == "make fmt"
    assert c.start == "make serve"
    assert c.install == "python -m pip install -e ."  # no install target: detection stands
    assert "test -> make test" in findings(stack, "Makefile")


def test_makefile_parser_skips_variables_patterns_and_recipes() -> None:
    assert makefile_targets(MAKEFILE) == ["test", "lint", "type-check", "fmt", "serve"]
    assert makefile_targets("all: build\nbuild:\n\techo build: done\nX = a:b\n") == [
        "all",
        "build",
    ]


# -- malformed and mixed repositories ------------------------------------------------------


def test_malformed_files_are_evidence_not_crashes(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "package.json": '{"name": "broken", "scripts": {',
            "pyproject.toml": "[project\nname = ",
            "setup.cfg": "no section header\n",
            "requirements.txt": b"\xff\xfe binary \x00 junk\n",
        },
    )
    assert stack.language is Language.PYTHON  # python comes before node
    assert "unreadable: not valid TOML" in findings(stack, "pyproject.toml")
    assert "unreadable: not a valid INI file" in findings(stack, "setup.cfg")
    assert "unreadable: not valid JSON" in findings(stack, "package.json")


@pytest.mark.parametrize(
    ("files", "language"),
    [
        ({"Cargo.toml": "[package\n"}, Language.RUST),
        ({"pom.xml": "<project><unclosed></project>"}, Language.JAVA),
        ({"package.json": "[1, 2, 3]"}, Language.JAVASCRIPT),
        (
            {"package.json": '{"scripts": ["not", "a", "table"], "dependencies": 5}'},
            Language.JAVASCRIPT,
        ),
        ({"pyproject.toml": 'project = "not a table"\ntool = 3\n'}, Language.PYTHON),
        ({"go.mod": ""}, Language.GO),
        ({"Gemfile": b"\x00\xff"}, Language.RUBY),
    ],
)
def test_each_malformed_manifest_still_names_its_language(
    tmp_path: Path, files: dict[str, str | bytes], language: Language
) -> None:
    assert detect(tmp_path, files).language is language


def test_a_directory_where_a_manifest_should_be_is_ignored(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "package.json").mkdir(parents=True)
    stack = detect_stack(root)
    assert not stack.recognised
    assert stack.language is Language.PYTHON


def test_mixed_repo_python_backend_with_package_json_for_assets(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "requirements.txt": "django\n",
            "manage.py": "",
            "package.json": package_json(
                scripts={"build": "webpack", "test": "jest"}, devDependencies={"webpack": "5"}
            ),
            "yarn.lock": "",
        },
    )
    assert (stack.language, stack.framework) == (Language.PYTHON, "django")
    assert stack.package_manager is PackageManager.PIP
    # Django's own runner, not the asset pipeline's jest; the asset build is borrowed.
    assert stack.commands.test == "python manage.py test"
    assert stack.commands.build == "yarn run build"
    assert "from the javascript stack; python gives none" in findings(stack, "package.json")
    assert stack.commands.start == "python manage.py runserver"
    assert stack.ecosystems == ("python", "node")
    note = findings(stack, "package.json")
    assert "also javascript: package.json, tooling only (webpack)" in note
    assert "primary stack python: requirements.txt + framework django + manage.py" in findings(
        stack, "."
    )


def test_go_wins_over_docs_tooling_in_python(tmp_path: Path) -> None:
    stack = detect(tmp_path, {"go.mod": "module m\n", "requirements.txt": "mkdocs\n"})
    assert stack.language is Language.GO
    assert stack.ecosystems == ("go", "python")


def test_empty_repository_defaults_to_python_and_says_so(tmp_path: Path) -> None:
    stack = detect(tmp_path, {"README.md": "# hi\n", "Makefile": "test:\n\t./run-tests\n"})
    assert not stack.recognised
    assert stack.language is Language.PYTHON
    assert stack.commands.test == "make test"
    assert stack.commands.install == ""
    assert "no language markers" in findings(stack, ".")


# -- project names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dirname", "name"),
    [
        ("my-app", "my-app"),
        ("My Repo (v2)", "My-Repo-v2"),
        (".dotfiles", "dotfiles"),
        ("--weird--", "weird"),
        ("café_crème", "cafe_creme"),
        ("日本", "project"),
        ("", "project"),
        ("a.b.", "a.b"),
    ],
)
def test_project_name_from_directory(dirname: str, name: str) -> None:
    assert project_name_from_dir(dirname) == name


def test_detected_name_comes_from_the_resolved_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "Some Repo"
    root.mkdir()
    monkeypatch.chdir(root)
    assert detect_stack(Path(".")).name == "Some-Repo"


def test_pipfile_project_runs_tools_through_pipenv(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {"Pipfile": '[packages]\nflask = "*"\n\n[dev-packages]\npytest = "*"\nruff = "*"\n'},
    )
    assert (stack.package_manager, stack.framework) == (PackageManager.PIP, "flask")
    assert stack.commands.install == "pipenv install --dev"
    assert stack.commands.test == "pipenv run python -m pytest"
    assert stack.commands.lint == "pipenv run ruff check ."


def test_a_huge_manifest_is_not_read(tmp_path: Path) -> None:
    padding = " " * (4 * 1024 * 1024)
    stack = detect(tmp_path, {"package.json": '{"scripts": {"test": "jest"}}' + padding})
    assert stack.language is Language.JAVASCRIPT
    assert stack.commands.test == ""
    assert "larger than 4 MiB" in findings(stack, "package.json")
