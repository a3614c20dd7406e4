"""Shell words for the PreToolUse guard (tool_guard.py): what a Bash command runs.

A POSIX-shell lexer: a command line becomes its simple commands, each as its words, with
quotes and escapes removed and known environment variables expanded. Everything that runs as
well is parsed too: `$(...)`, backticks, `<(...)`, here-documents, `sh -c` bodies, `eval`,
`find -exec`, and the command behind env, sudo, nice, timeout, xargs ... What only the shell
could know (a substitution's output, an unset or reassigned variable) is UNKNOWN; input the
lexer cannot read completely raises Unparsable, and the guard blocks. Standard library only.
"""

from __future__ import annotations

import os
import re

UNKNOWN = "\0"  # stands for what only the shell would know: $(...), unset $VARS, ...
SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "busybox"}
WRAPPERS = {"nohup", "time", "exec", "builtin", "command", "nice", "ionice", "stdbuf"}
WRAPPERS |= {"env", "sudo", "doas", "timeout", "xargs", "chronic", "unbuffer", "watch"}
RESERVED = {"!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until"}
RESERVED |= {"case", "esac", "in", "for", "select", "function", "coproc"}
OPERATORS = ("&&", "||", ";;", "|&", ";", "|", "&", "\n", "(", ")")
REDIRECTS = ("<<<", "<<-", "<<", ">>", "<&", ">&", "&>", ">|", "<>", "<", ">")


class Unparsable(Exception):
    """The text is not a complete shell command (unbalanced quotes, no here-document end)."""


# -- the shell lexer ---------------------------------------------------------------------


