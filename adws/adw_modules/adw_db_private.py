"""What must stay private about a database: its password and its files (stdlib only).

A PostgreSQL setting is a URL or a libpq keyword/value string (`host=db user=app
password=...`); both may hold a secret, so every display goes through `redact()`, and a
keyword string is parsed here (libpq's rules) so that a malformed one is refused with a
message that quotes no value. Database files, their WAL, backups and exports are created
owner-only (0600, directories 0700) whatever the umask; temp files carry the writer's pid, so
the next run can remove those a killed process left behind.

The hooks import this module too: it must stay free of third-party imports and cheap.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

# libpq's connection keywords (PostgreSQL 17/18, plus the long-deprecated requiressl).
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
KEYWORDS = frozenset(_KEYWORD_WORDS.split())
SECRET_KEYWORDS = frozenset({"password", "sslpassword", "oauth_client_secret"})
MASK = "***"
_SPACE = " \t\n\r\f\v"  # libpq's isspace() in the C locale
# A keyword string starts with `word =`, or holds a libpq keyword after a blank (a path with a
# space before `password=` is not worth the risk of naming a file after a password).
_LEADING_KEY = re.compile(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*=")
_ANY_KEY = re.compile(r"(?:^|\s)([a-z_]+)\s*=")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


class ConninfoError(ValueError):
    """A keyword/value string libpq would refuse; the message quotes no value."""


def looks_like_conninfo(value: str) -> bool:
    """Whether a setting is a libpq keyword/value string (and so never a file path)."""
    if _URL.match(value.lstrip()):
        return False
    if _LEADING_KEY.match(value):
        return True
    return any(match.group(1) in KEYWORDS for match in _ANY_KEY.finditer(value))


POSTGRES_SCHEMES = ("postgresql", "postgres")


def is_postgres_url(value: str) -> bool:
    """Whether a setting is a postgresql:// (or postgres://, postgresql+driver://) URL."""
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    return scheme.split("+", 1)[0] in POSTGRES_SCHEMES


def names_postgres(value: str) -> bool:
    """Whether a database setting names a PostgreSQL server: the one test, stdlib only, shared
    by the runtime, the hooks and the CLI's config (which must not import the runtime)."""
    return is_postgres_url(value) or looks_like_conninfo(value)


def _items(text: str) -> Iterator[tuple[str, str, str, str]]:
    """(keyword, value, the pair as written, problem) in order, as libpq reads them; after a
    syntax problem (missing '=', unterminated quote) the scan stops. Never raises."""
    i, n, previous = 0, len(text), ""
    while True:
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n:
            return
        start = i
        while i < n and text[i] != "=" and text[i] not in _SPACE:
            i += 1
        key = text[start:i]
        while i < n and text[i] in _SPACE:
            i += 1
        where = f'after "{previous}=..."' if previous else "at the start"
        if i >= n or text[i] != "=":
            yield key, "", text[start:], f"a word {where} is not followed by '='"
            return
        i += 1
        while i < n and text[i] in _SPACE:
            i += 1
        chars: list[str] = []
        quoted = i < n and text[i] == "'"
        if quoted:
            i += 1
        while i < n:
            char = text[i]
            if quoted and char == "'":
                i += 1
                break
            if not quoted and char in _SPACE:
                break
            if char == "\\":
                i += 1
                if i < n:
                    chars.append(text[i])
            else:
                chars.append(char)
            i += 1
        else:
            if quoted:
                named = key if key in KEYWORDS else "a value"
                yield key, "", text[start:], f"the quoted value of {named} is not closed by '"
                return
        problem = "" if key in KEYWORDS else f"an unknown keyword {where}"
        yield key, "".join(chars), text[start:i], problem
        previous = key if key in KEYWORDS else previous


def parse_conninfo(text: str) -> dict[str, str]:
    """The keywords of a libpq keyword/value string (the last of a repeated one wins).

    Raises ConninfoError naming only known keywords: a password with an unquoted blank is cut
    into words, and quoting such a word back would print part of the password."""
    found: dict[str, str] = {}
    for key, value, _raw, problem in _items(text):
        if problem:
            raise ConninfoError(
                f"the PostgreSQL keyword/value string cannot be read: {problem}; write "
                "keyword=value pairs with libpq's keywords; quote a value holding blanks in single "
                "quotes, with a backslash before ' and \\: password='it\\'s a secret'"
            )
        found[key] = value
    return found


