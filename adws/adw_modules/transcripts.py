"""Usage of Claude Code sessions read from their transcripts, for interactive sessions too.

Standard library only, like hook_recorder.py (which imports this module when it records a
Stop, SubagentStop or SessionEnd event): no pydantic, no psycopg.

A session's transcript is the JSONL file the CLI writes to
`~/.claude/projects/<cwd, every character but letters and digits as ->/<session id>.jsonl`
(`$CLAUDE_CONFIG_DIR/projects/...` when that is set); each subagent's is
`<session id>/subagents/agent-<agent id>.jsonl` beside it. Every assistant message the API
returned is there with its `message.id`, the request's `requestId`, `message.model` and
`message.usage`. What this module does with them:

- One row per message in session_usage, deduplicated by (message id, request id): the CLI
  writes a message of several content blocks as several lines, each with the same usage, so
  the lines of one message count once, and importing a transcript again adds nothing (a
  message whose usage grew since, say a line written before its final usage, is updated).
  A message without a request id is matched by its message id alone.
- Skipped: `<synthetic>` messages (the CLI's placeholder for an API error, zero usage), lines
  with no usage at all, and lines that are not JSON, not UTF-8, truncated or missing fields.
  A bad line is counted, never fatal.
- Cost: transcripts carry none, so it is computed from PRICES (measured against the CLI, see
  there). A model not in the table costs 0 and is reported as unpriced.
- Linked to the session: a workflow prompt whose prompts.cli_session_id is the session makes
  its agent the rows' agent; otherwise the session's interactive agent (the hook recorder's
  rule: orchestrator agent `claude_code`, agents.session_id = the CLI session id, created
  when missing).

What the transcripts cannot show (measured with CLI 2.1.332): a response the CLI discarded (a
malformed stream it retried without streaming) leaves no line, and a stream cut mid-response
leaves the message_start usage (output_tokens 1); the CLI's result line counts both. So a
workflow prompt's usage comes from its result line, and the transcript rows of a session
that belongs to a prompt are never counted again in the rollups.

The writes are operations in adw_db_operations' style (generators yielding SQL steps): run
with plain sqlite3 by `import_into_sqlite` (the hook recorder) and by OrchestratorDB on both
engines (`OrchestratorDB.import_transcripts`, `tac-bootstrap db import-transcripts`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeGuard

from . import hook_recorder as hooks
from .hook_writer import drive_sqlite

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

Step = hooks.Step
Op = Generator[Step, Any, Any]
Progress = Callable[[int, int], None]  # (bytes done, bytes in all)

SYNTHETIC_MODEL = "<synthetic>"
TRANSCRIPT_EVENTS = hooks.TRANSCRIPT_EVENTS
CONFIG_DIR_ENV_VAR = "CLAUDE_CONFIG_DIR"
CHUNK = 500  # ids per IN (...) list: far below every engine's limit on parameters
TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")


# -- prices ---------------------------------------------------------------------------------


class Price(NamedTuple):
    """USD per million tokens of each kind."""

    input: float
    output: float
    cache_write_5m: float  # cache writes with the default 5-minute lifetime
    cache_write_1h: float  # cache writes with a 1-hour lifetime (usage.cache_creation)
    cache_read: float


# The rates Claude Code itself charges, so that a transcript's cost equals the CLI's
# `total_cost_usd` / `modelUsage.costUSD`. Measured against the pinned CLI (2.1.332) with the
# fake Messages API (tests/fake_anthropic.py): for each model one run per token kind with
# 10,000 and with 1,000,000 tokens of that kind and none of the others, then more runs where
# the two disagreed; tests/test_real_cli_transcripts.py checks the aliases' again. What those
# runs showed: a 1-hour cache write is `usage.cache_creation.ephemeral_1h_input_tokens` and
# the rest of `cache_creation_input_tokens` is priced as 5-minute writes; costs are linear in
# each kind except claude-haiku-5-5's (LONG_CONTEXT). Keys are canonical names (see
# canonical_model); `--model sonnet|opus|haiku|fable` resolve to claude-sonnet-5-5,
# claude-opus-5-5, claude-haiku-5-5 and claude-fable-5-2 in this CLI. A model the CLI does
# not know (claude-3-opus, claude-3-haiku, made-up names) it charges at claude-opus-5-5's
# rates; here such a model is unpriced (cost 0, and `db stats` says so).
PRICES: dict[str, Price] = {
    "claude-sonnet-5-5": Price(2.0, 10.0, 2.5, 4.0, 0.1),
    "claude-opus-5-5": Price(4.0, 20.0, 5.0, 8.0, 0.2),
    "claude-haiku-5-5": Price(0.1, 0.5, 0.125, 0.2, 0.01),
    "claude-fable-5-2": Price(8.0, 40.0, 10.0, 16.0, 0.2),
    "claude-opus-4-6": Price(5.0, 25.0, 6.25, 10.0, 0.5),
    "claude-opus-4-5": Price(5.0, 25.0, 6.25, 10.0, 0.5),
    "claude-sonnet-4-6": Price(3.0, 15.0, 3.75, 6.0, 0.3),
    "claude-sonnet-4-5": Price(3.0, 15.0, 3.75, 6.0, 0.3),
    "claude-sonnet-4": Price(3.0, 15.0, 3.75, 6.0, 0.3),
    "claude-3-7-sonnet": Price(3.0, 15.0, 3.75, 6.0, 0.3),
    "claude-3-5-sonnet": Price(3.0, 15.0, 3.75, 6.0, 0.3),
    "claude-haiku-4-5": Price(1.0, 5.0, 1.25, 2.0, 0.1),
    "claude-3-5-haiku": Price(0.8, 4.0, 1.0, 1.6, 0.08),
    # Not measurable with this CLI (it sends claude-opus-5-5 when asked for them), but older
    # transcripts hold them: Anthropic's list prices.
    "claude-opus-4-1": Price(15.0, 75.0, 18.75, 30.0, 1.5),
    "claude-opus-4": Price(15.0, 75.0, 18.75, 30.0, 1.5),
}
# Rates of a message whose prompt (input + cache write + cache read tokens; not output) is
# longer than the threshold: every token of it, output included, at the second rates.
# Measured: 100,000 prompt tokens are priced low, 100,001 high.
LONG_CONTEXT: dict[str, tuple[int, Price]] = {
    "claude-haiku-5-5": (100_000, Price(0.5, 2.5, 0.625, 1.0, 0.05)),
}
PRICES_SOURCE = "Claude Code 2.1.332's own rates, measured with tests/fake_anthropic.py"

_DATE_SUFFIX = re.compile(r"[-@]\d{8}$")
_PROVIDER_PREFIX = re.compile(r"^(?:[a-z]{2}\.)?anthropic[./]")  # Bedrock, Vertex model names


def canonical_model(model: str) -> str:
    """The PRICES key of a model name: lower case, without a provider prefix
    (`us.anthropic.`), a `-v1:0` version, a `[1m]` context suffix or a release date."""
    name = model.strip().lower()
    name = _PROVIDER_PREFIX.sub("", name)
    name = name.split("[", 1)[0]
    name = re.sub(r"-v\d+(?::\d+)?$", "", name)
    name = _DATE_SUFFIX.sub("", name)
    if name.endswith("-0") and name.count("-") == 3:  # claude-sonnet-4-0 is claude-sonnet-4
        name = name[:-2]
    return name


def price_of(model: str, prompt_tokens: int = 0) -> Price | None:
    """The rates of a message of `model` whose prompt had `prompt_tokens` tokens."""
    key = canonical_model(model)
    tier = LONG_CONTEXT.get(key)
    if tier is not None and prompt_tokens > tier[0]:
        return tier[1]
    return PRICES.get(key)


def cost_usd(
    model: str,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_creation_tokens: int = 0,
    cache_read_tokens: int = 0,
    cache_1h_tokens: int = 0,
) -> float | None:
    """What the CLI charges for one message's usage; None for a model without a price."""
    price = price_of(model, input_tokens + cache_creation_tokens + cache_read_tokens)
    if price is None:
        return None
    one_hour = min(max(cache_1h_tokens, 0), cache_creation_tokens)
    return (
        input_tokens * price.input
        + output_tokens * price.output
        + (cache_creation_tokens - one_hour) * price.cache_write_5m
        + one_hour * price.cache_write_1h
        + cache_read_tokens * price.cache_read
    ) / 1_000_000


