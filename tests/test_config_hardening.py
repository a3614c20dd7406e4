"""The config loader against hostile input: every file is a TacConfig or one ConfigError line.

Property tests feed parse_config arbitrary text, YAML built from a grammar of keys, anchors,
aliases, tags and flow/block nesting, and mutations of a valid config; tables hold the
examples of issue 11; the real CLI proves that FIFOs, devices and parser bombs end at once
with exit 2 and one line.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tac_bootstrap.application.scaffold_service import ScaffoldService
from tac_bootstrap.domain.config import (
    FRAMEWORKS,
    PACKAGE_MANAGERS,
    Language,
    TacConfig,
    new_config,
)
from tac_bootstrap.domain.errors import ConfigError
from tac_bootstrap.infrastructure.config_loader import (
    EXPONENT_FLOAT,
    MAX_CONFIG_BYTES,
    load_config,
    parse_config,
)

from .conftest import examples

HEAD = 'version: 1\nproject:\n  name: "demo"\n'
MAX_MESSAGE = 500


def outcome(text: str) -> TacConfig | ConfigError:
    """parse_config's result; any exception but ConfigError fails the test by propagating."""
    try:
        return parse_config(text, "cfg.yml")
    except ConfigError as exc:
        return exc


def assert_one_line(error: ConfigError) -> str:
    message = str(error)
    assert "\n" not in message and "\r" not in message, message
    assert message.isprintable(), message
    assert len(message) < MAX_MESSAGE, message[:600]
    assert error.exit_code == 2
    return message


def refused(text: str) -> str:
    result = outcome(text)
    assert isinstance(result, ConfigError), f"accepted: {text[:200]!r}"
    return assert_one_line(result)


# --- the examples of issue 11, in-process ------------------------------------------------------

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9)
)
TEN_MB = "x" * 10_000_000

