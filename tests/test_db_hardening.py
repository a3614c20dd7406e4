"""Issue 11, part "database": secrets never shown, owner-only files, backups, prune counts.

Keyword/value connection strings (`host=db password=...`) are generated with random
passwords (quotes, backslashes, blanks, `#`, `=`, unicode): in-process for many examples on
the parser and the one redaction function, in real CLI processes for a handful per command.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
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

from .conftest import run_cli
from .db_helpers import LATEST_VERSION

# -- generated keyword strings ------------------------------------------------------------------

# Any character an environment variable can carry (no NUL, no lone surrogate).
SECRET_CHARS = st.characters(codec="utf-8", exclude_characters="\x00")
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


def not_in_our_wording(secret: str, pg: Any) -> bool:
    """The secret's pieces are no words of the messages themselves (a password "forma" is in
    every pg_dump advice, which says `--format`): else a "leak" is a coincidence."""
    plain = "host=db.example port=5432"
    wording = " ".join(
        (
            pg.pg_dump_advice(plain),
            pg.describe(plain),
            pg.connection_error(plain, Exception(f"connection failed: {plain}")),
        )
    )
    return not any(piece in wording for piece in pieces(secret))


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
@example(case=("password='forma'", "forma", {"password": "forma"}))  # a word of our messages
def test_a_keyword_string_is_postgresql_and_its_password_is_never_shown(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, str, dict[str, str]]
) -> None:
    text, password, _expected = case
    assume(not_elsewhere(text, password))
    pg = pytest.importorskip("tac_bootstrap.runtime.adw_db_postgres")
    assume(not_in_our_wording(password, pg))
    root = tmp_path_factory.mktemp("root")
    for source in ("environment", "config"):
        location = location_from_setting(text, root, "adws", source)
        assert (location.backend, location.path, location.url) == ("postgresql", None, text)
        assert not leaked(password, location.display), location.display
    env = resolve_location(root, environ={"TAC_ORCHESTRATOR_DB": text})
    assert env.backend == "postgresql"
    assert not leaked(password, redact(text))
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


# -- the commands, in real processes ------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("project")
    result = run_cli("init", "demo", "-o", base, "--yes", "--no-git")
    assert result.returncode == 0, result.stderr
    return base / "demo"


def closed_port() -> int:
    """A port nothing listens on (bound once on 127.0.0.1, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def names(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def run_in(root: Path, *args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "TAC_ORCHESTRATOR_DB"}
    return subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", *map(str, args)],
        cwd=root,
        env={**clean, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


UNREACHABLE = st.builds(
    lambda case, port: (f"host=127.0.0.1 port={port} connect_timeout=2 {case[0]}", case[1]),
    keyword_strings().filter(lambda c: not {"host", "port", "connect_timeout"} & set(c[2])),
    st.just(0),
)


@settings(max_examples=4, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(UNREACHABLE)
def test_no_command_prints_the_password_of_an_unreachable_server(
    project: Path, case: tuple[str, str]
) -> None:
    setting, password = case
    setting = setting.replace("port=0", f"port={closed_port()}")
    assume(not_elsewhere(setting, password))
    pytest.importorskip("psycopg")
    before = names(project)
    sqlite_source = project / "adws/schema/copy-source.db"
    commands: list[tuple[str | Path, ...]] = [
        ("db", "status", "--json"),
        ("doctor", "--json"),
        ("db", "backup", "backup.db"),
        ("db", "migrate", "--json"),
        ("db", "copy", setting, "copied.db"),
        ("db", "copy", sqlite_source, setting),
    ]
    sqlite3.connect(sqlite_source).close()
    try:
        for command in commands:
            result = run_in(project, *command, TAC_ORCHESTRATOR_DB=setting)
            output = result.stdout + result.stderr
            assert not leaked(password, output), (command, output)
            assert "Traceback" not in output, (command, output)
            assert result.returncode != 0 or command[0] == "doctor", (command, output)
    finally:
        sqlite_source.unlink()
    assert names(project) == before  # no file named after the setting, no backup, no copy


@settings(max_examples=3, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(malformed_keyword_strings())
def test_a_malformed_setting_is_a_config_error_without_its_secret(
    project: Path, case: tuple[str, str, str]
) -> None:
    text, password, written = case
    assume(not any(piece in text.replace(written, "") for piece in pieces(password)))
    before = names(project)
    for command in (("db", "status", "--json"), ("db", "backup", "b.db"), ("doctor", "--json")):
        result = run_in(project, *command, TAC_ORCHESTRATOR_DB=text)
        output = result.stdout + result.stderr
        assert not leaked(password, output), (command, output)
        assert "keyword/value string cannot be read" in output, (command, output)
        assert result.returncode in ((1,) if command[0] == "doctor" else (2,)), output
    assert names(project) == before


def test_a_password_in_the_config_file_is_a_warning_without_the_password(
    project: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "demo"
    shutil.copytree(project, copy)
    config = copy / "tac_bootstrap.yml"
    setting = f"host=127.0.0.1 port={closed_port()} connect_timeout=2 password='Zq9 s3cr#t=x'"
    text = config.read_text()
    assert "database:" in text
    lines = [
        f"  database: {json.dumps(setting)}" if line.strip().startswith("database:") else line
        for line in text.splitlines()
    ]
    config.write_text("\n".join(lines) + "\n")
    result = run_in(copy, "doctor", "--json")
    assert "Zq9" not in result.stdout + result.stderr and "s3cr" not in result.stdout
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["database password"]["status"] == "warn"
    assert "password=***" in checks["database password"]["message"]


def test_a_keyword_string_reaches_a_real_server(
    project: Path, pg_database: Any, tmp_path: Path
) -> None:
    """The keyword string is handed to psycopg as it is: migrate and status work, and the
    password (ignored by the test server's trust authentication) is never printed."""
    conninfo = f"{pg_database()} password='Pw d\\'s3cr3t#'"
    copy = tmp_path / "demo"
    shutil.copytree(project, copy)
    migrated = run_in(copy, "db", "migrate", "--json", TAC_ORCHESTRATOR_DB=conninfo)
    assert migrated.returncode == 0, migrated.stderr
    status = run_in(copy, "db", "status", "--json", TAC_ORCHESTRATOR_DB=conninfo)
    assert status.returncode == 0, status.stderr
    document = json.loads(status.stdout)
    assert document["backend"] == "postgresql"
    assert "password=***" in document["location"]
    for output in (migrated.stdout + migrated.stderr, status.stdout + status.stderr):
        assert "s3cr3t" not in output
    backup = run_in(copy, "db", "backup", "x.db", TAC_ORCHESTRATOR_DB=conninfo)
    assert "pg_dump" in backup.stderr and "s3cr3t" not in backup.stdout + backup.stderr
    assert not (copy / "x.db").exists()


# -- owner-only files -----------------------------------------------------------------------------

POPULATE = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    from adw_modules.adw_database import OrchestratorDB

    with OrchestratorDB.open() as db:
        planner = db.register_orchestrator_agent("planner", "planner")
        agent = db.start_agent(planner.id, "session-1", adw_id="adw1")
        db.log_agent(agent.id, "tool_call", "call")
        db.set_agent_status(agent.id, "completed")
        print(db.path)
    """
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o000, 0o027])
def test_database_files_are_created_owner_only_whatever_the_umask(
    tmp_path: Path, umask: int
) -> None:
    result = run_cli("init", "demo", "-o", tmp_path, "--yes", "--no-git")
    assert result.returncode == 0, result.stderr
    root = tmp_path / "demo"
    previous = os.umask(umask)  # inherited by every child process below
    try:
        created = subprocess.run(
            [sys.executable, "-c", POPULATE, str(root / "adws")],
            capture_output=True,
            text=True,
            timeout=120,
            env={k: v for k, v in os.environ.items() if k != "TAC_ORCHESTRATOR_DB"},
        )
        assert created.returncode == 0, created.stderr
        database = Path(created.stdout.strip())
        steps = [
            ("db", "backup", "out/backup.db"),
            ("db", "export", "out/export.json"),
            ("db", "export", "--format", "csv", "out/csv"),
            ("db", "copy", database, "out/copy.db"),
        ]
        for step in steps:
            done = run_in(root, *step)
            assert done.returncode == 0, (step, done.stderr)
        # A connection that stays open keeps -wal and -shm on disk to look at.
        holder = sqlite3.connect(database)
        holder.execute("SELECT count(*) FROM agents").fetchone()
        try:
            files = [
                database,
                Path(f"{database}-wal"),
                Path(f"{database}-shm"),
                root / "out/backup.db",
                root / "out/export.json",
                *sorted((root / "out/csv").iterdir()),
                root / "out/copy.db",
            ]
            assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}
            assert oct(mode(root / "out/csv")) == "0o700"
        finally:
            holder.close()
    finally:
        os.umask(previous)


def test_migrating_keeps_its_backups_owner_only(tmp_path: Path) -> None:
    from .db_helpers import copy_migrations

    result = run_cli("init", "demo", "-o", tmp_path, "--yes", "--no-git")
    assert result.returncode == 0, result.stderr
    root = tmp_path / "demo"
    database = root / "adws/schema/orchestrator.db"
    early = copy_migrations(tmp_path / "early", "001_initial.sql")
    from tac_bootstrap.runtime.adw_database import OrchestratorDB

    previous = os.umask(0o022)
    try:
        OrchestratorDB.open(database, migrations_dir=early).close()
        migrated = run_in(root, "db", "migrate", "--json")
        assert migrated.returncode == 0, migrated.stderr
    finally:
        os.umask(previous)
    backup = Path(json.loads(migrated.stdout)["backup"])
    assert backup.parent == database.parent / "backups"
    assert (oct(mode(database)), oct(mode(backup)), oct(mode(backup.parent))) == (
        "0o600",
        "0o600",
        "0o700",
    )


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    from tac_bootstrap.runtime.adw_db_connection import connect

    database = tmp_path / "shared.db"
    database.touch()
    os.chmod(database, 0o640)
    connect(database).close()
    assert oct(mode(database)) == "0o640"


# -- backups: unique names, no orphaned temp files ------------------------------------------------


def temp_files(directory: Path) -> list[str]:
    """Hidden files: every temp name, this version's and older ones' (.<name>.<random>.tmp)."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


@settings(max_examples=10)
@given(st.integers(min_value=2, max_value=12))
def test_backups_before_migrating_never_collide(
    tmp_path_factory: pytest.TempPathFactory, count: int
) -> None:
    """Backups taken within one second (a quick retry, doctor --fix, threads) get new names."""
    from tac_bootstrap.application import database_service
    from tac_bootstrap.runtime.adw_database import OrchestratorDB

    from .db_helpers import MIGRATIONS

    database = tmp_path_factory.mktemp("db") / "orchestrator.db"
    with OrchestratorDB.open(database, migrations_dir=MIGRATIONS) as db:
        db.log_system("kept")
        made: list[Path] = []
        errors: list[BaseException] = []

        def take() -> None:
            try:
                made.append(database_service._backup_before_migrating(db, database, 3))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=take) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        made.extend(database_service._backup_before_migrating(db, database, 3) for _ in range(2))
    assert errors == []
    assert len(set(made)) == count + 2
    backups = database.parent / "backups"
    assert sorted(p.name for p in backups.iterdir()) == sorted(p.name for p in made)
    for backup in made:
        with sqlite3.connect(backup) as conn:
            assert conn.execute("SELECT count(*) FROM system_logs").fetchone()[0] == 1


def test_backup_refuses_an_existing_file_and_leaves_it_alone(tmp_path: Path) -> None:
    from tac_bootstrap.runtime.adw_database import BackupExists, OrchestratorDB

    from .db_helpers import MIGRATIONS

    taken = tmp_path / "taken.db"
    taken.write_bytes(b"mine")
    with (
        OrchestratorDB.open(tmp_path / "orch.db", migrations_dir=MIGRATIONS) as db,
        pytest.raises(BackupExists),
    ):
        db.backup(taken)
    assert taken.read_bytes() == b"mine"
    assert temp_files(tmp_path) == []


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_orphaned_temp_files_of_dead_writers_are_removed_and_others_kept(tmp_path: Path) -> None:
    from tac_bootstrap.runtime.adw_db_private import remove_orphans

    dead, alive = dead_pid(), os.getpid()
    orphan = tmp_path / f".orch.db.tac-tmp-{dead}-0123abcd"
    journal = tmp_path / f".orch.db.tac-tmp-{dead}-0123abcd-journal"
    live = tmp_path / f".orch.db.tac-tmp-{alive}-89abcdef"
    user = tmp_path / f"orch.db.tac-tmp-{dead}-0123abcd"  # not hidden: not one of ours
    for path in (orphan, journal, live, user):
        path.write_bytes(b"x")
    assert sorted(remove_orphans(tmp_path)) == sorted([orphan, journal])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, user.name])


BIG_ROWS = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1])
    conn.execute("CREATE TABLE IF NOT EXISTS filler (b BLOB)")
    with conn:
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO filler SELECT randomblob(8192) FROM n",
            (int(sys.argv[2]),),
        )
    conn.close()
    """
)


@pytest.fixture(scope="module")
def big_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose database holds ~40 MB, at schema version 2 (so migrate backs it up)."""
    from tac_bootstrap.runtime.adw_database import OrchestratorDB

    from .db_helpers import copy_migrations

    base = tmp_path_factory.mktemp("big")
    result = run_cli("init", "demo", "-o", base, "--yes", "--no-git")
    assert result.returncode == 0, result.stderr
    root = base / "demo"
    database = root / "adws/schema/orchestrator.db"
    early = copy_migrations(
        base / "early", "001_initial.sql", "002_rollup_and_retention_indexes.sql"
    )
    OrchestratorDB.open(database, migrations_dir=early).close()
    filled = subprocess.run(
        [sys.executable, "-c", BIG_ROWS, str(database), "5000"], capture_output=True, timeout=300
    )
    assert filled.returncode == 0, filled.stderr
    assert database.stat().st_size > 30_000_000
    return root


