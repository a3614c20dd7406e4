"""The runs of workflows in the orchestrator database (migration 005), on SQLite and PostgreSQL:
every run, check and delivery operation of the sync API and its async twin, the partial unique
indexes (one active run per issue, one per port slot), and port slots under concurrency."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tac_bootstrap.runtime.adw_database import AsyncOrchestratorDB, OrchestratorDB
from tac_bootstrap.runtime.orch_database_models import (
    InvalidInput,
    NoFreePort,
    NotFound,
    RunExists,
)
from tac_bootstrap.runtime.orch_run_models import IssueSource, IssueType, RunStatus

Target = tuple[str, Path]


@pytest.fixture
def db(db_target: Target) -> Iterator[OrchestratorDB]:
    database, migrations = db_target
    with OrchestratorDB.open(database, migrations_dir=migrations) as opened:
        yield opened


def test_create_get_and_list_runs(db: OrchestratorDB) -> None:
    run = db.create_run(
        "a1", "sdlc", issue_source="github", issue_ref=12, issue_title="Add login",
        issue_type="feature", base_branch="main", details={"args": ["--issue", "12"]},
    )  # fmt: skip
    assert (run.status, run.issue_source, run.issue_ref) == (
        RunStatus.RUNNING, IssueSource.GITHUB, "12",
    )  # fmt: skip
    assert run.issue_type is IssueType.FEATURE and run.details == {"args": ["--issue", "12"]}
    assert run.started_at is not None and run.completed_at is None and run.claims == 0
    assert run.lease_expires_at is None  # started in-process: no worker holds it
    queued = db.create_run("a2", "patch", status="queued")
    assert queued.status is RunStatus.QUEUED and queued.started_at is None
    assert db.get_run("a1") == run
    assert db.get_run("missing") is None
    assert [r.adw_id for r in db.list_runs()] == ["a2", "a1"]  # newest first
    assert [r.adw_id for r in db.list_runs(status="queued")] == ["a2"]
    assert [r.adw_id for r in db.list_runs(status=["queued", "running"], limit=1)] == ["a2"]
    with pytest.raises(InvalidInput, match="status"):
        db.list_runs(status="sleeping")


def test_create_run_refuses_bad_input_before_writing(db: OrchestratorDB) -> None:
    for kwargs in (
        {"status": "completed"},
        {"issue_source": "jira"},
        {"issue_type": "epic"},
        {"details": ["not", "an", "object"]},
    ):
        with pytest.raises(InvalidInput):
            db.create_run("x1", "sdlc", **kwargs)
    with pytest.raises(InvalidInput, match="workflow"):
        db.create_run("x1", " ")
    assert db.list_runs() == []


def test_a_taken_adw_id_is_refused(db: OrchestratorDB) -> None:
    db.create_run("a1", "sdlc")
    with pytest.raises(RunExists) as caught:
        db.create_run("a1", "patch")
    assert caught.value.existing == "a1"


def test_one_active_run_per_issue_then_a_new_one_after_it_finished(db: OrchestratorDB) -> None:
    db.create_run("a1", "sdlc", status="queued", issue_source="github", issue_ref="7")
    with pytest.raises(RunExists, match="active run") as caught:
        db.create_run("a2", "sdlc", issue_source="github", issue_ref="7")
    assert caught.value.existing == "a1"
    # Another source's issue 7, and a run without an issue, are other issues.
    db.create_run("b1", "sdlc", issue_source="local", issue_ref="7")
    db.create_run("c1", "sdlc")
    db.create_run("c2", "sdlc")
    db.update_run("a1", status="paused")  # paused still holds the issue
    with pytest.raises(RunExists):
        db.create_run("a2", "sdlc", issue_source="github", issue_ref="7")
    db.finish_run("a1", "failed", error="boom")
    again = db.create_run("a2", "sdlc", issue_source="github", issue_ref="7")
    assert again.status is RunStatus.RUNNING


def test_the_unique_index_refuses_a_second_active_run_written_by_plain_sql(
    db: OrchestratorDB,
) -> None:
    """The index, not the Python check, is the guarantee: another program's INSERT fails."""
    db.create_run("a1", "sdlc", issue_source="github", issue_ref="9")
    conn = db.conn
    with pytest.raises(db.dialect.errors):
        conn.execute(
            db.dialect.translate(
                "INSERT INTO runs (adw_id, workflow, status, issue_source, issue_ref) "
                "VALUES ('a2', 'sdlc', 'queued', 'github', '9')"
            )
        )
    db.dialect.rollback_quietly(conn)


