"""The attached copy (SQLite to SQLite) into a DEST that another connection writes meanwhile:
each batch waits for DEST's write lock (busy timeout) instead of failing with "database is
locked" when the other writer commits between the batch's first read and its first write, and
a connection opened meanwhile outlasts the schema change each batch makes (SQLITE_SCHEMA)."""

from __future__ import annotations

import threading
from pathlib import Path

from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_transfer import AttachedSource, SourceWatch

from .db_helpers import MIGRATIONS, sql

PROMPTS = 1000


def test_batches_wait_for_a_busy_dest(tmp_path: Path) -> None:
    source_path, dest_path = tmp_path / "source.db", tmp_path / "dest.db"
    with OrchestratorDB.open(str(source_path), migrations_dir=MIGRATIONS) as source:
        owner = source.register_orchestrator_agent("builder", "builder").id
        agent = source.start_agent(owner, session_id="s").id
        for _ in range(PROMPTS):
            source.start_prompt(agent, "step", model="sonnet")
    stop = threading.Event()
    wrote: list[int] = []
    failures: list[BaseException] = []

    def other_writer() -> None:
        try:  # a new connection each time: opening reads the schema the copy keeps changing
            while not stop.is_set():
                with OrchestratorDB.open(str(dest_path), migrations_dir=MIGRATIONS) as other:
                    other.log_system("meanwhile")
                    wrote.append(1)
        except BaseException as exc:  # reported below: a thread's exception fails nothing
            failures.append(exc)

    with OrchestratorDB.open(str(dest_path), migrations_dir=MIGRATIONS) as dest:
        watch = SourceWatch(source_path)
        attached = AttachedSource(dest, source_path, watch)
        writer = threading.Thread(target=other_writer)
        try:
            for table in ("orchestrator_agents", "agents"):
                assert attached.copy_batch(table, 0, 100) is not None
            writer.start()
            last, copied = 0, 0
            while True:
                batch = attached.copy_batch("prompts", last, 2)
                assert batch is not None  # SOURCE did not change
                if batch.rows == 0:
                    break
                last, copied = batch.last_rowid, copied + batch.inserted
        finally:
            stop.set()
            if writer.is_alive():
                writer.join()
            attached.close()
            watch.close()
        assert failures == []
        assert wrote, "the other writer never wrote while the copy ran"
        assert copied == PROMPTS
        (totals,) = sql(dest, "SELECT prompts FROM prompt_totals WHERE dimension = 'model'")
        assert totals["prompts"] == PROMPTS
