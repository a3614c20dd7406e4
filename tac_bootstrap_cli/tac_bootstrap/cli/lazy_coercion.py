"""typer's parameter coercion, built when a value needs it rather than for every parameter.

typer (0.2x) coerces each non-bool parameter through a pydantic ``TypeAdapter`` that it builds
before looking at the value, so a command pays for importing pydantic (~100 ms, half of a
minimal typer app's command) even when every option was left out. A parameter left out has
the value None (or an empty tuple), which typer's own ``RuntimeParam.coerce`` answers without
the adapter: this wrapper lets it, and builds typer's real coercion the first time a value is
given. The result is typer's own, value for value; only the moment the adapter is built moves.

It relies on typer's private ``_TyperParameter._runtime_param``; on a typer without it,
``defer_coercion`` does nothing and typer behaves as it always does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

try:
    from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
    from typer.core import _TyperParameter
except ImportError:  # pragma: no cover - a typer without runtime coercion objects
    RuntimeParam = None  # type: ignore[assignment,misc]


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class _Deferred(RuntimeParam):
        """Coerces a given value with typer's own RuntimeParam, built then."""

        descriptor: TypeDescriptor

        def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Any) -> Any:
            real = build_runtime_param(self.descriptor)
            param._runtime_param = real  # the next value goes straight to it
            return real._coerce_value(value, param=param, ctx=ctx)


def defer_coercion(params: Iterable[object]) -> None:
    """Give every typer parameter whose coercion is not built yet the deferred one."""
    if RuntimeParam is None:  # pragma: no cover
        return
    for param in params:
        if isinstance(param, _TyperParameter) and param._runtime_param is None:
            descriptor = param.type_descriptor
            param._runtime_param = _Deferred(
                parameter_info=descriptor.parameter_info,
                annotation=descriptor.annotation,
                descriptor=descriptor,
            )
