"""Rust: cargo; axum or Actix Web."""

from __future__ import annotations

from .model import NO_FRAMEWORK, FrameworkSpec, LanguageSpec, PackageManagerSpec

_ASYNC_NOTES = (
    ": handlers are async functions registered on the router/app; test\n"
    "  them in-process without binding a port."
)

RUST = LanguageSpec(
    name="rust",
    display_name="Rust",
    ecosystem="rust",
    detection_rank=2,
    markers=("Cargo.toml",),
    package_managers=(
        PackageManagerSpec(
            "cargo", executable="cargo", lock_files=("Cargo.lock",), add_dependency="cargo add"
        ),
    ),
    frameworks=(
        NO_FRAMEWORK,
        FrameworkSpec("axum", "axum", notes="- axum" + _ASYNC_NOTES),
        FrameworkSpec("actix", "Actix Web", notes="- Actix Web" + _ASYNC_NOTES),
    ),
    # Crate names in [dependencies], [dev-dependencies] or [workspace.dependencies].
    framework_markers=(("axum", "axum"), ("actix-web", "actix")),
    commands={
        "install": "cargo fetch",
        "start": "cargo run",
        "test": "cargo test",
        "lint": "cargo clippy -- -D warnings",
        "typecheck": "cargo check",
        "format": "cargo fmt",
        "build": "cargo build",
    },
    source_ext="rs",
    test_location="a `#[cfg(test)] mod tests` in `src/<module>.rs`, or `tests/<name>.rs`",
    doc_comments="`///` doc comments",
    notes_template="stacks/_rust.md.j2",
)
