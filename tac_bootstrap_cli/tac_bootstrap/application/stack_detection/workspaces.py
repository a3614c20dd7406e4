"""Monorepos and workspaces: find the parts of a repository, each detected as its own stack.

A part is a subfolder with its own manifest that the repository declares as one: the members
of a uv workspace (``[tool.uv.workspace]``), of ``package.json`` ``workspaces`` or
``pnpm-workspace.yaml``, of a Cargo ``[workspace]``, the modules ``use``d by ``go.work``, the
projects of an nx workspace (``project.json``); or, when the root has no manifest of its own
(or only tooling), the common layout ``backend/`` + ``frontend/``, ``api/`` + ``web/``,
``server/`` + ``client/``, ``apps/*``, ``packages/*``, ``services/*``. turbo.json and nx.json
name the task runner the commands go through (parts.py).

Reading only, like the rest of stack detection. Globs are expanded by hand: a pattern with
``..`` or an absolute path is refused, a folder whose real path is outside the root (a
symlink) is skipped, dependency and build folders are never entered, the walk visits at most
MAX_VISITED_DIRS folders and at most MAX_PARTS parts are detected (evidence says so when capped).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from tac_bootstrap.domain.config import CommandsSection, PackageManager

from .model import DetectedStack, Evidence
from .node import detect_node
from .reading import Reader, strings, table

MAX_PARTS = 50
MAX_VISITED_DIRS = 5000
MAX_GLOBSTAR_DEPTH = 4  # "packages/**" looks this many levels down, no further
# Never entered while expanding a pattern: dependencies, environments and build output.
SKIPPED_DIRS = frozenset(
    {"node_modules", "target", "dist", "build", "out", "venv", "__pycache__", "vendor"}
)
# The common layout: folders that are parts on their own, and folders whose children are.
LAYOUT_DIRS = ("backend", "frontend", "api", "web", "server", "client")
LAYOUT_GLOBS = ("apps/*", "packages/*", "services/*")
_GLOB_CHARS = frozenset("*?[")

_BACKEND_NAMES = frozenset({"backend", "api", "server", "service", "services"})
_FRONTEND_NAMES = frozenset({"frontend", "web", "client", "ui", "www", "site", "webapp"})
_DOCS_NAMES = frozenset({"docs", "documentation", "website"})
_BACKEND_FRAMEWORKS = frozenset(
    {"fastapi", "django", "flask", "express", "nestjs", "gin", "echo", "axum", "actix-web"}
    | {"spring", "spring-boot", "rails", "sinatra"}
)
_FRONTEND_FRAMEWORKS = frozenset({"nextjs", "next", "react", "vue", "svelte", "angular"})


@dataclass(frozen=True)
class Part:
    """One part of the repository: a subfolder detected as a stack of its own."""

    path: str  # relative to the root, POSIX ("apps/web")
    stack: DetectedStack
    source: str  # what declared it: "pnpm-workspace.yaml", "go.work", "layout", ...
    package: str = ""  # the name its workspace tool knows it by ("@acme/web"); "" if none
    role: str = ""  # "backend", "frontend", "docs" when evident, else ""
    rooted: bool = False  # its commands already run from the root (an nx project's)

    @property
    def summary(self) -> str:
        """'python/fastapi (uv)'."""
        stack = self.stack.language.value
        if self.stack.framework != "none":
            stack += f"/{self.stack.framework}"
        return f"{stack} ({self.stack.package_manager.value})"

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "package": self.package,
            "role": self.role,
            "source": self.source,
            "language": self.stack.language.value,
            "framework": self.stack.framework,
            "package_manager": self.stack.package_manager.value,
            "commands": self.stack.commands.model_dump(),
        }


@dataclass(frozen=True)
class Workspace:
    """What the root says about its parts, and the parts found."""

    parts: tuple[Part, ...] = ()
    tools: tuple[str, ...] = ()  # "uv", "npm", "pnpm", "yarn", "bun", "turbo", "nx", "cargo", "go"
    evidence: tuple[Evidence, ...] = ()
    # Subfolders with their own manifest that nothing declares as parts (only looked for when
    # the root has no markers and no parts were found): worth naming, never combined.
    others: tuple[Part, ...] = ()
    node_manager: PackageManager | None = None  # the root package.json's, for filter syntax
    yarn_berry: bool = False
    turbo_tasks: frozenset[str] = frozenset()
    nx_targets: frozenset[str] = frozenset()

    @property
    def node_tool(self) -> bool:
        """The root's package manager runs the node parts' scripts (package.json workspaces
        or pnpm-workspace.yaml)."""
        return self.node_manager is not None and self.node_manager.value in self.tools


# -- the safe glob ----------------------------------------------------------------------------


class _Walk:
    """Expands workspace patterns inside one root, never leaving it."""

    def __init__(self, root: Path, evidence: list[Evidence]) -> None:
        self.root = root
        self.real_root = _real(root)
        self.evidence = evidence
        self.visited = 0
        self.exhausted = False

    def expand(self, source: str, patterns: Iterable[str], manifests: tuple[str, ...]) -> list[str]:
        """The folders ``patterns`` name (``!pattern`` excludes) that hold one of ``manifests``."""
        found: list[str] = []
        excluded: list[str] = []
        for raw in patterns:
            negated = raw.strip().startswith("!")
            pattern = _clean(raw.strip().lstrip("!"))
            if pattern is None:
                self.evidence.append(Evidence(source, f"pattern {raw!r} leaves the root; ignored"))
                continue
            if negated:
                excluded.append(pattern)
                continue
            for folder in self._matches(pattern.split("/") if pattern else []):
                if folder and folder not in found and self._has_any(folder, manifests):
                    found.append(folder)
        kept = [f for f in found if not any(fnmatch.fnmatchcase(f, p) for p in excluded)]
        return sorted(kept)

    def _matches(self, segments: list[str]) -> list[str]:
        current = [""]
        for segment in segments:
            following: list[str] = []
            for folder in current:
                if segment == "**":
                    following += [folder, *self._descendants(folder, MAX_GLOBSTAR_DEPTH)]
                elif _GLOB_CHARS & set(segment):
                    following += [
                        child
                        for child in self._children(folder)
                        if fnmatch.fnmatchcase(PurePosixPath(child).name, segment)
                    ]
                elif self._inside(_join(folder, segment)):
                    following.append(_join(folder, segment))
            current = list(dict.fromkeys(following))
        return current

    def _children(self, folder: str) -> list[str]:
        if self.visited >= MAX_VISITED_DIRS:
            if not self.exhausted:
                self.exhausted = True
                self.evidence.append(
                    Evidence(".", f"more than {MAX_VISITED_DIRS} folders; the search stopped")
                )
            return []
        self.visited += 1
        try:
            with os.scandir(self.root / folder) as entries:
                names = sorted(e.name for e in entries if _is_dir(e))
        except OSError:
            return []
        children = [_join(folder, n) for n in names if n not in SKIPPED_DIRS and n[0] != "."]
        return [child for child in children if self._inside(child)]

    def _descendants(self, folder: str, depth: int) -> list[str]:
        if depth == 0:
            return []
        found: list[str] = []
        for child in self._children(folder):
            found += [child, *self._descendants(child, depth - 1)]
        return found

    def _inside(self, folder: str) -> bool:
        """An existing folder whose real path is inside the root (symlinks out are skipped)."""
        path = self.root / folder
        try:
            if not path.is_dir():
                return False
            real = path.resolve()
        except (OSError, RuntimeError):
            return False
        if real == self.real_root or self.real_root in real.parents:
            return True
        self.evidence.append(Evidence(folder, "links outside the repository; skipped"))
        return False

    def _has_any(self, folder: str, manifests: tuple[str, ...]) -> bool:
        return any(Reader(self.root / folder).is_file(name) for name in manifests)


def _clean(pattern: str) -> str | None:
    """'./packages/*/' -> 'packages/*'; None for a pattern that would leave the root."""
    text = pattern.replace("\\", "/").strip()
    if text.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", text):
        return None
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    return "/".join(parts)


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


# -- what the root declares -------------------------------------------------------------------


@dataclass
class _Declared:
    """Parts declared so far, in order, with the file that declared each."""

    folders: dict[str, tuple[str, tuple[str, ...]]]  # folder -> (source, manifests)
    tools: list[str]

    def add(self, tool: str, source: str, folders: list[str], manifests: tuple[str, ...]) -> None:
        if tool not in self.tools:
            self.tools.append(tool)
        for folder in folders:
            self.folders.setdefault(folder, (source, manifests))


def _uv_members(files: Reader, walk: _Walk, found: _Declared, evidence: list[Evidence]) -> None:
    workspace = table(files.toml("pyproject.toml", evidence) or {}, "tool", "uv", "workspace")
    members = strings(workspace.get("members"))
    if not members:
        return
    excluded = ["!" + p for p in strings(workspace.get("exclude"))]
    folders = walk.expand("pyproject.toml", members + excluded, ("pyproject.toml",))
    found.add("uv", "pyproject.toml", folders, ("pyproject.toml",))
    evidence.append(
        Evidence(
            "pyproject.toml", f"[tool.uv.workspace] members {members} -> {len(folders)} part(s)"
        )
    )


def _node_workspaces(
    files: Reader, walk: _Walk, found: _Declared, evidence: list[Evidence]
) -> PackageManager | None:
    """package.json "workspaces" (a list, or {packages: [...]}) and pnpm-workspace.yaml."""
    manifest = files.json_object("package.json", []) or {}
    declared = manifest.get("workspaces")
    patterns = strings(declared.get("packages") if isinstance(declared, dict) else declared)
    source = "package.json"
    if files.is_file("pnpm-workspace.yaml"):
        pnpm = _pnpm_packages(files, evidence)
        if pnpm:
            patterns, source = pnpm, "pnpm-workspace.yaml"
    if not patterns:
        return None
    candidate = detect_node(files) if files.is_file("package.json") else None
    manager = candidate.package_manager if candidate else PackageManager.PNPM
    if source == "pnpm-workspace.yaml":
        manager = PackageManager.PNPM
    folders = walk.expand(source, patterns, ("package.json",))
    found.add(manager.value, source, folders, ("package.json",))
    key = "packages" if source == "pnpm-workspace.yaml" else '"workspaces"'
    evidence.append(
        Evidence(source, f"{key} {patterns} -> {len(folders)} {manager.value} workspace part(s)")
    )
    return manager


def _pnpm_packages(files: Reader, evidence: list[Evidence]) -> list[str]:
    text = files.text("pnpm-workspace.yaml", evidence)
    if text is None:
        return []
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        finding = f"unreadable: not valid YAML ({first_line})"
        evidence.append(Evidence("pnpm-workspace.yaml", finding))
        return []
    return strings(data.get("packages")) if isinstance(data, dict) else []


def _cargo_members(files: Reader, walk: _Walk, found: _Declared, evidence: list[Evidence]) -> None:
    workspace = table(files.toml("Cargo.toml", []) or {}, "workspace")
    members = strings(workspace.get("members"))
    if not members:
        return
    excluded = ["!" + p for p in strings(workspace.get("exclude"))]
    folders = walk.expand("Cargo.toml", members + excluded, ("Cargo.toml",))
    found.add("cargo", "Cargo.toml", folders, ("Cargo.toml",))
    evidence.append(
        Evidence("Cargo.toml", f"[workspace] members -> {len(folders)} crate(s), run by cargo")
    )


def go_work_uses(text: str) -> list[str]:
    """The folders of go.work's ``use`` directives (single and block form)."""
    text = re.sub(r"//[^\n]*", "", text)
    uses: list[str] = []
    for block in re.findall(r"^\s*use\s*\(([^)]*)\)", text, flags=re.MULTILINE):
        uses += block.split()
    uses += re.findall(r"^\s*use\s+([^\s(]+)\s*$", text, flags=re.MULTILINE)
    return [u.strip('"`') for u in uses]


