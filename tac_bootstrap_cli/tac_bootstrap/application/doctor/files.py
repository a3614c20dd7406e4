"""Generated files and the manifest: which are missing, edited, outdated or not merged.

The fix creates missing files, merges the layer's part into shared files (settings.json,
CLAUDE.md: the user's content is kept, with a backup) and records deletions, so an edited file
is never overwritten; it runs first because the later sections need those files (migrations,
schema). A generated file the user deleted stays deleted (the same rule as render and upgrade).
"""

from __future__ import annotations

from dataclasses import dataclass

from tac_bootstrap.application.deleted_files import deleted_detail, lost_detail, never_committed
from tac_bootstrap.application.doctor.report import FAIL, OK, WARN, Check, Fixed, _Context, _plural
from tac_bootstrap.application.plan_executor import PlanExecutor
from tac_bootstrap.application.shared_files import evaluate_shared_in
from tac_bootstrap.domain.errors import TacError
from tac_bootstrap.domain.manifest import (
    MANIFEST_FILENAME,
    Manifest,
    ManifestEntry,
    MergeKind,
    sha256_of,
)
from tac_bootstrap.domain.plan import FileOperation, ScaffoldPlan, Status
from tac_bootstrap.infrastructure.filesystem import confined_path, in_the_way
from tac_bootstrap.infrastructure.manifest_store import load_manifest


@dataclass(frozen=True)
class _FileState:
    path: str
    # ok, missing, blocked, edited, outdated, untracked, differs, deleted, deleted-unrecorded,
    # unmerged (our part of a shared file missing or old), unmergeable
    state: str
    detail: str = ""


def _inspect_files(ctx: _Context, manifest: Manifest | None) -> tuple[list[_FileState], bool]:
    """Each generated file's state, and whether git was asked (about files deleted but not
    recorded: committed once, or never?)."""
    states: list[_FileState] = []
    for op in ctx.plan().files:
        try:
            path = confined_path(ctx.root, op.path)
        except TacError as exc:
            states.append(_FileState(op.path, "blocked", exc.message))
            continue
        entry = manifest.files.get(op.path) if manifest is not None else None
        if not path.exists() and not path.is_symlink():
            if entry is None or op.required:
                states.append(_FileState(op.path, "missing"))
            else:
                recorded = entry.deleted
                state = "deleted" if recorded else "deleted-unrecorded"
                states.append(_FileState(op.path, state, deleted_detail(op.path, recorded)))
            continue
        obstacle = in_the_way(path)
        if obstacle is not None:
            states.append(_FileState(op.path, "blocked", obstacle))
            continue
        try:
            current = path.read_bytes()
        except OSError as exc:
            states.append(_FileState(op.path, "blocked", f"cannot be read ({exc.strerror})"))
            continue
        if op.merge is not MergeKind.WHOLE:
            states.append(_shared_state(ctx, op, current, entry))
            continue
        states.append(_FileState(op.path, _classify(ctx, op, current, manifest)))
    unrecorded = [s.path for s in states if s.state == "deleted-unrecorded"]
    if not unrecorded:
        return states, False
    lost = never_committed(ctx.root, unrecorded)
    return [
        _FileState(s.path, "missing", lost_detail(lost[s.path])) if s.path in lost else s
        for s in states
    ], True


def _shared_state(
    ctx: _Context, op: FileOperation, current: bytes, entry: ManifestEntry | None
) -> _FileState:
    """A file we share with the user: is our part in it, up to date? (Its edits are theirs.)"""
    ours = ctx.service.content_for(op, ctx.config)
    outcome = evaluate_shared_in(ctx.root, op, current, ours, entry)
    if outcome.status is Status.IDENTICAL:
        return _FileState(op.path, "ok")
    if outcome.status is Status.MERGE:
        # Merged before, our part is only older than the config or templates: like any
        # outdated file. Never merged: the hooks are not wired, nothing is recorded.
        state = "outdated" if entry is not None else "unmerged"
        return _FileState(op.path, state, outcome.detail)
    return _FileState(op.path, "unmergeable", outcome.detail)


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