# -- reading transcripts ----------------------------------------------------------------------


class Message:
    """One assistant message of a transcript (its lines merged) with its usage."""

    __slots__ = (
        "cache_1h_tokens",
        "cache_creation_tokens",
        "cache_read_tokens",
        "cwd",
        "input_tokens",
        "message_at",
        "message_id",
        "model",
        "output_tokens",
        "request_id",
        "session_id",
        "subagent_id",
    )

    def __init__(
        self,
        session_id: str,
        message_id: str,
        model: str,
        message_at: str,
        *,
        request_id: str = "",
        subagent_id: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_creation_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_1h_tokens: int = 0,
        cwd: str | None = None,
    ) -> None:
        self.session_id = session_id
        self.message_id = message_id
        self.request_id = request_id
        self.subagent_id = subagent_id
        self.model = model
        self.message_at = message_at
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cache_creation_tokens = cache_creation_tokens
        self.cache_read_tokens = cache_read_tokens
        self.cache_1h_tokens = cache_1h_tokens
        self.cwd = cwd

    def __repr__(self) -> str:
        return (
            f"Message({self.session_id!r}, {self.message_id!r}, {self.model!r}, "
            f"tokens={self.tokens})"
        )

    @property
    def tokens(self) -> tuple[int, int, int, int]:
        """(input, output, cache write, cache read)."""
        return (
            self.input_tokens,
            self.output_tokens,
            self.cache_creation_tokens,
            self.cache_read_tokens,
        )

    @property
    def cost_usd(self) -> float | None:
        return cost_usd(self.model, *self.tokens, cache_1h_tokens=self.cache_1h_tokens)

    def merge(self, other: Message) -> None:
        """Another line of the same message: usage only grows within a message."""
        self.input_tokens = max(self.input_tokens, other.input_tokens)
        self.output_tokens = max(self.output_tokens, other.output_tokens)
        self.cache_creation_tokens = max(self.cache_creation_tokens, other.cache_creation_tokens)
        self.cache_read_tokens = max(self.cache_read_tokens, other.cache_read_tokens)
        self.cache_1h_tokens = max(self.cache_1h_tokens, other.cache_1h_tokens)
        self.request_id = self.request_id or other.request_id
        self.message_at = min(self.message_at, other.message_at)