def _go_work(files: Reader, walk: _Walk, found: _Declared, evidence: list[Evidence]) -> None:
    text = files.text("go.work", evidence)
    if text is None:
        return
    uses = go_work_uses(text)
    folders = walk.expand("go.work", uses, ("go.mod",))
    found.add("go", "go.work", folders, ("go.mod",))
    evidence.append(Evidence("go.work", f"use {len(uses)} module(s) -> {len(folders)} part(s)"))


def _task_runners(
    files: Reader, walk: _Walk, found: _Declared, evidence: list[Evidence]
) -> tuple[frozenset[str], bool]:
    """turbo.json's tasks; nx.json (its projects are the folders with a project.json)."""
    turbo: set[str] = set()
    if files.is_file("turbo.json"):
        config = files.json_object("turbo.json", evidence) or {}
        tasks = table(config, "tasks") or table(config, "pipeline")
        turbo = {name.split("#")[-1] for name in tasks if not name.startswith("//")}
        found.add("turbo", "turbo.json", [], ())
        evidence.append(Evidence("turbo.json", f"turborepo tasks: {', '.join(sorted(turbo))}"))
    nx = files.is_file("nx.json")
    if nx:
        projects = walk.expand("nx.json", ["*", "*/*", "*/*/*"], ("project.json",))
        found.add("nx", "nx.json", projects, ("project.json", "package.json"))
        evidence.append(Evidence("nx.json", f"nx workspace: {len(projects)} project.json part(s)"))
    return frozenset(turbo), nx


