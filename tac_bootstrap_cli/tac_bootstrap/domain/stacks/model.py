"""The shape of one stack's record: what detection, the config and the templates know of it.

Named tuples, stdlib only: the CLI's help text reads the registry at start-up, before pydantic
is imported, and a NamedTuple class costs a quarter of a frozen dataclass to create.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

# The commands a project config holds (CommandsSection's fields).
COMMAND_NAMES = ("install", "start", "test", "lint", "typecheck", "format", "build")


class PackageManagerSpec(NamedTuple):
    """One package manager (or build tool) of a language."""

    name: str  # the config value (PackageManager)
    executable: str  # the program the commands run; `init` warns when it is missing
    lock_files: tuple[str, ...] = ()  # what a repository using it has committed
    # Words substituted into the language's command patterns ("{run}python -m pytest").
    fields: Mapping[str, str] = {}
    # Command patterns this manager replaces outright (uv: install = "uv sync").
    commands: Mapping[str, str] = {}
    # Adds a dependency and updates the lock file ("" when the language has no such command).
    add_dependency: str = ""


class FrameworkSpec(NamedTuple):
    name: str  # the config value
    display_name: str
    notes: str = ""  # Markdown bullet(s) /prime shows for a project using it
    commands: Mapping[str, str] = {}  # overrides, as for a manager


NO_FRAMEWORK = FrameworkSpec("none", "none")


class LanguageSpec(NamedTuple):
    """Everything the tool knows about one language; see CONTRIBUTING.md, "Adding a stack"."""

    name: str  # the config value (Language)
    display_name: str
    # Detection: the detector of ``ecosystem`` (application/stack_detection) runs when one of
    # ``markers`` (file names or glob patterns, at the repository root) exists; ecosystems are
    # tried by ascending ``detection_rank`` and the first found is the primary stack.
    ecosystem: str
    detection_rank: int
    markers: tuple[str, ...]
    package_managers: tuple[PackageManagerSpec, ...]  # the first is the default
    frameworks: tuple[FrameworkSpec, ...]  # "none" first; the order of prompts and messages
    # (dependency, framework) pairs in order of precedence, first match wins: what a
    # dependency means (a package name, a module prefix, a text in the build file) is up to
    # the ecosystem's detector.
    framework_markers: tuple[tuple[str, str], ...]
    # Default command patterns; {fields} come from the package manager, {pm} is its name.
    commands: Mapping[str, str]
    source_ext: str  # file extension of source files, without the dot
    test_location: str  # Markdown: where a test of <module> goes (plan templates)
    doc_comments: str  # Markdown: what documents a public API (/document)
    # Jinja partial with the stack's prose macros: plan_notes, implement_notes, prime_notes.
    notes_template: str

    @property
    def framework_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.frameworks)

    @property
    def package_manager_names(self) -> tuple[str, ...]:
        return tuple(pm.name for pm in self.package_managers)

    def framework(self, name: str) -> FrameworkSpec:
        """The framework called ``name``; one the registry does not know (a config built without
        validation) is shown under its own name, with no notes and no command overrides."""
        for framework in self.frameworks:
            if framework.name == name:
                return framework
        return FrameworkSpec(name, name)

    def package_manager(self, name: str) -> PackageManagerSpec:
        for pm in self.package_managers:
            if pm.name == name:
                return pm
        raise KeyError(f"{self.name} has no package manager {name!r}")

    def default_commands(self, pm_name: str, framework: str = "none") -> dict[str, str]:
        """The commands of a fresh project: the language's patterns, replaced by the package
        manager's and then the framework's, filled with the package manager's fields."""
        pm = self.package_manager(pm_name)
        patterns = {**self.commands, **pm.commands, **self.framework(framework).commands}
        return {
            key: patterns[key].format(pm=pm.name, **pm.fields)
            for key in COMMAND_NAMES
            if patterns.get(key)
        }
