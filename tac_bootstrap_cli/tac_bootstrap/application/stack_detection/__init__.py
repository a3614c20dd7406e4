"""Detect an existing repository's stack from its own files (for `add-agentic`).

Pure reading: nothing here writes, runs a tool or touches the network, and no file can make it
crash. A file that cannot be read or parsed becomes evidence ("unreadable: ...") and detection
goes on with what the other files say. Only the given root is examined (plus a few well-known
subdirectories such as ``cmd/`` or ``spec/``); ``workspaces`` finds the parts of a monorepo and
detects each with ``detect_stack``.

Weighing, not precedence. A repository often has markers of several ecosystems: a Python
backend with a ``package.json`` for husky, a Go service with a ``requirements.txt`` for its
docs. Each ecosystem's detector (registered in ``_DETECTORS``, one per registry ecosystem)
reads its files into a candidate; ``weighting`` scores the candidates (manifest, lock file,
framework, entry point, what the CI runs) and the highest is the primary stack, a tie going to
the registry's ``detection_rank`` order (Go, Rust, Java, Python, Ruby, JavaScript/TypeScript).
The evidence says why the primary won; the others are listed.

Commands, for each field, the first of:

1. what the CI runs (``ci`` finds the commands, ``commands`` says which field each is) with the
   primary stack's tools or through make, pre-commit or a repository script; not a format
   script the primary stack knows only checks, nor an installer of the program itself;
2. a target of the root ``Makefile`` (``makefile``; an interactive install target is a warning,
   one that installs the built program is not an install command), else a ``justfile`` recipe
   or a ``Taskfile.yml`` task (``taskfiles``), else the repository's own ``scripts/test``. Build,
   format and lint recipes are judged by what they run (``recipes``): an install-only build, a
   justfile formatting itself, a lint that runs no linter (when a declared linter can replace
   it) are set aside, also when a CI runs them; a CI step running several recipes (``just lint
   test``) gives one command per field;
3. the primary stack's own files (scripts, tool sections, plugins, wrappers);
4. what the CI or the files of the other stacks give (said in the evidence), except start and
   install: another stack's start (a docs site, an asset watcher) is not the project's.

The project name comes from the primary stack's manifest, else the directory (``names``).
The package: ``model`` (shared types), ``reading`` (files read without failing), one module per
ecosystem (Python's task tables in ``python_tasks``, its install in ``python_install``),
``makefile``, ``taskfiles``, ``target_names``, ``recipes`` (a recipe judged by its body),
``ci``, ``commands`` (with
``toolchain_commands`` and ``shellwords``), ``installers`` (a CI's install script: the
dependencies' or the program's own), ``weighting``, ``names``, ``workers`` (the start of a
service nothing else starts: Procfile, a Celery worker); this module combines them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from tac_bootstrap.domain.config import CommandsSection, Language, PackageManager
from tac_bootstrap.domain.stacks import COMMAND_NAMES, detection_precedence

from .ci import CiStep, ci_steps
from .commands import Classified, Skipped, classify_each
from .go import detect_go
from .installers import installs_the_program
from .java import detect_java
from .makefile import makefile_commands, makefile_targets
from .model import Candidate, DetectedStack, Evidence
from .names import FALLBACK_NAME, project_name, project_name_from_dir
from .node import detect_node
from .python import detect_python
from .reading import MAX_FILE_BYTES, Reader
from .ruby import detect_ruby
from .rust import detect_rust
from .target_names import MAKE_TARGETS
from .taskfiles import repository_test_script, task_file_commands
from .toolchain_commands import selects_a_variant
from .weighting import explanation, rank, summary, weigh
from .workers import worker_start

__all__ = [
    "FALLBACK_NAME",
    "MAKE_TARGETS",
    "MAX_FILE_BYTES",
    "PRECEDENCE",
    "CiStep",
    "DetectedStack",
    "Evidence",
    "detect_stack",
    "makefile_targets",
    "project_name_from_dir",
]


PRECEDENCE = detection_precedence()

# Findings that report a file as unusable start with one of these.
_PROBLEMS = ("unreadable", "larger than")
_MAX_SKIPPED_SHOWN = 5
# Another stack's start (a docs site, an asset watcher) or install is not the project's own.
_NOT_BORROWED = ("start", "install")
_PRE_COMMIT = ".pre-commit-config.yaml"
# Ecosystems whose lint command is the toolchain's own (go vet, cargo clippy): not declared.
_TOOLCHAIN_LINT = ("go", "rust")
_PYTHON_RUNNERS = ("uv ", "poetry ", "pipenv ", "pdm ", "rye ", "hatch ")


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


class _CiCommand(NamedTuple):
    found: Classified
    step: CiStep


def _ci_commands(files: Reader, evidence: list[Evidence], part: str) -> list[_CiCommand]:
    """The CI's project commands that run in ``part`` ("" = the root); skipped ones said (a
    few) in the evidence."""
    found: list[_CiCommand] = []
    elsewhere: set[str] = set()
    skipped = 0
    for step, result in (
        (s, r) for s in ci_steps(files, evidence) for r in classify_each(s.command)
    ):
        if step.directory != part:
            elsewhere.add(step.directory or ".")
        elif isinstance(result, Skipped):
            skipped += 1
            if skipped <= _MAX_SKIPPED_SHOWN:
                evidence.append(
                    Evidence(step.file, f"`{step.command}` ({step.where}) {result.why}")
                )
        elif result.field == "install" and (
            why := installs_the_program(files, result.command, step.directory)
        ):
            evidence.append(Evidence(step.file, f"`{step.command}` ({step.where}): {why}"))
        else:
            found.append(_CiCommand(result, step))
    if elsewhere:
        dirs = ", ".join(sorted(f"{d}/" for d in elsewhere))
        here = f"{part}/" if part else "the root"
        evidence.append(Evidence(".github", f"CI commands run in {dirs}: not {here}'s commands"))
    return found


def _runs_unfit(command: str, unfit: list[str]) -> bool:
    """A CI's ``just build`` whose recipe only installs is not the build either."""
    return any(command == u or command.startswith(u + " ") for u in unfit)