# -- the parts --------------------------------------------------------------------------------

# Any ecosystem's manifest: a folder with one of these may be a part of the common layout.
MANIFESTS = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "requirements.txt",
    "Pipfile",
    "package.json",
    "go.mod",
    "Cargo.toml",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "Gemfile",
)


def root_is_tooling(stack: DetectedStack) -> bool:
    """The root has no stack of its own, or only tooling: nothing to test, start or build."""
    commands = stack.commands
    return not stack.recognised or not (
        commands.test or commands.start or commands.build or commands.typecheck
    )


def detect_workspace(root: Path, root_stack: DetectedStack) -> Workspace:
    """The parts of the repository at ``root`` (whose own stack is ``root_stack``)."""
    files = Reader(root)
    evidence: list[Evidence] = []
    walk = _Walk(root, evidence)
    found = _Declared({}, [])
    _uv_members(files, walk, found, evidence)
    manager = _node_workspaces(files, walk, found, evidence)
    _cargo_members(files, walk, found, evidence)
    if files.is_file("go.work"):
        _go_work(files, walk, found, evidence)
    turbo_tasks, nx = _task_runners(files, walk, found, evidence)
    if not found.folders and root_is_tooling(root_stack):
        layout = walk.expand("layout", [*LAYOUT_DIRS, *LAYOUT_GLOBS], MANIFESTS)
        for folder in layout:
            found.folders.setdefault(folder, ("layout", MANIFESTS))
        if layout:
            why = "only tooling at the root" if root_stack.recognised else "no manifest at the root"
            evidence.append(Evidence(".", f"{why}; folders with their own manifest are parts"))
    if manager is None and files.is_file("package.json") and found.tools:
        candidate = detect_node(files)
        manager = candidate.package_manager if candidate else None
    parts = _detect_parts(root, found, evidence, manager, root_stack)
    others: tuple[Part, ...] = ()
    if not parts and not root_stack.recognised:
        others = tuple(_detect_parts(root, _Declared(_subfolders(walk), []), []))
    return Workspace(
        parts=tuple(parts),
        tools=tuple(found.tools),
        evidence=tuple(evidence),
        others=others,
        node_manager=manager,
        yarn_berry=_yarn_berry(files),
        turbo_tasks=turbo_tasks,
        nx_targets=_nx_targets(root, parts) if nx else frozenset(),
    )


