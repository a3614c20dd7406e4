"""Detect an existing repository's stack from its own files (for `add-agentic`).

Pure reading: nothing here writes, runs a tool or touches the network, and no file can make it
crash. A file that cannot be read or parsed becomes evidence ("unreadable: ...") and detection
goes on with what the other files say. Only the repository root is examined (plus a few
well-known subdirectories such as ``cmd/`` or ``spec/``), not the packages of a monorepo.

Precedence. A repository often has markers of several ecosystems: a Python backend with a
``package.json`` for its assets, a Go service with a ``requirements.txt`` for its docs tooling.
The primary stack is the first found in this order; the others are kept in the evidence:

1. Go (``go.mod``)
2. Rust (``Cargo.toml``)
3. Java (``pom.xml``, then ``build.gradle`` / ``build.gradle.kts``)
4. Python (``pyproject.toml``, ``setup.cfg``, ``setup.py``, ``requirements*.txt``, ``Pipfile``)
5. Ruby (``Gemfile``)
6. JavaScript / TypeScript (``package.json``)

Compiled-language manifests rarely appear by accident, Python and Ruby files often hold
tooling for another stack (docs, scripts), and ``package.json`` most often of all: it comes last.

Commands come from the ecosystem's own files (tool sections, scripts, plugins, wrappers).
Finally, targets of a root ``Makefile`` (test, lint, typecheck/type-check, fmt/format,
start/run/serve, build, install) override the detected command with ``make <target>``: a
repository's Makefile is the entry point its developers use.
"""

from __future__ import annotations

import configparser
import json
import re
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from tac_bootstrap.domain.config import (
    FRAMEWORKS,
    CommandsSection,
    Language,
    PackageManager,
    validate_project_name,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

# Files larger than this are not read (a lock file or a generated manifest, not a config).
MAX_FILE_BYTES = 4 * 1024 * 1024

PRECEDENCE = ("go", "rust", "java", "python", "ruby", "node")

FALLBACK_NAME = "project"
# Findings that report a file as unusable start with one of these.
_PROBLEMS = ("unreadable", "larger than")


class Evidence(NamedTuple):
    """One file and what it told us."""

    file: str
    finding: str


@dataclass(frozen=True)
class DetectedStack:
    name: str  # the directory name, sanitised into a valid project name
    language: Language
    framework: str
    package_manager: PackageManager
    commands: CommandsSection
    evidence: tuple[Evidence, ...] = ()
    # Ecosystems whose markers were found, the primary first (empty: nothing recognised).
    ecosystems: tuple[str, ...] = ()

    @property
    def recognised(self) -> bool:
        return bool(self.ecosystems)


# -- project name ----------------------------------------------------------------------------


def project_name_from_dir(dirname: str) -> str:
    """A valid project name from a directory name: 'My Repo (v2)' -> 'My-Repo-v2'."""
    ascii_name = unicodedata.normalize("NFKD", dirname).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name)
    name = re.sub(r"-{2,}", "-", name).lstrip("._-").rstrip(".-")
    if not name:
        return FALLBACK_NAME
    try:
        return validate_project_name(name)
    except ValueError:  # pragma: no cover - the substitutions above make it valid
        return FALLBACK_NAME


# -- reading files without ever failing --------------------------------------------------------


class _Reader:
    """Reads files under the root; every problem becomes evidence instead of an exception."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def exists(self, name: str) -> bool:
        try:
            return (self.root / name).exists()
        except OSError:
            return False

    def is_file(self, name: str) -> bool:
        try:
            return (self.root / name).is_file()
        except OSError:
            return False

    def is_dir(self, name: str) -> bool:
        try:
            return (self.root / name).is_dir()
        except OSError:
            return False

    def glob(self, pattern: str) -> list[str]:
        try:
            found = sorted(self.root.glob(pattern))
        except OSError:
            return []
        return [p.relative_to(self.root).as_posix() for p in found if _safe_is_file(p)]

    def text(self, name: str, evidence: list[Evidence]) -> str | None:
        """The file's text, or None when it is missing (or not a file) or unreadable."""
        path = self.root / name
        try:
            if not path.is_file():
                return None
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            evidence.append(Evidence(name, f"unreadable: {exc.strerror or exc}"))
            return None
        if len(data) > MAX_FILE_BYTES:
            evidence.append(Evidence(name, "larger than 4 MiB; not read"))
            return None
        return data.decode("utf-8", errors="replace")

    def toml(self, name: str, evidence: list[Evidence]) -> dict[str, Any] | None:
        text = self.text(name, evidence)
        if text is None:
            return None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            evidence.append(Evidence(name, f"unreadable: not valid TOML ({exc})"))
            return None