def _adapted(x: _CiCommand, primary: Candidate | None) -> str:
    """A Python command from CI that ran in an environment CI prepared (pip installed the tool,
    or the script activated a virtualenv) runs through the project's runner here."""
    command = x.found.command
    if primary is None or primary.ecosystem != "python" or command.startswith(_PYTHON_RUNNERS):
        return command
    if x.found.ecosystem != "python" and not x.step.venv:
        return command
    return primary.package_manager.spec.fields.get("run", "") + command


def _belongs(found: Classified, primary: Candidate | None) -> bool:
    if found.ecosystem is None:
        return True
    if primary is None:
        return found.ecosystem == "python"  # the assumed stack
    wrong_tool = found.tool is not None and found.tool != primary.package_manager.value
    return found.ecosystem == primary.ecosystem and not wrong_tool


def _merge(
    ranked: list[Candidate],
    ci: list[_CiCommand],
    make: dict[str, str],
    evidence: list[Evidence],
    pre_commit: bool,
) -> dict[str, str]:
    """Each field from the CI, the Makefile, the primary stack, then the others (see above)."""
    primary = ranked[0] if ranked else None
    own = primary.commands if primary else {}
    stack = primary.language.value if primary else "python"
    commands: dict[str, str] = {}
    check_only = primary.check_only if primary else set()
    for key in COMMAND_NAMES:
        fits = [
            x
            for x in ci
            if x.found.field == key
            and _belongs(x.found, primary)
            and x.found.command not in check_only
        ]
        # Of a feature matrix (cargo check, then --no-default-features), the plain command.
        plain = [x for x in fits if not selects_a_variant(x.found.command)]
        from_ci = next(iter(plain or fits), None)
        if from_ci is not None:
            commands[key] = _adapted(from_ci, primary)
            evidence.append(
                Evidence(from_ci.step.file, f"{key}: `{commands[key]}` — {from_ci.step.where}")
            )
        elif key in make:
            commands[key] = make[key]
        elif own.get(key):
            commands[key] = own[key]
        elif key not in _NOT_BORROWED:
            borrowed = _borrowed(key, ranked[1:], ci, primary)
            if borrowed is not None:
                commands[key], file, where = borrowed
                found = f"{key}: `{commands[key]}` from {where}; {stack} gives none"
                evidence.append(Evidence(file, found))
    if not commands.get("lint") and pre_commit:
        # The hooks are the repository's declared linters, whatever their languages.
        commands["lint"] = "pre-commit run --all-files"
        evidence.append(Evidence(_PRE_COMMIT, f"no linter otherwise -> lint: {commands['lint']}"))
    return commands


