"""Where Claude Code keeps the transcripts of a project's sessions (`~/.claude/projects/`).

Not on the hook's path: the hook is given each transcript's path by the CLI.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

CONFIG_DIR_ENV_VAR = "CLAUDE_CONFIG_DIR"


def claude_config_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    configured = env.get(CONFIG_DIR_ENV_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    home = env.get("HOME", "").strip()
    return (Path(home) if home else Path.home()) / ".claude"


def mangle(directory: os.PathLike[str] | str) -> str:
    """The projects/ folder name the CLI uses for a working directory (every character but
    ASCII letters and digits becomes '-'; the CLI cuts names past 200 characters and adds a
    hash, which project_transcript_dirs finds by prefix)."""
    return re.sub(r"[^A-Za-z0-9]", "-", os.fspath(directory))


MAX_MANGLED = 200


def project_transcript_dirs(
    project_root: os.PathLike[str] | str, environ: Mapping[str, str] | None = None
) -> list[Path]:
    """The folders holding the transcripts of sessions started in the project: its own, and
    those of sessions started in a subdirectory (told apart from look-alike names, such as
    `app-2` for `app`, by the `cwd` their transcripts record)."""
    projects = claude_config_dir(environ) / "projects"
    root = Path(project_root)
    roots = {os.fspath(root.absolute()), os.fspath(root.resolve())}
    found: list[Path] = []
    try:
        names = sorted(os.listdir(projects))
    except OSError:
        return []
    for base in sorted(roots):
        name = mangle(base)
        for entry in names:
            folder = projects / entry
            if folder in found or not folder.is_dir():
                continue
            if entry == name:
                found.append(folder)
            elif len(name) > MAX_MANGLED and entry.startswith(name[:MAX_MANGLED] + "-"):
                if _cwd_within(folder, roots):
                    found.append(folder)
            elif entry.startswith(name + "-") and _cwd_within(folder, roots):
                found.append(folder)
    return found


def _cwd_within(folder: Path, roots: Iterable[str]) -> bool:
    """Whether the first transcript line with a cwd in `folder` names a root or below."""
    for path in sorted(folder.glob("*.jsonl"))[:3]:
        with contextlib.suppress(OSError), path.open("rb") as handle:
            for _, raw in zip(range(50), handle, strict=False):
                if b'"cwd"' not in raw:
                    continue
                try:
                    cwd = json.loads(raw.decode("utf-8", "replace")).get("cwd")
                except (ValueError, AttributeError):
                    continue
                if isinstance(cwd, str):
                    return any(cwd == r or cwd.startswith(r.rstrip("/") + "/") for r in roots)
    return False


def find_transcripts(
    paths: Iterable[os.PathLike[str] | str], *, since_days: float | None = None
) -> tuple[list[Path], list[str]]:
    """The .jsonl files of files and folders (searched recursively), each once, oldest
    first; files not modified in the last `since_days` days are left out. Returns (files,
    one-line errors for paths that do not exist)."""
    cutoff = time.time() - since_days * 86_400 if since_days is not None else None
    files: dict[Path, float] = {}
    errors: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            candidates: Iterable[Path] = path.rglob("*.jsonl")
        elif path.is_file():
            candidates = [path]
        else:
            errors.append(f"{path}: no such file or directory")
            continue
        for candidate in candidates:
            try:
                stat = candidate.stat()
            except OSError:
                continue
            if candidate.is_file() and (cutoff is None or stat.st_mtime >= cutoff):
                files.setdefault(candidate.absolute(), stat.st_mtime)
    return sorted(files, key=lambda p: (files[p], str(p))), errors
