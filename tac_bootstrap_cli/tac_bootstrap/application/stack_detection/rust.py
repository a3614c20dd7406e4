"""Rust: Cargo.toml. Cargo fixes the commands; a workspace needs ``--workspace`` on each."""

from __future__ import annotations

from typing import Any

from tac_bootstrap.domain.config import Language, PackageManager

from .model import Candidate
from .reading import Reader, table


def detect_rust(files: Reader) -> Candidate | None:
    if not files.matching(Language.RUST.stack.markers):
        return None
    c = Candidate("rust", Language.RUST, PackageManager.CARGO, markers=["Cargo.toml"])
    cargo = files.toml("Cargo.toml", c.evidence)
    deps: set[str] = set()
    for keys in (("dependencies",), ("dev-dependencies",), ("workspace", "dependencies")):
        deps.update(table(cargo, *keys))
    package = table(cargo, "package")
    if cargo is not None:
        what = f"crate {package['name']!r}" if isinstance(package.get("name"), str) else "workspace"
        c.note("Cargo.toml", f"Rust {what}")
    for dep, framework in Language.RUST.stack.framework_markers:
        if dep in deps:
            c.set_framework(framework, "Cargo.toml", f"depends on {dep}")
            break
    binary = files.is_file("src/main.rs") or bool(_array_of_tables(cargo, "bin"))
    workspace = "workspace" in (cargo or {})
    all_flag = " --workspace" if workspace else ""
    c.commands.update(
        install="cargo fetch",
        start="cargo run" if binary else "",
        test=f"cargo test{all_flag}",
        lint=f"cargo clippy{all_flag}",
        typecheck=f"cargo check{all_flag}",
        format="cargo fmt",
        build=f"cargo build{all_flag}",
    )
    return c


def _array_of_tables(data: Any, key: str) -> list[dict[str, Any]]:
    value = data.get(key) if isinstance(data, dict) else None
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