def _borrowed(
    key: str, others: list[Candidate], ci: list[_CiCommand], primary: Candidate | None
) -> tuple[str, str, str] | None:
    """(command, file, where) another stack gives for ``key``: its CI's, else its files'."""
    for x in ci:
        if x.found.field == key and not _belongs(x.found, primary):
            return x.found.command, x.step.file, f"the CI ({x.step.where})"
    for other in others:
        if other.commands.get(key):
            file = other.markers[0] if other.markers else "."
            return other.commands[key], file, f"the {other.language.value} stack"
    return None


def detect_stack(root: Path, *, ci_root: Path | None = None, part: str = "") -> DetectedStack:
    """What the repository at ``root`` is made of. Reads files only; never raises for their
    content (a missing, unreadable or malformed file is evidence, not an error).

    For one part of a monorepo (``root`` is ``ci_root / part``), pass the repository's root as
    ``ci_root`` and the part's relative path: the CI files are the repository's, and the CI
    commands that run in ``part`` (``working-directory: part``, ``cd part``) are the part's."""
    files = Reader(root)
    candidates = [c for c in (_DETECTORS[name](files) for name in PRECEDENCE) if c is not None]
    ci_evidence: list[Evidence] = []
    ci_files = Reader(ci_root) if ci_root is not None else files
    ci = _ci_commands(ci_files, ci_evidence, part.strip("/") if ci_root is not None else "")
    weigh(files, candidates, [x.found for x in ci])
    ranked = rank(candidates, PRECEDENCE)
    primary = ranked[0] if ranked else None
    name, name_evidence = project_name(
        files, primary.ecosystem if primary else None, root.resolve().name
    )
    evidence = [name_evidence]
    if primary is not None:
        evidence += primary.evidence
        evidence.append(explanation(ranked))
        for other in ranked[1:]:
            evidence.append(
                Evidence(", ".join(other.markers), f"also {summary(other)}; not primary")
            )
            # What could not be read is worth knowing even about a secondary stack.
            evidence += [e for e in other.evidence if e.finding.startswith(_PROBLEMS)]
        language, framework, pm = primary.language, primary.framework, primary.package_manager
    else:
        evidence.append(
            Evidence(".", "no language markers found; assuming python (change it if wrong)")
        )
        language, framework, pm = Language.PYTHON, "none", PackageManager.PIP
    evidence += ci_evidence
    pre_commit = files.is_file(_PRE_COMMIT)
    # A lint recipe that runs no linter gives way to the linters the repository declares.
    declared_linter = pre_commit or bool(
        primary and primary.commands.get("lint") and primary.ecosystem not in _TOOLCHAIN_LINT
    )
    unfit: list[str] = []
    make, warnings = makefile_commands(files, evidence, declared_linter, unfit)
    for key, command in task_file_commands(files, evidence, declared_linter, unfit).items():
        make.setdefault(key, command)  # a Makefile's target first
    test_script = repository_test_script(files)
    if test_script and "test" not in make:
        make["test"] = test_script
        evidence.append(
            Evidence(
                test_script.split()[-1], f"the repository's test script -> test: {test_script}"
            )
        )
    ci = [x for x in ci if not _runs_unfit(x.found.command, unfit)]
    commands = _merge(ranked, ci, make, evidence, pre_commit)
    if not commands.get("start") and (worker := worker_start(files, evidence)):
        commands["start"] = worker
    return DetectedStack(
        name=name,
        language=language,
        framework=framework,
        package_manager=pm,
        commands=CommandsSection(**commands),
        evidence=tuple(evidence),
        ecosystems=tuple(c.ecosystem for c in ranked),
        warnings=tuple(warnings),
    )
