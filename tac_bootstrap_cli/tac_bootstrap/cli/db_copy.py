"""`tac-bootstrap db copy SOURCE DEST`: the command, registered on db_app in db_app.py.

Like db_app.py this module imports only typer at start-up; rich and the runtime are imported
when the command runs. Its options are declared here (same texts as db_app's) so that this
module never imports db_app, which imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tac_bootstrap.cli import params

if TYPE_CHECKING:
    from tac_bootstrap.application.database_copy import CopyReport
    from tac_bootstrap.cli.output import Output


def copy(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="Database to read: path or URL.")],
    dest: Annotated[str, typer.Argument(metavar="DEST", help="Database to fill: path or URL.")],
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            parser=params.count(1, params.MAX_BATCH),
            metavar="N",
            help=f"Rows per DEST transaction (1 to {params.MAX_BATCH:,}).",
        ),
    ] = 10_000,
    project: Annotated[
        Path | None,
        typer.Option(
            "--project",
            "-P",
            help="Project directory (default: the nearest tac_bootstrap.yml above the "
            "current dir); its migrations shape DEST.",
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Copy an orchestrator database to another one, e.g. SQLite -> PostgreSQL and back.

    SOURCE and DEST are file paths (relative to the current directory), sqlite:///FILE or
    postgresql:// URLs. SOURCE is read as it is (migrate it first if needed); DEST is created
    (a new SQLite file) and migrated with the project's schema. Rows DEST already has (same id)
    are left alone, so an interrupted copy is resumed by running it again. Row counts, token and
    cost sums are verified at the end.
    """
    from tac_bootstrap.application import database_copy
    from tac_bootstrap.cli.db_output import progress_bar
    from tac_bootstrap.cli.output import Output

    out = Output(json_output)
    with out.handling_errors({"--project": project, "SOURCE": _path(source), "DEST": _path(dest)}):
        plan = database_copy.plan(source, dest, project)
        out.info(
            f"copying {plan.source.display} ({plan.source.backend}) -> "
            f"{plan.dest.display} ({plan.dest.backend})"
        )
        with progress_bar(out, "copy") as progress:
            report = database_copy.copy_database(plan, batch_size=batch_size, progress=progress)
        _show(out, report)
        failure = report.verification_error()
        if failure is not None:
            out.error(failure)
        if out.json_mode:
            out.emit_json(report.to_dict())
        if failure is not None:
            raise typer.Exit(failure.exit_code)


def _path(argument: str) -> Path | None:
    """A file argument for the error boundary; never a URL or a keyword string, which may hold
    a password that an error line must not show."""
    return None if "://" in argument or "=" in argument else Path(argument)


def _show(out: Output, report: CopyReport) -> None:
    """One row per table and one per checked sum, then a line with the totals and speed."""
    from rich.table import Table

    tables = Table(title="Rows")
    for column in ("table", "source rows", "copied", "already there", "dest rows"):
        tables.add_column(column, justify="left" if column == "table" else "right")
    for t in report.tables:
        tables.add_row(
            t.table,
            *(f"{n:,}" for n in (t.source_rows, t.copied, t.already_there, t.dest_rows)),
        )
    out.console.print(tables)
    sums = Table(title="Sums")
    for column in ("column", "source", "dest", "equal"):
        sums.add_column(column, justify="left" if column == "column" else "right")
    for check in report.sums:
        sums.add_row(
            f"sum({check.name})",
            repr(check.source),
            repr(check.dest),
            "yes" if check.equal else "NO",
        )
    out.console.print(sums)
    # The time includes opening, migrating and checking: a rate only means something when large.
    rate = f" ({report.copied / report.seconds:,.0f} rows/s)" if report.copied >= 10_000 else ""
    out.info(
        f"copied {report.copied:,} rows, {report.already_there:,} already there, "
        f"in {report.seconds:.1f} s{rate}; schema version {report.schema_version}"
        + (f"; DEST migrated: {', '.join(report.dest_migrated)}" if report.dest_migrated else "")
    )
    if not report.problems:
        out.info("verified: row counts and token sums equal, cost sums equal within 1e-9")