class Lexer:
    """POSIX-shell words of a command, split into simple commands; substitutions, `sh -c`
    bodies and here-documents are parsed too (they run as well)."""

    def __init__(self, text: str, assigned: set[str]) -> None:
        self.s = text
        self.i = 0
        self.assigned = assigned
        self.commands: list[list[str]] = []

    def parse(self, until: str = "") -> int:
        words: list[str] = []
        heredocs: list[tuple[str, bool]] = []
        s = self.s
        while True:
            self.skip_blanks()
            if self.i >= len(s):
                if until:
                    raise Unparsable(f"missing {until!r}")
                break
            ch = s[self.i]
            if until and ch == until:
                self.i += 1
                break
            if ch == "#":
                while self.i < len(s) and s[self.i] != "\n":
                    self.i += 1
                continue
            redirect = next((r for r in REDIRECTS if s.startswith(r, self.i)), "")
            op = "" if redirect else next((o for o in OPERATORS if s.startswith(o, self.i)), "")
            if op:
                self.i += len(op)
                self.end(words)
                words = []
                if op == "\n" and heredocs:
                    self.heredoc_bodies(heredocs)
                    heredocs = []
                continue
            if redirect:
                self.i += len(redirect)
                if redirect in ("<", ">") and s.startswith("(", self.i):  # <(...) >(...)
                    self.i += 1
                    self.parse(")")
                    continue
                self.skip_blanks()
                target = self.word()
                if redirect in ("<<", "<<-"):
                    heredocs.append((target, redirect == "<<-"))
                elif target:
                    words.append(target)  # a file read or written: checked like an argument
                continue
            words.append(self.word())
        self.end(words)
        if heredocs:
            raise Unparsable("here-document without its end")
        return self.i

    def skip_blanks(self) -> None:
        while self.i < len(self.s):
            if self.s[self.i] in " \t\r":
                self.i += 1
            elif self.s.startswith("\\\n", self.i):
                self.i += 2
            else:
                break

    def end(self, words: list[str]) -> None:
        if words:
            self.commands.append(words)

    def heredoc_bodies(self, heredocs: list[tuple[str, bool]]) -> None:
        for delimiter, strip in heredocs:
            lines: list[str] = []
            while True:
                if self.i >= len(self.s):
                    raise Unparsable("here-document without its end")
                end = self.s.find("\n", self.i)
                end = len(self.s) if end < 0 else end
                line = self.s[self.i : end]
                self.i = end + 1
                if (line.lstrip("\t") if strip else line) == delimiter:
                    break
                lines.append(line)
            self.commands.append(["<<", "\n".join(lines)])  # checked as data and as a script

    def word(self) -> str:
        s = self.s
        out: list[str] = []
        while self.i < len(s):
            ch = s[self.i]
            if ch in " \t\r\n;&|()<>":
                break
            self.i += 1
            if ch == "\\":
                if self.i < len(s):
                    if s[self.i] != "\n":
                        out.append(s[self.i])
                    self.i += 1
            elif ch == "'":
                end = s.find("'", self.i)
                if end < 0:
                    raise Unparsable("unbalanced single quote")
                out.append(s[self.i : end])
                self.i = end + 1
            elif ch == '"':
                out.append(self.double_quoted())
            elif ch == "`":
                out.append(self.backticks())
            elif ch == "$":
                out.append(self.dollar())
            else:
                out.append(ch)
        return "".join(out)

    def double_quoted(self) -> str:
        s = self.s
        out: list[str] = []
        while True:
            if self.i >= len(s):
                raise Unparsable("unbalanced double quote")
            ch = s[self.i]
            self.i += 1
            if ch == '"':
                return "".join(out)
            if ch == "\\" and self.i < len(s) and s[self.i] in '$`"\\\n':
                if s[self.i] != "\n":
                    out.append(s[self.i])
                self.i += 1
            elif ch == "`":
                out.append(self.backticks())
            elif ch == "$":
                out.append(self.dollar())
            else:
                out.append(ch)

    def backticks(self) -> str:
        s = self.s
        body: list[str] = []
        while True:
            if self.i >= len(s):
                raise Unparsable("unbalanced backquote")
            ch = s[self.i]
            self.i += 1
            if ch == "`":
                break
            if ch == "\\" and self.i < len(s) and s[self.i] in "$`\\":
                ch = s[self.i]
                self.i += 1
            body.append(ch)
        self.commands.extend(parse_script("".join(body), self.assigned))
        return UNKNOWN

    def dollar(self) -> str:
        s = self.s
        if s.startswith("((", self.i):  # arithmetic: a number, but it may hide $(...)
            inner = Lexer(s, self.assigned)
            inner.i = self.i + 2
            depth = 2
            while depth:
                if inner.i >= len(s):
                    raise Unparsable("unbalanced $((")
                c = s[inner.i]
                inner.i += 1
                if c == "$" and s.startswith("(", inner.i):
                    inner.dollar()
                depth += {"(": 1, ")": -1}.get(c, 0)
            self.commands.extend(inner.commands)
            self.i = inner.i
            return UNKNOWN
        if s.startswith("(", self.i):
            self.i += 1
            self.parse(")")
            return UNKNOWN
        if s.startswith("'", self.i):  # $'...': C escapes, which could spell anything
            match = re.compile(r"'((?:[^'\\]|\\.)*)'", re.S).match(s, self.i)
            if match is None:
                raise Unparsable("unbalanced $'")
            self.i = match.end()
            if re.search(r"\\[^abfnrtv\\'\"0-7xuU]", match.group(1)):
                return UNKNOWN  # \e, \cX ...: escapes only bash knows
            try:  # the escapes Python shares with bash
                raw = match.group(1).encode("latin-1", "backslashreplace")
                return raw.decode("unicode_escape").replace("\0", UNKNOWN)
            except (UnicodeError, ValueError):
                return UNKNOWN
        if s.startswith("{", self.i):
            end = s.find("}", self.i)
            if end < 0:
                raise Unparsable("unbalanced ${")
            name = s[self.i + 1 : end]
            self.i = end + 1
            if "$(" in name or "`" in name:  # ${x:-$(cmd)}: the command may run
                self.commands.extend(parse_script(name, self.assigned))
            return self.variable(name)
        match = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-]").match(s, self.i)
        if match is None:
            return "$"
        self.i = match.end()
        return self.variable(match.group())

    def variable(self, name: str) -> str:
        value = os.environ.get(name) if re.fullmatch(r"[A-Za-z_]\w*", name) else None
        if value is None or name in self.assigned:
            return UNKNOWN
        return value