class Transcript:
    """What one transcript file holds: its messages (one per message id) and what was
    skipped. `error` is set when the file could not be read at all."""

    __slots__ = (
        "bad_lines",
        "end",
        "error",
        "inode",
        "lines",
        "messages",
        "path",
        "size",
        "skipped",
    )

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[Message] = []
        self.lines = 0
        self.bad_lines = 0
        self.skipped = 0  # <synthetic> and zero-usage assistant lines
        self.size = 0
        self.end = 0  # the byte after the last line read
        self.inode = 0
        self.error = ""

    def __repr__(self) -> str:
        return f"Transcript({str(self.path)!r}, messages={len(self.messages)})"


_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)?$")
_AGENT_FILE = re.compile(r"agent-(.+)\.jsonl$")


def normalise_timestamp(value: object) -> str | None:
    """The database's '%Y-%m-%dT%H:%M:%S.mmmZ' text of an ISO 8601 time, or None."""
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.match(value.strip())
    if match is None:
        return None
    seconds, fraction, zone = match.groups()
    millis = (fraction or "").ljust(3, "0")[:3]
    if zone in (None, "Z", "+00:00", "+0000", "-00:00", "-0000"):
        return f"{seconds}.{millis}Z"
    from datetime import datetime, timezone  # rare: a time with an offset

    moment = datetime.fromisoformat(f"{seconds}.{millis}{zone[:3]}:{zone[-2:]}")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis}Z"


_USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


def _count(usage: Mapping[str, Any], key: str) -> int:
    value = usage.get(key, 0)
    if value.__class__ is int and value >= 0:  # the common case first (a bool is no int here)
        return int(value)
    if value is None:
        return 0
    raise ValueError(f"usage.{key} is not a token count")


NOT_A_MESSAGE = "not a message"  # a user line, an attachment, the CLI's bookkeeping
SKIPPED = "skipped"  # an assistant line with nothing to record: <synthetic>, zero usage
BAD_LINE = "bad line"  # not JSON, truncated, or an assistant line missing a field


def _is_database_time(value: object) -> TypeGuard[str]:
    """'2026-12-01T07:56:03.806Z' as the CLI writes it (no need to parse it)."""
    return isinstance(value, str) and len(value) == 24 and value[19] == "." and value[23] == "Z"


