"""What the hook imports: the standard library only, and no more of the runtime than its job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hook_support import (
    PROJECT,
)


def test_the_recorder_imports_nothing_outside_the_standard_library() -> None:
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import adw_modules.hook_recorder; "
        "import adw_modules.hook_rows, adw_modules.hook_spool, adw_modules.hook_writer; "
        "third = {'pydantic', 'yaml', 'psycopg', 'aiosqlite', 'typer', 'rich', 'jinja2'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in third))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(PROJECT.root / PROJECT.adws_dir)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr


# Run by `python3 -S`, as the hook runs: what the recorder has imported once it started, and
# once it recorded a Stop's transcript usage (Recorder.import_transcripts, after Stop,
# SubagentStop and SessionEnd, when the agent is idle).
_IMPORT_PROBE = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
before = set(sys.modules)
from adw_modules import hook_recorder as hooks
started = set(sys.modules)
root, database = Path(sys.argv[2]), sys.argv[2] + "/orchestrator.db"
recorder = hooks.Recorder(
    hooks.resolve_target(database, root), hooks.Spool.locate(root, "logs", {}), 100
)
stop = {"event": "Stop", "session_id": "s", "transcript_path": database + ".jsonl"}
recorder.import_transcripts([stop], [])
after = set(sys.modules)
print(json.dumps([sorted(started - before), sorted(after - started)]))
"""


def test_the_hook_imports_only_the_modules_of_its_job(tmp_path: Path) -> None:
    """At start-up the hook modules (and the privacy helpers of hook_writer); after a Stop the
    transcript import and its parts, but not where transcripts are found (the CLI gives the
    path) nor transcripts.py, and no more of the standard library than at start-up."""
    adws = str(PROJECT.root / PROJECT.adws_dir)
    result = subprocess.run(
        [sys.executable, "-S", "-c", _IMPORT_PROBE, adws, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    started, after_stop = json.loads(result.stdout)
    ours = "adw_modules."
    assert sorted(m for m in started if m.startswith(ours)) == [
        "adw_modules.adw_db_private",
        "adw_modules.hook_recorder",
        "adw_modules.hook_rows",
        "adw_modules.hook_spool",
        "adw_modules.hook_writer",
    ]
    assert after_stop == [
        "adw_modules.transcript_import",
        "adw_modules.transcript_prices",
        "adw_modules.transcript_reading",
        "adw_modules.transcript_usage",
    ]
