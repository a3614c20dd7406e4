"""`tac-bootstrap db copy` carries workflow runs (migration 005): runs, run_checks and
webhook_deliveries, in both directions, resumable, with the checks in the order they ran and
the one-active-run-per-issue rule refused before anything is written."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from tac_bootstrap.runtime import adw_db_operations as ops
from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.orch_database_models import OrchestratorError

from .conftest import BACKENDS
from .test_db_copy import (
    copy,
    copy_json,
    counts,
    migrations,
    open_db,
    populate,
    project,
    rows,
)

__all__ = ["project"]  # the module fixture of test_db_copy, shared

RUN_TABLES = ("runs", "run_checks", "webhook_deliveries")
CHECKS_PER_RUN = 30  # many finish within one millisecond: their order comes from the ids


def populate_runs(project: Path, database: str | Path) -> None:
    """Runs in every state a copy meets: finished with checks, claimed with a lease and a
    port, paused, queued, failed with a timed-out check; and remembered deliveries."""
    populate(project, database, logs_per_agent=3)
    with open_db(project, database) as db:
        _finished_run(db)
        db.create_run(
            "run-claimed", "sdlc", status="queued", issue_source="local",
            issue_ref="issues/login.md", details={"args": ["--issue", "issues/login.md"]},
        )  # fmt: skip
        assert db.claim_run("worker-a", 600) is not None
        db.assign_port("run-claimed", 9100, 10, 50)
        db.create_run("run-paused", "patch", issue_source="github", issue_ref=13)
        db.assign_port("run-paused", 9100, 10, 50)
        db.update_run("run-paused", status="paused", details={"question": "which?"})
        db.create_run("run-queued", "plan_build", status="queued", issue_title="text run")
        db.create_run("run-failed", "sdlc", issue_source="github", issue_ref=14)
        db.record_check("run-failed", "test", 1, "test", "make test", None, True, 900_000, "")
        db.finish_run("run-failed", "failed", error="tests timed out")
        for n in range(5):
            assert db.remember_delivery(f"delivery-{n}", "issues")


def _finished_run(db: OrchestratorDB) -> None:
    db.create_run(
        "run-done", "sdlc_ship", issue_source="github", issue_ref=12, issue_title="Add login",
        issue_type="feature", base_branch="main", details={"issue": {"body": "é\nline"}},
    )  # fmt: skip
    db.update_run("run-done", branch="feature/12-add-login", worktree="/tmp/trees/run-done")
    for attempt in range(1, 4):
        for n in range(CHECKS_PER_RUN // 3):
            name = ("test", "lint", "typecheck")[n % 3]
            code = 1 if attempt < 3 and name == "test" else 0
            db.record_check(
                "run-done", "test", attempt, name, f"make {name}", code, False, n, f"out {n}"
            )
    db.finish_run("run-done", "completed", pr_url="https://github.com/o/r/pull/3")


def checks_in_order(project: Path, database: str | Path) -> list[tuple[str, int, str, str]]:
    """Every run's checks as list_checks reads them: the order they ran."""
    with open_db(project, database, migrate=False) as db:
        return [
            (c.adw_id, c.attempt, c.name, c.output)
            for run in sorted(db.list_runs(limit=1000), key=lambda r: r.adw_id)
            for c in db.list_checks(run.adw_id)
        ]


def run_counts(project: Path, database: str | Path) -> dict[str, int]:
    return {t: n for t, n in counts(project, database).items() if t in RUN_TABLES}


EXPECTED_COUNTS = {"runs": 5, "run_checks": CHECKS_PER_RUN + 1, "webhook_deliveries": 5}


@pytest.mark.postgres
def test_runs_go_to_postgres_and_back_unchanged(project: Path, tmp_path: Path, pg_url: str) -> None:
    source, back = tmp_path / "source.db", tmp_path / "back.db"
    populate_runs(project, source)
    expected, order = rows(project, source), checks_in_order(project, source)
    assert run_counts(project, source) == EXPECTED_COUNTS

    there = copy_json(project, source, pg_url)
    home = copy_json(project, pg_url, back)

    for dest, document in ((pg_url, there), (back, home)):
        assert document["ok"] is True, document["problems"]
        for table, n in EXPECTED_COUNTS.items():
            assert document["tables"][table] == {
                "source_rows": n, "copied": n, "already_there": 0, "dest_rows": n,
            }  # fmt: skip
        assert rows(project, dest) == expected
        assert checks_in_order(project, dest) == order
    with open_db(project, pg_url, migrate=False) as db:
        failed = db.list_checks("run-failed")[0]
        assert failed.timed_out is True and failed.exit_code is None
        claimed = db.get_run("run-claimed")
        assert claimed is not None and claimed.worker_id == "worker-a"
        assert claimed.lease_expires_at is not None and claimed.port_base == 9100
        # the copied rows keep the rules: the issue of an active run stays taken
        with pytest.raises(Exception, match="active run"):
            db.create_run("run-again", "sdlc", issue_source="github", issue_ref=13)
        assert db.remember_delivery("delivery-1", "issues") is False


