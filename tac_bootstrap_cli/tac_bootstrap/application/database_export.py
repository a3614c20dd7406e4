"""`tac-bootstrap db export`: every table of the orchestrator database to JSON or CSV.

Rows are streamed (iter_rows), never all in memory, and each file is written through the
runtime's atomic_file: owner-only (the rows are as private as the database), complete or
absent. The tables are those the database's schema version has (workflow runs from 005), and
an export reads the same from either engine: JSON columns as JSON, booleans as JSON true/false
(CSV: 1/0), which SQLite stores as 0/1 and PostgreSQL as BOOLEAN.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tac_bootstrap.domain.errors import UsageError
from tac_bootstrap.runtime import adw_db_operations as ops
from tac_bootstrap.runtime.adw_database import OrchestratorDB, Progress, Row
from tac_bootstrap.runtime.adw_db_private import atomic_file, private_dir
from tac_bootstrap.runtime.adw_db_transfer import BOOLEAN_COLUMNS


def export(
    db: OrchestratorDB, destination: Path, fmt: str, progress: Progress | None = None
) -> dict[str, int]:
    """Write every table to JSON (one file) or CSV (one file per table in a directory)."""
    counts = db.table_counts()
    tables = tuple(counts)  # those of the database's schema version, in ops.TABLES order
    total = sum(counts.values())
    done = 0

    def rows(table: str) -> Iterator[Row]:
        nonlocal done
        for row in db.iter_rows(table):
            done += 1
            if progress and done % 1000 == 0:
                progress(done, total)
            yield row

    if fmt == "json":
        if destination.exists() or destination.is_symlink():
            raise UsageError(f"{destination} already exists", hint="choose a new file name")
        _write_json_export(db, destination, tables, rows)
    elif fmt == "csv":
        if destination.exists() and any(destination.iterdir()):
            raise UsageError(
                f"{destination} exists and is not empty", hint="choose a new directory"
            )
        private_dir(destination)
        for table in tables:
            _write_csv(destination / f"{table}.csv", table, rows)
    else:
        raise UsageError(f"--format {fmt!r} is not supported", hint="use json or csv")
    if progress:
        progress(total, total)
    return counts


def _write_json_export(
    db: OrchestratorDB,
    destination: Path,
    tables: tuple[str, ...],
    rows: Callable[[str], Iterator[Row]],
) -> None:
    try:
        with (
            atomic_file(destination, replace=False) as tmp,
            tmp.open("w", encoding="utf-8", newline="") as handle,
        ):
            handle.write(f'{{"schema_version": {db.schema_version()}, "tables": {{')
            for t_index, table in enumerate(tables):
                handle.write(("," if t_index else "") + f"\n{json.dumps(table)}: [")
                flags = BOOLEAN_COLUMNS.get(table, ())
                for r_index, row in enumerate(rows(table)):
                    record = {key: _json_value(key, row[key], flags) for key in ops.COLUMNS[table]}
                    handle.write(("," if r_index else "") + "\n" + json.dumps(record))
                handle.write("\n]")
            handle.write("\n}}\n")
    except FileExistsError:
        raise UsageError(f"{destination} already exists", hint="choose a new file name") from None


def _json_value(column: str, value: Any, flags: tuple[str, ...]) -> Any:
    if value is None:
        return None
    if column in ops.JSON_COLUMNS:
        return json.loads(value)
    return bool(value) if column in flags else value


def _write_csv(destination: Path, table: str, rows: Callable[[str], Iterator[Row]]) -> None:
    columns = ops.COLUMNS[table]
    flags = BOOLEAN_COLUMNS.get(table, ())
    with (
        atomic_file(destination, replace=True) as tmp,
        tmp.open("w", encoding="utf-8", newline="") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows(table):
            writer.writerow(
                [int(row[c]) if c in flags and row[c] is not None else row[c] for c in columns]
            )
