"""Transcript import: how fast a long Claude Code session's usage is read and recorded.

Run: .venv/bin/python bench/bench_transcripts.py [--messages N] [--repeat R]
         [--backends sqlite,postgresql]

A transcript of N assistant messages (default 10,000) shaped like the real CLI's (2.1.332):
each message one to three lines (a line per content block, each with the message's usage),
a user line with a tool result after most (some of them 20 KB), attachments and the CLI's
bookkeeping lines, plus a subagent transcript. Cases, each the median of R runs:

1. read: transcripts.read_transcript on the file, against a plain loop that json-parses
   every line (what a reader without the cheap pre-test does)
2. first import into an empty database (one transaction for the session): the runtime's
   stdlib writer (what the hook recorder uses on Stop), OrchestratorDB on SQLite and on a
   throwaway PostgreSQL server (tests/pg_server.py), against a plain executemany of the
   same rows with sqlite3
3. import again, everything already recorded (the command run twice: whole files)
4. the hook path after a Stop: ten new messages appended to the long session, read from
   where the previous Stop left off (transcripts.Offsets)
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tac_bootstrap.runtime import hook_recorder, transcripts
from tac_bootstrap.runtime.adw_database import OrchestratorDB

REPO = Path(__file__).resolve().parent.parent
MIGRATIONS = REPO / "adws" / "schema" / "migrations"
PG_MIGRATIONS = REPO / "adws" / "schema" / "postgres" / "migrations"
SESSION = "5d6b74ae-ed71-49f0-9d24-21f594f619fd"
CWD = "/home/dev/code/shop"


def _line(kind: str, n: int, at: str, **more: Any) -> dict[str, Any]:
    return {
        "parentUuid": f"p-{n}",
        "isSidechain": False,
        "userType": "external",
        "cwd": CWD,
        "sessionId": SESSION,
        "version": "2.1.332",
        "gitBranch": "main",
        "type": kind,
        "uuid": f"u-{kind}-{n}",
        "timestamp": at,
        **more,
    }


def write_transcript(path: Path, messages: int, seed: int = 7, prefix: str = "msg") -> int:
    """A transcript of `messages` assistant messages; returns its number of lines."""
    rng = random.Random(seed)
    lines = 0
    start = 1_796_111_763
    with path.open("w", encoding="utf-8") as out:
        for n in range(messages):
            moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + n)) + ".123Z"
            usage = {
                "input_tokens": rng.randint(1, 400),
                "cache_creation_input_tokens": rng.randint(0, 4000),
                "cache_read_input_tokens": rng.randint(10_000, 90_000),
                "output_tokens": rng.randint(1, 900),
                "service_tier": "standard",
                "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
            }
            blocks: list[dict[str, Any]] = rng.choice(
                [
                    [{"type": "text", "text": "Let me look at that file." * 3}],
                    [
                        {"type": "text", "text": "Running the tests now."},
                        {"type": "tool_use", "id": f"toolu_{n}", "name": "Bash",
                         "input": {"command": "make test", "description": "run tests"}},
                    ],
                    [
                        {"type": "thinking", "thinking": "x" * 600, "signature": "s" * 200},
                        {"type": "text", "text": "Editing."},
                        {"type": "tool_use", "id": f"toolu_{n}", "name": "Edit",
                         "input": {"file_path": f"{CWD}/app.py", "old_string": "a" * 200,
                                   "new_string": "b" * 200}},
                    ],
                ]
            )  # fmt: skip
            for block in blocks:
                message = {"model": "claude-sonnet-5-5", "id": f"{prefix}_{n:024d}",
                           "type": "message", "role": "assistant", "content": [block],
                           "stop_reason": None, "stop_sequence": None,
                           "usage": usage}  # fmt: skip
                out.write(
                    json.dumps(
                        _line(
                            "assistant",
                            n,
                            moment,
                            message=message,
                            requestId=f"req_{prefix}_{n:024d}",
                        )
                    )
                    + "\n"
                )
                lines += 1
            if rng.random() < 0.8:
                result = "y" * (20_000 if rng.random() < 0.1 else 800)
                content = [{"type": "tool_result", "tool_use_id": f"toolu_{n}", "content": result}]
                user = _line("user", n, moment, message={"role": "user", "content": content})
                out.write(json.dumps(user) + "\n")
                lines += 1
            if rng.random() < 0.3:
                out.write(json.dumps(_line("attachment", n, moment, attachment={"k": "v" * 300})))
                out.write("\n" + json.dumps({"type": "last-prompt", "sessionId": SESSION}) + "\n")
                lines += 2
    return lines


def median_time(
    fn: Callable[[], Any], repeat: int, setup: Callable[[], Any] | None = None
) -> float:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def raw_parse(path: Path) -> int:
    found = set()
    with path.open("rb") as handle:
        for raw in handle:
            line = json.loads(raw)
            if line.get("type") == "assistant":
                found.add(line["message"]["id"])
    return len(found)


def fresh_sqlite(directory: Path, name: str) -> Path:
    path = directory / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    OrchestratorDB.open(path, migrations_dir=MIGRATIONS).close()
    return path


def raw_insert(path: Path, messages: list[transcripts.Message]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO session_usage (id, session_id, agent_id, subagent_id, message_id, "
        "request_id, model, input_tokens, output_tokens, cache_creation_tokens, "
        "cache_read_tokens, cost_usd, message_at, created_at) "
        "VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (hook_recorder.new_id(), m.session_id, m.subagent_id, m.message_id,
             m.request_id, m.model, *m.tokens, m.cost_usd or 0.0, m.message_at, m.message_at)
            for m in messages
        ],
    )  # fmt: skip
    conn.execute("COMMIT")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    backends = args.backends.split(",")
    rows: list[tuple[str, str, float, float | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "projects" / "-home-dev-code-shop"
        folder.mkdir(parents=True)
        main_file = folder / f"{SESSION}.jsonl"
        lines = write_transcript(main_file, args.messages)
        sub = folder / SESSION / "subagents" / "agent-a4f7abc17c392e3fb.jsonl"
        sub.parent.mkdir(parents=True)
        write_transcript(sub, max(args.messages // 20, 1), seed=8, prefix="sub")
        files = transcripts.session_files(main_file)
        size = sum(f.stat().st_size for f in files)
        messages = transcripts.read_transcript(main_file).messages
        messages += transcripts.read_transcript(sub).messages
        n = len(messages)
        print(
            f"transcript: {n:,} messages in {lines:,} lines ({size / 1e6:.1f} MB, "
            f"with its subagent's); median of {args.repeat} runs",
            flush=True,
        )

        read = median_time(lambda: [transcripts.read_transcript(f) for f in files], args.repeat)
        plain = median_time(lambda: [raw_parse(f) for f in files], args.repeat)
        rows.append(("read (parse and merge lines)", "-", read, plain))

        work = Path(tmp)
        target: dict[str, Path] = {}

        def first_stdlib() -> None:
            report = transcripts.import_files(transcripts.sqlite_runner(target["db"]), files)
            assert report.counts.inserted == n, report.to_json()

        def prepare() -> None:
            target["db"] = fresh_sqlite(work, "stdlib.db")

        def raw_import() -> None:  # the baseline: read, then one plain executemany
            found = [m for f in files for m in transcripts.read_transcript(f).messages]
            raw_insert(target["db"], found)

        raw_first = median_time(
            raw_import, args.repeat, setup=lambda: target.update(db=fresh_sqlite(work, "raw.db"))
        )
        t = median_time(first_stdlib, args.repeat, setup=prepare)
        rows.append(("first import, stdlib writer (the hook recorder)", "SQLite", t, raw_first))

        def again_stdlib() -> None:
            report = transcripts.import_files(transcripts.sqlite_runner(target["db"]), files)
            assert report.counts.duplicates == n and report.counts.inserted == 0

        t = median_time(again_stdlib, args.repeat)
        rows.append(("import again, whole files (the command)", "SQLite", t, None))

        # The hook path: after a Stop, only what the CLI wrote since the last one is read.
        offsets = work / "offsets"
        original = main_file.read_bytes()
        stop = {"event": "Stop", "session_id": SESSION, "transcript_path": str(main_file)}
        runner = transcripts.sqlite_runner(target["db"])
        transcripts.import_after_hooks(runner, [stop], offsets)  # the session so far
        extra = iter(range(10**6))

        def one_more_turn() -> None:
            k = next(extra)
            with main_file.open("a", encoding="utf-8") as out:
                for j in range(10):  # ten new messages since the last Stop
                    usage = {"input_tokens": 3, "output_tokens": 200,
                             "cache_read_input_tokens": 50_000}  # fmt: skip
                    message = {"id": f"new_{k}_{j}", "model": "claude-sonnet-5-5",
                               "content": [], "usage": usage}  # fmt: skip
                    moment = "2026-12-01T12:00:00.000Z"
                    line = _line("assistant", j, moment, message=message, requestId=f"r{k}_{j}")
                    out.write(json.dumps(line) + "\n")

        def stop_hook() -> None:
            report = transcripts.import_after_hooks(runner, [stop], offsets)
            assert report.counts.inserted == 10 and report.counts.duplicates == 0, report.to_json()

        t = median_time(stop_hook, args.repeat, setup=one_more_turn)
        rows.append(("a Stop with 10 new messages (hook path, offsets)", "SQLite", t, None))
        main_file.write_bytes(original)

        dbs: dict[str, Any] = {}

        def api_first() -> None:
            report = dbs["db"].import_transcripts(files)
            assert report.counts.inserted == n, report.to_json()

        def open_api() -> None:
            if "db" in dbs:
                dbs["db"].close()
            dbs["db"] = OrchestratorDB.open(fresh_sqlite(work, "api.db"), migrations_dir=MIGRATIONS)

        t = median_time(api_first, args.repeat, setup=open_api)
        rows.append(("first import, OrchestratorDB", "SQLite", t, raw_first))
        dbs["db"].close()

        if "postgresql" in backends:
            pg_rows(rows, files, n, args.repeat)

    print()
    header = ("case", "backend", "median", "messages/s", "baseline", "x baseline")
    cells = [header]
    for case, backend, seconds, baseline in rows:
        count = 10 if "10 new" in case else n
        cells.append(
            (
                case,
                backend,
                f"{seconds * 1000:,.1f} ms" if seconds < 0.1 else f"{seconds * 1000:,.0f} ms",
                f"{count / seconds:,.0f}",
                f"{baseline * 1000:,.0f} ms" if baseline else "-",
                f"{seconds / baseline:.2f}" if baseline else "-",
            )
        )
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for index, cell in enumerate(cells):
        print(
            "  ".join(
                v.ljust(w) if i < 2 else v.rjust(w)
                for i, (v, w) in enumerate(zip(cell, widths, strict=True))
            )
        )
        if index == 0:
            print("  ".join("-" * w for w in widths))
    print(
        "\nbaseline: read = json.loads of every line; first import = read_transcript, then one "
        "executemany of the same rows with sqlite3 (no dedup, no agent)"
    )


def pg_rows(rows: list[Any], files: list[Path], n: int, repeat: int) -> None:
    try:
        import psycopg

        sys.path.insert(0, str(REPO))
        from tests.pg_server import PostgresUnavailable, start_server
    except ImportError as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return
    try:
        server = start_server(fsync=True, extra_options="-c synchronous_commit=off")
    except PostgresUnavailable as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return
    try:
        admin = psycopg.connect(server.conninfo("postgres"), autocommit=True)
        dbs: dict[str, Any] = {}
        count = iter(range(1_000))

        def fresh() -> None:
            if "db" in dbs:
                dbs["db"].close()
            name = f"tacbench_tr_{next(count)}"
            admin.execute(f"CREATE DATABASE {name}".encode())
            dbs["db"] = OrchestratorDB.open(server.url(name), migrations_dir=PG_MIGRATIONS)

        def first() -> None:
            report = dbs["db"].import_transcripts(files)
            assert report.counts.inserted == n, report.to_json()

        def again() -> None:
            report = dbs["db"].import_transcripts(files)
            assert report.counts.duplicates == n

        rows.append(
            ("first import, OrchestratorDB", "PostgreSQL", median_time(first, repeat, fresh), None)
        )
        rows.append(("import again", "PostgreSQL", median_time(again, repeat), None))
        dbs["db"].close()
        admin.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