def _detect_parts(
    root: Path,
    found: _Declared,
    evidence: list[Evidence],
    manager: PackageManager | None = None,
    root_stack: DetectedStack | None = None,
) -> list[Part]:
    from . import detect_stack  # the package imports nothing from here: no cycle

    items = list(found.folders.items())
    if len(items) > MAX_PARTS:
        evidence.append(
            Evidence(".", f"{len(items)} parts declared; only the first {MAX_PARTS} are detected")
        )
        items = items[:MAX_PARTS]
    parts = []
    for folder, (source, _manifests) in items:
        stack = detect_stack(root / folder)
        if not stack.recognised and source == "nx.json" and root_stack is not None:
            nx_part = _nx_project(root, folder, root_stack, manager)
            if nx_part is not None:
                parts.append(nx_part)
                continue
        if not stack.recognised:
            evidence.append(Evidence(folder, f"listed by {source}, no language markers; skipped"))
            continue
        if manager is not None and source in ("package.json", "pnpm-workspace.yaml"):
            stack = _with_manager(stack, manager)
        if source == "pyproject.toml":
            stack = _with_uv(stack)
        package = _package_name(Reader(root / folder))
        parts.append(Part(folder, stack, source, package, _role(folder, stack)))
    return parts


# nx targets -> the config's command fields.
_NX_FIELDS = {
    "test": "test",
    "lint": "lint",
    "typecheck": "typecheck",
    "type-check": "typecheck",
    "build": "build",
    "serve": "start",
    "dev": "start",
    "format": "format",
}


