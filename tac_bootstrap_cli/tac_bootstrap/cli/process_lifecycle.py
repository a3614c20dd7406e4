"""How the console script's process starts and ends: fewer garbage collections while a
command's modules load, and no interpreter teardown after it.

Start: loading typer, pydantic and jinja2 leaves ~60,000 tracked objects that live until exit;
CPython's default young-generation threshold (700 allocations to 3.12, 2,000 on 3.13) runs
~30 collections over them during an `init` (~12 ms). A threshold of 100,000 (mypy raises it
further) makes a short command collect almost never and still bounds a long-running one
(the dashboard).

End: after a command returns, CPython frees every module, class and object one at a time
before the process ends: ~40 ms after an `init`, memory the kernel would release at once. By
the time the last exit handler runs, Python has joined the non-daemon threads and run every
other handler (weakref finalizers, temporary directories, logging), so once the standard
streams are flushed nothing a user could see is left to that teardown; the last handler ends
the process with the command's exit code.

It stays out of the way wherever the teardown could still matter:
- an exit handler registered before the CLI started (coverage's subprocess support, a
  sitecustomize) would run after ours, so none is installed;
- a command that ended other than with an exit code (an exception the boundary let through,
  which Python reports and picks the status for) ends the usual way;
- a stream that cannot be flushed is left to Python, which reports it as it always does.
Only `entry.console_script` uses this; `entry.main` and the Python API never end their
caller's process.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys


class _Outcome:
    code: int | None = None  # the command's exit code once it ended with one


YOUNG_GENERATION_THRESHOLD = 100_000


def begin() -> bool:
    """Set the collection threshold and register the ending as the first exit handler, so it
    runs last; False (no ending) when another handler came first: it would be skipped."""
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])
    if atexit._ncallbacks():
        return False
    atexit.register(_end)
    return True


def record(code: object) -> None:
    """The exit code of a finished command (a ``SystemExit`` code, None meaning 0)."""
    if code is None:
        _Outcome.code = 0
    elif isinstance(code, int) and not isinstance(code, bool) and 0 <= code <= 255:
        _Outcome.code = code
    else:  # a message or an odd status: Python prints and maps it
        _Outcome.code = None


def _end() -> None:
    code = _Outcome.code
    if code is None:
        return
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # broken or closed: Python's own exit reports it
        return
    os._exit(code)
