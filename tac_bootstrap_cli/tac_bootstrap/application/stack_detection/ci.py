"""The shell commands a repository's CI runs, read from its CI files (never executed).

CI files say what a repository really runs, with the flags its developers chose. This module
only finds the commands and where they are (file, job, step, working directory); ``commands``
decides which of them are a test, lint, ... command. Read: GitHub Actions
(``.github/workflows/*.yml|yaml``: ``run:`` steps, plus golangci-lint's and pre-commit's
actions), GitLab (``.gitlab-ci.yml`` ``script:``), CircleCI (``.circleci/config.yml`` ``run:``),
Travis (``.travis.yml`` ``script:``) and, best effort, a ``Jenkinsfile``'s ``sh '...'`` steps.
A file that is not valid YAML, or not shaped as its CI expects, is evidence, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

import yaml

from .model import Evidence
from .reading import Reader

# Workflows whose names say they check the code come first; release and deploy ones last.
_CHECK_WORDS = ("ci", "test", "check", "lint", "build", "main", "push", "pr")
_LATE_WORDS = ("release", "deploy", "publish", "docs", "pages", "docker", "image", "nightly")
_GITLAB_RESERVED = {
    "stages", "variables", "default", "include", "workflow", "image", "services",
    "before_script", "after_script", "cache", "pages",
}  # fmt: skip
# Actions that run a known command themselves (their defaults, not their inputs).
_ACTION_COMMANDS = (
    ("golangci/golangci-lint-action", "golangci-lint run"),
    ("pre-commit/action", "pre-commit run --all-files"),
    ("psf/black", "black --check ."),
    ("astral-sh/ruff-action", "ruff check"),
    ("chartboost/ruff-action", "ruff check"),
)
# Actions that run what their inputs say: ``with: {command: test, args: --all}`` -> cargo test.
_INPUT_ACTIONS = {"actions-rs/cargo": "cargo", "liskin/gh-problem-matcher-wrap": ""}
_ENV_REF = re.compile(r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SHELL_KEYWORDS = (
    "if", "then", "else", "elif", "fi", "for", "do", "done", "while", "case", "esac",
    "{", "}", "function",
)  # fmt: skip
_JENKINS_SH = re.compile(
    r"""\b(?:sh|bat)\s*\(?\s*(?:script\s*:\s*)?('''|\"\"\"|'|")(.*?)\1""", re.S
)
_JENKINS_STAGE = re.compile(r"""\bstage\s*\(\s*['"]([^'"]+)['"]""")


class CiStep(NamedTuple):
    """One shell command a CI file runs, and where."""

    command: str
    file: str
    job: str
    step: int  # 1-based position of the step (or script line) in its job
    directory: str = ""  # the working directory, relative to the root ("" = the root)
    venv: bool = False  # runs after ``source .venv/bin/activate``: in the project's environment

    @property
    def where(self) -> str:
        place = f"{self.file}, job {self.job}, step {self.step}"
        return f"{place} (in {self.directory}/)" if self.directory else place


def ci_steps(files: Reader, evidence: list[Evidence]) -> list[CiStep]:
    """Every command of every CI file, the most telling workflows first."""
    steps: list[CiStep] = []
    for name in _workflow_files(files):
        steps += _github(name, _load(files, name, evidence), evidence)
    for name, reader in ((".gitlab-ci.yml", _gitlab), (".circleci/config.yml", _circleci)):
        if files.is_file(name):
            steps += reader(name, _load(files, name, evidence), evidence)
    if files.is_file(".travis.yml"):
        steps += _travis(_load(files, ".travis.yml", evidence))
    if files.is_file("Jenkinsfile"):
        steps += _jenkins(files.text("Jenkinsfile", evidence) or "")
    return steps


def _workflow_files(files: Reader) -> list[str]:
    names = files.glob(".github/workflows/*.yml") + files.glob(".github/workflows/*.yaml")

    def rank(name: str) -> tuple[int, str]:
        stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
        if any(word in stem for word in _LATE_WORDS):
            return 2, name
        return (0 if any(word in stem for word in _CHECK_WORDS) else 1), name

    return sorted(names, key=rank)


def _load(files: Reader, name: str, evidence: list[Evidence]) -> Any:
    text = files.text(name, evidence)
    if text is None:
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        evidence.append(Evidence(name, f"unreadable: not valid YAML ({first_line})"))
        return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _scalar_env(*scopes: Any) -> dict[str, str]:
    """Plain values of env blocks (later scopes win); values with expressions are left out."""
    env: dict[str, str] = {}
    for scope in scopes:
        for key, value in _mapping(_mapping(scope).get("env")).items():
            text = "" if value is None else str(value)
            if isinstance(key, str) and "${{" not in text and not isinstance(value, (dict, list)):
                env[key] = text
    return env


def _working_directory(*scopes: Any) -> str:
    """The innermost working-directory of a step, its job or the workflow ('' = root)."""
    for scope in scopes:
        scope = _mapping(scope)
        directory = scope.get("working-directory")
        if directory is None:
            directory = _mapping(_mapping(scope.get("defaults")).get("run")).get(
                "working-directory"
            )
        if isinstance(directory, str):
            return _relative_dir(directory)
    return ""


def _relative_dir(directory: str) -> str:
    cleaned = directory.strip().removeprefix("./").rstrip("/")
    return "" if cleaned in ("", ".", "${{ github.workspace }}", "$GITHUB_WORKSPACE") else cleaned


def _github(name: str, data: Any, evidence: list[Evidence]) -> list[CiStep]:
    jobs = _mapping(data).get("jobs") if isinstance(data, dict) else None
    if not isinstance(jobs, dict):
        if data is not None:
            evidence.append(Evidence(name, "not a GitHub Actions workflow (no jobs); not read"))
        return []
    found: list[CiStep] = []
    for job_id, job in jobs.items():
        steps = _mapping(job).get("steps")
        if not isinstance(steps, list):
            continue  # a reusable-workflow call or a malformed job
        for index, step in enumerate(steps, start=1):
            if not isinstance(step, dict):
                continue
            env = _scalar_env(data, job, step)
            directory = _working_directory(step, job, data)
            for command, subdir, venv in _step_commands(step):
                where = _join_dir(directory, subdir)
                command = _with_env(command, env)
                found.append(CiStep(command, name, str(job_id), index, where, venv))
    return found


def _with_env(command: str, env: dict[str, str]) -> str:
    """``${{ env.CARGO }} test`` -> ``cargo test`` when the workflow sets CARGO plainly."""
    return _ENV_REF.sub(lambda match: env.get(match.group(1), match.group(0)), command)


def _step_commands(step: dict[str, Any]) -> Iterator[tuple[str, str, bool]]:
    run = step.get("run")
    if isinstance(run, str):
        yield from split_script(run)
    uses = step.get("uses")
    if not isinstance(uses, str):
        return
    action = uses.split("@", 1)[0]
    for known, command in _ACTION_COMMANDS:
        if action == known:
            yield command, "", False
    if action in _INPUT_ACTIONS:
        inputs = _mapping(step.get("with"))
        if _INPUT_ACTIONS[action]:  # a tool's subcommand and its arguments
            words = [_INPUT_ACTIONS[action], inputs.get("command"), inputs.get("args")]
            if isinstance(inputs.get("command"), str):
                yield " ".join(str(w) for w in words if w), "", False
        elif isinstance(inputs.get("run"), str):  # a wrapper around a run script
            yield from split_script(inputs["run"])


def _join_dir(base: str, subdir: str) -> str:
    if not subdir:
        return base
    return f"{base}/{subdir}" if base else subdir


def _script_lines(value: Any) -> list[str]:
    """A script: a string or a (possibly nested, through YAML anchors) list of strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [line for item in value for line in _script_lines(item)]
    return []


def _gitlab(name: str, data: Any, evidence: list[Evidence]) -> list[CiStep]:
    found: list[CiStep] = []
    for job_id, job in _mapping(data).items():
        if not isinstance(job_id, str) or job_id.startswith(".") or job_id in _GITLAB_RESERVED:
            continue
        for index, line in enumerate(_script_lines(_mapping(job).get("script")), start=1):
            found += [CiStep(c, name, job_id, index, d, v) for c, d, v in split_script(line)]
    return found


def _circleci(name: str, data: Any, evidence: list[Evidence]) -> list[CiStep]:
    found: list[CiStep] = []
    for job_id, job in _mapping(_mapping(data).get("jobs")).items():
        steps = _mapping(job).get("steps")
        for index, step in enumerate(steps if isinstance(steps, list) else [], start=1):
            run = _mapping(step).get("run")
            if isinstance(run, dict):
                directory = _relative_dir(str(run.get("working_directory") or ""))
                run = run.get("command")
            else:
                directory = ""
            if isinstance(run, str):
                found += [
                    CiStep(c, name, str(job_id), index, _join_dir(directory, d), v)
                    for c, d, v in split_script(run)
                ]
    return found


def _travis(data: Any) -> list[CiStep]:
    lines = _script_lines(_mapping(data).get("script"))
    return [
        CiStep(c, ".travis.yml", "script", index, d, v)
        for index, line in enumerate(lines, start=1)
        for c, d, v in split_script(line)
    ]


def _jenkins(text: str) -> list[CiStep]:
    found: list[CiStep] = []
    for index, match in enumerate(_JENKINS_SH.finditer(text), start=1):
        stages = _JENKINS_STAGE.findall(text, 0, match.start())
        job = stages[-1] if stages else "pipeline"
        commands = split_script(match.group(2))
        found += [CiStep(c, "Jenkinsfile", job, index, d, v) for c, d, v in commands]
    return found


# -- shell scripts into commands --------------------------------------------------------------


_HEREDOC = re.compile(r"<<-?\s*['\"]?([A-Za-z_][A-Za-z0-9_]*)['\"]?")
_ACTIVATE = re.compile(r"^(source|\.)\s+\S*bin/activate\b")


def split_script(script: str, *, pipelines: bool = False) -> list[tuple[str, str, bool]]:
    """The simple commands of a shell script, each with the directory a ``cd`` moved it to.

    Continuation lines are joined; ``a && b; c`` gives three commands; only the first command
    of a pipeline counts (``pytest | tee log`` runs pytest); background commands (``&``),
    comments and control keywords are dropped. Each command also says whether it runs in a
    virtual environment the script activated. ``pipelines``: every member of a pipeline counts
    (what a task recipe runs, ``git ls-files | xargs pre-commit run``)."""
    commands: list[tuple[str, str, bool]] = []
    directory = ""
    venv = False
    heredoc = ""
    for line in re.sub(r"\s*\\\r?\n\s*", " ", script).splitlines():
        line = line.strip()
        if heredoc:  # the body of a here-document is text, not commands
            heredoc = "" if line == heredoc else heredoc
            continue
        opened = _HEREDOC.search(line)
        if opened:
            heredoc = opened.group(1)
        if not line or line.startswith("#") or line.split(maxsplit=1)[0] in _SHELL_KEYWORDS:
            continue
        for segment, background in _segments(line, pipelines):
            words = segment.split()
            if not words:
                continue
            if words[0] == "cd":
                target = words[1] if len(words) > 1 else ""
                directory = "" if target in ("", "-", "..", "~") else _relative_dir(target)
            elif _ACTIVATE.match(segment):
                venv = True
            elif not background:
                commands.append((segment, directory, venv))
    return commands


def _segments(line: str, pipelines: bool = False) -> list[tuple[str, bool]]:
    """Split one line on unquoted ``&&``, ``||``, ``;``, ``&`` and ``|`` (keeping only the first
    command of a pipeline); each segment says whether it runs in the background."""
    segments: list[tuple[str, bool]] = []
    current: list[str] = []
    quote = ""
    in_pipe = False
    i = 0

    def close(background: bool) -> None:
        text = "".join(current).strip()
        if text and (pipelines or not in_pipe):
            segments.append((text, background))
        current.clear()

    while i < len(line):
        char = line[i]
        pair = line[i : i + 2]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        elif pair in ("&&", "||") or char == ";":
            close(False)
            in_pipe = False
            i += 2 if pair in ("&&", "||") else 1
            continue
        elif char == "&" and line[i - 1 : i] != ">" and line[i + 1 : i + 2] != ">":
            close(True)
            in_pipe = False
            i += 1
            continue
        elif char == "|":
            close(False)
            in_pipe = True
            i += 1
            continue
        current.append(char)
        i += 1
    close(False)
    return segments
