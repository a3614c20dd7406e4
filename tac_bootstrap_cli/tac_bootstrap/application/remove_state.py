"""What `remove` decides beyond the manifest's files: the local state, compiled modules,
.gitignore files still needed, and the directories the removal leaves empty. Reads only.

The local state (.tac_bootstrap/: base/, original/, its .gitignore) goes. An earlier run's
backup directory goes too when every file in it is found elsewhere afterwards (the file at its
path is the same bytes, or it is content we generated); one that holds anything else is kept.
A .gitignore we generated stays while its directory keeps data the layer's runtime wrote (the
database, run logs): otherwise they would show up in `git status` and could be committed. The
user's own files there do not keep it (they were not ignored before add-agentic either).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from tac_bootstrap.application.remove_database import RUN_LOGS
from tac_bootstrap.application.remove_files import Removal, RemoveItem
from tac_bootstrap.domain.manifest import Manifest, sha256_of
from tac_bootstrap.domain.state_files import BASE_PACK, LEGACY_BASE_DIR, ORIGINAL_DIR, STATE_DIR
from tac_bootstrap.infrastructure.backups import BACKUP_IGNORE, BACKUP_ROOT

GONE = (Removal.DELETE, Removal.MOVE)
DATABASE_FILES = ("*.db", "*.db-*", "*.sqlite", "*.sqlite-*", "*.sqlite3")  # schema/.gitignore
_SHOWN = 3


def removed_paths(items: Iterable[RemoveItem]) -> set[str]:
    """Every path the run deletes or moves (directories end with "/")."""
    return {item.path for item in items if item.action in GONE}


def _is_removed(relative: str, removed: set[str]) -> bool:
    if relative in removed:
        return True
    parts = PurePosixPath(relative).parts
    return any("/".join(parts[:depth]) + "/" in removed for depth in range(1, len(parts)))


def _files_under(root: Path, directory: str) -> list[str]:
    """Every file and symlink under ``directory`` (relative paths), never following links."""
    found = []
    for current, dirs, files in os.walk(root / directory):
        base = Path(current).relative_to(root).as_posix()
        links = [name for name in dirs if (Path(current) / name).is_symlink()]
        found += [f"{base}/{name}" for name in [*files, *links]]
    return sorted(found)


def after_removal(root: Path, items: list[RemoveItem], relative: str) -> bytes | None:
    """What ``relative`` holds once the run is done (None: absent)."""
    for item in items:
        if item.path == relative:
            if item.action in (Removal.RESTORE, Removal.UNMERGE):
                return item.content
            if item.action in GONE:
                return None
    if _is_removed(relative, removed_paths(items)):
        return None
    path = root / relative
    return path.read_bytes() if path.is_file() and not path.is_symlink() else None


def plan_state(
    root: Path, items: list[RemoveItem], manifest: Manifest, *, backing_up: bool
) -> list[RemoveItem]:
    """The local state directory's fate; ``backing_up``: this run keeps backups in it."""
    state = root / STATE_DIR
    if state.is_symlink() or not state.is_dir():
        return []
    known = {
        f"{STATE_DIR}/.gitignore",
        BASE_PACK,
        f"{LEGACY_BASE_DIR}/",
        f"{ORIGINAL_DIR}/",
        f"{BACKUP_ROOT}/",
    }
    planned: list[RemoveItem] = []
    for entry in sorted(state.iterdir()):
        relative = f"{STATE_DIR}/{entry.name}" + ("/" if entry.is_dir() else "")
        if entry.is_symlink() or relative not in known:
            planned.append(RemoveItem(relative, Removal.KEEP, "not the layer's state: kept"))
        elif relative == f"{BACKUP_ROOT}/":
            planned += _earlier_backups(root, items, manifest, backing_up)
        else:
            planned.append(RemoveItem(relative, Removal.DELETE, "local state"))
    return planned


