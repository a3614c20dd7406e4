"""The interpreter behind a pyenv shim, remembered while nothing pyenv reads has changed.

A pyenv shim is a bash script that runs ~38 processes (`pyenv exec`, `pyenv-version-name`,
`pyenv-which`, their hooks) to pick the interpreter: ~45 ms before Python starts, on doctor's
critical path. Its choice is decided by the environment, the working directory (pyenv walks
the logical ``$PWD``), the `.python-version` files from there up, the global `version` file,
the installed versions and pyenv's own scripts, hooks and plugins. ``resolve()`` answers with
the interpreter the shim ran last time, and the environment changes `pyenv exec` made for it,
while a fingerprint of all of those and the state of the interpreter's file are unchanged;
otherwise the caller runs the shim and `remember()`s what ran.

Only a version installed under ``$PYENV_ROOT/versions`` is remembered: pyenv finds the
``system`` Python on PATH, whose directories' contents are not fingerprinted. Only the
variables `pyenv exec` sets itself (PATH, ``PYENV_*``) are kept for the direct run: when a
hook exported anything else, nothing is remembered. Anything this
module cannot read or parse means "run the shim". Only the standard library is imported here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from typing import NamedTuple

MEMO_KIND = "pyenv-shim"
_HEAD_BYTES = 4096
# The two lines of a shim `pyenv rehash` writes that say where pyenv's data and code are.
_ROOT_LINE = re.compile(rb'^export PYENV_ROOT="(?P<path>/[^"$`\\\n]*)"$', re.M)
_EXEC_LINE = re.compile(
    rb'^exec "(?P<path>/[^"$`\\\n]*)/libexec/pyenv" exec "\$program" "\$@"$', re.M
)
# Hook directories pyenv adds after PYENV_HOOK_PATH (libexec/pyenv); the script itself is
# read too, so a pyenv that adds others is followed.
_SYSTEM_HOOK_DIRS = ("/usr/etc/pyenv.d", "/usr/local/etc/pyenv.d", "/etc/pyenv.d")
_HOOK_LINE = re.compile(r'^\s*PYENV_HOOK_PATH="\$\{PYENV_HOOK_PATH\}:(?P<dirs>/[^"$`\\]*)"$', re.M)


class Shim(NamedTuple):
    root: str  # PYENV_ROOT: versions, the global version file, hooks, plugins
    prefix: str  # where pyenv itself is installed: its scripts, hooks and plugins


class Resolution(NamedTuple):
    command: str  # what to run: the shim, or the interpreter it chose last time
    environ: dict[str, str] | None  # the environment for a remembered interpreter
    fingerprint: str | None  # to remember what the shim runs under (None: nothing to do)


def read_shim(executable: str) -> Shim | None:
    """The root and install prefix of a pyenv shim, or None for anything else."""
    try:
        with open(executable, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError:
        return None
    root, prefix = _ROOT_LINE.search(head), _EXEC_LINE.search(head)
    if not head.startswith(b"#!") or root is None or prefix is None:
        return None
    return Shim(os.fsdecode(root.group("path")), os.fsdecode(prefix.group("path")))


def _stat(path: str) -> list[object]:
    """The state of ``path`` and, for a symbolic link, its target's name and what it points
    to at last (a dangling link or a loop: nothing, which changes once it resolves)."""
    seen: list[object] = [path]
    try:
        info = os.lstat(path)
        seen += [info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]
        if os.path.islink(path):
            seen.append(os.readlink(path))
            final = os.stat(path)
            seen += [final.st_mode, final.st_size, final.st_mtime_ns, final.st_ctime_ns]
            seen.append(final.st_ino)
    except OSError:
        pass
    return seen


def _tree(directory: str) -> Iterator[list[object]]:
    """Every entry under ``directory`` (scripts and hooks: a few dozen files)."""
    yield _stat(directory)
    for parent, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(dirs + files):
            yield _stat(os.path.join(parent, name))


def _logical_cwd() -> str:
    """The working directory as bash sees it: ``$PWD`` when it names this directory."""
    here = os.getcwd()
    pwd = os.environ.get("PWD", "")
    try:
        if os.path.isabs(pwd) and os.path.samefile(pwd, here):
            return pwd
    except OSError:
        pass
    return here


def _search_starts() -> list[str]:
    """Where pyenv may start looking for `.python-version` (PYENV_DIR, the logical and the
    physical directory): a superset costs only memo misses."""
    logical = _logical_cwd()
    starts = {logical, os.getcwd()}
    chosen = os.environ.get("PYENV_DIR")
    if chosen:
        starts.add(os.path.normpath(os.path.join(logical, chosen)))
        starts.add(os.path.realpath(os.path.join(logical, chosen)))
    return sorted(starts)


def _version_files(start: str) -> Iterator[list[object]]:
    directory = start
    while True:
        yield _stat(os.path.join(directory, ".python-version"))
        parent = os.path.dirname(directory)
        if parent == directory:
            return
        directory = parent


def _hook_dirs(prefix: str) -> list[str]:
    """The hook directories pyenv's main script appends, read from the script."""
    try:
        with open(os.path.join(prefix, "libexec", "pyenv"), encoding="utf-8") as handle:
            script = handle.read()
    except (OSError, UnicodeDecodeError):
        script = ""
    found = [d for line in _HOOK_LINE.finditer(script) for d in line["dirs"].split(":")]
    return [*found, *_SYSTEM_HOOK_DIRS]