CONTENT_CASES = [
    ("nul", HEAD + "x: a\x00b\n", "cfg.yml:4:5: the non-printable character U+0000"),
    ("escape byte", HEAD + "\x1b[31m: 1\n", "cfg.yml:4:1: the non-printable character U+001B"),
    ("DEL", HEAD + "# \x7f\n", "U+007F"),
    ("C1 NEL", HEAD + "# \x85\n", "U+0085"),
    ("line separator", HEAD + "# \u2028\n", "U+2028"),
    ("bidi override", HEAD + "# \u202e\n", "U+202E"),
    ("lone surrogate", HEAD + "# \udc80\n", "U+DC80"),
    ("billion laughs", BILLION_LAUGHS, "cfg.yml:1: YAML anchors (&name) are not allowed"),
    ("recursive alias", "a: &a [*a]\n", "YAML anchors (&name) are not allowed"),
    ("alias without anchor", HEAD + "x: *a\n", "cfg.yml:4: YAML aliases (*name) are not allowed"),
    ("complex block key", HEAD + "? [a, b]\n: c\n", "cfg.yml:4: a mapping key must be a name"),
    ("complex flow key", "{[a]: 1}\n", "a mapping key must be a name"),
    ("mapping as key", "{{a: 1}: 1}\n", "a mapping key must be a name"),
    ("number as key", HEAD + "1: x\n", "cfg.yml:4: the key '1' is not a plain name"),
    ("merge key", HEAD + "<<: {a: 1}\n", "the key '<<' is not a plain name"),
    ("50,000 [", "[" * 50_000, "nests deeper than 64 levels"),
    ("50,000 {", "{" * 50_000, "a mapping key must be a name"),
    ("50,000 - ", "- " * 50_000 + "x\n", "nests deeper than 64 levels"),
    ("50,000 a: [", "a: [" * 50_000, "nests deeper than 64 levels"),
    ("too many values", "a: [" + "1, " * 20_000 + "1]\n", "more than 10000 YAML values"),
    (
        "5000 digits",
        HEAD + "orchestrator:\n  busy_timeout_ms: " + "9" * 5000 + "\n",
        "cfg.yml:5: a number of 5000 characters is too long",
    ),
    ("5000 digit float", HEAD + "agentic:\n  run_budget_usd: 1." + "5" * 5000, "too long"),
    ("hex bomb", HEAD + "x: 0x" + "f" * 100_000 + "\n", "too long"),
    ("sexagesimal bomb", HEAD + "x: " + "59:" * 30_000 + "1\n", "too long"),
    ("1e999", HEAD + "agentic:\n  run_budget_usd: 1.0e+999\n", "finite number"),
    (".inf", HEAD + "agentic:\n  phases:\n    plan: {max_budget_usd: .inf}\n", "finite number"),
    (".nan", HEAD + "agentic:\n  run_budget_usd: .nan\n", "finite number"),
    ("version: true", "version: true\nproject:\n  name: demo\n", "field 'version': Input should"),
    ("version: '1'", "version: '1'\nproject:\n  name: demo\n", "field 'version': Input should"),
    ("version: 1.0", "version: 1.0\nproject:\n  name: demo\n", "field 'version': Input should"),
    ("version: 2", "version: 2\nproject:\n  name: demo\n", "config version '2' is not supported"),
    ("int as bool", HEAD + "git:\n  init: 1\n", "field 'git.init': Input should be a valid"),
    ("str as bool", HEAD + "git:\n  init: 'true'\n", "field 'git.init'"),
    ("bool as int", HEAD + "agentic:\n  max_retries: true\n", "field 'agentic.max_retries'"),
    ("str as int", HEAD + "agentic:\n  max_retries: '3'\n", "field 'agentic.max_retries'"),
    ("bool as float", HEAD + "agentic:\n  run_budget_usd: false\n", "agentic.run_budget_usd"),
    ("int as str", HEAD + "commands:\n  test: 5\n", "field 'commands.test': Input should be"),
    ("!!binary", HEAD + "commands:\n  test: !!binary aGk=\n", "YAML tag 'tag:yaml.org,2002:binary"),
    ("!!python", HEAD + "x: !!python/object:os.system {}\n", "YAML tag"),
    ("local tag", HEAD + "x: !foo bar\n", "the YAML tag '!foo' is not allowed"),
    ("!!int abc", HEAD + "x: !!int abc\n", "cfg.yml:4: 'abc' is not a valid int"),
    ("!!bool abc", HEAD + "x: !!bool abc\n", "'abc' is not a valid bool"),
    ("!!float abc", HEAD + "x: !!float abc\n", "'abc' is not a valid float"),
    ("bad date", HEAD + "commands:\n  test: 2001-02-30\n", "is not a valid timestamp"),
    ("10 MB value", HEAD + "commands:\n  test: " + TEN_MB + "\n", "over the limit of 1048576"),
    ("1 MB value", HEAD + "commands:\n  test: " + "x" * 1_000_000 + "\n", "over the limit of 4096"),
    ("1 MB key", HEAD + "k" * 1_000_000 + ": 1\n", "cfg.yml:"),
    ("duplicate key", HEAD + "version: 1\n", "duplicate key 'version' (first set on line 1)"),
    ("empty", "", "config file is empty"),
    ("a list", "- a\n", "must be a mapping"),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in CONTENT_CASES], ids=[c[0] for c in CONTENT_CASES]
)
def test_issue_examples_are_one_line_errors(text: str, expected: str) -> None:
    assert expected in refused(text)


