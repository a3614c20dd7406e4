"""Templates compiled when the package is built: the same output as their sources, used only
while they match (source, jinja2, options), and errors still name the template and line."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import jinja2
import pytest

from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import Language, new_config
from tac_bootstrap.domain.errors import TemplateError
from tac_bootstrap.infrastructure import escaping
from tac_bootstrap.infrastructure.jinja_options import compile_key, environment
from tac_bootstrap.infrastructure.precompiled_templates import (
    COMPILED_DIR,
    INDEX,
    PrecompiledLoader,
    compile_templates,
    module_file,
    up_to_date,
)
from tac_bootstrap.infrastructure.template_renderer import TemplateRenderer

from .conftest import TEMPLATES_DIR


def _loader(renderer: TemplateRenderer) -> PrecompiledLoader:
    loader = renderer.env.loader
    assert isinstance(loader, PrecompiledLoader)
    return loader


def _rendered(renderer: TemplateRenderer) -> dict[str, bytes]:
    """Every file of the plans of a project in each language, as this renderer renders them."""
    service = ScaffoldService(renderer)
    out: dict[str, bytes] = {}
    for language in Language:
        config = new_config(f"demo-{language.value}", language)
        for op in service.build_plan(config, include_config=True).files:
            out[f"{language.value}:{op.path}"] = service.content_for(op, config)
    return out


def _templates_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(TEMPLATES_DIR, tmp_path / "templates"))


def test_compiled_modules_render_what_the_sources_render(tmp_path: Path) -> None:
    templates = _templates_copy(tmp_path)  # its own root: no template object is shared
    count = compile_templates(templates, tmp_path / "compiled")
    assert count == len(list(templates.rglob("*.j2")))
    precompiled = TemplateRenderer(templates, tmp_path / "compiled")
    from_source = TemplateRenderer(TEMPLATES_DIR, tmp_path / "none")
    ours = _rendered(precompiled)
    assert ours == _rendered(from_source)
    used = {op.split(":", 1)[1] for op in ours}
    assert len(used) > 100
    # Every template the plans render (and those they include) came from its module.
    assert _loader(precompiled).served >= {"CLAUDE.md.j2", "adws/schema/_tables.sql.j2"}
    assert _loader(from_source).served == set()


def test_an_edited_template_is_compiled_from_its_source(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    (templates / "docs").mkdir(parents=True)
    (templates / "docs" / "a.md.j2").write_text("first {{ n }}\n")
    (templates / "b.md.j2").write_text("b {{ n }}\n")
    compile_templates(templates, tmp_path / "compiled")
    (templates / "docs" / "a.md.j2").write_text("edited {{ n }}\n")
    renderer = TemplateRenderer(templates, tmp_path / "compiled")
    assert renderer.render("docs/a.md.j2", {"n": 1}) == "edited 1\n"
    assert renderer.render("b.md.j2", {"n": 2}) == "b 2\n"
    assert _loader(renderer).served == {"b.md.j2"}


@pytest.mark.parametrize(
    "damage", ["other jinja2", "no index", "module gone", "not python", "nul bytes", "no template"]
)
def test_modules_that_cannot_be_trusted_are_not_used(tmp_path: Path, damage: str) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "t.md.j2").write_text("value {{ v }}\n")
    compiled = tmp_path / "compiled"
    compile_templates(templates, compiled)
    index = compiled / INDEX
    module = compiled / module_file("t.md.j2")
    if damage == "other jinja2":
        data = json.loads(index.read_text())
        data["key"] = data["key"].replace(jinja2.__version__, "2.11.3")
        index.write_text(json.dumps(data))
    elif damage == "no index":
        index.unlink()
    elif damage == "module gone":
        module.unlink()
    elif damage == "not python":
        module.write_text("def root(:\n")
    elif damage == "nul bytes":
        module.write_bytes(b"x = 1\0\n")
    else:
        module.write_text("x = 1\n")  # Python, but none of a template's names
    renderer = TemplateRenderer(templates, compiled)
    assert renderer.render("t.md.j2", {"v": 3}) == "value 3\n"
    assert _loader(renderer).served == set()


def test_errors_in_a_compiled_template_name_the_template_and_line(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    (templates / "a").mkdir(parents=True)
    (templates / "a" / "x.md.j2").write_text("one\n\nhello {{ missing_name }}\n")
    (templates / "a" / "raw.md.j2").write_text("one\n{{ project }}\n")
    compile_templates(templates, tmp_path / "compiled")
    renderer = TemplateRenderer(templates, tmp_path / "compiled")
    with pytest.raises(TemplateError, match=r"template a/x\.md\.j2:3: 'missing_name' is undefined"):
        renderer.render("a/x.md.j2", {})
    with pytest.raises(TemplateError, match=r"template a/raw\.md\.j2:2: config value 'p'"):
        renderer.render("a/raw.md.j2", {"project": "p"})
    assert _loader(renderer).served == {"a/x.md.j2", "a/raw.md.j2"}


def test_a_recompile_replaces_the_whole_set(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "gone.md.j2").write_text("x\n")
    (templates / "kept.md.j2").write_text("k\n")
    compiled = tmp_path / "compiled"
    compile_templates(templates, compiled)
    assert up_to_date(templates, compiled)
    (templates / "gone.md.j2").unlink()
    assert not up_to_date(templates, compiled)  # a deletion keeps every other file's mtime
    (templates / "kept.md.j2").rename(templates / "renamed.md.j2")
    assert not up_to_date(templates, compiled)
    compile_templates(templates, compiled)
    assert up_to_date(templates, compiled)
    assert sorted(p.name for p in compiled.iterdir()) == sorted(
        [INDEX, module_file("renamed.md.j2")]
    )
    (templates / "renamed.md.j2").write_text("edited\n")
    assert not up_to_date(templates, compiled)


def test_a_rebuild_leaves_unchanged_modules_as_they_were(tmp_path: Path) -> None:
    """A module's mtime is in the installation's fingerprint: a rebuild of the same templates
    (a wheel built from the checkout) must not make every memo look stale."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "same.md.j2").write_text("s {{ v }}\n")
    (templates / "edited.md.j2").write_text("e\n")
    compiled = tmp_path / "compiled"
    compile_templates(templates, compiled)
    before = {p.name: p.stat().st_mtime_ns for p in compiled.iterdir()}
    old = time.time() - 3600  # an hour ago, so that any rewrite shows whatever the clock's grain
    for path in compiled.iterdir():
        os.utime(path, (old, old))
    aged = {p.name: p.stat().st_mtime_ns for p in compiled.iterdir()}
    assert aged != before
    (templates / "edited.md.j2").write_text("edited {{ v }}\n")
    compile_templates(templates, compiled)
    after = {p.name: p.stat().st_mtime_ns for p in compiled.iterdir()}
    changed = sorted(name for name in after if after[name] != aged[name])
    assert changed == sorted([INDEX, module_file("edited.md.j2")])
    assert up_to_date(templates, compiled)
    compile_templates(templates, compiled)
    assert {p.name: p.stat().st_mtime_ns for p in compiled.iterdir()} == after


