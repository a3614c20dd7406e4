"""Generated files and the manifest: which are missing, edited or outdated.

The fix only creates missing files, so an existing file (maybe edited by the user) is never
touched; it runs first because the later sections need those files (migrations, schema).
"""

from __future__ import annotations

from dataclasses import dataclass

from tac_bootstrap.application.doctor.report import FAIL, OK, WARN, Check, Fixed, _Context, _plural
from tac_bootstrap.application.plan_executor import PlanExecutor
from tac_bootstrap.domain.errors import TacError
from tac_bootstrap.domain.manifest import MANIFEST_FILENAME, Manifest, sha256_of
from tac_bootstrap.domain.plan import FileOperation, ScaffoldPlan, Status
from tac_bootstrap.infrastructure.filesystem import confined_path
from tac_bootstrap.infrastructure.manifest_store import load_manifest


@dataclass(frozen=True)
class _FileState:
    path: str
    state: str  # ok, missing, blocked, edited, outdated, untracked, differs
    detail: str = ""


def _inspect_files(ctx: _Context, manifest: Manifest | None) -> list[_FileState]:
    states: list[_FileState] = []
    for op in ctx.plan().files:
        try:
            path = confined_path(ctx.root, op.path)
        except TacError as exc:
            states.append(_FileState(op.path, "blocked", exc.message))
            continue
        if path.is_symlink() and not path.exists():
            states.append(_FileState(op.path, "blocked", "a dangling symlink is in the way"))
            continue
        if not path.exists():
            states.append(_FileState(op.path, "missing"))
            continue
        if path.is_dir():
            states.append(_FileState(op.path, "blocked", "a directory is in the way"))
            continue
        try:
            current = path.read_bytes()
        except OSError as exc:
            states.append(_FileState(op.path, "blocked", f"cannot be read ({exc.strerror})"))
            continue
        states.append(_FileState(op.path, _classify(ctx, op, current, manifest)))
    return states


def _classify(ctx: _Context, op: FileOperation, current: bytes, manifest: Manifest | None) -> str:
    entry = manifest.files.get(op.path) if manifest is not None else None
    if entry is not None and sha256_of(current) != entry.sha256:
        return "edited"
    same_as_templates = current == ctx.service.content_for(op, ctx.config)
    if entry is not None:
        return "ok" if same_as_templates else "outdated"
    if manifest is None:
        return "ok" if same_as_templates else "differs"
    return "untracked"


def check_files(ctx: _Context) -> list[Check]:
    manifest_error: TacError | None = None
    try:
        manifest = load_manifest(ctx.root)
    except TacError as exc:
        manifest, manifest_error = None, exc
    try:
        states = _inspect_files(ctx, manifest)
    except TacError as exc:  # a template that does not render
        return [Check("files", FAIL, f"cannot render the templates: {exc.message}", exc.hint)]

    def having(*names: str) -> list[_FileState]:
        return [s for s in states if s.state in names]

    rows = [_files_row(states, having("missing"), having("blocked"))]

    edited = [s.path for s in having("edited", "differs")]
    if not edited:
        rows.append(Check("edited", OK, "no generated file was edited"))
    elif manifest is None:
        rows.append(
            Check(
                "edited",
                WARN,
                f"{_plural(len(edited), 'generated file')} "
                f"{'differs' if len(edited) == 1 else 'differ'} from the templates (without "
                "the manifest, your edits cannot be told from older templates)",
                "nothing to do if you edited them; `tac-bootstrap render --check` lists them",
                details=tuple(edited),
            )
        )
    else:
        rows.append(
            Check(
                "edited",
                WARN,
                f"{_plural(len(edited), 'generated file')} edited since generated",
                "nothing to do if the edits are intended: `tac-bootstrap upgrade` keeps them; "
                "`tac-bootstrap render --force` regenerates them (keeping a backup)",
                details=tuple(edited),
            )
        )

    outdated = [s.path for s in having("outdated")]
    if manifest is not None:
        if outdated:
            rows.append(
                Check(
                    "outdated",
                    WARN,
                    f"{_plural(len(outdated), 'unedited file')} older than the templates or the "
                    "config",
                    "run `tac-bootstrap upgrade` to bring them up to date",
                    details=tuple(outdated),
                )
            )
        else:
            rows.append(Check("outdated", OK, "every unedited file matches the templates"))

    rows.append(_manifest_row(manifest, manifest_error, [s.path for s in having("untracked")]))
    return rows


def _files_row(
    states: list[_FileState], missing: list[_FileState], blocked: list[_FileState]
) -> Check:
    if not missing and not blocked:
        return Check("files", OK, f"all {len(states)} generated files are present")
    parts, hints = [], []
    if missing:
        parts.append(f"{len(missing)} of {len(states)} generated files missing")
        hints.append(
            "`tac-bootstrap doctor --fix` creates the missing files (and touches no other)"
        )
    if blocked:
        parts.append(f"{_plural(len(blocked), 'path')} blocked")
        hints.append("move what is in the way, then run `tac-bootstrap doctor --fix`")
    listed = [s.path for s in missing] + [f"{s.path} ({s.detail})" for s in blocked]
    return Check(
        "files",
        FAIL,
        "; ".join(parts),
        "; ".join(hints),
        fixable=bool(missing),
        details=tuple(listed),
    )


def _manifest_row(manifest: Manifest | None, error: TacError | None, untracked: list[str]) -> Check:
    if error is not None:
        return Check("manifest", FAIL, error.message, error.hint)
    if manifest is None:
        return Check(
            "manifest",
            WARN,
            f"no {MANIFEST_FILENAME}: edited files cannot be told apart from template changes",
            "run `tac-bootstrap render` to create it",
        )
    if untracked:
        return Check(
            "manifest",
            WARN,
            f"{_plural(len(untracked), 'generated file')} not recorded in {MANIFEST_FILENAME}",
            "run `tac-bootstrap render` to record them",
            details=tuple(untracked),
        )
    return Check("manifest", OK, f"{MANIFEST_FILENAME} records {len(manifest.files)} files")


def fix_files(ctx: _Context) -> list[Fixed]:
    """Create the missing generated files: a plan with only those operations, never --force."""
    full = ctx.plan()
    missing = ScaffoldPlan()
    for op in full.operations:
        try:
            path = confined_path(ctx.root, op.path)
        except TacError:
            continue  # reported as blocked; never written
        if not path.exists() and not path.is_symlink():
            missing.add(op)
    if not missing.files:
        return []
    report = PlanExecutor(ctx.service).apply(missing, ctx.config, ctx.root)
    created = tuple(r.path for r in report.results if r.status is Status.CREATE)
    if not created:
        return []
    return [Fixed("files", f"created {_plural(len(created), 'missing file')}", created)]


def _missing_generated(ctx: _Context, under: str) -> list[str]:
    """Generated files below ``under`` (relative) that do not exist; cheap (nothing rendered)."""
    prefix = under.rstrip("/") + "/"
    return [
        op.path
        for op in ctx.plan().files
        if op.path.startswith(prefix) and not (ctx.root / op.path).exists()
    ]
