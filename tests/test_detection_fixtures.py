"""Detection on fixtures built from real public repositories (tests/fixtures/repos/<name>/).

Each fixture keeps only the files detection reads (manifests, CI files, Makefiles; lock files and
binstubs as stubs) and an ``expected.json`` naming its source repository and the values a
person would choose: a string is the one exact answer, a list the acceptable ones (the first
preferred). The fixtures are this part's specification: every field must be right, and the
per-field accuracy is printed (``pytest -s``) so that a regression shows where it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.application.stack_detection import DetectedStack, detect_stack
from tac_bootstrap.domain.stacks import COMMAND_NAMES

from .conftest import tree_snapshot

FIXTURES = Path(__file__).parent / "fixtures" / "repos"
NAMES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.json").is_file())
STACK_FIELDS = ("name", "language", "framework", "package_manager")


def expected_of(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name / "expected.json").read_text())
    return data


def detected_fields(stack: DetectedStack) -> dict[str, str]:
    fields = {
        "name": stack.name,
        "language": stack.language.value,
        "framework": stack.framework,
        "package_manager": stack.package_manager.value,
    }
    fields.update({key: getattr(stack.commands, key) for key in COMMAND_NAMES})
    return fields


def wanted_fields(expected: dict[str, Any]) -> dict[str, list[str]]:
    """Every field as its list of acceptable values."""
    flat = {key: expected[key] for key in STACK_FIELDS}
    flat.update(expected["commands"])
    return {key: value if isinstance(value, list) else [value] for key, value in flat.items()}


def mismatches(name: str) -> tuple[list[str], int]:
    """The fields of fixture ``name`` detection got wrong (described), and how many there are."""
    root = FIXTURES / name
    before = tree_snapshot(root)
    detected = detected_fields(detect_stack(root))
    assert tree_snapshot(root) == before, "detection must never write"
    wanted = wanted_fields(expected_of(name))
    wrong = [
        f"{name}.{key}: detected {detected[key]!r}, expected one of {options!r}"
        for key, options in wanted.items()
        if detected[key] not in options
    ]
    return wrong, len(wanted)


def test_there_are_enough_fixtures_and_each_names_its_source() -> None:
    assert len(NAMES) >= 12
    for name in NAMES:
        expected = expected_of(name)
        assert "/" in expected["source"].split(":", 1)[0], f"{name}: source is owner/name"
        assert set(expected["commands"]) == set(COMMAND_NAMES), name


@pytest.mark.parametrize("name", NAMES)
def test_fixture_detected_exactly_or_acceptably(name: str) -> None:
    wrong, _ = mismatches(name)
    assert not wrong, "\n".join(wrong)


def test_accuracy_over_all_fixtures_is_reported_and_complete(
    capsys: pytest.CaptureFixture[str],
) -> None:
    per_field: dict[str, list[bool]] = {}
    all_wrong: list[str] = []
    for name in NAMES:
        wrong, _ = mismatches(name)
        all_wrong += wrong
        detected_wrong = {line.split(":", 1)[0].split(".", 1)[1] for line in wrong}
        for key in wanted_fields(expected_of(name)):
            per_field.setdefault(key, []).append(key not in detected_wrong)
    total = sum(len(results) for results in per_field.values())
    right = sum(sum(results) for results in per_field.values())
    with capsys.disabled():
        print(f"\ndetection accuracy on {len(NAMES)} real-repository fixtures: {right}/{total}")
        for key, results in per_field.items():
            print(f"  {key:16} {sum(results)}/{len(results)}")
    assert right == total, "\n".join(all_wrong)
