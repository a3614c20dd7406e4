#!/usr/bin/env python3
"""Claude Code status line: this session's (or workflow run's) cost, tokens and model, read
from the orchestrator database the hooks write.

.claude/settings.json runs it (`"statusLine"`) every time the conversation changes, with the
session as JSON on stdin; the first line printed is the status line. It must be quick and
harmless, so: standard library only, run as `python3 -S`; a read-only SQLite connection with
a short busy timeout and a few indexed queries (prompt_totals, the session_usage and agents
indexes); whatever goes wrong (no database yet, locked, corrupt, a PostgreSQL database the
standard library cannot read) prints one short line and exits 0. It never prints the
database's location or anything else from the environment, and every text taken from the
database or the CLI is stripped of control characters (ANSI escapes included).

TAC_ADW_ID set (a workflow run's agent): the run's totals; otherwise the session's (its
session_id on stdin), counted as `db cost` counts them: workflow prompts, and the transcript
usage of sessions no prompt ran. The database comes from TAC_ORCHESTRATOR_DB, else the
configured setting, else the project's default file (as the hooks find it).
"""

from __future__ import annotations

import os
import sqlite3
import sys

# Only os, sys and sqlite3: json, re and signal would each import enum, functools and
# collections (milliseconds of the line's budget), so the JSON is read by the C scanner json
# itself uses, and the text is cleaned without regular expressions.
PROJECT_ROOT = os.path.realpath(__file__)
for _ in range(3):  # <root>/.claude/hooks/status_line.py
    PROJECT_ROOT = os.path.dirname(PROJECT_ROOT)
ADWS_DIR = "adws"
CONFIGURED_DATABASE = ""  # TAC_ORCHESTRATOR_DB wins
DATABASE_ENV_VAR = "TAC_ORCHESTRATOR_DB"
RUN_ENV_VAR = "TAC_ADW_ID"
BUSY_TIMEOUT_S = 0.02  # a writer holding the lock longer gets the "busy" line, not a wait
DEADLINE_S = 0.5  # whatever happens, the line is printed by then
MAX_STDIN = 1 << 20
MAX_TEXT = 40
MAX_RAW = 2000  # characters of a value looked at (its escape sequences included)
PREFIX = "tac"
TOKEN_KINDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
# C0 and C1 controls (CR, BEL, what is left of an escape), DEL, and the bidirectional
# overrides that reorder what a terminal shows: all dropped.
_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_UNPRINTABLE = dict.fromkeys((*range(0x20), *range(0x7F, 0xA0), *_BIDI))
# libpq's keywords, as adw_db_private.KEYWORDS lists them (a setting holding one is conninfo).
_KEYWORD_WORDS = (
    "host hostaddr port dbname user password passfile require_auth channel_binding "
    "connect_timeout client_encoding options application_name fallback_application_name "
    "keepalives keepalives_idle keepalives_interval keepalives_count tcp_user_timeout "
    "replication gssencmode sslmode sslnegotiation sslcompression sslcert sslkey "
    "sslpassword sslcertmode sslrootcert sslcrl sslcrldir sslsni requirepeer "
    "ssl_min_protocol_version ssl_max_protocol_version krbsrvname gsslib gssdelegation "
    "service target_session_attrs load_balance_hosts requiressl oauth_issuer "
    "oauth_client_id oauth_client_secret oauth_scope"
)
_CONNINFO_KEYS = frozenset(_KEYWORD_WORDS.split())
_WORD_START = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
# Transcript usage counts only for agents no prompt ran (a prompt's own result is complete):
# transcripts.COUNTED_USAGE.
_COUNTED = (
    "su.agent_id IS NOT NULL AND NOT EXISTS "
    "(SELECT 1 FROM prompts pw WHERE pw.agent_id = su.agent_id)"
)


def _sums(alias: str) -> str:
    """coalesce(sum(alias.kind), 0) of every token kind, then of the cost."""
    return ", ".join(f"coalesce(sum({alias}.{kind}), 0)" for kind in (*TOKEN_KINDS, "cost_usd"))


class Fallback(Exception):
    """A short reason shown instead of the totals."""


def clean(value: object, limit: int = MAX_TEXT) -> str:
    """Text fit for a terminal: no escape sequence or control character, at most `limit`
    characters."""
    text = without_escapes(str(value)[:MAX_RAW]).translate(_UNPRINTABLE).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def without_escapes(text: str) -> str:
    """`text` without its escape sequences, whole: CSI (ESC [ or 0x9B, up to a final byte
    @ to ~), OSC (ESC ], up to BEL or ESC \\) and ESC plus one character."""
    kept: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\x1b" and i + 1 < n and text[i + 1] in "[]":
            csi = text[i + 1] == "["
            i += 2
        elif char == "\x9b":
            csi = True
            i += 1
        elif char == "\x1b":
            i += 2
            continue
        else:
            kept.append(char)
            i += 1
            continue
        while i < n:
            char = text[i]
            i += 1
            if (csi and "@" <= char <= "~") or (not csi and char == "\x07"):
                break
            if not csi and char == "\x1b":
                i += 1  # ESC \\ ends it
                break
    return "".join(kept)


