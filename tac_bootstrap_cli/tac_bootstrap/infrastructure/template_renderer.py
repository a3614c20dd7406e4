"""Jinja2 rendering with StrictUndefined: a missing variable is an error, never a blank.

Every string of the render context is a ``ConfigStr`` (data from the user's config): printing
one without an escaping filter of ``escaping.py`` fails the render, so no template can paste a
config value raw into code, JSON, YAML or Markdown.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Iterator
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel

from tac_bootstrap.domain.errors import TemplateError
from tac_bootstrap.domain.markdown_section import BEGIN as SECTION_BEGIN
from tac_bootstrap.domain.markdown_section import END as SECTION_END
from tac_bootstrap.infrastructure.escaping import FILTERS
from tac_bootstrap.infrastructure.filesystem import user_cache_dir
from tac_bootstrap.infrastructure.jinja_options import (
    ConfigStr,
    UnescapedConfigValue,
    environment,
)
from tac_bootstrap.infrastructure.precompiled_templates import COMPILED_DIR, PrecompiledLoader

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


class ConfigView:
    """A config model seen by a template: attributes, items and iteration give tainted values."""

    __slots__ = ("_model",)

    def __init__(self, model: BaseModel) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        return tainted(getattr(self._model, name))

    def __getitem__(self, name: str) -> Any:
        return tainted(getattr(self._model, name))

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for name, value in self._model:
            yield name, tainted(value)

    def __bool__(self) -> bool:
        return True


def tainted(value: Any) -> Any:
    """``value`` with every string in it a ConfigStr (enum members are the code's own)."""
    if isinstance(value, ConfigStr | Enum | bool | int | float) or value is None:
        return value
    if isinstance(value, str):
        return ConfigStr(value)
    if isinstance(value, BaseModel):
        return ConfigView(value)
    if isinstance(value, dict):
        return {tainted(k): tainted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(tainted(v) for v in value)
    return value


class TaintedContext(dict[str, Any]):
    """A render context already passed through ``tainted``: reused for every file of a plan."""

    __slots__ = ()


def tainted_context(context: dict[str, Any]) -> TaintedContext:
    return TaintedContext(tainted(context))


def _plain(value: Any) -> Any:
    """What ``tojson`` serialises: the models behind the views."""
    if isinstance(value, ConfigView):
        return value._model.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dumps(value: Any, **kwargs: Any) -> str:
    return json.dumps(value, default=_plain, **kwargs)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Templates the build did not compile (an edited checkout, another jinja2), compiled once
    per user: compiling all of them costs ~0.35 s.

    Entries are keyed by template name and source checksum, so an edited or upgraded template
    is recompiled; an unusable cache directory just means no cache.
    """
    # "jinja-f": templates compiled with the finalize check (the cache key ignores settings).
    directory = os.path.join(user_cache_dir(), "jinja-f")
    try:
        os.makedirs(directory, exist_ok=True)
        if not os.access(directory, os.W_OK):
            return None
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(directory)


@cache
def _environment(root: str, compiled: str) -> jinja2.Environment:
    # Modules compiled at build time first; a template without one is compiled from source,
    # through the per-user cache.
    loader = PrecompiledLoader(Path(root), Path(compiled))
    env = environment(loader, bytecode_cache=_bytecode_cache())
    # The markers of the part of a shared Markdown file we own (CLAUDE.md): one definition.
    env.globals.update(section_begin=SECTION_BEGIN, section_end=SECTION_END)
    env.policies["json.dumps_function"] = _dumps
    return env


class TemplateRenderer:
    def __init__(
        self, templates_dir: Path = TEMPLATES_DIR, compiled_dir: Path = COMPILED_DIR
    ) -> None:
        self.templates_dir = templates_dir
        self.env = _environment(str(templates_dir), str(compiled_dir))

    def render(self, name: str, context: dict[str, Any]) -> str:
        if not isinstance(context, TaintedContext):
            context = tainted_context(context)
        try:
            return self.env.get_template(name).render(context)
        except UnescapedConfigValue as exc:
            raise TemplateError(
                f"template {self._where(name, exc)}: config value {str(exc.args[0])[:40]!r} "
                "printed without an escaping filter",
                f"pass it through the filter of the target language ({', '.join(sorted(FILTERS))})",
            ) from None
        except TemplateError as exc:
            raise TemplateError(f"template {self._where(name, exc)}: {exc.message}") from None
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