def check_files(ctx: _Context) -> tuple[list[Check], bool]:
    """The section's rows, and whether git decided them (then they are not to be kept)."""
    manifest_error: TacError | None = None
    try:
        manifest = load_manifest(ctx.root)
    except TacError as exc:
        manifest, manifest_error = None, exc
    try:
        states, asked_git = _inspect_files(ctx, manifest)
    except TacError as exc:  # a template that does not render
        failed = Check("files", FAIL, f"cannot render the templates: {exc.message}", exc.hint)
        return [failed], False

    def having(*names: str) -> list[_FileState]:
        return [s for s in states if s.state in names]

    rows = [_files_row(states, having("missing"), having("blocked"), having("deleted"))]
    rows += _shared_rows(having("unmerged"), having("unmergeable"))
    unrecorded = having("deleted-unrecorded")
    if unrecorded:
        rows.append(
            Check(
                "deleted",
                FAIL,
                f"{_plural(len(unrecorded), 'generated file')} deleted by you, not yet recorded "
                f"in {MANIFEST_FILENAME} (a fresh clone cannot tell a deletion from a file "
                "never committed)",
                "`tac-bootstrap doctor --fix` (or `render`) records it, kept deleted; "
                "`tac-bootstrap render --restore FILE` brings it back",
                fixable=True,
                details=tuple(s.path for s in unrecorded),
            )
        )

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
    return rows, asked_git


def _shared_rows(unmerged: list[_FileState], unmergeable: list[_FileState]) -> list[Check]:
    """Files the layer shares with the user (settings.json: without our hooks nothing is
    recorded)."""
    rows = []
    if unmerged:
        rows.append(
            Check(
                "shared",
                FAIL,
                f"the layer's part is missing or outdated in {_listed_paths(unmerged)}",
                "`tac-bootstrap doctor --fix` (or `render`) merges it in, keeping everything of "
                "yours (a backup is kept)",
                fixable=True,
                details=tuple(s.path for s in unmerged),
            )
        )
    for state in unmergeable:
        rows.append(Check("shared", FAIL, f"{state.path}: {state.detail}"))
    return rows


def _listed_paths(states: list[_FileState]) -> str:
    return ", ".join(s.path for s in states)


def _files_row(
    states: list[_FileState],
    missing: list[_FileState],
    blocked: list[_FileState],
    deleted: list[_FileState],
) -> Check:
    if not missing and not blocked:
        kept = f" ({len(deleted)} deleted by you, kept deleted)" if deleted else ""
        present = len(states) - len(deleted)
        return Check(
            "files",
            OK,
            f"all {present} generated files are present{kept}",
            details=tuple(s.path for s in deleted),
        )
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
    """Create the missing generated files, merge shared ones, record deletions: a plan with
    only those operations, never --force (the executor keeps deleted files deleted)."""
    full = ctx.plan()
    chosen = ScaffoldPlan()
    for op in full.operations:
        try:
            path = confined_path(ctx.root, op.path)
        except TacError:
            continue  # reported as blocked; never written
        if (not path.exists() and not path.is_symlink()) or op.merge is not MergeKind.WHOLE:
            chosen.add(op)
    if not chosen.files:
        return []
    report = PlanExecutor(ctx.service).apply(chosen, ctx.config, ctx.root)

    def having(status: Status, *, pending: bool = False) -> tuple[str, ...]:
        chosen = [r for r in report.results if r.status is status]
        return tuple(r.path for r in chosen if r.pending or not pending)

    fixed = []
    if created := having(Status.CREATE):
        fixed.append(Fixed("files", f"created {_plural(len(created), 'missing file')}", created))
    if merged := having(Status.MERGE):
        fixed.append(Fixed("shared", "merged the layer's part into your files", merged))
    if recorded := having(Status.DELETED, pending=True):
        message = f"recorded {_plural(len(recorded), 'deletion')} in {MANIFEST_FILENAME}"
        fixed.append(Fixed("deleted", message, recorded))
    return fixed
