"""What `tac-bootstrap db copy` reports: rows per table, the sums it compared, what differs.

Row counts and token sums must be equal, cost sums equal within 1e-9 (SQLite adds REAL
floats, PostgreSQL exact NUMERIC).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tac_bootstrap.domain.errors import OperationError

COST_TOLERANCE = 1e-9


@dataclass
class TableCopy:
    """One table's part of the copy; `copied + already_there == source_rows` when done."""

    table: str
    source_rows: int
    copied: int = 0
    already_there: int = 0
    dest_rows: int = 0


@dataclass(frozen=True)
class SumCheck:
    """A column sum in SOURCE and DEST; tokens must be equal, costs equal within 1e-9."""

    table: str
    column: str
    source: float | int
    dest: float | int

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"

    @property
    def equal(self) -> bool:
        if isinstance(self.source, int) and isinstance(self.dest, int):
            return self.source == self.dest
        return math.isclose(self.source, self.dest, rel_tol=COST_TOLERANCE, abs_tol=COST_TOLERANCE)


@dataclass
class CopyReport:
    source: str  # where SOURCE is, password masked
    dest: str
    source_backend: str
    dest_backend: str
    schema_version: int = 0
    dest_migrated: list[str] = field(default_factory=list)
    tables: list[TableCopy] = field(default_factory=list)
    sums: list[SumCheck] = field(default_factory=list)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def copied(self) -> int:
        return sum(t.copied for t in self.tables)

    @property
    def already_there(self) -> int:
        return sum(t.already_there for t in self.tables)

    @property
    def ok(self) -> bool:
        """False when DEST differs from SOURCE after the copy (the CLI exits 1)."""
        return not self.problems

    def verification_error(self) -> OperationError | None:
        """The error the CLI prints (and exits 1 with) when the verification failed."""
        if not self.problems:
            return None
        return OperationError(
            "verification failed: " + "; ".join(self.problems),
            hint="DEST differs from SOURCE; copy into an empty database",
        )

    def to_dict(self) -> dict[str, Any]:
        """The document `db copy --json` prints, with the error keys when verification failed."""
        document = self.to_json()
        failure = self.verification_error()
        if failure is not None:
            document.update(
                ok=False, command="db copy", error=str(failure), exit_code=failure.exit_code
            )
        return document

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": not self.problems,
            "source": {"location": self.source, "backend": self.source_backend},
            "dest": {
                "location": self.dest,
                "backend": self.dest_backend,
                "migrations_applied": self.dest_migrated,
            },
            "schema_version": self.schema_version,
            "tables": {
                t.table: {
                    "source_rows": t.source_rows,
                    "copied": t.copied,
                    "already_there": t.already_there,
                    "dest_rows": t.dest_rows,
                }
                for t in self.tables
            },
            "sums": {
                s.name: {"source": s.source, "dest": s.dest, "equal": s.equal} for s in self.sums
            },
            "copied": self.copied,
            "already_there": self.already_there,
            "seconds": round(self.seconds, 3),
            "problems": self.problems,
        }


def split_name(name: str) -> tuple[str, str]:
    table, _, column = name.partition(".")
    return table, column


def verify(report: CopyReport) -> list[str]:
    """What makes DEST differ from SOURCE's snapshot (empty: the copy is complete)."""
    problems = []
    for table in report.tables:
        if table.dest_rows > table.source_rows:
            problems.append(
                f"DEST has {table.dest_rows - table.source_rows:,} row(s) in {table.table} "
                "that SOURCE does not have"
            )
        elif table.dest_rows < table.source_rows:
            problems.append(
                f"DEST lacks {table.source_rows - table.dest_rows:,} row(s) of {table.table} "
                "(deleted in DEST during the copy?)"
            )
    for check in report.sums:
        if not check.equal:
            problems.append(
                f"sum({check.name}) differs: SOURCE {check.source!r}, DEST {check.dest!r}"
            )
    return problems
