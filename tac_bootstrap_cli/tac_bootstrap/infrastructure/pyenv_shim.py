"""The interpreter behind a pyenv shim, remembered while nothing pyenv reads has changed.

A pyenv shim is a bash script that runs ~38 processes (`pyenv exec`, `pyenv-version-name`,
`pyenv-which`, their hooks) to pick the interpreter: ~45 ms before Python starts, on doctor's
critical path. What it picks is decided by a known set of inputs: the `PYENV*` variables,
PATH and the working directory; the `.python-version` files from there up; the global
`version` file; the installed versions; pyenv's own scripts, hooks and plugins; the shim
itself. `resolve()` answers with the interpreter the shim ran last time while a fingerprint of all
of them, and the state of that interpreter's file, are unchanged; otherwise the caller runs
the shim and `remember()`s what it ran. Only the standard library is imported here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator

MEMO_KIND = "pyenv-shim"
_HEAD_BYTES = 2048
_SHIM = re.compile(rb'^#!.*\n(?:.*\n)*?exec "(?P<root>/[^"\n]*)/libexec/pyenv" exec ', re.M)
# Where pyenv looks for hooks besides PYENV_HOOK_PATH and its plugins (pyenv's own defaults).
_SYSTEM_HOOK_DIRS = ("/usr/local/etc/pyenv.d", "/etc/pyenv.d", "/usr/lib/pyenv/hooks")
_PLUGIN_PARTS = ("bin", "libexec", "etc", "shims")


def shim_root(executable: str) -> str | None:
    """The PYENV_ROOT a pyenv shim execs into, or None for anything else."""
    try:
        with open(executable, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError:
        return None
    found = _SHIM.search(head)
    return os.fsdecode(found.group("root")) if found else None


def _stat(path: str) -> list[object]:
    try:
        info = os.stat(path)
    except OSError:
        return [path]
    return [path, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


def _tree(directory: str) -> Iterator[list[object]]:
    """Every entry under ``directory`` (hooks and scripts: a few dozen files)."""
    yield _stat(directory)
    for parent, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(dirs) + sorted(files):
            yield _stat(os.path.join(parent, name))


def _version_files(start: str) -> Iterator[list[object]]:
    """`.python-version` in ``start`` and every directory above it, as pyenv searches."""
    directory = os.path.abspath(start)
    while True:
        yield _stat(os.path.join(directory, ".python-version"))
        parent = os.path.dirname(directory)
        if parent == directory:
            return
        directory = parent


def fingerprint(executable: str, root: str) -> str:
    """A digest of everything the shim's choice depends on."""
    environ = sorted(
        (key, value)
        for key, value in os.environ.items()
        if key.startswith(("PYENV", "_PYENV")) or key in ("PATH", "PWD")
    )
    seen: list[object] = [executable, _stat(executable), environ, os.getcwd()]
    for start in {os.getcwd(), os.environ.get("PYENV_DIR") or os.getcwd()}:
        seen.extend(_version_files(start))
    seen += [_stat(os.path.join(root, "version")), _stat(os.path.join(root, "versions"))]
    hook_dirs = [*os.environ.get("PYENV_HOOK_PATH", "").split(":"), *_SYSTEM_HOOK_DIRS]
    for directory in [os.path.join(root, "libexec"), os.path.join(root, "pyenv.d"), *hook_dirs]:
        if directory:
            seen.extend(_tree(directory))
    plugins = os.path.join(root, "plugins")
    seen.append(_stat(plugins))
    for plugin in sorted(os.listdir(plugins)) if os.path.isdir(plugins) else []:
        for part in _PLUGIN_PARTS:
            seen.extend(_tree(os.path.join(plugins, plugin, part)))
    encoded = json.dumps(seen, default=str).encode("utf-8", "surrogateescape")
    return hashlib.sha256(encoded).hexdigest()


def _memo_key(executable: str) -> str:
    """One memo per shim and directory: doctor run in two projects in turn would otherwise
    replace one answer with the other at every run (the directory is in the fingerprint)."""
    return f"{executable}\0{os.getcwd()}"


def resolve(executable: str) -> tuple[str, str | None]:
    """What to run for ``executable``, and the fingerprint to `remember()` its answer under
    (None: nothing to remember; not a shim, or answered from the memo).

    The fingerprint is taken before the shim runs, so a change made while it runs is seen by
    the next lookup instead of being recorded beside the old answer."""
    root = shim_root(executable)
    if root is None:
        return executable, None
    from tac_bootstrap.infrastructure import memo_store

    now = fingerprint(executable, root)
    memo = memo_store.load(MEMO_KIND, _memo_key(executable), any_installation=True)
    if memo is not None and memo.get("fingerprint") == now:
        ran = memo.get("target")
        if isinstance(ran, str) and memo.get("target_state") == _stat(ran):
            return ran, None
    return executable, now


def remember(executable: str, taken: str, ran: str) -> None:
    """Record that the shim at ``executable``, under fingerprint ``taken``, ran ``ran`` (the
    interpreter's own sys.executable)."""
    if not os.path.isabs(ran) or not os.path.isfile(ran):
        return
    from tac_bootstrap.infrastructure import memo_store

    body = {"fingerprint": taken, "target": ran, "target_state": _stat(ran)}
    memo_store.save(MEMO_KIND, _memo_key(executable), body)