def _safe_is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _table(data: Any, *keys: str) -> dict[str, Any]:
    """data[k1][k2]... when every level is a table, else {} (malformed files have any shape)."""
    for key in keys:
        if not isinstance(data, dict):
            return {}
        data = data.get(key)
    return data if isinstance(data, dict) else {}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


# -- candidates -----------------------------------------------------------------------------


@dataclass
class _Candidate:
    """What one ecosystem's files say; the primary one becomes the DetectedStack."""

    ecosystem: str
    language: Language
    package_manager: PackageManager
    framework: str = "none"
    commands: dict[str, str] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)

    def note(self, file: str, finding: str) -> None:
        self.evidence.append(Evidence(file, finding))

    def set_framework(self, framework: str, file: str, why: str) -> None:
        if framework in FRAMEWORKS[self.language]:
            self.framework = framework
            self.note(file, f"{why} -> framework {framework}")
        else:
            self.note(file, f"{why}, but {framework} is not a {self.language.value} framework here")


def _first(names: Iterable[str], wanted: Iterable[str]) -> str | None:
    have = set(names)
    return next((name for name in wanted if name in have), None)


# -- Python ---------------------------------------------------------------------------------

_REQ_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_PY_FRAMEWORKS = ("django", "fastapi", "flask")  # first match wins
_PY_TOOLS = ("pytest", "ruff", "mypy", "black", "pyright", "flake8")
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


class _PythonFacts:
    """Dependencies and tools of a Python project, each with the file that told us."""

    def __init__(self) -> None:
        self.deps: dict[str, str] = {}
        self.tools: dict[str, str] = {}

    def add_deps(self, names: Iterable[str | None], source: str) -> None:
        for name in names:
            if name:
                self.deps.setdefault(name, source)
                if name in _PY_TOOLS:
                    self.tools.setdefault(name, source)

    def add_tool(self, tool: str, source: str) -> None:
        self.tools.setdefault(tool, source)


