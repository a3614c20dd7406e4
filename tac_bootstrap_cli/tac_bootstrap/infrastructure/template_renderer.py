"""Jinja2 rendering with StrictUndefined: a missing variable is an error, never a blank."""

from __future__ import annotations

import json
import os
import traceback
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from tac_bootstrap.domain.errors import TemplateError

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def _json_str(value: object) -> str:
    """Quote a string for JSON (and for YAML, whose double-quoted scalars accept JSON strings)."""
    return json.dumps(str(value), ensure_ascii=False)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates cached per user: compiling ~30 templates costs ~0.25 s per run.

    Entries are keyed by template name and source checksum, so an edited or upgraded template
    is recompiled; an unusable cache directory just means no cache.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = os.path.join(base, "tac-bootstrap", "jinja")
    try:
        os.makedirs(directory, exist_ok=True)
        if not os.access(directory, os.W_OK):
            return None
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(directory)


@cache
def _environment(root: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["yaml_str"] = _json_str
    env.filters["json_str"] = _json_str
    return env


class TemplateRenderer:
    def __init__(self, templates_dir: Path = TEMPLATES_DIR) -> None:
        self.templates_dir = templates_dir
        self.env = _environment(str(templates_dir))

    def render(self, name: str, context: dict[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(context)
        except jinja2.TemplateSyntaxError as exc:
            where = f"{exc.name or name}:{exc.lineno}"
            raise TemplateError(f"template {where}: syntax error: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template {name}: not found ({exc.name})") from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template {self._where(name, exc)}: {exc.message}") from None

    def _where(self, name: str, exc: BaseException) -> str:
        """Find the innermost template frame in the traceback (Jinja rewrites them)."""
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            path = Path(frame.filename)
            if self.templates_dir in path.parents:
                return f"{path.relative_to(self.templates_dir).as_posix()}:{frame.lineno}"
        return name
