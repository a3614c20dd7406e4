"""One rule for a generated file that is gone: the user deleted it, unless git ignores it.

A file the manifest lists but that is missing was deleted by the user and stays deleted
(render, upgrade and doctor --fix record that). A file git ignores, though, was never
committed: a fresh clone lacks it without anyone deleting it (an old layer's logs/.gitignore,
a `*.md` rule over our READMEs). Those are written again, like files never generated here.
"""

from __future__ import annotations

from pathlib import Path

from tac_bootstrap.application.ignored_files import IgnoreRule, git_ignored, ignored_by
from tac_bootstrap.domain.state_files import MANIFEST_FILENAME


def deleted_detail(path: str, recorded: bool) -> str:
    """What every command says about a generated file the user deleted (one rule)."""
    restore = f"`tac-bootstrap render --restore {path}` brings it back"
    if recorded:
        return f"you deleted it: kept deleted (recorded in {MANIFEST_FILENAME}); {restore}"
    return (
        f"you deleted it: kept deleted; `tac-bootstrap render` records that in "
        f"{MANIFEST_FILENAME}, {restore}"
    )


def never_committed(root: Path, missing: list[str]) -> dict[str, IgnoreRule]:
    """Of the ``missing`` generated files (relative paths), those git ignores, with the rule.

    One `git check-ignore` for all, and none when nothing is missing or there is no work tree.
    """
    if not missing:
        return {}
    found = git_ignored(root, missing)
    if found is None:
        return {}
    return {path: rule for path in missing if (rule := ignored_by(found, path)) is not None}


def lost_detail(rule: IgnoreRule) -> str:
    return f"missing: git ignores it ({rule}), so no commit has it; written again"
