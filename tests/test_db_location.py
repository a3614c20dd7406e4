"""Where the database lives: environment > config > zero-config default, never the cwd."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.runtime.adw_db_connection import (
    DEFAULT_BUSY_TIMEOUT_MS,
    ENV_VAR,
    UnsupportedDatabase,
    redact,
    resolve_location,
)

from .conftest import run_cli
from .db_helpers import LATEST_VERSION, python_env, run_python

# -- resolve_location ---------------------------------------------------------------------


def test_the_default_is_inside_the_adws_dir_of_the_project(tmp_path: Path) -> None:
    location = resolve_location(tmp_path, environ={})
    assert location.path == tmp_path / "adws" / "schema" / "orchestrator.db"
    assert location.migrations_dir == tmp_path / "adws" / "schema" / "migrations"
    assert location.source == "default"
    custom = resolve_location(tmp_path, adws_dir="tools/agentic", environ={})
    assert custom.path == tmp_path / "tools" / "agentic" / "schema" / "orchestrator.db"
    assert custom.migrations_dir == tmp_path / "tools" / "agentic" / "schema" / "migrations"


def test_environment_beats_config_beats_default(tmp_path: Path) -> None:
    env = {ENV_VAR: str(tmp_path / "from-env.db")}
    both = resolve_location(tmp_path, configured="from-config.db", environ=env)
    assert (both.path, both.source) == (tmp_path / "from-env.db", "environment")
    config = resolve_location(tmp_path, configured="from-config.db", environ={})
    assert (config.path, config.source) == (tmp_path / "from-config.db", "config")
    blank = resolve_location(tmp_path, configured="  ", environ={ENV_VAR: "   "})
    assert blank.source == "default"
    # Wherever the file goes, the migrations stay the project's own.
    assert both.migrations_dir == config.migrations_dir == blank.migrations_dir


def test_os_environ_is_used_when_no_mapping_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, "sqlite:///data/env.db")
    location = resolve_location(tmp_path, configured="ignored.db")
    assert (location.path, location.source) == (tmp_path / "data" / "env.db", "environment")


def test_relative_paths_are_relative_to_the_project_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for configured, env in (("var/x.db", {}), ("", {ENV_VAR: "var/x.db"})):
        location = resolve_location(project, configured=configured, environ=env)
        assert location.path == project / "var" / "x.db"
        assert location.path.is_absolute()


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("sqlite:///rel.db", "PROJECT/rel.db"),
        ("sqlite:///data/rel.db", "PROJECT/data/rel.db"),
        ("sqlite:////abs/dir/x.db", "/abs/dir/x.db"),
        ("sqlite://localhost/rel.db", "PROJECT/rel.db"),
        ("sqlite:///with%20space.db", "PROJECT/with space.db"),
        ("/abs/plain.db", "/abs/plain.db"),
        ("plain.db", "PROJECT/plain.db"),
    ],
)
def test_paths_and_sqlite_urls(tmp_path: Path, setting: str, expected: str) -> None:
    for configured, env in ((setting, {}), ("", {ENV_VAR: setting})):
        location = resolve_location(tmp_path, configured=configured, environ=env)
        assert location.path == Path(expected.replace("PROJECT", str(tmp_path)))


def test_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    location = resolve_location(tmp_path / "project", configured="~/dbs/x.db", environ={})
    assert location.path == tmp_path / "home" / "dbs" / "x.db"


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("postgresql+asyncpg://host/db", "unsupported driver 'postgresql+asyncpg'"),
        ("postgres+psycopg2://host/db", "unsupported driver 'postgres+psycopg2'"),
        ("mysql://host/db", "unsupported database URL scheme 'mysql'"),
        ("http://example.com/x.db", "unsupported database URL scheme 'http'"),
        ("sqlite://otherhost/x.db", "sqlite URLs cannot name a host"),
        ("sqlite:///", "names no file"),
    ],
)
def test_unsupported_urls_are_errors_naming_their_origin(
    tmp_path: Path, setting: str, fragment: str
) -> None:
    with pytest.raises(UnsupportedDatabase, match=r"^orchestrator\.database: ") as from_config:
        resolve_location(tmp_path, configured=setting, environ={})
    assert fragment in str(from_config.value)
    with pytest.raises(UnsupportedDatabase, match=rf"^{ENV_VAR}: ") as from_env:
        resolve_location(tmp_path, configured="fine.db", environ={ENV_VAR: setting})
    assert fragment in str(from_env.value)


@pytest.mark.parametrize(
    ("setting", "url"),
    [
        ("postgresql://alice@db.example:5432/orch", "postgresql://alice@db.example:5432/orch"),
        ("postgres://db.example/orch", "postgres://db.example/orch"),
        ("postgresql+psycopg://db.example/orch", "postgresql://db.example/orch"),
        ("POSTGRESQL://db.example/orch", "postgresql://db.example/orch"),
    ],
)
def test_postgresql_urls_select_the_postgres_migrations(
    tmp_path: Path, setting: str, url: str
) -> None:
    location = resolve_location(tmp_path, configured=setting, environ={})
    assert (location.backend, location.url, location.path) == ("postgresql", url, None)
    assert location.migrations_dir == tmp_path / "adws" / "schema" / "postgres" / "migrations"
    assert location.source == "config"
    from_env = resolve_location(tmp_path, configured="x.db", environ={ENV_VAR: setting})
    assert (from_env.url, from_env.source, from_env.origin) == (url, "environment", ENV_VAR)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://alice:s3cret@db:5432/orch", "postgresql://alice:***@db:5432/orch"),
        ("postgresql://alice@db/orch?password=s3cret&sslmode=require",
         "postgresql://alice@db/orch?password=***&sslmode=require"),
        ("postgresql://a%40b:p%3Aw@db/orch", "postgresql://a%40b:***@db/orch"),
        ("postgresql:///orch?host=/tmp/sock&port=5433", "postgresql:///orch?host=/tmp/sock&port=5433"),
    ],
)  # fmt: skip
def test_a_postgresql_url_is_shown_without_its_password(url: str, shown: str) -> None:
    location = resolve_location(Path("/p"), configured=url, environ={})
    assert location.display == shown
    assert "s3cret" not in repr(location)
    assert location.target == url  # what child processes need, password included


# Each password is made of distinctive runs of 3 letters or digits: none of them may show.
PASSWORDS = [
    "Rt7#Qx9?Zk4[Wm2",  # a URL parser ends the user part at # or ?, and refuses a lone [
    "Hq5]Jd8",
    "Pv3?Zt9=Bn6&Cd5=",  # looks like a query
    "Vb3%zzNp6%",  # not valid percent-encoding
    "Lc2 Mf7 Gh1",  # spaces, as written
    "Yw8%41Ts3[#?]% Ku5",
    "Ea4[Fo2]",
]


def secret_pieces(password: str) -> list[str]:
    return [password, *(p for p in re.split(r"[^A-Za-z0-9]+", password) if len(p) >= 3)]


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize(
    "template",
    [
        "postgresql://alice:{pw}@db.example:5432/orch",
        "postgresql://alice:{pw}@db.example/orch?sslmode=require",
        "postgresql://alice:{pw}@/orch?host=/tmp/sock&port=5433",
        "postgresql+psycopg://alice:{pw}@db.example/orch",
    ],
)
def test_redact_masks_a_password_whatever_characters_it_holds(template: str, password: str) -> None:
    url = template.format(pw=password)
    shown = redact(url)  # never raises
    assert shown == template.format(pw="***")
    location = resolve_location(Path("/p"), configured=url, environ={})
    assert location.display == template.format(pw="***").replace("+psycopg", "")
    for piece in secret_pieces(password):
        assert piece not in shown and piece not in location.display, piece
        assert piece not in repr(location), piece


@pytest.mark.parametrize(
    "url",
    [
        "postgresql:///orch?host=/tmp/x&port=5433",
        "postgresql://db.example/orch?sslmode=require&application_name=a%20b",
        "postgresql://alice@db.example:5432/orch",
    ],
)
def test_redact_keeps_a_url_without_a_password_as_written(url: str) -> None:
    assert redact(url) == url


@pytest.mark.parametrize("key", ["password", "PASSWORD", "Password", "passWord"])
def test_redact_masks_a_password_parameter_in_any_case(key: str) -> None:
    url = f"postgresql:///orch?host=/tmp/x&{key}=Qu3ry[pw&port=5433"
    assert redact(url) == f"postgresql:///orch?host=/tmp/x&{key}=***&port=5433"
    first = f"postgresql://al@db/orch?{key}=Qu3ry%20pw"
    assert redact(first) == f"postgresql://al@db/orch?{key}=***"
    both = f"postgresql://al:Us3r#pw@db/orch?sslmode=require&{key}=Qu3ry?pw"
    assert redact(both) == f"postgresql://al:***@db/orch?sslmode=require&{key}=***"
    for text in (redact(url), redact(first), redact(both)):
        assert "Qu3ry" not in text and "Us3r" not in text


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://[",
        "postgresql://a:b:c@[::1/x",
        "postgresql://:@",
        "postgresql://",
        "postgresql://u:@h/d?password=&password",
        "postgresql://h:99999999999/d#frag",
        "postgresql://u:p\x00w@h/d",
    ],
)
def test_redact_never_raises(url: str) -> None:
    shown = redact(url)
    assert isinstance(shown, str)
    assert "p\x00w" not in shown and ":b:c" not in shown


@pytest.mark.parametrize(
    "password",
    [
        "Xk9/LmQ2rT",
        "s3cr@tPass",
        "Gh4/Jk7@Lm2",
        "Wq8@",
    ],
)
def test_an_unencoded_at_or_slash_in_the_password_is_a_config_error(
    tmp_path: Path, password: str
) -> None:
    url = f"postgresql://alice:{password}@db.example:5432/orch"
    for configured, env, origin in (
        (url, {}, "orchestrator.database"),
        ("fine.db", {ENV_VAR: url}, ENV_VAR),
    ):
        with pytest.raises(UnsupportedDatabase) as raised:
            resolve_location(tmp_path, configured=configured, environ=env)
        message = str(raised.value)
        assert message.startswith(f"{origin}: ")
        assert "percent-encode" in message and "%40" in message and "%2F" in message
        for piece in secret_pieces(password):
            assert piece not in message, piece
    # Percent-encoded, the same password is fine (and still masked).
    encoded = url.replace(password, password.replace("@", "%40").replace("/", "%2F"))
    location = resolve_location(tmp_path, configured=encoded, environ={})
    assert location.url == encoded
    assert location.display == "postgresql://alice:***@db.example:5432/orch"


# -- zero-config in a generated project ---------------------------------------------------

OPEN_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from adw_modules.adw_database import OrchestratorDB

db = OrchestratorDB.open()
owner = db.register_orchestrator_agent("planner", "planner")
db.start_agent(owner.id, "s-zero-config")
print(json.dumps({
    "path": str(db.path),
    "version": db.schema_version(),
    "journal": db.conn.execute("PRAGMA journal_mode").fetchone()[0],
    "busy_timeout": db.conn.execute("PRAGMA busy_timeout").fetchone()[0],
    "agents": db.table_counts()["agents"],
}))
db.close()
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generated")
    result = run_cli("init", "demo", "--yes", "-o", root)
    assert result.returncode == 0, result.stderr
    return root / "demo"


@pytest.fixture
def project(generated: Path, tmp_path: Path) -> Path:
    """A private copy of the generated project (tests change its config and create files)."""
    copy = tmp_path / "demo"
    shutil.copytree(generated, copy)
    return copy


def open_from_elsewhere(project: Path, cwd: Path, **env: str) -> dict[str, Any]:
    cwd.mkdir(exist_ok=True)
    result = run_python(OPEN_SCRIPT, str(project / "adws"), cwd=cwd, env=python_env(**env))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert list(cwd.iterdir()) == [], "nothing may be created in the current directory"
    outcome: dict[str, Any] = json.loads(result.stdout)
    return outcome


def set_configured_database(project: Path, value: str, busy_timeout_ms: int = 30000) -> None:
    config = project / "tac_bootstrap.yml"
    text = config.read_text()
    assert '  database: ""\n' in text and "  busy_timeout_ms: 30000\n" in text
    text = text.replace('  database: ""\n', f'  database: "{value}"\n')
    text = text.replace("  busy_timeout_ms: 30000\n", f"  busy_timeout_ms: {busy_timeout_ms}\n")
    config.write_text(text)


def test_zero_config_creates_the_database_in_the_project(project: Path, tmp_path: Path) -> None:
    default = project / "adws" / "schema" / "orchestrator.db"
    assert not default.exists()
    outcome = open_from_elsewhere(project, tmp_path / "cwd")
    assert outcome == {
        "path": str(default),
        "version": LATEST_VERSION,
        "journal": "wal",
        "busy_timeout": DEFAULT_BUSY_TIMEOUT_MS,
        "agents": 1,
    }
    assert default.is_file()
    # A second process (from yet another directory) finds the same database.
    again = open_from_elsewhere(project, tmp_path / "other-cwd")
    assert (again["path"], again["agents"]) == (str(default), 2)


def test_the_environment_variable_moves_the_database(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "shared" / "env.db"
    outcome = open_from_elsewhere(project, tmp_path / "cwd", TAC_ORCHESTRATOR_DB=str(target))
    assert (outcome["path"], outcome["version"]) == (str(target), LATEST_VERSION)
    assert target.is_file()
    assert not (project / "adws" / "schema" / "orchestrator.db").exists()

    relative = open_from_elsewhere(
        project, tmp_path / "cwd", TAC_ORCHESTRATOR_DB="sqlite:///var/env-url.db"
    )
    assert relative["path"] == str(project / "var" / "env-url.db")
    assert (project / "var" / "env-url.db").is_file()


def test_the_config_file_moves_the_database_and_the_environment_still_wins(
    project: Path, tmp_path: Path
) -> None:
    set_configured_database(project, "var/config.db", busy_timeout_ms=4321)
    outcome = open_from_elsewhere(project, tmp_path / "cwd")
    assert outcome["path"] == str(project / "var" / "config.db")
    assert (outcome["version"], outcome["busy_timeout"]) == (LATEST_VERSION, 4321)
    assert (project / "var" / "config.db").is_file()
    assert not (project / "adws" / "schema" / "orchestrator.db").exists()

    target = tmp_path / "env-wins.db"
    winner = open_from_elsewhere(project, tmp_path / "cwd", TAC_ORCHESTRATOR_DB=str(target))
    assert winner["path"] == str(target)
    assert winner["agents"] == 1  # a new database: the config's one was not used
    assert target.is_file()


def test_an_unreachable_postgresql_setting_fails_clearly_and_creates_nothing(
    project: Path, tmp_path: Path
) -> None:
    set_configured_database(project, "postgresql://bob:hunter2@db.invalid/orchestrator")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    result = run_python(OPEN_SCRIPT, str(project / "adws"), cwd=cwd, env=python_env())
    assert result.returncode != 0
    assert "DatabaseUnavailable: cannot connect to PostgreSQL database " in result.stderr
    assert '"orchestrator" on db.invalid:5432 as bob (from orchestrator.database)' in result.stderr
    assert "hunter2" not in result.stderr
    assert list(cwd.iterdir()) == []
    assert not (project / "adws" / "schema" / "orchestrator.db").exists()


@pytest.mark.parametrize(
    ("url", "dbname"),
    [
        ("postgresql://al:pw@db:5432/orch", "postgresql://al@db:5432/orch"),
        ("postgresql://al@db/orch?password=pw&sslmode=require", "postgresql://al@db/orch?sslmode=require"),
        ("postgresql://al@db/orch?sslmode=require&password=pw", "postgresql://al@db/orch?sslmode=require"),
        ("postgresql://al@db/orch?password=pw", "postgresql://al@db/orch"),
    ],
)  # fmt: skip
def test_the_pg_dump_advice_is_a_runnable_command_without_the_password(
    url: str, dbname: str
) -> None:
    from tac_bootstrap.runtime.adw_db_postgres import pg_dump_advice

    advice = pg_dump_advice(url)
    assert f"pg_dump --format=custom --file=orchestrator.dump --dbname='{dbname}'" in advice
    assert f"pg_restore --no-owner --dbname='{dbname}' orchestrator.dump" in advice
    assert "pw" not in advice.replace("PGPASSWORD", "")


@pytest.mark.parametrize(
    "setting", ["postgresql:/orch?host=/tmp/x", "postgres:orch", "POSTGRESQL:orch"]
)
def test_a_postgresql_url_missing_its_slashes_is_refused_not_taken_for_a_file(
    tmp_path: Path, setting: str
) -> None:
    with pytest.raises(UnsupportedDatabase, match="without '//' after the scheme"):
        resolve_location(tmp_path, configured=setting, environ={})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql://u@db/x?password=ab#cd", "#cd"),  # libpq has no #fragment
        ("postgresql://u@db/x?sslpassword=k3yPass&sslmode=require", "k3yPass"),
        ("postgresql://u@db/x?SSLPASSWORD=k3yPass", "k3yPass"),
    ],
)
def test_password_parameters_are_masked_to_their_end(url: str, secret: str) -> None:
    from tac_bootstrap.runtime.adw_db_postgres import pg_dump_advice

    shown = resolve_location(Path("/p"), configured=url, environ={}).display
    assert secret not in shown and "***" in shown
    assert secret not in pg_dump_advice(url) and "***" not in pg_dump_advice(url)


def test_a_password_parameter_libpq_cannot_decode_is_not_echoed() -> None:
    """libpq quotes a broken %-escape back; the value is a password, so it must be masked."""
    from tac_bootstrap.runtime.adw_database import OrchestratorDB

    with pytest.raises(UnsupportedDatabase) as raised:
        OrchestratorDB.open(
            "postgresql://u@db.invalid/x?password=s3cr%zzet", migrations_dir=Path("/nonexistent")
        )
    assert "s3cr" not in str(raised.value) and "zzet" not in str(raised.value)
    assert str(raised.value).startswith("malformed PostgreSQL URL")