def _nx_project(
    root: Path, folder: str, root_stack: DetectedStack, manager: PackageManager | None
) -> Part | None:
    """An nx project with only a project.json: the root's stack, its targets run by nx."""
    project = Reader(root / folder).json_object("project.json", []) or {}
    name = project.get("name")
    if not isinstance(name, str) or not name.strip():
        name = PurePosixPath(folder).name
    runner = str((manager or PackageManager.NPM).spec.fields["exec"])
    commands = {"install": root_stack.commands.install}
    for target in table(project, "targets"):
        field = _NX_FIELDS.get(target)
        if field and field not in commands:
            commands[field] = f"{runner} nx run {name}:{target}"
    note = Evidence(f"{folder}/project.json", f"nx project {name}: targets {sorted(commands)}")
    stack = replace(
        root_stack,
        name=name,
        commands=CommandsSection(**commands),
        evidence=(note,),
        ecosystems=root_stack.ecosystems[:1],
    )
    return Part(folder, stack, "nx.json", name, _role(folder, stack), rooted=True)


def _with_uv(stack: DetectedStack) -> DetectedStack:
    """A uv workspace member detected as pip (no uv.lock of its own) runs through uv."""
    if stack.package_manager is not PackageManager.PIP:
        return stack
    commands = {}
    for name, command in stack.commands:
        if name == "install" and command:
            command = "uv sync"
        elif command and not command.startswith("uv "):
            command = f"uv run {command}"
        commands[name] = command
    note = Evidence(".", "a uv workspace member -> package manager uv")
    return replace(
        stack,
        package_manager=PackageManager.UV,
        commands=CommandsSection(**commands),
        evidence=(*stack.evidence, note),
    )