def test_update_run_sets_whitelisted_fields_and_merges_details(db: OrchestratorDB) -> None:
    db.create_run("a1", "sdlc", details={"issue": "text", "keep": 1})
    run = db.update_run(
        "a1", branch="feature/1-x", worktree="/tmp/trees/a1", issue_type="bug",
        details={"issue": "new", "added": [1, 2]},
    )  # fmt: skip
    assert (run.branch, run.worktree, run.issue_type) == ("feature/1-x", "/tmp/trees/a1", "bug")
    assert run.details == {"issue": "new", "keep": 1, "added": [1, 2]}
    assert run.updated_at >= run.created_at
    with pytest.raises(InvalidInput, match="worker_id"):
        db.update_run("a1", worker_id="me")
    with pytest.raises(InvalidInput, match="finish_run"):
        db.update_run("a1", status="completed")
    with pytest.raises(NotFound):
        db.update_run("missing", branch="x")


def test_back_to_queued_frees_the_port_and_the_lease(db: OrchestratorDB) -> None:
    db.create_run("a1", "sdlc")
    assert db.assign_port("a1", 9100, 10, 5) == 9100
    db.update_run("a1", status="paused")
    assert db.get_run("a1").port_base == 9100  # type: ignore[union-attr]
    run = db.update_run("a1", status="queued")
    assert run.port_base is None and run.lease_expires_at is None


def test_assign_port_takes_the_lowest_free_slot_and_keeps_it(db: OrchestratorDB) -> None:
    for adw_id in ("a1", "a2", "a3"):
        db.create_run(adw_id, "sdlc")
    assert db.assign_port("a1", 9100, 10, 3) == 9100
    assert db.assign_port("a2", 9100, 10, 3) == 9110
    assert db.assign_port("a1", 9100, 10, 3) == 9100  # a resumed run keeps its slot
    db.finish_run("a1", "completed")  # a finished run frees its slot
    assert db.assign_port("a3", 9100, 10, 3) == 9100
    db.create_run("a4", "sdlc")
    db.create_run("a5", "sdlc")
    assert db.assign_port("a4", 9100, 10, 3) == 9120
    with pytest.raises(NoFreePort, match="3 slots"):
        db.assign_port("a5", 9100, 10, 3)
    db.create_run("q1", "sdlc", status="queued")
    with pytest.raises(InvalidInput, match="queued"):
        db.assign_port("q1", 9100, 10, 3)
    with pytest.raises(InvalidInput):
        db.assign_port("a5", 9100, 0, 3)


def test_port_slots_are_unique_under_concurrency(db_target: Target) -> None:
    """Twelve threads, each with its own connection, ask for slots at the same moment."""
    database, migrations = db_target
    count = 12
    with OrchestratorDB.open(database, migrations_dir=migrations) as db:
        for i in range(count):
            db.create_run(f"p{i}", "sdlc")
    barrier = threading.Barrier(count)
    ports: dict[str, int] = {}
    errors: list[BaseException] = []

    def take(adw_id: str) -> None:
        try:
            with OrchestratorDB.open(database, migrations_dir=migrations) as mine:
                barrier.wait(timeout=60)
                ports[adw_id] = mine.assign_port(adw_id, 9100, 10, count)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=take, args=(f"p{i}",)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(ports.values()) == [9100 + 10 * k for k in range(count)]


