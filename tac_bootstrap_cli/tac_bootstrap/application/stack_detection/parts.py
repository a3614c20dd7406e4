"""Commands that work from the root of a repository made of parts (see workspaces.py).

The config's commands are run from the root (the agents' working directory), so a part's
command is rewritten to run there:

- through its workspace tool's own filter when the part is a member of one:
  ``pnpm --filter web run lint``, ``npm test --workspace=web``, ``yarn workspace web run lint``;
  several members at once: ``pnpm exec turbo run lint`` (a turbo.json task),
  ``npx nx run-many -t test`` (an nx target), ``pnpm -r run test``,
  ``npm run test --workspaces --if-present``;
- else with the tool's own directory option, which keeps it one simple command (so the
  permission policy can allow it): ``uv run --directory backend pytest`` (uv still finds the
  workspace; ``--package`` would run pytest from the root, over every member's tests),
  ``npm --prefix frontend test``, ``pnpm --dir web run lint``, ``poetry -C api run pytest``,
  ``make -C api test``, ``go -C api test ./...``,
  ``cargo test --manifest-path api/Cargo.toml``;
- else in a subshell, ``(cd backend && bundle exec rspec)``: the agent's shell keeps its
  working directory between commands, ``cd backend && ...`` would leave it in backend/.

Several parts with a command for the same field are chained with `` && `` (at most MAX_CHAIN;
more is no command, with evidence). The root's own command for a field wins: it already works
from the root.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import replace

from tac_bootstrap.domain.config import CommandsSection, PackageManager

from .model import DetectedStack, Evidence
from .workspaces import Part, Workspace, root_is_tooling

MAX_CHAIN = 8
FIELDS = ("install", "start", "test", "lint", "typecheck", "format", "build")
# Parts' evidence is listed in full up to this many parts; beyond, one line per part.
MAX_DETAILED_PARTS = 8
_SAFE_PATH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/@+")
_CARGO_SUBCOMMANDS = frozenset({"build", "test", "check", "clippy", "fmt", "run", "bench", "doc"})
_NO_MARKERS = "no language markers found"


# -- one command ------------------------------------------------------------------------------


def node_script(command: str, manager: PackageManager) -> str | None:
    """The package.json script ``command`` runs with ``manager``, or None: 'npm test' -> test."""
    words = command.split()
    if len(words) < 2 or words[0] != manager.value:
        return None
    if words[1] == "run" and len(words) >= 3:
        return words[2]
    if words[1] in ("test", "start") and manager is not PackageManager.BUN:
        return words[1]  # bun test is bun's own test runner, not the script
    return None


def _filtered(command: str, part: Part, workspace: Workspace) -> str | None:
    """The command through the workspace tool's filter, when the part is one of its members."""
    manager = workspace.node_manager
    if manager is None or not workspace.node_tool or not part.package:
        return None
    if part.source not in ("package.json", "pnpm-workspace.yaml"):
        return None
    if node_script(command, manager) is None:
        return None
    words = command.split()
    package = part.package
    if manager is PackageManager.PNPM:
        return shlex.join(["pnpm", "--filter", package, *words[1:]])
    if manager is PackageManager.YARN:
        return shlex.join(["yarn", "workspace", package, *words[1:]])
    if manager is PackageManager.NPM:
        at = 3 if words[1] == "run" else 2
        return shlex.join([*words[:at], f"--workspace={package}", *words[at:]])
    return shlex.join(["bun", "run", "--filter", package, *words[2:]])


def _with_directory(command: str, folder: str) -> str | None:
    """The command with its tool's own directory option, when the tool has one."""
    words = command.split()
    program = words[0] if words else ""
    if program == "uv" and len(words) >= 2:
        return shlex.join([*words[:2], "--directory", folder, *words[2:]])
    if program == "poetry":
        return shlex.join(["poetry", "-C", folder, *words[1:]])
    if program == "npm":
        return shlex.join(["npm", "--prefix", folder, *words[1:]])
    if program == "pnpm":
        return shlex.join(["pnpm", "--dir", folder, *words[1:]])
    if program in ("make", "go"):
        return shlex.join([program, "-C", folder, *words[1:]])
    if program == "cargo" and len(words) >= 2 and words[1] in _CARGO_SUBCOMMANDS:
        return shlex.join([*words[:2], "--manifest-path", f"{folder}/Cargo.toml", *words[2:]])
    return None