def _with_manager(stack: DetectedStack, manager: PackageManager) -> DetectedStack:
    """A workspace member without a lock file of its own (npm by default) uses the root's
    package manager: 'npm run lint' -> 'bun run lint', 'npx tsc' -> 'bunx tsc'."""
    if stack.package_manager is not PackageManager.NPM or manager is PackageManager.NPM:
        return stack
    runner, tool = manager.value, str(manager.spec.fields["exec"])
    commands = {}
    for name, command in stack.commands:
        words = command.split(" ", 2)
        if words[0] == "npm" and len(words) >= 2 and words[1] in ("test", "start"):
            command = f"{runner} run {' '.join(words[1:])}"
        elif words[0] == "npm":
            command = f"{runner} {' '.join(words[1:])}"
        elif words[0] == "npx":
            command = f"{tool} {' '.join(words[1:])}"
        commands[name] = command
    note = Evidence(".", f"a {manager.value} workspace member -> package manager {manager.value}")
    return replace(
        stack,
        package_manager=manager,
        commands=CommandsSection(**commands),
        evidence=(*stack.evidence, note),
    )


def _subfolders(walk: _Walk) -> dict[str, tuple[str, tuple[str, ...]]]:
    folders = [f for f in walk._children("") if walk._has_any(f, MANIFESTS)]
    return {folder: ("subfolder", MANIFESTS) for folder in folders}


def _package_name(files: Reader) -> str:
    """The name the part's workspace tool knows it by."""
    ignored: list[Evidence] = []
    for name in ("package.json", "project.json"):
        data = files.json_object(name, ignored) if files.is_file(name) else None
        value = (data or {}).get("name")
        if isinstance(value, str) and value.strip():
            return value.strip()
    if files.is_file("pyproject.toml"):
        value = table(files.toml("pyproject.toml", ignored), "project").get("name")
        if isinstance(value, str):
            return value
    if files.is_file("Cargo.toml"):
        value = table(files.toml("Cargo.toml", ignored), "package").get("name")
        if isinstance(value, str):
            return value
    return ""


def _role(folder: str, stack: DetectedStack) -> str:
    name = PurePosixPath(folder).name.lower()
    if name in _BACKEND_NAMES or name.endswith(("-api", "-service", "-server")):
        return "backend"
    if name in _FRONTEND_NAMES or name.endswith(("-web", "-ui", "-frontend")):
        return "frontend"
    if name in _DOCS_NAMES:
        return "docs"
    if stack.framework in _BACKEND_FRAMEWORKS:
        return "backend"
    if stack.framework in _FRONTEND_FRAMEWORKS:
        return "frontend"
    return ""


def _yarn_berry(files: Reader) -> bool:
    """Yarn 2+ (its own workspace commands) rather than Yarn 1."""
    declared = (files.json_object("package.json", []) or {}).get("packageManager")
    if isinstance(declared, str) and declared.startswith("yarn@"):
        return not declared.startswith("yarn@1.")
    return files.is_file(".yarnrc.yml")


def _nx_targets(root: Path, parts: list[Part]) -> frozenset[str]:
    targets: set[str] = set()
    for part in parts:
        files = Reader(root / part.path)
        targets |= set(table(files.json_object("project.json", []) or {}, "targets"))
        targets |= set(table(files.json_object("package.json", []) or {}, "scripts"))
    return frozenset(targets)


def select_part(workspace: Workspace, wanted: str) -> Part | None:
    """The part ``wanted`` names: its path ('apps/web', './apps/web/'), its package name
    ('@acme/web') or its folder's name when only one part has it ('web'); else None. Any
    subfolder with its own manifest listed in ``others`` may be picked too."""
    candidates = (*workspace.parts, *workspace.others)
    path = _clean(wanted)
    for part in candidates:
        if part.path == path or (part.package and part.package == wanted.strip()):
            return part
    named = [p for p in candidates if PurePosixPath(p.path).name == wanted.strip()]
    return named[0] if len(named) == 1 else None


def subfolder_part(root: Path, wanted: str) -> Part | None:
    """``--part`` naming a subfolder nothing declares: a part if it has markers of its own."""
    from . import detect_stack

    folder = _clean(wanted)
    if not folder or not _Walk(root, [])._inside(folder):
        return None
    stack = detect_stack(root / folder)
    if not stack.recognised:
        return None
    return Part(folder, stack, "--part", _package_name(Reader(root / folder)), _role(folder, stack))
