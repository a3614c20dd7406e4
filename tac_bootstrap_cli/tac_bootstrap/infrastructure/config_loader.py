"""Read and write tac_bootstrap.yml, reporting errors with file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tac_bootstrap.domain.config import CONFIG_FILENAME, TacConfig
from tac_bootstrap.domain.errors import ConfigError


def config_path(project_dir: Path) -> Path:
    return project_dir / CONFIG_FILENAME


def load_config(path: Path) -> TacConfig:
    """Parse and validate a config file; every failure is a ConfigError naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no config file found",
            hint="run `tac-bootstrap init NAME` to create a project, or pass the project path",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc})") from None
    return parse_config(text, str(path))


def parse_config(text: str, source: str) -> TacConfig:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ConfigError(f"{source}: config file is empty", hint="see `tac-bootstrap init`")
        _reject_duplicate_keys(root, source)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise ConfigError(f"{where}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}:{root.start_mark.line + 1}: the config must be a mapping of sections "
            "(project, paths, commands, agentic, orchestrator)"
        )
    try:
        return TacConfig.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, root, source) from None


def _reject_duplicate_keys(node: yaml.Node, source: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"{source}:{line}: duplicate key {key!r} (first set on line {seen[key]})",
                    hint="keep only one",
                )
            seen[key] = line
            _reject_duplicate_keys(value_node, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item, source)


def _line_of(root: yaml.Node, loc: tuple[int | str, ...]) -> int:
    """The 1-based line of the deepest YAML node along a Pydantic error location."""
    node = root
    line = root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((kv for kv in node.value if kv[0].value == part), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _config_error(exc: ValidationError, root: yaml.Node, source: str) -> ConfigError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(first["loc"])
    field = ".".join(str(p) for p in loc) or "(top level)"
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
        hint = "remove it or check its spelling"
    elif first["type"] == "missing":
        hint = "add it"
    else:
        hint = "fix the value"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return ConfigError(
        f"{source}:{_line_of(root, loc)}: field '{field}': {message}{more}", hint=hint
    )
