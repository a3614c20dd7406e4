"""The jinja2 options every template is compiled and rendered with, defined once.

The renderer reads them at run time and the template compiler at build time (hatch_build.py),
where only jinja2 is installed: this module and the filters import nothing else. A module
compiled under other options, filters or jinja2 is never used (``compile_key``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import jinja2

from tac_bootstrap.infrastructure import escaping
from tac_bootstrap.infrastructure.escaping import FILTERS


class ConfigStr(str):
    """A string from the render context: printable only through an escaping filter."""

    __slots__ = ()


class UnescapedConfigValue(Exception):
    """A ConfigStr reached the output without a filter."""


def finalize(value: Any) -> Any:
    """Every printed value passes here: a config string printed raw stops the render."""
    if isinstance(value, ConfigStr):
        raise UnescapedConfigValue(value)
    return value


OPTIONS: dict[str, Any] = {
    "undefined": jinja2.StrictUndefined,
    "keep_trailing_newline": True,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "autoescape": False,
    "finalize": finalize,
}


def environment(loader: jinja2.BaseLoader, **settings: Any) -> jinja2.Environment:
    """An environment with our options and escaping filters (jinja2 checks a filter's name
    when it compiles a template, and calls the filter by that name when it renders)."""
    env = jinja2.Environment(loader=loader, **OPTIONS, **settings)
    env.filters.update(FILTERS)
    return env


def _code_digest() -> str:
    """The filters' and these options' source: jinja2 runs a filter applied to a literal while
    it compiles, so the module holds that filter's output."""
    digest = hashlib.sha256()
    for module_file in (escaping.__file__, __file__):
        try:
            digest.update(Path(module_file).read_bytes())
        except (OSError, TypeError):  # no source at hand: never the build's key
            return "unknown"
    return digest.hexdigest()[:16]


def compile_key() -> str:
    """What the generated code depends on: jinja2's version, the options, the filters (their
    names and their code)."""

    def shown(value: Any) -> str:
        if callable(value):  # the function or class itself, by name
            return f"{value.__module__}.{value.__qualname__}"
        return repr(value)

    options = ",".join(f"{key}={shown(value)}" for key, value in sorted(OPTIONS.items()))
    filters = ",".join(sorted(FILTERS))
    return f"jinja2 {jinja2.__version__}; {options}; filters={filters}; code={_code_digest()}"
