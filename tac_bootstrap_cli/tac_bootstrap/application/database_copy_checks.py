"""The checks `tac-bootstrap db copy` makes before it writes anything, and the one-line
errors naming the side (SOURCE or DEST) a database error came from."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from tac_bootstrap.application.database_copy_report import TableCopy
from tac_bootstrap.application.database_service import translated_errors
from tac_bootstrap.domain.errors import OperationError
from tac_bootstrap.runtime import adw_db_operations as ops
from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_db_transfer import ID_COLUMNS, NOT_TEXT

EXAMPLES = 5


@contextmanager
def errors_from(db: OrchestratorDB, role: str) -> Iterator[None]:
    """Engine errors as one line naming the side (runtime errors keep their own messages);
    a PostgreSQL message is scrubbed of the URL's password."""
    with translated_errors(db.location):
        try:
            yield
        except db.dialect.errors as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if db.location.is_postgres:
                from tac_bootstrap.runtime.adw_db_postgres import scrub

                text = scrub(text, db.location.target)
            raise OperationError(f"{role} {db.location.display}: database error: {text}") from None


def require_migrated_source(source: OrchestratorDB) -> None:
    """SOURCE is read as it is; migrating it is the owner's decision (and makes a backup)."""
    with errors_from(source, "SOURCE"):
        todo = source.pending_migrations()
    if todo:
        names = ", ".join(m.filename for m in todo)
        raise OperationError(
            f"SOURCE {source.location.display} has {len(todo)} pending migration(s): {names}",
            hint="migrate the source first: tac-bootstrap db migrate "
            "(with TAC_ORCHESTRATOR_DB set to SOURCE)",
        )


def require_same_schema(source: OrchestratorDB, dest: OrchestratorDB) -> int:
    """Rows only fit a table of the same shape: the applied migrations must be the same."""
    theirs = {v: m.name for v, m in source.applied_migrations().items()}
    ours = {v: m.name for v, m in dest.applied_migrations().items()}
    if theirs != ours:
        raise OperationError(
            f"schema versions differ: SOURCE is at {_history(theirs)}, DEST at {_history(ours)}",
            hint="bring both to the project's version with `tac-bootstrap db migrate`",
        )
    return max(theirs, default=0)


def _history(names: dict[int, str]) -> str:
    if not names:
        return "version 0"
    last = max(names)
    return f"version {last} ({last:03d}_{names[last]})"


def require_no_name_clash(source: OrchestratorDB, dest: OrchestratorDB) -> None:
    """An orchestrator agent name is unique: DEST using it for another id would make the
    insert fail half-way, so it is refused before anything is written."""
    wanted = {row["name"]: _same_id(row["id"]) for row in source.iter_rows("orchestrator_agents")}
    clashes = [
        f"{row['name']!r} (SOURCE id {wanted[row['name']]}, DEST id {row['id']})"
        for row in dest.iter_rows("orchestrator_agents")
        if row["name"] in wanted and wanted[row["name"]] != _same_id(row["id"])
    ]
    if clashes:
        raise OperationError(
            f"DEST {dest.location.display} already has {len(clashes)} orchestrator agent "
            f"name(s) with another id: {', '.join(clashes[:EXAMPLES])}"
            + (" ..." if len(clashes) > EXAMPLES else ""),
            hint="rename or delete them in DEST, or copy into an empty database; "
            "nothing was copied",
        )


ACTIVE_RUN = ("queued", "running", "paused")
HOLDS_PORT = ("running", "paused")


def require_no_active_run_clash(source: OrchestratorDB, dest: OrchestratorDB) -> None:
    """One active run per issue and per port slot (partial unique indexes): an active SOURCE
    run whose issue or port DEST's other active run holds would stop the copy half-way, so it
    is refused, in one line, before anything is written. Runs DEST already has are skipped
    by the copy and so never clash."""
    dest_runs = {row["adw_id"]: dict(row) for row in dest.iter_rows("runs")}
    issues = {_issue(r): a for a, r in dest_runs.items() if _issue(r) is not None}
    ports = {r["port_base"]: a for a, r in dest_runs.items() if _port(r) is not None}
    clashes = []
    for row in source.iter_rows("runs"):
        if row["adw_id"] in dest_runs:
            continue
        issue, port = _issue(row), _port(row)
        if issue is not None and issue in issues:
            clashes.append(
                f"{issue[0]} issue {issue[1]} (SOURCE run {row['adw_id']}, "
                f"DEST run {issues[issue]})"
            )
        if port is not None and port in ports:
            clashes.append(f"port {port} (SOURCE run {row['adw_id']}, DEST run {ports[port]})")
    if clashes:
        raise OperationError(
            f"DEST {dest.location.display} already has another active run for "
            + ", ".join(clashes[:EXAMPLES])
            + (" ..." if len(clashes) > EXAMPLES else ""),
            hint="finish or cancel one of the two runs, or copy into an empty database; "
            "nothing was copied",
        )