def parse_script(text: str, assigned: set[str] | None = None) -> list[list[str]]:
    """The simple commands of a script, each as its words (with UNKNOWN for what only the
    shell knows), nested bodies included; Unparsable if it is not a complete command."""
    if assigned is None:
        assigned = set(re.findall(r"([A-Za-z_]\w*)\+?=", text))
        assigned |= set(re.findall(r"\b(?:for|read|select|getopts)\s+(?:-\S+\s+)*(\w+)", text))
    lexer = Lexer(text, assigned)
    lexer.parse()
    return lexer.commands


# -- commands ------------------------------------------------------------------------------


def unwrap(words: list[str]) -> list[str]:
    """The command that actually runs: without assignments, reserved words and prefixes like
    env, sudo, nice, timeout, xargs (their options and operands skipped)."""
    while words:
        first = os.path.basename(words[0])
        if words[0] in RESERVED or re.fullmatch(r"[A-Za-z_]\w*\+?=.*", words[0], re.S):
            words = words[1:]
            continue
        if first not in WRAPPERS:
            return words
        if first == "command" and len(words) > 1 and words[1] in ("-v", "-V"):
            return []
        rest = words[1:]
        takes_value = {"sudo": "ugCDhpRrTtU", "doas": "uC", "env": "uCS", "nice": "n"}
        takes_value |= {"xargs": "IiLlnPsdEa", "timeout": "sk", "ionice": "cnp", "watch": "nd"}
        takes_value |= {"stdbuf": "ioe"}
        while rest and rest[0].startswith("-") and rest[0] != "-":
            option = rest.pop(0)
            if option == "--":
                break
            letters = takes_value.get(first, "")
            if len(option) == 2 and option[1] in letters and rest:
                rest.pop(0)
        if first == "env":
            while rest and "=" in rest[0] and not rest[0].startswith("="):
                rest.pop(0)
        if first == "timeout" and rest:
            rest.pop(0)  # the duration
        if first == "nice" and rest and re.fullmatch(r"-?\d+", rest[0]):
            rest.pop(0)
        if first == "xargs":
            rest = [*rest, UNKNOWN]  # its arguments come from stdin
        words = rest
    return words


def expanded(commands: list[list[str]]) -> list[list[str]]:
    """Every command that may run: wrappers removed, `sh -c`, `eval`, here-documents fed to
    a shell and `find -exec` parsed as commands of their own."""
    todo = list(commands)
    out: list[list[str]] = []
    seen = 0
    while todo:
        seen += 1
        if seen > 10_000:
            raise Unparsable("too many nested commands")
        words = unwrap(todo.pop(0))
        if not words:
            continue
        out.append(words)
        name = os.path.basename(words[0])
        if words[0] == "<<":
            todo.extend(parse_script(words[1]))
        elif name in SHELLS or name == "eval":
            body = shell_body(words) if name != "eval" else " ".join(words[1:])
            if body is not None:
                todo.extend(parse_script(body))
        elif name == "find":
            todo.extend(find_exec(words))
    return out


def shell_body(words: list[str]) -> str | None:
    """The script of `sh -c 'script'` (options may come first, `-lc`, `-e -c`)."""
    args = words[1:]
    if os.path.basename(words[0]) == "busybox" and args and args[0] in SHELLS:
        args = args[1:]
    command = False
    for arg in args:
        if arg.startswith("-") or arg.startswith("+"):
            command = command or ("c" in arg[1:] and not arg.startswith("--"))
            continue
        return arg if command else None
    return None


def find_starts(words: list[str]) -> list[str]:
    """find's start paths: the arguments before its first expression."""
    starts: list[str] = []
    for word in words[1:]:
        if word.startswith(("-", "(", "!", ")")) and word not in ("-", "--"):
            break
        if word != "--":
            starts.append(word)
    return starts or ["."]


def find_exec(words: list[str]) -> list[list[str]]:
    starts = find_starts(words)
    nested: list[list[str]] = []
    current: list[str] | None = None
    for word in words[1:]:
        if current is not None:
            if word in (";", "+"):
                nested.append(current)
                current = None
            else:
                current.append(word.replace("{}", starts[0] + "/" + UNKNOWN))
        elif word in ("-exec", "-execdir", "-ok", "-okdir"):
            current = []
    if current:
        nested.append(current)
    return nested
