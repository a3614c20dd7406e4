"""Go: the go toolchain; Gin or Echo."""

from __future__ import annotations

from .model import NO_FRAMEWORK, FrameworkSpec, LanguageSpec, PackageManagerSpec

_HTTP_NOTES = ": handlers are registered on the router; test them with `net/http/httptest`."

GO = LanguageSpec(
    name="go",
    display_name="Go",
    ecosystem="go",
    detection_rank=1,
    markers=("go.mod",),
    package_managers=(
        PackageManagerSpec("go", executable="go", lock_files=("go.sum",), add_dependency="go get"),
    ),
    frameworks=(
        NO_FRAMEWORK,
        FrameworkSpec("gin", "Gin", notes="- Gin" + _HTTP_NOTES),
        FrameworkSpec("echo", "Echo", notes="- Echo" + _HTTP_NOTES),
    ),
    # Module path prefixes in go.mod's require lines.
    framework_markers=(("github.com/gin-gonic/gin", "gin"), ("github.com/labstack/echo", "echo")),
    commands={
        "install": "go mod download",
        "start": "go run .",
        "test": "go test ./...",
        "lint": "go vet ./...",
        "format": "gofmt -w .",
        "build": "go build ./...",
    },
    source_ext="go",
    test_location="`<package>/<file>_test.go`",
    doc_comments="Go doc comments above exported names",
    notes_template="stacks/_go.md.j2",
)
