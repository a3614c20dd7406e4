"""JavaScript / TypeScript: package.json.

The project's own scripts are preferred over guessed tool commands: they are what its
developers run, with the flags they chose.
"""

from __future__ import annotations

import re
from typing import Any

from tac_bootstrap.domain.config import PACKAGE_MANAGERS, Language, PackageManager

from .model import Candidate, Evidence, first
from .reading import Reader, table
from .recipes import Recipe, Recipes, verdict
from .shellwords import only_checks


def _lock_files(language: Language) -> list[tuple[str, PackageManager]]:
    """Lock files in order of precedence, the default manager's (npm) last: a stray
    package-lock.json often sits next to the lock file of the manager a project really uses."""
    managers = language.stack.package_managers
    return [
        (lock, PackageManager(pm.name))
        for pm in managers[1:] + managers[:1]
        for lock in pm.lock_files
    ]


_NODE_SCRIPTS = {
    "test": ("test",),
    "lint": ("lint",),
    "typecheck": ("typecheck", "type-check", "check-types", "types", "tsc"),
    "start": ("start", "dev", "serve"),
    "build": ("build",),
}
# Format scripts in order of preference; one that only checks (``prettier --check``) is never
# the format command, its writing sibling is. ``lint:fix`` counts when it runs a formatter.
_FORMAT_SCRIPTS = (
    "format", "fmt", "format:fix", "format:write", "fix:format", "prettier", "prettier:fix",
    "prettier-fix", "prettier:write", "lint:fix",
)  # fmt: skip
_FORMATTER = re.compile(r"\b(prettier|dprint|biome\s+(format|check))\b")
_NPM_PLACEHOLDER_TEST = "no test specified"
# A start script that serves a build (``node dist/main.js``, ``next start``) fails on a fresh
# clone: the dev script is the one that runs from the sources.
# So does one that launches production: a process manager (pm2, forever) or NODE_ENV=production.
_SERVES_A_BUILD = re.compile(
    r"\bnode\s+(\./)?(dist|build|out|lib|\.output)/|\b(next|nuxt|remix-serve|astro|vite)\s+"
    r"(start|preview)\b|\bremix-serve\b|\bserve\s+(-s\s+)?(dist|build)\b"
    r"|\bpm2(-docker|-runtime)?\s+(start|--no-daemon)\b|\bforever\s+start\b"
    r"|\bNODE_ENV=[\"']?production\b"
)


def detect_node(files: Reader) -> Candidate | None:
    if not files.matching(Language.JAVASCRIPT.stack.markers):
        return None
    evidence: list[Evidence] = []
    manifest: dict[str, Any] = files.json_object("package.json", evidence) or {}
    deps: set[str] = set()
    for key in ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies"):
        deps.update(table(manifest, key))
    scripts = {k: v for k, v in table(manifest, "scripts").items() if isinstance(v, str)}

    typescript = "typescript" in deps or files.is_file("tsconfig.json")
    language = Language.TYPESCRIPT if typescript else Language.JAVASCRIPT
    c = Candidate("node", language, PackageManager.NPM, evidence=evidence, markers=["package.json"])
    if "typescript" in deps:
        c.note("package.json", "depends on typescript -> typescript")
    elif typescript:
        c.note("tsconfig.json", "TypeScript compiler settings -> typescript")
    elif manifest:
        c.note("package.json", "no typescript dependency or tsconfig.json -> javascript")

    _choose_package_manager(files, c, manifest)

    _framework(c, manifest, deps)

    _script_commands(files, c, scripts, _versions(manifest))
    _tool_commands(c, deps, scripts)
    return c


def _versions(manifest: dict[str, Any]) -> dict[str, str]:
    """Every declared dependency with its version range (runtime ones win a duplicate)."""
    versions: dict[str, str] = {}
    for key in ("devDependencies", "optionalDependencies", "peerDependencies", "dependencies"):
        versions.update({k: v for k, v in table(manifest, key).items() if isinstance(v, str)})
    return versions


def _published_library(manifest: dict[str, Any]) -> bool:
    """A package made to be published: not private, and it says what it ships."""
    if manifest.get("private") is True:
        return False
    return any(key in manifest for key in ("main", "exports", "files", "module", "types"))


