"""What generating a project imports: start-up is most of `init`'s time (bench_generate.py).

Building and rendering the plan needs neither the database runtime (sqlite3, the row models)
nor psycopg; the migration-name rule the plan checks is the runtime runner's own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tac_bootstrap.application import migration_templates
from tac_bootstrap.runtime import adw_db_migrations

NOT_FOR_GENERATION = (
    "sqlite3",
    "psycopg",
    "tac_bootstrap.runtime.orch_database_models",
    "tac_bootstrap.runtime.adw_db_migrations",
    "tac_bootstrap.runtime.adw_database",
)


def test_the_plan_checks_migration_names_with_the_runtimes_rule() -> None:
    assert migration_templates.MIGRATION_NAME.pattern == adw_db_migrations.MIGRATION_NAME.pattern
    assert migration_templates.MIGRATION_NAME.flags == adw_db_migrations.MIGRATION_NAME.flags


def test_building_and_writing_a_plan_imports_no_database_code(tmp_path: Path) -> None:
    code = f"""
        import json, sys
        from pathlib import Path
        from tac_bootstrap.application.plan_executor import PlanExecutor
        from tac_bootstrap.application.scaffold_service import ScaffoldService
        from tac_bootstrap.domain.config import new_config

        config = new_config("demo")
        service = ScaffoldService()
        plan = service.build_plan(config, include_config=True)
        PlanExecutor(service).apply(plan, config, Path({str(tmp_path / "demo")!r}))
        print(json.dumps(sorted(sys.modules)))
    """
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    loaded = set(json.loads(run.stdout))
    assert (tmp_path / "demo" / "adws" / "adw_sdlc.py").is_file()
    assert loaded.isdisjoint(NOT_FOR_GENERATION), sorted(loaded & set(NOT_FOR_GENERATION))
