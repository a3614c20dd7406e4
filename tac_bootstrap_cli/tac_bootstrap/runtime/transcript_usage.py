"""Recording transcript messages in session_usage: operations that yield SQL steps.

Deduplicated by (message id, request id), linked to the session's agent (the hook's, the
workflow prompt's, or the session's interactive agent, created when missing). Standard
library only; run by transcript_import's runners on either engine.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Generator, Iterable, Iterator, Mapping, Sequence
from typing import Any

from .hook_rows import interactive_agent_id, new_id, timestamp
from .hook_writer import Step, ensure_interactive_agent
from .transcript_prices import cost_usd
from .transcript_reading import Message

# Transcript usage the rollups count (adw_db_operations.rollup, unpriced_models): rows of
# sessions no workflow prompt ran. A workflow's CLI session is linked to its prompt's agent
# (by the hook, from TAC_AGENT_ID; by an import, from prompts.cli_session_id), and an agent
# with prompts is counted from them, whose result lines are complete where a transcript is
# not. An agent test, not a lookup of prompts.cli_session_id (no index): rollups stay fast.
# A row whose agent was deleted (agent_id NULL: ON DELETE SET NULL) is no longer counted,
# like that agent's prompts (`db prune` deletes both).
COUNTED_USAGE = (
    "(su.agent_id IS NOT NULL AND NOT EXISTS "
    "(SELECT 1 FROM prompts pw WHERE pw.agent_id = su.agent_id))"
)
CHUNK = 500  # ids per IN (...) list: far below every engine's limit on parameters
TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")


class Counts:
    """What an import did (or, in a dry run, would do)."""

    __slots__ = (
        "cost_usd",
        "duplicates",
        "inserted",
        "messages",
        "sessions",
        "tokens",
        "unpriced",
        "unpriced_models",
        "updated",
    )

    def __init__(self) -> None:
        self.messages = 0  # distinct messages read
        self.inserted = 0
        self.updated = 0  # known messages whose usage grew
        self.duplicates = 0  # known messages, nothing new
        self.sessions: set[str] = set()
        self.tokens = dict.fromkeys(TOKEN_COLUMNS, 0)  # added to the database
        self.cost_usd = 0.0
        self.unpriced = 0  # messages of a model without a price (cost 0)
        self.unpriced_models: set[str] = set()

    def add(self, other: Counts) -> None:
        self.messages += other.messages
        self.inserted += other.inserted
        self.updated += other.updated
        self.duplicates += other.duplicates
        self.sessions |= other.sessions
        for kind in TOKEN_COLUMNS:
            self.tokens[kind] += other.tokens[kind]
        self.cost_usd += other.cost_usd
        self.unpriced += other.unpriced
        self.unpriced_models |= other.unpriced_models

    def to_json(self) -> dict[str, Any]:
        return {
            "sessions": len(self.sessions),
            "messages": self.messages,
            "imported": self.inserted,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "tokens": dict(self.tokens),
            "cost_usd": round(self.cost_usd, 10),
            "unpriced_messages": self.unpriced,
            "unpriced_models": sorted(self.unpriced_models),
        }


_SESSION_USAGE_INSERT = (
    "INSERT INTO session_usage (id, session_id, agent_id, subagent_id, message_id, request_id, "
    "model, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, "
    "message_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (message_id, request_id) DO NOTHING"
)
_SESSION_USAGE_GROW = (
    "UPDATE session_usage SET input_tokens = ?, output_tokens = ?, cache_creation_tokens = ?, "
    "cache_read_tokens = ?, cost_usd = ? WHERE id = ?"
)
_AGENT_CLOSE = (
    "UPDATE agents SET status = 'completed', completed_at = ? WHERE id = ? AND status = 'running'"
)


def workflow_agents(session_ids: Iterable[str]) -> Generator[Step, Any, dict[str, str]]:
    """The agent of the workflow prompt that ran each CLI session (prompts.cli_session_id),
    for the sessions a prompt ran. (One scan of prompts per 500 sessions: cli_session_id has
    no index, so an import asks once for all its sessions.)"""
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(set(session_ids))):
        rows = yield (
            "all",
            "SELECT cli_session_id, agent_id FROM prompts WHERE cli_session_id IN "
            f"({','.join('?' * len(chunk))}) ORDER BY created_at",
            chunk,
        )
        for row in rows:
            found.setdefault(str(row["cli_session_id"]), str(row["agent_id"]))
    return found


def record_messages(
    messages: Sequence[Message],
    *,
    agents: Mapping[str, str] | None = None,
    workflows: Mapping[str, str] | None = None,
    checked: Collection[str] = (),
    dry_run: bool = False,
    close_new_agents: bool = False,
    transcript_path: str | None = None,
) -> Generator[Step, Any, Counts]:
    """Record messages in session_usage, in one transaction (an operation: it yields SQL).

    `agents` maps a session id to the agent its rows belong to (the hook knows it); other
    sessions go to the agent of the workflow prompt that ran them (prompts.cli_session_id;
    `workflows` and `checked`: already looked up), else to their interactive agent, created
    when missing (and, with `close_new_agents`, completed at the session's last message: an
    import of past sessions). A dry run only reads. Returns what was (or would be) recorded."""
    counts = Counts()
    by_session: dict[str, list[Message]] = {}
    for message in messages:
        by_session.setdefault(message.session_id, []).append(message)
    if not by_session:
        return counts
    counts.sessions = set(by_session)
    linked = dict(agents or {})
    workflow = {s: a for s, a in (workflows or {}).items() if s in by_session and s not in linked}
    unknown = [s for s in by_session if s not in linked and s not in workflow and s not in checked]
    workflow.update((yield from workflow_agents(unknown)))
    linked.update(workflow)
    interactive = {s: interactive_agent_id(s) for s in by_session if s not in linked}
    linked.update(interactive)
    yield from _create_interactive_agents(
        interactive, by_session, transcript_path, close_new_agents, dry_run
    )
    known = yield from _recorded_rows(sorted({m.message_id for m in messages}))
    inserts, grown = _changes(messages, known, linked, counts)
    if dry_run:
        return counts
    if inserts:
        yield ("many", _SESSION_USAGE_INSERT, inserts)
    if grown:
        yield ("many", _SESSION_USAGE_GROW, grown)
    for session, agent in sorted(workflow.items()):
        # Rows recorded before the session's prompt finished belong to its workflow agent.
        yield (
            "exec",
            "UPDATE session_usage SET agent_id = ? WHERE session_id = ? "
            "AND (agent_id IS NULL OR agent_id <> ?)",
            (agent, session, agent),
        )
    return counts


def _create_interactive_agents(
    interactive: Mapping[str, str],
    by_session: Mapping[str, list[Message]],
    transcript_path: str | None,
    close_new_agents: bool,
    dry_run: bool,
) -> Generator[Step, Any, None]:
    """The interactive agents of sessions not yet in agents, started at their first message
    (and, with `close_new_agents`, completed at their last); a dry run only looks."""
    existing: set[str] = set()
    for chunk in _chunks(sorted(interactive.values())):
        rows = yield (
            "all",
            f"SELECT id FROM agents WHERE id IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        existing |= {str(row["id"]) for row in rows}
    for session, agent in sorted(interactive.items()):
        if agent in existing or dry_run:
            continue
        first = min(by_session[session], key=lambda m: m.message_at)
        yield from ensure_interactive_agent(
            session,
            working_dir=first.cwd,
            transcript_path=transcript_path,
            started_at=first.message_at,
        )
        if close_new_agents:
            last = max(m.message_at for m in by_session[session])
            yield ("exec", _AGENT_CLOSE, (last, agent))


def _recorded_rows(message_ids: Sequence[str]) -> Generator[Step, Any, dict[str, list[Any]]]:
    """The session_usage rows already recorded for these message ids, by message id."""
    known: dict[str, list[Any]] = {}
    for chunk in _chunks(message_ids):
        rows = yield (
            "all",
            "SELECT id, message_id, request_id, input_tokens, output_tokens, "
            "cache_creation_tokens, cache_read_tokens, cost_usd FROM session_usage "
            f"WHERE message_id IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        for row in rows:
            known.setdefault(str(row["message_id"]), []).append(row)
    return known


def _changes(
    messages: Sequence[Message],
    known: dict[str, list[Any]],
    linked: Mapping[str, str],
    counts: Counts,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(rows to insert, rows whose usage grew) for the messages, counted into `counts`."""
    now = timestamp(time.time_ns())
    inserts: list[tuple[Any, ...]] = []
    grown: list[tuple[Any, ...]] = []
    for message in sorted(messages, key=lambda m: (m.message_at, m.message_id)):
        counts.messages += 1
        cost = message.cost_usd
        if cost is None:
            counts.unpriced += 1
            counts.unpriced_models.add(message.model)
        row = _match(known.get(message.message_id, ()), message.request_id)
        if row is None:
            inserts.append(_new_row(message, cost, linked.get(message.session_id), now, counts))
            # A message seen twice in one batch (two files of one session) counts once.
            known.setdefault(message.message_id, []).append(
                {"id": inserts[-1][0], "request_id": message.request_id, **_usage(message, cost)}
            )
            continue
        growth = _growth(message, row, counts)
        if growth is not None:
            grown.append(growth)
    return inserts, grown


