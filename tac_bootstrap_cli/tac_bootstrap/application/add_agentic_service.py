"""`add-agentic`: give an existing repository the agentic layer.

The stack is detected from the repository's own files (``inspect_repository``); the caller may
change any detected value (the CLI asks a person at a terminal) before ``prepare_add_agentic``
builds the config, and ``apply_add_agentic`` writes the config file plus the layer. Nothing the
repository already has is overwritten: a file at a target path is a conflict (the layer's
version is written beside it), and .gitignore only gets its missing lines appended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tac_bootstrap.application.gitignore import (
    GITIGNORE,
    GitignoreAction,
    GitignoreUpdate,
    generated_paths,
    required_lines,
    update_layer_gitignore,
)
from tac_bootstrap.application.layer_setup import build_config, missing_tool_warnings
from tac_bootstrap.application.plan_executor import PlanExecutor
from tac_bootstrap.application.project_lookup import require_writable
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.application.stack_detection import DetectedStack, detect_stack
from tac_bootstrap.application.stack_detection.parts import (
    detection_warnings,
    part_only_stack,
    whole_stack,
)
from tac_bootstrap.application.stack_detection.workspaces import (
    Part,
    Workspace,
    detect_workspace,
    select_part,
    subfolder_part,
)
from tac_bootstrap.domain.config import (
    CONFIG_FILENAME,
    CommandsSection,
    Language,
    PackageManager,
    TacConfig,
    default_commands,
)
from tac_bootstrap.domain.errors import UsageError
from tac_bootstrap.domain.manifest import MANIFEST_FILENAME, LayerAdditions, sha256_of
from tac_bootstrap.domain.permissions import command_warnings
from tac_bootstrap.domain.plan import ApplyReport
from tac_bootstrap.infrastructure.manifest_store import load_manifest, save_manifest


@dataclass(frozen=True)
class Inspection:
    root: Path
    stack: DetectedStack  # what the config is built from: the root's, with its parts'
    workspace: Workspace = field(default_factory=Workspace)  # the parts found
    part: Part | None = None  # --part: only this part was detected
    root_stack: DetectedStack | None = None  # the root's own files alone

    @property
    def warnings(self) -> list[str]:
        """About the detection itself; shown with what was detected, before any question."""
        about_markers = detection_warnings(self.root_stack or self.stack, self.workspace, self.part)
        return [*about_markers, *self.stack.warnings]

    def parts_dict(self) -> list[dict[str, object]]:
        """The parts as `add-agentic --json` prints them."""
        return [part.to_dict() for part in self.workspace.parts]


@dataclass(frozen=True)
class PreparedLayer:
    inspection: Inspection
    config: TacConfig
    warnings: list[str]  # about the config's commands; shown before anything is written


@dataclass
class AddAgenticReport:
    config: TacConfig
    inspection: Inspection
    apply: ApplyReport
    gitignore: GitignoreUpdate
    proposals: list[str] = field(default_factory=list)  # <file>.tac-bootstrap written
    config_warnings: list[str] = field(default_factory=list)  # about the config's commands
    tool_warnings: list[str] = field(default_factory=list)  # programs they need, not installed

    @property
    def warnings(self) -> list[str]:
        """Every warning, in the order the CLI prints them."""
        return [*self.inspection.warnings, *self.config_warnings, *self.tool_warnings]

    @property
    def ok(self) -> bool:
        return not self.apply.conflicts

    def to_dict(self) -> dict[str, object]:
        """The document `add-agentic --json` prints."""
        config, evidence = self.config, self.inspection.stack.evidence
        return {
            "ok": self.ok,
            "command": "add-agentic",
            "project": config.project.name,
            "stack": {
                "language": config.project.language.value,
                "framework": config.project.framework,
                "package_manager": config.package_manager.value,
                "commands": config.commands.model_dump(),
            },
            "evidence": [{"file": e.file, "finding": e.finding} for e in evidence],
            "parts": self.inspection.parts_dict(),
            "part": self.inspection.part.path if self.inspection.part else None,
            "gitignore": self.gitignore.to_dict(),
            **self.apply.to_dict(),
        }


def _resolve_root(path: Path) -> Path:
    if not path.exists():
        raise UsageError(f"{path} does not exist", hint="pass the path of an existing repository")
    if not path.is_dir():
        raise UsageError(f"{path} is not a directory", hint="pass the repository's directory")
    if (path / CONFIG_FILENAME).exists():
        raise UsageError(
            f"{path} already has the agentic layer ({CONFIG_FILENAME} exists)",
            hint="use `tac-bootstrap upgrade`",
        )
    if (path / MANIFEST_FILENAME).exists():
        raise UsageError(
            f"{path} has {MANIFEST_FILENAME} but no {CONFIG_FILENAME}",
            hint=f"restore {CONFIG_FILENAME} from git, or delete the manifest to start over",
        )
    return path


def inspect_repository(path: Path, *, dry_run: bool = False, part: str | None = None) -> Inspection:
    """Check PATH (an existing repository without the layer, writable unless a dry run) and
    detect its stack with its parts (a monorepo's); ``part``: that part only, its commands
    run from the root. Reads only."""
    root = _resolve_root(Path(path))
    if not dry_run:
        require_writable(root, f"PATH {path}")
    root_stack = detect_stack(root)
    workspace = detect_workspace(root, root_stack)
    if part is None:
        return Inspection(root, whole_stack(root_stack, workspace), workspace, None, root_stack)
    chosen = select_part(workspace, part) or subfolder_part(root, part)
    if chosen is None:
        known = [p.path for p in (*workspace.parts, *workspace.others)]
        raise UsageError(
            f"--part {part}: no such part in {root}",
            hint=f"parts: {', '.join(known)}" if known else "no parts found; omit --part",
        )
    stack = part_only_stack(root_stack, chosen, workspace)
    return Inspection(root, stack, workspace, chosen, root_stack)


def proposed_commands(
    stack: DetectedStack,
    language: Language,
    package_manager: PackageManager,
    framework: str,
    parts: tuple[Part, ...] = (),
) -> CommandsSection:
    """The commands for these answers: the detected ones for the detected toolchain (or a
    part's: the commands already cover every part); for another, that one's defaults, keeping
    the repository's Makefile targets (which work whatever the language)."""
    toolchains = {(stack.language, stack.package_manager)}
    toolchains |= {(p.stack.language, p.stack.package_manager) for p in parts}
    if (language, package_manager) in toolchains:
        return stack.commands
    make_targets = {key: value for key, value in stack.commands if value.startswith("make ")}
    return default_commands(language, package_manager, framework).model_copy(update=make_targets)


def prepare_add_agentic(
    inspection: Inspection,
    *,
    language: Language | None = None,
    framework: str | None = None,
    package_manager: PackageManager | None = None,
    commands: CommandsSection | None = None,
) -> PreparedLayer:
    """The config: the values given, else what was detected (commands: see
    proposed_commands). add-agentic never creates a git repository."""
    stack = inspection.stack
    language = language or stack.language
    framework = framework or stack.framework
    package_manager = package_manager or stack.package_manager
    if commands is None:
        parts = inspection.workspace.parts if inspection.part is None else ()
        commands = proposed_commands(stack, language, package_manager, framework, parts)
    config = build_config(stack.name, language, framework, package_manager, commands, git=False)
    return PreparedLayer(inspection, config, command_warnings(config))


def apply_add_agentic(prepared: PreparedLayer, *, dry_run: bool = False) -> AddAgenticReport:
    """Write (or preview) the layer, never forcing; proposals beside conflicting files."""
    root, config = prepared.inspection.root, prepared.config
    service = ScaffoldService()
    plan = service.build_plan(config, include_config=True)
    executor = PlanExecutor(service)
    proposals: list[str] = []
    if dry_run:
        report = executor.preview(plan, config, root)
    else:
        # Never force: a file the repository already has at a target path is a conflict.
        report = executor.apply(plan, config, root, propose=True)
        proposals = list(report.proposals)
    before = _regular_file_bytes(root / GITIGNORE)
    gitignore = _update_gitignore(root, config, generated_paths(plan, report), dry_run)
    if not dry_run:
        _record_additions(root, before)
    tools = missing_tool_warnings(config, root, per_command=True)
    return AddAgenticReport(
        config, prepared.inspection, report, gitignore, proposals, prepared.warnings, tools
    )


def _regular_file_bytes(path: Path) -> bytes | None:
    """A regular file's content (not through a symlink), else None."""
    if path.is_symlink() or not path.is_file():
        return None
    return path.read_bytes()


def _record_additions(root: Path, gitignore_before: bytes | None) -> None:
    """Record in the manifest the config as written and what the root .gitignore gained, so
    `remove` takes out exactly that (and knows whether the user edited the config since)."""
    manifest = load_manifest(root)
    config = _regular_file_bytes(root / CONFIG_FILENAME)
    if manifest is None or config is None:
        return
    after = _regular_file_bytes(root / GITIGNORE)
    appended = b""
    if after is not None and gitignore_before is None:
        appended = after
    elif after is not None and gitignore_before is not None and after.startswith(gitignore_before):
        appended = after[len(gitignore_before) :]
    try:
        text = appended.decode("utf-8")
    except UnicodeDecodeError:  # cannot be ours: recorded as nothing, remove then looks for lines
        text = ""
    created = gitignore_before is None and after is not None
    manifest.added = LayerAdditions(sha256_of(config), created, text)
    save_manifest(root, manifest)


def _update_gitignore(
    root: Path, config: TacConfig, generated: list[str], dry_run: bool
) -> GitignoreUpdate:
    """Our lines, and the negations that keep the layer's files in git (see gitignore)."""
    lines = required_lines(config)
    try:
        return update_layer_gitignore(root, lines, generated, dry_run=dry_run)
    except OSError as exc:  # the layer is written; an unwritable .gitignore is only reported
        reason = f"could not update it ({exc.strerror or exc}); add these lines yourself"
        return GitignoreUpdate(GitignoreAction.SKIPPED, tuple(lines), reason)