def from_root(command: str, part: Part, workspace: Workspace) -> str:
    """``command`` (detected in the part's folder) as a command run from the root."""
    command = command.strip()
    if not command or part.rooted:
        return command
    simple = not any(c in command for c in ";&|<>$`(){}*?[]!#~'\"\\\n")
    if simple and set(part.path) <= _SAFE_PATH:
        rewritten = _filtered(command, part, workspace) or _with_directory(command, part.path)
        if rewritten is not None:
            return rewritten
    return f"(cd {shlex.quote(part.path)} && {command})"


# -- several parts ----------------------------------------------------------------------------


def _runner(workspace: Workspace) -> str:
    manager = workspace.node_manager or PackageManager.NPM
    return str(manager.spec.fields["exec"])


def _workspace_wide(
    items: list[tuple[Part, str]], workspace: Workspace
) -> tuple[str | None, list[tuple[Part, str]]]:
    """One command for the node members (turbo, nx, the package manager), and the rest."""
    manager = workspace.node_manager
    if manager is None:
        return None, items
    scripts = {part.path: node_script(cmd, manager) for part, cmd in items}
    members = [
        (part, cmd)
        for part, cmd in items
        if scripts[part.path] and part.source in ("package.json", "pnpm-workspace.yaml", "nx.json")
    ]
    names = sorted({scripts[part.path] or "" for part, _ in members})
    rest = [item for item in items if item not in members]
    if len(members) < 2:
        return None, items
    if "turbo" in workspace.tools and set(names) <= workspace.turbo_tasks:
        return f"{_runner(workspace)} turbo run {' '.join(names)}", rest
    if "nx" in workspace.tools and len(names) == 1 and names[0] in workspace.nx_targets:
        return f"{_runner(workspace)} nx run-many -t {names[0]}", rest
    if not workspace.node_tool or len(names) != 1:
        return None, items
    script = names[0]
    if manager is PackageManager.PNPM:
        return f"pnpm -r run {script}", rest
    if manager is PackageManager.NPM:
        return f"npm run {script} --workspaces --if-present", rest
    if manager is PackageManager.YARN and workspace.yarn_berry:
        return f"yarn workspaces foreach --all run {script}", rest
    return None, items


def _go_wide(items: list[tuple[Part, str]], workspace: Workspace) -> str | None:
    """go.work: the same `go X ./...` in every module is one command over their folders."""
    if "go" not in workspace.tools or len(items) < 2:
        return None
    commands = {cmd for _, cmd in items}
    if len(commands) != 1 or not all(p.source == "go.work" for p, _ in items):
        return None
    words = next(iter(commands)).split()
    if len(words) != 3 or words[0] != "go" or words[2] != "./...":
        return None
    if not all(set(p.path) <= _SAFE_PATH for p, _ in items):
        return None
    return " ".join([*words[:2], *(f"./{p.path}/..." for p, _ in items)])


def _nx_wide(items: list[tuple[Part, str]], workspace: Workspace) -> str | None:
    """nx projects running the same target: one `nx run-many -t TARGET`."""
    if "nx" not in workspace.tools or len(items) < 2 or not all(p.rooted for p, _ in items):
        return None
    targets = {cmd.rsplit(":", 1)[-1] for _, cmd in items}
    if len(targets) != 1:
        return None
    return f"{_runner(workspace)} nx run-many -t {targets.pop()}"


