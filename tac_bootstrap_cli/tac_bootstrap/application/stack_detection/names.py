"""The project's name: what its own manifest calls it, else its directory's name.

A checkout's directory is often named after a fork, a branch or a ticket; the manifest holds
the name its developers gave it. Only the primary stack's manifest is asked (a Python service's
``package.json`` for its assets has a name of its own). Rails applications name themselves in
Ruby code, not in the Gemfile: their directory's name is used.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable

from tac_bootstrap.domain.config import validate_project_name

from .model import Evidence
from .reading import Reader, table

FALLBACK_NAME = "project"


def project_name_from_dir(dirname: str) -> str:
    """A valid project name from a directory name: 'My Repo (v2)' -> 'My-Repo-v2'."""
    ascii_name = unicodedata.normalize("NFKD", dirname).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name)
    name = re.sub(r"-{2,}", "-", name).lstrip("._-").rstrip(".-")
    if not name:
        return FALLBACK_NAME
    try:
        return validate_project_name(name)
    except ValueError:  # pragma: no cover - the substitutions above make it valid
        return FALLBACK_NAME


def _python(files: Reader) -> tuple[str, str] | None:
    ignored: list[Evidence] = []  # the detector already reported unreadable files
    py = files.toml("pyproject.toml", ignored) if files.is_file("pyproject.toml") else None
    for value, where in (
        (table(py, "project").get("name"), "pyproject.toml [project] name"),
        (table(py, "tool", "poetry").get("name"), "pyproject.toml [tool.poetry] name"),
    ):
        if isinstance(value, str):
            return value, where
    cfg = files.ini("setup.cfg", ignored) if files.is_file("setup.cfg") else None
    if cfg is not None and cfg.has_option("metadata", "name"):
        return cfg.get("metadata", "name"), "setup.cfg [metadata] name"
    setup = files.text("setup.py", ignored) if files.is_file("setup.py") else None
    match = re.search(r"""\bname\s*=\s*["']([^"']+)["']""", setup or "")
    return (match.group(1), "setup.py name=") if match else None


def _node(files: Reader) -> tuple[str, str] | None:
    manifest = files.json_object("package.json", []) or {}
    value = manifest.get("name")
    if not isinstance(value, str):
        return None
    # "@org/pkg": the scope is the publisher, the package is the project.
    return value.rsplit("/", 1)[-1], 'package.json "name"'


def _rust(files: Reader) -> tuple[str, str] | None:
    value = table(files.toml("Cargo.toml", []), "package").get("name")
    return (value, "Cargo.toml [package] name") if isinstance(value, str) else None


def _go(files: Reader) -> tuple[str, str] | None:
    match = re.search(r"^\s*module\s+\"?([^\s\"]+)", files.text("go.mod", []) or "", re.M)
    if not match:
        return None
    segments = match.group(1).rstrip("/").split("/")
    if len(segments) > 1 and re.fullmatch(r"v\d+", segments[-1]):
        segments.pop()  # github.com/labstack/echo/v4: the major version is not the name
    return segments[-1], "go.mod module path"


def _java(files: Reader) -> tuple[str, str] | None:
    if files.is_file("pom.xml"):
        try:
            root = ET.fromstring(files.text("pom.xml", []) or "")
        except ET.ParseError:
            return None
        for child in root:  # the project's own artifactId, not its parent's
            if child.tag.rsplit("}", 1)[-1] == "artifactId" and child.text:
                return child.text.strip(), "pom.xml artifactId"
        return None
    for settings in ("settings.gradle", "settings.gradle.kts"):
        text = files.text(settings, []) if files.is_file(settings) else None
        match = re.search(r"""rootProject\.name\s*=\s*["']([^"']+)["']""", text or "")
        if match:
            return match.group(1), f"{settings} rootProject.name"
    return None


def _ruby(files: Reader) -> tuple[str, str] | None:
    for spec in files.glob("*.gemspec"):
        match = re.search(r"""\.name\s*=\s*["']([^"']+)["']""", files.text(spec, []) or "")
        if match:
            return match.group(1), f"{spec} name"
    return None


_READERS: dict[str, Callable[[Reader], tuple[str, str] | None]] = {
    "python": _python,
    "node": _node,
    "rust": _rust,
    "go": _go,
    "java": _java,
    "ruby": _ruby,
}


def project_name(files: Reader, ecosystem: str | None, dirname: str) -> tuple[str, Evidence]:
    """The name, and the evidence saying where it came from."""
    found = _READERS[ecosystem](files) if ecosystem in _READERS else None
    if found is not None:
        name = project_name_from_dir(found[0])
        if name != FALLBACK_NAME or found[0] == FALLBACK_NAME:
            return name, Evidence(found[1].split(" ", 1)[0], f"name: {name} (from {found[1]})")
    name = project_name_from_dir(dirname)
    return name, Evidence(".", f"name: {name} (from the directory; no name in a manifest)")