def test_runs_copy_between_sqlite_files(project: Path, tmp_path: Path) -> None:
    source, dest = tmp_path / "source.db", tmp_path / "dest.db"
    populate_runs(project, source)
    document = copy_json(project, source, dest)
    assert document["ok"] is True
    assert run_counts(project, dest) == EXPECTED_COUNTS
    assert rows(project, dest) == rows(project, source)
    assert checks_in_order(project, dest) == checks_in_order(project, source)


def _cut_runs(project: Path, database: str | Path) -> None:
    """Leave DEST as a copy interrupted in the runs' tables leaves it."""
    with open_db(project, database, migrate=False) as db:
        db.conn.execute("DELETE FROM webhook_deliveries WHERE delivery_id > 'delivery-1'")
        db.conn.execute(
            "DELETE FROM run_checks WHERE adw_id = 'run-done' AND attempt > 1"
        )  # the first attempt's checks are there, the later ones not yet
        db.conn.execute("DELETE FROM run_checks WHERE adw_id = 'run-failed'")
        db.conn.execute("DELETE FROM runs WHERE adw_id IN ('run-failed', 'run-queued')")
        if db.backend == "postgresql":
            db.conn.commit()


@pytest.mark.parametrize("dest_backend", ["sqlite", pytest.param("pg", marks=pytest.mark.postgres)])
def test_a_copy_interrupted_in_the_runs_resumes(
    project: Path, tmp_path: Path, dest_backend: str, request: pytest.FixtureRequest
) -> None:
    source = tmp_path / "source.db"
    populate_runs(project, source)
    dest = (
        str(tmp_path / "dest.db") if dest_backend == "sqlite" else request.getfixturevalue("pg_url")
    )
    copy_json(project, source, dest)
    _cut_runs(project, dest)
    assert run_counts(project, dest) == {"runs": 3, "run_checks": 10, "webhook_deliveries": 2}

    resumed = copy_json(project, source, dest, "--batch-size", "7")
    assert resumed["tables"]["runs"] == {
        "source_rows": 5, "copied": 2, "already_there": 3, "dest_rows": 5,
    }  # fmt: skip
    assert resumed["tables"]["run_checks"]["copied"] == CHECKS_PER_RUN + 1 - 10
    assert resumed["tables"]["webhook_deliveries"]["copied"] == 3
    assert rows(project, dest) == rows(project, source)
    assert checks_in_order(project, dest) == checks_in_order(project, source)


@pytest.mark.parametrize("dest_backend", ["sqlite", pytest.param("pg", marks=pytest.mark.postgres)])
def test_an_issue_with_another_active_run_in_dest_stops_before_writing(
    project: Path, tmp_path: Path, dest_backend: str, request: pytest.FixtureRequest
) -> None:
    source = tmp_path / "source.db"
    populate_runs(project, source)
    dest = (
        str(tmp_path / "dest.db") if dest_backend == "sqlite" else request.getfixturevalue("pg_url")
    )
    with open_db(project, dest) as db:
        db.create_run("dest-own", "sdlc", issue_source="github", issue_ref=13)
    before = rows(project, dest)

    result = copy(project, source, dest)
    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: DEST ") and "Traceback" not in result.stderr
    assert "already has another active run for github issue 13" in lines[0]
    assert "SOURCE run run-paused" in lines[0] and "DEST run dest-own" in lines[0]
    assert "nothing was copied" in result.stderr
    assert rows(project, dest) == before


def test_a_port_slot_held_in_dest_stops_before_writing(project: Path, tmp_path: Path) -> None:
    source, dest = tmp_path / "source.db", tmp_path / "dest.db"
    populate_runs(project, source)
    with open_db(project, dest) as db:
        db.create_run("dest-own", "sdlc")
        assert db.assign_port("dest-own", 9100, 10, 50) == 9100
    result = copy(project, source, dest)
    assert result.returncode == 1
    assert "another active run for port 9100 (SOURCE run run-claimed, DEST run dest-own)" in (
        result.stderr
    )
    assert run_counts(project, dest) == {"runs": 1, "run_checks": 0, "webhook_deliveries": 0}