def combine(
    field: str, parts: Sequence[Part], workspace: Workspace, evidence: list[Evidence]
) -> str:
    """The parts' commands for ``field``, as one command run from the root."""
    items = [(p, getattr(p.stack.commands, field)) for p in parts]
    items = [(p, cmd) for p, cmd in items if cmd]
    if not items:
        return ""
    go_wide = _go_wide(items, workspace) or _nx_wide(items, workspace)
    if go_wide is not None:
        return go_wide
    wide, rest = _workspace_wide(items, workspace) if field != "install" else (None, items)
    commands = ([wide] if wide else []) + [from_root(cmd, p, workspace) for p, cmd in rest]
    if len(commands) > MAX_CHAIN:
        evidence.append(
            Evidence(
                ".",
                f"{field}: {len(commands)} parts have a command; too many to chain, none chosen "
                "(pick a part with --part, or set commands.{field} yourself)",
            )
        )
        return ""
    return " && ".join(commands)


# -- the stack of the whole repository --------------------------------------------------------


# The ecosystem a command's program belongs to; a program not listed (make, just, a script)
# is taken to cover the whole repository.
_PROGRAM_ECOSYSTEM = {
    **dict.fromkeys(("npm", "pnpm", "yarn", "bun", "npx", "bunx", "turbo", "nx"), "node"),
    **dict.fromkeys(("uv", "poetry", "pipenv", "python", "python3", "pytest", "ruff"), "python"),
    **dict.fromkeys(("mypy", "pyright", "black", "flake8", "tox", "nox"), "python"),
    **dict.fromkeys(("bundle", "rake", "bin/rails", "bin/rubocop"), "ruby"),
    **dict.fromkeys(("./mvnw", "mvn", "./gradlew", "gradle"), "java"),
    "cargo": "rust",
    "go": "go",
}


def command_ecosystem(command: str) -> str | None:
    """'bun run test' -> node; None when the program is not one ecosystem's (make)."""
    words = command.split()
    return _PROGRAM_ECOSYSTEM.get(words[0]) if words else None


def _field_command(
    name: str,
    root: DetectedStack,
    parts: Sequence[Part],
    workspace: Workspace,
    evidence: list[Evidence],
) -> str:
    """The root's command for ``name`` (it works from the root), followed by the commands of
    the parts of other ecosystems it does not reach; else the parts' commands combined. One
    start command only: a server started first would keep `&&` from starting the next."""
    own: str = getattr(root.commands, name)
    if name == "start":
        starting = [p for p in parts if p.stack.commands.start]
        if own or not starting:
            return own
        chosen = heaviest(starting)
        command = from_root(chosen.stack.commands.start, chosen, workspace)
        others = ", ".join(p.path for p in starting if p is not chosen)
        also = f"; {others} also start (set commands.start to run them)" if others else ""
        evidence.append(Evidence(".", f"start: {command} (from {chosen.path}){also}"))
        return command
    if not own:
        combined = combine(name, parts, workspace, evidence)
        if combined:
            evidence.append(Evidence(".", f"{name}: {combined} (from the parts)"))
        return combined
    ecosystem = command_ecosystem(own)
    unreached = [
        p for p in parts if ecosystem and p.stack.ecosystems and p.stack.ecosystems[0] != ecosystem
    ]
    extra = combine(name, unreached, workspace, evidence) if unreached else ""
    if not extra:
        return own
    evidence.append(Evidence(".", f"{name}: {own} runs the {ecosystem} parts only; then {extra}"))
    return f"{own} && {extra}"


def weight(part: Part) -> int:
    """How much of the repository a part is: its commands, a test command most of all."""
    commands = part.stack.commands
    found = sum(1 for name in FIELDS if getattr(commands, name))
    return found + (2 if commands.test else 0) + (1 if part.stack.framework != "none" else 0)


def heaviest(parts: Sequence[Part]) -> Part:
    """The part the primary language comes from (the first of the heaviest)."""
    return max(parts, key=weight)  # max keeps the first of equal weights


