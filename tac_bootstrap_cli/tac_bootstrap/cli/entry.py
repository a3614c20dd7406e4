"""The `tac-bootstrap` console script: a head start for doctor, then the typer app.

`doctor` asks the hooks' Python for its version and pydantic, a process that takes 20 ms for
a plain interpreter and ~200 ms behind a pyenv shim. Started here, before typer and the
command's modules load (~80 ms), it runs alongside them instead of after. Only the standard
library is imported before the app; a probe nobody collects (a usage error, say) is ended at
exit.

`console_script` is the program (the installed script and ``python -m tac_bootstrap``): its
process ends without the interpreter's teardown (`process_lifecycle`). `main` is the same CLI
for a caller that runs it as a function and goes on afterwards, so it leaves the caller's
process, its collector and its exit status alone.
"""

from __future__ import annotations

import sys


def console_script() -> None:
    """The CLI as the whole program: the process ends with the command's exit code."""
    from tac_bootstrap.cli import process_lifecycle

    ending = process_lifecycle.begin()  # first, so that its handler runs after every other one
    try:
        main()
    except SystemExit as exc:
        if ending:
            process_lifecycle.record(exc.code)
        raise
    if ending:
        process_lifecycle.record(0)


def main() -> None:
    """The CLI as a function: raises ``SystemExit`` with the command's exit code."""
    words = sys.argv[1:]
    if words[:1] == ["doctor"] and not {"-h", "--help"} & set(words):
        import atexit

        from tac_bootstrap.infrastructure import python_probe

        python_probe.start()
        atexit.register(python_probe.stop)
    from tac_bootstrap.cli.app import main as run_app

    run_app()
