"""Python: pyproject.toml, setup.cfg, setup.py, requirements*.txt, Pipfile.

Dependencies and tool configuration are gathered from every file first, because a project
spreads them (deps in requirements.txt, pytest in tox.ini, ruff in pyproject.toml).
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Iterable
from typing import Any

from tac_bootstrap.domain.config import Language, PackageManager

from .model import Candidate, first
from .python_install import python_install
from .python_tasks import session_commands, task_commands
from .reading import Reader, strings, table

_SETUP_REQUIRES = re.compile(r"install_requires\s*=\s*\[(.*?)\]", re.S)
_REQ_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_PY_TOOLS = ("pytest", "ruff", "mypy", "black", "pyright", "basedpyright", "flake8")
_PY_TOOL_FILES = (
    ("pytest.ini", "pytest"),
    ("conftest.py", "pytest"),
    ("ruff.toml", "ruff"),
    (".ruff.toml", "ruff"),
    ("mypy.ini", "mypy"),
    (".mypy.ini", "mypy"),
    (".flake8", "flake8"),
    ("pyrightconfig.json", "pyright"),
)
# Tool names and the command each runs (``{run}`` is the environment's runner prefix).
_TYPECHECKERS = {"pyright": "pyright", "basedpyright": "basedpyright"}


def _dist_name(requirement: str) -> str | None:
    """The normalised distribution name of a PEP 508 requirement ('Flask[async]>=3' -> 'flask')."""
    match = _REQ_NAME.match(requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else None


def _requirement_names(text: str) -> list[str]:
    """Distribution names in requirements-file syntax (options, URLs and comments skipped)."""
    names = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        if re.match(r"[a-z+]+://|(git|hg|svn|bzr)\+", line):
            continue
        name = _dist_name(line)
        if name:
            names.append(name)
    return names


# Names of the groups, extras and requirement files that only developers install.
_DEV_WORDS = {
    "dev", "develop", "development", "test", "tests", "testing", "lint", "linting", "docs",
    "doc", "typing", "types", "mypy", "ci", "style", "format", "bench", "benchmark", "tox",
    "examples", "example", "local",
}  # fmt: skip


def dev_only(name: str) -> bool:
    """``dev``, ``test-requirements.txt``, ``requirements/docs.txt``: installed for work on the
    project, not to run it."""
    return any(word in _DEV_WORDS for word in re.split(r"[-_./]+", name.lower()))


class _PythonFacts:
    """Dependencies and tools of a Python project, each with the file that told us; the
    runtime ones (what the project needs to run) kept apart for the framework."""

    def __init__(self) -> None:
        self.deps: dict[str, str] = {}
        self.runtime: dict[str, str] = {}
        self.tools: dict[str, str] = {}

    def add_deps(self, names: Iterable[str | None], source: str, *, runtime: bool = True) -> None:
        for name in names:
            if name:
                self.deps.setdefault(name, source)
                if runtime:
                    self.runtime.setdefault(name, source)
                if name in _PY_TOOLS:
                    self.tools.setdefault(name, source)

    def add_tool(self, tool: str, source: str) -> None:
        self.tools.setdefault(tool, source)


def detect_python(files: Reader) -> Candidate | None:
    marker_files = files.matching(Language.PYTHON.stack.markers)
    if not marker_files:
        return None
    requirements = [name for name in marker_files if name.endswith(".txt")]
    markers = [name for name in marker_files if not name.endswith(".txt")]
    c = Candidate("python", Language.PYTHON, PackageManager.PIP, markers=markers + requirements)
    facts = _PythonFacts()
    py = files.toml("pyproject.toml", c.evidence) if "pyproject.toml" in markers else None
    if py is not None:
        _read_pyproject(py, facts, c)
    _read_requirements(files, requirements, facts, c)
    cfg = files.ini("setup.cfg", c.evidence) if "setup.cfg" in markers else None
    if cfg is not None:
        _read_setup_cfg(cfg, facts, c)
    pipfile = files.toml("Pipfile", c.evidence) if "Pipfile" in markers else None
    if pipfile is not None:
        for key in ("packages", "dev-packages"):
            names = map(_dist_name, table(pipfile, key))
            facts.add_deps(names, "Pipfile", runtime=key == "packages")
    if "setup.py" in markers:
        _read_setup_py(files, facts, c)
    _read_tool_files(files, facts, c)

    poetry = table(py, "tool", "poetry")
    run = _choose_package_manager(files, c, py, pipenv=pipfile is not None)
    _framework(facts, c)

    cmd = c.commands
    project = table(py, "project")
    install = python_install(files, c, py, cfg, requirements, pipfile is not None)
    if install:
        cmd["install"] = install
    _tool_commands(facts, c, py, run)
    _task_commands(files, c, py, run)
    _session_commands(files, c)
    manage = _manage_py(files)
    if "test" not in cmd and c.framework == "django" and manage:
        cmd["test"] = f"{run}python {manage} test"
        c.note(manage, f"Django without pytest -> test: {cmd['test']}")
    if "test" not in cmd:
        _unittest_script(files, c, run)
    start = _python_start(files, c.framework, project, poetry)
    if start:
        cmd["start"] = run + start
    if py is not None and ("build-system" in py or poetry):
        cmd["build"] = c.package_manager.spec.fields["build"]
    return c


def _framework(facts: _PythonFacts, c: Candidate) -> None:
    """The framework the project runs on: from its runtime dependencies. A framework only in a
    dev group or extra (FastAPI for the examples, Django for the tests) is not the project's;
    with no runtime dependency declared at all, every dependency counts."""
    deps = facts.runtime if facts.runtime else facts.deps
    for dep, framework in Language.PYTHON.stack.framework_markers:
        if dep in deps:
            c.set_framework(framework, deps[dep], f"depends on {dep}")
            return
        if dep in facts.deps:
            c.note(facts.deps[dep], f"{dep} only in a dev group or extra: not the framework")


def _read_requirements(
    files: Reader, requirements: list[str], facts: _PythonFacts, c: Candidate
) -> None:
    for req in requirements:
        text = files.text(req, c.evidence)
        if text is not None:
            names = _requirement_names(text)
            facts.add_deps(names, req, runtime=not dev_only(req.removeprefix("requirements/")))
            c.note(req, f"{len(names)} requirement(s)")


def _read_setup_cfg(cfg: configparser.ConfigParser, facts: _PythonFacts, c: Candidate) -> None:
    c.note("setup.cfg", "setuptools configuration")
    if cfg.has_option("options", "install_requires"):
        facts.add_deps(_requirement_names(cfg.get("options", "install_requires")), "setup.cfg")
    if cfg.has_section("options.extras_require"):
        for key, value in cfg.items("options.extras_require"):
            facts.add_deps(_requirement_names(value), "setup.cfg", runtime=not dev_only(key))
    for section, tool_name in (("tool:pytest", "pytest"), ("flake8", "flake8"), ("mypy", "mypy")):
        if cfg.has_section(section):
            facts.add_tool(tool_name, "setup.cfg")


def _read_setup_py(files: Reader, facts: _PythonFacts, c: Candidate) -> None:
    """Best effort: the quoted requirements of an ``install_requires`` list (setup.py is a
    program; it is searched, never run)."""
    text = files.text("setup.py", c.evidence) or ""
    match = _SETUP_REQUIRES.search(text)
    if match:
        names = [_dist_name(req) for req in re.findall(r"[\"']([^\"']+)[\"']", match.group(1))]
        facts.add_deps(names, "setup.py")
        c.note("setup.py", f"install_requires: {len(names)} requirement(s)")


def _read_tool_files(files: Reader, facts: _PythonFacts, c: Candidate) -> None:
    """Tools configured in tox.ini or by a config file of their own."""
    tox = files.ini("tox.ini", c.evidence) if files.is_file("tox.ini") else None
    if tox is not None:
        for section, tool_name in (("pytest", "pytest"), ("flake8", "flake8")):
            if tox.has_section(section):
                facts.add_tool(tool_name, "tox.ini")
        commands = " ".join(
            tox.get(section, "commands", fallback="")
            for section in tox.sections()
            if section == "testenv" or section.startswith("testenv:")
        )
        for tool_name in ("pytest", "mypy", "ruff", "flake8", "black"):
            if re.search(rf"(^|\s){tool_name}(\s|$)", commands):
                facts.add_tool(tool_name, "tox.ini")
    for name, tool_name in _PY_TOOL_FILES:
        if files.is_file(name):
            facts.add_tool(tool_name, name)


def _choose_package_manager(
    files: Reader, c: Candidate, py: dict[str, Any] | None, *, pipenv: bool
) -> str:
    """Set the package manager; returns the prefix that runs a tool inside its environment."""
    if table(py, "tool", "poetry"):
        c.package_manager = PackageManager.POETRY
        c.note("pyproject.toml", "[tool.poetry] -> package manager poetry")
    elif files.is_file("uv.lock"):
        c.package_manager = PackageManager.UV
        c.note("uv.lock", "uv lock file -> package manager uv")
    elif "uv" in table(py, "tool"):
        c.package_manager = PackageManager.UV
        c.note("pyproject.toml", "[tool.uv] -> package manager uv")
    elif files.is_file("poetry.lock"):
        c.package_manager = PackageManager.POETRY
        c.note("poetry.lock", "poetry lock file -> package manager poetry")
    elif pipenv:
        c.note("Pipfile", "pipenv project: commands use pipenv (package manager recorded as pip)")
    else:
        c.note(c.markers[0], "no uv, poetry or pipenv markers -> package manager pip")
    if c.package_manager is PackageManager.PIP and pipenv:
        return "pipenv run "
    return c.package_manager.spec.fields["run"]


def _tool_commands(facts: _PythonFacts, c: Candidate, py: dict[str, Any] | None, run: str) -> None:
    """test, lint, typecheck and format from the tools the project declares."""
    tools = facts.tools
    cmd = c.commands
    chosen: dict[str, tuple[str, str]] = {}  # command -> (tool, file that told us)
    for key, options in (
        ("test", ("pytest",)),
        ("lint", ("ruff", "flake8")),
        ("typecheck", ("mypy", "basedpyright", "pyright")),
        ("format", ("black", "ruff")),
    ):
        found = first(tools, options)
        if found is not None:
            chosen[key] = (found, tools[found])
    if "test" in chosen:
        cmd["test"] = f"{run}python -m pytest"
    if "lint" in chosen:
        cmd["lint"] = run + ("ruff check ." if chosen["lint"][0] == "ruff" else "flake8")
    if "typecheck" in chosen:
        if chosen["typecheck"][0] in _TYPECHECKERS:
            cmd["typecheck"] = run + _TYPECHECKERS[chosen["typecheck"][0]]
        else:
            # A configured file list is what the project means to check: do not override it.
            configured = "files" in table(py, "tool", "mypy")
            cmd["typecheck"] = f"{run}mypy" if configured else f"{run}mypy ."
    if "format" in chosen:
        cmd["format"] = run + ("black ." if chosen["format"][0] == "black" else "ruff format .")
    for key, (tool_name, source) in chosen.items():
        c.note(source, f"{tool_name} -> {key}: {cmd[key]}")


def _task_commands(files: Reader, c: Candidate, py: dict[str, Any] | None, run: str) -> None:
    """The project's own tasks (hatch scripts, also from hatch.toml; pdm; poe; taskipy) beat
    the commands guessed from its tools."""
    hatch = files.toml("hatch.toml", c.evidence) if files.is_file("hatch.toml") else None
    if hatch is not None:  # hatch.toml holds what [tool.hatch] would
        tool = {**table(py, "tool"), "hatch": {**table(py, "tool", "hatch"), **hatch}}
        py = {**(py or {}), "tool": tool}
    for key, (command, source) in task_commands(py, run).items():
        c.commands[key] = command
        c.note(
            "hatch.toml" if "hatch" in source and hatch else "pyproject.toml",
            f"{source} -> {key}: {command}",
        )


def _session_commands(files: Reader, c: Candidate) -> None:
    """nox sessions and tox environments, for the fields nothing else gave."""
    noxfile = files.text("noxfile.py", c.evidence) if files.is_file("noxfile.py") else None
    tox = files.ini("tox.ini", []) if files.is_file("tox.ini") else None  # already reported
    for key, (command, source) in session_commands(noxfile, tox).items():
        if key not in c.commands:
            c.commands[key] = command
            c.note(source, f"session -> {key}: {command}")


def _read_pyproject(py: dict[str, Any], facts: _PythonFacts, c: Candidate) -> None:
    project = table(py, "project")
    poetry = table(py, "tool", "poetry")
    runtime = strings(project.get("dependencies"))
    dev: list[str] = []
    for name, extra in table(project, "optional-dependencies").items():
        (dev if dev_only(name) else runtime).extend(strings(extra))
    for group in table(py, "dependency-groups").values():
        dev += strings(group)  # {include-group = ...} entries are not names
    dev += strings(table(py, "tool", "uv").get("dev-dependencies"))  # before PEP 735
    facts.add_deps(map(_dist_name, runtime), "pyproject.toml")
    facts.add_deps(map(_dist_name, dev), "pyproject.toml", runtime=False)
    facts.add_deps(map(_dist_name, table(poetry, "dependencies")), "pyproject.toml")
    for deps in (  # poetry's groups other than main are for development
        table(poetry, "dev-dependencies"),
        *(table(group, "dependencies") for group in table(poetry, "group").values()),
    ):
        facts.add_deps(map(_dist_name, deps), "pyproject.toml", runtime=False)
    sections = [name for name in table(py, "tool") if name in _PY_TOOLS]
    for name in sections:
        facts.add_tool(name, "pyproject.toml")
    project_name = project.get("name", poetry.get("name"))
    summary = "Python project"
    if isinstance(project_name, str):
        summary += f" {project_name!r}"
    if sections:
        summary += "; tool sections: " + ", ".join(f"[tool.{s}]" for s in sections)
    c.note("pyproject.toml", summary)


def _unittest_script(files: Reader, c: Candidate, run: str) -> None:
    """A root ``tests.py`` / ``test.py`` of unittest cases, when no test runner is declared:
    it runs itself (``unittest.main()``), else unittest's discovery finds it."""
    for script in ("tests.py", "test.py"):
        text = files.text(script, c.evidence) if files.is_file(script) else None
        if text is None or not re.search(r"^\s*(import|from)\s+unittest\b", text, re.M):
            continue
        runs_itself = "unittest.main(" in text
        c.commands["test"] = f"{run}python {script}" if runs_itself else f"{run}python -m unittest"
        c.note(script, f"unittest cases, no test runner declared -> test: {c.commands['test']}")
        return


