"""Issue 11, part "database": secrets never shown, owner-only files, backups, prune counts.

Keyword/value connection strings (`host=db password=...`) are generated with random
passwords (quotes, backslashes, blanks, `#`, `=`, unicode): in-process for many examples on
the parser and the one redaction function, in real CLI processes for a handful per command.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tac_bootstrap.runtime.adw_db_connection import (
    UnsupportedDatabase,
    location_from_setting,
    resolve_location,
)
from tac_bootstrap.runtime.adw_db_private import (
    looks_like_conninfo,
    parse_conninfo,
    redact,
)

# -- generated keyword strings ------------------------------------------------------------------

# Any character an environment variable can carry (no NUL, no lone surrogate).
SECRET_CHARS = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters="\x00",
)
# At least 5 characters, so that a leak cannot hide as a coincidence with ordinary words.
PASSWORDS = st.text(SECRET_CHARS, min_size=5, max_size=24).filter(lambda p: p.strip() != "")
PLAIN = st.from_regex(r"[a-z][a-z0-9.]{0,9}", fullmatch=True)
OTHER_KEYS = ["host", "port", "dbname", "user", "sslmode", "application_name", "connect_timeout"]
BLANKS = st.sampled_from([" ", "  ", "\t", " \n "])
EQUALS = st.sampled_from(["=", " = ", "= ", " ="])


def quoted(value: str) -> str:
    """libpq's quoted form, written here independently of the code under test."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def escaped(value: str) -> str:
    """libpq's unquoted form: a backslash before each blank, quote and backslash."""
    return "".join("\\" + c if c in " \t\n\r\f\v'\\" else c for c in value)


@st.composite
def keyword_strings(draw: st.DrawFn) -> tuple[str, str, dict[str, str]]:
    """(keyword string, its password, what libpq reads from it)."""
    password = draw(PASSWORDS)
    keys = draw(st.lists(st.sampled_from(OTHER_KEYS), unique=True, max_size=4))
    pairs = [(key, draw(PLAIN)) for key in keys]
    pairs.insert(draw(st.integers(0, len(pairs))), ("password", password))
    parts = []
    for key, value in pairs:
        written = value
        if key == "password" or draw(st.booleans()):
            written = draw(st.sampled_from([quoted, escaped]))(value)
        parts.append(f"{key}{draw(EQUALS)}{written}")
    text = draw(BLANKS).join(parts)
    if draw(st.booleans()):
        text = draw(BLANKS) + text + draw(BLANKS)
    return text, password, dict(pairs)


def pieces(secret: str) -> list[str]:
    """The secret and its blank-separated words of 5+ characters (a cut password leaks them)."""
    return [secret, *(word for word in secret.split() if len(word) >= 5)]


def leaked(secret: str, text: str) -> list[str]:
    return [piece for piece in pieces(secret) if piece in text]


def not_elsewhere(text: str, secret: str) -> bool:
    """The secret's pieces occur nowhere else in the string (else "leaks" are coincidences)."""
    rest = text.replace(quoted(secret), "").replace(escaped(secret), "")
    return not any(piece in rest for piece in pieces(secret))


@given(keyword_strings())
def test_keyword_strings_are_read_as_libpq_reads_them(
    case: tuple[str, str, dict[str, str]],
) -> None:
    text, _password, expected = case
    assert looks_like_conninfo(text)
    assert parse_conninfo(text) == expected
    psycopg_conninfo = pytest.importorskip("psycopg.conninfo")
    assert psycopg_conninfo.conninfo_to_dict(text) == expected


@given(keyword_strings())
def test_a_keyword_string_is_postgresql_and_its_password_is_never_shown(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, str, dict[str, str]]
) -> None:
    text, password, _expected = case
    assume(not_elsewhere(text, password))
    root = tmp_path_factory.mktemp("root")
    for source in ("environment", "config"):
        location = location_from_setting(text, root, "adws", source)
        assert (location.backend, location.path, location.url) == ("postgresql", None, text)
        assert not leaked(password, location.display), location.display
    env = resolve_location(root, environ={"TAC_ORCHESTRATOR_DB": text})
    assert env.backend == "postgresql"
    assert not leaked(password, redact(text))
    pg = pytest.importorskip("tac_bootstrap.runtime.adw_db_postgres")
    assert not leaked(password, pg.pg_dump_advice(text))
    assert not leaked(password, pg.describe(text))
    error = pg.connection_error(text, Exception(f"connection failed: {text}"))
    assert not leaked(password, error), error
    assert list(root.iterdir()) == []


@st.composite
def malformed_keyword_strings(draw: st.DrawFn) -> tuple[str, str, str]:
    """(a keyword string libpq refuses, the password it tried to give, how it was written)."""
    password = draw(PASSWORDS)
    host = f"host={draw(PLAIN)}"
    kind = draw(st.sampled_from(["unterminated", "unquoted blank", "unknown keyword"]))
    if kind == "unterminated":
        broken = "password='" + quoted(password)[1:-1]
    elif kind == "unquoted blank":
        words = draw(st.lists(st.from_regex(r"[^\s='\\\x00]{5,10}", fullmatch=True), min_size=2))
        password = " ".join(words)
        broken = f"password={password}"
    else:
        broken = (
            f"password={quoted(password)} {draw(st.from_regex(r'x[a-z]{4,8}', fullmatch=True))}=1"
        )
    text = draw(st.sampled_from([f"{host} {broken}", f"{broken} {host}"]))
    if kind == "unterminated":
        text = f"{host} {broken}"  # the quote runs to the end: nothing may follow
    return text, password, broken


@given(malformed_keyword_strings())
def test_a_malformed_keyword_string_is_refused_without_its_secret(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, str, str]
) -> None:
    text, password, written = case
    assume(not any(piece in text.replace(written, "") for piece in pieces(password)))
    root = tmp_path_factory.mktemp("root")
    assert looks_like_conninfo(text)
    with pytest.raises(UnsupportedDatabase) as refused:
        location_from_setting(text, root, "adws", "environment")
    message = str(refused.value)
    assert message.startswith("TAC_ORCHESTRATOR_DB: the PostgreSQL keyword/value string")
    assert not leaked(password, message), message
    assert not leaked(password, redact(text)), redact(text)
    assert list(root.iterdir()) == []


@pytest.mark.parametrize(
    "setting",
    [
        "orch.db",
        "data/orch.db",
        "./a=b.db",
        "/tmp/my database.db",
        "sqlite:///rel.db",
        "x/host.db",
        "passwords/orch.db",
    ],
)
def test_file_paths_stay_sqlite_files(tmp_path: Path, setting: str) -> None:
    location = location_from_setting(setting, tmp_path, "adws", "config")
    assert location.backend == "sqlite"
    assert location.display == str(location.path)
    assert redact(setting) == setting


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:s3cr3tpw@h/db", "postgresql://u:***@h/db"),
        ("postgresql://h/db?password=s3cr3tpw&sslmode=require", None),
        ("host=h dbname='postgresql://u:s3cr3tpw@h/db'", "host=h dbname='postgresql://u:***@h/db'"),
        ("host=h dbname='user=u password=s3cr3tpw'", None),
        ("host=h oauth_client_secret=s3cr3tpw", "host=h oauth_client_secret=***"),
        ("host=h sslpassword = 's3cr3tpw'", "host=h sslpassword=***"),
    ],
)
def test_one_redaction_for_urls_and_keyword_strings(url: str, shown: str | None) -> None:
    assert "s3cr3tpw" not in redact(url)
    if shown is not None:
        assert redact(url) == shown
