"""The schema check: load the project's schema SQL into an empty SQLite database.

Separate from the database check because it needs no database: a broken schema is named, with
its line, before one exists. A missing schema file is restored by the files fix.
"""

from __future__ import annotations

import re
import sqlite3

from tac_bootstrap.application.doctor.report import FAIL, OK, Check, _Context
from tac_bootstrap.runtime.adw_db_migrations import MigrationError, split_statements

# Comments before a statement's first keyword (always matches, possibly empty).
_LEADING_COMMENTS = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.S)


def check_schema(ctx: _Context) -> list[Check]:
    relative = f"{ctx.inputs.schema_dir}/schema_orchestrator.sql"
    path = ctx.root / relative
    if not path.exists():
        return [
            Check(
                "schema",
                FAIL,
                f"{relative} is missing",
                "`tac-bootstrap doctor --fix` restores it",
                fixable=True,
            )
        ]
    try:
        script = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Check("schema", FAIL, f"{relative} cannot be read ({exc})")]
    line, error = _sql_error(script)
    if not error:
        return [Check("schema", OK, f"{relative} loads into SQLite")]
    return [
        Check(
            "schema",
            FAIL,
            f"{relative}{f':{line}' if line else ''}: {error}",
            "fix the SQL, or restore the generated file with `tac-bootstrap render --force` "
            "(keeping a backup of yours)",
        )
    ]


def _sql_error(script: str) -> tuple[int | None, str]:
    """(None, '') when the script runs on an empty database, else the failing line and error."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(script)
        return None, ""
    except sqlite3.Error as exc:
        first_error = str(exc)
    finally:
        conn.close()
    # Run it again statement by statement to name the line of the one that fails.
    conn = sqlite3.connect(":memory:", isolation_level=None)
    offset = 0
    try:
        for statement in split_statements(script):
            offset = max(script.find(statement, offset), offset)
            try:
                conn.execute(statement)
            except sqlite3.Error as exc:
                match = _LEADING_COMMENTS.match(statement)
                code_start = offset + (match.end() if match else 0)
                return script.count("\n", 0, code_start) + 1, str(exc)
            offset += len(statement)
    except MigrationError as exc:  # an unterminated statement at the end
        return script.count("\n", 0, offset) + 1, str(exc)
    finally:
        conn.close()
    return None, first_error
