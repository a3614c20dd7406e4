"""Go: go.mod. The toolchain fixes most commands; only the framework and linter vary."""

from __future__ import annotations

import re

from tac_bootstrap.domain.config import Language, PackageManager

from .model import Candidate
from .reading import Reader

_GO_REQUIRE = re.compile(r"^\s*(?:require\s+)?([A-Za-z0-9.\-_~/]+)\s+v\d", re.MULTILINE)


def detect_go(files: Reader) -> Candidate | None:
    if not files.matching(Language.GO.stack.markers):
        return None
    c = Candidate("go", Language.GO, PackageManager.GO, markers=["go.mod"])
    text = files.text("go.mod", c.evidence) or ""
    module = re.search(r"^\s*module\s+(\S+)", text, re.MULTILINE)
    c.note("go.mod", f"Go module {module.group(1)}" if module else "Go module (no module line)")
    requires = set(_GO_REQUIRE.findall(text))
    for prefix, framework in Language.GO.stack.framework_markers:
        if any(r == prefix or r.startswith(prefix + "/") for r in requires):
            c.set_framework(framework, "go.mod", f"requires {prefix}")
            break
    golangci = next(
        (n for n in (".golangci.yml", ".golangci.yaml", ".golangci.toml") if files.is_file(n)),
        None,
    )
    if golangci:
        c.note(golangci, "golangci-lint configuration -> golangci-lint run")
    if files.is_file("main.go"):
        start = "go run ."
    else:
        mains = files.glob("cmd/*/main.go")
        start = f"go run ./{mains[0].rsplit('/', 1)[0]}" if mains else ""
    c.commands.update(
        install="go mod download",
        start=start,
        test="go test ./...",
        lint="golangci-lint run" if golangci else "go vet ./...",
        format="gofmt -w .",
        build="go build ./...",
    )
    return c
