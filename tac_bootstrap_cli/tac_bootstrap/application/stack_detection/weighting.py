"""Which stack is the repository's own, when several have markers: evidence is weighed.

A fixed order fails real repositories both ways: a Python service keeps a ``package.json``
for husky and prettier, a Go tool keeps a ``requirements-docs.txt``. Each stack scores what its
files say: a manifest that declares a project (3; a requirements file 2, a stray
``requirements-foo.txt`` 1, a package.json of tooling only 0), its lock file or build wrapper
(2), a framework (2), an entry point such as ``manage.py`` or ``src/main.rs`` (1), and the CI
running its tools (2, plus 1 per further kind of command, at most 4). The highest score is the
primary stack; a tie goes to the registry's order (compiled manifests rarely appear by
accident, ``package.json`` most often). The evidence says why the primary won.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .commands import Classified
from .model import Candidate, Evidence
from .reading import Reader, table

# Dependencies that serve another stack's repository (hooks, formatting, asset builds, the
# browser libraries of server-rendered pages).
_NODE_TOOLING = {
    "husky", "prettier", "lint-staged", "commitizen", "cz-conventional-changelog",
    "semantic-release", "standard-version", "markdownlint-cli", "markdownlint-cli2", "cspell",
    "pyright", "webpack", "webpack-cli", "vite", "esbuild", "rollup", "parcel", "gulp", "grunt",
    "sass", "postcss", "postcss-cli", "autoprefixer", "tailwindcss", "concurrently", "npm-run-all",
    "stylelint", "renovate", "release-it", "@biomejs/biome", "bower",
    # Browser libraries a server-rendered app bundles (not an application of their own).
    "bootstrap", "jquery", "htmx.org", "alpinejs", "@popperjs/core", "popper.js",
    "@fortawesome/fontawesome-free", "font-awesome",
}  # fmt: skip
_NODE_TOOLING_PREFIXES = (
    "@commitlint/",
    "eslint",
    "@typescript-eslint/",
    "prettier-",
    "stylelint-",
)
_ENTRY_POINTS = {
    "python": ("manage.py", "main.py", "app.py", "wsgi.py", "asgi.py", "app/main.py"),
    "node": ("next.config.js", "next.config.mjs", "next.config.ts", "nest-cli.json", "server.js"),
    "go": ("main.go",),
    "rust": ("src/main.rs", "src/lib.rs"),
    "java": ("src/main/java",),
    "ruby": ("bin/rails", "config.ru", "config/application.rb"),
}


def _is_tooling(dependency: str) -> bool:
    return dependency in _NODE_TOOLING or dependency.startswith(_NODE_TOOLING_PREFIXES)


def _python(files: Reader, c: Candidate) -> None:
    py = files.toml("pyproject.toml", []) if "pyproject.toml" in c.markers else None
    declares = bool(table(py, "project") or table(py, "tool", "poetry"))
    folder = next((m for m in c.markers if m.startswith("requirements/")), None)
    manifests = (
        ("pyproject.toml", 3, declares and "pyproject.toml" in c.markers),
        ("setup.py", 3, "setup.py" in c.markers),
        ("setup.cfg", 3, "setup.cfg" in c.markers),
        ("Pipfile", 3, "Pipfile" in c.markers),
        ("requirements.txt", 2, "requirements.txt" in c.markers),
        ("requirements/", 2, folder is not None),  # a deliberate layout, not a stray file
    )
    found = next(((name, points) for name, points, ok in manifests if ok), None)
    if found is not None:
        c.weigh(found[1], found[0])
    else:
        what = "pyproject.toml (tool settings only)" if py else " + ".join(c.markers[:2])
        c.weigh(1, what)
    lock = next((n for n in ("uv.lock", "poetry.lock", "Pipfile.lock") if files.is_file(n)), None)
    if lock:
        c.weigh(2, lock)


def _node(files: Reader, c: Candidate) -> None:
    manifest = files.json_object("package.json", []) or {}
    runtime = set(table(manifest, "dependencies"))
    development = set(table(manifest, "devDependencies")) | set(table(manifest, "peerDependencies"))
    everything = runtime | development
    if not manifest:
        c.weigh(1, "package.json (unreadable)")
        return
    if not everything or all(_is_tooling(d) for d in everything):
        tools = ", ".join(sorted(everything)[:3]) or "no dependencies"
        c.weigh(0, f"package.json, tooling only ({tools})")
        return
    c.weigh(3 if runtime - {d for d in runtime if _is_tooling(d)} else 2, "package.json")
    managers = c.language.stack.package_managers
    lock = next((lf for pm in managers for lf in pm.lock_files if files.is_file(lf)), None)
    if lock:
        c.weigh(2, lock)


def _single(manifest: str, locks: tuple[str, ...]) -> Callable[[Reader, Candidate], None]:
    def weigh(files: Reader, c: Candidate) -> None:
        c.weigh(3, c.markers[0] if c.markers else manifest)
        lock = next((name for name in locks if files.is_file(name)), None)
        if lock:
            c.weigh(2, lock)

    return weigh


_MANIFESTS: dict[str, Callable[[Reader, Candidate], None]] = {
    "python": _python,
    "node": _node,
    "go": _single("go.mod", ("go.sum",)),
    "rust": _single("Cargo.toml", ("Cargo.lock",)),
    "java": _single("pom.xml", ("mvnw", "gradlew")),
    "ruby": _single("Gemfile", ("Gemfile.lock",)),
}


def weigh(files: Reader, candidates: Iterable[Candidate], ci: list[Classified]) -> None:
    """Give every candidate its points (Candidate.weights)."""
    for c in candidates:
        _MANIFESTS[c.ecosystem](files, c)
        if c.framework != "none":
            c.weigh(2, f"framework {c.framework}")
        entry = next((e for e in _ENTRY_POINTS.get(c.ecosystem, ()) if files.exists(e)), None)
        if entry:
            c.weigh(1, entry)
        own = [x for x in ci if x.ecosystem == c.ecosystem]
        fields = list(dict.fromkeys(x.field for x in own))
        if fields:
            more = f" and {len(fields) - 1} more" if len(fields) > 1 else ""
            c.weigh(min(4, len(fields) + 1), f"CI runs {own[0].command}{more}")


def rank(candidates: list[Candidate], precedence: tuple[str, ...]) -> list[Candidate]:
    """Highest score first; a tie goes to the registry's order."""
    return sorted(candidates, key=lambda c: (-c.score, precedence.index(c.ecosystem)))


def summary(c: Candidate) -> str:
    stack = c.language.value
    reasons = " + ".join(why for points, why in c.weights if points or len(c.weights) == 1)
    return f"{stack}: {reasons or 'markers only'} (score {c.score})"


def explanation(ranked: list[Candidate]) -> Evidence:
    primary, others = ranked[0], ranked[1:]
    text = f"primary stack {summary(primary)}"
    if others:
        text += " over " + "; ".join(summary(c) for c in others)
        if others[0].score == primary.score:
            text += " (a tie: the registry's order decides)"
    return Evidence(".", text)
