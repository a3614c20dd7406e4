"""The `tac-bootstrap` console script: a head start for doctor, then the typer app.

`doctor` asks the hooks' Python for its version and pydantic, a process that takes 20 ms for
a plain interpreter and ~200 ms behind a pyenv shim. Started here, before typer and the
command's modules load (~80 ms), it runs alongside them instead of after. Only the standard
library is imported before the app; a probe nobody collects (a usage error, say) is ended at
exit. The process then ends without the interpreter's teardown (`process_lifecycle`).
"""

from __future__ import annotations

import sys


def main() -> None:
    from tac_bootstrap.cli import process_lifecycle

    ending = process_lifecycle.begin()  # first, so that its handler runs after every other one
    words = sys.argv[1:]
    if words[:1] == ["doctor"] and not {"-h", "--help"} & set(words):
        import atexit

        from tac_bootstrap.infrastructure import python_probe

        python_probe.start()
        atexit.register(python_probe.stop)
    from tac_bootstrap.cli.app import main as run_app

    try:
        run_app()
    except SystemExit as exc:
        if ending:
            process_lifecycle.record(exc.code)
        raise
    if ending:
        process_lifecycle.record(0)
