"""Escaping filters, one per target language of the templates.

A config value is data, never code: every template prints it through the filter of the
language it lands in, so a quote, a backslash, ``$(...)`` or a line break stays part of the
value. Each filter returns the value unchanged where the target reads it literally anyway
(ordinary names and paths), so normal configs render byte for byte as before. A value the
target language cannot hold at all (a NUL byte in a shell word, a line break in a Markdown
code span) is an error, not a silently altered value.
"""

from __future__ import annotations

import json
import re

from tac_bootstrap.domain.errors import TemplateError


class UnrepresentableValue(TemplateError):
    """The value cannot be written in the target language without changing it."""


def _codepoint_escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _quoted(value: str, quote: str = '"') -> str:
    """A double-quoted literal valid in Python and in YAML: printable characters as they are,
    backslash and quote escaped, every other character as a \\x/\\u/\\U escape."""
    out = []
    for char in value:
        if char in ("\\", quote):
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            out.append(_codepoint_escape(char))
    return quote + "".join(out) + quote


def json_str(value: object) -> str:
    """A JSON string literal; lone surrogates (unencodable as UTF-8) as \\u escapes."""
    text = json.dumps(str(value), ensure_ascii=False)
    return re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text)


def py_str(value: object) -> str:
    """A Python string literal (double-quoted, like json_str for ordinary values)."""
    return _quoted(str(value))


def yaml_str(value: object) -> str:
    """A YAML double-quoted scalar. Line breaks YAML 1.1 folds (NEL, U+2028, U+2029) and
    characters the reader refuses are escaped, so the value re-parses unchanged."""
    return _quoted(str(value))


# A plain (unquoted) YAML scalar is kept only when it is this boring; anything else is quoted.
_YAML_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ._/,()+=<>'-]*[A-Za-z0-9._/)>-]")
_YAML_WORDS = re.compile(r"(?i)(y|n|yes|no|on|off|true|false|null|~)")


def yaml_scalar(value: object) -> str:
    """A YAML scalar for front matter: plain when that is unambiguous, else double-quoted."""
    text = str(value)
    if _YAML_PLAIN.fullmatch(text) and not _YAML_WORDS.fullmatch(text):
        return text
    return yaml_str(text)


def comment(value: object) -> str:
    """Text for a one-line comment (``#`` in shell, Python, YAML; ``--`` in SQL): no character
    may end the line (\\n, \\r, NEL, U+2028/U+2029) or be refused by a parser (NUL); such
    characters are written as visible escapes instead."""
    return "".join(c if c.isprintable() else _codepoint_escape(c) for c in str(value))


_SH_PLAIN = re.compile(r"[A-Za-z0-9._/+=:,@%^-]*")


def sh_dq(value: object) -> str:
    """The value inside a double-quoted shell string that is also part of a Python string.

    The hook file is valid sh and Python at once: its shell half is the body of a Python
    ``'''`` string. An ordinary value is printed as it is; any other closes the double quote
    and continues in single quotes (nothing is special there), with a single quote as
    ``'"'"'`` and a backslash as ``'"\\\\"'``, so the Python string sees neither ``'''`` nor a
    backslash escape it could reject.
    """
    text = str(value)
    if _SH_PLAIN.fullmatch(text):
        return text
    if "\0" in text:
        raise UnrepresentableValue("a NUL byte cannot be part of a shell word")
    return "\"'" + _sh_body(text) + "'\""


def _sh_body(text: str) -> str:
    """Inside single quotes: a quote as '"'"' and a backslash as '"\\\\"' (see sh_dq)."""
    return text.replace("'", "'\"'\"'").replace("\\", "'\"\\\\\"'")


def sh_quote(value: object) -> str:
    """A single shell word (POSIX single quotes), also safe inside the hook's Python string."""
    text = str(value)
    if text and _SH_PLAIN.fullmatch(text):
        return text
    if "\0" in text:
        raise UnrepresentableValue("a NUL byte cannot be part of a shell word")
    return "'" + _sh_body(text) + "'"


def md_code(value: object) -> str:
    """An inline Markdown code span showing exactly ``value``.

    The fence is one backtick longer than the longest run of backticks in the value; a space
    pads both sides when the value starts or ends with a backtick, or starts and ends with a
    space (CommonMark strips one such pair). A line break cannot be kept in a code span.
    An empty value prints as *empty*: CommonMark has no empty code span, and the two
    backticks printed before opened a longer span wherever a second pair followed.
    """
    text = str(value)
    if "\n" in text or "\r" in text:
        raise UnrepresentableValue("a line break cannot be shown in a Markdown code span")
    if "\0" in text:
        raise UnrepresentableValue("a NUL byte cannot be shown in Markdown (it becomes U+FFFD)")
    if not text:
        return "*empty*"
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = text.startswith("`") or text.endswith("`")
    pad = pad or (text.startswith(" ") and text.endswith(" ") and text.strip(" ") != "")
    space = " " if pad else ""
    return f"{fence}{space}{text}{space}{fence}"


def md_cell(markdown: object) -> str:
    """Markdown (e.g. an md_code span) inside a table cell: GFM splits cells at every
    unescaped "|", code spans included, and turns "\\|" back into "|"."""
    return str(markdown).replace("|", "\\|")


# ASCII punctuation that can open or close Markdown (CommonMark escapes any ASCII
# punctuation with a backslash); '.', '-' and '/' only matter at the start of a line, and
# values are printed after text, so names and paths stay as they are.
_MD_SPECIAL = set("\\`*_[]<>()#+!|~{}$&\"'=:;?@^%,")


def md_text(value: object) -> str:
    """Value as Markdown prose: specials backslash-escaped, line breaks and other invisible
    characters as visible escapes, so it can neither format nor break the surrounding text."""
    out = []
    for char in str(value):
        if char in _MD_SPECIAL:
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            out.append("\\" + _codepoint_escape(char))
    return "".join(out)


FILTERS = {
    "json_str": json_str,
    "py_str": py_str,
    "yaml_str": yaml_str,
    "yaml_scalar": yaml_scalar,
    "comment": comment,
    "sh_dq": sh_dq,
    "sh_quote": sh_quote,
    "md_code": md_code,
    "md_cell": md_cell,
    "md_text": md_text,
}
