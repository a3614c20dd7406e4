"""Templates compiled to Python modules when the package is built, so a first run compiles none.

jinja2 turns a template into Python source by lexing, parsing and generating code: ~3 ms a
template, ~350 ms for all of ours, which every first `init` on a machine paid (the per-user
cache of compiled templates is empty then). The wheel build (``hatch_build.py``) writes that
source once, one module per template, into ``_compiled_templates/`` beside an index of each
template's checksum, the jinja2 version and the options; pip compiles the modules to bytecode
when it installs the wheel. The renderer takes a module only when its template's checksum and
the compile key still match, and compiles the template from source otherwise, as before: an
edited template, an upgraded jinja2 or a missing directory costs time, never a wrong output.

Imports only jinja2, the filters and the standard library: the build runs it where nothing else
is installed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import jinja2

from tac_bootstrap.infrastructure.jinja_options import compile_key, environment

COMPILED_DIR = Path(__file__).resolve().parent.parent / "_compiled_templates"
INDEX = "index.json"
_ENCODING = "utf-8"  # FileSystemLoader's default, which ours use


def module_file(name: str) -> str:
    """One module per template, named by a digest of its name (names hold '/' and dots)."""
    return f"t_{hashlib.sha1(name.encode(_ENCODING)).hexdigest()}.py"


def source_digest(source: str) -> str:
    return hashlib.sha256(source.encode(_ENCODING)).hexdigest()


def compile_templates(templates_dir: Path, out_dir: Path) -> int:
    """Write every ``*.j2`` under ``templates_dir`` as a module in ``out_dir``; returns the count.

    The directory is built beside ``out_dir`` and swapped in whole, so a reader sees the old set
    or the new one, never a mix.
    """
    import shutil  # the build's tools, not a render's
    import tempfile

    loader = jinja2.FileSystemLoader(templates_dir)
    env = environment(loader)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        digests: dict[str, str] = {}
        for name in env.list_templates(extensions=["j2"]):  # what is rendered; the rest copied
            source, filename, _ = loader.get_source(env, name)
            code = env.compile(source, name, filename, raw=True, defer_init=True)
            (staging / module_file(name)).write_text(code, encoding=_ENCODING)
            digests[name] = source_digest(source)
        index = {"key": compile_key(), "templates": digests}
        (staging / INDEX).write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
        os.chmod(staging, 0o755)  # mkdtemp's 0o700 would hide the modules from other users
        old = out_dir.with_name(f"{staging.name}.old")
        if out_dir.exists():
            out_dir.rename(old)
        staging.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return len(digests)


def load_index(compiled_dir: Path) -> dict[str, str]:
    """Template name -> source checksum of what ``compiled_dir`` holds under today's compile
    key; empty when it is missing, unreadable or was compiled by another jinja2 or options."""
    try:
        index = json.loads((compiled_dir / INDEX).read_text(encoding=_ENCODING))
    except (OSError, ValueError):
        return {}
    if not isinstance(index, dict) or index.get("key") != compile_key():
        return {}
    templates = index.get("templates")
    return templates if isinstance(templates, dict) else {}


class PrecompiledLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader that takes a template's build-time module while its source matches."""

    def __init__(self, templates_dir: Path, compiled_dir: Path = COMPILED_DIR) -> None:
        super().__init__(templates_dir)
        self.compiled_dir = compiled_dir
        self.digests = load_index(compiled_dir)
        self.served: set[str] = set()  # names answered from a module: what tests look at

    def load(
        self,
        environment: jinja2.Environment,
        name: str,
        globals: MutableMapping[str, Any] | None = None,
    ) -> jinja2.Template:
        expected = self.digests.get(name)
        if expected is None:
            return super().load(environment, name, globals)
        source, filename, uptodate = self.get_source(environment, name)
        if filename is None or source_digest(source) != expected:
            return super().load(environment, name, globals)  # edited since the build
        namespace = self._module_namespace(name)
        if namespace is None:
            return super().load(environment, name, globals)
        namespace["__file__"] = filename  # error locations name the template, not the module
        template = environment.template_class.from_module_dict(
            environment, namespace, globals if globals is not None else {}
        )
        # What jinja2's own Template.from_code sets: an edited template is loaded again.
        template._uptodate = uptodate
        self.served.add(name)
        return template

    def _module_namespace(self, name: str) -> dict[str, Any] | None:
        path = self.compiled_dir / module_file(name)
        spec = importlib.util.spec_from_file_location(f"_tac_template_{path.stem}", path)
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)  # bytecode from __pycache__, as pip compiled it
        except (OSError, SyntaxError):
            return None
        return module.__dict__


def main() -> int:
    """``python -m tac_bootstrap.infrastructure.precompiled_templates``: compile in place (what
    the build does; for a checkout whose templates changed since its editable install)."""
    count = compile_templates(COMPILED_DIR.parent / "templates", COMPILED_DIR)
    print(f"compiled {count} templates into {COMPILED_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
