"""Real Node check tools for the tests (prettier, eslint, typescript, vitest, Biome), pinned.

Installed once with the real npm into the ignored .tools/node-checks/<key>/ (the key names the
pinned set, so a new pin installs beside the old one) and reused by every run after. Without
npm, or when the registry cannot be reached, the tests that need them are skipped under a
banner, or fail where TAC_REQUIRE_NODE_TOOLS=1.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE = REPO_ROOT / ".tools" / "node-checks"
REQUIRE_ENV_VAR = "TAC_REQUIRE_NODE_TOOLS"
SKIP_PREFIX = "Node check tools unavailable:"

# What the measured projects used (specs/layer-vs-project-checks-node.md).
PINNED = {
    "@biomejs/biome": "2.6.8",
    "@eslint/js": "9.39.5",
    "eslint": "9.39.5",
    "prettier": "3.10.1",
    "typescript": "5.9.3",
    "typescript-eslint": "8.74.0",
    "vitest": "3.2.7",
}


def cache_dir() -> Path:
    key = hashlib.sha256(json.dumps(PINNED, sort_keys=True).encode()).hexdigest()[:12]
    return CACHE / key


def install() -> tuple[Path | None, str]:
    """(the node_modules holding the pinned tools, or None with the reason they are missing)."""
    target = cache_dir()
    modules = target / "node_modules"
    if (modules / ".bin" / "vitest").exists():
        return modules, ""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return None, "npm/node not found (install nodejs and npm)"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers: one installs, the others wait
        if (modules / ".bin" / "vitest").exists():
            return modules, ""
        work = Path(tempfile.mkdtemp(prefix="install-", dir=CACHE))
        manifest = {"name": "node-checks", "private": True, "devDependencies": PINNED}
        (work / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
        try:
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=work,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=600,
                check=False,
                env={**os.environ, "npm_config_update_notifier": "false"},
            )
        except subprocess.TimeoutExpired:
            shutil.rmtree(work, ignore_errors=True)
            return None, "npm install of the pinned tools timed out (registry unreachable?)"
        if done.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return None, f"npm install of the pinned tools failed: {last}"
        shutil.rmtree(target, ignore_errors=True)
        work.rename(target)
    return modules, ""
