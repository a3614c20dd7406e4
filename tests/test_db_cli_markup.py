"""Values read from the database print literally in `db` tables: rich markup in a log
message, a model name or a session id ("[bold]x[/]", "[link=...]") is text, not styling."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from .conftest import ProjectFactory, run_cli

MARKUP = "[bold]x[/] [link=https://example.invalid]y[/link] [red]z"

WRITE = textwrap.dedent(
    f"""
    import sys
    sys.path.insert(0, sys.argv[1])
    from adw_modules.adw_database import OrchestratorDB

    with OrchestratorDB.open() as db:
        planner = db.register_orchestrator_agent("planner", "planner")
        agent = db.start_agent(planner.id, "[b]session[/b]", adw_id="adw1")
        prompt = db.start_prompt(agent.id, "do it", model="[red]model[/red]")
        db.complete_prompt(prompt.id, input_tokens=1, output_tokens=1, cost_usd=0.5)
        db.log_agent(agent.id, "tool_call", {MARKUP!r})
    """
)


def test_database_values_print_literally(new_project: ProjectFactory, tmp_path: Path) -> None:
    project = new_project(tmp_path / "[bold]home[/bold]")
    subprocess.run(
        [sys.executable, "-c", WRITE, str(project / "adws")],
        cwd=project,
        env=os.environ.copy(),
        check=True,
        timeout=60,
    )
    wide = {"COLUMNS": "250"}
    logs = run_cli("db", "logs", "--project", project, env=wide)
    assert logs.returncode == 0, logs.stderr
    assert MARKUP in logs.stdout
    for by, value in (("model", "[red]model[/red]"), ("session", "[b]session[/b]")):
        stats = run_cli("db", "stats", "--by", by, "--project", project, env=wide)
        assert stats.returncode == 0, stats.stderr
        assert value in stats.stdout, stats.stdout
    status = run_cli("db", "status", "--project", project, env=wide)
    assert status.returncode == 0, status.stderr
    assert "[bold]home[/bold]" in status.stdout, status.stdout