def kill_when_temp_grows(command: list[str], cwd: Path, watch: Path, size: int) -> bool:
    """Start the command, SIGKILL it once a temp file in `watch` reaches `size` bytes; True
    when it was killed mid-way (False: it finished first, which the caller allows)."""
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while process.poll() is None:
            for path in watch.glob(".*") if watch.is_dir() else []:
                try:
                    grown = path.stat().st_size >= size
                except FileNotFoundError:
                    continue
                if grown:
                    process.send_signal(signal.SIGKILL)
                    process.wait()
                    return True
            time.sleep(0.001)
        return False
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def intact(database: Path) -> bool:
    with sqlite3.connect(database) as conn:
        return bool(conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


@pytest.mark.parametrize("moment", [0, 4_000_000, 20_000_000])
@pytest.mark.parametrize("command", ["backup", "migrate"])
def test_sigkill_during_a_backup_leaves_nothing_the_next_run_does_not_remove(
    big_project: Path, tmp_path: Path, command: str, moment: int
) -> None:
    root = tmp_path / "demo"
    shutil.copytree(big_project, root)
    database = root / "adws/schema/orchestrator.db"
    backups = database.parent / "backups"
    if command == "backup":
        args, watch = ["db", "backup", str(backups / "manual.db")], backups
    else:
        args, watch = ["db", "migrate"], backups
    cli = [sys.executable, "-m", "tac_bootstrap", *args]
    killed = kill_when_temp_grows(cli, root, watch, moment)
    if killed:
        assert temp_files(watch), "a SIGKILL mid-way leaves the temp file behind"
    again = run_in(root, *args)
    assert again.returncode == 0, again.stderr
    assert temp_files(watch) == []
    assert intact(database)
    done = sorted(p for p in backups.iterdir())
    assert len(done) == 1 and intact(done[0])
    if command == "migrate":
        status = json.loads(run_in(root, "db", "status", "--json").stdout)
        assert status["schema_version"] == LATEST_VERSION


def test_doctor_removes_what_a_killed_backup_left(big_project: Path, tmp_path: Path) -> None:
    root = tmp_path / "demo"
    shutil.copytree(big_project, root)
    backups = root / "adws/schema/backups"
    backups.mkdir()
    orphan = backups / f".orchestrator-v2.db.tac-tmp-{dead_pid()}-0123abcd"
    orphan.write_bytes(b"\0" * 1000)
    result = run_in(root, "doctor", "--json")
    assert not orphan.exists()
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert orphan.name in checks["temp files"]["message"]


# -- prune counts what it deleted ---------------------------------------------------------------

SYSTEM_LOG = (
    "INSERT INTO system_logs (id, log_level, component, message, details, created_at) "
    "VALUES (?, 'INFO', 'test', 'old', '{}', ?)"
)
AGENT_LOG = (
    "INSERT INTO agent_logs (id, agent_id, log_type, log_level, message, details, created_at) "
    "VALUES (?, ?, 'hook', 'INFO', 'old', '{}', ?)"
)


def ids(db: Any, table: str) -> set[str]:
    from .db_helpers import sql

    return {str(row["id"]) for row in sql(db, f"SELECT id FROM {table}")}


PRUNED = ("agents", "prompts", "agent_logs", "system_logs", "session_usage")


def keep_writing(
    db: Any,
    agent_id: str,
    stop: threading.Event,
    written: dict[str, set[str]],
    failures: list[BaseException],
) -> None:
    """Old rows, each in its own transaction, until told to stop; ids recorded once committed."""
    import uuid

    from .db_helpers import days_ago, write

    try:
        while not stop.is_set():
            row_id = str(uuid.uuid4())
            write(db, SYSTEM_LOG, row_id, days_ago(40))
            written["system_logs"].add(row_id)
            row_id = str(uuid.uuid4())
            write(db, AGENT_LOG, row_id, agent_id, days_ago(40))
            written["agent_logs"].add(row_id)
    except BaseException as exc:
        failures.append(exc)


def test_prune_reports_exactly_what_it_deleted_while_others_write(
    db_target: tuple[str, Path],
) -> None:
    """A writer keeps adding rows old enough to be pruned while prune runs: the count it
    reports is the number of rows that existed and are gone, table by table."""
    from tac_bootstrap.runtime.adw_database import OrchestratorDB

    from .db_helpers import days_ago, set_column

    database, migrations = db_target
    db = OrchestratorDB.open(database, migrations_dir=migrations)
    writer_db = OrchestratorDB.open(database, migrations_dir=migrations)
    try:
        owner = db.register_orchestrator_agent("pruner", "custom").id
        running = db.start_agent(owner, "session-live").id  # never pruned: logs come and go
        for _round in range(6):
            for _ in range(3):  # finished long ago: goes, with its prompts and logs
                done = db.start_agent(owner, "session-old").id
                for _ in range(2):
                    db.start_prompt(done, "p")
                    db.log_agent(done, "hook", "x")
                db.set_agent_status(done, "completed")
                set_column(db, "agents", "completed_at", done, days_ago(40))
            stop = threading.Event()
            written: dict[str, set[str]] = {"system_logs": set(), "agent_logs": set()}
            failures: list[BaseException] = []
            writer = threading.Thread(
                target=keep_writing, args=(writer_db, running, stop, written, failures)
            )
            writer.start()
            try:
                while len(written["system_logs"]) < 20 and writer.is_alive():
                    time.sleep(0.001)
                before = {table: ids(db, table) for table in PRUNED}
                reported = db.prune(30)
            finally:
                stop.set()
                writer.join()
            assert failures == []
            for table in PRUNED:
                known = before[table] | written.get(table, set())
                gone = known - ids(db, table)
                assert reported[table] == len(gone), (table, reported, len(gone))
    finally:
        writer_db.close()
        db.close()
