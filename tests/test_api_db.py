"""`tac_bootstrap.api.db` for real, against `tac-bootstrap db ... --json` on the same database:
report.to_dict() is the document the CLI prints, warnings are its warning lines, and errors
are TacError, never SystemExit. Databases are made by the generated project's own runtime;
tests taking `env` run on SQLite and on a PostgreSQL database (marked `postgres`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.api import db
from tac_bootstrap.domain.errors import ConfigError, OperationError, TacError, UsageError

from .conftest import ProjectFactory
from .db_helpers import LATEST_VERSION
from .test_db_cli import MIGRATION_NAMES, NEXT_MIGRATION, migrations_dir, populate
from .test_transcripts import line, user_line, write


@pytest.fixture
def project(new_project: ProjectFactory, tmp_path: Path) -> Path:
    return new_project(tmp_path)


@pytest.fixture
def env(backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The project's SQLite file, or TAC_ORCHESTRATOR_DB set to an empty PostgreSQL database
    (for the in-process CLI and API, and for `populate`'s subprocess)."""
    if backend == "sqlite":
        return {}
    url = str(request.getfixturevalue("pg_url"))
    monkeypatch.setenv("TAC_ORCHESTRATOR_DB", url)
    return {"TAC_ORCHESTRATOR_DB": url}


def cli_doc(cli: Any, *args: str | Path, code: int = 0) -> dict[str, Any]:
    result = cli("db", *args, "--json")
    assert result.exit_code == code, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def cli_warnings(cli: Any, *args: str | Path) -> list[str]:
    stderr = cli("db", *args, "--json").stderr
    return [line.removeprefix("warning: ") for line in stderr.splitlines() if "warning:" in line]


def test_status_init_and_migrate_match_the_cli(cli: Any, project: Path, env: Any) -> None:
    before = db.status(project)
    assert before.to_dict() == cli_doc(cli, "status", "--project", project)
    assert before.status.pending == MIGRATION_NAMES and before.status.schema_version == 0
    created = db.init(project)
    assert created.created and created.applied == MIGRATION_NAMES
    assert created.schema_version == LATEST_VERSION
    again = db.init(project)
    assert not again.created and again.applied == []
    assert again.to_dict() == cli_doc(cli, "init", "--project", project)
    assert db.migrate(project).to_dict() == cli_doc(cli, "migrate", "--project", project)

    (migrations_dir(project, env) / NEXT_MIGRATION).write_text("CREATE TABLE notes (body TEXT);\n")
    dry = db.migrate(project, dry_run=True)
    assert dry.migrations == [NEXT_MIGRATION] and dry.backup is None
    assert dry.to_dict() == cli_doc(cli, "migrate", "--dry-run", "--project", project)
    done = db.migrate(project)
    assert done.migrations == [NEXT_MIGRATION]
    if env:  # PostgreSQL: no file to copy, and the report says so as the CLI does
        assert done.backup is None and done.note is not None and "pg_dump" in done.note
    else:
        assert done.backup is not None and done.backup.parent == project / "adws/schema/backups"
    after = db.status(project)
    assert after.status.pending == [] and after.status.schema_version == LATEST_VERSION + 1
    assert after.to_dict() == cli_doc(cli, "status", "--project", project)


def test_stats_and_logs_match_the_cli(cli: Any, project: Path, env: Any) -> None:
    populate(project, env=env)
    for by in ("session", "agent", "model", "day"):
        report = db.stats(project, by=by)
        assert report.to_dict() == cli_doc(cli, "stats", "--by", by, "--project", project)
    one = db.stats(project, by="model", session="session-1")
    assert sorted((r.key, r.prompts) for r in one.rows) == [("opus", 2), ("sonnet", 2)]
    assert one.to_dict() == cli_doc(
        cli, "stats", "--by", "model", "--session", "session-1", "--project", project
    )
    assert db.stats(project).totals["cost_usd"] == 3.0

    everything = db.logs(project, limit=100)
    assert len(everything.logs) == 13
    assert everything.to_dict() == cli_doc(cli, "logs", "-n", "100", "--project", project)
    warnings = db.logs(project, level="warning")
    assert {r.log_level.value for r in warnings.logs} == {"WARNING", "ERROR"}
    assert warnings.to_dict() == cli_doc(cli, "logs", "--level", "warning", "--project", project)
    agent = next(r.agent_id for r in everything.logs if r.agent_id)
    assert db.logs(project, agent=agent).to_dict() == cli_doc(
        cli, "logs", "--agent", agent, "--project", project
    )
    assert len(db.logs(project, since="1h").logs) == 13
    assert db.logs(project, since="2999-01-01T00:00:00Z").logs == []


