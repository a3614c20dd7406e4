"""The PreToolUse guard's checks (tool_guard.py runs them with its rendered settings).

A module of its own so that Python caches it compiled: tool_guard.py, run as a script, is
compiled on every tool call, so it holds only the settings. Standard library only.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import os
import re
import sys

from tool_guard_shell import UNKNOWN, Unparsable, expanded, find_starts, parse_script

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
ALLOWED = 3  # the exit code that allows (see main)
FORCING = ("force", "force-with-lease", "force-if-includes", "mirror")
MAIN_BRANCHES = {"main", "master", "trunk", "develop"}
SAFE_ENV = {".env.example", ".env.sample", ".env.template", ".env.dist"}


class Blocked(Exception):
    """A reason to refuse the tool call (the one line Claude Code shows the model)."""


# -- the checks ----------------------------------------------------------------------------


class Guard:
    def __init__(self, config: dict[str, object], cwd: str) -> None:
        self.cwd = cwd
        home = os.path.expanduser("~")
        allow = [absolute(os.path.expanduser(str(d)), "/") for d in listed(config, "allow_rm_in")]
        self.allow_rm = allow + [os.path.realpath(d) for d in allow]
        self.patterns = [re.compile(str(p)) for p in listed(config, "block_commands")]
        self.globs = [str(p) for p in listed(config, "protected_paths")]
        self.home = absolute(home, "/")
        self.protected: list[str] = []  # absolute paths: the file, and everything under it
        databases = [str(config.get("database") or "adws/schema/orchestrator.db")]
        databases.append(os.environ.get("TAC_ORCHESTRATOR_DB", ""))
        for database in databases:
            path = database_file(database)
            if path:
                path = absolute(path, ROOT)
                self.protected += [path + suffix for suffix in ("", "-wal", "-shm", "-journal")]
                self.protected.append(os.path.join(os.path.dirname(path), "backups"))
        fallback = os.environ.get("TAC_HOOK_FALLBACK_LOG") or os.path.join(
            str(config.get("logs_dir") or "logs"), "hooks-fallback.jsonl"
        )
        for path in (fallback, os.path.join(os.path.dirname(fallback), "hooks-spool")):
            self.protected.append(absolute(path, ROOT))

    # paths

    def resolve(self, word: str) -> list[str]:
        """The absolute paths a word may name (glob matches included; both the path as written
        and with symlinks resolved)."""
        text = os.path.expanduser(word) if word.startswith("~") else word
        paths = [absolute(text, self.cwd)]
        if any(c in text for c in "*?["):
            try:
                matches = glob.glob(text if os.path.isabs(text) else os.path.join(self.cwd, text))
            except (OSError, ValueError, RecursionError):
                matches = []
            paths += [absolute(m, self.cwd) for m in matches[:1000]]
        return paths + [os.path.realpath(p) for p in paths]

    def protected_reason(self, word: str) -> str:
        candidates = [word, *re.findall(r"[\w.~/+@%*?\[\]-]+", word)]
        for candidate in dict.fromkeys(candidates):
            if not candidate.strip() or UNKNOWN in candidate:
                continue
            for path in self.resolve(candidate):
                name = os.path.basename(path)
                if (name == ".env" or name.startswith(".env.")) and name not in SAFE_ENV:
                    return f"{shown(candidate)} is a .env file (secrets)"
                wild = name.startswith(".") and any(c in name for c in "*?[")
                if wild and any(fnmatch.fnmatchcase(n, name) for n in (".env", ".env.local")):
                    return f"{shown(candidate)} may name a .env file (secrets)"
                for protected in self.protected:
                    if path == protected or path.startswith(protected + os.sep):
                        return f"{shown(candidate)} is protected ({relative(protected)})"
                for pattern in self.globs:
                    target = path if os.path.isabs(pattern) else relative(path)
                    if fnmatch.fnmatchcase(target, pattern) or (
                        "/" not in pattern and fnmatch.fnmatchcase(name, pattern)
                    ):
                        return f"{shown(candidate)} matches guard.protected_paths {shown(pattern)}"
        return ""

    # commands

    def check_bash(self, command: str) -> None:
        try:
            commands = expanded(parse_script(command))
        except (Unparsable, RecursionError) as exc:
            raise Blocked(f"could not check this command ({exc}); write it more simply") from None
        for pattern in self.patterns:
            if pattern.search(command):
                raise Blocked(f"matches guard.block_commands {shown(pattern.pattern)}")
        for words in commands:
            self.check_command(words)

    def check_command(self, words: list[str]) -> None:
        line = " ".join(w.replace(UNKNOWN, "$(...)") for w in words)
        for pattern in self.patterns:
            if pattern.search(line):
                raise Blocked(
                    f"matches guard.block_commands {shown(pattern.pattern)}: {line[:200]}"
                )
        for word in words[1:]:
            reason = self.protected_reason(word)
            if reason:
                raise Blocked(f"{reason}; it may not be read or changed through Bash")
        name = os.path.basename(words[0])
        unknown = UNKNOWN in words[0]
        if name == "rm" or unknown:
            self.check_rm(words)
        if name == "git" or unknown:
            self.check_git(words)
        if name == "find":
            self.check_find(words)

    def check_rm(self, words: list[str]) -> None:
        options, targets = split_options(words[1:])
        recursive = any(
            ("recursive".startswith(o[2:]) and len(o) > 2)
            if o.startswith("--")
            else ("r" in o or "R" in o)
            for o in options
        )
        if recursive:
            for target in targets:
                self.check_removal(target, "rm -r")

    def check_find(self, words: list[str]) -> None:
        if "-delete" in words:
            for start in find_starts(words):
                self.check_removal(start + "/" + UNKNOWN, "find -delete")

    def check_removal(self, target: str, what: str) -> None:
        """Recursive removal is fine strictly inside the project (not its .git) or inside an
        allow_rm_in directory; a computed path only below a named directory."""
        text = os.path.expanduser(target) if target.startswith("~") else target
        if UNKNOWN in text:
            head = text.split(UNKNOWN, 1)[0]
            if not head.endswith("/"):
                raise Blocked(f"could not check {what} of a computed path {shown(target)}; name it")
            bases, contents = [head], True
        elif any(c in text for c in "*?["):
            parts = text.split("/")
            first = next(i for i, part in enumerate(parts) if any(c in part for c in "*?["))
            head = "/".join(parts[:first]) or ("/" if text.startswith("/") else ".")
            if absolute(head, self.cwd) == ROOT and not parts[first].strip("*?."):
                raise Blocked(f"{what} {shown(target)} would remove everything in the project root")
            bases, contents = [head], True
            for match in glob.glob(absolute(text, self.cwd))[:1000]:
                self.check_removal(match.replace(UNKNOWN, ""), what)  # each match itself
        else:
            bases, contents = [text], False
        for base in bases:
            for path in (absolute(base, self.cwd), os.path.realpath(absolute(base, self.cwd))):
                if self.removable(path, contents):
                    continue
                if within(path, os.path.join(ROOT, ".git")):
                    raise Blocked(f"{what} {shown(target)} would remove the git repository")
                if path in ("/", self.home) or within(ROOT, path):
                    raise Blocked(
                        f"{what} {shown(target)} would remove the project, / or the home directory"
                    )
                raise Blocked(
                    f"{what} {shown(target)} is outside the project; if that is intended, add its "
                    "directory to guard.allow_rm_in in tac_bootstrap.yml"
                )

    def removable(self, path: str, contents: bool) -> bool:
        if within(path, os.path.join(ROOT, ".git")):
            return False
        if contents and path == ROOT:
            return True  # a glob in the root that is not all wildcards (checked before)
        if within(ROOT, path):
            return False  # the project root or a directory holding it
        for top in [ROOT, *self.allow_rm]:
            if (path == top and contents) or (path != top and within(path, top)):
                return True
        return False

    def check_git(self, words: list[str]) -> None:
        args = words[1:]
        while args and args[0].startswith("-"):  # git's own options: -C dir, -c k=v, ...
            option = args.pop(0)
            if option in ("-C", "-c", "--git-dir", "--work-tree", "--namespace") and args:
                args.pop(0)
        if not args:
            return
        sub, rest = args[0], args[1:]
        options, operands = split_options(rest)
        if sub == "push":
            for option in options:
                if option.startswith("--"):
                    name = option[2:].split("=", 1)[0]
                    if name and any(full.startswith(name) for full in FORCING):
                        raise Blocked(f"git push {option} is a force push; push without forcing")
                    if name in ("delete", "del", "dele", "delet"):
                        self.check_delete(operands)
                elif short_flag(option, "f", "o"):
                    raise Blocked(f"git push {option} is a force push; push without forcing")
                elif short_flag(option, "d", "o"):
                    self.check_delete(operands)
            for index, operand in enumerate(operands):
                if operand.startswith("+"):
                    raise Blocked(f"git push {shown(operand)} is a force push (+refspec)")
                if index and operand.startswith(UNKNOWN):
                    raise Blocked(
                        f"could not check git push of a computed refspec {shown(operand)}"
                    )
                if operand.startswith(":") and operand[1:].split("/")[-1] in MAIN_BRANCHES:
                    raise Blocked(f"git push {shown(operand)} deletes the main branch")
        elif sub == "add":
            for option in options:
                if option.startswith("--") and "force".startswith(option[2:] or "x"):
                    raise Blocked(f"git add {option} adds ignored files (secrets, databases)")
                if short_flag(option, "f", ""):
                    raise Blocked(f"git add {option} adds ignored files (secrets, databases)")

    def check_delete(self, operands: list[str]) -> None:
        for operand in operands[1:]:
            if operand.split(":")[-1].split("/")[-1] in MAIN_BRANCHES:
                raise Blocked(f"git push --delete {shown(operand)} deletes the main branch")

    def check_file_tool(self, tool_input: dict[str, object]) -> None:
        for key in ("file_path", "notebook_path", "path"):
            value = tool_input.get(key)
            if isinstance(value, str) and value:
                reason = self.protected_reason(value)
                if reason:
                    raise Blocked(f"{reason}; it may not be read or changed by the agent")


def shown(text: str) -> str:
    """A word as a reason shows it: quoted, with $(...) for what only the shell knows."""
    return repr(text.replace(UNKNOWN, "$(...)"))


def short_flag(option: str, letter: str, takes_value: str) -> bool:
    """Whether combined short options (-uf) contain `letter`, before an option's value."""
    if option.startswith("--") or not option.startswith("-"):
        return False
    for ch in option[1:]:
        if ch == letter:
            return True
        if ch in takes_value:
            return False
    return False


