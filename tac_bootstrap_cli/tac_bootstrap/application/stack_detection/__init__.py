"""Detect an existing repository's stack from its own files (for `add-agentic`).

Pure reading: nothing here writes, runs a tool or touches the network, and no file can make it
crash. A file that cannot be read or parsed becomes evidence ("unreadable: ...") and detection
goes on with what the other files say. Only the repository root is examined (plus a few
well-known subdirectories such as ``cmd/`` or ``spec/``), not the packages of a monorepo.

Precedence. A repository often has markers of several ecosystems: a Python backend with a
``package.json`` for its assets, a Go service with a ``requirements.txt`` for its docs tooling.
The primary stack is the first found in the order of the registry's ``detection_rank``
(domain/stacks; each record also names its marker files); the others are kept in the evidence.
Today:

1. Go (``go.mod``)
2. Rust (``Cargo.toml``)
3. Java (``pom.xml``, then ``build.gradle`` / ``build.gradle.kts``)
4. Python (``pyproject.toml``, ``setup.cfg``, ``setup.py``, ``requirements*.txt``, ``Pipfile``)
5. Ruby (``Gemfile``)
6. JavaScript / TypeScript (``package.json``)

Compiled-language manifests rarely appear by accident, Python and Ruby files often hold
tooling for another stack (docs, scripts), and ``package.json`` most often of all: it comes last.

Commands come from the ecosystem's own files (tool sections, scripts, plugins, wrappers).
Finally, targets of a root ``Makefile`` (test, lint, typecheck/type-check, fmt/format,
start/run/serve, build, install) override the detected command with ``make <target>``: a
repository's Makefile is the entry point its developers use.

The package: ``model`` (shared types), ``reading`` (files read without failing), one module
per ecosystem (registered in ``_DETECTORS``), ``makefile``; this module ranks their findings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

from tac_bootstrap.domain.config import (
    CommandsSection,
    Language,
    PackageManager,
    validate_project_name,
)
from tac_bootstrap.domain.stacks import detection_precedence

from .go import detect_go
from .java import detect_java
from .makefile import MAKE_TARGETS, apply_makefile, makefile_targets
from .model import Candidate, DetectedStack, Evidence
from .node import detect_node
from .python import detect_python
from .reading import MAX_FILE_BYTES, Reader
from .ruby import detect_ruby
from .rust import detect_rust

__all__ = [
    "FALLBACK_NAME",
    "MAKE_TARGETS",
    "MAX_FILE_BYTES",
    "PRECEDENCE",
    "DetectedStack",
    "Evidence",
    "detect_stack",
    "makefile_targets",
    "project_name_from_dir",
]


PRECEDENCE = detection_precedence()

FALLBACK_NAME = "project"
# Findings that report a file as unusable start with one of these.
_PROBLEMS = ("unreadable", "larger than")


# -- project name ----------------------------------------------------------------------------


def project_name_from_dir(dirname: str) -> str:
    """A valid project name from a directory name: 'My Repo (v2)' -> 'My-Repo-v2'."""
    ascii_name = unicodedata.normalize("NFKD", dirname).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name)
    name = re.sub(r"-{2,}", "-", name).lstrip("._-").rstrip(".-")
    if not name:
        return FALLBACK_NAME
    try:
        return validate_project_name(name)
    except ValueError:  # pragma: no cover - the substitutions above make it valid
        return FALLBACK_NAME


# -- the whole detection --------------------------------------------------------------------

# One per ecosystem of the registry (tests/test_stacks.py checks that none is missing).
_DETECTORS: dict[str, Callable[[Reader], Candidate | None]] = {
    "go": detect_go,
    "rust": detect_rust,
    "java": detect_java,
    "python": detect_python,
    "ruby": detect_ruby,
    "node": detect_node,
}


def detect_stack(root: Path) -> DetectedStack:
    """What the repository at ``root`` is made of. Reads files only; never raises for their
    content (a missing, unreadable or malformed file is evidence, not an error)."""
    files = Reader(root)
    candidates = [c for c in (_DETECTORS[name](files) for name in PRECEDENCE) if c is not None]
    name = project_name_from_dir(root.resolve().name)
    evidence: list[Evidence] = []
    if candidates:
        primary = candidates[0]
        evidence += primary.evidence
        commands = dict(primary.commands)
        for other in candidates[1:]:
            stack = other.language.value
            if other.framework != "none":
                stack += f"/{other.framework}"
            evidence.append(
                Evidence(
                    ", ".join(other.markers),
                    f"also a {stack} stack ({other.package_manager.value}); not primary: "
                    f"{primary.language.value} comes first (precedence {' > '.join(PRECEDENCE)})",
                )
            )
            # What could not be read is worth knowing even about a secondary stack.
            evidence += [e for e in other.evidence if e.finding.startswith(_PROBLEMS)]
        language, framework, pm = primary.language, primary.framework, primary.package_manager
    else:
        evidence.append(
            Evidence(".", "no language markers found; assuming python (change it if wrong)")
        )
        commands = {}
        language, framework, pm = Language.PYTHON, "none", PackageManager.PIP
    apply_makefile(files, commands, evidence)
    return DetectedStack(
        name=name,
        language=language,
        framework=framework,
        package_manager=pm,
        commands=CommandsSection(**commands),
        evidence=tuple(evidence),
        ecosystems=tuple(c.ecosystem for c in candidates),
    )