def _new_row(
    message: Message, cost: float | None, agent_id: str | None, now: str, counts: Counts
) -> tuple[Any, ...]:
    """The session_usage row of a message not recorded yet, counted as inserted."""
    counts.inserted += 1
    counts.cost_usd += cost or 0.0
    for kind, value in zip(TOKEN_COLUMNS, message.tokens, strict=True):
        counts.tokens[kind] += value
    return (
        new_id(),
        message.session_id,
        agent_id,
        message.subagent_id,
        message.message_id,
        message.request_id,
        message.model,
        *message.tokens,
        cost or 0.0,
        message.message_at,
        now,
    )


def _growth(message: Message, row: Any, counts: Counts) -> tuple[Any, ...] | None:
    """The update of a recorded message whose usage grew (None: a duplicate), counted."""
    before = [int(row[kind]) for kind in TOKEN_COLUMNS]
    after = [max(old, new) for old, new in zip(before, message.tokens, strict=True)]
    if after == before:
        counts.duplicates += 1
        return None
    counts.updated += 1
    for kind, old, new in zip(TOKEN_COLUMNS, before, after, strict=True):
        counts.tokens[kind] += new - old
    new_cost = cost_usd(
        message.model,
        input_tokens=after[0],
        output_tokens=after[1],
        cache_creation_tokens=after[2],
        cache_read_tokens=after[3],
        cache_1h_tokens=message.cache_1h_tokens,
    )
    new_cost = new_cost or 0.0
    counts.cost_usd += new_cost - float(row["cost_usd"] or 0.0)
    return (*after, new_cost, row["id"])


def _usage(message: Message, cost: float | None) -> dict[str, Any]:
    return {**dict(zip(TOKEN_COLUMNS, message.tokens, strict=True)), "cost_usd": cost or 0.0}


def _match(rows: Iterable[Any], request_id: str) -> Any:
    """The recorded row of a message: same request id, or either side without one."""
    fallback = None
    for row in rows:
        known = str(row["request_id"] or "")
        if known == request_id:
            return row
        if not known or not request_id:
            fallback = fallback or row
    return fallback


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


def unpriced_models(session_id: str | None = None) -> Generator[Step, Any, dict[str, int]]:
    """Models of recorded transcript messages without a price (cost 0), with how many
    messages each, among the sessions the rollups count (no workflow prompt ran them)."""
    rows = yield (
        "all",
        "SELECT su.model, count(*) AS n FROM session_usage su WHERE su.cost_usd = 0 "
        f"AND {COUNTED_USAGE}"
        + (" AND su.session_id = ?" if session_id else "")
        + " GROUP BY su.model ORDER BY su.model",
        (session_id,) if session_id else (),
    )
    return {str(row["model"]): int(row["n"]) for row in rows}