def _detect_python(files: _Reader) -> _Candidate | None:
    markers = [
        name
        for name in ("pyproject.toml", "setup.cfg", "setup.py", "Pipfile")
        if files.is_file(name)
    ]
    requirements = files.glob("requirements*.txt") + files.glob("requirements/*.txt")
    if not markers and not requirements:
        return None
    c = _Candidate("python", Language.PYTHON, PackageManager.PIP, markers=markers + requirements)
    facts = _PythonFacts()
    py = files.toml("pyproject.toml", c.evidence) if "pyproject.toml" in markers else None
    project = _table(py, "project")
    poetry = _table(py, "tool", "poetry")
    tool = _table(py, "tool")
    if py is not None:
        _read_pyproject(py, facts, c)
    for req in requirements:
        text = files.text(req, c.evidence)
        if text is not None:
            names = _requirement_names(text)
            facts.add_deps(names, req)
            c.note(req, f"{len(names)} requirement(s)")
    cfg = _ini(files, "setup.cfg", c) if "setup.cfg" in markers else None
    if cfg is not None:
        c.note("setup.cfg", "setuptools configuration")
        if cfg.has_option("options", "install_requires"):
            facts.add_deps(_requirement_names(cfg.get("options", "install_requires")), "setup.cfg")
        if cfg.has_section("options.extras_require"):
            for _key, value in cfg.items("options.extras_require"):
                facts.add_deps(_requirement_names(value), "setup.cfg")
        for section, tool_name in (
            ("tool:pytest", "pytest"),
            ("flake8", "flake8"),
            ("mypy", "mypy"),
        ):
            if cfg.has_section(section):
                facts.add_tool(tool_name, "setup.cfg")
    pipfile = files.toml("Pipfile", c.evidence) if "Pipfile" in markers else None
    if pipfile is not None:
        for key in ("packages", "dev-packages"):
            facts.add_deps(map(_dist_name, _table(pipfile, key)), "Pipfile")
    tox = _ini(files, "tox.ini", c) if files.is_file("tox.ini") else None
    if tox is not None:
        for section, tool_name in (("pytest", "pytest"), ("flake8", "flake8")):
            if tox.has_section(section):
                facts.add_tool(tool_name, "tox.ini")
    for name, tool_name in _PY_TOOL_FILES:
        if files.is_file(name):
            facts.add_tool(tool_name, name)

    # Package manager, and the prefix that runs a tool inside its environment.
    if poetry:
        c.package_manager = PackageManager.POETRY
        c.note("pyproject.toml", "[tool.poetry] -> package manager poetry")
    elif files.is_file("uv.lock"):
        c.package_manager = PackageManager.UV
        c.note("uv.lock", "uv lock file -> package manager uv")
    elif "uv" in tool:
        c.package_manager = PackageManager.UV
        c.note("pyproject.toml", "[tool.uv] -> package manager uv")
    elif files.is_file("poetry.lock"):
        c.package_manager = PackageManager.POETRY
        c.note("poetry.lock", "poetry lock file -> package manager poetry")
    elif pipfile is not None:
        c.note("Pipfile", "pipenv project: commands use pipenv (package manager recorded as pip)")
    else:
        c.note(c.markers[0], "no uv, poetry or pipenv markers -> package manager pip")
    run = {
        PackageManager.UV: "uv run ",
        PackageManager.POETRY: "poetry run ",
    }.get(c.package_manager, "pipenv run " if pipfile is not None else "")

    for dep in _PY_FRAMEWORKS:
        if dep in facts.deps:
            c.set_framework(dep, facts.deps[dep], f"depends on {dep}")
            break

    cmd = c.commands
    install = _python_install(files, c, project, cfg, requirements, pipfile is not None)
    if install:
        cmd["install"] = install
    tools = facts.tools
    chosen: dict[str, tuple[str, str]] = {}  # command -> (tool, file that told us)
    for key, options in (
        ("test", ("pytest",)),
        ("lint", ("ruff", "flake8")),
        ("typecheck", ("mypy", "pyright")),
        ("format", ("black", "ruff")),
    ):
        found = _first(tools, options)
        if found is not None:
            chosen[key] = (found, tools[found])
    if "test" in chosen:
        cmd["test"] = f"{run}python -m pytest"
    if "lint" in chosen:
        cmd["lint"] = run + ("ruff check ." if chosen["lint"][0] == "ruff" else "flake8")
    if "typecheck" in chosen:
        if chosen["typecheck"][0] == "pyright":
            cmd["typecheck"] = f"{run}pyright"
        else:
            # A configured file list is what the project means to check: do not override it.
            configured = "files" in _table(py, "tool", "mypy")
            cmd["typecheck"] = f"{run}mypy" if configured else f"{run}mypy ."
    if "format" in chosen:
        cmd["format"] = run + ("black ." if chosen["format"][0] == "black" else "ruff format .")
    for key, (tool_name, source) in chosen.items():
        c.note(source, f"{tool_name} -> {key}: {cmd[key]}")
    start = _python_start(files, c.framework, project, poetry)
    if start:
        cmd["start"] = run + start
    if py is not None and ("build-system" in py or poetry):
        cmd["build"] = {
            PackageManager.UV: "uv build",
            PackageManager.POETRY: "poetry build",
        }.get(c.package_manager, "python -m build")
    return c