def names_conninfo(value: str) -> bool:
    """libpq's "host=... dbname=..." form, as adw_db_private.looks_like_conninfo tells it:
    it starts with `word =`, or holds a libpq keyword and `=` after a blank."""
    first = value.lstrip().partition("=")
    name = first[0].rstrip()
    word = name.isascii() and (name[:1].isalpha() or name[:1] == "_")
    if first[1] and word and all(c in _WORD_START or c.isdigit() for c in name):
        return True
    words = " ".join(value.split()).replace(" =", "=").split(" ")
    return any(word.partition("=")[0] in _CONNINFO_KEYS for word in words if "=" in word)


def database_path(project_root: str) -> str | None:
    """The SQLite file, or None for a PostgreSQL (or otherwise unreadable) setting."""
    value = (os.environ.get(DATABASE_ENV_VAR) or CONFIGURED_DATABASE).strip()
    if not value:
        return os.path.join(project_root, ADWS_DIR, "schema", "orchestrator.db")
    if value.lower().startswith("sqlite:"):
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(value)
        raw = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not raw or raw == "/":
            return None
        value = raw[1:]  # sqlite:///rel.db is relative, sqlite:////abs.db absolute
    elif "://" in value or value.lower().startswith("postgres") or names_conninfo(value):
        return None
    return os.path.join(project_root, os.path.expanduser(value))  # an absolute one wins


def connect(path: str) -> sqlite3.Connection:
    """Read-only, never creating the file, waiting at most BUSY_TIMEOUT_S for a lock."""
    if not os.path.isfile(path):
        raise Fallback("no database yet")
    # A URI: only %, ? and # mean something in its path (and a NUL cannot be in one).
    escaped = os.path.realpath(path).replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    uri = "file:" + escaped + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute("PRAGMA query_only = ON")
    return conn


def _usage(conn: sqlite3.Connection, sql: str, value: str) -> list[float]:
    row = conn.execute(sql, (value,)).fetchone()
    return [float(x or 0) for x in row] if row else [0.0] * 5


def _prompt_totals(conn: sqlite3.Connection, column: str, value: str) -> list[float]:
    """The prompts' tokens and cost of the agents whose `column` is `value`: their
    prompt_totals rows (a few per agent, however many prompts), else the prompts."""
    try:
        return _usage(
            conn,
            f"SELECT {_sums('t')} FROM agents a JOIN prompt_totals t "
            f"ON t.dimension = 'agent' AND t.key = a.id WHERE a.{column} = ?",
            value,
        )
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
    return _usage(
        conn,
        f"SELECT {_sums('p')} FROM agents a "
        f"JOIN prompts p ON p.agent_id = a.id WHERE a.{column} = ?",
        value,
    )


def session_totals(conn: sqlite3.Connection, session_id: str) -> tuple[list[float], str]:
    """(tokens by kind + cost, the model of its latest message) of one CLI session."""
    totals = _prompt_totals(conn, "session_id", session_id)
    usage = _usage(
        conn,
        f"SELECT {_sums('su')} FROM session_usage su WHERE su.session_id = ? AND {_COUNTED}",
        session_id,
    )
    latest = conn.execute(
        "SELECT model, max(message_at) FROM session_usage WHERE session_id = ?", (session_id,)
    ).fetchone()
    model = latest[0] if latest and latest[0] else ""
    if not model:
        model = _agent_model(conn, "session_id", session_id)
    return [a + b for a, b in zip(totals, usage, strict=True)], model


def run_totals(conn: sqlite3.Connection, adw_id: str) -> tuple[list[float], str, str]:
    """(tokens by kind + cost, the latest agent's model, the run's status) of one run."""
    totals = _prompt_totals(conn, "adw_id", adw_id)
    usage = _usage(
        conn,
        f"SELECT {_sums('su')} FROM agents a "
        f"JOIN session_usage su ON su.agent_id = a.id WHERE a.adw_id = ? AND {_COUNTED}",
        adw_id,
    )
    try:
        row = conn.execute("SELECT status FROM runs WHERE adw_id = ?", (adw_id,)).fetchone()
    except sqlite3.OperationalError:  # a database from before the runs table
        row = None
    status = str(row[0]) if row else ""
    summed = [a + b for a, b in zip(totals, usage, strict=True)]
    return summed, _agent_model(conn, "adw_id", adw_id), status


