"""Formatter settings that keep the project's prettier and Biome off the run state files.

The layer's directories carry a `.prettierrc.yaml` and a `biome.jsonc` (both formatters take
the configuration closest to a file) so that `prettier --check .` and `biome check .` leave the
layer's files alone. The runs directory (`<logs_dir>/adw/`) is not committed, so it gets its
copies here, when a run first writes its state: prettier reads only the root .gitignore (not
logs/.gitignore), and without them a run's `adw_state.json` would fail the project's format
check in the main checkout, the one a run with `isolation: none` checks. Copies from the
layer's own (`<adws_dir>/`, beside adw_modules/), or the package's templates; never replaces
a file that is there. Standard library only.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

NAMES = (".prettierrc.yaml", "biome.jsonc")
_HERE = Path(__file__).resolve().parent


def _sources(name: str) -> tuple[Path, Path]:
    """adws/adw_modules/ -> adws/<name>; tac_bootstrap/runtime/ -> its templates/tools/."""
    return _HERE.parent / name, _HERE.parent / "templates" / "tools" / name.lstrip(".")


def install(directory: Path) -> None:
    """Each missing configuration into ``directory``; quietly nothing when it cannot."""
    for name in NAMES:
        target = directory / name
        if target.exists() or target.is_symlink():
            continue
        source = next((path for path in _sources(name) if path.is_file()), None)
        if source is None:
            continue
        tmp = None
        try:
            content = source.read_bytes()
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.replace(tmp, target)
        except OSError:  # a read-only runs directory: the state is what matters, not this
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