def _read_pyproject(py: dict[str, Any], facts: _PythonFacts, c: _Candidate) -> None:
    project = _table(py, "project")
    poetry = _table(py, "tool", "poetry")
    declared = _strings(project.get("dependencies"))
    for extra in _table(project, "optional-dependencies").values():
        declared += _strings(extra)
    for group in _table(py, "dependency-groups").values():
        declared += _strings(group)  # {include-group = ...} entries are not names
    facts.add_deps(map(_dist_name, declared), "pyproject.toml")
    for table in (
        _table(poetry, "dependencies"),
        _table(poetry, "dev-dependencies"),
        *(_table(group, "dependencies") for group in _table(poetry, "group").values()),
    ):
        facts.add_deps(map(_dist_name, table), "pyproject.toml")
    sections = [name for name in _table(py, "tool") if name in _PY_TOOLS]
    for name in sections:
        facts.add_tool(name, "pyproject.toml")
    project_name = project.get("name", poetry.get("name"))
    summary = "Python project"
    if isinstance(project_name, str):
        summary += f" {project_name!r}"
    if sections:
        summary += "; tool sections: " + ", ".join(f"[tool.{s}]" for s in sections)
    c.note("pyproject.toml", summary)


def _python_install(
    files: _Reader,
    c: _Candidate,
    project: dict[str, Any],
    cfg: configparser.ConfigParser | None,
    requirements: list[str],
    pipenv: bool,
) -> str:
    if c.package_manager is PackageManager.UV:
        return "uv sync"
    if c.package_manager is PackageManager.POETRY:
        return "poetry install"
    if pipenv:
        return "pipenv install --dev"
    parts = []
    installable = (
        bool(project)
        or files.is_file("setup.py")
        or (cfg is not None and cfg.has_section("metadata"))
    )
    if installable:
        parts.append("-e '.[dev]'" if "dev" in _table(project, "optional-dependencies") else "-e .")
    root_requirements = sorted(
        (r for r in requirements if "/" not in r), key=lambda r: (r != "requirements.txt", r)
    )
    parts += [f"-r {r}" for r in root_requirements]
    return "python -m pip install " + " ".join(parts) if parts else ""


def _ini(files: _Reader, name: str, c: _Candidate) -> configparser.ConfigParser | None:
    text = files.text(name, c.evidence)
    if text is None:
        return None
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text, source=name)
    except configparser.Error as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        c.note(name, f"unreadable: not a valid INI file ({first_line})")
        return None
    return parser


def _python_start(
    files: _Reader, framework: str, project: dict[str, Any], poetry: dict[str, Any]
) -> str:
    if framework == "django" and files.is_file("manage.py"):
        return "python manage.py runserver"
    if framework == "fastapi":
        for path, module in (("main.py", "main"), ("app.py", "app"), ("app/main.py", "app.main")):
            if files.is_file(path):
                return f"uvicorn {module}:app"
    if framework == "flask":
        return "flask run"
    scripts = list(_table(project, "scripts")) or list(_table(poetry, "scripts"))
    if scripts:
        return scripts[0]
    for path in ("main.py", "app.py"):
        if files.is_file(path):
            return f"python {path}"
    return ""


# -- JavaScript / TypeScript ------------------------------------------------------------------

_LOCK_FILES = (
    ("pnpm-lock.yaml", PackageManager.PNPM),
    ("yarn.lock", PackageManager.YARN),
    ("bun.lockb", PackageManager.BUN),
    ("bun.lock", PackageManager.BUN),
    ("package-lock.json", PackageManager.NPM),
    ("npm-shrinkwrap.json", PackageManager.NPM),
)
_NODE_SCRIPTS = {
    "test": ("test",),
    "lint": ("lint",),
    "typecheck": ("typecheck", "type-check", "check-types", "types", "tsc"),
    "start": ("start", "dev", "serve"),
    "build": ("build",),
    "format": ("format", "fmt"),
}
# First match wins: NestJS and Next.js bring express and react along.
_NODE_FRAMEWORKS = (
    ("@nestjs/core", "nestjs"),
    ("next", "nextjs"),
    ("express", "express"),
    ("react", "react"),
)
_NPM_PLACEHOLDER_TEST = "no test specified"


