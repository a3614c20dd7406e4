"""`db status`, `db export` and `db prune` on the workflow runs' tables (migration 005), on
both engines: counted, exported the same from either, pruned like finished agents (never an
active run), webhook deliveries kept at least GitHub's redelivery window."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tac_bootstrap.application.database_export import export
from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_ops_prune_runs import DELIVERY_MIN_DAYS

from .db_helpers import MIGRATIONS, days_ago, write


@pytest.fixture
def db(db_target: tuple[str, Path]) -> Iterator[OrchestratorDB]:
    database, migrations = db_target
    opened = OrchestratorDB.open(database, migrations_dir=migrations)
    yield opened
    opened.close()


def backdate(db: OrchestratorDB, table: str, key: str, value: str, **columns: str) -> None:
    sets = ", ".join(f"{column} = ?" for column in columns)
    assert write(db, f"UPDATE {table} SET {sets} WHERE {key} = ?", *columns.values(), value) == 1


def finished_run(db: OrchestratorDB, adw_id: str, status: str, age_days: float) -> None:
    db.create_run(adw_id, "sdlc", issue_source="github", issue_ref=adw_id)
    for attempt in (1, 2):
        db.record_check(adw_id, "test", attempt, "test", "make test", attempt - 1, False, 5, "")
    db.finish_run(adw_id, status)
    backdate(db, "runs", "adw_id", adw_id, completed_at=days_ago(age_days))


def runs_world(db: OrchestratorDB) -> None:
    """Old and recent finished runs, active runs untouched for months, deliveries of several
    ages."""
    finished_run(db, "old-done", "completed", 40)
    finished_run(db, "old-failed", "failed", 31)
    finished_run(db, "old-cancelled", "cancelled", 90)
    finished_run(db, "recent-done", "completed", 2)
    db.create_run("old-paused", "patch", issue_source="github", issue_ref=99)
    db.record_check("old-paused", "test", 1, "test", "make test", 1, False, 5, "")
    db.update_run("old-paused", status="paused")
    db.create_run("old-queued", "sdlc", status="queued")
    db.create_run("old-running", "sdlc")
    for adw_id in ("old-paused", "old-queued", "old-running"):  # active runs, however old
        backdate(db, "runs", "adw_id", adw_id, created_at=days_ago(200), updated_at=days_ago(200))
    for name, age in (("d-today", 0), ("d-2-days", 2), ("d-10-days", 10), ("d-60-days", 60)):
        assert db.remember_delivery(name, "issues")
        backdate(db, "webhook_deliveries", "delivery_id", name, received_at=days_ago(age))


def run_ids(db: OrchestratorDB) -> set[str]:
    return {run.adw_id for run in db.list_runs(limit=100)}


def delivery_ids(db: OrchestratorDB) -> set[str]:
    return {row["delivery_id"] for row in db.iter_rows("webhook_deliveries")}


def test_prune_deletes_old_finished_runs_with_their_checks_never_active_ones(
    db: OrchestratorDB,
) -> None:
    runs_world(db)
    before = db.table_counts()
    expected = {"runs": 3, "run_checks": 6, "webhook_deliveries": 1}  # d-60-days

    dry = db.prune(30, dry_run=True)
    assert {t: dry[t] for t in expected} == expected
    assert db.table_counts() == before
    done = db.prune(30)
    assert done == dry
    after = db.table_counts()
    assert {t: before[t] - after[t] for t in expected} == expected
    assert run_ids(db) == {"recent-done", "old-paused", "old-queued", "old-running"}
    assert len(db.list_checks("recent-done")) == 2 and len(db.list_checks("old-paused")) == 1
    assert delivery_ids(db) == {"d-today", "d-2-days", "d-10-days"}
    assert db.prune(30) == dict.fromkeys(done, 0)


def test_deliveries_are_kept_for_the_redelivery_window_whatever_the_cutoff(
    db: OrchestratorDB,
) -> None:
    """--older-than 0 deletes every finished run, but a delivery younger than the window
    stays: a GitHub redelivery of it (same delivery id) must still be refused."""
    runs_world(db)
    assert DELIVERY_MIN_DAYS == 7
    deleted = db.prune(0)
    assert deleted["runs"] == 4 and deleted["run_checks"] == 8
    assert deleted["webhook_deliveries"] == 2
    assert run_ids(db) == {"old-paused", "old-queued", "old-running"}
    assert delivery_ids(db) == {"d-today", "d-2-days"}
    assert db.remember_delivery("d-2-days", "issues") is False  # still a replay
    assert db.prune(50)["webhook_deliveries"] == 0  # the cutoff beyond the window decides
    assert db.prune(9)["webhook_deliveries"] == 0
    assert delivery_ids(db) == {"d-today", "d-2-days"}


def test_a_reopened_run_is_no_longer_pruned(db: OrchestratorDB) -> None:
    runs_world(db)
    db.reopen_run("old-done")
    assert db.prune(30, dry_run=True)["runs"] == 2
    db.prune(30)
    assert "old-done" in run_ids(db) and len(db.list_checks("old-done")) == 2


def test_status_counts_the_runs_tables(db: OrchestratorDB) -> None:
    runs_world(db)
    counts = db.status().counts
    assert (counts["runs"], counts["run_checks"], counts["webhook_deliveries"]) == (7, 9, 4)


def test_export_holds_the_runs_tables_the_same_from_either_engine(
    db: OrchestratorDB, tmp_path: Path
) -> None:
    runs_world(db)
    db.record_check("old-running", "test", 1, "lint", "make lint", None, True, 900, "tail")
    exported = tmp_path / "export.json"
    counts = export(db, exported, "json")
    assert (counts["runs"], counts["run_checks"], counts["webhook_deliveries"]) == (7, 10, 4)
    tables = json.loads(exported.read_text())["tables"]
    assert {t: len(tables[t]) for t in ("runs", "run_checks", "webhook_deliveries")} == {
        "runs": 7,
        "run_checks": 10,
        "webhook_deliveries": 4,
    }
    timed_out = [c for c in tables["run_checks"] if c["adw_id"] == "old-running"]
    assert timed_out[0]["timed_out"] is True and timed_out[0]["exit_code"] is None
    assert all(
        c["timed_out"] is False for c in tables["run_checks"] if c["adw_id"] != "old-running"
    )
    paused = next(r for r in tables["runs"] if r["adw_id"] == "old-paused")
    assert paused["details"] == {} and paused["status"] == "paused"
    assert paused["created_at"].endswith("Z")
    done = [(c["adw_id"], c["attempt"]) for c in tables["run_checks"] if c["adw_id"] == "old-done"]
    assert done == [("old-done", 1), ("old-done", 2)]  # in the order they ran

    csv_dir = tmp_path / "csv"
    export(db, csv_dir, "csv")
    with (csv_dir / "run_checks.csv").open() as handle:
        checks = list(csv.DictReader(handle))
    assert len(checks) == 10
    assert sorted({c["timed_out"] for c in checks}) == ["0", "1"]  # not True/False
    assert {p.name for p in csv_dir.iterdir()} >= {"runs.csv", "webhook_deliveries.csv"}


def test_a_database_before_migration_5_is_counted_exported_and_pruned_without_them(
    tmp_path: Path,
) -> None:
    """Read commands never migrate: a database at version 4 lacks the runs' tables, and
    status, export and prune leave them out instead of failing."""
    older = tmp_path / "migrations"
    older.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql"))[:4]:
        shutil.copy2(path, older)
    with OrchestratorDB.open(tmp_path / "v4.db", migrations_dir=older) as db:
        assert db.schema_version() == 4
        assert "runs" not in db.status().counts
        assert "runs" not in db.prune(1, dry_run=True)
        assert "webhook_deliveries" not in db.prune(1)
        export(db, tmp_path / "v4.json", "json")
        assert "runs" not in json.loads((tmp_path / "v4.json").read_text())["tables"]
