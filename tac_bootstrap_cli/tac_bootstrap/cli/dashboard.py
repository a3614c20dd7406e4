"""Body of `tac-bootstrap dashboard`: check the extra is installed, open the project's
database read-only, print where the dashboard listens (and its token, once), serve."""

from __future__ import annotations

from pathlib import Path

from tac_bootstrap.cli.output import Output
from tac_bootstrap.dashboard import EXTRA_HINT, missing_dependencies
from tac_bootstrap.domain.errors import UsageError


def run_dashboard(
    *,
    project: Path | None,
    host: str,
    port: int,
    open_browser: bool,
    token: str | None,
    allow_actions: bool,
) -> None:
    out = Output(False)
    missing = missing_dependencies()
    if missing:  # one line, exit 2: the command exists, its optional extra is not installed
        out.fail(UsageError(f"the dashboard needs {' and '.join(missing)}", hint=EXTRA_HINT))
    with out.handling_errors({"--project": project}):
        from tac_bootstrap.dashboard.server import prepare

        dashboard = prepare(project, host=host, port=port, token=token, allow_actions=allow_actions)

        def announce() -> None:
            out.info(f"dashboard of {dashboard.source.display} at {dashboard.url}")
            if dashboard.generated_token:
                out.info(f"token (shown once): {dashboard.token}")
            if dashboard.token:
                out.info(f"open {dashboard.login_url}")
            if allow_actions:
                out.info("actions enabled: queued and running runs can be cancelled")
            out.info("press Ctrl-C to stop")

        try:
            dashboard.serve(open_browser=open_browser, ready=announce)
        except KeyboardInterrupt:
            return
