"""The probe of the hooks' Python, started before doctor loads everything else.

Asking the hooks' interpreter for its version and pydantic takes a process start and an
``import pydantic`` there (~0.1-0.2 s, more behind a pyenv shim), while doctor itself spends
longer than that importing its own modules. ``start()`` (called by the CLI before those
imports) launches the probe at once; ``answer()`` collects it when doctor reaches the python
row, or runs it then when nothing was started; ``stop()`` ends one nobody collected. Only the
standard library is imported here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

PYTHON_ENV_VAR = "TAC_PYTHON"  # the interpreter the Claude Code hooks run (settings.json)
TIMEOUT = 60

# Printed by the layer's interpreter: its version and the pydantic it can import (or null).
_PROBE = """
import json, sys
try:
    import pydantic
    version = str(pydantic.VERSION)
except Exception:
    version = None
print(json.dumps({"python": list(sys.version_info[:3]), "pydantic": version}))
"""

Answer = tuple[tuple[int, ...], object]  # (version, pydantic version or None)

_started: dict[str, subprocess.Popen[str]] = {}


def hooks_python() -> tuple[str, str | None]:
    """The name the hooks run (TAC_PYTHON, else python3) and where it is on PATH (or None)."""
    name = os.environ.get(PYTHON_ENV_VAR) or "python3"
    return name, shutil.which(name)


def is_running_interpreter(executable: str) -> bool:
    """True when `executable` is this very interpreter (same path, symlinks not followed: a
    venv's python links to a base Python that lacks the venv's packages)."""
    return bool(sys.executable) and os.path.abspath(executable) == os.path.abspath(sys.executable)


def start() -> None:
    """Launch the probe of the hooks' Python now, if it needs a process of its own."""
    _name, executable = hooks_python()
    if executable is None or is_running_interpreter(executable) or executable in _started:
        return
    try:
        _started[executable] = _spawn(executable)
    except OSError:
        return  # answer() runs it again and reports what went wrong


def answer(executable: str) -> Answer:
    """What the probe printed: collected if ``start()`` launched it, else run now."""
    if is_running_interpreter(executable):  # its answers are known here: no process
        return _this_interpreter()
    try:
        process = _started.pop(executable, None) or _spawn(executable)
        stdout, _ = process.communicate(timeout=TIMEOUT)
        lines = stdout.strip().splitlines()
        probe = json.loads(lines[-1]) if process.returncode == 0 and lines else {}
        version = tuple(int(part) for part in probe["python"])
        return version, probe.get("pydantic")
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return (), None
    except (OSError, subprocess.SubprocessError, ValueError, TypeError, KeyError):
        return (), None  # not a Python that can run the probe


def _spawn(executable: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [executable, "-c", _PROBE],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _this_interpreter() -> Answer:
    """What the probe would print, without a process start: tac-bootstrap runs on pydantic 2."""
    try:
        import pydantic
    except ImportError:
        return tuple(sys.version_info[:3]), None
    return tuple(sys.version_info[:3]), str(pydantic.VERSION)


def stop() -> None:
    """End the probes nobody collected (a doctor that ended before its python row)."""
    for process in _started.values():
        if process.poll() is None:
            process.kill()
        process.wait()
    _started.clear()