def _detect_node(files: _Reader) -> _Candidate | None:
    if not files.is_file("package.json"):
        return None
    evidence: list[Evidence] = []
    manifest: dict[str, Any] = {}
    text = files.text("package.json", evidence)
    if text is not None:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            evidence.append(Evidence("package.json", f"unreadable: not valid JSON ({exc})"))
        else:
            if isinstance(parsed, dict):
                manifest = parsed
            else:
                evidence.append(Evidence("package.json", "unreadable: not a JSON object"))
    deps: set[str] = set()
    for key in ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies"):
        deps.update(_table(manifest, key))
    scripts = {k: v for k, v in _table(manifest, "scripts").items() if isinstance(v, str)}

    typescript = "typescript" in deps or files.is_file("tsconfig.json")
    language = Language.TYPESCRIPT if typescript else Language.JAVASCRIPT
    c = _Candidate(
        "node", language, PackageManager.NPM, evidence=evidence, markers=["package.json"]
    )
    if "typescript" in deps:
        c.note("package.json", "depends on typescript -> typescript")
    elif typescript:
        c.note("tsconfig.json", "TypeScript compiler settings -> typescript")
    elif manifest:
        c.note("package.json", "no typescript dependency or tsconfig.json -> javascript")

    # Package manager: the packageManager field (corepack) wins over lock files.
    declared = manifest.get("packageManager")
    locks = [(name, pm) for name, pm in _LOCK_FILES if files.is_file(name)]
    declared_pm = None
    if isinstance(declared, str):
        declared_pm = next(
            (pm for pm in PackageManager if declared.split("@", 1)[0] == pm.value), None
        )
    if declared_pm is not None and declared_pm in (
        PackageManager.NPM,
        PackageManager.PNPM,
        PackageManager.YARN,
        PackageManager.BUN,
    ):
        c.package_manager = declared_pm
        c.note(
            "package.json", f'"packageManager": {declared!r} -> package manager {declared_pm.value}'
        )
    elif locks:
        c.package_manager = locks[0][1]
        c.note(locks[0][0], f"lock file -> package manager {locks[0][1].value}")
    else:
        c.note("package.json", "no lock file -> package manager npm")
    for lock, lock_pm in locks:
        if lock_pm is not c.package_manager:
            c.note(lock, f"another lock file ({lock_pm.value}); {c.package_manager.value} chosen")

    for dep, framework in _NODE_FRAMEWORKS:
        if dep in deps:
            c.set_framework(framework, "package.json", f"depends on {dep}")
            break

    pm = c.package_manager.value
    cmd = c.commands
    cmd["install"] = f"{pm} install"
    used = []
    for key, candidates in _NODE_SCRIPTS.items():
        script = _first(scripts, candidates)
        if script is None:
            continue
        if script == "test" and _NPM_PLACEHOLDER_TEST in scripts[script]:
            c.note(
                "package.json", 'scripts.test is npm\'s placeholder ("no test specified"); ignored'
            )
            continue
        if pm == "npm" and script in ("test", "start"):
            cmd[key] = f"npm {script}"
        else:
            cmd[key] = f"{pm} run {script}"
        used.append(script)
    if used:
        c.note("package.json", f"scripts: {', '.join(used)}")
    if (
        "typecheck" not in cmd
        and language is Language.TYPESCRIPT
        and files.is_file("tsconfig.json")
    ):
        runner = {"npm": "npx", "pnpm": "pnpm exec", "yarn": "yarn", "bun": "bunx"}[pm]
        cmd["typecheck"] = f"{runner} tsc --noEmit"
        c.note("tsconfig.json", f"no typecheck script -> {cmd['typecheck']}")
    return c


# -- Go, Rust, Java, Ruby -------------------------------------------------------------------

_GO_REQUIRE = re.compile(r"^\s*(?:require\s+)?([A-Za-z0-9.\-_~/]+)\s+v\d", re.MULTILINE)