def split_options(args: list[str]) -> tuple[list[str], list[str]]:
    options: list[str] = []
    operands: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            return options, operands + args[index + 1 :]
        (options if arg.startswith("-") and arg != "-" else operands).append(arg)
    return options, operands


def absolute(path: str, base: str) -> str:
    return os.path.normpath(os.path.join(base, path))


def within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def relative(path: str) -> str:
    return os.path.relpath(path, ROOT) if within(path, ROOT) else path


def listed(config: dict[str, object], key: str) -> list[object]:
    value = config.get(key)
    return list(value) if isinstance(value, list) else []


def database_file(database: str) -> str:
    """The SQLite file a database setting names ("" for PostgreSQL)."""
    text = database.strip()
    if re.match(r"(?i)postgres(ql)?(\+\w+)?://", text) or "=" in text.split("?")[0]:
        return ""
    text = re.sub(r"(?i)^sqlite:///", "", text)
    text = re.sub(r"^file:", "", text).split("?")[0]
    return text


def load_config(text: str, defaults: dict[str, object]) -> dict[str, object]:
    """The rendered settings; the defaults (no allow_rm_in) when they do not parse."""
    try:
        config = json.loads(text)
        if isinstance(config, dict):
            return config
    except ValueError:
        pass
    return dict(defaults)