def quote_conninfo_value(value: str) -> str:
    """A value as libpq reads it back: quoted, with ' and \\ escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def redact_conninfo(text: str) -> str:
    """The keyword string with every secret value (and all that cannot be read) masked."""
    shown: list[str] = []
    for key, value, raw, problem in _items(text):
        if problem:
            shown.append(MASK)  # an unreadable rest may be the rest of a password
            break
        if key in SECRET_KEYWORDS:
            shown.append(f"{key}={MASK}")
        elif key == "dbname" and (looks_like_conninfo(value) or _URL.match(value)):
            shown.append(f"{key}={quote_conninfo_value(redact(value))}")  # libpq expands it
        else:
            shown.append(raw.strip())
    return " ".join(shown)


def conninfo_secrets(text: str) -> list[str]:
    """Every secret value of a keyword string, as read and as written (for scrubbing)."""
    found: list[str] = []
    for key, value, raw, _problem in _items(text):
        if key in SECRET_KEYWORDS or key not in KEYWORDS:
            written = raw.partition("=")[2].strip()
            found.extend(piece for piece in (value, written, written.strip("'")) if piece)
    return found


# password= and sslpassword= (the client key's), in any case; libpq knows no #fragment, so a
# value runs to the next &.
PASSWORD_PARAM = re.compile(r"(?i)([?&](?:ssl)?password=)([^&]*)")


def _userinfo(url: str) -> tuple[str, str, str]:
    """(text before the user part, user part, the rest) as written. The user part runs to the
    last @, because a password may hold ?, #, [ or / that a URL parser would cut it at; an @
    in the query makes this mask too much, never too little."""
    scheme, _, rest = url.partition("://")
    userinfo, at, after = rest.rpartition("@")
    return f"{scheme}://", userinfo, at + after if at else rest


def written_password(url: str) -> str | None:
    """The password of a URL's user part as written (still percent-encoded), or None."""
    if "://" not in url:
        return None
    userinfo = _userinfo(url)[1]
    return userinfo.partition(":")[2] if ":" in userinfo else None


def redact(value: str) -> str:
    """A database setting safe to print: a URL's password (user part, password= parameters),
    a keyword string's secret values, masked; a file path unchanged. Never raises."""
    if _URL.match(value.lstrip()):
        head, userinfo, rest = _userinfo(value)
        if ":" in userinfo:
            userinfo = userinfo.partition(":")[0] + ":" + MASK
        return head + userinfo + PASSWORD_PARAM.sub(r"\1" + MASK, rest)
    if looks_like_conninfo(value):
        return redact_conninfo(value)
    return value


# -- owner-only files ---------------------------------------------------------------------------

FILE_MODE = 0o600
DIR_MODE = 0o700
# Every temp file we write, the CLI's and the runtime's, is `.<name>.tac-tmp-<pid>-<8 hex>`:
# the pid tells a sweep whether its writer is alive, the mark is what git is told to ignore.
# The pattern also takes the -journal/-wal/-shm SQLite may leave beside a killed temp database.
TEMP_MARK = ".tac-tmp-"
_TEMP = re.compile(r"\..*\.tac-tmp-(\d+)-[0-9a-f]{8}(?:-journal|-wal|-shm)?", re.DOTALL)
_TEMP_STEM_BYTES = 64  # a temp name stays within NAME_MAX whatever the target's length


def temp_name(name: str) -> str:
    """A hidden, recognisable temp name beside ``name``."""
    stem = name.encode("utf-8", "surrogateescape")[:_TEMP_STEM_BYTES].decode("utf-8", "ignore")
    return f".{stem}{TEMP_MARK}{os.getpid()}-{os.urandom(4).hex()}"


def abandoned_temp(name: str) -> bool:
    """One of our temp files whose writer process is gone."""
    match = _TEMP.fullmatch(name)
    return match is not None and not _alive(int(match.group(1)))


def private_dir(path: Path) -> None:
    """Create a directory only its owner can enter (an existing one keeps its mode)."""
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=DIR_MODE)
            os.chmod(path, DIR_MODE)  # mkdir's mode is filtered by the umask


def create_private_file(path: Path) -> bool:
    """Create an empty owner-only file unless one exists; True when it was created here.

    SQLite gives a database's -wal and -shm the database file's mode, so creating the file
    0600 before SQLite opens it keeps all three private. An existing file keeps its mode."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def private_temp(directory: Path, name: str) -> Path:
    """A new owner-only temp file beside `name` in `directory`, named with this process's pid
    (hidden, so `git add` of a project skips nothing it should commit)."""
    for _ in range(100):
        path = directory / temp_name(name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            continue
        os.close(fd)
        return path
    raise FileExistsError(f"no free temp file name in {directory}")


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OverflowError, ValueError):  # no such pid can exist
        return False
    except OSError:  # EPERM: another user's live process
        return True
    return True


def remove_orphans(*directories: Path) -> list[Path]:
    """Remove temp files whose writer is dead (killed mid-backup); returns what was removed.

    A live process with a reused pid keeps its file until the next sweep after it ends."""
    removed: list[Path] = []
    for directory in directories:
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            if abandoned_temp(name):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(directory / name)
                    removed.append(directory / name)
    return removed


@contextlib.contextmanager
def atomic_file(
    destination: Path, *, replace: bool, private_parent: bool = False
) -> Iterator[Path]:
    """The one temp-file-then-rename of the runtime and the CLI: yields an owner-only temp file
    beside `destination` (temp files of killed writers there are removed first) that takes
    its name when the block ends without an error, and is removed otherwise. `replace=False`
    refuses (FileExistsError) to replace an existing file, also one created meanwhile.
    `private_parent` creates a missing directory owner-only."""
    if private_parent:
        private_dir(destination.parent)
    else:
        destination.parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(destination.parent)
    tmp = private_temp(destination.parent, destination.name)
    try:
        yield tmp
        if replace:
            os.replace(tmp, destination)
        else:
            publish(tmp, destination)
    finally:
        tmp.unlink(missing_ok=True)


def publish(temp: Path, destination: Path) -> None:
    """Move a finished temp file to its name, refusing (FileExistsError) to replace one."""
    try:
        os.link(temp, destination)
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links: a check, then a rename
        if destination.exists() or destination.is_symlink():
            raise FileExistsError(destination) from None
        os.replace(temp, destination)
        return
    os.unlink(temp)
