"""The types every detector shares: what a file told us, and what one ecosystem looks like.

Detectors fill a mutable ``Candidate`` as they read; only the primary one becomes the frozen
``DetectedStack`` that callers see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from tac_bootstrap.domain.config import CommandsSection, Language, PackageManager


class Evidence(NamedTuple):
    """One file and what it told us."""

    file: str
    finding: str


@dataclass(frozen=True)
class DetectedStack:
    # From the primary stack's manifest (pyproject.toml, package.json, ...), else the
    # directory's name; sanitised into a valid project name either way.
    name: str
    language: Language
    framework: str
    package_manager: PackageManager
    commands: CommandsSection
    evidence: tuple[Evidence, ...] = ()
    # Ecosystems whose markers were found, the primary first (empty: nothing recognised).
    ecosystems: tuple[str, ...] = ()
    # What a person should know before using the values (an interactive install target).
    warnings: tuple[str, ...] = ()

    @property
    def recognised(self) -> bool:
        return bool(self.ecosystems)


@dataclass
class Candidate:
    """What one ecosystem's files say; the primary one becomes the DetectedStack."""

    ecosystem: str
    language: Language
    package_manager: PackageManager
    framework: str = "none"
    commands: dict[str, str] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)
    # Commands of this stack (as a CI may spell them) that only check the formatting: never
    # the format command, even when the CI runs them.
    check_only: set[str] = field(default_factory=set)
    # (points, why): how strongly the files say this is the repository's stack (weighting).
    weights: list[tuple[int, str]] = field(default_factory=list)

    def weigh(self, points: int, why: str) -> None:
        self.weights.append((points, why))

    @property
    def score(self) -> int:
        return sum(points for points, _ in self.weights)

    def note(self, file: str, finding: str) -> None:
        self.evidence.append(Evidence(file, finding))

    def set_framework(self, framework: str, file: str, why: str) -> None:
        if framework in self.language.stack.framework_names:
            self.framework = framework
            self.note(file, f"{why} -> framework {framework}")
        else:
            self.note(file, f"{why}, but {framework} is not a {self.language.value} framework here")


def first(names: Iterable[str], wanted: Iterable[str]) -> str | None:
    """The first of ``wanted`` present in ``names``: ``wanted`` is in order of preference."""
    have = set(names)
    return next((name for name in wanted if name in have), None)
