"""Released migrations never change, and a new one needs only its template files and a pin.

Every database records a migration's sha256 when applying it, so an edit to a migration
template (or to a partial it includes) would make the runner refuse every existing database:
the rendered bytes of both backends are pinned in one table here. The plan finds migrations by
globbing the templates (application/migration_templates.py); these tests show a fabricated next one
is picked up with no other edit, that misnumbered templates are refused when the plan is built,
and that a migration without a pin fails with the line to add. See specs/adding-a-migration.md.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tac_bootstrap.application.migration_templates import MIGRATION_DIRS, migration_templates
from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import Language, PackageManager, TacConfig, new_config
from tac_bootstrap.domain.errors import TemplateError
from tac_bootstrap.infrastructure.template_renderer import TEMPLATES_DIR, TemplateRenderer
from tac_bootstrap.runtime.adw_db_migrations import discover

# Every released migration of both backends, by its path under adws/schema/.
RELEASED = {
    "migrations/001_initial.sql": (
        "8aa8eb6939976268b67e4debc29f90b2a042ab4c6a3aafade0b7ec1cc6a07c4d"
    ),
    "migrations/002_rollup_and_retention_indexes.sql": (
        "f04942368689814eaffca2cea2e97b87f205766d2e3870912b9f9ec8c0cfbe4a"
    ),
    "migrations/003_usage_by_kind_and_model.sql": (
        "03173cfc11add7d2531ebdd24cd735a3a8f392cbfd9dc3e9f8b63b3e780daf68"
    ),
    "migrations/004_prompt_totals.sql": (
        "9598cc570a9b42402ddc51e81d2ee99549f543d141cf5691921380267f8b71b9"
    ),
    "migrations/005_runs.sql": ("1fca8a97af1d164d34b73382f8e90c363d37fac4ef02c7a40597b1dceb8d961e"),
    "postgres/migrations/001_initial.sql": (
        "965e20b2cb251ee988d12db123b33ceca1d1c3aa8c3b3f0efc08ca08930d38fd"
    ),
    "postgres/migrations/002_rollup_and_retention_indexes.sql": (
        "ce1f624a475d0e4220bde7ba324f33c18d9f37785ee117bfc1a7996641addf2f"
    ),
    "postgres/migrations/003_usage_by_kind_and_model.sql": (
        "b17fcd92b063f53024ba0c105bcea9a12cc75083ac62f453dcf1b55e65b715ee"
    ),
    "postgres/migrations/004_prompt_totals.sql": (
        "3e1b06f9207ff1e58a188fbadd8c5e118555a1392af3468be854d792bb15eaf6"
    ),
    "postgres/migrations/005_runs.sql": (
        "478fc8237a7b313122d3fef34cedaedc5202b3b5d7984210c5ed1d91cf9afc86"
    ),
}

# The number a new migration gets: one past the released templates (a fabricated one must not
# collide with a real release).
NEXT = len(list((TEMPLATES_DIR / "adws" / "schema" / "migrations").glob("*.sql.j2"))) + 1
NOTES = f"{NEXT:03d}_add_notes.sql"
NOTES_TABLE = f"test_notes_{NEXT:03d}"
NOTES_SQL = f"-- Migration {NEXT:03d} (test only).\nCREATE TABLE {NOTES_TABLE} (body TEXT);\n"


def rendered_migrations(service: ScaffoldService, config: TacConfig) -> dict[str, bytes]:
    """The planned migrations' bytes, keyed by their path under the schema directory."""
    schema = config.schema_dir + "/"
    return {
        op.path.removeprefix(schema): service.content_for(op, config)
        for op in service.build_plan(config).files
        if "/migrations/" in op.path and op.path.endswith(".sql")
    }


def pin_problems(rendered: dict[str, bytes], pins: dict[str, str]) -> list[str]:
    """What is wrong with the pins, one line each, saying how to fix it."""
    problems = []
    for name, data in sorted(rendered.items()):
        digest = hashlib.sha256(data).hexdigest()
        if name not in pins:
            problems.append(
                f"{name} has no pin; once it is released add "
                f'"{name}": "{digest}" to RELEASED in tests/test_migration_pins.py'
            )
        elif pins[name] != digest:
            problems.append(
                f"{name} changed: existing databases would refuse it; undo the edit and put "
                "the change in a new migration instead"
            )
    problems += [
        f"{name} is pinned but no longer planned; a released migration is never removed"
        for name in sorted(set(pins) - set(rendered))
    ]
    return problems


def templates_copy(root: Path) -> Path:
    """A private copy of the package's templates, for a test to add or remove files in."""
    return Path(shutil.copytree(TEMPLATES_DIR, root / "templates"))


@pytest.mark.parametrize(
    "config",
    [
        new_config("demo"),
        new_config("web", Language.TYPESCRIPT, "express", PackageManager.PNPM),
    ],
    ids=["python", "typescript"],
)
def test_released_migrations_render_byte_for_byte(config: TacConfig) -> None:
    """Same bytes whatever the project: migrations must not depend on template variables."""
    assert pin_problems(rendered_migrations(ScaffoldService(), config), RELEASED) == []


