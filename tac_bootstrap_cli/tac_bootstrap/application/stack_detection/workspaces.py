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
MAX_VISITED_DIRS folders (workspace_glob.py), and at most MAX_PARTS parts are detected
(evidence says so when capped). What a part is: workspace_members.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from tac_bootstrap.domain.config import PackageManager

from .model import DetectedStack, Evidence
from .node import detect_node
from .reading import Reader, strings, table
from .workspace_glob import Walk, clean_pattern
from .workspace_members import Part, nx_project, package_name, role_of, with_manager, with_uv

__all__ = ["MAX_PARTS", "Part", "Workspace", "detect_workspace", "select_part", "subfolder_part"]

MAX_PARTS = 50
# The common layout: folders that are parts on their own, and folders whose children are.
LAYOUT_DIRS = ("backend", "frontend", "api", "web", "server", "client")
LAYOUT_GLOBS = ("apps/*", "packages/*", "services/*")


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


def _uv_members(files: Reader, walk: Walk, found: _Declared, evidence: list[Evidence]) -> None:
    # Problems with the file are the root detection's evidence already.
    workspace = table(files.toml("pyproject.toml", []) or {}, "tool", "uv", "workspace")
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
    files: Reader, walk: Walk, found: _Declared, evidence: list[Evidence]
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


def _cargo_members(files: Reader, walk: Walk, found: _Declared, evidence: list[Evidence]) -> None:
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


def _go_work(files: Reader, walk: Walk, found: _Declared, evidence: list[Evidence]) -> None:
    text = files.text("go.work", evidence)
    if text is None:
        return
    uses = go_work_uses(text)
    folders = walk.expand("go.work", uses, ("go.mod",))
    found.add("go", "go.work", folders, ("go.mod",))
    evidence.append(Evidence("go.work", f"use {len(uses)} module(s) -> {len(folders)} part(s)"))


def _task_runners(
    files: Reader, walk: Walk, found: _Declared, evidence: list[Evidence]
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
    walk = Walk(root, evidence)
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
        stack = detect_stack(root / folder, ci_root=root, part=folder)
        if not stack.recognised and source == "nx.json" and root_stack is not None:
            nx_part = nx_project(root, folder, root_stack, manager)
            if nx_part is not None:
                parts.append(nx_part)
                continue
        if not stack.recognised:
            evidence.append(Evidence(folder, f"listed by {source}, no language markers; skipped"))
            continue
        if manager is not None and source in ("package.json", "pnpm-workspace.yaml"):
            stack = with_manager(stack, manager)
        if source == "pyproject.toml":
            stack = with_uv(stack)
        package = package_name(Reader(root / folder))
        parts.append(Part(folder, stack, source, package, role_of(folder, stack)))
    return parts


def _subfolders(walk: Walk) -> dict[str, tuple[str, tuple[str, ...]]]:
    folders = [f for f in walk.children("") if walk.has_any(f, MANIFESTS)]
    return {folder: ("subfolder", MANIFESTS) for folder in folders}


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
    path = clean_pattern(wanted)
    for part in candidates:
        if part.path == path or (part.package and part.package == wanted.strip()):
            return part
    named = [p for p in candidates if PurePosixPath(p.path).name == wanted.strip()]
    return named[0] if len(named) == 1 else None


def subfolder_part(root: Path, wanted: str) -> Part | None:
    """``--part`` naming a subfolder nothing declares: a part if it has markers of its own."""
    from . import detect_stack

    folder = clean_pattern(wanted)
    if not folder or not Walk(root, []).inside(folder):
        return None
    stack = detect_stack(root / folder, ci_root=root, part=folder)
    if not stack.recognised:
        return None
    return Part(
        folder, stack, "--part", package_name(Reader(root / folder)), role_of(folder, stack)
    )
