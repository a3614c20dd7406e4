"""The rules for single values of tac_bootstrap.yml, and how a value is shown in a message.

Kept apart from the models so that the character sets are stated once: the loader scans the
file with CONTROL_IN_FILE, the models check each value with the functions below.
"""

from __future__ import annotations

import re

CONFIG_FILENAME = "tac_bootstrap.yml"  # here, not in config.py: finding it needs no pydantic

# Characters no config value may hold: C0/C1 controls (newline and tab included: every value
# is one line), DEL, line/paragraph separators, bidirectional overrides (they make text read
# differently than it runs), surrogates and the noncharacters YAML refuses. The file itself
# may hold tab, newline and carriage return; CONTROL_IN_FILE is this set minus those.
CONTROL_IN_VALUE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
CONTROL_IN_FILE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff\ufffe\uffff]"
)
MAX_TEXT = 4096  # characters of any one string value

# paths.*: relative POSIX paths whose segments use only these characters, so that a path
# pasted into JSON, Python, sh or Markdown needs no escaping anywhere.
PATH_SEGMENT_RE = re.compile(r"[A-Za-z0-9._-]+")
PATH_RULE = (
    "a relative path of segments made of A-Z a-z 0-9 . _ - separated by single '/' "
    "(no segment '.', '..' or starting with '-', no leading or trailing '/', "
    "not .git or .tac_bootstrap, at most 200 characters)"
)
RESERVED_SEGMENTS = frozenset({".git", ".tac_bootstrap"})
MAX_PATH = 200

# agentic.agent_cli is run as argv[0]: a program name or a path, nothing a shell would read.
PROGRAM_RE = re.compile(r"[A-Za-z0-9._+/][A-Za-z0-9._+/-]*")


def shown(value: object, limit: int = 80) -> str:
    """Any value for an error message: non-printable characters escaped, at most ~limit
    characters with an ellipsis, so that a 10 MB value never reaches the terminal whole.

    The one helper every config message uses for user input (quote() adds the quotes)."""
    text = value if isinstance(value, str) else repr(value)
    head = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: limit + 1])
    return head[:limit] + "…" if len(head) > limit else head


def quote(value: object, limit: int = 80) -> str:
    return f"'{shown(value, limit)}'"


def check_text(value: str) -> str:
    """One line of printable text, of bounded length."""
    bad = CONTROL_IN_VALUE.search(value)
    if bad is not None:
        raise ValueError(
            f"contains the non-printable character U+{ord(bad.group()):04X} at position "
            f"{bad.start() + 1} (values are one line of printable text)"
        )
    if len(value) > MAX_TEXT:
        raise ValueError(f"is {len(value)} characters long, over the limit of {MAX_TEXT}")
    return value


def check_path(value: str) -> str:
    """Accept exactly the documented safe set (PATH_RULE); anything else is refused, not fixed."""
    segments = value.split("/")
    safe = (
        0 < len(value) <= MAX_PATH
        and all(PATH_SEGMENT_RE.fullmatch(segment) for segment in segments)
        and not any(segment in (".", "..") or segment.startswith("-") for segment in segments)
        and not any(segment.lower() in RESERVED_SEGMENTS for segment in segments)
    )
    if not safe:
        raise ValueError(f"{quote(value)} is not a safe project path: use {PATH_RULE}")
    return value


def check_program(value: str) -> str:
    check_text(value)
    if not PROGRAM_RE.fullmatch(value):
        raise ValueError(
            f"{quote(value)} is not a program name or path: use A-Z a-z 0-9 . _ + - / only "
            "(no spaces, quotes or shell characters; not starting with '-'); "
            "set CLAUDE_CODE_PATH for other paths"
        )
    return value
