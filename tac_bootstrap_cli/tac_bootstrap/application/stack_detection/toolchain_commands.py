"""Which project command a Go, Rust, Java or Ruby tool's invocation is (``commands`` asks).

Each rule takes the shell words of one command and gives (field, cleaned words, ecosystem,
build tool) or None; toolchain commands (go vet, cargo clippy, mvn verify) are the language's
own, needing nothing declared.
"""

from __future__ import annotations

from .shellwords import without_report_flags

_RuleResult = tuple[str, list[str], str | None, str | None] | None


def _base(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def go_rule(words: list[str]) -> _RuleResult:
    tool, args = _base(words[0]), words[1:]
    if tool == "go" and args:
        field = {"test": "test", "vet": "lint", "build": "build"}.get(args[0])
        return (field, words, "go", None) if field else None
    if tool in ("gotestsum", "ginkgo"):
        return "test", words, "go", None
    if (tool == "golangci-lint" and args[:1] == ["run"]) or tool == "staticcheck":
        return "lint", words, "go", None
    if tool == "gofmt":
        kept = [w for w in words if w not in ("-l", "-d", "-e")]
        return "format", kept if "-w" in kept else [kept[0], "-w", *kept[1:]], "go", None
    return None


def rust_rule(words: list[str]) -> _RuleResult:
    if _base(words[0]) != "cargo":
        return None
    args = [a for a in words[1:] if not a.startswith("+")]  # cargo +nightly ...
    if not args:
        return None
    field = {
        "test": "test", "nextest": "test", "clippy": "lint", "check": "typecheck",
        "build": "build", "fmt": "format",
    }.get(args[0])  # fmt: skip
    if field == "format":
        words = [w for w in words if w != "--check"]
        words = words[:-1] if words[-1] == "--" else words
    return (field, words, "rust", None) if field else None


# Options that pick a build variant: a CI running ``cargo check --no-default-features`` next to
# ``cargo check`` checks a feature matrix; the plain command is the one to run while working.
_VARIANT_OPTIONS = ("--no-default-features", "--features", "-F")


def selects_a_variant(command: str) -> bool:
    """``cargo check --features x``, ``cargo test --no-default-features``: one of a matrix."""
    return any(
        word in _VARIANT_OPTIONS or word.startswith("--features=") for word in command.split()
    )


def java_rule(words: list[str]) -> _RuleResult:
    tool = _base(words[0])
    if tool not in ("mvn", "mvnw", "gradle", "gradlew", "mvnw.cmd", "gradlew.bat"):
        return None
    maven = tool.startswith("mvn")
    goals, skip = [], False
    for word in words[1:]:
        if skip:
            skip = False
        elif word in ("-P", "-pl", "-f", "--file", "-s", "-T", "--projects", "-x"):
            skip = True
        elif not word.startswith("-"):
            goals.append(word.lstrip(":"))  # ':check' is the root project's task
    field = _java_field(goals, maven)
    if field == "format":
        words = [
            w.replace("Check", "Apply").replace(":check", ":apply").replace(":validate", ":apply")
            for w in words
        ]
    return (field, words, "java", "maven" if maven else "gradle") if field else None


def _java_field(goals: list[str], maven: bool) -> str | None:
    if maven:
        if {"verify", "test"} & set(goals):
            return "test"
        if {"package", "install"} & set(goals):
            return "build"
    else:
        if {"test", "check"} & set(goals):
            return "test"
        if {"build", "assemble"} & set(goals):
            return "build"
    if any(g in ("checkstyle:check", "checkstyleMain") for g in goals):
        return "lint"
    if any(g in ("spotless:check", "spotlessCheck", "spring-javaformat:validate") for g in goals):
        return "format"
    return None


def ruby_rule(words: list[str]) -> _RuleResult:
    core = words[2:] if words[:2] == ["bundle", "exec"] else words
    if not core:
        return None
    tool, args = _base(core[0]), core[1:]
    field = None
    if (
        (tool == "rails" and any(_rails_test_task(arg) for arg in args))
        or (tool == "rake" and (not args or args[0] in ("test", "spec", "default")))
        or tool == "rspec"
    ):
        field = "test"
    elif tool in ("rubocop", "standardrb"):
        field, words = "lint", without_report_flags(words)
    elif (tool == "srb" and args[:1] == ["tc"]) or (tool == "steep" and args[:1] == ["check"]):
        field = "typecheck"
    return (field, words, "ruby", None) if field else None


def _rails_test_task(arg: str) -> bool:
    """``test``, ``spec`` or ``test:all`` (not ``test:system`` alone: it needs a browser)."""
    return arg in ("test", "spec") or (arg.startswith(("test:", "spec:")) and arg != "test:system")