def test_the_plan_holds_exactly_the_globbed_templates_in_order() -> None:
    config = new_config("demo")
    globbed = [
        f"{subdir}/{path.name.removesuffix('.j2')}"
        for subdir, _ in MIGRATION_DIRS
        for path in sorted((TEMPLATES_DIR / "adws" / "schema" / subdir).glob("*.sql.j2"))
    ]
    assert list(rendered_migrations(ScaffoldService(), config)) == globbed


def test_a_new_template_is_planned_rendered_and_applied_with_no_other_edit(
    tmp_path: Path,
) -> None:
    templates = templates_copy(tmp_path)
    for subdir, _ in MIGRATION_DIRS:
        (templates / "adws" / "schema" / subdir / f"{NOTES}.j2").write_text(NOTES_SQL)
    service = ScaffoldService(TemplateRenderer(templates))
    config = new_config("demo")
    rendered = rendered_migrations(service, config)

    for subdir, _ in MIGRATION_DIRS:
        names = [name for name in rendered if name.startswith(f"{subdir}/")]
        assert names[-1] == f"{subdir}/{NOTES}"
        numbers = [f"{number:03d}" for number in range(1, NEXT + 1)]
        assert [name.rsplit("/", 1)[1][:3] for name in names] == numbers
        assert rendered[f"{subdir}/{NOTES}"] == NOTES_SQL.encode()
    problems = pin_problems(rendered, RELEASED)
    before = pin_problems(rendered_migrations(ScaffoldService(), config), RELEASED)  # [] if pinned
    digest = hashlib.sha256(NOTES_SQL.encode()).hexdigest()
    assert sorted(problems) == sorted(
        before
        + [
            f"{subdir}/{NOTES} has no pin; once it is released add "
            f'"{subdir}/{NOTES}": "{digest}" to RELEASED in tests/test_migration_pins.py'
            for subdir in ("migrations", "postgres/migrations")
        ]
    )

    # The rendered SQLite migrations are what the runtime's runner accepts and applies.
    migrations = tmp_path / "rendered"
    migrations.mkdir()
    for name, data in rendered.items():
        if name.startswith("migrations/"):
            (migrations / name.removeprefix("migrations/")).write_bytes(data)
    assert [m.version for m in discover(migrations)] == list(range(1, NEXT + 1))
    conn = sqlite3.connect(":memory:")
    for migration in discover(migrations):
        conn.executescript(migration.path.read_text())
    assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (NOTES_TABLE,)).fetchone()


MISNUMBERED = [
    # (what the test does to the SQLite migration templates, text the error must contain)
    ("gap 001, 003", lambda d: (d / "002_rollup_and_retention_indexes.sql.j2").unlink(), "002 is"),
    ("no 001", lambda d: (d / "001_initial.sql.j2").unlink(), "001 is missing"),
    (
        "duplicate 003",
        lambda d: (d / "003_again.sql.j2").write_text("SELECT 1;\n"),
        "duplicate migration number 003",
    ),
    (
        "gap after the last",
        lambda d: (d / f"{NEXT + 1:03d}_late.sql.j2").write_text("SELECT 1;\n"),
        f"{NEXT:03d} is missing",
    ),
    ("bad name", lambda d: (d / "4_short.sql.j2").write_text("SELECT 1;\n"), "badly named"),
]


@pytest.mark.parametrize(
    ("change", "expected"),
    [(change, expected) for _, change, expected in MISNUMBERED],
    ids=[case for case, _, _ in MISNUMBERED],
)
def test_misnumbered_templates_are_refused_when_the_plan_is_built(
    tmp_path: Path, change: Callable[[Path], object], expected: str
) -> None:
    templates = templates_copy(tmp_path)
    directory = templates / "adws" / "schema" / "migrations"
    change(directory)
    service = ScaffoldService(TemplateRenderer(templates))
    with pytest.raises(TemplateError) as raised:
        service.build_plan(new_config("demo"))
    assert expected in raised.value.message
    assert str(directory) in raised.value.message  # names where to look
    assert raised.value.hint  # and how to fix it
    assert raised.value.exit_code == 1


@settings(max_examples=200)
@given(
    versions=st.one_of(
        st.integers(min_value=1, max_value=12).flatmap(
            lambda n: st.permutations(list(range(1, n + 1)))
        ),
        st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=12),
    ),
)
def test_numbering_is_accepted_exactly_when_it_runs_from_001_without_gaps(
    versions: list[int],
) -> None:
    """Any multiset of numbers: accepted iff each of 1..n appears once, and then in order."""
    with tempfile.TemporaryDirectory() as root:
        directory = Path(root) / "adws" / "schema" / "migrations"
        directory.mkdir(parents=True)
        for index, version in enumerate(versions):
            (directory / f"{version:03d}_step_{index}.sql.j2").write_text("SELECT 1;\n")
        valid = sorted(versions) == list(range(1, len(versions) + 1))
        if valid:
            names = migration_templates(Path(root), "migrations")
            assert [int(name[:3]) for name in names] == list(range(1, len(versions) + 1))
        else:
            with pytest.raises(TemplateError):
                migration_templates(Path(root), "migrations")