def parse_line(
    raw: bytes,
    *,
    session_id: str | None = None,
    subagent_id: str | None = None,
    fallback_time: str = "",
) -> Message | str:
    """The message of one transcript line, or why there is none (NOT_A_MESSAGE, SKIPPED,
    BAD_LINE). Bytes that are not UTF-8 are replaced; the usage numbers survive that."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "replace")
    try:
        line = json.loads(text)
    except ValueError:
        return BAD_LINE
    if not isinstance(line, dict):
        return BAD_LINE
    if line.get("type") != "assistant":
        return NOT_A_MESSAGE
    message = line.get("message")
    if not isinstance(message, dict):
        return BAD_LINE
    model = message.get("model")
    if model == SYNTHETIC_MODEL:
        return SKIPPED
    message_id = message.get("id")
    usage = message.get("usage")
    if not (isinstance(model, str) and model.strip()):
        return BAD_LINE
    if not (isinstance(message_id, str) and message_id.strip() and isinstance(usage, dict)):
        return BAD_LINE
    try:
        tokens = [_count(usage, key) for key in _USAGE_KEYS]
        detail = usage.get("cache_creation")
        one_hour = _count(detail, "ephemeral_1h_input_tokens") if isinstance(detail, dict) else 0
    except ValueError:
        return BAD_LINE
    if not any(tokens):
        return SKIPPED
    session = line.get("sessionId")
    session = session if isinstance(session, str) and session.strip() else session_id
    if not session:
        return BAD_LINE
    request_id = line.get("requestId")
    agent = line.get("agentId")
    cwd = line.get("cwd")
    moment = line.get("timestamp")
    if not _is_database_time(moment):
        moment = normalise_timestamp(moment) or fallback_time
    return Message(
        session,
        message_id,
        model.strip(),
        moment,
        request_id=request_id if isinstance(request_id, str) else "",
        subagent_id=agent if isinstance(agent, str) and agent else subagent_id,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cache_creation_tokens=tokens[2],
        cache_read_tokens=tokens[3],
        cache_1h_tokens=one_hour,
        cwd=cwd if isinstance(cwd, str) else None,
    )


def read_transcript(
    path: os.PathLike[str] | str, start: int = 0, *, whole_lines: bool = False
) -> Transcript:
    """Every assistant message of one transcript file (from byte `start`), one per message
    id (the lines of a message merged). Never raises: an unreadable file has `error` set.
    `bad_lines` counts the lines that could hold a message (or are not JSON at all) but do
    not parse. With `whole_lines` a last line without its newline (the CLI may be writing
    it) is left for later; `end` is where the next read starts."""
    path = Path(path)
    transcript = Transcript(path)
    session_id, subagent_id = _ids_from_path(path)
    found: dict[str, Message] = {}
    try:
        with path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            transcript.size, transcript.inode = stat.st_size, stat.st_ino
            fallback = hooks.timestamp(stat.st_mtime_ns)
            if start:
                handle.seek(start)
            position = start
            for raw in handle:
                if whole_lines and not raw.endswith(b"\n"):
                    break
                position += len(raw)
                transcript.lines += 1
                # Cheap test first: most lines (tool results, attachments) hold no message.
                if b'"assistant"' not in raw:
                    stripped = raw.strip()
                    if stripped and not stripped.startswith(b"{"):
                        transcript.bad_lines += 1
                    continue
                parsed = parse_line(
                    raw, session_id=session_id, subagent_id=subagent_id, fallback_time=fallback
                )
                if isinstance(parsed, Message):
                    seen = found.get(parsed.message_id)
                    if seen is None:
                        found[parsed.message_id] = parsed
                    else:
                        seen.merge(parsed)
                elif parsed is BAD_LINE:
                    transcript.bad_lines += 1
                elif parsed is SKIPPED:
                    transcript.skipped += 1
            transcript.end = position
    except OSError as exc:
        transcript.error = f"cannot read {path}: {exc.strerror or exc}"
        return transcript
    transcript.messages = list(found.values())
    return transcript


def _ids_from_path(path: Path) -> tuple[str | None, str | None]:
    """(session id, subagent id) a transcript's path tells, for lines that lack them."""
    match = _AGENT_FILE.match(path.name)
    if match is not None and path.parent.name == "subagents":
        return path.parent.parent.name or None, match.group(1)
    return (path.stem or None), None


