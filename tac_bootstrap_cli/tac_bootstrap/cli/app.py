"""The `tac-bootstrap` command line.

Start-up time matters (`--help` is run constantly by people and CI), so this module imports
only typer; each command imports jinja2, rich and pydantic when it actually runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tac_bootstrap import __version__
from tac_bootstrap.cli.boundary import BoundaryGroup
from tac_bootstrap.cli.db_app import db_app
from tac_bootstrap.cli.lazy_commands import LazyTyper
from tac_bootstrap.cli.usage import PlainCommand

# Plain (click) help instead of rich panels: rich's help formatter costs ~70 ms per start.
# LazyTyper: only the command the command line names is built (cli/lazy_commands.py).
app = LazyTyper(
    name="tac-bootstrap",
    cls=BoundaryGroup,  # one error boundary for every command, parsing included
    help="Give a repository an agentic layer: Claude Code config, ADW workflows and an "
    "orchestrator database.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,  # help on stdout, exit 0 (boundary.guarded)
    add_completion=True,  # --install-completion / --show-completion; costs ~1 ms at start-up
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"tac-bootstrap {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_print_version, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Give a repository an agentic layer: Claude Code config, ADW workflows and an
    orchestrator database."""


def _language_help() -> str:
    """The stacks registry, read when typer builds `init` (annotations are evaluated then),
    not on every command's start-up."""
    from tac_bootstrap.domain.stacks import language_help

    return language_help()


@app.command(cls=PlainCommand)
def version() -> None:
    """Show the tac-bootstrap version."""
    typer.echo(f"tac-bootstrap {__version__}")


DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")]
Force = Annotated[
    bool, typer.Option("--force", help="Overwrite conflicting files, keeping a backup of each.")
]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ProjectPath = Annotated[
    Path | None,
    typer.Argument(
        metavar="PATH",
        help="Project directory holding tac_bootstrap.yml (default: the nearest one at or "
        "above the current directory).",
        show_default=False,
    ),
]


@app.command(cls=PlainCommand)
def init(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Project name; the project is created in ./NAME.")
    ],
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Create the project in DIR/NAME instead.")
    ] = Path("."),
    language: Annotated[
        str | None,
        typer.Option("--language", "-l", help=_language_help()),
    ] = None,
    framework: Annotated[
        str | None,
        typer.Option("--framework", "-f", help="Framework, e.g. none, fastapi, express."),
    ] = None,
    package_manager: Annotated[
        str | None,
        typer.Option("--package-manager", "-p", help="e.g. pip, uv, poetry, npm, pnpm, cargo."),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Accept defaults; never prompt.")
    ] = False,
    git: Annotated[
        bool, typer.Option("--git/--no-git", help="Create a git repository with a first commit.")
    ] = True,
    dry_run: DryRun = False,
    force: Force = False,
    json_output: JsonOutput = False,
) -> None:
    """Create a new project with its config file and agentic layer."""
    from tac_bootstrap.cli.commands import run_init

    run_init(
        name=name,
        output_dir=output_dir,
        language=language,
        framework=framework,
        package_manager=package_manager,
        yes=yes,
        git=git,
        dry_run=dry_run,
        force=force,
        json_output=json_output,
    )


@app.command(cls=PlainCommand)
def render(
    path: ProjectPath = None,
    dry_run: DryRun = False,
    force: Force = False,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if any file differs.")
    ] = False,
    restore: Annotated[
        list[str] | None,
        typer.Option(
            "--restore",
            metavar="FILE",
            help="Write again a generated file you deleted (repeatable); deleted files are "
            "otherwise kept deleted.",
        ),
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """Re-render the agentic layer from the project's config file."""
    from tac_bootstrap.cli.commands import run_render

    run_render(
        path=path,
        dry_run=dry_run,
        force=force,
        check=check,
        restore=restore or [],
        json_output=json_output,
    )


@app.command(cls=PlainCommand, short_help="Bring the layer up to date, keeping your edits.")
def upgrade(
    path: ProjectPath = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show a diff per file; write nothing.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Do not ask for confirmation (required with --json)."),
    ] = False,
    json_output: JsonOutput = False,
) -> None:
    """Bring the layer up to date, merging your edits with the new templates."""
    from tac_bootstrap.cli.upgrade import run_upgrade

    run_upgrade(path=path, dry_run=dry_run, yes=yes, json_output=json_output)


@app.command(cls=PlainCommand, short_help="Check the config, generated files, database and tools.")
def doctor(
    path: ProjectPath = None,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Fix what is safe: create missing files, apply pending migrations (after a "
            "backup), add .gitignore lines.",
        ),
    ] = False,
    json_output: JsonOutput = False,
) -> None:
    """Check the config, generated files, schema, database, .gitignore and tools."""
    from tac_bootstrap.infrastructure import python_probe

    python_probe.start()  # the hooks' Python answers while doctor imports the rest
    try:
        from tac_bootstrap.cli.doctor import run_doctor_command

        run_doctor_command(path=path, fix=fix, json_output=json_output)
    finally:
        python_probe.stop()  # a doctor that ended early (a config error) leaves no probe


