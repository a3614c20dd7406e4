"""The stack registry: one record per language, read by the config, detection and templates.

A language's record (``LanguageSpec``) holds its package managers, frameworks, detection
markers, default commands and the facts templates print; its prose for the command templates
is the Jinja partial it names (templates/stacks/). ``Language`` and ``PackageManager`` in
``domain.config`` are the validated names of these records. Adding a stack: CONTRIBUTING.md.
"""

from __future__ import annotations

from .go import GO
from .java import JAVA
from .model import COMMAND_NAMES, FrameworkSpec, LanguageSpec, PackageManagerSpec
from .node import JAVASCRIPT, TYPESCRIPT
from .python import PYTHON
from .ruby import RUBY
from .rust import RUST

__all__ = [
    "COMMAND_NAMES",
    "STACKS",
    "FrameworkSpec",
    "LanguageSpec",
    "PackageManagerSpec",
    "detection_precedence",
    "language_help",
    "language_spec",
    "package_manager_names",
    "package_manager_spec",
]

# In the order users see them (help text, prompts); the first is the default language.
STACKS: tuple[LanguageSpec, ...] = (PYTHON, TYPESCRIPT, JAVASCRIPT, GO, RUST, JAVA, RUBY)

_BY_NAME = {spec.name: spec for spec in STACKS}


def language_spec(name: str) -> LanguageSpec:
    """The record of the language called ``name`` (KeyError when there is none)."""
    return _BY_NAME[name]


def package_manager_names() -> tuple[str, ...]:
    """Every package manager once, in registry order (TypeScript and JavaScript share theirs)."""
    return tuple(dict.fromkeys(pm.name for spec in STACKS for pm in spec.package_managers))


def package_manager_spec(name: str) -> PackageManagerSpec:
    """The package manager called ``name``: one record, whichever languages use it."""
    for spec in STACKS:
        for pm in spec.package_managers:
            if pm.name == name:
                return pm
    raise KeyError(f"no package manager {name!r}")


def detection_precedence() -> tuple[str, ...]:
    """Ecosystems in the order detection tries them; the first found is the primary stack."""
    ranked = sorted(STACKS, key=lambda spec: spec.detection_rank)
    return tuple(dict.fromkeys(spec.ecosystem for spec in ranked))


def language_help() -> str:
    """The --language help text: "python, typescript, ... or ruby."."""
    names = [spec.name for spec in STACKS]
    return f"{', '.join(names[:-1])} or {names[-1]}."