def _agent_model(conn: sqlite3.Connection, column: str, value: str) -> str:
    """The latest agent's model; of two started in the same millisecond, the one inserted last."""
    row = conn.execute(
        f"SELECT model FROM agents WHERE {column} = ? AND model IS NOT NULL "
        "ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (value,),
    ).fetchone()
    return str(row[0]) if row else ""


def money(usd: float) -> str:
    return f"${usd:.2f}" if usd >= 1 else f"${usd:.4f}"


def tokens(count: float) -> str:
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= size:
            return f"{count / size:.1f}{unit} tok"
    return f"{int(count)} tok"


def cli_model(session: dict[str, object]) -> str:
    model = session.get("model")
    if isinstance(model, dict):
        return clean(model.get("display_name") or model.get("id") or "")
    return ""


def cli_cost(session: dict[str, object]) -> float | None:
    cost = session.get("cost")
    value = cost.get("total_cost_usd") if isinstance(cost, dict) else None
    return float(value) if isinstance(value, (int, float)) and value >= 0 else None


def status_line(session: dict[str, object], project_root: str = PROJECT_ROOT) -> str:
    """The line: totals from the database, or a short reason and what the CLI itself gave."""
    model = cli_model(session)
    path = database_path(project_root)
    if path is None:
        cost = cli_cost(session)
        parts = [f"{PREFIX} [postgresql: not read]"]
        parts += [f"{money(cost)} (CLI)"] if cost is not None else []
        return " | ".join(parts + ([model] if model else []))
    adw_id = clean(os.environ.get(RUN_ENV_VAR, ""), 200)
    session_id = session.get("session_id")
    try:
        conn = connect(path)
        try:
            if adw_id:
                sums, db_model, status = run_totals(conn, adw_id)
                label = f"{PREFIX} run {clean(adw_id, 12)}"
                label += f" {clean(status)}" if status else ""
            elif isinstance(session_id, str) and session_id:
                sums, db_model = session_totals(conn, session_id)
                label = PREFIX
            else:
                raise Fallback("no session id")
        finally:
            conn.close()
    except Fallback as why:
        return " | ".join([f"{PREFIX}: {why}"] + ([model] if model else []))
    except sqlite3.OperationalError as exc:
        busy = "locked" in str(exc) or "busy" in str(exc)
        said = "database busy" if busy else "database unreadable"
        return " | ".join([f"{PREFIX}: {said}"] + ([model] if model else []))
    except sqlite3.DatabaseError:
        return " | ".join([f"{PREFIX}: database unreadable"] + ([model] if model else []))
    shown = clean(db_model) if db_model else model
    parts = [f"{label} {money(sums[4])}", tokens(sum(sums[:4]))]
    return " | ".join(parts + ([shown] if shown else []))


class _JsonContext:
    """What json's C scanner reads from json.JSONDecoder: the same settings as json.loads."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN, Infinity, -Infinity


def parse_json(text: str) -> object:
    """json.loads(text), without importing json (its C scanner is the same parser)."""
    try:
        import _json
    except ImportError:  # an interpreter without the C accelerator
        import json

        return json.loads(text)
    text = text.strip(" \t\n\r")
    scan = _json.make_scanner(_JsonContext())  # type: ignore[arg-type,unused-ignore]
    value, end = scan(text, 0)  # StopIteration: not JSON
    if end != len(text):
        raise ValueError("extra data after the JSON value")
    return value


def read_session() -> dict[str, object]:
    if sys.stdin is None or sys.stdin.isatty():
        return {}
    try:
        data = parse_json(sys.stdin.read(MAX_STDIN) or "{}")
    except (ValueError, StopIteration, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _out_of_time(_signum: int, _frame: object) -> None:
    raise TimeoutError


def deadline(seconds: float) -> None:
    """SIGALRM after `seconds` (0: none), from the C module (`signal` would import enum)."""
    try:
        import _signal  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # not on this platform: the busy timeout bounds the wait anyway
        return
    if hasattr(_signal, "setitimer"):
        _signal.signal(_signal.SIGALRM, _out_of_time)
        _signal.setitimer(_signal.ITIMER_REAL, seconds)


def main() -> int:
    """Print the line; exit 0 whatever happens (a failing status line would blank it)."""
    line = f"{PREFIX}: status unavailable"
    try:
        deadline(DEADLINE_S)
        line = status_line(read_session())
    except BaseException:  # the CLI shows whatever we print: never a traceback
        pass
    finally:
        try:  # noqa: SIM105  # not contextlib.suppress: it imports functools and collections
            deadline(0)
        except BaseException:  # the alarm came just now: the line is known
            pass
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except Exception:  # the CLI closed the pipe: nothing to say to it
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
