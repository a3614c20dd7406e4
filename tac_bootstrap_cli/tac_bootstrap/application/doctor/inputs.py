"""What doctor's checks read from the config, as plain values, kept beside the config's sha256.

Validating tac_bootstrap.yml (yaml and pydantic) and building the plan cost more than every
check but the files one, yet the checks read only a few values: directories, commands, the
agent CLI, the database setting and the list of generated paths. ``load_inputs`` takes them
from a validated config and keeps them in a memo (infrastructure/memo_store.py) with the
config's sha256 and the installation's fingerprint, so the next doctor on the same config bytes
reads the memo and never imports yaml, pydantic or jinja2. Any other config, including one that
no longer validates, is loaded for real: its error is the config row, as it always was.

A database setting naming a server may hold a password: such inputs are never written to the
cache (a PostgreSQL doctor connects to the server, which dwarfs the parse).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tac_bootstrap.application.database_settings import DatabaseSettings, names_a_server
from tac_bootstrap.domain.config_values import CONFIG_FILENAME
from tac_bootstrap.infrastructure import memo_store

if TYPE_CHECKING:
    from tac_bootstrap.domain.config import TacConfig

KIND = "doctor-inputs"
COMMAND_FIELDS = ("test", "lint", "typecheck")  # the commands a workflow's test phase runs


@dataclass(frozen=True)
class DoctorInputs:
    """The config as the checks see it (the files check alone needs the whole config)."""

    config_message: str  # the config row: what the project is
    adws_dir: str
    claude_dir: str
    logs_dir: str
    schema_dir: str
    worktrees_dir: str
    isolation: str
    agent_cli: str
    database: str  # orchestrator.database as written ("" for the zero-config default)
    busy_timeout_ms: int
    commands: dict[str, str] = field(default_factory=dict)  # COMMAND_FIELDS, stripped
    generated: tuple[str, ...] = ()  # the plan's files, in its order
    shared: tuple[str, ...] = ()  # those we share with the user (merged, not replaced)

    @property
    def database_settings(self) -> DatabaseSettings:
        return DatabaseSettings(self.adws_dir, self.database, self.busy_timeout_ms, self.logs_dir)


def inputs_of(config: TacConfig) -> DoctorInputs:
    """The inputs of a validated config (builds its plan for the list of generated paths)."""
    from tac_bootstrap.application.scaffold_service import ScaffoldService
    from tac_bootstrap.domain.manifest import MergeKind

    plan = ScaffoldService().build_plan(config)
    paths, workflow = config.paths, config.workflow
    return DoctorInputs(
        config_message=(
            f"{CONFIG_FILENAME} is valid (project {config.project.name!r}, "
            f"{config.project.language.value})"
        ),
        adws_dir=paths.adws_dir,
        claude_dir=paths.claude_dir,
        logs_dir=paths.logs_dir,
        schema_dir=config.schema_dir,
        worktrees_dir=workflow.worktrees_dir,
        isolation=workflow.isolation,
        agent_cli=config.agentic.agent_cli,
        database=config.orchestrator.database,
        busy_timeout_ms=config.orchestrator.busy_timeout_ms,
        commands={name: getattr(config.commands, name).strip() for name in COMMAND_FIELDS},
        generated=tuple(op.path for op in plan.files),
        shared=tuple(op.path for op in plan.files if op.merge is not MergeKind.WHOLE),
    )


def load_inputs(root: Path) -> tuple[DoctorInputs, TacConfig | None]:
    """The inputs of the project at ``root`` and, when it had to be loaded, its config.

    From the memo while the config's bytes are as recorded (the config is then None: a fix
    loads it when it needs it); else from the validated config (ConfigError as `load_config`
    raises it), recorded for next time."""
    real_root = os.path.realpath(root)
    remembered = _remembered(real_root)
    if remembered is not None:
        return remembered, None
    from tac_bootstrap.infrastructure.config_loader import load_config_and_text

    config, text = load_config_and_text(root / CONFIG_FILENAME)
    inputs = inputs_of(config)
    if not memo_store.disabled() and not names_a_server(inputs.database):
        body = {
            "config": memo_store.state_of(real_root, CONFIG_FILENAME, text.encode("utf-8")),
            "inputs": asdict(inputs),
        }
        memo_store.save(KIND, real_root, body)
    return inputs, config


def _remembered(real_root: str) -> DoctorInputs | None:
    memo = memo_store.load_for_config(KIND, real_root)
    if memo is None:
        return None
    try:
        return _from_json(memo["inputs"])
    except (KeyError, TypeError):
        return None


def _from_json(data: Any) -> DoctorInputs | None:
    """The inputs a memo holds, if it holds exactly the fields, each of its type."""
    names = [f.name for f in fields(DoctorInputs)]
    if not isinstance(data, dict) or sorted(data) != sorted(names):
        return None
    values = dict(data)
    commands, generated, shared = values["commands"], values["generated"], values["shared"]
    if not isinstance(commands, dict) or sorted(commands) != sorted(COMMAND_FIELDS):
        return None
    if not all(isinstance(item, list) for item in (generated, shared)):
        return None
    texts = [values[name] for name in names if name not in _NOT_TEXT]
    texts += [*commands.values(), *generated, *shared]
    if not all(isinstance(text, str) for text in texts):
        return None
    if type(values["busy_timeout_ms"]) is not int:
        return None
    values["generated"], values["shared"] = tuple(generated), tuple(shared)
    return DoctorInputs(**values)


_NOT_TEXT = ("busy_timeout_ms", "commands", "generated", "shared")
