"""Released migrations never change: every database records their sha256 when applying them.

An edit to a migration template (or to a partial it includes) would make the runner refuse
every existing database, so the rendered bytes are pinned here. A schema change belongs in a
new NNN_description.sql; only then is a new pin added.
"""

from __future__ import annotations

import hashlib

import pytest

from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import Language, PackageManager, TacConfig, new_config

RELEASED = {
    "001_initial.sql": "8aa8eb6939976268b67e4debc29f90b2a042ab4c6a3aafade0b7ec1cc6a07c4d",
    "002_rollup_and_retention_indexes.sql": (
        "f04942368689814eaffca2cea2e97b87f205766d2e3870912b9f9ec8c0cfbe4a"
    ),
    "003_usage_by_kind_and_model.sql": (
        "03173cfc11add7d2531ebdd24cd735a3a8f392cbfd9dc3e9f8b63b3e780daf68"
    ),
    "postgres/001_initial.sql": (
        "965e20b2cb251ee988d12db123b33ceca1d1c3aa8c3b3f0efc08ca08930d38fd"
    ),
    "postgres/002_rollup_and_retention_indexes.sql": (
        "ce1f624a475d0e4220bde7ba324f33c18d9f37785ee117bfc1a7996641addf2f"
    ),
    "postgres/003_usage_by_kind_and_model.sql": (
        "b17fcd92b063f53024ba0c105bcea9a12cc75083ac62f453dcf1b55e65b715ee"
    ),
}


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
    service = ScaffoldService()
    plan = service.build_plan(config)
    rendered = {
        ("postgres/" if "/postgres/" in op.path else "") + op.path.rsplit("/", 1)[-1]: (
            service.content_for(op, config)
        )
        for op in plan.files
        if "/migrations/" in op.path and op.path.endswith(".sql")
    }
    assert set(rendered) == set(RELEASED)
    for name, digest in RELEASED.items():
        assert hashlib.sha256(rendered[name]).hexdigest() == digest, (
            f"{name} changed: existing databases would refuse it; put the change in a new "
            "migration instead"
        )
