"""The files section's rows given again without rendering, while nothing they came from changed.

The files check renders every template (jinja2, the whole validated config) to compare each
generated file with what the templates make of it. Its answer depends only on the files it
reads: the config, the manifest, every generated path and the bases of the files we share with
the user, besides the installation. ``states`` records those (sha256 and real path, or absence)
*before* the real check reads them, so an edit made while it runs leaves a memo that no longer
matches; ``replay`` gives the recorded rows while every state is as recorded.

A generated file deleted but not yet recorded in the manifest is told apart from one never
committed by asking git, whose history lives outside those files: such an answer is not kept.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tac_bootstrap.application.doctor.inputs import DoctorInputs
from tac_bootstrap.application.doctor.report import Check, CheckStatus, Fixed, _Context
from tac_bootstrap.domain.config_values import CONFIG_FILENAME
from tac_bootstrap.domain.state_files import MANIFEST_FILENAME, base_sources
from tac_bootstrap.infrastructure import memo_store

KIND = "doctor-files"
FileStates = dict[str, memo_store.FileState]


def check_files(ctx: _Context) -> list[Check]:
    """The files section: replayed while nothing changed, else checked (application/doctor/
    files.py, imported only then) and kept."""
    rows = replay(ctx.root, ctx.inputs)
    if rows is not None:
        return rows
    from tac_bootstrap.application.doctor import files

    before = states(ctx.root, ctx.inputs)
    rows, asked_git = files.check_files(ctx)
    record(ctx.root, None if asked_git else before, rows)
    return rows


def fix_files(ctx: _Context) -> list[Fixed]:
    from tac_bootstrap.application.doctor import files

    return files.fix_files(ctx)


def read_by_check(inputs: DoctorInputs) -> list[str]:
    """Every project file the files check reads (tests/test_doctor_memo.py watches it)."""
    bases = base_sources(inputs.shared)
    return sorted({*inputs.generated, *bases, CONFIG_FILENAME, MANIFEST_FILENAME})


def states(root: Path, inputs: DoctorInputs) -> FileStates | None:
    """The state of every file the check reads, or None when one cannot be kept (a FIFO, a
    directory, an unreadable file: the real check names it, and its answer is not kept)."""
    if memo_store.disabled():
        return None
    real_root = os.path.realpath(root)
    try:
        return {name: memo_store.state(real_root, name) for name in read_by_check(inputs)}
    except (memo_store.Changed, OSError):
        return None


def replay(root: Path, inputs: DoctorInputs) -> list[Check] | None:
    """The recorded rows, if every file they came from is as recorded; else None."""
    real_root = os.path.realpath(root)
    memo = memo_store.load(KIND, real_root)
    if memo is None:
        return None
    try:
        recorded: FileStates = memo["inputs"]
        if sorted(recorded) != read_by_check(inputs):
            return None
        if not memo_store.unchanged(real_root, recorded):
            return None
        return [_check_from(row) for row in memo["rows"]]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def record(root: Path, before: FileStates | None, rows: list[Check]) -> None:
    """Keep ``rows``, found from files in the states ``before`` (None: not to be kept)."""
    if before is None:
        return
    body = {"inputs": before, "rows": [row.to_dict() for row in rows]}
    memo_store.save(KIND, os.path.realpath(root), body)


def _check_from(row: dict[str, Any]) -> Check:
    """A row as Check.to_dict wrote it (any other shape is a TypeError or ValueError)."""
    texts = (row["name"], row["message"], row["hint"], *row["details"])
    if not all(isinstance(text, str) for text in texts) or type(row["fixable"]) is not bool:
        raise TypeError("not a recorded row")
    return Check(
        row["name"],
        CheckStatus(row["status"]),
        row["message"],
        row["hint"],
        fixable=row["fixable"],
        details=tuple(row["details"]),
    )
