"""Cases 5 and 6 of bench_database.py: prompt_totals (migration 004), before and after.

5. Whole-database rollups (`db stats --by day|model|session|agent`, no session filter) at
   1,000,000 prompts: the same API call on the same rows, on a database at migration 003
   (before: a scan of every prompt) and on a copy migrated to 004 (after: prompt_totals),
   alternated call by call. Target: every median at most 300 ms.
6. Prompt write cost of the triggers: start_prompt + complete_prompt, one prompt per
   transaction pair, on a fresh database at 003 and one at 004, alternated round by round.

Run through bench_database.py (it builds the databases and prints these tables too).
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tac_bootstrap.runtime.adw_database import OrchestratorDB

ROLLUP_TARGET_MS = 300.0
WRITE_TARGET = 0.80  # after/before prompt write rate
BEFORE_VERSION = 3  # the last migration without prompt_totals


class Backend(Protocol):
    name: str

    def create(self, name: str) -> str: ...


@dataclass(frozen=True)
class Compared:
    """One before/after line of the side-by-side table."""

    backend: str
    case: str
    before: str
    after: str
    ratio: str
    target: str
    passed: bool


def migrations_before(migrations: Path, root: Path, backend: str) -> Path:
    """A directory with the migrations up to BEFORE_VERSION only (a database without 004)."""
    target = root / f"migrations-{backend}-{BEFORE_VERSION:03d}"
    target.mkdir(exist_ok=True)
    for source in sorted(migrations.glob("*.sql"))[:BEFORE_VERSION]:
        shutil.copy2(source, target / source.name)
    return target


def rollup_medians(
    before: OrchestratorDB, after: OrchestratorDB, by: str, calls: int
) -> tuple[float, float, int]:
    """Median ms of `db.rollup(by)` on both databases, alternated; the groups must agree."""
    # Compared by key: groups of equal cost may come in another order (float sums differ in
    # the last bits, so the tie-break by key can differ).
    old = {r.key: r for r in before.rollup(by)}  # type: ignore[arg-type]
    new = {r.key: r for r in after.rollup(by)}  # type: ignore[arg-type]
    assert old.keys() == new.keys(), f"{by}: groups differ"
    for key, a in old.items():
        b = new[key]
        assert a.prompts == b.prompts and a.input_tokens == b.input_tokens, (by, a, b)
        assert abs(a.cost_usd - b.cost_usd) < 0.005, (by, a.cost_usd, b.cost_usd)
    times: dict[int, list[float]] = {0: [], 1: []}
    for i in range(calls):
        for side in (0, 1) if i % 2 == 0 else (1, 0):
            db = before if side == 0 else after
            start = time.perf_counter()
            db.rollup(by)  # type: ignore[arg-type]
            times[side].append((time.perf_counter() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1]), len(new)


def whole_database_rollups(
    before: OrchestratorDB, after: OrchestratorDB, backend: str, total: int, calls: int
) -> list[Compared]:
    rows = []
    for by in ("day", "model", "session", "agent"):
        old_ms, new_ms, groups = rollup_medians(before, after, by, calls)
        print(
            f"{backend}: 5. rollup by {by} of {total:,} prompts ({groups:,} groups): "
            f"before {old_ms:.1f} ms, after {new_ms:.1f} ms (medians of {calls})"
        )
        rows.append(
            Compared(
                backend,
                f"5 rollup by {by}, whole db, {total // 1000:,}k prompts",
                f"{old_ms:.1f} ms",
                f"{new_ms:.1f} ms",
                f"{old_ms / new_ms:.1f}x faster",
                f"<= {ROLLUP_TARGET_MS:.0f} ms",
                new_ms <= ROLLUP_TARGET_MS,
            )
        )
    return rows


def write_prompts(db: OrchestratorDB, agent: str, n: int, start: int) -> None:
    for i in range(start, start + n):
        prompt = db.start_prompt(agent, f"step {i}", model=("sonnet", "opus", None)[i % 3])
        db.complete_prompt(
            prompt.id, input_tokens=1000 + i, output_tokens=100, cost_usd=0.0125, latency_ms=900
        )


def prompt_write_rates(
    open_db: Callable[[str, Path], OrchestratorDB],
    backend: Backend,
    dirs: tuple[Path, Path],
    n: int,
    rounds: int,
) -> tuple[float, float]:
    """Prompts/s (start + complete, each its own transaction) at 003 and at 004."""
    dbs, agents = [], []
    for label, migrations in zip(("before", "after"), dirs, strict=True):
        db = open_db(backend.create(f"writes-{label}"), migrations)
        db.register_orchestrator_agent("bench-builder", "builder")
        agents.append(db.start_agent("bench-builder", session_id=f"s-{label}").id)
        dbs.append(db)
    elapsed = [0.0, 0.0]
    for r in range(rounds):
        for side in (0, 1) if r % 2 == 0 else (1, 0):
            start = time.perf_counter()
            write_prompts(dbs[side], agents[side], n, r * n)
            elapsed[side] += time.perf_counter() - start
    for db in dbs:
        db.close()
    return n * rounds / elapsed[0], n * rounds / elapsed[1]


def write_cost(
    open_db: Callable[[str, Path], OrchestratorDB],
    backend: Backend,
    dirs: tuple[Path, Path],
    n: int,
    rounds: int,
) -> Compared:
    before, after = prompt_write_rates(open_db, backend, dirs, n, rounds)
    print(
        f"{backend.name}: 6. {n * rounds:,} prompts (start + complete): before {before:,.0f}/s, "
        f"after {after:,.0f}/s"
    )
    return Compared(
        backend.name,
        "6 prompt writes (start+complete)",
        f"{before:,.0f}/s",
        f"{after:,.0f}/s",
        f"{after / before:.2f}x",
        f">= {WRITE_TARGET:.2f}x",
        after / before >= WRITE_TARGET,
    )


def compared_table(rows: list[Compared]) -> Iterator[str]:
    yield "5-6. prompt_totals (migration 004): the same API before (schema 003) and after (004):"
    header = ("case", "backend", "before (003)", "after (004)", "after vs before", "target", "")
    cells = [
        header,
        *(
            (
                r.case,
                r.backend,
                r.before,
                r.after,
                r.ratio,
                r.target,
                "pass" if r.passed else "FAIL",
            )
            for r in rows
        ),
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for n, c in enumerate(cells):
        yield "   " + "  ".join(
            (v.ljust(w) if i in (0, 1, 5, 6) else v.rjust(w))
            for i, (v, w) in enumerate(zip(c, widths, strict=True))
        )
        if n == 0:
            yield "   " + "  ".join("-" * w for w in widths)