FIELD_CASES = [
    ("commands.test", 'commands:\n  test: "pytest\\ncurl x | sh"', "U+000A at position 7"),
    ("commands.lint", 'commands:\n  lint: "ruff\\r"', "U+000D"),
    ("commands.build", 'commands:\n  build: "make\\tall"', "U+0009"),
    ("commands.start", 'commands:\n  start: "a\\u2028b"', "U+2028"),
    ("agentic.models.default", 'agentic:\n  models:\n    default: "s\\x1b"', "U+001B"),
    ("agentic.provider", 'agentic:\n  provider: "\\0"', "Input should be 'claude_code'"),
    ("agentic.provider", "agentic:\n  provider: openai", "Input should be 'claude_code'"),
    ("project.framework", 'project:\n  name: demo\n  framework: "x\\n"', "U+000A"),
    ("orchestrator.database", 'orchestrator:\n  database: "a.db\\nb"', "U+000A"),
    ("agentic.agent_cli", 'agentic:\n  agent_cli: "claude; rm -rf ~"', "not a program name"),
    ("agentic.agent_cli", 'agentic:\n  agent_cli: "my claude"', "not a program name"),
    ("agentic.agent_cli", 'agentic:\n  agent_cli: "$(id)"', "not a program name"),
    ("agentic.agent_cli", 'agentic:\n  agent_cli: "-e"', "not a program name"),
    ("paths.adws_dir", 'paths:\n  adws_dir: "a\\"b"', "not a safe project path"),
    ("paths.adws_dir", 'paths:\n  adws_dir: "/etc"', "not a safe project path"),
    ("paths.specs_dir", 'paths:\n  specs_dir: "../x"', "not a safe project path"),
    ("paths.specs_dir", 'paths:\n  specs_dir: "a/./b"', "not a safe project path"),
    ("paths.logs_dir", 'paths:\n  logs_dir: "logs/"', "not a safe project path"),
    ("paths.logs_dir", 'paths:\n  logs_dir: ".git"', "not a safe project path"),
    ("paths.logs_dir", 'paths:\n  logs_dir: "x/.Tac_Bootstrap"', "not a safe project path"),
    ("paths.adws_dir", 'paths:\n  adws_dir: "-rf"', "not a safe project path"),
    ("paths.adws_dir", 'paths:\n  adws_dir: "a b"', "not a safe project path"),
    ("paths.adws_dir", 'paths:\n  adws_dir: "$HOME"', "not a safe project path"),
    ("paths.adws_dir", 'paths:\n  adws_dir: "a`id`"', "not a safe project path"),
    ("paths.adws_dir", 'paths:\n  adws_dir: "a\\\\b"', "not a safe project path"),
    ("paths.adws_dir", 'paths:\n  adws_dir: "a//b"', "not a safe project path"),
    ("paths.adws_dir", 'paths:\n  adws_dir: ""', "not a safe project path"),
]


@pytest.mark.parametrize(("field", "section", "expected"), FIELD_CASES)
def test_bad_field_values_name_field_and_line(field: str, section: str, expected: str) -> None:
    text = HEAD + section + "\n"
    if section.startswith("project:"):
        text = "version: 1\n" + section + "\n"
    message = refused(text)
    line = len(text.splitlines())
    assert message.startswith(f"cfg.yml:{line}: field '{field}': "), message
    assert expected in message


def test_a_huge_value_is_not_echoed_back() -> None:
    message = refused(HEAD + "paths:\n  adws_dir: " + "x" * 900_000 + "/..\n")
    assert "xxx…" in message


# --- reading the file: kinds, size, encoding ---------------------------------------------------


def _huge_sparse(path: Path) -> None:
    with path.open("wb") as handle:
        handle.truncate(4 * 1024**3)


def _link_to_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


FILE_CASES = [
    ("directory", lambda p: p.mkdir(), "not a directory"),
    ("symlink to /dev/zero", _link_to_zero, "not a character device"),
    ("/dev/urandom", lambda p: p.symlink_to("/dev/urandom"), "not a character device"),
    ("/dev/null", lambda p: p.symlink_to("/dev/null"), "not a character device"),
    ("4 GiB sparse", _huge_sparse, f"is 4294967296 bytes, over the limit of {MAX_CONFIG_BYTES}"),
    ("limit + 1", lambda p: p.write_bytes(b"#" * (MAX_CONFIG_BYTES + 1)), "over the limit"),
    ("not UTF-8", lambda p: p.write_bytes(HEAD.encode() + b"x: \xff\n"), ":4:4: not valid UTF-8"),
    ("dangling symlink", lambda p: p.symlink_to(p.parent / "gone"), "no config file found"),
    ("symlink loop", lambda p: p.symlink_to(p), "cannot open config file"),
]