def _part_evidence(part: Part, detailed: bool) -> list[Evidence]:
    role = f", {part.role}" if part.role else ""
    package = f" (package {part.package})" if part.package and part.package != part.path else ""
    lines = [Evidence(part.path, f"part{package}: {part.summary}{role}; from {part.source}")]
    if detailed:
        lines += [Evidence(_in_part(part, e.file), e.finding) for e in part.stack.evidence]
    return lines


def _in_part(part: Part, file: str) -> str:
    """A part's evidence file as a path from the root."""
    if part.rooted or file.startswith(f"{part.path}/"):
        return file
    return part.path if file in (".", "") else f"{part.path}/{file}"


def _root_evidence(root: DetectedStack, parts: Sequence[Part]) -> list[Evidence]:
    kept = [e for e in root.evidence if not (e.file == "." and e.finding.startswith(_NO_MARKERS))]
    if not root.recognised:
        listing = _listing(parts)
        kept.insert(0, Evidence(".", f"no language markers at the root; found parts: {listing}"))
    return kept


def whole_stack(root: DetectedStack, workspace: Workspace) -> DetectedStack:
    """The repository's stack: the root's, its missing commands from the parts (run from the
    root); the language of the heaviest part when the root has none of its own (or only
    tooling)."""
    parts = workspace.parts
    if not parts:
        return root
    evidence = _root_evidence(root, parts) + list(workspace.evidence)
    detailed = len(parts) <= MAX_DETAILED_PARTS
    for part in parts:
        evidence += _part_evidence(part, detailed)
    primary = heaviest(parts).stack
    own = not root_is_tooling(root)
    source = root if own else primary
    commands = {name: _field_command(name, root, parts, workspace, evidence) for name in FIELDS}
    framework = source.framework
    if own and framework == "none" and primary.language is root.language:
        framework = primary.framework
    if not own:
        evidence.append(Evidence(".", f"language from the heaviest part: {heaviest(parts).path}"))
    return replace(
        root,
        language=source.language,
        framework=framework,
        package_manager=source.package_manager,
        commands=CommandsSection(**commands),
        evidence=tuple(evidence),
        ecosystems=tuple(dict.fromkeys(root.ecosystems + primary.ecosystems)),
        warnings=(*root.warnings, *(f"{p.path}: {w}" for p in parts for w in p.stack.warnings)),
    )


def part_only_stack(root: DetectedStack, part: Part, workspace: Workspace) -> DetectedStack:
    """``--part``: that part's stack alone, its commands run from the root."""
    commands = {
        name: from_root(getattr(part.stack.commands, name), part, workspace) for name in FIELDS
    }
    evidence = [Evidence(part.path, f"--part {part.path}: only this part is detected")]
    evidence += [Evidence(_in_part(part, e.file), e.finding) for e in part.stack.evidence]
    return replace(
        part.stack,
        name=root.name,
        commands=CommandsSection(**commands),
        evidence=tuple(evidence),
        warnings=tuple(f"{part.path}: {warning}" for warning in part.stack.warnings),
    )


# -- what a person is told --------------------------------------------------------------------


def _listing(parts: Sequence[Part], most: int = 6) -> str:
    """'backend (python), frontend (typescript)', and how many more."""
    shown = ", ".join(f"{p.path} ({p.stack.language.value})" for p in parts[:most])
    return shown + (f" and {len(parts) - most} more" if len(parts) > most else "")


def detection_warnings(root: DetectedStack, workspace: Workspace, part: Part | None) -> list[str]:
    """About the detection itself: never 'no markers' when subfolders have them."""
    if part is not None or root.recognised:
        return []
    if workspace.parts:
        return [
            f"no language markers at the root; found parts: {_listing(workspace.parts)}; their "
            "commands run from the root (or pick one with --part); check the values above"
        ]
    if workspace.others:
        return [
            "no language markers at the root; subfolders with their own manifest: "
            f"{_listing(workspace.others)}; pick one with --part, or check the values above"
        ]
    return ["no language markers found; check the values above"]
