"""The start of a project that serves nothing over HTTP: its worker, when nothing else starts it.

A Celery service has no web framework, so no framework's start applies; what the developers
run is in its Procfile or Makefile. The Procfile's ``web:`` process comes first (it is what the
platform serves), then a Makefile target that runs a Celery worker (``make worker``: the
repository's own way, with its environment), then the Procfile's ``worker:`` process.
Used only for a field nothing else gave: a Django app's runserver stays its start.
"""

from __future__ import annotations

import re

from .makefile import makefile_recipes
from .model import Evidence
from .reading import Reader
from .recipes import body_commands

_PROCESS = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+?)\s*$")
_CELERY_WORKER = re.compile(r"(^|\s)celery(\s.*)?\s(worker|beat)(\s|$)")
_MAKEFILES = ("GNUmakefile", "makefile", "Makefile")


def procfile_processes(text: str) -> dict[str, str]:
    """A Procfile's processes: ``name: command`` lines (comments and others skipped)."""
    processes: dict[str, str] = {}
    for line in text.splitlines():
        match = _PROCESS.match(line.strip())
        if match and not line.lstrip().startswith("#"):
            processes.setdefault(match.group(1), match.group(2))
    return processes


def runs_celery_worker(command: str) -> bool:
    """``celery -A app worker ...`` (also ``beat``), behind env assignments or a runner."""
    return bool(_CELERY_WORKER.search(command))


def worker_start(files: Reader, evidence: list[Evidence]) -> str | None:
    """The start command of a service with no HTTP start: Procfile ``web:``, else a Makefile
    target running a Celery worker, else Procfile ``worker:`` running one."""
    procfile = files.text("Procfile", evidence) if files.is_file("Procfile") else None
    processes = procfile_processes(procfile or "")
    if "web" in processes:
        evidence.append(Evidence("Procfile", f"web process, no other start -> {processes['web']}"))
        return processes["web"]
    name = next((n for n in _MAKEFILES if files.is_file(n)), None)
    text = files.text(name, evidence) if name else None
    for target, recipe in makefile_recipes(text or "").items():
        if any(runs_celery_worker(command) for command in body_commands(recipe.lines)):
            evidence.append(Evidence(str(name), f"`make {target}` runs a Celery worker -> start"))
            return f"make {target}"
    worker = processes.get("worker")
    if worker is not None and runs_celery_worker(worker):
        evidence.append(Evidence("Procfile", f"worker process, no other start -> {worker}"))
        return worker
    return None
