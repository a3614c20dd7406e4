"""The project's formatter style for a JSON file at its root, read from the static places the
formatter reads it from, so the manifest we write there passes `prettier --check .` or
`biome check .`.

prettier's own order: .editorconfig underneath (the CLI's default ``editorconfig: true``), the
first configuration file found in the project's root on top, then its ``overrides`` that match
the file. A configuration written in JavaScript or TOML, or a shared one named by package.json,
cannot be read here: prettier's defaults are assumed (what most of them keep for JSON).
Without a prettier configuration, a root biome.json(c) whose formatter is on gives the style
(Biome indents with tabs unless told otherwise); without either, prettier's defaults.
"""

from __future__ import annotations

import configparser
import fnmatch
import json
import re
from pathlib import Path
from typing import Any

from tac_bootstrap.domain.prettier_json import DEFAULT_STYLE, JsonStyle

# prettier's search order inside one directory; the first that exists is its configuration.
CONFIG_FILES = (
    "package.json",
    "package.yaml",
    ".prettierrc",
    ".prettierrc.json",
    ".prettierrc.yaml",
    ".prettierrc.yml",
    ".prettierrc.json5",
    ".prettierrc.js",
    "prettier.config.js",
    ".prettierrc.ts",
    "prettier.config.ts",
    ".prettierrc.mjs",
    "prettier.config.mjs",
    ".prettierrc.mts",
    "prettier.config.mts",
    ".prettierrc.cjs",
    "prettier.config.cjs",
    ".prettierrc.cts",
    "prettier.config.cts",
    ".prettierrc.toml",
)
_BRACES = re.compile(r"\{([^{}]*)\}")


def json_style(root: Path, name: str) -> JsonStyle:
    """How the project's formatter would print ``root/name``; prettier's defaults when nothing
    readable says."""
    config = _config(root)
    if config is None:
        biome = _biome(root)
        if biome is not None:
            return biome
        config = {}
    options: dict[str, Any] = _editorconfig(root / ".editorconfig", name)
    options.update({k: v for k, v in config.items() if k != "overrides"})
    overrides = config.get("overrides")
    for override in overrides if isinstance(overrides, list) else []:
        if isinstance(override, dict) and _override_matches(override, name):
            extra = override.get("options")
            options.update(extra if isinstance(extra, dict) else {})
    return _style(options)


def _style(options: dict[str, Any]) -> JsonStyle:
    def number(key: str, default: int) -> int:
        value = options.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return default

    use_tabs = options.get("useTabs")
    return JsonStyle(
        print_width=number("printWidth", DEFAULT_STYLE.print_width),
        tab_width=number("tabWidth", DEFAULT_STYLE.tab_width),
        use_tabs=use_tabs if isinstance(use_tabs, bool) else DEFAULT_STYLE.use_tabs,
    )


def _config(root: Path) -> dict[str, Any] | None:
    """The root's prettier configuration ({} when it cannot be read here), None without one."""
    for name in CONFIG_FILES:
        path = root / name
        if not path.is_file():
            continue
        data = _load(path)
        if name in ("package.json", "package.yaml"):
            if not isinstance(data, dict) or "prettier" not in data:
                continue  # prettier looks further when package.json has no "prettier" key
            data = data["prettier"]
        return data if isinstance(data, dict) else {}
    return None


_JSONC = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/|,(?=\s*[}\]])', re.DOTALL)


def _biome(root: Path) -> JsonStyle | None:
    """The style of Biome's JSON formatter from the root biome.json(c); None without one, or
    when it formats no JSON."""
    for name in ("biome.json", "biome.jsonc"):
        path = root / name
        if not path.is_file():
            continue
        try:
            text = _JSONC.sub(lambda m: m.group(1) or "", path.read_text(encoding="utf-8"))
            data = json.loads(text)
        except (OSError, UnicodeDecodeError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        general = data.get("formatter")
        general = general if isinstance(general, dict) else {}
        section = data.get("json")
        section = section.get("formatter") if isinstance(section, dict) else None
        options = {**general, **(section if isinstance(section, dict) else {})}
        if options.get("enabled") is False:
            return None
        return _style(
            {
                "printWidth": options.get("lineWidth"),
                "tabWidth": options.get("indentWidth"),
                "useTabs": options.get("indentStyle", "tab") == "tab",
            }
        )
    return None


def _load(path: Path) -> Any:
    if path.suffix in (".js", ".ts", ".mjs", ".mts", ".cjs", ".cts", ".toml", ".json5"):
        return None
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            return json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    import yaml  # only a YAML prettier config needs it (most commands read none)

    try:
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return None


def _override_matches(override: dict[str, Any], name: str) -> bool:
    def patterns(key: str) -> list[str]:
        value = override.get(key)
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [item for item in items if isinstance(item, str)]

    return _matches(patterns("files"), name) and not _matches(patterns("excludeFiles"), name)


def _matches(patterns: list[str], name: str) -> bool:
    """A root file's name against prettier (micromatch) or editorconfig globs."""
    for pattern in patterns:
        for expanded in _expand(pattern.removeprefix("./")):
            if fnmatch.fnmatchcase(name, expanded.removeprefix("**/")):
                return True
    return False


def _expand(pattern: str) -> list[str]:
    """``*.{json,yml}`` -> ``*.json``, ``*.yml`` (nested braces too)."""
    match = _BRACES.search(pattern)
    if match is None:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [x for part in match.group(1).split(",") for x in _expand(head + part + tail)]


def _editorconfig(path: Path, name: str) -> dict[str, Any]:
    """What prettier takes from the root .editorconfig for ``name``, as prettier options."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string("[__root__]\n" + path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, configparser.Error):
        return {}
    merged: dict[str, str] = {}
    for section in parser.sections():
        if section != "__root__" and _matches([section], name):
            merged.update({k.lower(): v.strip().lower() for k, v in parser[section].items()})
    options: dict[str, Any] = {}
    if merged.get("indent_style") in ("tab", "space"):
        options["useTabs"] = merged["indent_style"] == "tab"
    size = merged.get("indent_size", "")
    width = size if size.isdigit() else merged.get("tab_width", "")
    if width.isdigit():
        options["tabWidth"] = int(width)
    if merged.get("max_line_length", "").isdigit():
        options["printWidth"] = int(merged["max_line_length"])
    return options
