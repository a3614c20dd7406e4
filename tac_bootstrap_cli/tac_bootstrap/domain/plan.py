"""The scaffold plan: every directory and file an operation would touch, built before any write.

Keeping the plan a plain value lets preview (--dry-run), apply and --check share one source
of truth about what the templates produce.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from tac_bootstrap.domain.manifest import MergeKind


class Action(str, Enum):
    MKDIR = "mkdir"
    RENDER = "render"  # source is a Jinja template
    COPY = "copy"  # source is a static file shipped with the templates
    WRITE = "write"  # content is produced in Python (the config file)


class Status(str, Enum):
    """A planned file's state against the target as it is now."""

    CREATE = "create"
    IDENTICAL = "identical"
    CONFLICT = "conflict"
    OVERWRITE = "overwrite"  # a conflict that --force resolves, keeping a backup
    MERGE = "merge"  # our part merged into the user's own file (backup kept); no --force needed
    DELETED = "deleted"  # the manifest lists it, the user deleted it: kept deleted


@dataclass(frozen=True)
class FileOperation:
    path: str  # POSIX path relative to the target directory
    action: Action
    reason: str
    source: str = ""  # template or static file name; empty for MKDIR and WRITE
    executable: bool = False
    content: str | None = None  # only for WRITE
    merge: MergeKind = MergeKind.WHOLE  # how we own it: whole, or our part of the user's file
    # The layer cannot work without it (the schema, migrations, runtime, hooks): a deleted one
    # is written again. Any other generated file the user deletes stays deleted.
    required: bool = False


@dataclass
class ScaffoldPlan:
    operations: list[FileOperation] = field(default_factory=list)

    def add(self, op: FileOperation) -> None:
        if any(existing.path == op.path for existing in self.operations):
            raise ValueError(f"plan already has an operation for {op.path}")
        self.operations.append(op)

    @property
    def directories(self) -> list[FileOperation]:
        return [op for op in self.operations if op.action is Action.MKDIR]

    @property
    def files(self) -> list[FileOperation]:
        return [op for op in self.operations if op.action is not Action.MKDIR]


@dataclass(frozen=True)
class FileResult:
    """What happened (or, in a preview, would happen) to one planned file."""

    path: str
    status: Status
    backup: str | None = None
    detail: str = ""
    pending: bool = False  # a deletion (or merge) the manifest does not record yet


@dataclass
class ApplyReport:
    target: str
    dry_run: bool
    results: list[FileResult] = field(default_factory=list)
    proposals: list[str] = field(default_factory=list)  # <file>.tac-bootstrap written
    cleaned: list[str] = field(default_factory=list)  # our proposals removed: file merged
    kept_proposals: list[str] = field(default_factory=list)  # merged, but you edited these
    notes: list[str] = field(default_factory=list)  # "<path>: <entry> not added: your choice"

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status is status)

    @property
    def conflicts(self) -> list[FileResult]:
        return [r for r in self.results if r.status is Status.CONFLICT]

    @property
    def backups(self) -> list[FileResult]:
        return [r for r in self.results if r.backup]

    def summary(self) -> dict[str, int]:
        return {status.value: self.count(status) for status in Status}

    def to_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "dry_run": self.dry_run,
            "summary": self.summary(),
            "files": [
                {
                    "path": r.path,
                    "status": r.status.value,
                    **({"backup": r.backup} if r.backup else {}),
                    **({"detail": r.detail} if r.detail else {}),
                    **({"pending": True} if r.pending else {}),
                }
                for r in self.results
            ],
            **({"proposals": self.proposals} if self.proposals else {}),
            **({"cleaned_proposals": self.cleaned} if self.cleaned else {}),
            **({"kept_proposals": self.kept_proposals} if self.kept_proposals else {}),
            **({"notes": self.notes} if self.notes else {}),
        }
