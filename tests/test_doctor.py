"""`tac-bootstrap doctor`: real projects, real git, real SQLite and PostgreSQL; --fix changes
only what is safe."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.application.doctor import gitignore_ignores
from tac_bootstrap.application.gitignore import HEADER as GITIGNORE_HEADER

from .conftest import ProjectFactory, run_cli, tree_snapshot
from .db_helpers import LATEST_VERSION

# A migration after the last one the layer ships.
EXTRA_MIGRATION = f"{LATEST_VERSION + 1:03d}_extra_table.sql"

SCHEMA = "adws/schema/schema_orchestrator.sql"
SCHEMA_GITIGNORE = "adws/schema/.gitignore"
DATABASE = "adws/schema/orchestrator.db"
MIGRATIONS = "adws/schema/migrations"
PG_MIGRATIONS = "adws/schema/postgres/migrations"
HEALTHY_ROWS = [
    "config",
    "files",
    "edited",
    "outdated",
    "manifest",
    "schema",
    "database",
    "foreign keys",
    "migrations",
    "gitignore",
    "project checks",
    "git",
    "python",
    "agent CLI",
    "workspace trust",
]


@pytest.fixture
def project(new_project: ProjectFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh project in a git repository, with the stand-in agent CLI and a known Python."""
    root = new_project(tmp_path)
    _git(root, "init", "-q")
    monkeypatch.setenv("CLAUDE_CODE_PATH", str(root / "adws/tests/fake_claude.py"))
    monkeypatch.setenv("TAC_PYTHON", sys.executable)
    monkeypatch.delenv("TAC_ORCHESTRATOR_DB", raising=False)
    # Claude Code's per-user state, where it records the trust dialog: this project trusted.
    state = tmp_path / "claude-config"
    state.mkdir()
    trusted = {"projects": {str(root.resolve()): {"hasTrustDialogAccepted": True}}}
    (state / ".claude.json").write_text(json.dumps(trusted))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(state))
    return root


@pytest.fixture
def with_db(cli: Any, project: Path) -> Path:
    assert cli("db", "init", "--project", project).exit_code == 0
    assert (project / DATABASE).is_file()
    return project


