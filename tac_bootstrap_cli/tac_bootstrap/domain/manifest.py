"""The manifest: what tac-bootstrap generated, so later upgrades can tell user edits apart.

For every generated file it records the sha256 of the content as generated and its git blob
id (so the original can be recovered from git history as the base of a three-way merge). It
lives beside the config file as tac_bootstrap.manifest.json and is meant to be committed.

Format 2 adds, per entry and only where they apply (a whole-file entry is written as in
format 1): ``merge``, the way we own a file we share with the user (``json``: our hooks and
permissions inside their settings.json, listed in ``owned``; ``section``: a delimited part of
their CLAUDE.md); ``original``, the user's file before we first merged into it, so ``remove``
can give it back byte for byte; ``deleted``, the user deleted this generated file and every
command keeps it deleted. A top-level ``proposals`` maps each ``<file>.tac-bootstrap`` we wrote
to its sha256, so one the user did not edit can be cleaned up once the file is merged.
A top-level ``added`` records what add-agentic put outside the generated files (the config's
sha256 as written, the bytes appended to the root .gitignore or that it created the file), so
``remove`` takes out exactly that.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from tac_bootstrap.domain import prettier_json
from tac_bootstrap.domain.state_files import MANIFEST_FILENAME as MANIFEST_FILENAME  # re-exported

MANIFEST_FORMAT = 2


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def git_blob_of(content: bytes) -> str:
    """The id git gives this content (`git hash-object`), without needing git."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


class MergeKind(str, Enum):
    """How the layer owns a planned file."""

    WHOLE = ""  # the whole file is ours
    JSON = "json"  # our entries inside the user's JSON settings
    SECTION = "section"  # a delimited section of the user's Markdown


@dataclass(frozen=True)
class Fingerprint:
    """A file's content, identified: sha256 to compare, git blob id to recover it from git."""

    sha256: str
    blob: str

    @classmethod
    def of(cls, content: bytes) -> Fingerprint:
        return cls(sha256_of(content), git_blob_of(content))


@dataclass(frozen=True)
class ManifestEntry:
    sha256: str
    blob: str
    source: str = ""
    merge: MergeKind = MergeKind.WHOLE
    owned: dict[str, Any] | None = None  # for ``merge``: what we own inside the file
    original: Fingerprint | None = None  # the user's file before our first merge
    deleted: bool = False  # the user deleted it: kept deleted

    @classmethod
    def of(cls, content: bytes, source: str = "") -> ManifestEntry:
        return cls(sha256_of(content), git_blob_of(content), source)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"blob": self.blob, "sha256": self.sha256, "source": self.source}
        if self.merge is not MergeKind.WHOLE:
            data["merge"] = self.merge.value
            data["owned"] = self.owned
            data["original"] = asdict(self.original) if self.original else None
        if self.deleted:
            data["deleted"] = True
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ManifestEntry:
        unknown = set(data) - {"sha256", "blob", "source", "merge", "owned", "original", "deleted"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        original = data.get("original")
        owned = data.get("owned")
        if owned is not None and not isinstance(owned, dict):
            raise ValueError("owned is not an object")
        return cls(
            sha256=str(data["sha256"]),
            blob=str(data["blob"]),
            source=str(data.get("source", "")),
            merge=MergeKind(data.get("merge", "")),
            owned=owned,
            original=Fingerprint(**original) if original else None,
            deleted=bool(data.get("deleted", False)),
        )


@dataclass(frozen=True)
class LayerAdditions:
    """What add-agentic added outside the generated files: ``remove`` takes out exactly this."""

    config_sha256: str = ""  # tac_bootstrap.yml as add-agentic wrote it ("": not recorded)
    gitignore_created: bool = False  # there was no root .gitignore: we created it
    gitignore_appended: str = ""  # the text appended to the root .gitignore (all of it if created)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config_sha256,
            "gitignore": {"appended": self.gitignore_appended, "created": self.gitignore_created},
        }

    @classmethod
    def from_dict(cls, data: object) -> LayerAdditions:
        if not isinstance(data, dict):
            raise ValueError("added is not an object")
        gitignore = data.get("gitignore", {})
        if not isinstance(gitignore, dict):
            raise ValueError("added.gitignore is not an object")
        return cls(
            config_sha256=str(data.get("config", "")),
            gitignore_created=bool(gitignore.get("created", False)),
            gitignore_appended=str(gitignore.get("appended", "")),
        )


@dataclass
class Manifest:
    tool_version: str
    files: dict[str, ManifestEntry] = field(default_factory=dict)
    format: int = MANIFEST_FORMAT
    proposals: dict[str, str] = field(default_factory=dict)  # <file>.tac-bootstrap -> sha256
    added: LayerAdditions | None = None  # what add-agentic added outside the generated files

    def to_json(self, style: prettier_json.JsonStyle = prettier_json.DEFAULT_STYLE) -> str:
        data: dict[str, Any] = {
            "files": {path: self.files[path].to_dict() for path in sorted(self.files)},
            "format": MANIFEST_FORMAT,
            "tool_version": self.tool_version,
        }
        if self.proposals:
            data["proposals"] = dict(sorted(self.proposals.items()))
        if self.added is not None:
            data["added"] = self.added.to_dict()
        return prettier_json.dumps(data, style)  # prettier --check passes on it

    @classmethod
    def from_json(cls, text: str, source: str) -> Manifest:
        try:
            data = json.loads(text)
            files = {
                str(path): ManifestEntry.from_dict(entry)
                for path, entry in data.get("files", {}).items()
            }
            proposals = {str(k): str(v) for k, v in data.get("proposals", {}).items()}
            added = data.get("added")
            return cls(
                tool_version=str(data["tool_version"]),
                files=files,
                format=int(data.get("format", MANIFEST_FORMAT)),
                proposals=proposals,
                added=LayerAdditions.from_dict(added) if added is not None else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{source}: not a valid manifest ({exc})") from None
