"""The project's config file (tac_bootstrap.yml) as validated Pydantic models.

Every model forbids unknown keys: a typo in the config must be an error with a line
number, not a silently ignored setting.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)

from tac_bootstrap.domain.config_values import CONFIG_FILENAME as CONFIG_FILENAME  # re-export
from tac_bootstrap.domain.config_values import check_path, check_program, check_text, quote
from tac_bootstrap.domain.guard_config import GuardSection
from tac_bootstrap.domain.stacks import (
    LanguageSpec,
    PackageManagerSpec,
    language_spec,
    package_manager_spec,
)
from tac_bootstrap.domain.workflow_config import (
    IssuesSection,
    QueueSection,
    TriggersSection,
    WorkflowSection,
)

CONFIG_SCHEMA_VERSION = 1

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class Language(str, Enum):
    """The config's names of the registry's languages (domain/stacks); static members so that
    code and mypy can name them. tests/test_stacks.py keeps both in step."""

    PYTHON = "python"
    TYPESCRIPT = "typescript"
    JAVASCRIPT = "javascript"
    GO = "go"
    RUST = "rust"
    JAVA = "java"
    RUBY = "ruby"

    @property
    def stack(self) -> LanguageSpec:
        """The language's registry record (templates read it as ``project.language.stack``)."""
        return language_spec(self.value)


class PackageManager(str, Enum):
    """The config's names of the registry's package managers (see Language)."""

    PIP = "pip"
    UV = "uv"
    POETRY = "poetry"
    NPM = "npm"
    PNPM = "pnpm"
    YARN = "yarn"
    BUN = "bun"
    GO = "go"
    CARGO = "cargo"
    MAVEN = "maven"
    GRADLE = "gradle"
    BUNDLER = "bundler"

    @property
    def spec(self) -> PackageManagerSpec:
        return package_manager_spec(self.value)


# Which package managers make sense for which language; the first is the default.
PACKAGE_MANAGERS: dict[Language, tuple[PackageManager, ...]] = {
    language: tuple(PackageManager(name) for name in language.stack.package_manager_names)
    for language in Language
}

FRAMEWORKS: dict[Language, tuple[str, ...]] = {
    language: language.stack.framework_names for language in Language
}


def validate_project_name(name: str) -> str:
    """Reject names that would escape the target directory or look like options/hidden dirs."""
    if not name:
        raise ValueError("project name is empty")
    if "/" in name or "\\" in name:
        raise ValueError(f"project name {quote(name)} contains a path separator")
    if name.startswith((".", "-")):
        raise ValueError(f"project name {quote(name)} starts with {name[0]!r}")
    if not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"project name {quote(name)} may only contain letters, digits, '.', '_' and '-'"
        )
    return name


def _name(value: str) -> str:
    return validate_project_name(check_text(value))