def _framework(c: Candidate, manifest: dict[str, Any], deps: set[str]) -> None:
    """The framework from what the package needs to run: express only in devDependencies is a
    library's test server, not its framework. A package with no runtime dependency at all (a
    bundled front end declares everything as dev) is judged by all of them, unless it is a
    published library (not private, with ``main``/``exports``/``files``): its devDependencies
    are its tooling and test servers."""
    runtime: set[str] = set()
    for key in ("dependencies", "peerDependencies", "optionalDependencies"):
        runtime.update(table(manifest, key))
    library = not runtime and _published_library(manifest)
    if library:
        c.note("package.json", "a published library with no runtime dependency")
    for dep, framework in c.language.stack.framework_markers:
        if dep in (runtime if library else runtime or deps):
            c.set_framework(framework, "package.json", f"depends on {dep}")
            return
        if dep in deps:
            c.note("package.json", f"{dep} only in devDependencies: not the framework")


def _choose_package_manager(files: Reader, c: Candidate, manifest: dict[str, Any]) -> None:
    """The packageManager field (corepack) wins over lock files; npm without either."""
    declared = manifest.get("packageManager")
    locks = [(name, pm) for name, pm in _lock_files(c.language) if files.is_file(name)]
    declared_pm = None
    if isinstance(declared, str):
        declared_pm = next(
            (pm for pm in PackageManager if declared.split("@", 1)[0] == pm.value), None
        )
    if declared_pm is not None and declared_pm in PACKAGE_MANAGERS[c.language]:
        c.package_manager = declared_pm
        c.note(
            "package.json", f'"packageManager": {declared!r} -> package manager {declared_pm.value}'
        )
    elif locks:
        c.package_manager = locks[0][1]
        c.note(locks[0][0], f"lock file -> package manager {locks[0][1].value}")
    else:
        c.note("package.json", "no lock file -> package manager npm")
    for lock, lock_pm in locks:
        if lock_pm is not c.package_manager:
            c.note(lock, f"another lock file ({lock_pm.value}); {c.package_manager.value} chosen")


def _script_commands(
    files: Reader, c: Candidate, scripts: dict[str, str], deps: dict[str, str]
) -> None:
    """Commands from package.json scripts; tsc for a TypeScript project without a typecheck."""
    pm = c.package_manager.value
    cmd = c.commands
    cmd["install"] = f"{pm} install"
    used = []
    for key, candidates in _NODE_SCRIPTS.items():
        script = first(scripts, candidates)
        if script is None:
            continue
        if script == "start" and "dev" in scripts and _SERVES_A_BUILD.search(scripts["start"]):
            c.note(
                "package.json",
                f"scripts.start serves a build or production ({scripts['start']!r}): dev used",
            )
            script = "dev"
        if script == "build" and (why := verdict(pm, _as_recipes(scripts), "build", "build")):
            c.note("package.json", f"scripts.build {why}")
            continue
        if script == "test" and _NPM_PLACEHOLDER_TEST in scripts[script]:
            c.note(
                "package.json", 'scripts.test is npm\'s placeholder ("no test specified"); ignored'
            )
            continue
        if pm == "npm" and script in ("test", "start"):
            cmd[key] = f"npm {script}"
        else:
            cmd[key] = f"{pm} run {script}"
        used.append(script)
    script = _format_script(c, scripts)
    if script is not None:
        cmd["format"] = f"{pm} run {script}"
        used.append(script)
    if used:
        c.note("package.json", f"scripts: {', '.join(used)}")
    if (
        "typecheck" not in cmd
        and c.language is Language.TYPESCRIPT
        and files.is_file("tsconfig.json")
    ):
        _typecheck_guess(c, deps)


# Single-file components tsc cannot read (.vue, .svelte): their frameworks' own checkers, the
# first declared one wins (nuxi comes with nuxt).
_COMPONENT_FRAMEWORKS = ("vue", "nuxt", "svelte", "@sveltejs/kit", "astro")
_COMPONENT_CHECKERS = (
    ("nuxt", "nuxi typecheck"),
    ("vue-tsc", "vue-tsc --noEmit"),
    ("svelte-check", "svelte-check"),
    ("@astrojs/check", "astro check"),
)
_MAJOR = re.compile(r"^\D*(\d+)")


