"""Reading Claude Code transcripts into session_usage, and the rollups that count them.

Lines are written the way the real CLI writes them (tests/test_real_cli_transcripts.py runs
the CLI itself): one line per content block of a message, each with the message's usage,
`requestId` beside `message`, subagents in <session>/subagents/agent-<id>.jsonl. Both
database engines where a database is involved.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.runtime import hook_recorder, transcripts
from tac_bootstrap.runtime.adw_database import OrchestratorDB

SESSION = "5d6b74ae-ed71-49f0-9d24-21f594f619fd"
OTHER = "dc008fcb-691b-4fa4-9a28-3a940a4f6645"
SONNET = "claude-sonnet-5-5"
USAGE = {
    "input_tokens": 120,
    "output_tokens": 40,
    "cache_creation_input_tokens": 300,
    "cache_read_input_tokens": 1000,
}


def line(
    message_id: str,
    *,
    request_id: str | None = "req_1",
    model: str = SONNET,
    usage: dict[str, Any] | None = None,
    session: str = SESSION,
    at: str = "2026-12-01T07:56:03.806Z",
    block: str = "text",
    **extra: Any,
) -> dict[str, Any]:
    """An assistant line as the CLI writes it."""
    content: dict[str, Any] = {"type": "text", "text": "hi"}
    if block != "text":
        content = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"cmd": "ls"}}
    value: dict[str, Any] = {
        "parentUuid": None,
        "isSidechain": False,
        "type": "assistant",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [content],
            "usage": dict(USAGE if usage is None else usage),
        },
        "timestamp": at,
        "sessionId": session,
        "cwd": "/work/demo",
        "uuid": f"u-{message_id}-{block}",
    }
    if request_id is not None:
        value["requestId"] = request_id
    value.update(extra)
    return value


def write(path: Path, *lines: dict[str, Any] | bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b""
    for item in lines:
        if isinstance(item, dict):
            data += json.dumps(item).encode() + b"\n"
        elif isinstance(item, str):
            data += item.encode() + b"\n"
        else:
            data += item + b"\n"
    path.write_bytes(data)
    return path


def user_line(text: str = "Run it") -> dict[str, Any]:
    return {"type": "user", "message": {"role": "user", "content": text}, "sessionId": SESSION}


# -- reading ------------------------------------------------------------------------------


def test_the_lines_of_one_message_count_once_with_their_largest_usage(tmp_path: Path) -> None:
    early = {**USAGE, "output_tokens": 1}  # a line written before the final usage
    path = write(
        tmp_path / f"{SESSION}.jsonl",
        user_line(),
        line("msg_a", usage=early),
        line("msg_a", block="tool_use", at="2026-12-01T07:56:03.900Z"),
        line("msg_b", request_id="req_2", at="2026-12-01T07:56:05.000Z"),
        line("msg_b", request_id="req_2", at="2026-12-01T07:56:05.001Z"),
    )
    transcript = transcripts.read_transcript(path)
    assert (transcript.lines, transcript.bad_lines, transcript.skipped) == (5, 0, 0)
    assert [(m.message_id, m.request_id) for m in transcript.messages] == [
        ("msg_a", "req_1"),
        ("msg_b", "req_2"),
    ]
    first = transcript.messages[0]
    assert first.tokens == (120, 40, 300, 1000)
    assert first.message_at == "2026-12-01T07:56:03.806Z"  # the first line's time
    assert (first.session_id, first.subagent_id, first.cwd) == (SESSION, None, "/work/demo")
    assert first.cost_usd == pytest.approx((120 * 2 + 40 * 10 + 300 * 2.5 + 1000 * 0.1) / 1e6)


def test_synthetic_and_zero_usage_messages_are_skipped(tmp_path: Path) -> None:
    zero = dict.fromkeys(USAGE, 0)
    path = write(
        tmp_path / f"{SESSION}.jsonl",
        line(
            "12e9f5dc-ccb0-4e02-b334-136d8ca59da7",
            model="<synthetic>",
            usage=zero,
            isApiErrorMessage=True,
            error="billing_error",
        ),
        line("msg_zero", usage=zero),
        line("msg_ok"),
    )
    transcript = transcripts.read_transcript(path)
    assert [m.message_id for m in transcript.messages] == ["msg_ok"]
    assert (transcript.skipped, transcript.bad_lines) == (2, 0)


def test_bad_lines_are_skipped_never_fatal(tmp_path: Path) -> None:
    good = json.dumps(line("msg_ok")).encode()
    huge_text = line("msg_huge", request_id="req_h")
    huge_text["message"]["content"] = [{"type": "text", "text": "x" * 1_000_000}]
    no_usage = line("msg_no_usage")
    del no_usage["message"]["usage"]
    no_id = line("msg_no_id")
    del no_id["message"]["id"]
    no_model = line("msg_no_model")
    del no_model["message"]["model"]
    negative = line("msg_negative", usage={**USAGE, "output_tokens": -5})
    boolean = line("msg_bool", usage={**USAGE, "input_tokens": True})
    not_utf8 = good.replace(b'"text": "hi"', b'"text": "h\xff\xfei"').replace(b"msg_ok", b"msg_bin")
    path = write(
        tmp_path / f"{SESSION}.jsonl",
        good[: len(good) // 2],  # truncated JSON (a crash mid-write)
        b"\x00\x01 not json at all \xff",
        b'{"type": "assistant", "message": "not an object"}',
        b'["assistant"]',
        b"a" * 1_000_000,  # a line of 1 MB that is not JSON
        huge_text,  # a line of 1 MB that is a message
        no_usage,
        no_id,
        no_model,
        negative,
        boolean,
        not_utf8,  # invalid UTF-8 inside a text: the usage is still good
        good,
        b"",
    )
    transcript = transcripts.read_transcript(path)
    assert sorted(m.message_id for m in transcript.messages) == ["msg_bin", "msg_huge", "msg_ok"]
    assert transcript.bad_lines == 10
    assert transcript.error == ""


def test_a_missing_file_is_an_error_in_the_transcript_not_an_exception(tmp_path: Path) -> None:
    transcript = transcripts.read_transcript(tmp_path / "gone.jsonl")
    assert transcript.messages == [] and "cannot read" in transcript.error


def test_ids_come_from_the_path_when_lines_lack_them(tmp_path: Path) -> None:
    sub = line("msg_sub", session="")
    del sub["sessionId"]
    path = write(tmp_path / SESSION / "subagents" / "agent-a4f7abc17c392e3fb.jsonl", sub)
    (message,) = transcripts.read_transcript(path).messages
    assert (message.session_id, message.subagent_id) == (SESSION, "a4f7abc17c392e3fb")
    tagged = write(tmp_path / "x.jsonl", line("msg_t", agentId="a1b2", isSidechain=True))
    (message,) = transcripts.read_transcript(tagged).messages
    assert (message.session_id, message.subagent_id) == (SESSION, "a1b2")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-12-01T07:56:03.806Z", "2026-12-01T07:56:03.806Z"),
        ("2026-12-01T07:56:03Z", "2026-12-01T07:56:03.000Z"),
        ("2026-12-01T07:56:03.806123+00:00", "2026-12-01T07:56:03.806Z"),
        ("2026-12-01T09:56:03.8+02:00", "2026-12-01T07:56:03.800Z"),
        ("2026-12-01T07:56:03", "2026-12-01T07:56:03.000Z"),
        ("yesterday", None),
        (1796111763, None),
    ],
)
def test_timestamps_become_the_databases_format(given: object, expected: str | None) -> None:
    assert transcripts.normalise_timestamp(given) == expected


# -- prices -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("claude-sonnet-5-5", "claude-sonnet-5-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-sonnet-4-0", "claude-sonnet-4"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-5-5[1m]", "claude-sonnet-5-5"),
        ("Claude-Haiku-4-5-20251001", "claude-haiku-4-5"),
    ],
)
def test_model_names_are_priced_by_their_canonical_name(model: str, key: str) -> None:
    assert transcripts.canonical_model(model) == key
    assert transcripts.price_of(model) == transcripts.PRICES[key]


def test_cost_splits_one_hour_cache_writes_and_unknown_models_have_none() -> None:
    # What the CLI charged (2.1.332): 1,000,000 cache-write tokens of which 400,000 were
    # 1-hour writes cost 0.4 x $4 + 0.6 x $2.5 on claude-sonnet-5-5.
    cost = transcripts.cost_usd(SONNET, cache_creation_tokens=1_000_000, cache_1h_tokens=400_000)
    assert cost == pytest.approx(3.1)
    assert transcripts.cost_usd(SONNET, 1_000_000, 1_000_000, 0, 1_000_000) == pytest.approx(12.1)
    assert transcripts.cost_usd("claude-3-opus-20240229", 10, 10) is None


def test_a_long_prompt_on_claude_haiku_5_5_is_priced_at_its_second_rates() -> None:
    # Measured (CLI 2.1.332): a prompt (input + cache write + cache read) of 100,000 tokens
    # is priced at the first rates, 100,001 at the second ones, output included.
    haiku = "claude-haiku-5-5"
    assert transcripts.cost_usd(haiku, 60_000, 0, 40_000) == pytest.approx(0.011)
    assert transcripts.cost_usd(haiku, 60_000, 0, 40_001) == pytest.approx(0.055000625)
    assert transcripts.cost_usd(haiku, 60_000, 0, 0, 40_001) == pytest.approx(0.03200005)
    assert transcripts.cost_usd(haiku, 0, 100_001) == pytest.approx(0.0500005)
    assert transcripts.cost_usd(haiku, 300_000, 100_000) == pytest.approx(0.4)
    assert transcripts.cost_usd(
        haiku, cache_creation_tokens=100_001, cache_1h_tokens=100_001
    ) == pytest.approx(0.100001)
    assert transcripts.cost_usd("totally-unknown-model", 10) is None


# -- where transcripts are ------------------------------------------------------------------


def test_the_projects_transcript_folders_are_found_like_the_cli_names_them(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    root = tmp_path / "code" / "my.app_x"
    (root / "src").mkdir(parents=True)
    look_alike = tmp_path / "code" / "my.app_x-2"
    look_alike.mkdir()
    projects = home / ".claude" / "projects"
    own = projects / transcripts.mangle(root)
    assert (
        own.name
        == transcripts.mangle(root)
        == str(root).replace("/", "-").replace(".", "-").replace("_", "-")
    )
    write(own / f"{SESSION}.jsonl", line("m1", cwd=str(root)))
    nested = projects / transcripts.mangle(root / "src")
    write(nested / f"{OTHER}.jsonl", user_line(), line("m2", cwd=str(root / "src")))
    other = projects / transcripts.mangle(look_alike)
    write(other / f"{OTHER}.jsonl", line("m3", cwd=str(look_alike)))
    env = {"HOME": str(home)}
    assert transcripts.project_transcript_dirs(root, env) == [own, nested]
    # CLAUDE_CONFIG_DIR moves them, as it moves the CLI's own.
    moved = tmp_path / "config"
    write(moved / "projects" / own.name / f"{SESSION}.jsonl", line("m1"))
    found = transcripts.project_transcript_dirs(root, {"CLAUDE_CONFIG_DIR": str(moved)})
    assert found == [moved / "projects" / own.name]


def test_a_long_project_path_is_found_by_its_cut_name_and_cwd(tmp_path: Path) -> None:
    home = tmp_path / "home"
    root = tmp_path / ("a" * 230)
    root.mkdir()
    name = transcripts.mangle(root)
    assert len(name) > transcripts.MAX_MANGLED
    folder = home / ".claude" / "projects" / (name[: transcripts.MAX_MANGLED] + "-rc9660")
    write(folder / f"{SESSION}.jsonl", line("m1", cwd=str(root)))
    assert transcripts.project_transcript_dirs(root, {"HOME": str(home)}) == [folder]


def test_find_transcripts_searches_folders_and_filters_by_age(tmp_path: Path) -> None:
    new = write(tmp_path / "a" / f"{SESSION}.jsonl", line("m1"))
    old = write(tmp_path / "a" / "old" / f"{OTHER}.jsonl", line("m2"))
    sub = write(tmp_path / "a" / SESSION / "subagents" / "agent-x.jsonl", line("m3"))
    os.utime(old, (1_000_000_000, 1_000_000_000))
    files, errors = transcripts.find_transcripts([tmp_path / "a", new, tmp_path / "missing"])
    assert set(files) == {new, old, sub} and files[0] == old
    assert errors == [f"{tmp_path / 'missing'}: no such file or directory"]
    recent, _ = transcripts.find_transcripts([tmp_path / "a"], since_days=30)
    assert set(recent) == {new, sub}
    assert transcripts.session_files(new) == [new, sub]


def test_hook_rows_ask_for_the_sessions_transcripts(tmp_path: Path) -> None:
    main = write(tmp_path / f"{SESSION}.jsonl", line("m1"))
    sub = write(tmp_path / SESSION / "subagents" / "agent-x.jsonl", line("m2"))
    rows: list[dict[str, Any]] = [
        {"event": "PreToolUse", "session_id": SESSION, "transcript_path": str(main)},
        {
            "event": "SubagentStop",
            "session_id": SESSION,
            "transcript_path": str(main),
            "details": {"agent_transcript_path": str(sub)},
            "agent_id": "a",
        },
        {"event": "Stop", "session_id": SESSION, "transcript_path": str(main), "agent_id": "a"},
        {"event": "SessionEnd", "session_id": SESSION, "transcript_path": str(main)},
        {"event": "Stop", "session_id": None, "transcript_path": str(main)},
    ]
    (wanted,) = transcripts.hook_imports(rows)
    assert (wanted.session_id, wanted.agent_id, wanted.files, wanted.final) == (
        SESSION,
        "a",
        [sub, main],
        True,
    )


# -- recording, on both engines -------------------------------------------------------------


@pytest.fixture
def db(db_target: tuple[str, Path]) -> Iterator[OrchestratorDB]:
    database, migrations = db_target
    with OrchestratorDB.open(database, migrations_dir=migrations) as opened:
        yield opened


def usage_rows(db: OrchestratorDB) -> list[dict[str, Any]]:
    rows = db._read(_select_usage())
    return [dict(r) for r in rows]


def _select_usage() -> Any:
    rows = yield ("all", "SELECT * FROM session_usage ORDER BY message_at, message_id", ())
    return rows


def session_transcripts(tmp_path: Path) -> Path:
    """Two sessions: one with a subagent on haiku, one interactive with an unpriced model."""
    folder = tmp_path / "projects" / "-work-demo"
    write(
        folder / f"{SESSION}.jsonl",
        user_line(),
        line("msg_a"),
        line("msg_a", block="tool_use"),
        line("msg_b", request_id="req_2", at="2026-12-01T07:56:09.000Z"),
    )
    write(
        folder / SESSION / "subagents" / "agent-a4f7.jsonl",
        line(
            "msg_s",
            request_id="req_s",
            model="claude-haiku-5-5",
            agentId="a4f7",
            isSidechain=True,
            at="2026-12-01T07:56:05.000Z",
        ),
    )
    write(
        folder / f"{OTHER}.jsonl",
        line("msg_o", request_id=None, session=OTHER, at="2026-12-02T10:00:00.000Z"),
        line(
            "msg_u",
            request_id="req_u",
            session=OTHER,
            model="made-up-model",
            at="2026-12-02T10:00:01.000Z",
        ),
    )
    return folder


def test_importing_records_each_message_once_linked_to_its_session(
    db: OrchestratorDB, tmp_path: Path
) -> None:
    folder = session_transcripts(tmp_path)
    report = db.import_transcripts([folder])
    assert report.errors == []
    assert (report.files, report.counts.messages, report.counts.inserted) == (3, 5, 5)
    assert report.counts.sessions == {SESSION, OTHER}
    assert report.counts.unpriced_models == {"made-up-model"}
    rows = usage_rows(db)
    assert [r["message_id"] for r in rows] == ["msg_a", "msg_s", "msg_b", "msg_o", "msg_u"]
    by_id = {r["message_id"]: r for r in rows}
    assert by_id["msg_s"]["subagent_id"] == "a4f7" and by_id["msg_a"]["subagent_id"] is None
    assert by_id["msg_o"]["request_id"] == ""
    assert float(by_id["msg_u"]["cost_usd"]) == 0.0
    # What the CLI charged for this message on claude-haiku-5-5: 7.95e-05.
    assert float(by_id["msg_s"]["cost_usd"]) == pytest.approx(7.95e-05)
    # Each session has its interactive agent: created, completed at its last message.
    for session in (SESSION, OTHER):
        agent = db.get_agent(hook_recorder.interactive_agent_id(session))
        assert (agent.name, agent.session_id, agent.status.value) == (
            "interactive",
            session,
            "completed",
        )
        assert {str(r["agent_id"]) for r in rows if r["session_id"] == session} == {agent.id}
    assert db.get_agent(hook_recorder.interactive_agent_id(SESSION)).working_dir == "/work/demo"

    again = db.import_transcripts([folder])
    assert (again.counts.inserted, again.counts.duplicates, again.counts.updated) == (0, 5, 0)
    assert again.counts.tokens == dict.fromkeys(transcripts.TOKEN_COLUMNS, 0)
    assert len(usage_rows(db)) == 5


def test_a_message_without_a_request_id_is_still_deduplicated(
    db: OrchestratorDB, tmp_path: Path
) -> None:
    first = write(tmp_path / "a" / f"{SESSION}.jsonl", line("msg_a", request_id=None))
    assert db.import_transcripts([first]).counts.inserted == 1
    # The same message, now with its request id (another copy of the transcript).
    second = write(tmp_path / "b" / f"{SESSION}.jsonl", line("msg_a", request_id="req_1"))
    report = db.import_transcripts([second])
    assert (report.counts.inserted, report.counts.duplicates) == (0, 1)
    assert len(usage_rows(db)) == 1


def test_a_message_whose_usage_grew_is_updated_not_added(
    db: OrchestratorDB, tmp_path: Path
) -> None:
    path = tmp_path / f"{SESSION}.jsonl"
    write(path, line("msg_a", usage={**USAGE, "output_tokens": 1}))
    db.import_transcripts([path])
    write(path, line("msg_a"))
    report = db.import_transcripts([path])
    assert (report.counts.inserted, report.counts.updated) == (0, 1)
    assert report.counts.tokens["output_tokens"] == 39
    (row,) = usage_rows(db)
    assert row["output_tokens"] == 40
    assert float(row["cost_usd"]) == pytest.approx(transcripts.cost_usd(SONNET, 120, 40, 300, 1000))


def test_a_dry_run_writes_nothing(db: OrchestratorDB, tmp_path: Path) -> None:
    report = db.import_transcripts([session_transcripts(tmp_path)], dry_run=True)
    assert (report.dry_run, report.counts.inserted) == (True, 5)
    assert usage_rows(db) == []
    assert db.list_agents() == []


def workflow_prompt(db: OrchestratorDB, cli_session: str, cost: float = 1.0) -> str:
    owner = db.register_orchestrator_agent("adw_build", "builder")
    agent = db.start_agent(owner.id, "adw-run-1", adw_id="adw-run-1", name="build")
    prompt = db.start_prompt(agent.id, "/implement", model=SONNET)
    db.complete_prompt(
        prompt.id,
        model=SONNET,
        input_tokens=500,
        output_tokens=50,
        cache_creation_tokens=10,
        cache_read_tokens=20,
        cost_usd=cost,
        cli_session_id=cli_session,
    )
    return agent.id


def test_a_workflow_session_is_linked_to_its_agent_and_counted_once(
    db: OrchestratorDB, tmp_path: Path
) -> None:
    folder = session_transcripts(tmp_path)
    # Imported while the workflow still ran: the session looked interactive ...
    db.import_transcripts([folder])
    agent = workflow_prompt(db, SESSION)
    # ... once its prompt has finished, its rows move to the workflow's agent.
    db.import_transcripts([folder])
    rows = usage_rows(db)
    assert {str(r["agent_id"]) for r in rows if r["session_id"] == SESSION} == {agent}

    by_session = {r.key: r for r in db.rollup("session")}
    assert set(by_session) == {"adw-run-1", OTHER}
    workflow = by_session["adw-run-1"]  # from its prompt only, not again from the transcript
    assert (workflow.prompts, workflow.messages, workflow.input_tokens) == (1, 0, 500)
    assert (workflow.cache_creation_tokens, workflow.cache_read_tokens) == (10, 20)
    assert workflow.cost_usd == pytest.approx(1.0)
    interactive = by_session[OTHER]
    assert (interactive.prompts, interactive.messages, interactive.unpriced_messages) == (0, 2, 1)
    assert (interactive.input_tokens, interactive.output_tokens) == (240, 80)
    assert (interactive.cache_creation_tokens, interactive.cache_read_tokens) == (600, 2000)
    assert interactive.cost_usd == pytest.approx(transcripts.cost_usd(SONNET, 120, 40, 300, 1000))

    # The other groupings count the same things.
    for by in ("agent", "model", "day"):
        grouped = db.rollup(by)
        assert sum(r.input_tokens for r in grouped) == 500 + 240, by
        assert sum(r.messages for r in grouped) == 2, by
        assert sum(r.cost_usd for r in grouped) == pytest.approx(1.0 + interactive.cost_usd), by
    by_model = {r.key: r for r in db.rollup("model")}
    assert by_model[SONNET].prompts == 1 and by_model[SONNET].messages == 1
    assert by_model["made-up-model"].unpriced_messages == 1
    assert {r.key for r in db.rollup("day")} >= {"2026-12-02"}
    assert [r.key for r in db.rollup("session", session_id=OTHER)] == [OTHER]
    assert [r.key for r in db.rollup("agent", session_id=OTHER)] == [
        hook_recorder.interactive_agent_id(OTHER)
    ]
    assert db.rollup("session", session_id=SESSION) == []  # the CLI session is the prompt's


def test_a_session_that_cannot_be_written_is_an_error_and_the_others_are_imported(
    tmp_path: Path,
) -> None:
    folder = session_transcripts(tmp_path)
    report = transcripts.import_transcripts(tmp_path / "no-such.db", [folder])
    assert report.counts.inserted == 0
    assert len(report.errors) == 2 and all("no database at" in e for e in report.errors)


def test_after_each_stop_the_hook_path_reads_only_what_is_new(
    db: OrchestratorDB, tmp_path: Path
) -> None:
    main = write(tmp_path / f"{SESSION}.jsonl", user_line(), line("msg_a"))
    offsets = tmp_path / "logs" / transcripts.OFFSETS_NAME
    run = transcripts.db_runner(db)
    stop = {"event": "Stop", "session_id": SESSION, "transcript_path": str(main)}
    first = transcripts.import_after_hooks(run, [stop], offsets)
    assert (first.counts.inserted, first.lines) == (1, 2)
    cursor = transcripts.Offsets(offsets, SESSION)
    assert cursor.load() == {str(main): [main.stat().st_ino, main.stat().st_size]}

    partial = json.dumps(line("msg_c", request_id="req_3")).encode()
    with main.open("ab") as handle:  # the next turn, its last line still being written
        handle.write(json.dumps(line("msg_b", request_id="req_2")).encode() + b"\n")
        handle.write(partial[:40])
    second = transcripts.import_after_hooks(run, [stop], offsets)
    assert (second.counts.inserted, second.counts.duplicates, second.lines) == (1, 0, 1)
    with main.open("ab") as handle:
        handle.write(partial[40:] + b"\n")
    end = {**stop, "event": "SessionEnd"}
    third = transcripts.import_after_hooks(run, [end], offsets)
    assert (third.counts.inserted, third.lines, third.bad_lines) == (1, 1, 0)
    assert not cursor.path.exists()  # SessionEnd: nothing more to follow
    assert [r["message_id"] for r in usage_rows(db)] == ["msg_a", "msg_b", "msg_c"]

    # A transcript replaced by a shorter one is read again from its start.
    cursor.save({str(main): [main.stat().st_ino, main.stat().st_size]})
    write(main, line("msg_a"), line("msg_d", request_id="req_4"))
    again = transcripts.import_after_hooks(run, [stop], offsets)
    assert (again.counts.inserted, again.counts.duplicates) == (1, 1)


def test_a_failed_hook_import_keeps_its_offset_and_is_read_again(tmp_path: Path) -> None:
    main = write(tmp_path / f"{SESSION}.jsonl", line("msg_a"))
    offsets = tmp_path / transcripts.OFFSETS_NAME
    stop = {"event": "Stop", "session_id": SESSION, "transcript_path": str(main)}
    missing = transcripts.sqlite_runner(tmp_path / "not-created-yet.db")
    failed = transcripts.import_after_hooks(missing, [stop], offsets)
    assert failed.counts.inserted == 0 and "no database at" in failed.errors[0]
    assert transcripts.Offsets(offsets, SESSION).load() == {}


def test_a_session_a_prompt_ran_gets_no_interactive_agent(
    db: OrchestratorDB, tmp_path: Path
) -> None:
    agent = workflow_prompt(db, SESSION)
    report = db.import_transcripts([session_transcripts(tmp_path)])
    assert report.errors == []
    rows = usage_rows(db)
    assert {str(r["agent_id"]) for r in rows if r["session_id"] == SESSION} == {agent}
    assert {a.name for a in db.list_agents()} == {"build", "interactive"}  # OTHER's only
    assert [a.session_id for a in db.list_agents() if a.name == "interactive"] == [OTHER]
    # The session counts once, from its prompt; its transcript messages are not added.
    assert sum(r.messages for r in db.rollup("session")) == 2


def test_prune_deletes_the_transcript_usage_of_the_agents_it_deletes(
    db: OrchestratorDB, tmp_path: Path
) -> None:
    db.import_transcripts([session_transcripts(tmp_path)])  # agents completed in 2026-12
    assert db.prune(36_500, dry_run=True)["session_usage"] == 0  # nothing that old
    old = hook_recorder.interactive_agent_id(OTHER)
    db._write(_backdate(old))
    counts = db.prune(30)
    assert (counts["agents"], counts["session_usage"]) == (1, 2)
    assert {r["session_id"] for r in usage_rows(db)} == {SESSION}
    assert [r.key for r in db.rollup("session")] == [SESSION]


def _backdate(agent_id: str) -> Any:
    yield (
        "exec",
        "UPDATE agents SET completed_at = '2020-01-01T00:00:00.000Z' WHERE id = ?",
        (agent_id,),
    )


def test_usage_whose_agent_is_gone_is_no_longer_counted(db: OrchestratorDB, tmp_path: Path) -> None:
    db.import_transcripts([session_transcripts(tmp_path)])
    db._write(_orphan(hook_recorder.interactive_agent_id(OTHER)))
    assert {r.key for r in db.rollup("session")} == {SESSION}


def _orphan(agent_id: str) -> Any:
    yield ("exec", "UPDATE session_usage SET agent_id = NULL WHERE agent_id = ?", (agent_id,))