def test_concurrent_builds_leave_a_whole_set(tmp_path: Path) -> None:
    """Two builds into one directory (an editable install and a wheel build, say) while a
    renderer reads it: every answer is right, and the set is whole afterwards."""
    templates = tmp_path / "templates"
    templates.mkdir()
    for n in range(20):
        (templates / f"t{n}.md.j2").write_text(f"{n} {{{{ v }}}}\n")
    compiled = tmp_path / "compiled"
    errors: list[BaseException] = []

    def build() -> None:
        try:
            for _ in range(15):
                compile_templates(templates, compiled)
        except BaseException as exc:
            errors.append(exc)

    builders = [threading.Thread(target=build) for _ in range(2)]
    for thread in builders:
        thread.start()
    while any(thread.is_alive() for thread in builders):
        loader = PrecompiledLoader(templates, compiled)
        env = environment(loader)  # the options the modules were compiled with
        assert env.get_template("t7.md.j2").render(v=1) == "7 1\n"
    for thread in builders:
        thread.join()
    assert errors == []
    assert up_to_date(templates, compiled)
    assert [p.name for p in compiled.iterdir() if p.name.startswith(".")] == []


def test_a_module_without_bytecode_fills_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without bytecode Python would compile the module's source on every run: the first run
    takes the module and fills the per-user cache, the next ones read that."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "t.md.j2").write_text("value {{ v }}\n")
    compile_templates(templates, tmp_path / "compiled")
    shutil.copytree(tmp_path / "compiled", tmp_path / "again")  # a new environment, one cache
    first = TemplateRenderer(templates, tmp_path / "compiled")
    assert first.render("t.md.j2", {"v": 1}) == "value 1\n"
    assert _loader(first).served == {"t.md.j2"}
    cached = list((tmp_path / "cache" / "tac-bootstrap" / "jinja-f").iterdir())
    assert len(cached) == 1
    second = TemplateRenderer(templates, tmp_path / "again")
    assert second.render("t.md.j2", {"v": 2}) == "value 2\n"
    assert _loader(second).served == set()  # from the cache
    assert not list((tmp_path / "compiled").glob("__pycache__/*"))


def test_a_template_edited_while_loaded_is_loaded_again(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    template = templates / "t.md.j2"
    template.write_text("old {{ v }}\n")
    compile_templates(templates, tmp_path / "compiled")
    renderer = TemplateRenderer(templates, tmp_path / "compiled")
    assert renderer.render("t.md.j2", {"v": 1}) == "old 1\n"
    assert _loader(renderer).served == {"t.md.j2"}
    template.write_text("new {{ v }}\n")
    os.utime(template, (template.stat().st_mtime + 5,) * 2)  # a later mtime, whatever the clock
    assert renderer.render("t.md.j2", {"v": 1}) == "new 1\n"


def test_the_compile_key_follows_the_filters_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """jinja2 runs a filter applied to a literal at compile time: other filter code, other key."""
    before = compile_key()
    copy = tmp_path / "escaping.py"
    copy.write_bytes(Path(escaping.__file__).read_bytes() + b"\n# changed\n")
    monkeypatch.setattr(escaping, "__file__", str(copy))
    assert compile_key() != before


def test_the_installed_package_ships_every_template_compiled() -> None:
    """The build hook ran for this installation and its modules match today's templates (a
    checkout's later edits are compiled by `make templates`, which `make test` runs); each of
    them loads. (Without a user cache in the way: where the modules have no bytecode, as under
    PYTHONDONTWRITEBYTECODE, the renderer asks that cache first.)"""
    index = json.loads((COMPILED_DIR / INDEX).read_text())
    assert index["key"] == compile_key()
    names = {p.relative_to(TEMPLATES_DIR).as_posix() for p in TEMPLATES_DIR.rglob("*.j2")}
    assert set(index["templates"]) == names
    assert up_to_date(TEMPLATES_DIR, COMPILED_DIR)
    loader = PrecompiledLoader(TEMPLATES_DIR)
    env = environment(loader)
    for name in names:
        env.get_template(name)
    assert loader.served == names