@pytest.mark.parametrize(
    ("make", "expected"), [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES]
)
def test_unreadable_config_files_are_one_line_errors(
    tmp_path: Path, make: Any, expected: str
) -> None:
    path = tmp_path / "tac_bootstrap.yml"
    make(path)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert expected in assert_one_line(info.value)


@pytest.mark.parametrize("name", ["a\nb", "a\rb", "\x1b[2Jx", "x" * 250])
def test_the_file_name_in_messages_stays_one_line(tmp_path: Path, name: str) -> None:
    project = tmp_path / name
    project.mkdir()
    (project / "tac_bootstrap.yml").write_text(HEAD + "lnit: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(project / "tac_bootstrap.yml")
    message = str(info.value)
    assert "\n" not in message and "\r" not in message and message.isprintable()
    assert "field 'lnit': unknown key" in message


def test_a_config_at_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "tac_bootstrap.yml"
    path.write_text(HEAD + "#" * (MAX_CONFIG_BYTES - len(HEAD) - 1) + "\n")
    assert load_config(path).project.name == "demo"


# --- property: any text is a config or one ConfigError line ------------------------------------

KEYS = [
    "version", "project", "name", "language", "paths", "adws_dir", "commands", "test",
    "agentic", "phases", "plan", "max_turns", "run_budget_usd", "orchestrator", "database",
    "git", "init", "guard", "enabled", "<<", "=", "1", "null", "true", "? a", "'q k'",
]  # fmt: skip
SCALARS = [
    "1", "-1", "0x1F", "0o17", "1:30", "1_000", "1e5", "1e999", "1.0e+999", ".inf", "-.NaN",
    "true", "yes", "off", "~", "null", "2001-02-30", "2001-12-14t21:59:43.10-05:00", "demo",
    "'quoted'", '"a\\nb"', '"\\x00"', '"\\ud800"', "|\n  block", ">-\n  folded", "!!int x",
    "!!binary aGk=", "!!str 1", "!!float nan", "!foo x", "!!set {a}", "!!omap [a: 1]", "*a",
    "&a 1", "&b [1]", "*b", "9" * 5000, '"' + "x" * 2000 + '"', "python", "..", "a/../b",
]  # fmt: skip

scalar = st.one_of(st.sampled_from(SCALARS), st.text(max_size=12))
key = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
prefix = st.sampled_from(["", "", "&a ", "&b ", "!!map ", "!!seq ", "!!str "])
Tree = Any


def trees() -> st.SearchStrategy[Tree]:
    return st.recursive(
        scalar,
        lambda children: st.one_of(
            st.tuples(st.just("seq"), prefix, st.booleans(), st.lists(children, max_size=4)),
            st.tuples(
                st.just("map"),
                prefix,
                st.booleans(),
                st.lists(st.tuples(st.one_of(key, children), children), max_size=4),
            ),
        ),
        max_leaves=25,
    )


def render_tree(tree: Tree, indent: int = 0, flow: bool = False) -> str:
    """YAML-ish text for a tree; often invalid YAML on purpose (that is the point)."""
    if isinstance(tree, str):
        return tree
    kind, pre, as_flow, items = tree
    pre = str(pre)
    flow = flow or as_flow
    pad = " " * indent
    if kind == "seq":
        if flow or not items:
            return pre + "[" + ", ".join(render_tree(i, flow=True) for i in items) + "]"
        return pre + "".join(f"\n{pad}- {render_tree(i, indent + 2)}" for i in items)
    if flow or not items:
        body = ", ".join(
            f"{render_tree(k, flow=True)}: {render_tree(v, flow=True)}" for k, v in items
        )
        return pre + "{" + body + "}"
    return pre + "".join(
        f"\n{pad}{render_tree(k, flow=True)}: {render_tree(v, indent + 2)}" for k, v in items
    )


def check_any(text: str) -> None:
    result = outcome(text)
    if isinstance(result, ConfigError):
        assert_one_line(result)
    else:
        assert isinstance(result, TacConfig)


every_character = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, categories=None)


