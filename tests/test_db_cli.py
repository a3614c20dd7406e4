"""`tac-bootstrap db ...` on generated projects, with and without TAC_ORCHESTRATOR_DB.

Tests taking `db_env` run twice: on the project's SQLite file and, through TAC_ORCHESTRATOR_DB,
on a fresh database of the test PostgreSQL server (marked `postgres`).
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from .conftest import ProjectFactory, run_cli, tree_snapshot
from .db_helpers import LATEST_VERSION, MIGRATIONS

MIGRATION_NAMES = sorted(path.name for path in MIGRATIONS.glob("*.sql"))
NEXT_MIGRATION = f"{LATEST_VERSION + 1:03d}_add_notes.sql"
NO_RUNS = {"runs": 0, "run_checks": 0, "webhook_deliveries": 0}

POPULATE = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    from adw_modules.adw_database import OrchestratorDB

    with OrchestratorDB.open() as db:
        planner = db.register_orchestrator_agent("planner", "planner")
        for s in range(3):
            agent = db.start_agent(planner.id, f"session-{s}", adw_id=f"adw{s}")
            for i in range(4):
                prompt = db.start_prompt(agent.id, "do it", model=["sonnet", "opus"][i % 2])
                db.complete_prompt(prompt.id, input_tokens=100, output_tokens=10, cost_usd=0.25)
                db.log_agent(agent.id, "tool_call", f"call {i}", level=["INFO", "WARNING"][i % 2])
            db.set_agent_status(agent.id, "completed")
        db.log_system("system hello", level="ERROR", component="cli")
        print(db.path)
    """
)


@pytest.fixture
def project(new_project: ProjectFactory, tmp_path: Path) -> Path:
    return new_project(tmp_path)