def _detect_go(files: _Reader) -> _Candidate | None:
    if not files.is_file("go.mod"):
        return None
    c = _Candidate("go", Language.GO, PackageManager.GO, markers=["go.mod"])
    text = files.text("go.mod", c.evidence) or ""
    module = re.search(r"^\s*module\s+(\S+)", text, re.MULTILINE)
    c.note("go.mod", f"Go module {module.group(1)}" if module else "Go module (no module line)")
    requires = set(_GO_REQUIRE.findall(text))
    for prefix, framework in (
        ("github.com/gin-gonic/gin", "gin"),
        ("github.com/labstack/echo", "echo"),
    ):
        if any(r == prefix or r.startswith(prefix + "/") for r in requires):
            c.set_framework(framework, "go.mod", f"requires {prefix}")
            break
    golangci = next(
        (n for n in (".golangci.yml", ".golangci.yaml", ".golangci.toml") if files.is_file(n)),
        None,
    )
    if golangci:
        c.note(golangci, "golangci-lint configuration -> golangci-lint run")
    if files.is_file("main.go"):
        start = "go run ."
    else:
        mains = files.glob("cmd/*/main.go")
        start = f"go run ./{mains[0].rsplit('/', 1)[0]}" if mains else ""
    c.commands.update(
        install="go mod download",
        start=start,
        test="go test ./...",
        lint="golangci-lint run" if golangci else "go vet ./...",
        format="gofmt -w .",
        build="go build ./...",
    )
    return c


def _detect_rust(files: _Reader) -> _Candidate | None:
    if not files.is_file("Cargo.toml"):
        return None
    c = _Candidate("rust", Language.RUST, PackageManager.CARGO, markers=["Cargo.toml"])
    cargo = files.toml("Cargo.toml", c.evidence)
    deps: set[str] = set()
    for keys in (("dependencies",), ("dev-dependencies",), ("workspace", "dependencies")):
        deps.update(_table(cargo, *keys))
    package = _table(cargo, "package")
    if cargo is not None:
        what = f"crate {package['name']!r}" if isinstance(package.get("name"), str) else "workspace"
        c.note("Cargo.toml", f"Rust {what}")
    for dep, framework in (("axum", "axum"), ("actix-web", "actix")):
        if dep in deps:
            c.set_framework(framework, "Cargo.toml", f"depends on {dep}")
            break
    binary = files.is_file("src/main.rs") or bool(_array_of_tables(cargo, "bin"))
    workspace = "workspace" in (cargo or {})
    all_flag = " --workspace" if workspace else ""
    c.commands.update(
        install="cargo fetch",
        start="cargo run" if binary else "",
        test=f"cargo test{all_flag}",
        lint=f"cargo clippy{all_flag}",
        typecheck=f"cargo check{all_flag}",
        format="cargo fmt",
        build=f"cargo build{all_flag}",
    )
    return c


