"""`tac-bootstrap db ...`: inspect and maintain the orchestrator database.

Like app.py this module imports only typer; command bodies live in db_commands.py
and db_reports.py.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from tac_bootstrap.cli import params
from tac_bootstrap.cli.usage import PlainCommand, PlainGroup

db_app = typer.Typer(
    name="db",
    cls=PlainGroup,
    help=(
        "Inspect and maintain the orchestrator database: a SQLite file or a PostgreSQL "
        "database (TAC_ORCHESTRATOR_DB or orchestrator.database: a file path, sqlite:///FILE "
        "or postgresql://USER@HOST:PORT/DBNAME)."
    ),
    rich_markup_mode=None,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

Project = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-P",
        help="Project directory (default: the nearest tac_bootstrap.yml above the current dir).",
    ),
]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")]


@db_app.command(
    "init", cls=PlainCommand, short_help="Create the database and apply all migrations."
)
def init_db(project: Project = None, json_output: JsonOutput = False) -> None:
    """Create the database (SQLite file; on PostgreSQL the tables) and apply all migrations."""
    from tac_bootstrap.cli import db_commands

    db_commands.init_db(project, json_output)


@db_app.command(cls=PlainCommand, short_help="Apply pending migrations.")
def migrate(
    project: Project = None, dry_run: DryRun = False, json_output: JsonOutput = False
) -> None:
    """Apply pending migrations, backing an existing SQLite database up first.

    On PostgreSQL there is no automatic backup (each migration is one transaction); run
    pg_dump first if you want one."""
    from tac_bootstrap.cli import db_commands

    db_commands.migrate(project, dry_run, json_output)


@db_app.command(cls=PlainCommand, short_help="Backend, location, schema version and row counts.")
def status(project: Project = None, json_output: JsonOutput = False) -> None:
    """Backend, location (a URL's password masked), server version, size, schema version,
    pending migrations and row counts."""
    from tac_bootstrap.cli import db_commands

    db_commands.status(project, json_output)


@db_app.command(cls=PlainCommand)
def stats(
    project: Project = None,
    by: Annotated[
        str, typer.Option("--by", "-b", help="Group by session, agent, model or day.")
    ] = "session",
    session: Annotated[
        str | None, typer.Option("--session", "-s", help="Only this session.")
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """Cost and token rollups."""
    from tac_bootstrap.cli import db_reports

    db_reports.stats(project, by, session, json_output)


@db_app.command(
    "import-transcripts",
    cls=PlainCommand,
    short_help="Record the usage of past Claude Code sessions.",
)
def import_transcripts(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="PATHS",
            help="Transcript files (.jsonl) or folders of them (searched recursively). "
            "Default: this project's sessions under ~/.claude/projects/.",
            show_default=False,
        ),
    ] = None,
    project: Project = None,
    since: Annotated[
        float | None,
        typer.Option(
            "--since",
            parser=params.days(),
            help=f"Only transcripts changed in the last DAYS days (0 to {params.MAX_DAYS}).",
            metavar="DAYS",
        ),
    ] = None,
    dry_run: DryRun = False,
    json_output: JsonOutput = False,
) -> None:
    """Record the usage of past Claude Code sessions from their transcripts.

    Each assistant message counts once, by model, linked to its session (a workflow
    prompt's agent, or the session's interactive agent); running it again adds nothing.
    Cost is computed with the CLI's own rates; a model without a price costs 0 and is
    listed. The project's hooks already do this on Stop and SessionEnd (SQLite); this is for
    sessions before them, PostgreSQL databases and sessions run elsewhere."""
    from tac_bootstrap.cli import db_reports

    db_reports.import_transcripts(project, paths or [], since, dry_run, json_output)


@db_app.command(cls=PlainCommand)
def logs(
    project: Project = None,
    agent: Annotated[str | None, typer.Option("--agent", "-a", help="Only this agent id.")] = None,
    level: Annotated[
        str | None, typer.Option("--level", help="Minimum level: DEBUG, INFO, WARNING...")
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            parser=params.since,
            metavar="WHEN",
            help=f"30m, 2h, 7d (at most {params.MAX_DAYS}d), or an ISO 8601 timestamp.",
        ),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            "-n",
            parser=params.count(1, params.MAX_LIMIT),
            metavar="N",
            help=f"At most N lines (1 to {params.MAX_LIMIT:,}).",
        ),
    ] = 50,
    json_output: JsonOutput = False,
) -> None:
    """Recent agent and system logs, newest first."""
    from tac_bootstrap.cli import db_reports

    db_reports.logs(project, agent, level, since, limit, json_output)


@db_app.command(
    cls=PlainCommand, short_help="Delete logs, finished agents and finished runs older than N days."
)
def prune(
    older_than: Annotated[
        float,
        typer.Option(
            "--older-than",
            parser=params.days(),
            metavar="DAYS",
            help=f"Age in days (0 to {params.MAX_DAYS}, decimals allowed).",
            show_default=False,
        ),
    ],
    project: Project = None,
    dry_run: DryRun = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_output: JsonOutput = False,
) -> None:
    """Delete logs, finished agents (with their prompts and logs) and finished workflow runs
    (with their checks) older than N days, and webhook deliveries older than N but at least 7
    days. Queued, running and paused runs are never deleted."""
    from tac_bootstrap.cli import db_commands

    db_commands.prune(project, older_than, dry_run, yes, json_output)


@db_app.command(cls=PlainCommand, short_help="Back a SQLite database up to a new file.")
def backup(
    destination: Annotated[Path, typer.Argument(metavar="DEST", help="New backup file.")],
    project: Project = None,
    json_output: JsonOutput = False,
) -> None:
    """Online backup of a SQLite database to a new file (it stays usable meanwhile).

    PostgreSQL databases are backed up with pg_dump; on one this command prints the pg_dump
    and pg_restore lines to run."""
    from tac_bootstrap.cli import db_commands

    db_commands.backup(project, destination, json_output)


@db_app.command(cls=PlainCommand, short_help="Export every table as JSON or CSV.")
def export(
    destination: Annotated[
        Path, typer.Argument(metavar="DEST", help="JSON file, or directory for CSV files.")
    ],
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="json or csv.")] = "json",
    project: Project = None,
    json_output: JsonOutput = False,
) -> None:
    """Export every table as JSON (one file) or CSV (one file per table)."""
    from tac_bootstrap.cli import db_commands

    db_commands.export(project, destination, fmt, json_output)


# `db copy` is declared in db_copy.py (also typer-only at start-up).
from tac_bootstrap.cli.db_copy import copy as copy_command  # noqa: E402

db_app.command(
    "copy", cls=PlainCommand, short_help="Copy the database to another one (SQLite, PostgreSQL)."
)(copy_command)
