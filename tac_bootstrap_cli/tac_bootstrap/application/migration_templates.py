"""The migration templates of both backends, found by globbing the templates directory.

A new migration is then one new ``NNN_description.sql.j2`` per backend (plus its pin): the plan
picks it up without a list to edit. Numbering is checked here, when the plan is built, with the
same rule the runtime's runner applies to the rendered files (001, 002, ... without gaps), so a
misnumbered template is refused before any project receives it.
"""

from __future__ import annotations

import re
from pathlib import Path

from tac_bootstrap.domain.errors import TemplateError

# The runtime runner's rule (adw_db_migrations.MIGRATION_NAME; tests/test_generation_imports.py
# keeps them equal). Importing the runner here loaded sqlite3 and the row models on every init.
MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9][a-z0-9_]*)\.sql$")

# (directory under adws/schema, backend shown in plan reasons), in plan order.
MIGRATION_DIRS = (("migrations", "SQLite"), ("postgres/migrations", "PostgreSQL"))


def migration_templates(templates_dir: Path, subdir: str) -> list[str]:
    """Rendered file names (``NNN_description.sql``) of one backend's migrations, in order."""
    directory = templates_dir / "adws" / "schema" / subdir
    found: dict[int, str] = {}
    for path in sorted(directory.glob("*.sql.j2")):
        name = path.name.removesuffix(".j2")
        match = MIGRATION_NAME.match(name)
        if match is None:
            raise TemplateError(
                f"badly named migration template ({path})",
                "name it NNN_description.sql.j2 (three digits, lowercase letters, digits, _)",
            )
        version = int(match.group(1))
        if version in found:
            raise TemplateError(
                f"duplicate migration number {version:03d} ({path}; also {found[version]}.j2)",
                "renumber one of them",
            )
        found[version] = name
    if not found:
        raise TemplateError(
            f"no migration templates ({directory})", "add 001_initial.sql.j2 to that directory"
        )
    for expected, version in enumerate(sorted(found), start=1):
        if version != expected:
            raise TemplateError(
                f"migration templates must run 001, 002, ... without gaps; {expected:03d} is "
                f"missing ({directory})",
                "renumber the later templates or add the missing one",
            )
    return [found[version] for version in sorted(found)]


def migration_reason(backend: str, name: str) -> str:
    """``SQLite migration 002: rollup and retention indexes`` from the file name."""
    number, _, description = name.removesuffix(".sql").partition("_")
    return f"{backend} migration {number}: {description.replace('_', ' ')}"
