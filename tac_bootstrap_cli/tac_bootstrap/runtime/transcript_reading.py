"""Reading a Claude Code transcript (JSONL): its assistant messages, one per message id.

Standard library only (the hook recorder's transcript import uses it). Never fatal: a bad
line is counted, an unreadable file has its error set.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeGuard

from .hook_rows import timestamp
from .transcript_prices import cost_usd

SYNTHETIC_MODEL = "<synthetic>"


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


def _json_object(raw: bytes) -> dict[str, Any] | None:
    """A line's JSON object (bytes that are not UTF-8 replaced), or None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "replace")
    try:
        line = json.loads(text)
    except ValueError:
        return None
    return line if isinstance(line, dict) else None


def parse_line(
    raw: bytes,
    *,
    session_id: str | None = None,
    subagent_id: str | None = None,
    fallback_time: str = "",
) -> Message | str:
    """The message of one transcript line, or why there is none (NOT_A_MESSAGE, SKIPPED,
    BAD_LINE). Bytes that are not UTF-8 are replaced; the usage numbers survive that."""
    line = _json_object(raw)
    if line is None:
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
            fallback = timestamp(stat.st_mtime_ns)
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
