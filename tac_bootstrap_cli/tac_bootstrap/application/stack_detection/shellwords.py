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
# Options that only make sense on a CI runner (reports it uploads, colours for its log), and
# the values that make them so: None = any value. ``--cov-report=xml:PATH`` is kept whole:
# the repository chose that path, and something of its own (an upload, a config) may read it.
_CI_ONLY_OPTIONS: dict[str, frozenset[str] | None] = {
    "--cov-report": frozenset({"xml"}),
    "--junitxml": None,
    "--junit-xml": None,
    "--color": frozenset({"always", "yes"}),
    "-coverprofile": None,
    "--coverprofile": None,
    "-covermode": None,
    "--covermode": None,
}
_CI_ONLY_SWITCHES = {"--show-diff-on-failure"}


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


def without_ci_only_flags(words: list[str]) -> list[str]:
    """The words without the CI-only options, each taken off whole (``--junitxml=out.xml``,
    ``--cov-report xml``): a word is never cut, and an option whose value is not one of the
    known CI-only ones stays as written."""
    kept: list[str] = []
    skip_next = False
    for index, word in enumerate(words):
        if skip_next:
            skip_next = False
            continue
        name, equals, value = word.partition("=")
        if word in _CI_ONLY_SWITCHES or (
            equals and name in _CI_ONLY_OPTIONS and _ci_only_value(name, value)
        ):
            continue
        following = words[index + 1] if index + 1 < len(words) else None
        if word in _CI_ONLY_OPTIONS and following is not None and _ci_only_value(word, following):
            skip_next = True
            continue
        kept.append(word)
    return kept


def _ci_only_value(option: str, value: str) -> bool:
    values = _CI_ONLY_OPTIONS[option]
    return values is None or value in values


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


# A formatter told to check only (``prettier --check``, ``black --diff``, ``dprint check``,
# another script's ``format:check``), and one told to write (``--write``, ``--fix``, ``-w``).
_CHECKS = re.compile(
    r"(?<!\S)(--check|--list-different|--diff)(?!\S)|\bprettier\b[^;&|]*\s-[cl](?!\S)"
    r"|\bdprint\s+check\b|\b(format|fmt|prettier)[:-](check|lint|ci)\b"
)
_WRITES = re.compile(
    r"(?<!\S)(--write|-w|--fix|--apply|--fix-unsafe|--apply-unsafe)(?!\S)|\bdprint\s+fmt\b"
    r"|\b(format|fmt|prettier|lint)[:-](fix|write)\b"
)


def only_checks(command: str) -> bool:
    """Whether a formatting command (a script's body, a recipe) only checks, so that running it
    fixes nothing: it checks and never writes."""
    return bool(_CHECKS.search(command)) and not _WRITES.search(command)
