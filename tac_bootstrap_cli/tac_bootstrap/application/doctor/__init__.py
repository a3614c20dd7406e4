"""`tac-bootstrap doctor`: check a project's agentic layer and fix what is safe to fix.

Each check is one function returning one or more ``Check`` rows (ok, warn or fail, with a
message and a hint saying how to fix it). ``run_doctor`` runs them in order; with ``fix`` it
first lets each section fix its own fixable failures, in the same order, each looking at the
project as the previous fixes left it, and then runs every check again, so the report always
describes the project as it is now.

What --fix may do, and nothing else:

  files       create generated files that are missing (an existing file is never touched)
  migrations  apply pending migrations, after backing a SQLite database up (PostgreSQL: no
              file backup; each migration is one transaction, and the fix says so)
  gitignore   append to the project's root .gitignore the SQLite database paths (a
              PostgreSQL database has nothing to ignore) and the negations that re-include
              generated files git ignores (they would be in no commit)

An invalid config stops everything after the first row: the other checks need the config.
"""

from __future__ import annotations

import sqlite3
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from tac_bootstrap.application.doctor.config import check_config
from tac_bootstrap.application.doctor.database import check_database, fix_database
from tac_bootstrap.application.doctor.files_memo import check_files, fix_files
from tac_bootstrap.application.doctor.gitignore import (
    check_gitignore,
    fix_gitignore,
    gitignore_ignores,
)
from tac_bootstrap.application.doctor.node_checks import check_node_checks
from tac_bootstrap.application.doctor.project_checks import check_project_checks
from tac_bootstrap.application.doctor.report import (
    FAIL,
    Check,
    CheckFn,
    CheckStatus,
    DoctorReport,
    Fixed,
    FixFn,
    _Context,
)
from tac_bootstrap.application.doctor.schema import check_schema
from tac_bootstrap.application.doctor.tools import check_agent_cli, check_git, check_python
from tac_bootstrap.domain.errors import TacError

__all__ = [
    "SECTIONS",
    "Check",
    "CheckStatus",
    "DoctorReport",
    "Fixed",
    "Section",
    "gitignore_ignores",
    "run_doctor",
]


@dataclass(frozen=True)
class Section:
    name: str  # the row reported if the check itself breaks
    check: CheckFn
    fix: FixFn | None = None

    def run(self, ctx: _Context) -> list[Check]:
        try:
            return self.check(ctx)
        except _UNEXPECTED as exc:  # a hung git, an unreadable directory: a row, not a traceback
            return [Check(self.name, FAIL, f"the check could not run: {exc}")]


_UNEXPECTED = (TacError, OSError, sqlite3.Error, subprocess.SubprocessError, UnicodeError)

# In order: a fix may rely on the ones before it (migrations need their files restored).
SECTIONS: tuple[Section, ...] = (
    Section("files", check_files, fix_files),
    Section("schema", check_schema),
    Section("database", check_database, fix_database),
    Section("gitignore", check_gitignore, fix_gitignore),
    Section("project checks", check_project_checks),
    Section("node checks", check_node_checks),
    Section("git", check_git),
    Section("python", check_python),
    Section("agent CLI", check_agent_cli),
)


def run_doctor(root: Path, fix: bool = False) -> DoctorReport:
    """Run every check (after fixing what is safe when ``fix``); the report is the end state."""
    config_row, loaded, config_error = check_config(root)
    report = DoctorReport(root, [config_row], config_error=config_error)
    if loaded is None:
        return report
    ctx = _Context(root, *loaded)
    failed_fixes: dict[str, str] = {}
    if fix:
        for section in SECTIONS:
            if section.fix is None:
                continue
            rows = section.run(ctx)
            if not any(row.status is FAIL and row.fixable for row in rows):
                continue
            try:
                report.fixed.extend(section.fix(ctx))
            except _UNEXPECTED as exc:
                for row in rows:
                    failed_fixes[row.name] = str(exc)
    for section in SECTIONS:
        for row in section.run(ctx):
            error = failed_fixes.get(row.name)
            if error and row.status is FAIL:
                row = replace(row, message=f"{row.message} (--fix failed: {error})")
            report.checks.append(row)
    return report