def test_claim_heartbeat_requeue_and_finish(db: OrchestratorDB) -> None:
    assert db.claim_run("w1", 60) is None  # empty queue
    db.create_run("q1", "sdlc", status="queued")
    db.create_run("q2", "sdlc", status="queued")
    db.create_run("r1", "sdlc")  # running in-process: never claimed or requeued
    first = db.claim_run("w1", 60)
    assert first is not None and first.adw_id == "q1"  # oldest first
    assert (first.status, first.worker_id, first.claims) == (RunStatus.RUNNING, "w1", 1)
    assert first.lease_expires_at is not None and first.heartbeat_at is not None
    assert first.lease_expires_at > first.heartbeat_at
    assert db.heartbeat_run("q1", "w1", 60) is True
    assert db.heartbeat_run("q1", "w2", 60) is False  # not w2's run
    assert db.requeue_expired() == []  # its lease runs for a minute
    # A lease that has run out: requeued, and claimed again by another worker.
    second = db.claim_run("w2", 0.001)
    assert second is not None and second.adw_id == "q2"
    assert wait_for(lambda: db.requeue_expired() == ["q2"])
    requeued = db.get_run("q2")
    assert requeued is not None and requeued.status is RunStatus.QUEUED
    assert requeued.lease_expires_at is None and "w2" in (requeued.error or "")
    assert db.heartbeat_run("q2", "w2", 60) is False  # w2 lost it
    third = db.claim_run("w3", 60)
    assert third is not None and (third.adw_id, third.claims, third.error) == ("q2", 2, None)
    # finish_run with worker_id only ends a run that worker still holds.
    assert db.finish_run("q2", "failed", worker_id="w2").status is RunStatus.RUNNING
    done = db.finish_run("q2", "completed", pr_url="https://x/pull/1", worker_id="w3")
    assert (done.status, done.pr_url, done.lease_expires_at) == (
        RunStatus.COMPLETED, "https://x/pull/1", None,
    )  # fmt: skip
    assert done.completed_at is not None
    with pytest.raises(InvalidInput, match="already completed"):
        db.finish_run("q2", "failed")
    with pytest.raises(InvalidInput, match="finishes"):
        db.finish_run("q1", "paused")
    with pytest.raises(NotFound):
        db.finish_run("missing", "failed")
    assert db.get_run("r1").status is RunStatus.RUNNING  # type: ignore[union-attr]


def test_a_run_whose_lease_keeps_expiring_is_failed_not_requeued_forever(
    db: OrchestratorDB,
) -> None:
    db.create_run("q1", "sdlc", status="queued")
    for claim in (1, 2):
        assert db.claim_run(f"w{claim}", 0.001) is not None
        assert wait_for(lambda: db.requeue_expired(max_claims=3) == ["q1"])
    assert db.claim_run("w3", 0.001) is not None

    def failed() -> bool:
        assert db.requeue_expired(max_claims=3) == []  # the third expiry fails it instead
        run = db.get_run("q1")
        return run is not None and run.status is RunStatus.FAILED

    assert wait_for(failed)
    run = db.get_run("q1")
    assert run is not None and (run.status, run.claims) == (RunStatus.FAILED, 3)
    assert run.error == "not requeued: its lease expired after 3 claims (the last by worker w3)"
    assert run.completed_at is not None and run.lease_expires_at is None
    with pytest.raises(InvalidInput, match="max_claims"):
        db.requeue_expired(max_claims=0)


def test_a_finished_run_reopens_unless_its_issue_has_another_active_run(
    db: OrchestratorDB,
) -> None:
    db.create_run("a1", "sdlc", issue_source="github", issue_ref="4")
    db.assign_port("a1", 9100, 10, 2)
    with pytest.raises(InvalidInput, match="only a finished run"):
        db.reopen_run("a1")
    db.finish_run("a1", "failed", error="tests failed", pr_url="https://x/pull/4")
    run = db.reopen_run("a1")
    assert (run.status, run.error, run.completed_at, run.port_base) == (
        RunStatus.RUNNING, None, None, None,
    )  # fmt: skip
    assert run.pr_url == "https://x/pull/4" and run.started_at is not None
    db.finish_run("a1", "failed")
    db.create_run("a2", "patch", status="queued", issue_source="github", issue_ref="4")
    with pytest.raises(RunExists) as caught:
        db.reopen_run("a1")
    assert caught.value.existing == "a2"
    assert db.get_run("a1").status is RunStatus.FAILED  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        db.reopen_run("missing")


