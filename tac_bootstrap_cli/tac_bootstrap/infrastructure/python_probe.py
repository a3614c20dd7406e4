"""The probe of the hooks' Python, started before doctor loads everything else.

Asking the hooks' interpreter for its version and pydantic takes a process start and an
``import pydantic`` there (~0.1-0.2 s, more behind a pyenv shim), while doctor itself spends
longer than that importing its own modules. ``start()`` (called by the CLI before those
imports) launches the probe at once; ``answer()`` collects it when doctor reaches the python
row, or runs it then when nothing was started; ``stop()`` ends one nobody collected. Only the
standard library is imported here.

The probe always runs, through whatever PATH finds (a pyenv shim picks its version anew each
time), but it imports pydantic (~80 ms of its ~130) only when what that import would read
changed: the interpreter, its search path and finders, and the stat of pydantic's,
pydantic_core's and typing_extensions' entry files and compiled core. The last answer is kept
per executable in the memo store with that fingerprint (``MEMO_KIND``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

PYTHON_ENV_VAR = "TAC_PYTHON"  # the interpreter the Claude Code hooks run (settings.json)
TIMEOUT = 60

MEMO_KIND = "python-probe"

# Printed by the layer's interpreter: its version, the pydantic it can import (or null), and
# the fingerprint of what `import pydantic` reads there. Given the fingerprint its last import
# was made under (argv[1]), an unchanged one skips the import and says so.
_PROBE = """
import hashlib, json, os, sys
from importlib.machinery import PathFinder

def stamp(path):
    try:
        info = os.stat(path)
    except OSError:
        return [path]
    return [path, info.st_size, info.st_mtime_ns, info.st_ino]

def fingerprint():
    finders = [type(f).__module__ + "." + type(f).__qualname__ for f in sys.meta_path]
    seen = [sys.executable, sys.version, sys.path, finders]
    for name in ("pydantic", "pydantic_core", "typing_extensions"):
        spec = PathFinder.find_spec(name, sys.path)
        if spec is None or not spec.origin:
            return None
        seen.append(stamp(spec.origin))
        for directory in spec.submodule_search_locations or ():
            for entry in sorted(os.listdir(directory)):
                if entry.endswith((".so", ".pyd")) or entry == "version.py":
                    seen.append(stamp(os.path.join(directory, entry)))
    return hashlib.sha256(json.dumps(seen).encode("utf-8", "surrogateescape")).hexdigest()

try:
    seen = fingerprint()
except Exception:
    seen = None
unchanged = seen is not None and seen == (sys.argv[1:] or [""])[0]
version = None
if not unchanged:
    try:
        import pydantic
        version = str(pydantic.VERSION)
    except Exception:
        pass
print(json.dumps({"python": list(sys.version_info[:3]), "pydantic": version,
                  "fingerprint": seen, "unchanged": unchanged}))
"""

Answer = tuple[tuple[int, ...], object]  # (version, pydantic version or None)

# A started probe, and the memo it was given (None: it imports pydantic whatever it finds).
_started: dict[str, tuple[subprocess.Popen[str], dict[str, Any] | None]] = {}


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
        process, memo = _started.pop(executable) if executable in _started else _spawn(executable)
        stdout, _ = process.communicate(timeout=TIMEOUT)
        lines = stdout.strip().splitlines()
        probe = json.loads(lines[-1]) if process.returncode == 0 and lines else {}
        version = tuple(int(part) for part in probe["python"])
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return (), None
    except (OSError, subprocess.SubprocessError, ValueError, TypeError, KeyError):
        return (), None  # not a Python that can run the probe
    return version, _pydantic(executable, probe, memo)


def _pydantic(executable: str, probe: dict[str, Any], memo: dict[str, Any] | None) -> object:
    """The pydantic version the probe found, or the one its memo kept when it said unchanged."""
    fingerprint = probe.get("fingerprint")
    if probe.get("unchanged") is True and memo is not None:
        return memo.get("pydantic")
    if isinstance(fingerprint, str):
        from tac_bootstrap.infrastructure import memo_store

        body = {"fingerprint": fingerprint, "pydantic": probe.get("pydantic")}
        memo_store.save(MEMO_KIND, executable, body)
    return probe.get("pydantic")


def _spawn(executable: str) -> tuple[subprocess.Popen[str], dict[str, Any] | None]:
    memo = _memo(executable)
    recorded = memo.get("fingerprint") if memo else None
    process = subprocess.Popen(
        [executable, "-c", _PROBE, *([recorded] if isinstance(recorded, str) else [])],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return process, memo


def _memo(executable: str) -> dict[str, Any] | None:
    from tac_bootstrap.infrastructure import memo_store

    return memo_store.load(MEMO_KIND, executable, any_installation=True)


def _this_interpreter() -> Answer:
    """What the probe would print, without a process start: tac-bootstrap runs on pydantic 2."""
    try:
        import pydantic
    except ImportError:
        return tuple(sys.version_info[:3]), None
    return tuple(sys.version_info[:3]), str(pydantic.VERSION)


def stop() -> None:
    """End the probes nobody collected (a doctor that ended before its python row)."""
    for process, _memo in _started.values():
        if process.poll() is None:
            process.kill()
        process.wait()
    _started.clear()