def test_a_finished_run_of_the_same_issue_in_dest_is_no_clash(
    project: Path, tmp_path: Path
) -> None:
    """Only active runs are unique per issue: DEST's finished run for issue 13 stays and the
    SOURCE's active one is copied next to it."""
    source, dest = tmp_path / "source.db", tmp_path / "dest.db"
    populate_runs(project, source)
    with open_db(project, dest) as db:
        db.create_run("dest-old", "sdlc", issue_source="github", issue_ref=13)
        db.finish_run("dest-old", "failed", error="gave up")
    # DEST holds a run SOURCE lacks: the verification says so, after copying the rest
    document = copy_json(project, source, dest, code=1)
    assert document["tables"]["runs"]["copied"] == 5
    assert any("runs" in problem for problem in document["problems"])


@pytest.mark.postgres
def test_nul_characters_and_non_uuid_check_ids_in_runs_are_listed_before_writing(
    project: Path, tmp_path: Path, pg_url: str
) -> None:
    source = tmp_path / "source.db"
    populate_runs(project, source)
    conn = sqlite3.connect(source)
    conn.execute("UPDATE runs SET error = ? WHERE adw_id = 'run-failed'", ("a\x00b",))
    conn.execute("UPDATE runs SET details = '{\"q\":\"\\u0000\"}' WHERE adw_id = 'run-paused'")
    conn.execute(
        "UPDATE webhook_deliveries SET event = ? WHERE delivery_id = 'delivery-3'", ("\x00",)
    )
    conn.commit()
    refused = copy(project, source, pg_url)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "3 value(s) with NUL" in refused.stderr
    for found in (
        "runs.error of run-failed",
        "runs.details of run-paused",
        "webhook_deliveries.event of delivery-3",
    ):
        assert found in refused.stderr
    conn.execute("UPDATE runs SET error = NULL, details = '{}'")
    conn.execute("UPDATE webhook_deliveries SET event = 'issues'")
    conn.execute("UPDATE run_checks SET id = 'check-1' WHERE adw_id = 'run-failed'")
    conn.commit()
    conn.close()
    refused = copy(project, source, pg_url)
    assert refused.returncode == 1
    assert "1 id(s) that are not UUIDs" in refused.stderr
    assert "run_checks.id 'check-1'" in refused.stderr
    with open_db(project, pg_url, migrate=False) as db:
        assert db.schema_version() == 0  # nothing written, DEST not even migrated


@pytest.mark.parametrize("backend", BACKENDS)
def test_inserting_a_second_active_run_for_an_issue_is_an_error_naming_the_rule(
    project: Path, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """What a copy meets when DEST gets an active run for the issue after the preflight (a
    worker on DEST's server): an error saying which rule, never a row silently left out."""
    source = tmp_path / "source.db"
    populate_runs(project, source)
    dest = str(tmp_path / "dest.db") if backend == "sqlite" else request.getfixturevalue("pg_url")
    paused = [r for r in rows(project, source)["runs"] if r["adw_id"] == "run-paused"]
    with open_db(project, dest) as db:
        db.create_run("dest-own", "sdlc", issue_source="github", issue_ref=13)
        batch = [tuple(paused[0][c] for c in ops.COLUMNS["runs"])]
        with pytest.raises(OrchestratorError, match="issue or port slot of another active run"):
            db.insert_missing("runs", batch)
        assert db.insert_missing("runs", []) == 0
        assert [r.adw_id for r in db.list_runs()] == ["dest-own"]


@pytest.mark.postgres
def test_a_project_whose_migrations_stop_at_4_copies_without_the_runs_tables(
    project: Path, tmp_path: Path, pg_url: str
) -> None:
    """A project not rendered again since migration 005 (its adws/schema has 001 to 004):
    its databases are copied as they are, none of the runs' checks looks for their tables."""
    older = tmp_path / "older"
    shutil.copytree(project, older, symlinks=True)
    for backend in ("sqlite", "postgresql"):
        for path in migrations(older, backend).glob("005_*.sql"):
            path.unlink()
    source = tmp_path / "v4.db"
    populate(older, source, logs_per_agent=3)
    document = copy_json(older, source, pg_url)
    assert document["ok"] is True and document["schema_version"] == 4
    assert not set(document["tables"]) & set(RUN_TABLES)
    assert rows(older, pg_url) == rows(older, source)