def check(event: object, config: dict[str, object]) -> None:
    """Raise Blocked to refuse the tool call the PreToolUse event describes."""
    if config.get("enabled") is False:
        return
    if not isinstance(event, dict) or not isinstance(event.get("tool_name"), str):
        raise Blocked("could not check this tool call (the hook input names no tool)")
    tool, tool_input = event["tool_name"], event.get("tool_input")
    cwd = event.get("cwd")
    cwd = cwd if isinstance(cwd, str) and os.path.isabs(cwd) else ROOT
    if tool == "Bash":
        command = tool_input.get("command") if isinstance(tool_input, dict) else None
        if not isinstance(command, str):
            raise Blocked("could not check this Bash call (no command in the hook input)")
        Guard(config, cwd).check_bash(command)
    elif isinstance(tool_input, dict):
        Guard(config, cwd).check_file_tool(tool_input)


def main(config_text: str, defaults: dict[str, object]) -> int:
    """ALLOWED (3) to allow, 2 (reason on stderr) to block; never anything else. The command
    in settings.json turns 3 into 0 and anything else into 2: a guard that did not run to
    the end (truncated, no python3, killed) exits 0 or 1, and that blocks."""
    try:
        data = sys.stdin.buffer.read()
        event = json.loads(data.decode("utf-8", "surrogateescape"))
        check(event, load_config(config_text, defaults))
        return ALLOWED
    except Blocked as exc:
        reason = str(exc)
    except BaseException as exc:  # fail closed: what could not be checked does not run
        reason = f"could not check this tool call ({type(exc).__name__}); the guard failed"
    reason = " ".join(reason.replace(UNKNOWN, "$(...)").split())
    try:
        sys.stderr.buffer.write(f"tool guard: blocked: {reason}\n".encode("utf-8", "replace"))
        sys.stderr.flush()
    except BaseException:
        pass
    return 2