@settings(max_examples=examples(1000))
@given(st.text(alphabet=every_character, max_size=300))
def test_arbitrary_text_is_a_config_or_one_line(text: str) -> None:
    check_any(text)


@settings(max_examples=examples(1000))
@given(trees())
def test_yaml_grammar_is_a_config_or_one_line(tree: Tree) -> None:
    check_any(render_tree(tree).lstrip("\n") + "\n")


@pytest.mark.parametrize("value", ['!!int ""', "!!int", '!!float ""', '!!bool ""'])
def test_an_empty_tagged_scalar_is_one_line(value: str) -> None:
    """PyYAML's int constructor indexes value[0]: an empty `!!int` was an IndexError traceback."""
    message = refused(HEAD + f"git:\n  init: {value}\n")
    assert message.startswith("cfg.yml:5"), message


VALID = ScaffoldService().render_config(new_config("demo"))
JUNK = ["\x00", "\t", "\n", "\r", ":", "- ", "&a ", "*a", "!!int ", "[", "{", "}", "]", '"', "'"]


@settings(max_examples=examples(500))
@given(st.lists(st.tuples(st.integers(0, len(VALID)), st.integers(0, 8), st.sampled_from(JUNK))))
def test_mutated_valid_config_is_a_config_or_one_line(edits: list[tuple[int, int, str]]) -> None:
    text = VALID
    for at, cut, junk in edits:
        text = text[:at] + junk + text[at + cut :]
    check_any(text)


# --- property: generated valid configs round-trip ----------------------------------------------

SAFE_PATH = re.compile(r"(?:(?!-|\.\.?(?:/|$))[A-Za-z0-9._-]+(?:/|$))+")
RESERVED = {".git", ".tac_bootstrap"}


def is_safe_path(value: str) -> bool:
    """The documented set, written independently of the model's check."""
    return (
        bool(SAFE_PATH.fullmatch(value))
        and not value.endswith("/")
        and len(value) <= 200
        and not RESERVED & {part.lower() for part in value.split("/")}
    )


segment = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,10}", fullmatch=True).filter(
    lambda s: s.lower() not in RESERVED
)
safe_paths = st.lists(segment, min_size=1, max_size=4).map("/".join)
BAD_IN_TEXT = "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufffe\uffff"
text_value = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters=BAD_IN_TEXT), max_size=40
)
program = st.from_regex(r"[A-Za-z0-9._+/][A-Za-z0-9._+/-]{0,30}", fullmatch=True)
budget = st.floats(0, 1_000_000, allow_nan=False, allow_infinity=False)
phase = st.fixed_dictionaries(
    {
        "max_turns": st.integers(0, 10_000),
        "max_budget_usd": budget,
        "timeout_seconds": st.integers(0, 86_400),
        "permission_mode": st.sampled_from(["", "default", "acceptEdits", "plan", "dontAsk"]),
    }
)