def _manage_py(files: Reader) -> str | None:
    """Django's manage.py, at the root or one directory down (``src/manage.py``)."""
    if files.is_file("manage.py"):
        return "manage.py"
    nested = files.glob("*/manage.py")
    return nested[0] if len(nested) == 1 else None


def _python_start(
    files: Reader, framework: str, project: dict[str, Any], poetry: dict[str, Any]
) -> str:
    manage = _manage_py(files)
    if framework == "django" and manage:
        return f"python {manage} runserver"
    if framework == "fastapi":
        for path, module in (("main.py", "main"), ("app.py", "app"), ("app/main.py", "app.main")):
            if files.is_file(path):
                return _fastapi_start(files, path, module)
    if framework == "flask":
        return _flask_start(files, project)
    scripts = list(table(project, "scripts")) or list(table(poetry, "scripts"))
    if scripts:
        return scripts[0]
    for path in ("main.py", "app.py"):
        if files.is_file(path):
            return f"python {path}"
    return ""


# A module that imports uvicorn runs the server itself (``uvicorn.run(...)`` under
# ``if __name__ == "__main__"``, often with its own options): an app module needs no import.
_RUNS_UVICORN = re.compile(
    r"^\s*(import\s+uvicorn\b|from\s+uvicorn\s+import\b)|\buvicorn\.run\(", re.M
)


def _fastapi_start(files: Reader, path: str, module: str) -> str:
    """``python main.py`` for a launcher module, else ``uvicorn main:app``."""
    code = "\n".join(line.split("#", 1)[0] for line in (files.text(path, []) or "").splitlines())
    if "/" not in path and _RUNS_UVICORN.search(code):
        return f"python {path}"
    return f"uvicorn {module}:app"


def _flask_start(files: Reader, project: dict[str, Any]) -> str:
    """``<script> run`` when a console script of the project is a ``FlaskGroup`` (Flask's CLI
    with the app loaded, ``run`` included: ``flask run`` may not find that app), else
    ``flask run``. The script's module is read; unread, nothing says it has ``run``."""
    for name, target in table(project, "scripts").items():
        module = str(target).split(":", 1)[0].replace(".", "/")
        for path in (f"{module}.py", f"src/{module}.py", f"{module}/__init__.py"):
            text = files.text(path, []) if files.is_file(path) else None
            if text is not None and "FlaskGroup" in text:
                return f"{name} run"
    return "flask run"