def _issue(run: Mapping[str, Any]) -> tuple[str, str] | None:
    """(issue_source, issue_ref) of an active run with an issue: unique among active runs."""
    if run["status"] not in ACTIVE_RUN or run["issue_ref"] is None:
        return None
    return (str(run["issue_source"]), str(run["issue_ref"]))


def _port(run: Mapping[str, Any]) -> int | None:
    if run["status"] not in HOLDS_PORT or run["port_base"] is None:
        return None
    return int(run["port_base"])


def _same_id(value: str) -> str:
    """Ids compare as UUIDs (PostgreSQL returns them lower-case, SQLite keeps what it got)."""
    return ops.uuid_key(value) or value


def require_storable(
    source: OrchestratorDB, dest: OrchestratorDB, tables: Sequence[TableCopy]
) -> None:
    """Values SOURCE's engine stores and DEST's refuses would stop the copy half-way: ids
    that are not UUIDs (DEST has UUID columns), NUL characters (DEST stores none). Only the
    tables SOURCE's schema version has are looked at."""
    present = {t.table for t in tables}
    with errors_from(source, "SOURCE"):
        if dest.dialect.uuid_ids and not source.dialect.uuid_ids:
            _require_uuid_ids(source, present)
        if source.dialect.stores_nul and not dest.dialect.stores_nul:
            _require_no_nul(source, present)


def _require_uuid_ids(source: OrchestratorDB, present: set[str]) -> None:
    """PostgreSQL stores ids in UUID columns; a SQLite id that is not one (hand-written rows,
    old tools) would stop the copy half-way, so all are checked first."""
    bad: list[str] = []
    count = 0
    for table, columns in ID_COLUMNS.items():
        for column in columns if table in present else ():
            for value in source.non_uuid_ids(table, column):
                count += 1
                if len(bad) < EXAMPLES:
                    bad.append(f"{table}.{column} {value!r}")
    if count:
        raise OperationError(
            f"SOURCE has {count} id(s) that are not UUIDs, which PostgreSQL cannot store: "
            + ", ".join(bad)
            + (" ..." if count > EXAMPLES else ""),
            hint="fix or delete those rows in SOURCE (ids must be UUIDs); nothing was copied",
        )


def _require_no_nul(source: OrchestratorDB, present: set[str]) -> None:
    """SQLite stores NUL characters that PostgreSQL refuses (text, and \\u0000 in jsonb): a
    copy would stop at the first such row, so all are looked for first."""
    found: list[str] = []
    for table, columns in ops.COLUMNS.items():
        for column in columns if table in present else ():
            if column in NOT_TEXT:
                continue
            for row_id in source.ids_with_nul(table, column):
                found.append(f"{table}.{column} of {row_id}")
    if found:
        raise OperationError(
            f"SOURCE has {len(found)} value(s) with NUL (0x00) characters, which PostgreSQL "
            "cannot store: "
            + ", ".join(found[:EXAMPLES])
            + (" ..." if len(found) > EXAMPLES else ""),
            hint="remove or replace those characters in SOURCE; nothing was copied",
        )


def require_no_surplus(tables: Sequence[TableCopy], dest_counts: dict[str, int]) -> None:
    """DEST holding more rows than SOURCE can never end equal: refuse before writing."""
    surplus = [
        f"{t.table} ({dest_counts[t.table]:,} > {t.source_rows:,})"
        for t in tables
        if dest_counts[t.table] > t.source_rows
    ]
    if surplus:
        raise OperationError(
            f"DEST already holds more rows than SOURCE in {', '.join(surplus)}",
            hint="copy into an empty database (or one holding part of this SOURCE); "
            "nothing was copied",
        )
