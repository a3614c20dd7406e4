"""`doctor`: find the project and run its checks (the checks themselves: application/doctor)."""

from __future__ import annotations

from pathlib import Path

from tac_bootstrap.application.doctor import DoctorReport, run_doctor
from tac_bootstrap.application.project_lookup import project_root


def doctor_project(path: Path | None, *, fix: bool = False) -> DoctorReport:
    """The report of every check on PATH (or the nearest project above the current
    directory). A missing or invalid config is raised (ConfigError, exit 2) like render's."""
    report = run_doctor(project_root(path), fix=fix)
    if report.config_error is not None:
        raise report.config_error
    return report