@pytest.fixture
def on_pg(project: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the project at an empty PostgreSQL database through TAC_ORCHESTRATOR_DB."""
    monkeypatch.setenv("TAC_ORCHESTRATOR_DB", pg_url)
    return pg_url


@pytest.fixture
def with_pg_db(cli: Any, project: Path, on_pg: str) -> Path:
    result = cli("db", "init", "--project", project)
    assert result.exit_code == 0, result.stderr
    return project


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=60
    )


def _doctor(cli: Any, project: Path, *flags: str) -> tuple[int, dict[str, Any]]:
    result = cli("doctor", project, "--json", *flags)
    document = json.loads(result.stdout)  # exactly one JSON document on stdout
    assert isinstance(document, dict)
    return int(result.exit_code), document


def _rows(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [check for check in document["checks"] if check["name"] == name]


def _row(document: dict[str, Any], name: str) -> dict[str, Any]:
    rows = _rows(document, name)
    assert len(rows) == 1, rows
    return rows[0]


def _statuses(document: dict[str, Any]) -> dict[str, str]:
    return {check["name"]: check["status"] for check in document["checks"]}


def _files(root: Path) -> dict[str, bytes]:
    """The project's files apart from git's own."""
    return {k: v for k, v in tree_snapshot(root).items() if not k.startswith(".git/")}


# -- healthy projects -----------------------------------------------------------------------


def test_healthy_project_passes_every_check(cli: Any, with_db: Path) -> None:
    code, document = _doctor(cli, with_db)
    assert code == 0
    assert document["ok"] is True
    assert document["command"] == "doctor"
    assert document["fixed"] == []
    assert set(_statuses(document).values()) == {"ok"}, document["checks"]
    assert list(_statuses(document)) == HEALTHY_ROWS
    assert f"schema version {LATEST_VERSION}" in _row(document, "migrations")["message"]
    assert "git check-ignore" in _row(document, "gitignore")["message"]
    assert "fake_claude.py" in _row(document, "agent CLI")["message"]


def test_human_output_is_a_table_with_a_summary(cli: Any, with_db: Path) -> None:
    result = cli("doctor", with_db)
    assert result.exit_code == 0
    assert "✔ ok" in result.stdout
    assert "foreign keys" in result.stdout
    assert "15 checks: 15 ok, 0 warnings, 0 failed; the agentic layer is healthy" in result.stdout


def test_the_table_prints_paths_as_written_not_as_markup(project: Path, tmp_path: Path) -> None:
    """A project path with rich markup or an emoji code in it is shown character for
    character (it once printed "[red]" as colour and ":fire:" as an emoji)."""
    odd = tmp_path / "[red]x[/] :fire:"
    shutil.copytree(project, odd, symlinks=True)
    (odd / "adws" / "adw_modules" / "adw_db_dialect.py").unlink()  # a failed row, with a hint
    result = run_cli("doctor", odd, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert f"tac-bootstrap doctor: {odd}" in result.stdout
    assert "🔥" not in result.stdout
    assert "✖ fail" in result.stdout and "--fix" in result.stdout


def test_database_not_created_yet_is_fine(cli: Any, project: Path) -> None:
    code, document = _doctor(cli, project)
    assert code == 0
    assert "not created yet" in _row(document, "database")["message"]
    assert _row(document, "migrations")["status"] == "ok"
    assert not (project / DATABASE).exists()  # doctor never creates the database


def test_fix_on_a_healthy_project_changes_nothing(cli: Any, with_db: Path) -> None:
    before = _files(with_db)
    code, document = _doctor(cli, with_db, "--fix")
    assert code == 0
    assert document["fixed"] == []
    after = _files(with_db)
    # Opening the database may touch its WAL files; nothing else may change.
    assert {k: v for k, v in after.items() if not k.startswith(DATABASE)} == {
        k: v for k, v in before.items() if not k.startswith(DATABASE)
    }


def test_real_process_json_and_exit_code(with_db: Path) -> None:
    result = run_cli(
        "doctor",
        with_db,
        "--json",
        env={"CLAUDE_CODE_PATH": str(with_db / "adws/tests/fake_claude.py")},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True
    assert "doctor" in result.stderr  # the table goes to stderr with --json


# -- generated files ------------------------------------------------------------------------


def test_missing_file_fails_and_fix_creates_only_it(cli: Any, project: Path) -> None:
    """A file the layer needs (the hook) is restored; see the deleted-file tests for others."""
    script = project / ".claude/hooks/orchestrator_hook.py"
    original = script.read_bytes()
    script.unlink()
    (project / "adws/README.md").write_text("my notes\n")

    code, document = _doctor(cli, project)
    assert code == 1
    files = _row(document, "files")
    assert files["status"] == "fail" and files["fixable"] is True
    assert files["details"] == [".claude/hooks/orchestrator_hook.py"]
    assert "doctor --fix" in files["hint"]

    before = _files(project)
    code, document = _doctor(cli, project, "--fix")
    assert code == 0, document
    assert document["fixed"] == [
        {
            "check": "files",
            "message": "created 1 missing file",
            "paths": [".claude/hooks/orchestrator_hook.py"],
            "backup": None,
        }
    ]
    after = _files(project)
    assert script.read_bytes() == original
    assert script.stat().st_mode & stat.S_IXUSR
    changed = {k for k in after.keys() | before.keys() if after.get(k) != before.get(k)}
    assert changed == {".claude/hooks/orchestrator_hook.py"}
    assert (project / "adws/README.md").read_text() == "my notes\n"
    assert _row(document, "edited")["status"] == "warn"


def test_edited_file_is_reported_never_touched(cli: Any, project: Path) -> None:
    readme = project / "adws/README.md"
    readme.write_text("our own workflow notes\n")
    code, document = _doctor(cli, project)
    assert code == 0
    edited = _row(document, "edited")
    assert edited["status"] == "warn"
    assert edited["details"] == ["adws/README.md"]
    assert edited["fixable"] is False

    code, document = _doctor(cli, project, "--fix")
    assert code == 0
    assert document["fixed"] == []
    assert readme.read_text() == "our own workflow notes\n"


def test_without_manifest_it_warns_and_still_finds_missing_files(cli: Any, project: Path) -> None:
    (project / "tac_bootstrap.manifest.json").unlink()
    (project / "specs/templates/bug.md").write_text("ours\n")
    code, document = _doctor(cli, project)
    assert code == 0
    manifest = _row(document, "manifest")
    assert manifest["status"] == "warn"
    assert "tac-bootstrap render" in manifest["hint"]
    assert _row(document, "edited")["details"] == ["specs/templates/bug.md"]
    assert _rows(document, "outdated") == []


def test_directory_in_place_of_a_file_is_not_fixable(cli: Any, project: Path) -> None:
    (project / "specs/templates/chore.md").unlink()
    (project / "specs/templates/chore.md").mkdir()
    (project / "specs/templates/bug.md").unlink()
    code, document = _doctor(cli, project, "--fix")
    assert code == 1
    files = _row(document, "files")
    assert files["details"] == ["specs/templates/chore.md (a directory is in the way)"]
    assert files["fixable"] is False
    assert [item["paths"] for item in document["fixed"]] == [["specs/templates/bug.md"]]
    assert (project / "specs/templates/chore.md").is_dir()


def test_a_fifo_in_place_of_a_file_is_reported_not_read(cli: Any, project: Path) -> None:
    """Reading a FIFO would block doctor (and render) until something writes to it."""
    fifo = project / "specs/templates/chore.md"
    fifo.unlink()
    os.mkfifo(fifo)
    code, document = _doctor(cli, project, "--fix")
    assert code == 1
    detail = "a special file (FIFO, socket or device) is in the way"
    assert _row(document, "files")["details"] == [f"specs/templates/chore.md ({detail})"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_corrupt_manifest_fails_without_stopping_the_other_checks(cli: Any, project: Path) -> None:
    (project / "tac_bootstrap.manifest.json").write_text("{not json")
    code, document = _doctor(cli, project)
    assert code == 1
    row = _row(document, "manifest")
    assert row["status"] == "fail"
    assert "not a valid manifest" in row["message"]
    assert _row(document, "agent CLI")["status"] == "ok"


def test_config_change_without_render_is_outdated(cli: Any, project: Path) -> None:
    config = project / "tac_bootstrap.yml"
    config.write_text(config.read_text().replace('test: "python -m pytest"', 'test: "pytest -x"'))
    code, document = _doctor(cli, project)
    assert code == 0
    outdated = _row(document, "outdated")
    assert outdated["status"] == "warn"
    assert ".claude/commands/test.md" in outdated["details"]
    assert "upgrade" in outdated["hint"]
    assert _row(document, "edited")["status"] == "ok"


# -- schema ---------------------------------------------------------------------------------


def test_invalid_schema_fails_with_its_line(cli: Any, project: Path) -> None:
    schema = project / SCHEMA
    broken = schema.read_text() + "\n-- added by hand\nCREATE TABLE broken (id INTEGER,);\n"
    schema.write_text(broken)
    code, document = _doctor(cli, project)
    assert code == 1
    row = _row(document, "schema")
    assert row["status"] == "fail"
    assert row["fixable"] is False
    line = broken.splitlines().index("CREATE TABLE broken (id INTEGER,);") + 1
    assert row["message"].startswith(f"{SCHEMA}:{line}: ")
    assert "syntax error" in row["message"]
    assert _row(document, "edited")["details"] == [SCHEMA]

    code, document = _doctor(cli, project, "--fix")
    assert code == 1
    assert schema.read_text() == broken


# -- database -------------------------------------------------------------------------------


def test_pending_migration_fails_and_fix_migrates_after_a_backup(cli: Any, with_db: Path) -> None:
    (with_db / MIGRATIONS / EXTRA_MIGRATION).write_text(
        "CREATE TABLE extra (id INTEGER PRIMARY KEY);\n"
    )
    code, document = _doctor(cli, with_db)
    assert code == 1
    row = _row(document, "migrations")
    assert row["status"] == "fail" and row["fixable"] is True
    assert row["details"] == [EXTRA_MIGRATION]
    assert f"schema version {LATEST_VERSION}" in row["message"]

    code, document = _doctor(cli, with_db, "--fix")
    assert code == 0, document
    [fixed] = document["fixed"]
    assert fixed["check"] == "migrations"
    assert fixed["paths"] == [EXTRA_MIGRATION]
    backup = Path(fixed["backup"])
    assert backup.is_file()
    assert backup.parent == with_db / "adws/schema/backups"
    with sqlite3.connect(backup) as conn:
        assert (
            conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
            == LATEST_VERSION
        )
    conn.close()
    assert f"schema version {LATEST_VERSION + 1}" in _row(document, "migrations")["message"]


def test_changed_applied_migration_is_not_fixable(cli: Any, with_db: Path) -> None:
    migration = with_db / MIGRATIONS / "002_rollup_and_retention_indexes.sql"
    migration.write_text(migration.read_text() + "\n-- changed\n")
    code, document = _doctor(cli, with_db, "--fix")
    assert code == 1
    row = _row(document, "migrations")
    assert row["status"] == "fail" and row["fixable"] is False
    assert "was changed after it was applied" in row["message"]
    assert migration.read_text().endswith("-- changed\n")


def test_missing_migration_file_is_restored_by_fix(cli: Any, with_db: Path) -> None:
    (with_db / MIGRATIONS / "001_initial.sql").unlink()
    code, document = _doctor(cli, with_db)
    assert code == 1
    assert _row(document, "migrations")["fixable"] is True
    code, document = _doctor(cli, with_db, "--fix")
    assert code == 0, document
    assert (with_db / MIGRATIONS / "001_initial.sql").is_file()


def test_a_file_that_is_not_a_database_fails_clearly(cli: Any, project: Path) -> None:
    database = project / DATABASE
    database.write_text("these are my notes, not a database\n")
    code, document = _doctor(cli, project, "--fix")
    assert code == 1
    row = _row(document, "database")
    assert row["status"] == "fail"
    assert "is not a SQLite database" in row["message"]
    assert "move it away" in row["hint"]
    assert database.read_text() == "these are my notes, not a database\n"


def test_foreign_key_violations_fail(cli: Any, with_db: Path) -> None:
    conn = sqlite3.connect(with_db / DATABASE)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("INSERT INTO prompts (id, agent_id, prompt_text) VALUES ('p1', 'ghost', 'x')")
        conn.commit()
    finally:
        conn.close()
    code, document = _doctor(cli, with_db)
    assert code == 1
    row = _row(document, "foreign keys")
    assert row["status"] == "fail"
    assert "prompts -> agents (1)" in row["message"]


# -- PostgreSQL -----------------------------------------------------------------------------


@pytest.mark.postgres
def test_healthy_postgresql_database_passes_every_check(
    cli: Any, with_pg_db: Path, on_pg: str
) -> None:
    code, document = _doctor(cli, with_pg_db)
    assert code == 0, document["checks"]
    assert set(_statuses(document).values()) == {"ok"}, document["checks"]
    assert list(_statuses(document)) == HEALTHY_ROWS
    database = _row(document, "database")["message"]
    assert database.startswith(f"PostgreSQL {on_pg} (from TAC_ORCHESTRATOR_DB) connects (server ")
    assert "integrity is enforced by the server" in database
    assert "enforced by the server" in _row(document, "foreign keys")["message"]
    assert (
        _row(document, "migrations")["message"]
        == f"schema version {LATEST_VERSION}, no pending migrations"
    )
    assert "nothing to ignore" in _row(document, "gitignore")["message"]
    assert not (with_pg_db / DATABASE).exists()

    before = _files(with_pg_db)
    code, document = _doctor(cli, with_pg_db, "--fix")
    assert code == 0 and document["fixed"] == []
    assert _files(with_pg_db) == before  # nothing to back up, ignore or create


@pytest.mark.postgres
def test_empty_postgresql_database_is_fine_and_left_empty(
    cli: Any, project: Path, on_pg: str
) -> None:
    import psycopg

    code, document = _doctor(cli, project, "--fix")
    assert code == 0, document["checks"]
    assert document["fixed"] == []
    migrations = _row(document, "migrations")
    assert migrations["status"] == "ok"
    assert (
        f"{LATEST_VERSION} migrations ready; applied when the tables are created"
        in (migrations["message"])
    )
    with psycopg.connect(on_pg) as conn:  # doctor never creates the tables
        assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,)


@pytest.mark.postgres
def test_pending_postgresql_migration_is_fixed_without_a_file_backup(
    cli: Any, with_pg_db: Path
) -> None:
    (with_pg_db / PG_MIGRATIONS / EXTRA_MIGRATION).write_text(
        "CREATE TABLE extra (id BIGINT PRIMARY KEY);\n"
    )
    code, document = _doctor(cli, with_pg_db)
    assert code == 1
    row = _row(document, "migrations")
    assert row["status"] == "fail" and row["fixable"] is True
    assert row["details"] == [EXTRA_MIGRATION]
    assert f"schema version {LATEST_VERSION}" in row["message"]
    assert "pg_dump" in row["hint"]

    code, document = _doctor(cli, with_pg_db, "--fix")
    assert code == 0, document
    [fixed] = document["fixed"]
    assert fixed["check"] == "migrations" and fixed["paths"] == [EXTRA_MIGRATION]
    assert fixed["backup"] is None
    assert (
        "no automatic backup on PostgreSQL; each migration is one transaction" in (fixed["message"])
    )
    assert not (with_pg_db / "adws/schema/backups").exists()
    assert f"schema version {LATEST_VERSION + 1}" in _row(document, "migrations")["message"]


@pytest.mark.postgres
def test_changed_postgresql_migration_fails(cli: Any, with_pg_db: Path) -> None:
    migration = with_pg_db / PG_MIGRATIONS / "001_initial.sql"
    migration.write_text(migration.read_text() + "\n-- changed\n")
    code, document = _doctor(cli, with_pg_db, "--fix")
    assert code == 1
    row = _row(document, "migrations")
    assert row["status"] == "fail" and row["fixable"] is False
    assert "was changed after it was applied" in row["message"]
    assert document["fixed"] == []


@pytest.mark.postgres
def test_password_in_the_config_file_is_a_warning(
    cli: Any, project: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test server trusts local connections: the password is accepted and ignored.
    url = pg_url.replace("postgresql:///", "postgresql://postgres:hunter2@/", 1)
    config = project / "tac_bootstrap.yml"
    config.write_text(config.read_text().replace('database: ""', f'database: "{url}"'))
    assert cli("db", "init", "--project", project).exit_code == 0
    code, document = _doctor(cli, project)
    assert code == 0, document["checks"]  # a warning, not a failure
    row = _row(document, "database password")
    assert row["status"] == "warn"
    assert "tac_bootstrap.yml (a committed file) holds the database password" in row["message"]
    assert "postgresql://postgres:***@/t_" in row["message"]
    assert "PGPASSWORD" in row["hint"] and "~/.pgpass" in row["hint"]
    assert "TAC_ORCHESTRATOR_DB" in row["hint"]
    assert "(from orchestrator.database) connects" in _row(document, "database")["message"]
    assert "hunter2" not in json.dumps(document)
    human = cli("doctor", project)
    assert "hunter2" not in human.stdout + human.stderr
    assert "database password" in human.stdout and "! warn" in human.stdout

    # Also warned when the environment variable takes over: the file still holds it.
    monkeypatch.setenv("TAC_ORCHESTRATOR_DB", pg_url)
    code, document = _doctor(cli, project)
    assert _row(document, "database password")["status"] == "warn"
    # Without a password nothing is said.
    config.write_text(config.read_text().replace(url, pg_url))
    code, document = _doctor(cli, project)
    assert _rows(document, "database password") == []


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("written", "shown", "secrets"),
    [
        # A URL parser ends the user part at # (or ?), so it saw no password or half of one.
        ("postgres:Hx4#Tq9?Wb2[@/", "postgres:***@/", ["Hx4", "Tq9", "Wb2", "#Tq9"]),
        ("postgres:Mj6#Rv3@/", "postgres:***@/", ["Mj6", "Rv3"]),
        # A password= parameter in any case (libpq reads only the lower-case one).
        ("/", "/", ["Sd8Kp5Zq"]),
    ],
)
def test_a_password_a_url_parser_would_miss_is_still_warned_about(
    cli: Any, project: Path, pg_url: str, written: str, shown: str, secrets: list[str]
) -> None:
    url = pg_url.replace("postgresql:///", f"postgresql://{written}", 1)
    expected = pg_url.replace("postgresql:///", f"postgresql://{shown}", 1)
    if written == "/":
        url += "&password=Sd8Kp5Zq"
        expected += "&password=***"
    config = project / "tac_bootstrap.yml"
    config.write_text(config.read_text().replace('database: ""', f'database: "{url}"'))
    code, document = _doctor(cli, project)
    row = _row(document, "database password")
    assert row["status"] == "warn"
    assert row["message"].endswith(f"orchestrator.database is {expected}"), row["message"]
    assert "(from orchestrator.database) connects" in _row(document, "database")["message"]
    assert code == 0, document["checks"]
    human = cli("doctor", project)
    assert "database password" in human.stdout
    for secret in secrets:
        assert secret not in json.dumps(document), secret
        assert secret not in human.stdout + human.stderr, secret


@pytest.mark.parametrize("key", ["PASSWORD", "Password"])
def test_an_upper_case_password_parameter_is_warned_about(
    cli: Any, project: Path, key: str
) -> None:
    """libpq refuses the parameter (the database row fails), but the file still holds it."""
    url = f"postgresql://alice@db.invalid:6543/orch?sslmode=disable&{key}=Yc3Vn8Gt"
    config = project / "tac_bootstrap.yml"
    config.write_text(config.read_text().replace('database: ""', f'database: "{url}"'))
    code, document = _doctor(cli, project)
    assert code == 1
    row = _row(document, "database password")
    assert row["status"] == "warn"
    assert row["message"].endswith(f"?sslmode=disable&{key}=***"), row["message"]
    assert _row(document, "database")["status"] == "fail"
    assert "Yc3Vn8Gt" not in json.dumps(document)
    human = cli("doctor", project)
    assert "Yc3Vn8Gt" not in human.stdout + human.stderr


def test_unreachable_postgresql_server_fails_naming_host_and_database(
    cli: Any, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAC_ORCHESTRATOR_DB", "postgresql://alice:s3cr3t@db.invalid:6543/orch")
    code, document = _doctor(cli, project, "--fix")
    assert code == 1
    row = _row(document, "database")
    assert row["status"] == "fail" and row["fixable"] is False
    assert row["message"].startswith(
        'cannot connect to PostgreSQL database "orch" on db.invalid:6543 as alice '
        "(from TAC_ORCHESTRATOR_DB): "
    )
    assert "check the host and port" in row["hint"]
    assert "nothing to ignore" in _row(document, "gitignore")["message"]
    assert document["fixed"] == []
    assert "s3cr3t" not in json.dumps(document)
    human = cli("doctor", project)
    assert human.exit_code == 1
    assert "s3cr3t" not in human.stdout + human.stderr
    assert "Traceback" not in human.stdout + human.stderr


# -- .gitignore -----------------------------------------------------------------------------


def test_deleted_schema_gitignore_is_restored_by_fix(cli: Any, with_db: Path) -> None:
    (with_db / SCHEMA_GITIGNORE).unlink()
    code, document = _doctor(cli, with_db)
    assert code == 1
    row = _row(document, "gitignore")
    assert row["status"] == "fail" and row["fixable"] is True
    assert f"{DATABASE}" in row["details"]
    assert f"{DATABASE}-wal" in row["details"]
    assert _row(document, "files")["details"] == [SCHEMA_GITIGNORE]

    code, document = _doctor(cli, with_db, "--fix")
    assert code == 0, document
    # Restoring the generated file is enough: the .gitignore fix then finds nothing to do.
    assert [item["check"] for item in document["fixed"]] == ["files"]
    assert (with_db / SCHEMA_GITIGNORE).is_file()
    assert not (with_db / ".gitignore").exists()
    assert _git(with_db, "check-ignore", DATABASE).stdout.strip() == DATABASE


def test_edited_schema_gitignore_gets_root_gitignore_lines(cli: Any, with_db: Path) -> None:
    (with_db / SCHEMA_GITIGNORE).write_text("# emptied by someone\n")
    (with_db / ".gitignore").write_text("node_modules/")  # no final newline
    code, document = _doctor(cli, with_db)
    assert code == 1
    assert _row(document, "gitignore")["status"] == "fail"

    code, document = _doctor(cli, with_db, "--fix")
    assert code == 0, document
    assert [item["check"] for item in document["fixed"]] == ["gitignore"]
    assert (with_db / ".gitignore").read_text() == (
        "node_modules/\n"
        f"\n{GITIGNORE_HEADER}\n"
        f"/{DATABASE}\n/{DATABASE}-wal\n/{DATABASE}-shm\n/adws/schema/backups/\n"
    )
    assert (with_db / SCHEMA_GITIGNORE).read_text() == "# emptied by someone\n"  # never touched
    assert _row(document, "gitignore")["status"] == "ok"
    assert _row(document, "edited")["details"] == [SCHEMA_GITIGNORE]

    code, document = _doctor(cli, with_db, "--fix")  # idempotent: nothing appended twice
    assert code == 0 and document["fixed"] == []


def test_symlinked_root_gitignore_is_never_replaced(
    cli: Any, with_db: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "shared-gitignore"
    shared.write_text("node_modules/\n")
    (with_db / ".gitignore").symlink_to(shared)
    (with_db / SCHEMA_GITIGNORE).write_text("# emptied\n")
    code, document = _doctor(cli, with_db, "--fix")
    assert code == 1
    assert document["fixed"] == []
    row = _row(document, "gitignore")
    assert "--fix failed" in row["message"]
    assert "add these lines to it yourself" in row["message"]
    assert (with_db / ".gitignore").is_symlink()
    assert shared.read_text() == "node_modules/\n"


def test_committed_database_is_not_fixable(cli: Any, with_db: Path) -> None:
    _git(with_db, "add", "-f", DATABASE)
    code, document = _doctor(cli, with_db, "--fix")
    assert code == 1
    row = _rows(document, "gitignore")[0]
    assert row["status"] == "fail" and row["fixable"] is False
    assert "git rm --cached" in row["hint"]
    assert not (with_db / ".gitignore").exists()


def test_gitignore_without_git_uses_the_patterns(cli: Any, project: Path) -> None:
    shutil.rmtree(project / ".git")
    code, document = _doctor(cli, project)
    assert code == 0
    assert "patterns" in _row(document, "gitignore")["message"]

    (project / SCHEMA_GITIGNORE).write_text("*.sqlite\n")
    code, document = _doctor(cli, project)
    assert code == 1
    code, document = _doctor(cli, project, "--fix")
    assert code == 0, document
    assert f"/{DATABASE}\n" in (project / ".gitignore").read_text()


def test_gitignore_matcher_follows_git_rules(tmp_path: Path) -> None:
    (tmp_path / "a/s").mkdir(parents=True)
    (tmp_path / ".gitignore").write_text("# comment\n*.log\n/top.db\nbuild/\n")
    (tmp_path / "a/s/.gitignore").write_text("*.db\n!keep.db\nbackups/\n")
    assert gitignore_ignores(tmp_path, "x.log")
    assert gitignore_ignores(tmp_path, "a/s/deep.log")
    assert gitignore_ignores(tmp_path, "top.db")
    assert not gitignore_ignores(tmp_path, "a/top.db.txt")
    assert gitignore_ignores(tmp_path, "a/s/orchestrator.db")
    assert not gitignore_ignores(tmp_path, "a/s/keep.db")
    assert gitignore_ignores(tmp_path, "a/s/backups/")
    assert not gitignore_ignores(tmp_path, "a/s/backups")  # a file named like the directory
    assert gitignore_ignores(tmp_path, "build/out.txt")
    assert not gitignore_ignores(tmp_path, "a/orchestrator.db")  # a/s's rules stay in a/s


# -- tools ----------------------------------------------------------------------------------


def test_missing_agent_cli_fails_with_the_hint(
    cli: Any, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_CODE_PATH", "/nonexistent/claude")
    code, document = _doctor(cli, project, "--fix")
    assert code == 1
    row = _row(document, "agent CLI")
    assert row["status"] == "fail" and row["fixable"] is False
    assert "/nonexistent/claude" in row["message"]
    assert "install Claude Code" in row["hint"]
    assert "CLAUDE_CODE_PATH" in row["hint"]
    assert document["fixed"] == []


def test_python_without_pydantic_fails(
    cli: Any, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "python-without-pydantic"
    fake.write_text('#!/bin/sh\necho \'{"python": [3, 12, 1], "pydantic": null}\'\n')
    fake.chmod(0o755)
    monkeypatch.setenv("TAC_PYTHON", str(fake))
    code, document = _doctor(cli, project)
    assert code == 1
    row = _row(document, "python")
    assert row["status"] == "fail"
    assert "no pydantic" in row["message"]
    assert "pip install 'pydantic>=2'" in row["hint"]


# -- config ---------------------------------------------------------------------------------


def test_invalid_config_is_a_usage_error_in_one_line(cli: Any, project: Path) -> None:
    config = project / "tac_bootstrap.yml"
    config.write_text(config.read_text().replace("commands:", "commands:\n  lnit: make", 1))
    result = cli("doctor", project)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {config}:")
    assert "lnit" in lines[0]
    assert result.stdout == ""

    result = cli("doctor", project, "--json")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["exit_code"] == 2


def test_missing_config_is_a_usage_error(cli: Any, tmp_path: Path) -> None:
    result = cli("doctor", tmp_path)
    assert result.exit_code == 2
    assert "no config file found" in result.stderr


def test_an_untrusted_workspace_is_explained(
    cli: Any, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh clone: Claude Code ignores permissions.allow there; doctor says so, and that
    the workflows work anyway."""
    empty = tmp_path / "fresh-user"
    empty.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(empty))
    code, document = _doctor(cli, project)
    assert code == 0  # a warning: the workflows work without trust
    row = _row(document, "workspace trust")
    assert row["status"] == "warn"
    assert "ignore .claude/settings.json's permissions.allow" in row["message"]
    assert "--allowedTools" in row["message"]
    assert "accept the trust dialog" in row["hint"]
    # A trusted parent directory trusts the project too.
    parent = {"projects": {str(project.resolve().parent): {"hasTrustDialogAccepted": True}}}
    (empty / ".claude.json").write_text(json.dumps(parent))
    _code, document = _doctor(cli, project)
    row = _row(document, "workspace trust")
    assert row["status"] == "ok" and "its parent" in row["message"]
