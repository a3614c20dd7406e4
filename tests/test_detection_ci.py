"""CI files as evidence: which commands each CI file runs, and which project command each is.

Real CI shapes in temporary repositories (GitHub Actions, GitLab, CircleCI, Travis, Jenkins);
malformed files are evidence, never an exception.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tac_bootstrap.application.stack_detection import detect_stack
from tac_bootstrap.application.stack_detection.ci import ci_steps, split_script
from tac_bootstrap.application.stack_detection.commands import Classified, Skipped, classify
from tac_bootstrap.application.stack_detection.model import Evidence
from tac_bootstrap.application.stack_detection.reading import Reader

from .test_stack_detection import detect, findings

# -- which field a command is -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "field", "cleaned", "ecosystem"),
    [
        ("make tests", "test", "make tests", None),
        ("make -j4 lint", "lint", "make -j4 lint", None),
        ("just test", "test", "just test", None),
        ("uv run poe lint", "lint", "uv run poe lint", None),
        ("invoke test", "test", "invoke test", None),
        ("hatch run types:check", "typecheck", "hatch run types:check", "python"),
        ("hatch test", "test", "hatch test", "python"),
        ("hatch fmt --check", "format", "hatch fmt", "python"),
        ("pdm run lint", "lint", "pdm run lint", "python"),
        ("python -m unittest discover -v", "test", "python -m unittest discover -v", "python"),
        ("node --test", "test", "node --test", "node"),
        ("bin/rails test:all", "test", "bin/rails test:all", "ruby"),
        ("ginkgo -r", "test", "ginkgo -r", "go"),
        ("bin/rails test", "test", "bin/rails test", "ruby"),
        (
            "RAILS_ENV=test bin/rails db:test:prepare test test:system",
            "test",
            "bin/rails db:test:prepare test test:system",
            "ruby",
        ),
        ("./mvnw -B verify", "test", "./mvnw -B verify", "java"),
        ("mvn -B package --file pom.xml", "build", "mvn -B package --file pom.xml", "java"),
        ("./gradlew --no-daemon :check", "test", "./gradlew --no-daemon :check", "java"),
        ("./gradlew spotlessCheck", "format", "./gradlew spotlessApply", "java"),
        ("uv run pytest", "test", "uv run pytest", "python"),
        (
            "uv run --frozen --no-sync pytest -x",
            "test",
            "uv run --frozen --no-sync pytest -x",
            "python",
        ),
        ("python -m pytest --cov-report=xml", "test", "python -m pytest", "python"),
        ("coverage run -m pytest", "test", "coverage run -m pytest", "python"),
        ("python manage.py test", "test", "python manage.py test", "python"),
        ("./runtests.py", "test", "./runtests.py", "python"),
        ("tox -e lint", "lint", "tox -e lint", "python"),
        ("tox -e typing", "typecheck", "tox -e typing", "python"),
        ("npm test", "test", "npm test", "node"),
        ("npm run test:unit", "test", "npm run test:unit", "node"),
        ("pnpm lint", "lint", "pnpm lint", "node"),
        ("yarn typecheck", "typecheck", "yarn typecheck", "node"),
        ("pnpm exec tsc --noEmit", "typecheck", "pnpm exec tsc --noEmit", "node"),
        ("npx prettier --check .", "format", "npx prettier --write .", "node"),
        ("npx next lint", "lint", "npx next lint", "node"),
        (
            "cargo clippy --all-targets -- -D warnings",
            "lint",
            "cargo clippy --all-targets -- -D warnings",
            "rust",
        ),
        ("cargo fmt --all -- --check", "format", "cargo fmt --all", "rust"),
        ("cargo +nightly test", "test", "cargo +nightly test", "rust"),
        ("go vet ./...", "lint", "go vet ./...", "go"),
        ("go test -race ./...", "test", "go test -race ./...", "go"),
        ("gofmt -l .", "format", "gofmt -w .", "go"),
        ("bundle exec rspec", "test", "bundle exec rspec", "ruby"),
        ("bin/rubocop -f github", "lint", "bin/rubocop", "ruby"),
        ("bin/flatware rspec", "test", "bin/flatware rspec", "ruby"),
        ("ruff check --output-format=github .", "lint", "ruff check .", "python"),
        ("ruff format --check --diff .", "format", "ruff format .", "python"),
        ("black --check src", "format", "black src", "python"),
        ("mypy", "typecheck", "mypy", "python"),
        ("uv run basedpyright", "typecheck", "uv run basedpyright", "python"),
        (
            "pre-commit run --all-files --show-diff-on-failure",
            "lint",
            "pre-commit run --all-files",
            None,
        ),
        ("./scripts/test.sh", "test", "./scripts/test.sh", None),
        ("bash scripts/lint.sh", "lint", "bash scripts/lint.sh", None),
        ("scripts/check", "lint", "scripts/check", None),
        ("script/bootstrap", "install", "script/bootstrap", None),
        ("uv run bash scripts/test-cov.sh", "test", "uv run bash scripts/test-cov.sh", None),
        ("uv run pytest 2>&1", "test", "uv run pytest", "python"),
        ("CI=1 time pytest -q", "test", "pytest -q", "python"),
        ("pytest >report.txt 2> err.txt", "test", "pytest", "python"),
        (
            "go test -race -coverprofile=c.out --covermode=atomic ./...",
            "test",
            "go test -race ./...",
            "go",
        ),
        ("npx eslint src/**/*.ts", "lint", "npx eslint src/**/*.ts", "node"),
        ("pytest -k 'a and b'", "test", "pytest -k 'a and b'", "python"),
    ],
)
def test_commands_map_to_fields_by_what_they_run(
    command: str, field: str, cleaned: str, ecosystem: str | None
) -> None:
    found = classify(command)
    assert isinstance(found, Classified), command
    assert (found.field, found.command, found.ecosystem) == (field, cleaned, ecosystem)


@pytest.mark.parametrize(
    "command",
    [
        "pip install -e .[dev]",
        "npm ci",
        "pnpm install --frozen-lockfile",
        "yarn --frozen-lockfile",
        "bundle install",
        "uv sync --all-extras",
        "go mod download",
        "apt-get install -y libpq-dev",
        "echo pytest",
        "cd backend",
        "make install",
        "make ci",
        "make -C docs html",
        "npm run test:e2e",
        "yarn playwright test",
        "npm run test:generators:relational",
        "npm run format:check",
        "docker compose up --build",
        "bin/rails assets:precompile",
        "bin/rails test:system",
        "hatch run docs:build",
        "cargo doc --no-deps",
    ],
)
def test_set_up_and_other_suites_are_not_project_commands(command: str) -> None:
    assert classify(command) is None


def test_a_ci_expression_or_variable_makes_a_command_unusable_except_a_python_choice() -> None:
    assert isinstance(classify("tox run -e ${{ matrix.tox }}"), Skipped)
    assert isinstance(classify("pytest $PYTEST_ARGS"), Skipped)
    dropped = classify("uv run --python ${{ matrix.python }} pytest -x")
    assert isinstance(dropped, Classified) and dropped.command == "uv run pytest -x"
    assert classify("echo ${{ github.sha }}") is None  # not worth mentioning


# -- shell scripts -----------------------------------------------------------------------------


def test_run_blocks_split_into_commands_with_their_directory_and_environment() -> None:
    script = (
        "set -e\n# comment\ncd backend\nuv run pytest 2>&1 | tee out.txt\n"
        "npm start &\nmake lint && make test || true\nif [ -f x ]; then\n"
        "  echo yes\nfi\ncd ..\nsource .venv/bin/activate\n./scripts/lint \\\n  --strict\n"
    )
    assert split_script(script) == [
        ("set -e", "", False),
        ("uv run pytest 2>&1", "backend", False),
        ("make lint", "backend", False),
        ("make test", "backend", False),
        ("true", "backend", False),
        ("echo yes", "backend", False),
        ("./scripts/lint --strict", "", True),
    ]


def test_here_documents_are_text_not_commands() -> None:
    script = "cat > notes.txt <<EOF\nmake test\nEOF\nmake lint\ncat <<-'END'\npytest\nEND\n"
    commands = [command for command, _, _ in split_script(script)]
    assert "make test" not in commands and "pytest" not in commands
    assert "make lint" in commands


def test_quotes_protect_separators() -> None:
    assert split_script("pytest -k 'a and b; c' && echo \"x | y\"") == [
        ("pytest -k 'a and b; c'", "", False),
        ('echo "x | y"', "", False),
    ]


# -- CI files ------------------------------------------------------------------------------------

WORKFLOW = """\
name: CI
on: [push]
env:
  CARGO: cargo
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: golangci/golangci-lint-action@v6
      - run: ${{ env.CARGO }} clippy
  test:
    runs-on: ubuntu-latest
    defaults:
      run:
        working-directory: backend
    steps:
      - run: |
          uv sync
          uv run pytest
      - run: npm test
        working-directory: ./frontend
  reuse:
    uses: ./.github/workflows/other.yml