def test_reading_before_anything_was_recorded_warns_like_the_cli(
    cli: Any, project: Path, env: Any
) -> None:
    stats = db.stats(project)
    assert stats.rows == [] and stats.warnings
    assert stats.warnings == cli_warnings(cli, "stats", "--project", project)
    assert stats.to_dict() == cli_doc(cli, "stats", "--project", project)
    logs = db.logs(project)
    assert logs.logs == [] and logs.warnings == cli_warnings(cli, "logs", "--project", project)


def test_prune_deletes_without_asking_and_keeps_dry_run(
    cli: Any, tmp_path: Path, new_project: ProjectFactory
) -> None:
    api_project = new_project(tmp_path / "api")
    cli_project = new_project(tmp_path / "cli")
    for project in (api_project, cli_project):
        populate(project)
    dry = db.prune(api_project, older_than_days=0, dry_run=True)
    assert dry.dry_run and dry.deleted["agents"] == 3
    assert dry.to_dict() == cli_doc(
        cli, "prune", "--older-than", "0", "--dry-run", "--project", cli_project
    )
    assert db.status(api_project).status.counts["agents"] == 3  # a dry run deletes nothing
    done = db.prune(api_project, older_than_days=0)
    assert not done.dry_run and done.deleted == dry.deleted
    assert done.to_dict() == cli_doc(
        cli, "prune", "--older-than", "0", "--yes", "--project", cli_project
    )
    assert db.status(api_project).status.counts["agents"] == 0
    nothing = db.prune(api_project, older_than_days=0)
    assert nothing.dry_run and sum(nothing.deleted.values()) == 0  # as the CLI reports it


def test_backup_and_export_write_what_the_cli_writes(
    cli: Any, project: Path, tmp_path: Path
) -> None:
    populate(project)
    report = db.backup(tmp_path / "api.db", project)
    document = cli_doc(cli, "backup", tmp_path / "cli.db", "--project", project)
    assert report.size_bytes > 0 and report.size_bytes == (tmp_path / "api.db").stat().st_size
    assert report.to_dict() == {**document, "backup": str(tmp_path / "api.db")}
    with pytest.raises(UsageError, match="already exists"):
        db.backup(tmp_path / "api.db", project)

    for fmt, name in (("json", "export.json"), ("csv", "csv")):
        exported = db.export(tmp_path / "api" / name, project, format=fmt)
        (tmp_path / "cli").mkdir(exist_ok=True)
        cli_export = cli_doc(
            cli, "export", tmp_path / "cli" / name, "--format", fmt, "--project", project
        )
        assert exported.to_dict() == {**cli_export, "destination": str(tmp_path / "api" / name)}
        assert exported.counts["prompts"] == 12
        api_files = sorted((tmp_path / "api").rglob("*"))
        for path in api_files:
            if path.is_file():
                twin = tmp_path / "cli" / path.relative_to(tmp_path / "api")
                assert path.read_bytes() == twin.read_bytes(), path


