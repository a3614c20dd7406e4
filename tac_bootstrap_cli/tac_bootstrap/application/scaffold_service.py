"""ScaffoldService: turns a validated config into a ScaffoldPlan and renders its files.

Building the plan touches no disk; executing it is PlanExecutor's job. Each layer section
registers its files in a small ``_add_*`` method so a newcomer can see where a file comes from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tac_bootstrap import __version__
from tac_bootstrap.application.migration_templates import (
    MIGRATION_DIRS,
    migration_reason,
    migration_templates,
)
from tac_bootstrap.domain.config import CONFIG_FILENAME, TacConfig
from tac_bootstrap.domain.manifest import MergeKind
from tac_bootstrap.domain.permissions import settings_policy
from tac_bootstrap.domain.plan import Action, FileOperation, ScaffoldPlan
from tac_bootstrap.infrastructure.template_renderer import (
    TaintedContext,
    TemplateRenderer,
    tainted_context,
)

# COPY sources are relative to the package, so code can be shipped as well as templates.
PACKAGE_DIR = Path(__file__).resolve().parent.parent

# The orchestrator database runtime: real modules of this package, copied byte for byte into
# <adws_dir>/adw_modules/ so the CLI and generated projects run the same code. Every module of
# runtime/ is shipped (a new module needs no registration); its docstring's first line is the
# reason shown in the plan.
RUNTIME_DIR = PACKAGE_DIR / "runtime"


def runtime_modules() -> list[tuple[str, str]]:
    """(file name, reason) of every runtime module, from the package itself."""
    modules = []
    for path in sorted(RUNTIME_DIR.glob("*.py")):
        with path.open(encoding="utf-8") as source:
            first = source.readline().strip()
        summary = first.removeprefix('"""').removesuffix('"""').rstrip(".") or path.stem
        modules.append((path.name, summary))
    return modules


# The workflow scripts are rendered: their PEP 723 block (adws/_script_metadata.j2) lists
# psycopg only for a project configured for PostgreSQL (the runtime imports it only for a
# postgresql:// URL, so SQLite projects never install it). Copied files are never rewritten:
# what COPY ships is byte for byte the package's file.
WORKFLOW_SCRIPTS = (
    ("adw_plan.py", "plan phase"),
    ("adw_build.py", "build phase"),
    ("adw_test.py", "test phase"),
    ("adw_review.py", "review phase"),
    ("adw_sdlc.py", "plan -> build -> test -> review -> document"),
    ("adw_patch.py", "patch: a small change, then the checks loop"),
    ("adw_document.py", "document phase"),
    ("adw_ship.py", "ship phase: push the branch, open the pull request"),
    ("adw_plan_build.py", "plan -> build"),
    ("adw_plan_build_test.py", "plan -> build -> test"),
    ("adw_plan_build_test_review.py", "plan -> build -> test -> review"),
    ("adw_sdlc_ship.py", "sdlc -> ship"),
    ("adw_trigger_webhook.py", "trigger: GitHub webhook receiver that enqueues runs"),
    ("adw_worker.py", "queue worker: claim queued runs and run them, with a lease"),
    ("adw_trigger_poll.py", "trigger: poll labeled issues and run them, K at a time"),
    ("adw_launch.py", "launcher: run several issues at once and wait for them"),
)

# A formatter's configuration in each layer directory (prettier, Biome 2): name, template.
FORMATTER_CONFIGS = ((".prettierrc.yaml", "prettierrc.yaml"), ("biome.jsonc", "biome.jsonc"))
_RUFF_REASON = "ruff judges the layer's files by the rules they are written to"
_PYTEST_REASON = "the project's own pytest run leaves the layer out unless pointed at it"
_FORMATTER_REASON = "formatters leave the layer's files as they are written"

# The layer's own tests: every .py file of templates/adws/tests/ (a new one needs no
# registration); a file starting with a shebang is a program (the fake agent CLI).
LAYER_TESTS_DIR = PACKAGE_DIR / "templates" / "adws" / "tests"


def layer_tests() -> list[tuple[str, bool]]:
    """(file name, executable) of every layer test file."""
    tests = []
    for path in sorted(LAYER_TESTS_DIR.glob("*.py")):
        with path.open("rb") as source:
            tests.append((path.name, source.read(2) == b"#!"))
    return tests


# The files under .claude/ besides the slash commands: (path, reason, executable).
CLAUDE_FILES: tuple[tuple[str, str, bool], ...] = (
    ("settings.json", "permissions and the hooks that record agent activity", False),
    (
        "hooks/orchestrator_hook.py",
        "hook entry point: records events, never blocks the agent",
        True,
    ),
    ("hooks/tool_guard.py", "PreToolUse guard: blocks what permission rules cannot express", True),
    (
        "hooks/tool_guard_rules.py",
        "the guard's checks (a module, so Python caches it compiled)",
        False,
    ),
    ("hooks/tool_guard_shell.py", "the guard's shell lexer: what a Bash command runs", False),
    ("hooks/status_line.py", "status line: the session's cost, tokens and model", True),
)


# Files under .claude/ we share with the user: our entries merged into their own settings.
SHARED_FILES = {"settings.json": MergeKind.JSON}


class ScaffoldService:
    def __init__(self, renderer: TemplateRenderer | None = None) -> None:
        self.renderer = renderer or TemplateRenderer()

    # -- plan ---------------------------------------------------------------------------

    def build_plan(self, config: TacConfig, *, include_config: bool = False) -> ScaffoldPlan:
        """Everything the layer consists of; ``include_config`` adds the config file (init)."""
        plan = ScaffoldPlan()
        if include_config:
            self._add_config_file(plan, config)
        self._add_directories(plan, config)
        self._add_schema_files(plan, config)
        self._add_runtime_modules(plan, config)
        self._add_workflow_scripts(plan, config)
        self._add_layer_tests(plan, config)
        self._add_claude_files(plan, config)
        self._add_tool_boundaries(plan, config)
        self._add_spec_templates(plan, config)
        return plan

    def _add_config_file(self, plan: ScaffoldPlan, config: TacConfig) -> None:
        plan.add(
            FileOperation(
                path=CONFIG_FILENAME,
                action=Action.WRITE,
                reason="project configuration every later command reads",
                content=self.render_config(config),
            )
        )

    def _add_directories(self, plan: ScaffoldPlan, config: TacConfig) -> None:
        for directory, reason in (
            (config.paths.adws_dir, "AI Developer Workflow scripts"),
            (config.schema_dir, "orchestrator database schema and migrations"),
            (f"{config.schema_dir}/migrations", "versioned SQL migrations"),
            (f"{config.schema_dir}/postgres", "PostgreSQL form of the orchestrator schema"),
            (f"{config.schema_dir}/postgres/migrations", "versioned PostgreSQL migrations"),
        ):
            plan.add(FileOperation(path=directory, action=Action.MKDIR, reason=reason))

    def _add_schema_files(self, plan: ScaffoldPlan, config: TacConfig) -> None:
        """The orchestrator schema: SQL, its documentation, migrations and the db .gitignore.

        Migrations come from globbing the templates (``migration_templates``), so adding one
        is adding its template files; see specs/adding-a-migration.md.
        """
        schema = config.schema_dir
        templates_dir = self.renderer.templates_dir
        migrations = {
            subdir: [
                (
                    f"{schema}/{subdir}/{name}",
                    f"adws/schema/{subdir}/{name}.j2",
                    migration_reason(backend, name),
                )
                for name in migration_templates(templates_dir, subdir)
            ]
            for subdir, backend in MIGRATION_DIRS
        }
        for target, template, reason in (
            (
                f"{schema}/schema_orchestrator.sql",
                "adws/schema/schema_orchestrator.sql.j2",
                "orchestrator schema: 7 tables, trigger, 16 indexes",
            ),
            (
                f"{schema}/README.md",
                "adws/schema/README.md.j2",
                "schema documentation",
            ),
            *migrations["migrations"],
            (
                f"{schema}/postgres/schema_orchestrator.sql",
                "adws/schema/postgres/schema_orchestrator.sql.j2",
                "orchestrator schema for PostgreSQL: same tables, rules and indexes",
            ),
            *migrations["postgres/migrations"],
            (
                f"{schema}/.gitignore",
                "adws/schema/gitignore.j2",
                "keep database, WAL and backup files out of git",
            ),
        ):
            plan.add(
                FileOperation(
                    path=target,
                    action=Action.RENDER,
                    source=template,
                    reason=reason,
                    required=not target.endswith("README.md"),
                )
            )
        plan.add(
            FileOperation(
                path=f"{schema}/migrations/.gitkeep",
                action=Action.COPY,
                source="templates/adws/schema/migrations/.gitkeep",
                reason="keep the migrations directory in git",
            )
        )

    def _add_runtime_modules(self, plan: ScaffoldPlan, config: TacConfig) -> None:
        for module, reason in runtime_modules():
            plan.add(
                FileOperation(
                    path=f"{config.paths.adws_dir}/adw_modules/{module}",
                    action=Action.COPY,
                    source=f"runtime/{module}",
                    reason=reason,
                    required=True,
                )
            )

    def _add_workflow_scripts(self, plan: ScaffoldPlan, config: TacConfig) -> None:
        adws = config.paths.adws_dir
        for script, reason in WORKFLOW_SCRIPTS:
            plan.add(
                FileOperation(
                    path=f"{adws}/{script}",
                    action=Action.RENDER,
                    source=f"adws/{script}.j2",
                    reason=f"ADW workflow: {reason}",
                    executable=True,
                )
            )
        plan.add(
            FileOperation(
                path=f"{adws}/README.md",
                action=Action.RENDER,
                source="adws/README.md.j2",
                reason="how the workflows work and how to inspect a run",
            )
        )
        plan.add(
            FileOperation(
                path=f"{config.paths.logs_dir}/.gitignore",
                action=Action.RENDER,
                source="logs/gitignore.j2",
                reason="keep run logs and state out of git",
                required=True,  # without it the logs and run state would be committed
            )
        )

    def _add_layer_tests(self, plan: ScaffoldPlan, config: TacConfig) -> None:
        for name, executable in layer_tests():
            plan.add(
                FileOperation(
                    path=f"{config.paths.adws_dir}/tests/{name}",
                    action=Action.COPY,
                    source=f"templates/adws/tests/{name}",
                    reason="the layer's own tests (pytest, with a fake agent CLI)",
                    executable=executable,
                )
            )

    def _add_claude_files(self, plan: ScaffoldPlan, config: TacConfig) -> None:
        claude = config.paths.claude_dir
        for name, reason, executable in CLAUDE_FILES:
            plan.add(
                FileOperation(
                    path=f"{claude}/{name}",
                    action=Action.RENDER,
                    source=f"claude/{name}.j2",
                    reason=reason,
                    executable=executable,
                    required=True,  # the hooks and the settings that call them
                    merge=SHARED_FILES.get(name, MergeKind.WHOLE),
                )
            )
        plan.add(
            FileOperation(
                path="CLAUDE.md",
                action=Action.RENDER,
                source="CLAUDE.md.j2",
                reason="what Claude Code reads every session: commands and conventions "
                "(the layer owns only its marked section)",
                merge=MergeKind.SECTION,
            )
        )
        for template in sorted(
            (self.renderer.templates_dir / "claude" / "commands").glob("*.md.j2")
        ):
            name = template.name.removesuffix(".j2")
            plan.add(
                FileOperation(
                    path=f"{claude}/commands/{name}",
                    action=Action.RENDER,
                    source=f"claude/commands/{template.name}",
                    reason=f"slash command /{name.removesuffix('.md')}",
                )
            )
        # The phase agents as subagents; a user's own agents beside them are never touched.
        for template in sorted((self.renderer.templates_dir / "claude" / "agents").glob("*.md.j2")):
            name = template.name.removesuffix(".j2")
            plan.add(
                FileOperation(
                    path=f"{claude}/agents/{name}",
                    action=Action.RENDER,
                    source=f"claude/agents/{template.name}",
                    reason=f"subagent {name.removesuffix('.md')} (a workflow phase, interactively)",
                )
            )

    def _add_tool_boundaries(self, plan: ScaffoldPlan, config: TacConfig) -> None:
        """Keep the project's own checks from judging the layer's files by the project's rules
        (or failing on the layer's dependencies): where a tool reads a configuration next to
        the files, the layer's directories carry their own. ruff and pytest for the Python;
        prettier and Biome 2 for the Markdown, JSON and YAML (and the agents' plans). The run
        logs get the formatters' when the first run writes its state (formatter_boundary).
        See docs/guide.md, "Your checks and the layer"."""
        paths = config.paths
        adws, hooks = paths.adws_dir, f"{paths.claude_dir}/hooks"
        boundaries = [
            *((f"{d}/ruff.toml", "templates/tools/ruff.toml", _RUFF_REASON) for d in (adws, hooks)),
            (f"{adws}/conftest.py", "runtime/pytest_boundary.py", _PYTEST_REASON),
            *(
                (f"{d}/{name}", f"templates/tools/{source}", _FORMATTER_REASON)
                for d in (adws, paths.claude_dir, paths.specs_dir)
                for name, source in FORMATTER_CONFIGS
            ),
        ]
        for path, source, reason in boundaries:
            plan.add(FileOperation(path=path, action=Action.COPY, source=source, reason=reason))

    def _add_spec_templates(self, plan: ScaffoldPlan, config: TacConfig) -> None:
        for kind in ("feature", "bug", "chore"):
            plan.add(
                FileOperation(
                    path=f"{config.paths.specs_dir}/templates/{kind}.md",
                    action=Action.RENDER,
                    source=f"specs/templates/{kind}.md.j2",
                    reason=f"plan template the /{kind} command fills",
                )
            )

    # -- content ------------------------------------------------------------------------

    def context(self, config: TacConfig) -> dict[str, Any]:
        return {
            "config": config,
            "project": config.project,
            "paths": config.paths,
            "commands": config.commands,
            "agentic": config.agentic,
            "orchestrator": config.orchestrator,
            "schema_dir": config.schema_dir,
            "database_path": config.default_database_path,
            "tool_version": __version__,
            "permissions": settings_policy(config).as_dict(),
        }

    def render_context(self, config: TacConfig) -> TaintedContext:
        """The context ready for rendering: compute it once for all the files of a plan."""
        return tainted_context(self.context(config))

    def render_config(self, config: TacConfig) -> str:
        return self.renderer.render("tac_bootstrap.yml.j2", self.context(config))

    def content_for(
        self, op: FileOperation, config: TacConfig, context: TaintedContext | None = None
    ) -> bytes:
        """The exact bytes a planned file should contain (``context``: ``render_context``)."""
        if op.action is Action.WRITE:
            assert op.content is not None
            return op.content.encode("utf-8")
        if op.action is Action.COPY:
            return (PACKAGE_DIR / op.source).read_bytes()
        if op.action is Action.RENDER:
            if context is None:
                context = self.render_context(config)
            return self.renderer.render(op.source, context).encode("utf-8")
        raise ValueError(f"{op.path}: a {op.action.value} operation has no content")