@app.command(
    "add-agentic", cls=PlainCommand, short_help="Add the agentic layer to an existing repository."
)
def add_agentic(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="The existing repository (default: here).")
    ] = Path("."),
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Take what was detected; never prompt.")
    ] = False,
    dry_run: DryRun = False,
    part: Annotated[
        str | None,
        typer.Option(
            "--part",
            metavar="PART",
            help="In a monorepo, detect only this part (its path, e.g. backend); its commands "
            "run from the root.",
        ),
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """Add the agentic layer to an existing repository, detecting its stack and commands."""
    from tac_bootstrap.cli.add_agentic import run_add_agentic

    run_add_agentic(path=path, yes=yes, dry_run=dry_run, json_output=json_output, part=part)


@app.command(cls=PlainCommand, short_help="Take the agentic layer out of the repository.")
def remove(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="The repository with the layer (default: here).")
    ] = Path("."),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List every action; change nothing.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Do not ask for confirmation (required with --json)."),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Also remove files of the layer you edited (backup kept)."),
    ] = False,
    purge_database: Annotated[
        bool,
        typer.Option(
            "--purge-database",
            help="Also remove the SQLite database and run logs (backup kept); a PostgreSQL "
            "database is never dropped.",
        ),
    ] = False,
    json_output: JsonOutput = False,
) -> None:
    """Take the agentic layer out: files you did not edit are deleted or given back as they
    were before add-agentic; edited ones are kept and listed (exit 1) unless --force."""
    from tac_bootstrap.cli.remove import run_remove

    run_remove(
        path=path,
        dry_run=dry_run,
        yes=yes,
        force=force,
        purge_database=purge_database,
        json_output=json_output,
    )


RunsProject = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-P",
        help="Project directory (default: the nearest tac_bootstrap.yml above the current dir).",
    ),
]


@app.command(cls=PlainCommand, short_help="List the workflow runs: worktree, branch, status, cost.")
def runs(
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="Only runs in this status: queued, running, paused, completed, failed, "
            "cancelled or stale (running, but crashed).",
        ),
    ] = None,
    project: RunsProject = None,
    json_output: JsonOutput = False,
) -> None:
    """List the workflow runs with their issue, branch, worktree, status and cost."""
    from tac_bootstrap.cli.runs import run_runs

    run_runs(project=project, status=status, json_output=json_output)


@app.command(cls=PlainCommand, short_help="Remove the worktrees of finished workflow runs.")
def clean(
    adw_ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[ADW_ID]...",
            help="The runs to clean (default: every finished run with a worktree).",
            show_default=False,
        ),
    ] = None,
    all_finished: Annotated[
        bool,
        typer.Option("--all-finished", help="Also every finished run, besides the ADW_IDs named."),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Also worktrees with uncommitted work (saved as a patch first) and stale runs.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be removed; change nothing.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Do not ask for confirmation (required with --json)."),
    ] = False,
    project: RunsProject = None,
    json_output: JsonOutput = False,
) -> None:
    """Remove the worktrees of finished runs (completed, failed, cancelled), and their
    branches once merged. One with uncommitted work is kept (exit 1) unless --force, which
    first saves the work as a patch in <logs_dir>/adw/<adw_id>/."""
    from tac_bootstrap.cli.runs import run_clean

    run_clean(
        adw_ids=adw_ids or [],
        project=project,
        all_finished=all_finished,
        force=force,
        dry_run=dry_run,
        yes=yes,
        json_output=json_output,
    )


@app.command(cls=PlainCommand, short_help="Serve a local web dashboard of the runs and costs.")
def dashboard(
    project: RunsProject = None,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on; any but 127.0.0.1, ::1 or localhost needs a token.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on (0: any free port).")
    ] = 8765,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the dashboard in the web browser.")
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="TOKEN",
            help="The token every request must carry (default: TAC_DASHBOARD_TOKEN, else one "
            "generated and printed once when --host is not a loopback name).",
        ),
    ] = None,
    allow_actions: Annotated[
        bool,
        typer.Option(
            "--allow-actions", help="Enable the one write: cancelling a queued or running run."
        ),
    ] = False,
) -> None:
    """Serve a read-only web dashboard of the workflow runs, interactive sessions, their
    events live, and costs over time (needs the extra: pip install 'tac-bootstrap[dashboard]')."""
    from tac_bootstrap.cli.dashboard import run_dashboard

    run_dashboard(
        project=project,
        host=host,
        port=port,
        open_browser=open_browser,
        token=token,
        allow_actions=allow_actions,
    )


app.add_typer(db_app, short_help="Inspect and maintain the orchestrator database.")


def main() -> None:
    app()