@st.composite
def config_data(draw: st.DrawFn) -> dict[str, Any]:
    language = draw(st.sampled_from(list(Language)))
    return {
        "version": 1,
        "project": {
            "name": draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)),
            "language": language.value,
            "framework": draw(st.sampled_from(FRAMEWORKS[language])),
            "package_manager": draw(st.sampled_from(PACKAGE_MANAGERS[language])).value,
        },
        "paths": {
            "adws_dir": draw(safe_paths),
            "specs_dir": draw(safe_paths),
            "logs_dir": draw(safe_paths),
            "claude_dir": ".claude",
        },
        "commands": draw(
            st.fixed_dictionaries(
                {k: text_value for k in ("install", "start", "test", "lint", "typecheck")}
            )
        ),
        "agentic": {
            "provider": "claude_code",
            "agent_cli": draw(program),
            "models": draw(st.fixed_dictionaries({"default": text_value, "heavy": text_value})),
            "max_retries": draw(st.integers(0, 10)),
            "cli_max_retries": draw(st.integers(0, 20)),
            "phase_timeout_seconds": draw(st.integers(1, 86_400)),
            "run_budget_usd": draw(budget),
            "phases": draw(st.dictionaries(st.sampled_from(["plan", "build", "test"]), phase)),
        },
        "orchestrator": {
            "database": draw(text_value),
            "busy_timeout_ms": draw(st.integers(0, 86_400_000)),
        },
        "git": {"init": draw(st.booleans())},
    }


@given(config_data())
def test_valid_config_round_trips_through_the_template(data: dict[str, Any]) -> None:
    config = TacConfig.model_validate(data)
    assert parse_config(ScaffoldService().render_config(config), "cfg.yml") == config


class _Dumper(yaml.SafeDumper):
    """safe_dump that quotes what the loader reads as a float (YAML 1.2's 1e5 included)."""


_Dumper.add_implicit_resolver("tag:yaml.org,2002:float", EXPONENT_FLOAT, list("-+0123456789"))


@given(config_data())
def test_valid_config_round_trips_through_safe_dump(data: dict[str, Any]) -> None:
    config = TacConfig.model_validate(data)
    dumped = config.model_dump(mode="json")
    text = yaml.dump(dumped, Dumper=_Dumper, allow_unicode=True, width=1000)
    assert parse_config(text, "cfg.yml") == config


# --- property: paths accepted iff in the documented set, and then inert everywhere -------------

path_like = st.one_of(
    st.text(alphabet="aZ09._-/\\ $\"'`\n~:*?!#&;|<>(){}", max_size=24),
    st.lists(
        st.sampled_from(["a", "B.c", "_x", "-x", ".", "..", "", ".git", ".GIT", ".tac_bootstrap"]),
        min_size=1,
        max_size=5,
    ).map("/".join),
    st.text(alphabet=every_character, max_size=12),
    safe_paths,
    st.integers(190, 210).map(lambda n: "a" * n),
)


@settings(max_examples=examples(1000))
@given(path_like, st.sampled_from(["adws_dir", "specs_dir", "logs_dir"]))
def test_paths_accepted_iff_in_the_safe_set(value: str, field: str) -> None:
    text = HEAD + f"paths:\n  {field}: {json.dumps(value)}\n"
    result = outcome(text)
    if isinstance(result, ConfigError):
        assert_one_line(result)
    assert isinstance(result, TacConfig) == is_safe_path(value), (value, result)
    if isinstance(result, TacConfig):
        assert getattr(result.paths, field) == value
        assert json.dumps(value) == f'"{value}"'  # JSON
        assert repr(value) == f"'{value}'" and '"' not in value  # Python literals, both quotes
        assert shlex.quote(value) == value  # sh, double quotes included: no $ ` \ "
        assert "`" not in value and "\n" not in value  # Markdown code spans, front matter


# --- property: text fields accepted iff one line of printable text ----------------------------

BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_one_printable_line(value: str) -> bool:
    """The documented rule, from Unicode categories rather than the model's regex."""
    return len(value) <= 4096 and not any(
        unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or c in BIDI or c in "\ufffe\uffff"
        for c in value
    )


