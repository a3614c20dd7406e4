"""Whether a Node project's own check tools also run on the runs' worktrees in the checkout.

Each run works in `<worktrees_dir>/<adw_id>/`, a copy of the project inside it. vitest, jest,
`eslint .` and `tsc` do not read .gitignore, and none of them reads a configuration from the
worktrees directory, so in the main checkout they also check every worktree: a run's work in
progress fails the user's own `npm test` there (a run's checks, in its worktree, are not
affected). Biome without `vcs.useIgnoreFile` stops outright ("Found a nested root
configuration"). The layer never edits the project's config: this check says what to add.
Reads files only (a configuration that does not name the directory counts as reaching it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tac_bootstrap.application.doctor.inputs import COMMAND_FIELDS
from tac_bootstrap.application.doctor.report import OK, WARN, Check, _Context

NAME = "node checks"
_EXTS = ("js", "mjs", "cjs", "ts", "mts", "cts")
_RUNNERS = {"npm", "pnpm", "yarn", "bun"}
_JSONC = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/|,(?=\s*[}\]])', re.DOTALL)


def _text(root: Path, names: list[str]) -> str | None:
    """The first of ``names`` that exists, read; None when none does."""
    for name in names:
        path = root / name
        if path.is_file():
            try:
                return path.read_text(encoding="utf-8")
            except (OSError, UnicodeError):
                return ""
    return None


def _json(root: Path, name: str) -> dict[str, Any]:
    text = _text(root, [name]) or ""
    try:
        data = json.loads(_JSONC.sub(lambda m: m.group(1) or "", text))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _names(text: str, trees: str) -> bool:
    return re.search(rf"(?<![\w.-]){re.escape(trees)}(?![\w-])", text) is not None


def _scripts_run(root: Path, command: str) -> str:
    """The command, with `npm test` / `pnpm run lint` / `yarn lint` replaced by the script."""
    scripts = _json(root, "package.json").get("scripts")
    scripts = scripts if isinstance(scripts, dict) else {}
    words = command.split()
    if len(words) >= 2 and words[0] in _RUNNERS:
        name = words[2] if words[1] in ("run", "run-script") and len(words) > 2 else words[1]
        body = scripts.get(name)
        if isinstance(body, str):
            return body
    return command


def _vitest(root: Path, trees: str) -> str | None:
    names = [f"{base}.config.{ext}" for base in ("vitest", "vite") for ext in _EXTS]
    text = _text(root, names)
    if text is not None and _names(text, trees):
        return None
    return f"vitest: in vitest.config, test.exclude: [...configDefaults.exclude, '{trees}/**']"


def _jest(root: Path, trees: str) -> str | None:
    text = _text(root, [f"jest.config.{ext}" for ext in (*_EXTS, "json")])
    if text is None:
        text = json.dumps(_json(root, "package.json").get("jest", ""))
    if _names(text, trees):
        return None
    return f"jest: testPathIgnorePatterns and modulePathIgnorePatterns: ['<rootDir>/{trees}/']"


def _eslint(root: Path, trees: str) -> str | None:
    text = _text(root, [f"eslint.config.{ext}" for ext in _EXTS])
    if text is None:  # the legacy .eslintrc: .eslintignore
        text = _text(root, [".eslintignore"]) or ""
    if _names(text, trees) or "includeIgnoreFile" in text:
        return None
    return f"eslint: a config object {{ ignores: ['{trees}/'] }} in eslint.config"


def _tsc(root: Path, trees: str) -> str | None:
    config = _json(root, "tsconfig.json")
    include = config.get("include")
    if "files" in config and include is None:
        return None
    if isinstance(include, list) and not any(
        isinstance(p, str) and p.lstrip("./").startswith("*") for p in include
    ):
        return None  # named source directories
    exclude = config.get("exclude")
    if isinstance(exclude, list) and any(isinstance(p, str) and _names(p, trees) for p in exclude):
        return None
    return f'tsc: "exclude": ["node_modules", "{trees}"] in tsconfig.json'


def _biome(root: Path, trees: str) -> str | None:
    for name in ("biome.json", "biome.jsonc"):
        if (root / name).is_file():
            config = _json(root, name)
            vcs = config.get("vcs")
            if isinstance(vcs, dict) and vcs.get("enabled") and vcs.get("useIgnoreFile"):
                return None
            if _names(json.dumps(config.get("files", {})), trees):
                return None
            return (
                f'biome (stops with "Found a nested root configuration"): "vcs": {{"enabled": '
                f'true, "clientKind": "git", "useIgnoreFile": true}} or "files": {{"includes": '
                f'["**", "!!**/{trees}"]}} in {name}'
            )
    return None


_TOOLS = {"vitest": _vitest, "jest": _jest, "eslint": _eslint, "tsc": _tsc, "biome": _biome}


def check_node_checks(ctx: _Context) -> list[Check]:
    if not (ctx.root / "package.json").is_file() or ctx.inputs.isolation != "worktree":
        return []
    trees = ctx.inputs.worktrees_dir.strip("/")
    run = " ".join(_scripts_run(ctx.root, ctx.inputs.commands[field]) for field in COMMAND_FIELDS)
    used = [tool for tool in _TOOLS if re.search(rf"(?<![\w@/-]){tool}(?![\w-])", run)]
    fixes = [fix for tool in used if (fix := _TOOLS[tool](ctx.root, trees)) is not None]
    if not fixes:
        return [Check(NAME, OK, f"your Node check tools leave {trees}/ out")]
    reached = ", ".join(fix.split(":", 1)[0].split(" ", 1)[0] for fix in fixes)
    return [
        Check(
            NAME,
            WARN,
            f"in the main checkout {reached} also check {trees}/ (every run's worktree, a copy "
            "of the project): a run's work in progress fails your own checks there (a run's "
            "checks, in its worktree, are not affected)",
            hint="add " + "; ".join(fixes),
        )
    ]