ProjectName = Annotated[StrictStr, AfterValidator(_name)]
Text = Annotated[StrictStr, AfterValidator(check_text)]
RelativeDir = Annotated[StrictStr, AfterValidator(check_path)]
Program = Annotated[StrictStr, AfterValidator(check_program)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ProjectSection(_Strict):
    name: ProjectName
    language: Language = Language.PYTHON
    framework: Text = "none"
    package_manager: PackageManager | None = None

    @model_validator(mode="after")
    def _check_combination(self) -> ProjectSection:
        allowed_pm = PACKAGE_MANAGERS[self.language]
        if self.package_manager is None:
            self.package_manager = allowed_pm[0]
        elif self.package_manager not in allowed_pm:
            names = ", ".join(pm.value for pm in allowed_pm)
            raise ValueError(
                f"package manager {self.package_manager.value!r} does not fit language "
                f"{self.language.value!r} (use one of: {names})"
            )
        frameworks = FRAMEWORKS[self.language]
        if self.framework not in frameworks:
            raise ValueError(
                f"framework {quote(self.framework)} is not known for {self.language.value!r} "
                f"(use one of: {', '.join(frameworks)})"
            )
        return self


def _claude_dir(value: str) -> str:
    if value != ".claude":
        raise ValueError('Claude Code reads only <project>/.claude; keep claude_dir: ".claude"')
    return value


class PathsSection(_Strict):
    adws_dir: RelativeDir = "adws"
    specs_dir: RelativeDir = "specs"
    logs_dir: RelativeDir = "logs"
    claude_dir: Annotated[RelativeDir, AfterValidator(_claude_dir)] = ".claude"


class CommandsSection(_Strict):
    """Shell commands the agent runs; an empty string means the project has none."""

    install: Text = ""
    start: Text = ""
    test: Text = ""
    lint: Text = ""
    typecheck: Text = ""
    format: Text = ""
    build: Text = ""


class ModelPolicy(_Strict):
    default: Text = "sonnet"
    heavy: Text = "opus"
    fallback: Text = "haiku"


MAX_USD = 1_000_000.0  # budgets: finite and sane

PermissionMode = Literal["", "default", "acceptEdits", "plan", "dontAsk", "auto"]


class PhaseLimits(_Strict):
    """Limits of one workflow phase's agent run; 0 means none."""

    max_turns: StrictInt = Field(default=0, ge=0, le=10_000)
    max_budget_usd: StrictFloat = Field(default=0.0, ge=0, le=MAX_USD, allow_inf_nan=False)
    # 0: agentic.phase_timeout_seconds
    timeout_seconds: StrictInt = Field(default=0, ge=0, le=86_400)
    permission_mode: PermissionMode = ""


PhaseName = Literal["classify", "plan", "build", "test", "review", "patch", "document"]


def _default_phases() -> dict[PhaseName, PhaseLimits]:
    return {
        "plan": PhaseLimits(max_turns=60),
        "build": PhaseLimits(max_turns=120, permission_mode="acceptEdits"),
        "test": PhaseLimits(max_turns=60),
        "review": PhaseLimits(max_turns=60),
    }


class AgenticSection(_Strict):
    # The only agent CLI the runtime drives; a Literal so a typo or another provider is a config
    # error instead of being silently ignored (existing configs all say claude_code).
    provider: Literal["claude_code"] = "claude_code"
    agent_cli: Program = "claude"
    models: ModelPolicy = Field(default_factory=ModelPolicy)
    # Re-runs of a phase whose agent CLI died without a result. API errors (429, 529, 5xx,
    # cut connections) are retried by the CLI itself, cli_max_retries times.
    max_retries: StrictInt = Field(default=1, ge=0, le=10)
    cli_max_retries: StrictInt = Field(default=4, ge=0, le=20)
    phase_timeout_seconds: StrictInt = Field(default=1800, ge=1, le=86_400)
    # 0: no budget
    run_budget_usd: StrictFloat = Field(default=0.0, ge=0, le=MAX_USD, allow_inf_nan=False)
    phases: dict[PhaseName, PhaseLimits] = Field(default_factory=_default_phases)


class OrchestratorSection(_Strict):
    # Empty means the zero-config default <adws_dir>/schema/orchestrator.db;
    # TAC_ORCHESTRATOR_DB in the environment always wins.
    database: Text = ""
    busy_timeout_ms: StrictInt = Field(default=30_000, ge=0, le=86_400_000)


class GitSection(_Strict):
    # init: `tac-bootstrap init` creates a repository with an initial commit, so that a later
    # upgrade can recover what was generated from history.
    init: StrictBool = True


def _check_version(version: int) -> int:
    if version != CONFIG_SCHEMA_VERSION:
        raise ValueError(
            f"config version {quote(version)} is not supported (this tool reads version "
            f"{CONFIG_SCHEMA_VERSION})"
        )
    return version


class TacConfig(_Strict):
    version: Annotated[StrictInt, AfterValidator(_check_version)] = CONFIG_SCHEMA_VERSION
    project: ProjectSection
    paths: PathsSection = Field(default_factory=PathsSection)
    commands: CommandsSection = Field(default_factory=CommandsSection)
    agentic: AgenticSection = Field(default_factory=AgenticSection)
    orchestrator: OrchestratorSection = Field(default_factory=OrchestratorSection)
    git: GitSection = Field(default_factory=GitSection)
    guard: GuardSection = Field(default_factory=GuardSection)
    workflow: WorkflowSection = Field(default_factory=WorkflowSection)
    issues: IssuesSection = Field(default_factory=IssuesSection)
    triggers: TriggersSection = Field(default_factory=TriggersSection)
    queue: QueueSection = Field(default_factory=QueueSection)

    @property
    def package_manager(self) -> PackageManager:
        assert self.project.package_manager is not None  # filled by the validator
        return self.project.package_manager

    @property
    def schema_dir(self) -> str:
        return f"{self.paths.adws_dir}/schema"

    @property
    def uses_postgres(self) -> bool:
        """The committed setting names a PostgreSQL server (TAC_ORCHESTRATOR_DB may too)."""
        from tac_bootstrap.runtime.adw_db_private import names_postgres  # stdlib only

        return names_postgres(self.orchestrator.database)

    @property
    def default_database_path(self) -> str:
        return f"{self.schema_dir}/orchestrator.db"


def default_commands(
    language: Language, pm: PackageManager, framework: str = "none"
) -> CommandsSection:
    """Sensible commands for a fresh project (the registry's patterns for this package manager
    and framework); users edit them in the config file."""
    return CommandsSection(**language.stack.default_commands(pm.value, framework))


def new_config(
    name: str,
    language: Language = Language.PYTHON,
    framework: str = "none",
    package_manager: PackageManager | None = None,
) -> TacConfig:
    """Build the config `init` writes, with commands derived from the stack."""
    project = ProjectSection(
        name=name, language=language, framework=framework, package_manager=package_manager
    )
    assert project.package_manager is not None
    commands = default_commands(language, project.package_manager, framework)
    return TacConfig(project=project, commands=commands)