"""


def test_github_workflow_steps_with_env_actions_and_working_directories(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".github/workflows").mkdir(parents=True)
    (root / ".github/workflows/ci.yml").write_text(WORKFLOW)
    evidence: list[Evidence] = []
    steps = ci_steps(Reader(root), evidence)
    assert [(s.command, s.job, s.step, s.directory) for s in steps] == [
        ("golangci-lint run", "lint", 2, ""),
        ("cargo clippy", "lint", 3, ""),
        ("uv sync", "test", 1, "backend"),
        ("uv run pytest", "test", 1, "backend"),
        ("npm test", "test", 2, "frontend"),
    ]
    assert steps[3].where == ".github/workflows/ci.yml, job test, step 1 (in backend/)"
    assert evidence == []


def test_other_ci_systems(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "svc"\n',
            ".gitlab-ci.yml": "stages: [test]\nvariables:\n  X: 1\n.template:\n  script: [make x]\n"
            "lint:\n  script:\n    - pip install ruff\n    - ruff check .\n",
            ".circleci/config.yml": "version: 2.1\njobs:\n  test:\n    steps:\n      - checkout\n"
            "      - run:\n          name: tests\n          command: python -m pytest -q\n",
            ".travis.yml": "language: python\nscript:\n  - mypy src\n",
            "Jenkinsfile": "pipeline { stages { stage('Build') { steps { sh './gradlew build' } }\n"
            "stage('Fmt') { steps { sh '''black --check .''' } } } }\n",
        },
    )
    c = stack.commands
    assert (c.lint, c.test, c.typecheck, c.format) == (
        "ruff check .",
        "python -m pytest -q",
        "mypy src",
        "black .",
    )
    assert "job lint, step 2" in findings(stack, ".gitlab-ci.yml")
    assert "job test, step 2" in findings(stack, ".circleci/config.yml")
    assert "job Fmt" in findings(stack, "Jenkinsfile")


@pytest.mark.parametrize(
    "text",
    [
        "jobs: [\n",  # not YAML
        "- just\n- a list\n",
        "jobs:\n  test: 3\n  other:\n    steps: nope\n  third:\n    steps: [1, {run: 5}]\n",
        "on: push\n",
    ],
)
def test_malformed_workflows_are_evidence_not_crashes(tmp_path: Path, text: str) -> None:
    stack = detect(tmp_path, {"go.mod": "module example.com/m\n", ".github/workflows/ci.yml": text})
    assert stack.commands.test == "go test ./..."
    if text.startswith("jobs: ["):
        assert "unreadable: not valid YAML" in findings(stack, ".github/workflows/ci.yml")


# -- CI in the whole detection ---------------------------------------------------------------


def test_ci_commands_beat_guesses_and_the_makefile_and_say_where(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "svc"\n'
            '[dependency-groups]\ndev = ["pytest", "ruff"]\n',
            "uv.lock": "",
            "Makefile": "test:\n\tuv run pytest\nlint:\n\tuv run ruff check .\n",
            ".github/workflows/ci.yml": "jobs:\n  test:\n    steps:\n"
            "      - uses: actions/checkout@v4\n      - run: pip install -e .\n"
            "      - run: pytest -x tests\n      - run: make lint\n",
        },
    )
    assert stack.commands.test == "uv run pytest -x tests"  # run in the project's environment
    assert stack.commands.lint == "make lint"
    assert (
        "test: `uv run pytest -x tests` — .github/workflows/ci.yml, job test, step 3"
        in findings(stack, ".github/workflows/ci.yml")
    )
    assert "CI runs pytest -x tests" in findings(stack, ".")


def test_a_ci_command_of_another_build_tool_is_not_taken(tmp_path: Path) -> None:
    stack = detect(
        tmp_path,
        {
            "pom.xml": "<project><artifactId>app</artifactId></project>",
            "build.gradle": "plugins { id 'java' }\n",
            ".github/workflows/gradle.yml": "jobs:\n  b:\n    steps:\n"
            "      - run: ./gradlew build\n",
        },
    )
    assert stack.package_manager.value == "maven"
    assert stack.commands.build == "mvn package"


def test_a_part_gets_the_ci_commands_that_run_in_it(tmp_path: Path) -> None:
    root = tmp_path / "mono"
    (root / "backend").mkdir(parents=True)
    (root / "backend/pyproject.toml").write_text('[project]\nname = "api"\n')
    (root / ".github/workflows").mkdir(parents=True)
    (root / ".github/workflows/ci.yml").write_text(WORKFLOW)
    part = detect_stack(root / "backend", ci_root=root, part="backend")
    assert part.commands.test == "uv run pytest"
    assert part.commands.lint == ""  # the root's lint job is not the part's
    alone = detect_stack(root / "backend")
    assert alone.commands.test == ""


def test_actions_that_run_a_known_command_or_their_inputs(tmp_path: Path) -> None:
    workflow = (
        "jobs:\n  a:\n    steps:\n"
        "      - uses: actions-rs/cargo@v1\n        with: {command: test, args: --all}\n"
        "      - uses: actions-rs/cargo@v1\n        with: {command: fmt, args: --all -- --check}\n"
        "      - uses: liskin/gh-problem-matcher-wrap@v2\n"
        "        with: {linters: x, run: cargo clippy}\n"
        "      - uses: psf/black@stable\n"
    )
    root = tmp_path / "repo"
    (root / ".github/workflows").mkdir(parents=True)
    (root / ".github/workflows/ci.yml").write_text(workflow)
    commands = [s.command for s in ci_steps(Reader(root), [])]
    assert commands == [
        "cargo test --all",
        "cargo fmt --all -- --check",
        "cargo clippy",
        "black --check .",
    ]


# GitHub's starter workflows (actions/starter-workflows, ci/*.yml), which many repositories
# commit unchanged: their steps, shortened to the run lines.
STARTERS = {
    "python-app": (
        {"requirements.txt": "requests\n"},
        "- run: |\n    python -m pip install --upgrade pip\n    pip install flake8 pytest\n"
        "    if [ -f requirements.txt ]; then pip install -r requirements.txt; fi\n"
        "- run: |\n    # stop the build if there are Python syntax errors or undefined names\n"
        "    flake8 . --count --select=E9,F63,F7,F82 --show-source --statistics\n"
        "- run: |\n    pytest\n",
        {
            "lint": "flake8 . --count --select=E9,F63,F7,F82 --show-source --statistics",
            "test": "pytest",
        },
    ),
    "django": (
        {"requirements.txt": "Django\n", "manage.py": ""},
        "- run: |\n    python -m pip install --upgrade pip\n    pip install -r requirements.txt\n"
        "- run: |\n    python manage.py test\n",
        {"test": "python manage.py test", "start": "python manage.py runserver"},
    ),
    "node.js": (
        {"package.json": '{"scripts": {"build": "tsc", "test": "jest"}}'},
        "- run: npm ci\n- run: npm run build --if-present\n- run: npm test\n",
        {"build": "npm run build --if-present", "test": "npm test", "install": "npm install"},
    ),
    "rubyonrails": (
        {"Gemfile": "gem 'rails'\n", "bin/rails": "", "bin/rubocop": ""},
        "- run: bin/rails db:schema:load\n- run: bin/rake\n- run: bin/bundler-audit --update\n"
        "- run: bin/brakeman -q -w2\n- run: bin/rubocop --parallel\n",
        {"test": "bin/rake", "lint": "bin/rubocop --parallel", "start": "bin/rails server"},
    ),
    "go": (
        {"go.mod": "module example.com/m\n"},
        "- run: go build -v ./...\n- run: go test -v ./...\n",
        {"build": "go build -v ./...", "test": "go test -v ./...", "lint": "go vet ./..."},
    ),
    "maven": (
        {"pom.xml": "<project><artifactId>app</artifactId></project>"},
        "- run: mvn -B package --file pom.xml\n",
        {"build": "mvn -B package --file pom.xml", "test": "mvn test"},
    ),
}


@pytest.mark.parametrize("starter", sorted(STARTERS))
def test_github_starter_workflows(tmp_path: Path, starter: str) -> None:
    files, steps, expected = STARTERS[starter]
    steps = "".join(f"      {line}\n" for line in steps.splitlines())
    workflow = (
        f"name: CI\non: [push]\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n{steps}"
    )
    stack = detect(tmp_path, {**files, f".github/workflows/{starter}.yml": workflow})
    assert {key: getattr(stack.commands, key) for key in expected} == expected
