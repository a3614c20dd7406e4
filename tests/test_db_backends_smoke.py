"""The backend fixtures: one fresh database per test on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tac_bootstrap.runtime.adw_database import OrchestratorDB

from .db_helpers import LATEST_VERSION


def test_a_fresh_database_on_each_backend_starts_empty_at_the_latest_version(
    backend: str, db_target: tuple[str, Path]
) -> None:
    database, migrations = db_target
    with OrchestratorDB.open(database, migrations_dir=migrations) as db:
        assert db.backend == backend
        assert db.schema_version() == LATEST_VERSION
        assert set(db.table_counts().values()) == {0}