def _array_of_tables(data: Any, key: str) -> list[dict[str, Any]]:
    value = data.get(key) if isinstance(data, dict) else None
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _detect_java(files: _Reader) -> _Candidate | None:
    gradle_file = next((n for n in ("build.gradle", "build.gradle.kts") if files.is_file(n)), None)
    maven = files.is_file("pom.xml")
    if not maven and gradle_file is None:
        return None
    pm = PackageManager.MAVEN if maven else PackageManager.GRADLE
    build_file = "pom.xml" if maven else str(gradle_file)
    markers = [m for m in ("pom.xml", gradle_file) if m and files.is_file(m)]
    c = _Candidate("java", Language.JAVA, pm, markers=markers)
    text = files.text(build_file, c.evidence) or ""
    if maven and text:
        try:
            ET.fromstring(text)
        except ET.ParseError as exc:
            c.note("pom.xml", f"unreadable: not well-formed XML ({exc})")
    c.note(build_file, f"{'Maven' if maven else 'Gradle'} build -> package manager {pm.value}")
    if maven and gradle_file:
        c.note(gradle_file, "a Gradle build too; pom.xml (Maven) was chosen")
    if build_file.endswith(".kts"):
        c.note(build_file, "Kotlin build script (recorded as java, the closest language)")
    if "org.springframework.boot" in text or "spring-boot" in text:
        c.set_framework("spring", build_file, "uses Spring Boot")
    wrapper = "mvnw" if maven else "gradlew"
    tool = f"./{wrapper}" if files.is_file(wrapper) else ("mvn" if maven else "gradle")
    c.note(wrapper if files.is_file(wrapper) else build_file, f"commands run {tool}")
    spring = c.framework == "spring"
    if maven:
        start = (
            f"{tool} spring-boot:run"
            if spring
            else (f"{tool} exec:java" if "exec-maven-plugin" in text else "")
        )
        c.commands.update(
            install=f"{tool} install -DskipTests",
            start=start,
            test=f"{tool} test",
            build=f"{tool} package",
            lint=f"{tool} checkstyle:check" if "maven-checkstyle-plugin" in text else "",
            format=f"{tool} spotless:apply" if "spotless-maven-plugin" in text else "",
        )
    else:
        application = re.search(r"""^\s*application\s*(\{|$)|["']application["']""", text, re.M)
        start = f"{tool} bootRun" if spring else (f"{tool} run" if application else "")
        c.commands.update(
            install=f"{tool} dependencies",
            start=start,
            test=f"{tool} test",
            build=f"{tool} build",
            lint=f"{tool} checkstyleMain" if "checkstyle" in text else "",
            format=f"{tool} spotlessApply" if "spotless" in text else "",
        )
    return c


_GEM = re.compile(r"""^\s*gem\s*\(?\s*["']([^"']+)["']""", re.MULTILINE)
_GEMSPEC_DEP = re.compile(r"""add_(?:runtime_|development_)?dependency\s*\(?\s*["']([^"']+)["']""")


def _detect_ruby(files: _Reader) -> _Candidate | None:
    if not files.is_file("Gemfile"):
        return None
    c = _Candidate("ruby", Language.RUBY, PackageManager.BUNDLER, markers=["Gemfile"])
    gems = set(_GEM.findall(files.text("Gemfile", c.evidence) or ""))
    gemspecs = files.glob("*.gemspec")
    for spec in gemspecs:
        gems.update(_GEMSPEC_DEP.findall(files.text(spec, c.evidence) or ""))
    c.note("Gemfile", f"Ruby project, {len(gems)} gem(s) -> package manager bundler")
    if files.is_file("Gemfile.lock"):
        c.note("Gemfile.lock", "bundler lock file")
    if "rails" in gems or "railties" in gems:
        c.set_framework("rails", "Gemfile", "depends on rails")
    elif "sinatra" in gems:
        c.set_framework("sinatra", "Gemfile", "depends on sinatra")
    rspec = bool(gems & {"rspec", "rspec-rails", "rspec-core"}) or files.is_file(".rspec")
    cmd = c.commands
    cmd["install"] = "bundle install"
    if rspec or files.is_dir("spec"):
        cmd["test"] = "bundle exec rspec"
    elif c.framework == "rails":
        cmd["test"] = "bundle exec rails test"
    elif files.is_file("Rakefile"):
        cmd["test"] = "bundle exec rake test"
    if "rubocop" in gems or files.is_file(".rubocop.yml"):
        cmd["lint"], cmd["format"] = "bundle exec rubocop", "bundle exec rubocop -a"
    elif "standard" in gems:
        cmd["lint"], cmd["format"] = "bundle exec standardrb", "bundle exec standardrb --fix"
    if gems & {"sorbet", "sorbet-static"} or files.is_dir("sorbet"):
        cmd["typecheck"] = "bundle exec srb tc"
    elif files.is_file("Steepfile"):
        cmd["typecheck"] = "bundle exec steep check"
    if c.framework == "rails":
        cmd["start"] = "bundle exec rails server"
    elif files.is_file("config.ru"):
        cmd["start"] = "bundle exec rackup"
    if gemspecs:
        cmd["build"] = f"gem build {gemspecs[0]}"
    found = [f"{name} -> {cmd[name]}" for name in ("test", "lint", "typecheck") if name in cmd]
    if found:
        c.note("Gemfile", "; ".join(found))
    return c


