"""The manifest: what tac-bootstrap generated, so later upgrades can tell user edits apart.

For every generated file it records the sha256 of the content as generated and its git blob
id (so the original can be recovered from git history as the base of a three-way merge). It
lives beside the config file as tac_bootstrap.manifest.json and is meant to be committed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

MANIFEST_FILENAME = "tac_bootstrap.manifest.json"
MANIFEST_FORMAT = 1


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def git_blob_of(content: bytes) -> str:
    """The id git gives this content (`git hash-object`), without needing git."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class ManifestEntry:
    sha256: str
    blob: str
    source: str = ""

    @classmethod
    def of(cls, content: bytes, source: str = "") -> ManifestEntry:
        return cls(sha256_of(content), git_blob_of(content), source)


@dataclass
class Manifest:
    tool_version: str
    files: dict[str, ManifestEntry] = field(default_factory=dict)
    format: int = MANIFEST_FORMAT

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        data["files"] = {path: asdict(self.files[path]) for path in sorted(self.files)}
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> Manifest:
        try:
            data = json.loads(text)
            files = {
                str(path): ManifestEntry(**entry) for path, entry in data.get("files", {}).items()
            }
            return cls(
                tool_version=str(data["tool_version"]),
                files=files,
                format=int(data.get("format", MANIFEST_FORMAT)),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{source}: not a valid manifest ({exc})") from None
