"""One part of a monorepo: what it is, its name and role, and how its commands follow the
workspace it belongs to (a member without a lock file of its own uses the root's tool)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from tac_bootstrap.domain.config import CommandsSection, PackageManager

from .model import DetectedStack, Evidence
from .reading import Reader, table

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


def nx_project(
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
    return Part(folder, stack, "nx.json", name, role_of(folder, stack), rooted=True)


def with_uv(stack: DetectedStack) -> DetectedStack:
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


def with_manager(stack: DetectedStack, manager: PackageManager) -> DetectedStack:
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


def package_name(files: Reader) -> str:
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


def role_of(folder: str, stack: DetectedStack) -> str:
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
