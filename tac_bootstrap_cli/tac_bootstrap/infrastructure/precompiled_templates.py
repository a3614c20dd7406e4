"""Templates compiled to Python modules when the package is built, so a first run compiles none.

jinja2 turns a template into Python source by lexing, parsing and generating code: ~3 ms a
template, ~350 ms for all of ours, which every first `init` on a machine paid (the per-user
cache of compiled templates is empty then). The wheel build (``hatch_build.py``) writes that
source once, one module per template, into ``_compiled_templates/`` beside an index of each
template's checksum and the compile key (jinja2's version, our options, the filters' code:
jinja2 folds a filter applied to a literal into the module); pip compiles the modules to
bytecode when it installs the wheel. The renderer takes a module only while its template's
checksum and the key still match, and compiles the template from source otherwise, as before:
an edited template, an upgraded jinja2 or a damaged module costs time, never a wrong output.

Imports only jinja2, the filters and the standard library: the build runs it where nothing else
is installed.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
from collections.abc import MutableMapping
from pathlib import Path
from types import CodeType
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


def _write(path: Path, text: str) -> None:
    """Whole or not at all (a temp file renamed), so a concurrent build or reader never sees
    half a module; two builds write the same bytes. A module that already holds them is left
    alone: its mtime is part of the installation's fingerprint (memo_store), so a rebuild
    (a wheel built from a checkout, `pip install -e .` again) keeps every memo valid."""
    try:
        if path.read_text(encoding=_ENCODING) == text:
            return
    except (OSError, UnicodeError):
        pass  # missing or unreadable: written below
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    tmp.write_text(text, encoding=_ENCODING)
    os.replace(tmp, path)


def _sources(templates_dir: Path) -> tuple[jinja2.Environment, dict[str, tuple[str, str]]]:
    """Our environment over ``templates_dir`` and every ``*.j2`` in it (what is rendered; the
    rest is copied): name -> (source, filename)."""
    loader = jinja2.FileSystemLoader(templates_dir)
    env = environment(loader)
    sources = {}
    for name in env.list_templates(extensions=["j2"]):
        source, filename, _ = loader.get_source(env, name)
        sources[name] = (source, str(filename))
    return env, sources


def compile_templates(templates_dir: Path, out_dir: Path) -> int:
    """Write every ``*.j2`` under ``templates_dir`` as a module in ``out_dir``, the index last,
    then remove the modules of templates that are gone; returns the count."""
    env, sources = _sources(templates_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    digests: dict[str, str] = {}
    for name, (source, filename) in sources.items():
        _write(
            out_dir / module_file(name),
            env.compile(source, name, filename, raw=True, defer_init=True),
        )
        digests[name] = source_digest(source)
    index = {"key": compile_key(), "templates": digests}
    _write(out_dir / INDEX, json.dumps(index, indent=1, sort_keys=True) + "\n")
    kept = {module_file(name) for name in digests}
    for path in out_dir.glob("t_*.py"):
        if path.name not in kept:
            path.unlink(missing_ok=True)
    return len(digests)


def up_to_date(templates_dir: Path, compiled_dir: Path) -> bool:
    """The index holds exactly today's templates, by checksum, under today's compile key."""
    digests = load_index(compiled_dir)
    _, sources = _sources(templates_dir)
    if set(sources) != set(digests):
        return False
    return all(
        digests[name] == source_digest(source) and (compiled_dir / module_file(name)).is_file()
        for name, (source, _) in sources.items()
    )


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
    """A FileSystemLoader that takes a template's build-time module while its source matches.

    Where the module has no bytecode (PYTHONDONTWRITEBYTECODE, an installer that compiles
    none) Python would compile its source on every run; the per-user cache of compiled
    templates answers first then, and is filled from the module."""

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
        source, filename, uptodate = self.get_source(environment, name)
        module = self._module(name, source)  # (its code, whether it had bytecode)
        cache = environment.bytecode_cache
        bucket = None
        if module is not None and module[1]:
            code, origin = module[0], "module"
        else:
            if cache is not None:
                bucket = cache.get_bucket(environment, name, filename, source)
            if bucket is not None and bucket.code is not None:
                code, origin = bucket.code, "cache"
                bucket = None  # already filled
            elif module is not None:
                code, origin = module[0], "module"
            else:
                code, origin = environment.compile(source, name, filename), "source"
        try:
            template = _template(environment, code, filename, globals)
        except Exception:
            if origin != "module":
                raise
            # A module that compiles but is no template (damaged): its source decides.
            code, origin = environment.compile(source, name, filename), "source"
            template = _template(environment, code, filename, globals)
        if bucket is not None and cache is not None:
            bucket.code = code  # the next run reads it from the cache, not the module's source
            cache.set_bucket(bucket)
        if origin == "module":
            self.served.add(name)
        template._uptodate = uptodate  # an edited template is loaded again, as jinja2's are
        return template

    def _module(self, name: str, source: str) -> tuple[CodeType, bool] | None:
        """The build-time module's code and whether Python had its bytecode; None when the
        template has none, was edited since, or the module cannot be read."""
        if self.digests.get(name) != source_digest(source):
            return None
        path = self.compiled_dir / module_file(name)
        spec = importlib.util.spec_from_file_location(f"_tac_template_{path.stem}", path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return None
        compiled = os.path.exists(importlib.util.cache_from_source(str(path)))
        try:
            code = spec.loader.get_code(spec.name)
        except Exception:  # unreadable, not Python, NUL bytes: compiled from source instead
            return None
        return (code, compiled) if code is not None else None


def _template(
    environment: jinja2.Environment,
    code: CodeType,
    filename: str | None,
    globals: MutableMapping[str, Any] | None,
) -> jinja2.Template:
    """What jinja2's Template.from_code does, with the template's own path as the file (not
    the module's), so an error names the template and its line wherever the code came from."""
    namespace: dict[str, Any] = {"environment": environment, "__file__": filename}
    exec(code, namespace)
    return environment.template_class.from_module_dict(
        environment, namespace, globals if globals is not None else {}
    )


def main() -> int:
    """``python -m tac_bootstrap.infrastructure.precompiled_templates``: compile in place when
    anything changed (what the build does; for a checkout edited since its editable install)."""
    templates_dir = COMPILED_DIR.parent / "templates"
    if up_to_date(templates_dir, COMPILED_DIR):
        print(f"compiled templates up to date in {COMPILED_DIR}")
        return 0
    count = compile_templates(templates_dir, COMPILED_DIR)
    print(f"compiled {count} templates into {COMPILED_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