def _typecheck_guess(c: Candidate, deps: dict[str, str]) -> None:
    """``tsc --noEmit`` for a TypeScript project without a typecheck script; for a Vue, Nuxt,
    Svelte or Astro project (tsc skips their .vue/.svelte/.astro files) the framework's
    checker, or nothing."""
    runner = c.package_manager.spec.fields["exec"]
    framework = next((dep for dep in _COMPONENT_FRAMEWORKS if dep in deps), None)
    if framework is None:
        c.commands["typecheck"] = f"{runner} tsc --noEmit"
        c.note("tsconfig.json", f"no typecheck script -> {c.commands['typecheck']}")
        return
    checker = next((cmd for dep, cmd in _COMPONENT_CHECKERS if dep in deps), None)
    if checker is None and framework == "astro" and _major(deps["astro"]) in range(1, 3):
        checker = "astro check"  # built in before Astro 3, which moved it to @astrojs/check
    if checker is None:
        c.note("package.json", f"{framework}: tsc does not check its components; no typecheck")
        return
    c.commands["typecheck"] = f"{runner} {checker}"
    c.note("package.json", f"{framework}: no typecheck script -> {c.commands['typecheck']}")


def _major(version: str) -> int | None:
    match = _MAJOR.match(version)
    return int(match.group(1)) if match else None


def _as_recipes(scripts: dict[str, str]) -> Recipes:
    return {name: Recipe([body], []) for name, body in scripts.items()}


def _format_script(c: Candidate, scripts: dict[str, str]) -> str | None:
    """The script that formats: the first of ``_FORMAT_SCRIPTS`` that writes. The check-only
    ones are recorded (every spelling a CI uses) so that a CI running one does not make it the
    format command either."""
    checking = [name for name in _FORMAT_SCRIPTS if name in scripts and only_checks(scripts[name])]
    for name in checking:
        c.check_only.update(
            spelling
            for pm in c.language.stack.package_manager_names
            for spelling in (f"{pm} run {name}", f"{pm} {name}", f"{pm} run-script {name}")
        )
        c.note("package.json", f"scripts.{name} only checks ({scripts[name]!r}): not the format")
    for name in _FORMAT_SCRIPTS:
        body = scripts.get(name)
        if body is None or name in checking:
            continue
        if name == "lint:fix" and not (_FORMATTER.search(body) and not only_checks(body)):
            continue
        return name
    return None


# Tools a project depends on, for the commands its scripts do not give (first match wins):
# dependency, its program, the command. xo and standard wrap eslint: declared, they are chosen.
_NODE_TOOL_COMMANDS = (
    ("test", "vitest", "vitest run"),
    ("test", "jest", "jest"),
    ("lint", "xo", "xo"),
    ("lint", "standard", "standard"),
    ("lint", "eslint", "eslint ."),
    ("lint", "@biomejs/biome", "biome check ."),
    ("format", "prettier", "prettier --write ."),
    ("format", "@biomejs/biome", "biome format --write ."),
)


def _tool_commands(c: Candidate, deps: set[str], scripts: dict[str, str]) -> None:
    """test, lint and format from the tools the project depends on, when no script of the
    field's name runs them (as Python's come from its declared tools): never a tool it does not
    declare. A script named for the field or the tool that runs it (``lint:eslint``) is used
    first: it carries the repository's flags (``--ext .astro``)."""
    runner = c.package_manager.spec.fields["exec"]
    for key, dependency, command in _NODE_TOOL_COMMANDS:
        if key in c.commands or dependency not in deps:
            continue
        script = _script_running(key, command.split()[0], scripts)
        if script is not None:
            c.commands[key] = f"{c.package_manager.value} run {script}"
            c.note("package.json", f"scripts.{script} runs {dependency} -> {c.commands[key]}")
            continue
        c.commands[key] = f"{runner} {command}"
        c.note("package.json", f"no {key} script; depends on {dependency} -> {c.commands[key]}")


_FIXES = re.compile(r"(^|\s)(--fix|--write|-w)(\s|$)")


def _script_running(key: str, program: str, scripts: dict[str, str]) -> str | None:
    """The first script named ``<key>:...``/``<key>-...`` or after the program whose body
    runs the program (not a fixing variant for lint, not a check-only one for format)."""
    runs = re.compile(rf"(^|[;&|]\s*|\s)(npx\s+)?{re.escape(program)}(\s|$)")
    for name, body in scripts.items():
        if not (name == program or re.match(rf"{key}[:\-_]", name)):
            continue
        if not runs.search(body):
            continue
        if key == "lint" and _FIXES.search(body):
            continue
        if key == "format" and (only_checks(body) or not _FIXES.search(body)):
            continue
        return name
    return None
