"""The stack registry (domain/stacks): one record per language, and everything that reads it.

These tests are what makes "adding a stack" a registry entry: a record that the enums, the
detectors or the templates do not know of fails here, not in a user's project.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tac_bootstrap.application import stack_detection
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.application.stack_detection import detect_stack
from tac_bootstrap.domain.config import (
    FRAMEWORKS,
    PACKAGE_MANAGERS,
    Language,
    PackageManager,
    default_commands,
    new_config,
)
from tac_bootstrap.domain.stacks import (
    COMMAND_NAMES,
    STACKS,
    LanguageSpec,
    detection_precedence,
    language_help,
    language_spec,
    package_manager_names,
    package_manager_spec,
)
from tac_bootstrap.infrastructure.template_renderer import TEMPLATES_DIR, TemplateRenderer

NOTES_MACROS = ("plan_notes", "implement_notes", "prime_notes")


def test_enums_name_exactly_the_registry_records() -> None:
    assert [lang.value for lang in Language] == [spec.name for spec in STACKS]
    assert [pm.value for pm in PackageManager] == list(package_manager_names())
    for lang in Language:
        assert lang.stack is language_spec(lang.value)
        assert PACKAGE_MANAGERS[lang] == tuple(
            map(PackageManager, lang.stack.package_manager_names)
        )
        assert FRAMEWORKS[lang] == lang.stack.framework_names
    for pm in PackageManager:
        assert pm.spec is package_manager_spec(pm.value)


@pytest.mark.parametrize("spec", STACKS, ids=lambda spec: spec.name)
def test_record_is_complete(spec: LanguageSpec) -> None:
    assert spec.framework_names[0] == "none"
    assert len(set(spec.framework_names)) == len(spec.frameworks)
    assert spec.package_managers and spec.markers
    same_ecosystem = {
        f for other in STACKS if other.ecosystem == spec.ecosystem for f in other.framework_names
    }
    for _marker, framework in spec.framework_markers:
        assert framework in same_ecosystem  # a marker names a framework detection knows
    for pm in spec.package_managers:
        for framework in spec.framework_names:
            commands = spec.default_commands(pm.name, framework)
            assert set(commands) <= set(COMMAND_NAMES)
            assert commands["test"], f"{spec.name}/{pm.name}/{framework} has no test command"
            assert not any("{" in c for c in commands.values())  # every field was filled


def test_every_ecosystem_has_exactly_one_detector() -> None:
    assert set(stack_detection._DETECTORS) == {spec.ecosystem for spec in STACKS}
    assert detection_precedence() == stack_detection.PRECEDENCE
    assert detection_precedence() == ("go", "rust", "java", "python", "ruby", "node")


@pytest.mark.parametrize(
    ("spec", "marker"),
    [(spec, marker) for spec in STACKS for marker in spec.markers],
    ids=lambda value: value if isinstance(value, str) else value.name,
)
def test_each_marker_alone_is_detected_as_its_ecosystem(
    tmp_path: Path, spec: LanguageSpec, marker: str
) -> None:
    name = marker.replace("*", "-dev")
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}\n" if name.endswith(".json") else "", encoding="utf-8")
    stack = detect_stack(tmp_path)
    assert stack.ecosystems == (spec.ecosystem,)
    assert stack.language.stack.ecosystem == spec.ecosystem
    assert stack.package_manager.value in stack.language.stack.package_manager_names


def test_default_commands_come_from_the_registry() -> None:
    commands = default_commands(Language.PYTHON, PackageManager.UV)
    assert (commands.install, commands.test) == ("uv sync", "uv run python -m pytest")
    gradle = default_commands(Language.JAVA, PackageManager.GRADLE, "spring")
    assert (gradle.install, gradle.start, gradle.build) == (
        "./gradlew dependencies",
        "./gradlew run",
        "./gradlew build",
    )
    rails = default_commands(Language.RUBY, PackageManager.BUNDLER, "rails")
    assert (rails.start, rails.test) == ("bundle exec rails server", "bundle exec rails test")
    # an unknown framework (a config built without validation) is shown under its own name
    # and falls back to the language's commands
    hanami = Language.RUBY.stack.framework("hanami")
    assert (hanami.display_name, hanami.notes, dict(hanami.commands)) == ("hanami", "", {})
    assert default_commands(Language.RUBY, PackageManager.BUNDLER, "hanami").test == (
        "bundle exec rspec"
    )


def test_language_help_lists_every_language() -> None:
    assert language_help() == "python, typescript, javascript, go, rust, java or ruby."


def test_every_record_has_its_notes_partial_and_no_partial_is_orphaned() -> None:
    named = {spec.notes_template for spec in STACKS}
    on_disk = {
        p.relative_to(TEMPLATES_DIR).as_posix() for p in (TEMPLATES_DIR / "stacks").glob("*.j2")
    }
    assert named == on_disk
    for template in named:
        source = (TEMPLATES_DIR / template).read_text(encoding="utf-8")
        for macro in NOTES_MACROS:
            assert re.search(rf"{{% macro {macro}\(\) %}}", source), f"{template}: no {macro}"


def test_no_template_branches_on_the_language() -> None:
    """Language facts come from project.language.stack; an if-chain over languages in a
    shared template is what the registry replaced."""
    offenders = [
        p.relative_to(TEMPLATES_DIR).as_posix()
        for p in TEMPLATES_DIR.rglob("*.j2")
        if "stacks" not in p.parts and "language.value ==" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []


@pytest.mark.parametrize("spec", STACKS, ids=lambda spec: spec.name)
def test_command_templates_print_the_records_facts(spec: LanguageSpec) -> None:
    framework = spec.frameworks[-1]
    config = new_config("demo", Language(spec.name), framework.name)
    service = ScaffoldService(TemplateRenderer())
    context = service.context(config)
    prime = service.renderer.render("claude/commands/prime.md.j2", context)
    assert f"- **Stack:** {spec.display_name} with " in prime
    assert framework.notes in prime
    review = service.renderer.render("claude/commands/review.md.j2", context)
    assert f"src/orders.{spec.source_ext}:42" in review
    document = service.renderer.render("claude/commands/document.md.j2", context)
    assert f"({spec.doc_comments})" in document
    plan = service.renderer.render("specs/templates/feature.md.j2", context)
    assert spec.test_location in plan