@pytest.fixture
def db_env(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment that points a project at the test's backend: nothing for the default
    SQLite file, TAC_ORCHESTRATOR_DB=<url of an empty database> for PostgreSQL."""
    if backend == "sqlite":
        return {}
    return {"TAC_ORCHESTRATOR_DB": str(request.getfixturevalue("pg_url"))}


def is_pg(env: dict[str, str]) -> bool:
    return env.get("TAC_ORCHESTRATOR_DB", "").startswith("postgresql")


def migrations_dir(project: Path, env: dict[str, str]) -> Path:
    schema = project / "adws/schema"
    return schema / "postgres/migrations" if is_pg(env) else schema / "migrations"


def with_password(url: str, password: str) -> str:
    """The test server's URL with a password in its user part (the server trusts every
    local connection, so any password is accepted: only its secrecy is tested)."""
    assert url.startswith("postgresql:///")
    return url.replace("postgresql:///", f"postgresql://postgres:{password}@/", 1)


def populate(
    project: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Path | None:
    """Record a few runs through the project's own generated runtime, from another cwd.
    Returns the SQLite file, or None on PostgreSQL."""
    import os

    result = subprocess.run(
        [sys.executable, "-c", POPULATE, str(project / "adws")],
        capture_output=True,
        text=True,
        cwd=cwd or project.parent,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=True,
    )
    printed = result.stdout.strip()
    return None if printed == "None" else Path(printed)


def db_json(*args: Any, env: dict[str, str] | None = None) -> Any:
    result = run_cli("db", *args, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_status_before_first_use_creates_nothing(project: Path, db_env: dict[str, str]) -> None:
    snapshot = tree_snapshot(project)
    document = db_json("status", "--project", project, env=db_env)
    assert document["pending_migrations"] == MIGRATION_NAMES
    assert document["schema_version"] == 0 and document["counts"] == {}
    if is_pg(db_env):  # the database is the server's: it exists, without our tables
        assert document["exists"] is True
        assert document["source"] == "environment"
        assert document["path"] is None
        assert document["backend"] == "postgresql"
        assert document["location"] == db_env["TAC_ORCHESTRATOR_DB"]
        assert document["server_version"].split(".")[0].isdigit()
        assert document["size_bytes"] == 0
        again = db_json("status", "--project", project, env=db_env)
        assert again["schema_version"] == 0  # status did not migrate
    else:
        assert document["exists"] is False
        assert document["source"] == "default"
        assert document["path"] == str(project / "adws/schema/orchestrator.db")
        assert document["backend"] == "sqlite"
        assert document["location"] == document["path"]
        assert document["server_version"] is None
    assert tree_snapshot(project) == snapshot


def test_init_status_and_stats_on_a_populated_project(
    project: Path, db_env: dict[str, str]
) -> None:
    env = db_env
    document = db_json("init", "--project", project, env=env)
    assert document["created"] is True and document["schema_version"] == LATEST_VERSION
    assert document["applied"] == MIGRATION_NAMES
    again = db_json("init", "--project", project, env=env)
    assert again["created"] is False and again["applied"] == []
    recorded_in = populate(project, env=env)
    if is_pg(env):
        assert recorded_in is None
        assert not (project / "adws/schema/orchestrator.db").exists()
    else:
        assert recorded_in == project / "adws/schema/orchestrator.db"

    status = db_json("status", "--project", project, env=env)
    assert status["schema_version"] == LATEST_VERSION and status["pending_migrations"] == []
    assert status["exists"] is True and status["size_bytes"] > 0
    assert status["backend"] == ("postgresql" if is_pg(env) else "sqlite")
    assert status["counts"] == {
        "orchestrator_agents": 1,
        "agents": 3,
        "prompts": 12,
        "agent_logs": 12,
        "system_logs": 1,
        "prompt_model_usage": 0,
        "session_usage": 0,
        **NO_RUNS,
    }
    by_model = db_json("stats", "--by", "model", "--project", project, env=env)
    assert {r["key"]: (r["prompts"], r["cost_usd"]) for r in by_model["rows"]} == {
        "sonnet": (6, 1.5),
        "opus": (6, 1.5),
    }
    assert by_model["totals"] == {
        "prompts": 12,
        "messages": 0,  # transcript messages of interactive sessions: none here
        "input_tokens": 1200,
        "output_tokens": 120,
        "cache_creation_tokens": 0,
        "cache_read_tokens": 0,
        "cost_usd": 3.0,
        "unpriced_messages": 0,
    }
    one = db_json("stats", "--by", "day", "--session", "session-1", "--project", project, env=env)
    assert [(r["prompts"], r["cost_usd"]) for r in one["rows"]] == [(4, 1.0)]

    human = run_cli("db", "stats", "--by", "session", "--project", project, env=env)
    assert human.returncode == 0
    assert "session-2" in human.stdout and "3.0000" in human.stdout


def test_commands_find_the_project_from_a_subdirectory(
    project: Path, db_env: dict[str, str]
) -> None:
    populate(project, env=db_env)
    nested = project / "adws" / "schema"
    result = run_cli("db", "status", "--json", cwd=nested, env=db_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["counts"]["prompts"] == 12


def test_logs_filters(project: Path, db_env: dict[str, str]) -> None:
    env = db_env
    populate(project, env=env)
    everything = db_json("logs", "--project", project, "-n", "100", env=env)["logs"]
    assert len(everything) == 13
    warnings = db_json("logs", "--level", "warning", "--project", project, env=env)["logs"]
    assert {r["log_level"] for r in warnings} == {"WARNING", "ERROR"}
    assert len(warnings) == 7
    agent_id = everything[1]["agent_id"] or everything[2]["agent_id"]
    mine = db_json("logs", "--agent", agent_id, "--project", project, env=env)["logs"]
    assert len(mine) == 4 and {r["agent_id"] for r in mine} == {agent_id}
    assert len(db_json("logs", "--since", "1h", "--project", project, env=env)["logs"]) == 13
    future = db_json("logs", "--since", "2999-01-01T00:00:00Z", "--project", project, env=env)
    assert future["logs"] == []
    # Not an id at all: no rows (PostgreSQL's uuid column never sees it), not an error.
    assert db_json("logs", "--agent", "planner", "--project", project, env=env)["logs"] == []
    newest = db_json("logs", "-n", "1", "--project", project, env=env)["logs"]
    assert newest[0]["created_at"] == max(r["created_at"] for r in everything)
    assert [r["created_at"] for r in everything] == sorted(
        (r["created_at"] for r in everything), reverse=True
    )


def test_bad_arguments_are_usage_errors(project: Path, db_env: dict[str, str]) -> None:
    populate(project, env=db_env)
    for args in (
        ["stats", "--by", "planet"],
        ["logs", "--since", "yesterday-ish"],
        ["logs", "--level", "LOUD"],
        ["export", str(project / "x"), "--format", "xml"],
    ):
        result = run_cli("db", *args, "--project", project, env=db_env)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_environment_variable_wins_over_default_and_config(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "team.db"
    env = {"TAC_ORCHESTRATOR_DB": f"sqlite:///{elsewhere}"}
    assert populate(project, env=env) == elsewhere
    assert not (project / "adws/schema/orchestrator.db").exists()
    status = db_json("status", "--project", project, env=env)
    assert status["path"] == str(elsewhere) and status["source"] == "environment"
    assert status["counts"]["prompts"] == 12
    # Without the variable, the project's default database is still empty/missing.
    assert db_json("status", "--project", project)["exists"] is False

    config = project / "tac_bootstrap.yml"
    config.write_text(config.read_text().replace('database: ""', 'database: "state/orch.db"'))
    assert db_json("status", "--project", project)["path"] == str(project / "state/orch.db")
    assert db_json("status", "--project", project, env=env)["path"] == str(elsewhere)


def test_an_unreachable_postgresql_server_names_host_and_database_but_not_the_password(
    project: Path,
) -> None:
    env = {"TAC_ORCHESTRATOR_DB": "postgresql://alice:s3cr%40t@db.invalid:6543/orch"}
    result = run_cli("db", "status", "--project", project, env=env)
    assert result.returncode == 1, result.stderr
    assert 'database "orch" on db.invalid:6543 as alice (from TAC_ORCHESTRATOR_DB)' in result.stderr
    assert "s3cr" not in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_database_url_scheme_is_a_config_error(project: Path) -> None:
    env = {"TAC_ORCHESTRATOR_DB": "mysql://user:secret@db.example/orch"}
    result = run_cli("db", "status", "--project", project, env=env)
    assert result.returncode == 2
    assert "unsupported database URL scheme 'mysql'" in result.stderr
    assert "postgresql://" in result.stderr  # the hint names what is supported
    assert "secret" not in result.stderr
    env = {"TAC_ORCHESTRATOR_DB": "postgresql+asyncpg://user:secret@db.example/orch"}
    result = run_cli("db", "status", "--project", project, env=env)
    assert result.returncode == 2
    assert "unsupported driver 'postgresql+asyncpg'" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


def test_without_psycopg_a_postgresql_url_says_what_to_install(project: Path) -> None:
    """A Python where psycopg cannot be imported (None in sys.modules makes import fail)."""
    import os

    script = (
        "import sys; sys.modules['psycopg'] = None; sys.argv[0] = 'tac-bootstrap'\n"
        "from tac_bootstrap.cli.app import main; main()"
    )
    env = {**os.environ, "TAC_ORCHESTRATOR_DB": "postgresql://alice:s3cret@db.example/orch"}
    for args in (["status"], ["init", "--json"], ["backup", "x.db"]):
        result = subprocess.run(
            [sys.executable, "-c", script, "db", *args, "--project", str(project)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert result.returncode == 2, (args, result.stderr)
        assert "PostgreSQL needs psycopg 3: pip install" in result.stderr + result.stdout
        assert "Traceback" not in result.stderr and "s3cret" not in result.stderr
        if "--json" in args:
            assert json.loads(result.stdout)["exit_code"] == 2
        else:
            assert result.stderr.count("\n") == 1


@pytest.mark.postgres
def test_a_missing_postgresql_database_says_how_to_create_it(project: Path, pg_url: str) -> None:
    missing = pg_url.replace("postgresql:///t_", "postgresql:///missing_", 1)
    env = {"TAC_ORCHESTRATOR_DB": with_password(missing, "pa55word")}
    for args in (["status"], ["init"], ["stats"], ["export", str(project / "e.json")]):
        result = run_cli("db", *args, "--project", project, env=env)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert 'cannot connect to PostgreSQL database "missing_' in result.stderr
        assert "createdb" in result.stderr
        assert "pa55word" not in result.stderr + result.stdout


@pytest.mark.postgres
def test_postgresql_location_is_shown_without_its_password(project: Path, pg_url: str) -> None:
    url = with_password(pg_url, "hunter2")
    env = {"TAC_ORCHESTRATOR_DB": url}
    masked = url.replace(":hunter2@", ":***@")
    init = run_cli("db", "init", "--project", project, env=env)
    assert init.returncode == 0, init.stderr
    assert f"database tables created in {masked} (schema version {LATEST_VERSION})" in init.stdout
    populate(project, env=env)
    human = run_cli("db", "status", "--project", project, env={**env, "COLUMNS": "300"})
    assert human.returncode == 0, human.stderr
    for expected in ("PostgreSQL", masked, "server version", "rows: prompts", "12"):
        assert expected in human.stdout, (expected, human.stdout)
    document = db_json("status", "--project", project, env=env)
    assert document["location"] == masked and document["path"] is None
    outputs = [human.stdout + human.stderr, json.dumps(document), init.stdout + init.stderr]
    for args in (["migrate"], ["stats"], ["logs"], ["prune", "--older-than", "0", "--dry-run"]):
        result = run_cli("db", *args, "--project", project, env=env)
        assert result.returncode == 0, (args, result.stderr)
        outputs.append(result.stdout + result.stderr)
    assert all("hunter2" not in text for text in outputs)


@pytest.mark.postgres
def test_backup_on_postgresql_explains_pg_dump(project: Path, pg_url: str, tmp_path: Path) -> None:
    env = {"TAC_ORCHESTRATOR_DB": with_password(pg_url, "hunter2")}
    populate(project, env=env)
    destination = tmp_path / "orch.db"
    result = run_cli("db", "backup", destination, "--project", project, env=env)
    assert result.returncode == 1
    assert result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: backups of a PostgreSQL database are made with pg_dump")
    assert (
        "pg_dump --format=custom --file=orchestrator.dump --dbname='postgresql://postgres@/t_"
        in (result.stderr)
    )
    assert "pg_restore --no-owner" in result.stderr
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr
    assert not destination.exists()
    as_json = run_cli("db", "backup", destination, "--project", project, "--json", env=env)
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    assert document["ok"] is False and "pg_dump" in document["error"]


@pytest.mark.postgres
def test_a_database_error_on_postgresql_is_one_line(project: Path, pg_url: str) -> None:
    import psycopg

    env = {"TAC_ORCHESTRATOR_DB": pg_url}
    populate(project, env=env)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE agent_logs")
    result = run_cli("db", "logs", "--project", project, env=env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: database error (postgresql:///t_")
    assert 'relation "agent_logs" does not exist' in result.stderr


def windows(secret: str, width: int = 3) -> list[str]:
    """Every run of `width` characters of a secret: none may show, not even a piece."""
    return [secret[i : i + width] for i in range(len(secret) - width + 1)] or [secret]


def test_a_password_a_url_parser_would_misread_is_never_shown(project: Path) -> None:
    for url in (
        "postgresql://u:pa[ss@db.invalid/x",  # urllib refuses a lone [ in the host part
        "postgresql://u:Kw4#Zr8?Tn6[@db.invalid/x",  # urllib ends the user part at # or ?
    ):
        password = url.split("://u:", 1)[1].rsplit("@", 1)[0]
        env = {"TAC_ORCHESTRATOR_DB": url}
        for args in (["status"], ["status", "--json"], ["logs"]):
            result = run_cli("db", *args, "--project", project, env=env)
            assert result.returncode == 1, (url, args, result.stderr)
            assert "Traceback" not in result.stderr, result.stderr
            assert result.stderr.count("\n") == 1, result.stderr
            assert 'database "x" on db.invalid:5432 as u' in result.stderr
            for piece in (password, *windows(password)):
                assert piece not in result.stdout + result.stderr, (url, piece)


@pytest.mark.parametrize(
    ("url", "pieces"),
    [
        ("postgresql://alice:Xk9/LmQ2rT@db.invalid/orch", ["Xk9", "LmQ2rT"]),
        ("postgresql://alice:Hv5@Qe7Yp@db.invalid/orch", ["Hv5", "Qe7Yp"]),
    ],
)
def test_an_unencoded_at_or_slash_in_the_password_is_a_config_error(
    project: Path, url: str, pieces: list[str]
) -> None:
    env = {"TAC_ORCHESTRATOR_DB": url}
    for args in (["status"], ["init"], ["backup", str(project / "b.db")]):
        result = run_cli("db", *args, "--project", project, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("error: TAC_ORCHESTRATOR_DB: ")
        assert "percent-encode" in result.stderr and result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr
        for piece in pieces:
            assert piece not in result.stdout + result.stderr, (args, piece)
    document = json.loads(run_cli("db", "status", "--json", "--project", project, env=env).stdout)
    assert document["ok"] is False and document["exit_code"] == 2
    assert all(piece not in json.dumps(document) for piece in pieces)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:Pq7 Wz4@db.invalid/x",  # libpq refuses unencoded spaces
        "postgresql://u:Fm3%zzJb6@db.invalid/x",  # libpq refuses a broken percent-encoding
    ],
)
def test_a_malformed_postgresql_url_is_a_config_error(project: Path, url: str) -> None:
    env = {"TAC_ORCHESTRATOR_DB": url}
    for args in (["status"], ["init"], ["logs"]):
        result = run_cli("db", *args, "--project", project, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith(
            "error: malformed PostgreSQL URL (from TAC_ORCHESTRATOR_DB)"
        )
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        for piece in ("Pq7", "Wz4", "Fm3", "Jb6"):
            assert piece not in result.stdout + result.stderr, (args, piece)
    assert not (project / "adws/schema/orchestrator.db").exists()


@pytest.mark.postgres
@pytest.mark.parametrize("password", ["Rt#1?x[y", "Gd5]Wu%25Ck#Ly?", "Nz2[Bq4]Hs6"])
def test_a_password_with_url_characters_never_reaches_the_output(
    project: Path, pg_url: str, tmp_path: Path, password: str
) -> None:
    """The server trusts local connections: it ignores the password, so the commands succeed
    and every line they print can be searched for it."""
    url = with_password(pg_url, password)
    masked = with_password(pg_url, "***")
    env = {"TAC_ORCHESTRATOR_DB": url}
    outputs: list[str] = []

    init = run_cli("db", "init", "--project", project, env=env)
    assert init.returncode == 0, init.stderr
    assert f"database tables created in {masked} (schema version {LATEST_VERSION})" in init.stdout
    outputs.append(init.stdout + init.stderr)
    populate(project, env=env)
    status = run_cli("db", "status", "--json", "--project", project, env=env)
    assert status.returncode == 0, status.stderr
    document = json.loads(status.stdout)
    assert document["location"] == masked and document["counts"]["prompts"] == 12
    outputs.append(status.stdout + status.stderr)
    human = run_cli("db", "status", "--project", project, env={**env, "COLUMNS": "300"})
    assert human.returncode == 0 and masked in human.stdout, human.stdout
    outputs.append(human.stdout + human.stderr)
    for args in (["init", "--json"], ["migrate"], ["stats"]):
        result = run_cli("db", *args, "--project", project, env=env)
        assert result.returncode == 0, (args, result.stderr)
        outputs.append(result.stdout + result.stderr)
    for args in (["backup", str(tmp_path / "b.db")], ["backup", str(tmp_path / "b.db"), "--json"]):
        backup = run_cli("db", *args, "--project", project, env=env)
        assert backup.returncode == 1, backup.stderr
        assert "pg_dump --format=custom" in backup.stdout + backup.stderr
        assert "--dbname='postgresql://postgres@/t_" in backup.stdout + backup.stderr
        outputs.append(backup.stdout + backup.stderr)
    assert not (tmp_path / "b.db").exists()

    decoded = unquote(password)
    for text in outputs:
        for piece in {password, decoded, *windows(password), *windows(decoded)}:
            assert piece not in text, (piece, text)


def test_migrate_backs_up_an_existing_database(project: Path) -> None:
    db_path = project / "adws/schema/orchestrator.db"
    migrations = project / "adws/schema/migrations"
    populate(project)
    (migrations / NEXT_MIGRATION).write_text(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n"
    )
    dry = db_json("migrate", "--dry-run", "--project", project)
    assert dry["migrations"] == [NEXT_MIGRATION] and dry["backup"] is None
    assert not (project / "adws/schema/backups").exists()

    done = db_json("migrate", "--project", project)
    assert done["migrations"] == [NEXT_MIGRATION]
    backup = Path(done["backup"])
    assert backup.parent == project / "adws/schema/backups"
    with sqlite3.connect(backup) as old:
        version = old.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        assert version == LATEST_VERSION
        assert old.execute("SELECT count(*) FROM prompts").fetchone()[0] == 12
    with sqlite3.connect(db_path) as new:
        version = new.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        assert version == LATEST_VERSION + 1
    again = db_json("migrate", "--project", project)
    assert again["migrations"] == [] and again["backup"] is None
    # git must not pick up the database or its backups.
    ignore = (project / "adws/schema/.gitignore").read_text()
    assert "*.db" in ignore and "backups/" in ignore


@pytest.mark.postgres
def test_migrate_on_postgresql_takes_no_backup_and_says_so(project: Path, pg_url: str) -> None:
    env = {"TAC_ORCHESTRATOR_DB": pg_url}
    populate(project, env=env)
    (migrations_dir(project, env) / NEXT_MIGRATION).write_text(
        "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL);\n"
    )
    dry = db_json("migrate", "--dry-run", "--project", project, env=env)
    assert dry["migrations"] == [NEXT_MIGRATION] and dry["backup"] is None
    assert db_json("status", "--project", project, env=env)["schema_version"] == LATEST_VERSION

    result = run_cli("db", "migrate", "--project", project, env=env)
    assert result.returncode == 0, result.stderr
    assert (
        "no automatic backup on PostgreSQL; each migration is one transaction; "
        "run pg_dump first if you want one"
    ) in result.stdout
    assert f"applied {NEXT_MIGRATION}" in result.stdout
    assert not (project / "adws/schema/backups").exists()
    status = db_json("status", "--project", project, env=env)
    assert status["schema_version"] == LATEST_VERSION + 1 and status["counts"]["prompts"] == 12
    again = db_json("migrate", "--project", project, env=env)
    assert again["migrations"] == [] and again["backup"] is None and again["note"] is None


def test_edited_migration_makes_migrate_fail(project: Path, db_env: dict[str, str]) -> None:
    populate(project, env=db_env)
    initial = migrations_dir(project, db_env) / "001_initial.sql"
    initial.write_text(initial.read_text() + "\n-- edited\n")
    result = run_cli("db", "migrate", "--project", project, env=db_env)
    assert result.returncode == 1
    assert "001_initial.sql was changed after it was applied" in result.stderr
    assert result.stderr.count("\n") == 1


def test_prune_needs_confirmation_and_honours_dry_run(
    project: Path, db_env: dict[str, str]
) -> None:
    env = db_env
    populate(project, env=env)
    result = run_cli("db", "prune", "--older-than", "0", "--project", project, env=env)
    assert result.returncode == 2 and "--yes" in result.stderr
    dry = db_json("prune", "--older-than", "0", "--dry-run", "--project", project, env=env)
    assert dry["deleted"] == {
        "agents": 3,
        "prompts": 12,
        "agent_logs": 12,
        "system_logs": 1,
        "session_usage": 0,
        **NO_RUNS,
    }
    assert db_json("status", "--project", project, env=env)["counts"]["prompts"] == 12
    kept = db_json("prune", "--older-than", "30", "--yes", "--project", project, env=env)
    assert sum(kept["deleted"].values()) == 0
    done = db_json("prune", "--older-than", "0", "--yes", "--project", project, env=env)
    assert done["deleted"] == dry["deleted"]
    counts = db_json("status", "--project", project, env=env)["counts"]
    assert counts == {
        "orchestrator_agents": 1,
        "agents": 0,
        "prompts": 0,
        "agent_logs": 0,
        "system_logs": 0,
        "prompt_model_usage": 0,
        "session_usage": 0,
        **NO_RUNS,
    }


def test_backup(project: Path, tmp_path: Path) -> None:
    populate(project)
    backup = tmp_path / "copies" / "orch.db"
    document = db_json("backup", backup, "--project", project)
    assert document["size_bytes"] > 0
    with sqlite3.connect(backup) as copy:
        assert copy.execute("SELECT count(*) FROM agent_logs").fetchone()[0] == 12
    refused = run_cli("db", "backup", backup, "--project", project)
    assert refused.returncode == 2 and "already exists" in refused.stderr


def test_export(project: Path, tmp_path: Path, db_env: dict[str, str]) -> None:
    populate(project, env=db_env)
    exported = tmp_path / "export.json"
    db_json("export", exported, "--project", project, env=db_env)
    data = json.loads(exported.read_text())
    assert {t: len(rows) for t, rows in data["tables"].items()} == {
        "orchestrator_agents": 1,
        "agents": 3,
        "prompts": 12,
        "agent_logs": 12,
        "system_logs": 1,
        "prompt_model_usage": 0,
        "session_usage": 0,
        **NO_RUNS,
    }
    assert data["schema_version"] == LATEST_VERSION
    assert data["tables"]["agents"][0]["context"] == {}  # JSON columns exported as JSON

    assert data["tables"]["orchestrator_agents"][0]["capabilities"] == []
    assert data["tables"]["prompts"][0]["created_at"].endswith("Z")
    assert "seq" not in data["tables"]["agent_logs"][0]  # PostgreSQL's own column stays out
    messages = [row["message"] for row in data["tables"]["agent_logs"]]
    assert messages[:4] == ["call 0", "call 1", "call 2", "call 3"]  # insertion order

    csv_dir = tmp_path / "csv"
    db_json("export", csv_dir, "--format", "csv", "--project", project, env=db_env)
    with (csv_dir / "prompts.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12 and sum(float(r["cost_usd"]) for r in rows) == 3.0


@pytest.mark.postgres
def test_read_commands_on_an_empty_postgresql_database(project: Path, pg_url: str) -> None:
    import psycopg

    env = {"TAC_ORCHESTRATOR_DB": pg_url}
    for command in ("stats", "logs"):
        result = run_cli("db", command, "--project", project, "--json", env=env)
        assert result.returncode == 0, result.stderr
        assert "no orchestrator tables in postgresql:///t_" in result.stderr
    for args in (["prune", "--older-than", "1", "--dry-run"], ["export", str(project / "e.json")]):
        failed = run_cli("db", *args, "--project", project, env=env)
        assert failed.returncode == 1, failed.stderr
        assert "no orchestrator tables" in failed.stderr and "db init" in failed.stderr
    assert not (project / "e.json").exists()
    with psycopg.connect(pg_url) as conn:  # reading created nothing on the server either
        assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,)


def test_read_commands_on_a_missing_database(project: Path) -> None:
    result = run_cli("db", "stats", "--project", project, "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["rows"] == []
    assert "no database" in result.stderr
    assert not (project / "adws/schema/orchestrator.db").exists()
    for args in (["backup", str(project / "b.db")], ["export", str(project / "e.json")]):
        failed = run_cli("db", *args, "--project", project)
        assert failed.returncode == 1 and "db init" in failed.stderr


def test_not_a_database_is_one_clear_error(project: Path) -> None:
    (project / "adws/schema/orchestrator.db").write_text("this is not sqlite")
    result = run_cli("db", "status", "--project", project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: database error")


def test_project_without_config_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("db", "status", "--project", tmp_path)
    assert result.returncode == 2
    assert "tac_bootstrap.yml" in result.stderr


DB_COMMANDS = [
    "init", "migrate", "status", "stats", "import-transcripts", "logs", "prune", "backup",
    "export", "copy",
]  # fmt: skip


def test_db_help() -> None:
    """Every db subcommand, as `db --help` lists them, has help with --project."""
    listing = run_cli("db", "--help").stdout
    commands = listing[listing.index("Commands:") :].splitlines()[1:]
    names = [line.split()[0] for line in commands if line[:3].strip() and line.strip()]
    assert names == DB_COMMANDS  # a wrapped summary's next line is indented deeper: skipped
    for command in DB_COMMANDS:
        result = run_cli("db", command, "--help")
        assert result.returncode == 0, (command, result.stderr)
        assert "--project" in result.stdout, command


def test_schema_readme_api_example_runs(project: Path, db_env: dict[str, str]) -> None:
    """The example in adws/schema/README.md is real code: run it in the generated project."""
    import os

    readme = (project / "adws/schema/README.md").read_text()
    section = readme[readme.index("### The Python API") :]
    snippet = section[section.index("```python") + len("```python") : section.index("\n```\n")]
    result = subprocess.run(
        [sys.executable, "-c", snippet],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **db_env},
    )
    assert result.returncode == 0, result.stderr
    assert "key='sonnet', prompts=1, input_tokens=1200" in result.stdout
    status = db_json("status", "--project", project, env=db_env)
    assert status["counts"]["agent_logs"] == 2