# -- Makefile -------------------------------------------------------------------------------

# A rule line: targets, then ':' or '::' that does not start an assignment (':=', '::=').
_MAKE_RULE = re.compile(r"^([^\s:=#][^:=#]*?)\s*::?(?![:=])", re.MULTILINE)
MAKE_TARGETS: dict[str, tuple[str, ...]] = {
    "test": ("test",),
    "lint": ("lint",),
    "typecheck": ("typecheck", "type-check"),
    "format": ("fmt", "format"),
    "start": ("start", "run", "serve"),
    "build": ("build",),
    "install": ("install",),
}


def makefile_targets(text: str) -> list[str]:
    """Names of the explicit targets of a Makefile, in order (no variables, no patterns)."""
    targets: list[str] = []
    in_define = False
    for line in text.splitlines():
        stripped = line.strip()
        if re.match(r"define\b", stripped):
            in_define = True
        elif stripped == "endef":
            in_define = False
        if in_define or line.startswith("\t"):
            continue
        match = _MAKE_RULE.match(line)
        if not match:
            continue
        for name in match.group(1).split():
            if (
                "$" not in name
                and "%" not in name
                and not name.startswith(".")
                and name not in targets
            ):
                targets.append(name)
    return targets


def _apply_makefile(files: _Reader, commands: dict[str, str], evidence: list[Evidence]) -> None:
    name = next((n for n in ("GNUmakefile", "makefile", "Makefile") if files.is_file(n)), None)
    if name is None:
        return
    text = files.text(name, evidence)
    if text is None:
        return
    targets = makefile_targets(text)
    overrides = []
    for key, candidates in MAKE_TARGETS.items():
        target = _first(targets, candidates)
        if target is not None:
            commands[key] = f"make {target}"
            overrides.append(f"{key} -> make {target}")
    if overrides:
        evidence.append(Evidence(name, "targets override: " + ", ".join(overrides)))
    else:
        evidence.append(Evidence(name, "no test/lint/typecheck/format/start/build/install target"))


# -- the whole detection --------------------------------------------------------------------

_DETECTORS: dict[str, Callable[[_Reader], _Candidate | None]] = {
    "go": _detect_go,
    "rust": _detect_rust,
    "java": _detect_java,
    "python": _detect_python,
    "ruby": _detect_ruby,
    "node": _detect_node,
}


def detect_stack(root: Path) -> DetectedStack:
    """What the repository at ``root`` is made of. Reads files only; never raises for their
    content (a missing, unreadable or malformed file is evidence, not an error)."""
    files = _Reader(root)
    candidates = [c for c in (_DETECTORS[name](files) for name in PRECEDENCE) if c is not None]
    name = project_name_from_dir(root.resolve().name)
    evidence: list[Evidence] = []
    if candidates:
        primary = candidates[0]
        evidence += primary.evidence
        commands = dict(primary.commands)
        for other in candidates[1:]:
            stack = other.language.value
            if other.framework != "none":
                stack += f"/{other.framework}"
            evidence.append(
                Evidence(
                    ", ".join(other.markers),
                    f"also a {stack} stack ({other.package_manager.value}); not primary: "
                    f"{primary.language.value} comes first (precedence {' > '.join(PRECEDENCE)})",
                )
            )
            # What could not be read is worth knowing even about a secondary stack.
            evidence += [e for e in other.evidence if e.finding.startswith(_PROBLEMS)]
        language, framework, pm = primary.language, primary.framework, primary.package_manager
    else:
        evidence.append(
            Evidence(".", "no language markers found; assuming python (change it if wrong)")
        )
        commands = {}
        language, framework, pm = Language.PYTHON, "none", PackageManager.PIP
    _apply_makefile(files, commands, evidence)
    return DetectedStack(
        name=name,
        language=language,
        framework=framework,
        package_manager=pm,
        commands=CommandsSection(**commands),
        evidence=tuple(evidence),
        ecosystems=tuple(c.ecosystem for c in candidates),
    )