def fingerprint(executable: str, shim: Shim) -> str:
    """A digest of everything the shim's choice depends on."""
    root, prefix = shim
    from tac_bootstrap.infrastructure import memo_store

    environ = memo_store.environment()  # all of it: bash and pyenv read more than PYENV_*
    seen: list[object] = [executable, _stat(executable), environ, os.getcwd()]
    for start in _search_starts():
        seen.extend(_version_files(start))
    versions = os.path.join(root, "versions")
    seen += [_stat(os.path.join(root, "version")), _stat(versions)]
    program = os.path.basename(executable)
    for name in sorted(os.listdir(versions)) if os.path.isdir(versions) else []:
        # pyenv-which takes the first listed version whose command is executable; the
        # virtualenv plugin's hooks read pyvenv.cfg and conda's metadata.
        version = os.path.join(versions, name)
        for inside in ("", "bin", os.path.join("bin", program), "pyvenv.cfg", "conda-meta"):
            seen.append(_stat(os.path.join(version, inside)))
    trees = [os.path.join(prefix, "libexec"), os.path.join(root, "pyenv.d")]
    trees += [os.path.join(prefix, "pyenv.d")]
    trees += os.environ.get("PYENV_HOOK_PATH", "").split(":") + _hook_dirs(prefix)
    for base in (root, prefix):
        plugins = os.path.join(base, "plugins")
        seen.append(_stat(plugins))
        for plugin in sorted(os.listdir(plugins)) if os.path.isdir(plugins) else []:
            trees += [os.path.join(plugins, plugin, "bin")]
            trees += [os.path.join(plugins, plugin, "etc", "pyenv.d")]
    for directory in dict.fromkeys(trees):
        if directory:
            seen.extend(_tree(directory))
    encoded = json.dumps(seen, default=str).encode("utf-8", "surrogateescape")
    return hashlib.sha256(encoded).hexdigest()


def _memo_key(executable: str) -> str:
    """One memo per shim, directory and environment (by digest): doctor run in two projects,
    or with two environments, in turn would otherwise replace one answer with the other at
    every run (both are in the fingerprint)."""
    from tac_bootstrap.infrastructure import memo_store

    return f"{executable}\0{_logical_cwd()}\0{memo_store.environment_digest()}"


def resolve(executable: str) -> Resolution:
    """What to run for ``executable``. The fingerprint is taken before the shim runs, so a
    change made while it runs is seen by the next lookup, not recorded beside the old answer."""
    unknown = Resolution(executable, None, None)
    try:
        shim = read_shim(executable)
        if shim is None:
            return unknown
        now = fingerprint(executable, shim)
        remembered = _remembered(executable, shim, now)
    except Exception:  # anything unreadable or odd (a link loop, say): the shim decides
        return unknown
    return remembered or Resolution(executable, None, now)


def _remembered(executable: str, shim: Shim, now: str) -> Resolution | None:
    from tac_bootstrap.infrastructure import memo_store

    memo = memo_store.load(MEMO_KIND, _memo_key(executable), any_installation=True)
    if memo is None or memo.get("fingerprint") != now:
        return None
    target, changes, removed = memo.get("target"), memo.get("set"), memo.get("unset")
    if not isinstance(target, str) or not _installed_version(shim, target):
        return None
    if memo.get("target_state") != _stat(target):
        return None
    if not isinstance(changes, dict) or not isinstance(removed, list):
        return None
    environ = {k: v for k, v in os.environ.items() if k not in removed}
    environ.update({str(k): str(v) for k, v in changes.items()})
    return Resolution(target, environ, None)


def _installed_version(shim: Shim, target: str) -> bool:
    versions = os.path.join(shim.root, "versions") + os.sep
    return os.path.isabs(target) and target.startswith(versions) and os.path.isfile(target)


# bash sets its working directory, level and, after a command on a terminal, its size.
_SET_BY_BASH = frozenset({"PATH", "PWD", "OLDPWD", "SHLVL", "_", "COLUMNS", "LINES"})


def _pyenv_variable(name: str) -> bool:
    """What `pyenv exec` and the bash running it set themselves."""
    return name in _SET_BY_BASH or name.startswith(("PYENV_", "_PYENV_"))


def remember(executable: str, taken: str, ran: str, environ: Mapping[str, str]) -> None:
    """Record that the shim at ``executable``, under fingerprint ``taken``, ran ``ran`` (the
    interpreter's ``sys.executable``) with ``environ`` (its ``os.environ``)."""
    shim = read_shim(executable)
    if shim is None or not _installed_version(shim, ran):
        return
    from tac_bootstrap.infrastructure import memo_store

    changes = {k: v for k, v in environ.items() if os.environ.get(k) != v}
    removed = sorted(k for k in os.environ if k not in environ)
    if not all(_pyenv_variable(name) for name in [*changes, *removed]):
        return  # a hook exported something else (perhaps a secret): not kept on disk
    body = {"fingerprint": taken, "target": ran, "target_state": _stat(ran)}
    memo_store.save(MEMO_KIND, _memo_key(executable), {**body, "set": changes, "unset": removed})
