"""The AI Developer Workflows' public entry points, over the phase engine (adw_engine.py).

Kept so that scripts and code written against the first layer keep working: `main(phases)`
runs the workflow with those phases, `sdlc_main()` the whole loop. The engine itself lives in
adw_engine.py (run context, phase loop), adw_phases.py (phases and workflows), adw_loops.py
(test and review loops), adw_checks.py (the project's commands), adw_ship.py (push and pull
request) and adw_workflow_cli.py (the command line).
"""

from __future__ import annotations

from collections.abc import Sequence

from .adw_agent_run import (
    AgentResult,
    BudgetSpent,
    PhaseFailed,
    claude_permissions,
    configured_cli,
    run_spent,
    unknown_tools,
)
from .adw_phases import WORKFLOWS, PlanPaused, json_answer
from .adw_workflow_cli import main as workflow_main

__all__ = [
    "WORKFLOWS",
    "AgentResult",
    "BudgetSpent",
    "PhaseFailed",
    "PlanPaused",
    "claude_permissions",
    "configured_cli",
    "json_answer",
    "main",
    "run_spent",
    "sdlc_main",
    "unknown_tools",
    "workflow_for",
]


def workflow_for(phases: Sequence[str]) -> str:
    """The workflow whose phases these are (a single phase is its own workflow)."""
    wanted = tuple(phases)
    for name, listed in WORKFLOWS.items():
        if listed == wanted:
            return name
    raise ValueError(f"no workflow runs the phases {' -> '.join(wanted)}")


def main(phases: Sequence[str] | str, argv: Sequence[str] | None = None) -> int:
    """Run a workflow, named or given by its phases; the script's exit code."""
    workflow = phases if isinstance(phases, str) else workflow_for(phases)
    return workflow_main(workflow, argv)


def sdlc_main(argv: Sequence[str] | None = None) -> int:
    return main("sdlc", argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(sdlc_main())