def session_files(transcript: os.PathLike[str] | str) -> list[Path]:
    """A session's transcript and its subagents' (`<session>/subagents/agent-*.jsonl`)."""
    main = Path(transcript)
    found = [main]
    subagents = main.with_suffix("") / "subagents"
    with contextlib.suppress(OSError):
        found += sorted(p for p in subagents.iterdir() if _AGENT_FILE.match(p.name))
    return found


# -- where transcripts are ----------------------------------------------------------------------


def claude_config_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    configured = env.get(CONFIG_DIR_ENV_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    home = env.get("HOME", "").strip()
    return (Path(home) if home else Path.home()) / ".claude"


def mangle(directory: os.PathLike[str] | str) -> str:
    """The projects/ folder name the CLI uses for a working directory (every character but
    ASCII letters and digits becomes '-'; the CLI cuts names past 200 characters and adds a
    hash, which project_transcript_dirs finds by prefix)."""
    return re.sub(r"[^A-Za-z0-9]", "-", os.fspath(directory))


MAX_MANGLED = 200


def project_transcript_dirs(
    project_root: os.PathLike[str] | str, environ: Mapping[str, str] | None = None
) -> list[Path]:
    """The folders holding the transcripts of sessions started in the project: its own, and
    those of sessions started in a subdirectory (told apart from look-alike names, such as
    `app-2` for `app`, by the `cwd` their transcripts record)."""
    projects = claude_config_dir(environ) / "projects"
    root = Path(project_root)
    roots = {os.fspath(root.absolute()), os.fspath(root.resolve())}
    found: list[Path] = []
    try:
        names = sorted(os.listdir(projects))
    except OSError:
        return []
    for base in sorted(roots):
        name = mangle(base)
        for entry in names:
            folder = projects / entry
            if folder in found or not folder.is_dir():
                continue
            if entry == name:
                found.append(folder)
            elif len(name) > MAX_MANGLED and entry.startswith(name[:MAX_MANGLED] + "-"):
                if _cwd_within(folder, roots):
                    found.append(folder)
            elif entry.startswith(name + "-") and _cwd_within(folder, roots):
                found.append(folder)
    return found


def _cwd_within(folder: Path, roots: Iterable[str]) -> bool:
    """Whether the first transcript line with a cwd in `folder` names a root or below."""
    for path in sorted(folder.glob("*.jsonl"))[:3]:
        with contextlib.suppress(OSError), path.open("rb") as handle:
            for _, raw in zip(range(50), handle, strict=False):
                if b'"cwd"' not in raw:
                    continue
                try:
                    cwd = json.loads(raw.decode("utf-8", "replace")).get("cwd")
                except (ValueError, AttributeError):
                    continue
                if isinstance(cwd, str):
                    return any(cwd == r or cwd.startswith(r.rstrip("/") + "/") for r in roots)
    return False


def find_transcripts(
    paths: Iterable[os.PathLike[str] | str], *, since_days: float | None = None
) -> tuple[list[Path], list[str]]:
    """The .jsonl files of files and folders (searched recursively), each once, oldest
    first; files not modified in the last `since_days` days are left out. Returns (files,
    one-line errors for paths that do not exist)."""
    cutoff = time.time() - since_days * 86_400 if since_days is not None else None
    files: dict[Path, float] = {}
    errors: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            candidates: Iterable[Path] = path.rglob("*.jsonl")
        elif path.is_file():
            candidates = [path]
        else:
            errors.append(f"{path}: no such file or directory")
            continue
        for candidate in candidates:
            try:
                stat = candidate.stat()
            except OSError:
                continue
            if candidate.is_file() and (cutoff is None or stat.st_mtime >= cutoff):
                files.setdefault(candidate.absolute(), stat.st_mtime)
    return sorted(files, key=lambda p: (files[p], str(p))), errors


# -- recording ------------------------------------------------------------------------------


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
    interactive = {s: hooks.interactive_agent_id(s) for s in by_session if s not in linked}
    existing_agents: set[str] = set()
    for chunk in _chunks(sorted(interactive.values())):
        rows = yield (
            "all",
            f"SELECT id FROM agents WHERE id IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        existing_agents |= {str(row["id"]) for row in rows}
    for session, agent in sorted(interactive.items()):
        linked[session] = agent
        if agent in existing_agents or dry_run:
            continue
        first = min(by_session[session], key=lambda m: m.message_at)
        yield from hooks.ensure_interactive_agent(
            session,
            working_dir=first.cwd,
            transcript_path=transcript_path,
            started_at=first.message_at,
        )
        if close_new_agents:
            last = max(m.message_at for m in by_session[session])
            yield ("exec", _AGENT_CLOSE, (last, agent))

    known: dict[str, list[Any]] = {}
    ids = sorted({m.message_id for m in messages})
    for chunk in _chunks(ids):
        rows = yield (
            "all",
            "SELECT id, message_id, request_id, input_tokens, output_tokens, "
            "cache_creation_tokens, cache_read_tokens, cost_usd FROM session_usage "
            f"WHERE message_id IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        for row in rows:
            known.setdefault(str(row["message_id"]), []).append(row)

    now = hooks.timestamp(time.time_ns())
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
            counts.inserted += 1
            counts.cost_usd += cost or 0.0
            for kind, value in zip(TOKEN_COLUMNS, message.tokens, strict=True):
                counts.tokens[kind] += value
            inserts.append(
                (
                    hooks.new_id(),
                    message.session_id,
                    linked.get(message.session_id),
                    message.subagent_id,
                    message.message_id,
                    message.request_id,
                    message.model,
                    *message.tokens,
                    cost or 0.0,
                    message.message_at,
                    now,
                )
            )
            # A message seen twice in one batch (two files of one session) counts once.
            known.setdefault(message.message_id, []).append(
                {"id": inserts[-1][0], "request_id": message.request_id, **_usage(message, cost)}
            )
            continue
        before = [int(row[kind]) for kind in TOKEN_COLUMNS]
        after = [max(old, new) for old, new in zip(before, message.tokens, strict=True)]
        if after == before:
            counts.duplicates += 1
            continue
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
        grown.append((*after, new_cost, row["id"]))
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


# -- running the operations -----------------------------------------------------------------

Runner = Callable[[Callable[[], Op], bool], Any]  # (build the operation, write?) -> its result


def sqlite_runner(path: Path, busy_timeout_ms: int = hooks.HOOK_BUSY_TIMEOUT_MS) -> Runner:
    """Run operations on a SQLite file with the standard library (what the hook can do):
    the database must exist; writes are one BEGIN IMMEDIATE transaction each."""

    def run(build: Callable[[], Op], write: bool) -> Any:
        if not path.is_file():
            raise FileNotFoundError(f"no database at {path} yet (created on first use)")
        uri = "file:" + hooks._uri_path(path) + "?mode=rw"
        conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout_ms / 1000, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            result = drive_sqlite(conn, build())
            conn.execute("COMMIT")
            return result
        finally:
            conn.close()  # without a COMMIT this rolls back

    return run


def gather(report: Report, transcript: Transcript, found: dict[str, Message]) -> bool:
    """Count one read transcript into the report and merge its messages into `found` (one per
    message id); False when it could not be read (its error is in the report)."""
    if transcript.error:
        report.errors.append(transcript.error)
        return False
    report.files += 1
    report.lines += transcript.lines
    report.bad_lines += transcript.bad_lines
    report.skipped += transcript.skipped
    for message in transcript.messages:
        seen = found.get(message.message_id)
        if seen is None:
            found[message.message_id] = message
        else:
            seen.merge(message)
    return True


def db_runner(db: Any) -> Runner:
    """Run operations through an OrchestratorDB (either engine, retries on PostgreSQL)."""

    def run(build: Callable[[], Op], write: bool) -> Any:
        return db._write(build(), build) if write else db._read(build())

    return run


class Report:
    """The outcome of import_transcripts: counts, files, lines and one-line errors."""

    __slots__ = ("bad_lines", "counts", "dry_run", "errors", "files", "lines", "skipped")

    def __init__(self, dry_run: bool = False) -> None:
        self.counts = Counts()
        self.files = 0
        self.lines = 0
        self.bad_lines = 0
        self.skipped = 0
        self.errors: list[str] = []
        self.dry_run = dry_run

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "files": self.files,
            "lines": self.lines,
            "bad_lines": self.bad_lines,
            "skipped_lines": self.skipped,
            **self.counts.to_json(),
            "errors": list(self.errors),
            "prices": PRICES_SOURCE,
        }


def import_files(
    run: Runner,
    files: Sequence[Path],
    *,
    dry_run: bool = False,
    agents: Mapping[str, str] | None = None,
    close_new_agents: bool = True,
    progress: Progress | None = None,
) -> Report:
    """Read transcript files and record them, one session at a time (its transcript and its
    subagents' in one transaction). A file that cannot be read, or a session that cannot be
    written, is an error in the report; the others are still imported."""
    report = Report(dry_run)
    groups: dict[str, list[Path]] = {}
    sizes: dict[Path, int] = {}
    for path in files:
        session, _ = _ids_from_path(path)
        groups.setdefault(session or str(path), []).append(path)
        with contextlib.suppress(OSError):
            sizes[path] = path.stat().st_size
    total, done = sum(sizes.values()), 0
    # Which sessions a workflow prompt ran, asked once for all of them (see workflow_agents).
    named = {key for key in groups if key not in (agents or {})}
    try:
        workflows: dict[str, str] = run(lambda: workflow_agents(named), False) if named else {}
    except Exception:  # no database: each session's own transaction reports it
        workflows, named = {}, set()
    for group in groups.values():
        found: dict[str, Message] = {}
        main_path: str | None = None
        for path in group:
            transcript = read_transcript(path)
            done += sizes.get(path, 0)
            if progress is not None:
                progress(done, total)
            if not gather(report, transcript, found):
                continue
            if main_path is None and path.parent.name != "subagents":
                main_path = str(path)
        if not found:
            continue
        messages = list(found.values())

        def build(messages: list[Message] = messages, where: str | None = main_path) -> Op:
            return record_messages(
                messages,
                agents=agents,
                workflows=workflows,
                checked=named,
                dry_run=dry_run,
                close_new_agents=close_new_agents,
                transcript_path=where,
            )

        try:
            report.counts.add(run(build, not dry_run))
        except Exception as exc:  # one session's failure is reported; the rest goes on
            sessions = ", ".join(sorted({m.session_id for m in messages}))
            text = " ".join(str(exc).split()) or type(exc).__name__
            report.errors.append(f"session {sessions}: {type(exc).__name__}: {text}")
    return report


def import_transcripts(
    db: Any,
    paths: Iterable[os.PathLike[str] | str] = (),
    *,
    project_root: os.PathLike[str] | str | None = None,
    since_days: float | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
) -> Report:
    """Import Claude Code transcripts into the database (`db`: an OrchestratorDB, or the path
    of a SQLite file). Without `paths`, every transcript of the project's sessions
    (project_transcript_dirs of `project_root`); files and folders otherwise. Idempotent."""
    run = db_runner(db) if hasattr(db, "_write") else sqlite_runner(Path(db))
    given = list(paths)
    if not given:
        if project_root is None:
            raise ValueError("import_transcripts needs paths or a project_root")
        given = list(project_transcript_dirs(project_root, environ))
    files, errors = find_transcripts(given, since_days=since_days)
    report = import_files(run, files, dry_run=dry_run, progress=progress)
    report.errors[:0] = errors
    return report


# -- after hook events ----------------------------------------------------------------------


class HookImport:
    """A session's transcripts a batch of hook rows asks to import."""

    __slots__ = ("agent_id", "files", "final", "session_id")

    def __init__(self, session_id: str, agent_id: str | None) -> None:
        self.session_id = session_id
        self.agent_id = agent_id
        self.files: list[Path] = []
        self.final = False  # SessionEnd: nothing more will be written

    def __repr__(self) -> str:
        return f"HookImport({self.session_id!r}, {self.agent_id!r}, {self.files!r}, {self.final})"


def hook_imports(rows: Iterable[Mapping[str, Any]]) -> list[HookImport]:
    """What a batch of hook rows asks to import, per session: for Stop and SessionEnd the
    session's transcript and its subagents', for SubagentStop the subagent's transcript;
    each file once, with the agent the hook recorded the session's events for."""
    wanted: dict[str, HookImport] = {}
    for row in rows:
        session = row.get("session_id")
        if row.get("event") not in TRANSCRIPT_EVENTS or not isinstance(session, str) or not session:
            continue
        details = row.get("details")
        details = details if isinstance(details, dict) else {}
        if row["event"] == "SubagentStop" and isinstance(details.get("agent_transcript_path"), str):
            files = [Path(details["agent_transcript_path"])]
        elif isinstance(row.get("transcript_path"), str) and row["transcript_path"]:
            files = session_files(row["transcript_path"])
        else:
            continue
        agent = row.get("agent_id")
        entry = wanted.setdefault(
            session, HookImport(session, agent if isinstance(agent, str) else None)
        )
        entry.files += [f for f in files if f not in entry.files]
        entry.final = entry.final or row["event"] == "SessionEnd"
    return list(wanted.values())


OFFSETS_NAME = "transcript-offsets"  # beside the hooks' fallback file, in the logs folder


class Offsets:
    """Where the hook recorder stopped reading each transcript of one session, so that a
    Stop reads only what the CLI wrote since the last one (a file of a few bytes per session,
    removed at SessionEnd). A transcript that shrank or was replaced is read again from the
    start; reading too much is harmless (duplicates are skipped), too little is impossible:
    an offset is saved only after its messages are committed."""

    def __init__(self, directory: Path, session_id: str) -> None:
        self.path = directory / (re.sub(r"[^A-Za-z0-9_.-]", "_", session_id) + ".json")

    def load(self) -> dict[str, list[int]]:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def start(self, state: Mapping[str, Any], path: Path) -> int:
        """Where to start reading `path`: its saved offset if it is still the same file."""
        saved = state.get(str(path))
        if not (isinstance(saved, list) and len(saved) == 2):
            return 0
        inode, offset = saved
        try:
            stat = path.stat()
        except OSError:
            return 0
        if stat.st_ino != inode or stat.st_size < offset or not isinstance(offset, int):
            return 0
        return max(offset, 0)

    def save(self, state: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.path)

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()


def import_after_hooks(
    run: Runner, rows: Iterable[Mapping[str, Any]], offsets: Path | None = None
) -> Report:
    """Import the transcripts a batch of recorded hook rows points to (Stop, SubagentStop,
    SessionEnd), with the agent the hook recorded them for (a workflow's TAC_AGENT_ID or the
    session's interactive agent), one transaction per session. With `offsets` (a folder)
    each file is read from where the last import stopped. A failure is in the report, never
    raised: the transcript stays on disk, and the next Stop (or `tac-bootstrap db
    import-transcripts`) records it."""
    report = Report()
    for wanted in hook_imports(rows):
        cursor = Offsets(offsets, wanted.session_id) if offsets is not None else None
        state = cursor.load() if cursor is not None else {}
        found: dict[str, Message] = {}
        reached: dict[str, list[int]] = {}
        main_path: str | None = None
        for path in wanted.files:
            if not path.is_file():
                continue
            start = cursor.start(state, path) if cursor is not None else 0
            transcript = read_transcript(path, start, whole_lines=cursor is not None)
            if not gather(report, transcript, found):
                continue
            if main_path is None and path.parent.name != "subagents":
                main_path = str(path)
            reached[str(path)] = [transcript.inode, transcript.end]
        messages = list(found.values())
        agents = {wanted.session_id: wanted.agent_id} if wanted.agent_id else None

        def build(
            messages: list[Message] = messages,
            where: str | None = main_path,
            agents: Mapping[str, str] | None = agents,
        ) -> Op:
            return record_messages(messages, agents=agents, transcript_path=where)

        try:
            if messages:
                report.counts.add(run(build, True))
        except Exception as exc:  # the offsets stay where they were: read again next time
            text = " ".join(str(exc).split()) or type(exc).__name__
            report.errors.append(f"session {wanted.session_id}: {type(exc).__name__}: {text}")
            continue
        if cursor is not None:
            with contextlib.suppress(OSError):
                if wanted.final:
                    cursor.remove()
                else:
                    cursor.save({**state, **reached})
    return report


def no_database_runner() -> Runner:
    """A dry run's runner when there is no database yet: nothing is recorded, all is new."""

    def run(build: Callable[[], Op], write: bool) -> Any:
        op = build()
        value: Any = None
        try:
            while True:
                mode, _sql, _params = op.send(value)
                value = [] if mode == "all" else (None if mode == "one" else 0)
        except StopIteration as stop:
            return stop.value

    return run


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
