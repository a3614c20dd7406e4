"""Shell words of a CI command made fit for a developer's terminal.

CI commands carry what only a CI runner needs: redirections into its log, reports it uploads
(``--cov-report=xml``, ``--output-format github``), colours forced for its web view. These are
taken off; what is left is joined back quoted only where the shell needs it.
"""

from __future__ import annotations

import re
import shlex

_REDIRECTION = re.compile(r"\d*(>>?|<|&>>?)(&\d)?")
_ATTACHED_REDIRECTION = re.compile(r"\d*(>>?|&>>?|<)\S+")
_BARE_WORD = re.compile(r"[\w@%+=:,./*?\[\]{}~^-]+")
_REPORT_OPTIONS = {"-f", "--format", "--output-format", "--reporter", "--out-format"}
_REPORT_VALUES = {"github", "github-actions", "junit", "checkstyle", "sarif", "json"}
# Flags that only make sense on a CI runner (reports it uploads, colours for its log).
CI_ONLY_FLAG = re.compile(
    r"--cov-report[= ]xml|--junit-?xml[= ]\S+|--color[= ]always|--show-diff-on-failure"
    r"|(?<!\S)--?cover(?:profile|mode)[= ]\S+"
)


def without_redirections(words: list[str]) -> list[str]:
    """``pytest 2>&1 > out.txt`` runs pytest: redirections are the CI log's business."""
    kept: list[str] = []
    target_next = False
    for word in words:
        if target_next:
            target_next = False
        elif _REDIRECTION.fullmatch(word):
            # "2>" or ">" take the next word as their file; "2>&1" takes none
            target_next = word.lstrip("0123456789") in (">", ">>", "<", "&>", "&>>")
        elif not _ATTACHED_REDIRECTION.fullmatch(word):
            kept.append(word)
    return kept


def join_words(words: list[str]) -> str:
    """The words as a command line, quoted only where the shell needs it (globs stay bare, as
    the repository wrote them: ``eslint src/**/*.ts``)."""
    return " ".join(w if _BARE_WORD.fullmatch(w) else shlex.quote(w) for w in words)


def without_report_flags(words: list[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for i, word in enumerate(words):
        if skip:
            skip = False
            continue
        name, _, value = word.partition("=")
        if name in _REPORT_OPTIONS and value.lower() in _REPORT_VALUES:
            continue
        following = words[i + 1].lower() if i + 1 < len(words) else ""
        if word in _REPORT_OPTIONS and not value and following in _REPORT_VALUES:
            skip = True
            continue
        kept.append(word)
    return kept