def yaml_quoted(value: str) -> str:
    """A double-quoted YAML scalar that decodes to exactly value: controls, line breaks and
    surrogates as escapes (a raw newline would be folded into a space), the rest raw."""
    out = []
    for c in value:
        code = ord(c)
        if c in '"\\':
            out.append("\\" + c)
        elif code < 0x20 or 0x7F <= code <= 0x9F or c in "\u2028\u2029" or 0xD800 <= code < 0xE000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


TEXT_FIELDS = [
    ("commands", "test"),
    ("commands", "install"),
    ("orchestrator", "database"),
]
text_candidates = st.one_of(
    st.text(alphabet=every_character, max_size=30),
    st.text(
        alphabet=st.sampled_from("ab \t\n\r\x00\x1b\x7f\x85\u2028\u202e\ufeff$`;|"), max_size=8
    ),
    st.integers(4090, 4100).map(lambda n: "x" * n),
)


@settings(max_examples=examples(300))
@given(st.one_of(text_candidates, st.sampled_from(["claude_code", "Claude_Code", "claude-code"])))
def test_provider_accepted_iff_claude_code(value: str) -> None:
    """claude_code is the only provider the runtime drives: anything else is a config error
    naming the field, not a value silently ignored."""
    result = outcome(HEAD + f"agentic:\n  provider: {yaml_quoted(value)}\n")
    if value == "claude_code":
        assert isinstance(result, TacConfig) and result.agentic.provider == "claude_code"
    else:
        assert isinstance(result, ConfigError), value
        message = assert_one_line(result)
        assert message.startswith("cfg.yml:5"), message  # the provider's line
        if "field '" in message:  # past the YAML reader's own character checks
            assert "field 'agentic.provider': Input should be " in message, message


@settings(max_examples=examples(1000))
@given(text_candidates, st.sampled_from(TEXT_FIELDS))
def test_text_fields_accepted_iff_one_printable_line(value: str, where: tuple[str, str]) -> None:
    section, field = where
    result = outcome(HEAD + f"{section}:\n  {field}: {yaml_quoted(value)}\n")
    if isinstance(result, ConfigError):
        assert_one_line(result)
    assert isinstance(result, TacConfig) == is_one_printable_line(value), (value, result)
    if isinstance(result, TacConfig):
        assert getattr(getattr(result, section), field) == value


# --- the real CLI: hangs, devices and bombs end with exit 2 and one line -----------------------


def _fifo(path: Path) -> None:
    os.mkfifo(path)


CLI_CASES = [
    ("FIFO without writer", _fifo, "not a FIFO (named pipe)"),
    ("symlink to /dev/zero", _link_to_zero, "not a character device"),
    ("/dev/urandom", lambda p: p.symlink_to("/dev/urandom"), "not a character device"),
    ("directory", lambda p: p.mkdir(), "not a directory"),
    ("4 GiB sparse", _huge_sparse, "over the limit"),
    ("50,000 [", lambda p: p.write_text("[" * 50_000), "nests deeper than 64"),
    ("50,000 {", lambda p: p.write_text("a: {" * 50_000), "nests deeper than 64"),
    ("50,000 - ", lambda p: p.write_text("- " * 50_000 + "x"), "nests deeper than 64"),
    ("billion laughs", lambda p: p.write_text(BILLION_LAUGHS), "anchors (&name)"),
    ("5000 digits", lambda p: p.write_text(f"version: {'9' * 5000}\n"), "too long"),
    ("NUL", lambda p: p.write_bytes(HEAD.encode() + b"\x00"), "U+0000"),
]


@pytest.mark.parametrize(
    ("make", "expected"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_render_on_hostile_config_exits_2_with_one_line(
    tmp_path: Path, make: Any, expected: str
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    make(project / "tac_bootstrap.yml")
    result = subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", "render", str(project)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,  # a hang detector, not a timing assertion
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    assert expected in lines[0]
    assert sorted(p.name for p in project.iterdir()) == ["tac_bootstrap.yml"]
