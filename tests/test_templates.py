"""Jinja rendering rules: StrictUndefined, kept trailing newlines, errors with template and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tac_bootstrap.domain.errors import TemplateError
from tac_bootstrap.infrastructure.template_renderer import TemplateRenderer

from .conftest import TEMPLATES_DIR


def renderer_with(tmp_path: Path, files: dict[str, str]) -> TemplateRenderer:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return TemplateRenderer(tmp_path)


def test_undefined_variable_names_template_and_line(tmp_path: Path) -> None:
    renderer = renderer_with(tmp_path, {"a/x.md.j2": "line one\n\nhello {{ missing_name }}\n"})
    with pytest.raises(TemplateError, match=r"template a/x\.md\.j2:3: 'missing_name' is undefined"):
        renderer.render("a/x.md.j2", {})


def test_undefined_inside_an_included_template_names_the_include(tmp_path: Path) -> None:
    renderer = renderer_with(
        tmp_path, {"outer.j2": 'top\n{% include "inner.j2" %}\n', "inner.j2": "\n{{ nope.x }}\n"}
    )
    with pytest.raises(TemplateError, match=r"template inner\.j2:2: 'nope' is undefined"):
        renderer.render("outer.j2", {})


def test_syntax_error_names_template_and_line(tmp_path: Path) -> None:
    renderer = renderer_with(tmp_path, {"bad.j2": "ok\n{% if %}\n"})
    with pytest.raises(TemplateError, match=r"template bad\.j2:2: syntax error"):
        renderer.render("bad.j2", {})


def test_trailing_newline_is_kept(tmp_path: Path) -> None:
    renderer = renderer_with(tmp_path, {"t.j2": "value: {{ v }}\n"})
    assert renderer.render("t.j2", {"v": 1}) == "value: 1\n"


def test_every_shipped_template_renders_with_strict_undefined() -> None:
    """Catches a shipped template that references a variable the context does not have."""
    from tac_bootstrap.application.scaffold_service import ScaffoldService
    from tac_bootstrap.domain.config import new_config

    service = ScaffoldService()
    config = new_config("strict")
    plan = service.build_plan(config, include_config=True)
    rendered = {op.source for op in plan.files if op.source.endswith(".j2")}
    shipped = {
        p.relative_to(TEMPLATES_DIR).as_posix()
        for p in TEMPLATES_DIR.rglob("*.j2")
        if not p.name.startswith("_") and p.name != "tac_bootstrap.yml.j2"
    }
    assert rendered == shipped  # no orphan template
    for op in plan.files:
        assert service.content_for(op, config).endswith(b"\n") or op.path.endswith(".gitkeep")