def test_backup_on_postgresql_raises_the_pg_dump_advice(
    project: Path, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAC_ORCHESTRATOR_DB", pg_url)
    db.init(project)
    with pytest.raises(OperationError, match="pg_dump"):
        db.backup(tmp_path / "b.db", project)


def test_import_transcripts_matches_the_cli(
    cli: Any, tmp_path: Path, new_project: ProjectFactory
) -> None:
    folder = tmp_path / "transcripts"
    write(folder / "s1.jsonl", user_line(), line("msg_a"), line("msg_b", request_id="req_2"))
    write(folder / "bad.jsonl", b"\xff not json")
    api_project = new_project(tmp_path / "api")
    cli_project = new_project(tmp_path / "cli")
    dry = db.import_transcripts([folder], api_project, dry_run=True)
    assert (
        dry.report.counts.inserted == 2
        and not (api_project / "adws/schema/orchestrator.db").exists()
    )
    report = db.import_transcripts([folder], api_project)
    document = cli_doc(cli, "import-transcripts", folder, "--project", cli_project)
    assert report.ok == document["ok"] and report.report.counts.inserted == 2
    cli_root, api_root = str(cli_project), str(api_project)
    assert json.dumps(report.to_dict()) == json.dumps(document).replace(cli_root, api_root)
    again = db.import_transcripts([str(folder)], api_project, since_days=1)
    assert again.report.counts.inserted == 0 and again.report.counts.duplicates == 2
    with pytest.raises(UsageError, match="no such file"):
        db.import_transcripts([tmp_path / "missing"], api_project)


def test_copy_matches_the_cli(
    cli: Any, project: Path, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """SQLite -> SQLite, or SQLite -> PostgreSQL (DEST, not the project's database)."""
    source = populate(project)  # the project's SQLite file
    assert source is not None
    postgres = backend == "postgresql"
    dest_api = str(request.getfixturevalue("pg_url")) if postgres else str(tmp_path / "api.db")
    report = db.copy(str(source), dest_api, project, batch_size=5)
    assert report.ok and report.copied == sum(t.source_rows for t in report.tables) > 0
    again = db.copy(str(source), dest_api, project)
    assert again.copied == 0 and again.already_there == report.copied
    dest_cli = str(request.getfixturevalue("pg_database")()) if postgres else tmp_path / "cli.db"
    document = cli_doc(cli, "copy", source, dest_cli, "--project", project)
    expected = report.to_dict()
    for key in ("seconds", "dest"):
        expected.pop(key)
        document.pop(key)
    assert expected == document


def test_copy_refuses_the_same_database_and_a_missing_source(project: Path) -> None:
    source = populate(project)
    assert source is not None
    with pytest.raises(UsageError, match="same database"):
        db.copy(str(source), str(source), project)
    with pytest.raises(UsageError, match="does not exist"):
        db.copy(str(source.with_name("missing.db")), str(source.with_name("x.db")), project)


def test_errors_are_tac_errors_never_system_exit(project: Path, tmp_path: Path) -> None:
    with pytest.raises(OperationError, match="db init"):
        db.prune(project, older_than_days=1)  # no database yet: nothing is created
    assert not (project / "adws/schema/orchestrator.db").exists()
    populate(project)
    with pytest.raises(UsageError, match="--by 'planet'"):
        db.stats(project, by="planet")
    with pytest.raises(UsageError, match="neither a duration nor a timestamp"):
        db.logs(project, since="yesterday-ish")
    with pytest.raises(UsageError):
        db.logs(project, level="LOUD")
    with pytest.raises(UsageError, match="--limit"):
        db.logs(project, limit=0)
    with pytest.raises(UsageError, match="--format 'xml'"):
        db.export(tmp_path / "x", project, format="xml")
    with pytest.raises(UsageError):
        db.prune(project, older_than_days=-1)
    with pytest.raises(ConfigError, match=r"tac_bootstrap\.yml"):
        db.status(tmp_path / "not-a-project")
    with pytest.raises(TacError, match="--batch-size"):
        db.copy(str(project / "adws/schema/orchestrator.db"), "b.db", project, batch_size=0)


def test_the_project_is_found_above_the_current_directory(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(project)
    monkeypatch.chdir(project / "adws" / "schema")
    assert db.status().status.counts["prompts"] == 12