def test_checks_are_recorded_in_order(db: OrchestratorDB) -> None:
    db.create_run("a1", "sdlc")
    first = db.record_check("a1", "test", 1, "test", "pytest -q", 1, False, 1234, "1 failed")
    second = db.record_check("a1", "test", 1, "lint", "ruff check .", None, True, 900_000, "")
    third = db.record_check("a1", "test", 2, "test", "pytest -q", 0, False, 1100, "ok")
    assert not first.passed and not second.passed and third.passed
    assert second.timed_out is True and second.exit_code is None
    assert db.list_checks("a1") == [first, second, third]
    # Many within a few milliseconds still read back in the order they were recorded.
    quick = [
        db.record_check("a1", "review", n, "test", "true", 0, False, 0, "") for n in range(1, 41)
    ]
    assert db.list_checks("a1")[3:] == quick
    assert db.list_checks("missing") == []
    with pytest.raises(NotFound):
        db.record_check("missing", "test", 1, "test", "pytest", 0, False, 1, "")
    with pytest.raises(InvalidInput, match="attempt"):
        db.record_check("a1", "test", 0, "test", "pytest", 0, False, 1, "")


def test_remember_delivery_refuses_a_replay(db: OrchestratorDB) -> None:
    assert db.remember_delivery("d-1", "issues") is True
    assert db.remember_delivery("d-1", "issues") is False
    assert db.remember_delivery("d-2", "issue_comment") is True
    with pytest.raises(InvalidInput):
        db.remember_delivery("", "issues")


def test_the_async_twins_answer_like_the_sync_api(db_target: Target) -> None:
    database, migrations = db_target

    async def scenario() -> None:
        async with await AsyncOrchestratorDB.open(database, migrations_dir=migrations) as adb:
            run = await adb.create_run("a1", "sdlc", status="queued", issue_ref="3",
                                       issue_source="local")  # fmt: skip
            assert (await adb.get_run("a1")) == run
            claimed = await adb.claim_run("w1", 30)
            assert claimed is not None and claimed.worker_id == "w1"
            assert await adb.heartbeat_run("a1", "w1", 30)
            assert await adb.requeue_expired() == []
            assert await adb.assign_port("a1", 9200, 5, 2) == 9200
            updated = await adb.update_run("a1", details={"k": "v"})
            assert updated.details == {"k": "v"}
            await adb.record_check("a1", "test", 1, "test", "pytest", 0, False, 5, "")
            assert len(await adb.list_checks("a1")) == 1
            assert await adb.remember_delivery("d", "issues")
            done = await adb.finish_run("a1", "completed", worker_id="w1")
            assert done.status is RunStatus.COMPLETED
            assert [r.adw_id for r in await adb.list_runs(status="completed")] == ["a1"]

    asyncio.run(scenario())
    with OrchestratorDB.open(database, migrations_dir=migrations) as db:
        assert db.get_run("a1").status is RunStatus.COMPLETED  # type: ignore[union-attr]


def test_deleting_a_run_deletes_its_checks(db: OrchestratorDB) -> None:
    db.create_run("a1", "sdlc")
    db.record_check("a1", "test", 1, "test", "pytest", 0, False, 5, "")
    conn = db.conn
    conn.execute(db.dialect.translate("DELETE FROM runs WHERE adw_id = 'a1'"))
    assert db.list_checks("a1") == []


def wait_for(condition: object, timeout: float = 60.0) -> bool:
    """Poll a condition until it holds; generous, so a slow machine only waits longer."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False
