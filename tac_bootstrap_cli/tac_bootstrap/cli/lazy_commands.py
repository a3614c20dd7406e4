"""Subcommands turned into click commands when they are looked up, not all at start-up.

Before parsing anything, typer turns every registered command into a click command, reading
each one's signature and evaluating its annotations: ~30 ms for our twenty-odd commands, paid
by every invocation although one command runs. `LazyTyper` has typer build each group without
its subcommands and gives the group a `LazyCommands` mapping instead: every name is known from
the start (listing, help, completion, "did you mean"), and a name's command is built by
typer's own `get_command_from_info` the first time click asks for it (a group's help asks for
all of its own, for their summaries). The commands are typer's,
parameter for parameter (tests/test_lazy_commands.py compares them with typer's eager build).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, MutableMapping
from functools import partial
from typing import Any

import typer
from typer.main import (
    get_command_from_info,
    get_command_name,
    get_group_from_info,
    get_install_completion_arguments,
    solve_typer_info_defaults,
)
from typer.models import TyperInfo

Builder = Callable[[], Any]  # () -> a click Command


class LazyCommands(MutableMapping[str, Any]):
    """A group's commands by name, in registration order, each built on first access."""

    def __init__(self, builders: dict[str, Builder]) -> None:
        self._builders = dict(builders)
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = self._builders[name]()  # KeyError for an unknown name
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command
        self._builders.setdefault(name, lambda: command)

    def __delitem__(self, name: str) -> None:
        del self._builders[name]
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)

    def __contains__(self, name: object) -> bool:
        return name in self._builders

    def built(self) -> list[str]:
        """The names whose command exists by now (what an invocation cost)."""
        return [name for name in self._builders if name in self._built]


class LazyTyper(typer.Typer):
    """A typer app whose `__call__` builds only the commands the command line names."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.click_command()(*args, **kwargs)

    def click_command(self) -> Any:
        """What typer.main.get_command builds for a group app, with lazy commands: the root
        group, and typer's completion options when the app asked for them."""
        group = lazy_group(self)
        if self._add_completion:
            group.params.extend(get_install_completion_arguments())
        return group


def lazy_group(app: typer.Typer, info: TyperInfo | None = None, **options: Any) -> Any:
    """The click group of ``app`` (registered as ``info`` under a parent) with lazy commands;
    ``options`` are the root app's pretty_exceptions_short, rich_markup_mode and
    suggest_commands, which typer hands down to every level."""
    options = options or {
        "pretty_exceptions_short": app.pretty_exceptions_short,
        "rich_markup_mode": app.rich_markup_mode,
        "suggest_commands": app.suggest_commands,
    }
    bare = copy.copy(app)
    bare.registered_commands, bare.registered_groups = [], []
    bare_info = copy.copy(info) if info is not None else TyperInfo(bare)
    bare_info.typer_instance = bare
    group = get_group_from_info(bare_info, **options)
    command_options = {key: options[key] for key in ("pretty_exceptions_short", "rich_markup_mode")}
    builders: dict[str, Builder] = {}
    for command_info in app.registered_commands:
        callback = command_info.callback
        name = command_info.name or (get_command_name(callback.__name__) if callback else None)
        if name:
            builders[name] = partial(get_command_from_info, command_info, **command_options)
    for sub_info in app.registered_groups:
        name = solve_typer_info_defaults(sub_info).name
        sub_app = sub_info.typer_instance
        if not name or sub_app is None:  # a nameless group merges its commands: build it now
            merged = get_group_from_info(sub_info, **options).commands
            builders.update({key: partial(merged.get, key) for key in merged})
            continue
        builders[name] = partial(lazy_group, sub_app, sub_info, **options)
    group.commands = LazyCommands(builders)
    return group