def _earlier_backups(
    root: Path, items: list[RemoveItem], manifest: Manifest, backing_up: bool
) -> list[RemoveItem]:
    ours = {path: entry.sha256 for path, entry in manifest.files.items()}
    planned = []
    keep_ignore = backing_up
    backups = root / BACKUP_ROOT
    for stamp in sorted(p for p in backups.iterdir() if p.name != ".gitignore"):
        relative = f"{BACKUP_ROOT}/{stamp.name}"
        if stamp.is_symlink() or not stamp.is_dir():
            planned.append(RemoveItem(relative, Removal.KEEP, "not a backup of ours: kept"))
            keep_ignore = True
            continue
        unique = []
        for path in _files_under(root, relative):
            original = path[len(relative) + 1 :]
            content = (root / path).read_bytes() if not (root / path).is_symlink() else None
            if content is None:
                unique.append(original)
                continue
            if sha256_of(content) == ours.get(original):
                continue
            if after_removal(root, items, original) != content:
                unique.append(original)
        if unique:
            shown = ", ".join(unique[:_SHOWN]) + (" ..." if len(unique) > _SHOWN else "")
            detail = f"an earlier backup with content found nowhere else ({shown}): kept"
            planned.append(RemoveItem(relative + "/", Removal.KEEP, detail))
            keep_ignore = True
        else:
            detail = "an earlier backup: all of it is in the files as they are now"
            planned.append(RemoveItem(relative + "/", Removal.DELETE, detail))
    if (backups / ".gitignore").is_file():
        action = Removal.KEEP if keep_ignore else Removal.DELETE
        planned.append(RemoveItem(BACKUP_IGNORE, action, "keeps the backups out of git"))
    return planned


def compiled_modules(root: Path, items: list[RemoveItem]) -> list[RemoveItem]:
    """The __pycache__ files Python compiled from the modules being removed."""
    found = []
    for item in items:
        if item.action not in GONE or not item.path.endswith(".py"):
            continue
        module = PurePosixPath(item.path)
        cache = root / module.parent / "__pycache__"
        if cache.is_symlink() or not cache.is_dir():
            continue
        for compiled in sorted(cache.glob(f"{module.stem}.*.pyc")):
            if compiled.is_file() and not compiled.is_symlink():
                relative = compiled.relative_to(root).as_posix()
                found.append(RemoveItem(relative, Removal.DELETE, f"compiled {module.name}"))
    return found


def keep_needed_ignores(root: Path, items: list[RemoveItem]) -> None:
    """A generated .gitignore stays while its directory keeps files that are not ours."""
    removed = removed_paths(items)
    for item in items:
        path = PurePosixPath(item.path)
        if item.action is not Removal.DELETE or path.name != ".gitignore" or len(path.parts) < 2:
            continue
        if str(path.parent) == STATE_DIR or str(path.parent).startswith(f"{STATE_DIR}/"):
            continue
        directory = str(path.parent)
        left = [p for p in _files_under(root, directory) if not _is_removed(p, removed)]
        left = [p for p in left if p != item.path and _layer_data(p[len(directory) + 1 :])]
        if left:
            names = [PurePosixPath(p).name for p in left]
            shown = ", ".join(names[:_SHOWN]) + (" ..." if len(names) > _SHOWN else "")
            item.action = Removal.KEEP
            item.detail = f"kept: it keeps what is left here out of git ({shown})"


def _layer_data(relative: str) -> bool:
    """Files the layer's runtime writes beside a generated .gitignore (the database and its
    backups, run logs): the user's own files there do not keep our .gitignore."""
    first = PurePosixPath(relative).parts[0]
    if f"{first}/" in RUN_LOGS or first in RUN_LOGS or first == "backups":
        return True
    return any(fnmatch(first, pattern) for pattern in DATABASE_FILES)


def emptied_directories(root: Path, items: list[RemoveItem]) -> list[str]:
    """The directories the run leaves empty (deepest first): only parents of what it removes,
    never the project root."""
    removed = removed_paths(items)
    candidates: set[str] = set()
    for path in removed:
        parts = PurePosixPath(path.rstrip("/")).parts
        candidates.update("/".join(parts[:depth]) for depth in range(1, len(parts)))
    empty: set[str] = set()
    for directory in sorted(candidates, key=lambda d: (-d.count("/"), d)):
        full = root / directory
        if full.is_symlink() or not full.is_dir():
            continue
        if all(_goes(directory, entry, removed, empty) for entry in os.scandir(full)):
            empty.add(directory)
    return sorted(empty, key=lambda d: (-d.count("/"), d))


def _goes(directory: str, entry: os.DirEntry[str], removed: set[str], empty: set[str]) -> bool:
    relative = f"{directory}/{entry.name}"
    if entry.is_dir(follow_symlinks=False):
        return relative in empty or f"{relative}/" in removed
    return relative in removed
