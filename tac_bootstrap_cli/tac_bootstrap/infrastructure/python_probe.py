"""The probe of the hooks' Python, started before doctor loads everything else.

Asking the hooks' interpreter for its version and pydantic takes a process start and an
``import pydantic`` there (~0.1-0.2 s, more behind a pyenv shim), while doctor itself spends
longer than that importing its own modules. ``start()`` (called by the CLI before those
imports) launches the probe at once; ``answer()`` collects it when doctor reaches the python
row, or runs it then when nothing was started; ``stop()`` ends one nobody collected. Only the
standard library is imported here.

The probe always runs, as whatever PATH finds; behind a pyenv shim, the interpreter the shim
chose last time is run directly while nothing pyenv reads has changed (`pyenv_shim`). It
imports pydantic (~80 ms of its ~130) only when something that import depends on changed:
the interpreter, its search path (and the stat of each directory on it), its finders, and the
stat of every file its last successful import loaded. That record is kept per executable and
environment in the memo store (``MEMO_KIND``); a failed import is never kept, so it is tried
again every time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any, NamedTuple

PYTHON_ENV_VAR = "TAC_PYTHON"  # the interpreter the Claude Code hooks run (settings.json)
TIMEOUT = 60

MEMO_KIND = "python-probe"

# Printed by the layer's interpreter: its version and the pydantic it can import (or null).
# It reads on stdin what its last successful import loaded (the files and their fingerprint)
# and, when the interpreter, its path, its finders and every one of those files (and the path's
# directories) are as they were, says "unchanged" instead of importing. Otherwise it imports
# and prints the files that import loaded. The current directory is not on its path: hooks
# run as scripts (their own directory first), and doctor may run from anywhere. Kept runnable
# by Python 2, so that an old interpreter is reported as too old rather than as no Python.
_PROBE = """
import json, os, sys
if sys.path and sys.path[0] == "":
    del sys.path[0]  # `-c` puts the current directory first; a hook's script is not run so

def stamp(path):
    try:
        info = os.stat(path)
    except OSError:
        return [path]
    return [path, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]

def place():
    from importlib.machinery import PathFinder
    finders = [type(f).__module__ + "." + type(f).__qualname__ for f in sys.meta_path]
    found = [getattr(PathFinder.find_spec(n, sys.path), "origin", None)
             for n in ("pydantic", "pydantic_core")]
    return [sys.executable, sys.version, sys.path, finders, found,
            [stamp(entry or ".") for entry in sys.path]]

def digest(where, files):
    import hashlib
    seen = json.dumps([where, [stamp(name) for name in files]])
    return hashlib.sha256(seen.encode("utf-8", "surrogateescape")).hexdigest()

try:
    recorded = json.loads(sys.stdin.read() or "null")
except Exception:
    recorded = None
where, unchanged = None, False
try:
    where = place()
    if isinstance(recorded, dict) and isinstance(recorded.get("files"), list):
        unchanged = digest(where, recorded["files"]) == recorded.get("fingerprint")
except Exception:
    where = None
version = fingerprint = files = None
if not unchanged:
    before = set(sys.modules)
    try:
        import pydantic
        version = str(pydantic.VERSION)
    except Exception:
        pass
    if version is not None and where is not None:
        try:
            files = sorted(set(getattr(module, "__file__", None) or "" for name, module
                               in list(sys.modules.items()) if name not in before) - set([""]))
            fingerprint = digest(where, files)
        except Exception:
            files = fingerprint = None
print(json.dumps({"python": list(sys.version_info[:3]), "pydantic": version,
                  "executable": sys.executable, "environ": dict(os.environ),
                  "unchanged": unchanged, "fingerprint": fingerprint, "files": files}))
