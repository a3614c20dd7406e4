"""The Python API: every `tac-bootstrap` command as a function, with the CLI's names.

    from tac_bootstrap.api import init, render, add_agentic, upgrade, doctor, remove, db

    report = init("shop", output_dir=tmp, language="python", git=False)
    assert report.ok, report.to_dict()
    assert render(tmp / "shop", check=True).ok
    db.status(tmp / "shop").status.schema_version   # `tac-bootstrap db status`

The CLI is a thin layer over the same application services (like sqlite-utils); these
functions never prompt (pass the answers as parameters, as the CLI's ``--yes`` does), never
print and never exit. Each returns a report whose ``ok`` is the CLI's exit status 0 or 1 and
whose ``to_dict()`` is the document the command's ``--json`` prints. A failure raises a
``tac_bootstrap.domain.errors.TacError`` (``UsageError`` for bad arguments, exit code 2 in the
CLI; ``OperationError`` otherwise), an OSError included. Warnings are in ``report.warnings``.
Parameter names follow the options (``--no-git`` is ``git=False``; ``--dry-run`` ``dry_run``);
The `db` group is the module ``tac_bootstrap.api.db`` (``db.status()``, ``db.prune()``...).
tests/test_api_parity.py keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tac_bootstrap.api import db as db  # `tac-bootstrap db ...`: cheap, like this module
from tac_bootstrap.application.os_errors import tac_errors

if TYPE_CHECKING:
    from tac_bootstrap.application.add_agentic_service import AddAgenticReport
    from tac_bootstrap.application.doctor import DoctorReport
    from tac_bootstrap.application.init_service import InitReport
    from tac_bootstrap.application.remove_service import RemoveReport
    from tac_bootstrap.application.render_service import RenderReport
    from tac_bootstrap.application.runs_clean import CleanReport
    from tac_bootstrap.application.runs_service import RunsReport
    from tac_bootstrap.application.upgrade_service import UpgradeReport
    from tac_bootstrap.dashboard.server import Dashboard
    from tac_bootstrap.domain.config import CommandsSection

__all__ = [
    "add_agentic",
    "clean",
    "dashboard",
    "db",
    "doctor",
    "init",
    "remove",
    "render",
    "runs",
    "upgrade",
]

PathLike = str | Path


def _path(value: PathLike | None) -> Path | None:
    return None if value is None else Path(value)


def init(
    name: str,
    output_dir: PathLike = ".",
    *,
    language: str | None = None,
    framework: str | None = None,
    package_manager: str | None = None,
    git: bool = True,
    dry_run: bool = False,
    force: bool = False,
) -> InitReport:
    """`tac-bootstrap init NAME`: create OUTPUT_DIR/NAME with its config file and layer.

    Unset stack values take the CLI's ``--yes`` defaults (python, none, its first manager).
    """
    from tac_bootstrap.application.init_service import apply_init, check_init, prepare_init

    with tac_errors({"--output-dir": Path(output_dir)}):
        checked = check_init(name, Path(output_dir), language, package_manager)
        prepared = prepare_init(checked, framework=framework, git=git)
        report = apply_init(prepared, dry_run=dry_run, force=force)
    return report


def render(
    path: PathLike | None = None,
    *,
    check: bool = False,
    force: bool = False,
    dry_run: bool = False,
    restore: Sequence[str] | None = None,
) -> RenderReport:
    """`tac-bootstrap render [PATH]`: re-render the layer (``check``: compare, write nothing;
    ``restore``: generated files you deleted, written again).

    ``path`` None is the nearest project at or above the current directory, as in the CLI.
    """
    from tac_bootstrap.application.render_service import apply_render, prepare_render

    wanted = list(restore or [])
    with tac_errors({"PATH": _path(path)}):
        prepared = prepare_render(_path(path), check=check, force=force, restore=wanted)
        report = apply_render(prepared, check=check, force=force, dry_run=dry_run, restore=wanted)
    return report


def add_agentic(
    path: PathLike = ".",
    *,
    dry_run: bool = False,
    language: str | None = None,
    framework: str | None = None,
    package_manager: str | None = None,
    commands: CommandsSection | None = None,
    part: str | None = None,
) -> AddAgenticReport:
    """`tac-bootstrap add-agentic [PATH] --yes`: add the layer to an existing repository.

    The stack is detected; ``language``, ``framework``, ``package_manager`` and ``commands``
    replace what was detected (what a person answers at the CLI's prompts). ``part``: in a
    monorepo, only that part (``--part``); ``report.inspection.workspace.parts`` lists them.
    """
    from tac_bootstrap.application.add_agentic_service import (
        apply_add_agentic,
        inspect_repository,
        prepare_add_agentic,
    )
    from tac_bootstrap.application.layer_setup import parse_choice
    from tac_bootstrap.domain.config import Language, PackageManager

    with tac_errors({"PATH": Path(path)}):
        inspection = inspect_repository(Path(path), dry_run=dry_run, part=part)
        prepared = prepare_add_agentic(
            inspection,
            language=parse_choice(Language, language, "language") if language else None,
            framework=framework,
            package_manager=(
                parse_choice(PackageManager, package_manager, "package_manager")
                if package_manager
                else None
            ),
            commands=commands,
        )
        report = apply_add_agentic(prepared, dry_run=dry_run)
    return report


def upgrade(path: PathLike | None = None, *, dry_run: bool = False) -> UpgradeReport:
    """`tac-bootstrap upgrade [PATH] --yes`: bring the layer up to date, keeping your edits.

    ``report.plan.items`` says what happened to each file (``item.diff()`` for a dry run).
    """
    from tac_bootstrap.application.upgrade_service import (
        apply_upgrade,
        plan_upgrade,
        prepare_upgrade,
    )

    with tac_errors({"PATH": _path(path)}):
        prepared = prepare_upgrade(_path(path))
        report = apply_upgrade(prepared, plan_upgrade(prepared), dry_run=dry_run)
    return report


def doctor(path: PathLike | None = None, *, fix: bool = False) -> DoctorReport:
    """`tac-bootstrap doctor [PATH]`: check the layer (``fix``: fix what is safe first)."""
    from tac_bootstrap.application.doctor_service import doctor_project

    with tac_errors({"PATH": _path(path)}):
        return doctor_project(_path(path), fix=fix)


def remove(
    path: PathLike = ".",
    *,
    dry_run: bool = False,
    force: bool = False,
    purge_database: bool = False,
) -> RemoveReport:
    """`tac-bootstrap remove [PATH] --yes`: take the layer out, leaving the repository as it
    was before add-agentic for every file you did not edit.

    ``force``: also files of the layer you edited (backed up); ``purge_database``: also the
    SQLite database and run logs (backed up). ``report.ok`` is False when edited files were
    kept (``report.plan.kept``); ``report.backup`` is where the backups are, if any.
    """
    from tac_bootstrap.application.remove_service import apply_remove, plan_remove, prepare_remove

    with tac_errors({"PATH": Path(path)}):
        prepared = prepare_remove(Path(path))
        plan = plan_remove(prepared, force=force, purge_database=purge_database)
        report = apply_remove(prepared, plan, dry_run=dry_run)
    return report


def runs(project: PathLike | None = None, *, status: str | None = None) -> RunsReport:
    """`tac-bootstrap runs`: the workflow runs, newest first (``report.runs``), with their
    worktree, branch, status ("stale": running, but crashed) and cost."""
    from tac_bootstrap.application.runs_service import list_runs

    with tac_errors({"--project": _path(project)}):
        return list_runs(_path(project), status=status)


def clean(
    adw_ids: Sequence[str] | None = None,
    project: PathLike | None = None,
    *,
    all_finished: bool = False,
    force: bool = False,
    dry_run: bool = False,
) -> CleanReport:
    """`tac-bootstrap clean [ADW_ID...] --yes`: remove finished runs' worktrees (no adw_id:
    all of them). ``report.ok`` is False when one was kept (uncommitted work or a stale run,
    without ``force``); with ``force`` the work is saved first (``item.patch``)."""
    from tac_bootstrap.application.runs_clean import clean_runs

    with tac_errors({"--project": _path(project)}):
        return clean_runs(
            _path(project),
            list(adw_ids or []),
            all_finished=all_finished,
            force=force,
            dry_run=dry_run,
        )


def dashboard(
    project: PathLike | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    open: bool = False,
    token: str | None = None,
    allow_actions: bool = False,
) -> Dashboard:
    """`tac-bootstrap dashboard`, prepared but not yet serving: the project's database open
    read-only, the guarded ASGI app (``.app``, for any ASGI server or test client) and its
    socket bound (``.url``; ``port=0`` picks a free one). ``.serve()`` serves until
    interrupted (opening a browser when ``open``). A host other than 127.0.0.1, ::1 or
    localhost gets a token (``.token``: ``token``, else TAC_DASHBOARD_TOKEN, else a new one).
    Needs the extra ``tac-bootstrap[dashboard]``."""
    from tac_bootstrap.dashboard import EXTRA_HINT, missing_dependencies
    from tac_bootstrap.domain.errors import UsageError

    missing = missing_dependencies()
    if missing:
        raise UsageError(f"the dashboard needs {' and '.join(missing)}", hint=EXTRA_HINT)
    from tac_bootstrap.dashboard.server import prepare

    with tac_errors({"--project": _path(project)}):
        prepared = prepare(
            _path(project), host=host, port=port, token=token, allow_actions=allow_actions
        )
    prepared.open_browser = open
    return prepared