"""
_MAX_MEMO_SENT = 60_000  # bytes: below a pipe's buffer, so writing it never waits for a reader

Answer = tuple[tuple[int, ...], object]  # (version, pydantic version or None)


class _Probe(NamedTuple):
    process: subprocess.Popen[str]
    memo: dict[str, Any] | None  # given to it (None: it imports pydantic whatever it finds)
    shim_fingerprint: str | None  # ran a pyenv shim: what the shim ran is remembered under it


_started: dict[str, _Probe] = {}


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
        process, memo, shim = (
            _started.pop(executable) if executable in _started else _spawn(executable)
        )
        stdout, _ = process.communicate(timeout=TIMEOUT)
        lines = stdout.strip().splitlines()
        probe = json.loads(lines[-1]) if process.returncode == 0 and lines else {}
        version = tuple(int(part) for part in probe["python"])
        ran, environ = probe.get("executable"), probe.get("environ")
        if shim is not None and isinstance(ran, str) and isinstance(environ, dict):
            from tac_bootstrap.infrastructure import pyenv_shim

            pyenv_shim.remember(executable, shim, ran, environ)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return (), None
    except (OSError, subprocess.SubprocessError, ValueError, TypeError, KeyError):
        return (), None  # not a Python that can run the probe
    return version, _pydantic(executable, probe, memo)


def _pydantic(executable: str, probe: dict[str, Any], memo: dict[str, Any] | None) -> object:
    """The pydantic version the probe found, or the one its memo kept when it said unchanged.
    Only a successful import is kept: a failed one is tried again every time."""
    if probe.get("unchanged") is True and memo is not None:
        return memo.get("pydantic")
    version, fingerprint, files = (probe.get(key) for key in ("pydantic", "fingerprint", "files"))
    if isinstance(version, str) and isinstance(fingerprint, str) and isinstance(files, list):
        from tac_bootstrap.infrastructure import memo_store

        body = {"fingerprint": fingerprint, "files": files, "pydantic": version}
        memo_store.save(MEMO_KIND, _memo_key(executable), body)
    return probe.get("pydantic")


def _spawn(executable: str) -> _Probe:
    """Start the probe, then hand it the memo on its stdin: the memo is read while the
    interpreter starts. Behind a pyenv shim whose choice is known, that interpreter runs
    directly, in the environment the shim would give it (`pyenv_shim`)."""
    from tac_bootstrap.infrastructure import pyenv_shim

    command, environ, shim = pyenv_shim.resolve(executable)
    reader, writer = os.pipe()
    try:
        process = subprocess.Popen(
            [command, "-c", _PROBE],
            stdin=reader,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=environ,
            text=True,
        )
    except BaseException:
        os.close(writer)
        raise
    finally:
        os.close(reader)
    memo = _memo(executable)
    sent = json.dumps({key: memo.get(key) for key in ("fingerprint", "files")}) if memo else ""
    if len(sent.encode()) > _MAX_MEMO_SENT:
        memo, sent = None, ""
    try:
        with os.fdopen(writer, "w", encoding="utf-8", errors="surrogateescape") as pipe:
            pipe.write(sent)
    except BrokenPipeError:
        pass  # the probe exited already: its answer (or its failure) says why
    return _Probe(process, memo, shim)


def _memo(executable: str) -> dict[str, Any] | None:
    """The last successful import's record for this executable, if well-formed."""
    from tac_bootstrap.infrastructure import memo_store

    memo = memo_store.load(MEMO_KIND, _memo_key(executable), any_installation=True)
    if memo is None or not isinstance(memo.get("files"), list):
        return None
    if not isinstance(memo.get("fingerprint"), str) or not isinstance(memo.get("pydantic"), str):
        return None
    return memo


def _memo_key(executable: str) -> str:
    """One memo per executable and environment: PYTHONPATH and the like change what the
    import loads, and two environments taking turns would otherwise never find their own."""
    from tac_bootstrap.infrastructure import memo_store

    return f"{executable}\0{memo_store.environment_digest()}"


def _this_interpreter() -> Answer:
    """What the probe would print, without a process start: tac-bootstrap runs on pydantic 2."""
    try:
        import pydantic
    except ImportError:
        return tuple(sys.version_info[:3]), None
    return tuple(sys.version_info[:3]), str(pydantic.VERSION)


def stop() -> None:
    """End the probes nobody collected (a doctor that ended before its python row)."""
    for process, _given, _shim in _started.values():
        if process.poll() is None:
            process.kill()
        process.wait()
    _started.clear()
