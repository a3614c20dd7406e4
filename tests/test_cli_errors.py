"""The CLI's error boundary, run as real processes: every failure is one `error:` line on
stderr with the right exit code (2 usage/config, 1 failed operation), never a traceback; with
--json stdout holds exactly one JSON document, even for click's own parse errors; --json never
prompts; numbers are bounded; render, upgrade and doctor find the project from a subdirectory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import ProjectFactory, run_cli, tree_snapshot

ROOT = os.geteuid() == 0
Mount = Callable[[Path, str], Path]


def assert_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """Exactly one `error:` line (the rest warnings), the exit code, no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    if "--json" not in proc.args:  # with --json the human output goes to stderr
        others = [line for line in lines if not line.startswith(("error: ", "warning: "))]
        assert not others, proc.stderr
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


def json_document(stdout: str) -> dict[str, object]:
    """stdout is exactly one JSON document (json.loads refuses trailing data)."""
    document = json.loads(stdout)
    assert isinstance(document, dict), stdout
    return document


def assert_json_error(proc: subprocess.CompletedProcess[str], code: int, command: str) -> None:
    document = json_document(proc.stdout)
    assert document["ok"] is False, document
    assert document["exit_code"] == code == proc.returncode, (document, proc.stderr)
    assert document["command"] == command, document
    assert isinstance(document["error"], str) and document["error"], document


@pytest.fixture(scope="module")
def project_template(project_templates: ProjectFactory) -> Path:
    return project_templates("proj", "--no-git")  # `init proj -y --no-git`, run once a session


@pytest.fixture
def project(project_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "proj"
    shutil.copytree(project_template, target, symlinks=True)
    return target


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[Mount]:
    """Mount a small tmpfs (root only); unmounted afterwards."""
    mounts: list[Path] = []

    def mount(directory: Path, options: str) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(directory)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounts.append(directory)
        return directory

    yield mount
    for directory in reversed(mounts):
        subprocess.run(["umount", "-l", str(directory)], check=False)


def _read_only_dir(tmp_path: Path, mounted: Mount) -> Path:
    """A directory nobody can write into: chmod for a normal user, a read-only mount for root
    (root ignores permission bits)."""
    directory = tmp_path / "readonly"
    if ROOT:
        return mounted(directory, "ro,size=64k")
    directory.mkdir()
    directory.chmod(0o500)
    return directory


# -- 1. OS errors: one line naming the path and the cause ----------------------------------------

LONG_NAME = "a" * 300

INIT_USAGE_CASES = [
    # (arguments after `init`, a text the error line must contain)
    (["x", "-o", "/dev/null"], "--output-dir /dev/null"),
    (["x", "-o", "afile"], "--output-dir afile"),
    (["x", "-o", "/proc"], "--output-dir /proc"),
    (["x", "-o", "/proc/self/status"], "--output-dir /proc/self/status"),
    (["x", "-o", "afile/below"], "--output-dir afile/below"),
    ([LONG_NAME], "NAME is 300 bytes"),
    (["afile"], "afile exists and is not a directory"),
]


@pytest.mark.parametrize(("args", "needle"), INIT_USAGE_CASES, ids=lambda v: str(v)[:30])
@pytest.mark.parametrize("json_flag", [False, True], ids=["human", "json"])
def test_init_refuses_a_bad_argument_before_writing(
    tmp_path: Path, args: list[str], needle: str, json_flag: bool
) -> None:
    (tmp_path / "afile").write_text("in the way\n")
    before = tree_snapshot(tmp_path)
    flags = ["--json"] if json_flag else []
    proc = run_cli("init", *args, "-y", "--no-git", *flags, cwd=tmp_path)
    assert_error(proc, 2, needle)
    if json_flag:
        assert_json_error(proc, 2, "init")
    else:
        assert proc.stdout == ""
    assert tree_snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_init_into_a_read_only_directory_is_a_usage_error(
    tmp_path: Path,
    mounted: Mount,
) -> None:
    readonly = _read_only_dir(tmp_path, mounted)
    proc = run_cli("init", "x", "-o", readonly, "-y", "--no-git", "--json", cwd=tmp_path)
    line = assert_error(proc, 2, f"--output-dir {readonly}")
    assert "Read-only file system" in line or "Permission denied" in line, line
    assert_json_error(proc, 2, "init")
    assert list(readonly.iterdir()) == []


def test_render_into_a_read_only_layer_fails_in_one_line(
    project: Path,
    mounted: Mount,
) -> None:
    """Not the user's argument but a directory inside the project: exit 1, path named."""
    shutil.rmtree(project / ".claude")
    readonly = project / ".claude"
    if ROOT:
        mounted(readonly, "ro,size=64k")
    else:
        readonly.mkdir()
        readonly.chmod(0o500)
    proc = run_cli("render", "--json", cwd=project)
    assert_error(proc, 1, ".claude")
    assert_json_error(proc, 1, "render")


def test_init_on_a_full_disk_fails_in_one_line(
    tmp_path: Path,
    mounted: Mount,
) -> None:
    if not ROOT:
        pytest.skip("mounting a small tmpfs needs root")
    full = mounted(tmp_path / "full", "size=64k")
    (full / "filler").write_bytes(b"x" * (64 * 1024 - 4096))
    proc = run_cli("init", "x", "-o", full, "-y", "--no-git", "--json", cwd=tmp_path)
    line = assert_error(proc, 1)
    assert "No space left on device" in line or "space" in line, line
    assert_json_error(proc, 1, "init")


def _db_cases(tmp_path: Path, project: Path) -> list[tuple[list[str], dict[str, str], int, str]]:
    (tmp_path / "afile").write_text("x")
    unreadable = tmp_path / "unreadable"
    unreadable.mkdir()
    return [
        (["db", "status", "--project", "/dev/null"], {}, 2, "/dev/null"),
        (["db", "status", "--project", str(tmp_path / "afile")], {}, 2, "afile"),
        (["db", "status", "--project", "/proc/self"], {}, 2, "tac_bootstrap.yml"),
        (["db", "logs", "--project", str(unreadable)], {}, 2, "unreadable"),
        (["db", "init", "--project", str(project)], {"TAC_ORCHESTRATOR_DB": str(tmp_path)}, 1, ""),
        (["db", "migrate", "--project", str(project)], {"TAC_ORCHESTRATOR_DB": "/proc/x"}, 1, ""),
        (["db", "init", "--project", str(project)], {"TAC_ORCHESTRATOR_DB": "/proc/x/y.db"}, 1, ""),
        (["db", "backup", "/proc/x.db", "--project", str(project)], {}, 2, "/proc/x.db"),
        (["db", "export", "/proc/x.json", "--project", str(project)], {}, 2, "/proc/x.json"),
        (["db", "copy", "/dev/null", "out.db", "--project", str(project)], {}, 2, "SOURCE"),
        (["db", "copy", "/proc/self", "out.db", "--project", str(project)], {}, 2, "SOURCE"),
    ]


def test_db_commands_on_odd_paths_fail_in_one_line(tmp_path: Path, project: Path) -> None:
    run_cli("db", "init", "--project", project, cwd=tmp_path)
    for args, env, _code, needle in _db_cases(tmp_path, project):
        for flags in ([], ["--json"]):
            proc = run_cli(*args, *flags, cwd=tmp_path, env=env)
            assert proc.returncode in (1, 2), (args, env, proc.stderr)
            assert_error(proc, proc.returncode, needle)
            if flags:
                assert_json_error(proc, proc.returncode, " ".join(args[:2]))


def test_a_closed_or_broken_stdout_is_not_a_traceback(project: Path) -> None:
    argv = [sys.executable, "-m", "tac_bootstrap", "render", "--dry-run", "--json"]
    # stdout closed (`>&-`): the command still runs; nothing to print to.
    closed = subprocess.run(
        argv,
        cwd=project,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        pass_fds=(),
        preexec_fn=lambda: os.close(1),
        timeout=120,
    )
    assert "Traceback" not in closed.stderr and "Exception ignored" not in closed.stderr
    assert closed.returncode in (0, 1), closed.stderr
    # A reader that went away (`| head -c0`): a broken pipe, exit 1, silent.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        broken = subprocess.run(
            argv,
            cwd=project,
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in broken.stderr and "Exception ignored" not in broken.stderr
    assert broken.returncode == 1, broken.stderr
    assert "error:" not in broken.stderr  # silent, as `git log | head` is
    # A full stdout (/dev/full): one line saying the output could not be written.
    with open("/dev/full", "w") as full:
        nospace = subprocess.run(
            argv,
            cwd=project,
            stdin=subprocess.DEVNULL,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert "Traceback" not in nospace.stderr and "Exception ignored" not in nospace.stderr
    assert nospace.returncode == 1, nospace.stderr
    assert nospace.stderr.count("error: ") == 1, nospace.stderr


# -- 2. numbers: bounded, a usage error stating the range ----------------------------------------

NUMBER_CASES = [
    (["db", "logs", "--since", "99999999999d"], "at most 36500d"),
    (["db", "logs", "--since", "1e400w"], "36500d"),
    (["db", "logs", "-n", str(2**64)], "1 to 1000000"),
    (["db", "logs", "-n", "0"], "1 to 1000000"),
    (["db", "logs", "-n", "-5"], "1 to 1000000"),
    (["db", "logs", "-n", "1.5"], "1 to 1000000"),
    (["db", "prune", "--older-than", "inf"], "0 to 36500"),
    (["db", "prune", "--older-than", "1e10"], "0 to 36500"),
    (["db", "prune", "--older-than", "nan"], "0 to 36500"),
    (["db", "prune", "--older-than", "-1"], "0 to 36500"),
    (["db", "prune", "--older-than", "1e309"], "0 to 36500"),
    (["db", "import-transcripts", "--since", "inf"], "0 to 36500"),
    (["db", "import-transcripts", "--since", "-0.5"], "0 to 36500"),
    (["db", "copy", "a", "b", "--batch-size", str(10**30)], "1 to 100000"),
    (["db", "copy", "a", "b", "--batch-size", "0"], "1 to 100000"),
]


@pytest.mark.parametrize(("args", "needle"), NUMBER_CASES, ids=lambda v: " ".join(v)[:40])
def test_numbers_out_of_range_are_usage_errors(
    tmp_path: Path, project: Path, args: list[str], needle: str
) -> None:
    proc = run_cli(*args, "--json", cwd=project)
    assert_error(proc, 2, needle, args[2] if args[2].startswith("-") else args[4])
    assert_json_error(proc, 2, " ".join(args[:2]))


# -- 3. --json: one document on failure; never a prompt ------------------------------------------

JSON_FAILURES = [
    # (arguments, exit code, command name in the document)
    (["render", "--bogus", "--json"], 2, "render"),
    (["render", "--json", "--check", "--force"], 2, "render"),
    (["db", "stats", "--by", "nothing", "--json"], 2, "db stats"),
    (["db", "prune", "--json"], 2, "db prune"),  # missing --older-than
    (["db", "nonexistent", "--json"], 2, "db"),
    (["init", "--json"], 2, "init"),  # missing NAME
    (["upgrade", "--json", "nowhere"], 2, "upgrade"),
    (["doctor", "--json", "nowhere"], 2, "doctor"),
    (["add-agentic", "nowhere", "--json"], 2, "add-agentic"),
]


@pytest.mark.parametrize(("args", "code", "command"), JSON_FAILURES, ids=lambda v: str(v)[:40])
def test_a_failure_with_json_prints_one_error_document(
    project: Path, args: list[str], code: int, command: str
) -> None:
    proc = run_cli(*args, cwd=project)
    assert_error(proc, code)
    assert_json_error(proc, code, command)


def test_conflicts_with_json_print_one_document(project: Path) -> None:
    (project / "adws" / "README.md").write_text("my own notes\n")  # an edited whole file
    proc = run_cli("render", "--json", cwd=project)
    assert proc.returncode == 1, proc.stderr
    document = json_document(proc.stdout)
    assert document["ok"] is False and document["command"] == "render"


def _on_terminal(argv: list[str], cwd: Path, answers: bytes) -> subprocess.CompletedProcess[str]:
    """Run with stdin a real pseudo-terminal holding ``answers`` (so an old prompt would be
    answered, not hang), stdout and stderr pipes."""
    master, slave = os.openpty()
    try:
        os.write(master, answers)
        return subprocess.run(
            [sys.executable, "-m", "tac_bootstrap", *argv],
            cwd=cwd,
            stdin=slave,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "NO_COLOR": "1", "TERM": "dumb"},
        )
    finally:
        os.close(slave)
        os.close(master)


def test_init_json_at_a_terminal_never_prompts(tmp_path: Path) -> None:
    proc = _on_terminal(["init", "proj", "--no-git", "--json"], tmp_path, b"\n" * 8)
    assert proc.returncode == 0, proc.stderr
    document = json_document(proc.stdout)  # nothing but the document: no prompt text
    assert document["ok"] is True and document["command"] == "init"
    assert "Language" not in proc.stdout + proc.stderr
    assert (tmp_path / "proj" / "tac_bootstrap.yml").is_file()


def test_add_agentic_json_at_a_terminal_never_prompts(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "repo"\n')
    proc = _on_terminal(["add-agentic", ".", "--json"], tmp_path, b"\n" * 12)
    assert proc.returncode in (0, 1), proc.stderr
    document = json_document(proc.stdout)
    assert document["command"] == "add-agentic"
    assert "Language" not in proc.stdout + proc.stderr


NEW_IN_THIS_VERSION = ".claude/commands/bug.md"


def test_upgrade_json_without_yes_refuses_instead_of_prompting(project: Path) -> None:
    """The safe choice: --json cannot ask, so without --yes nothing changes (exit 2)."""
    new_file = project / NEW_IN_THIS_VERSION
    new_file.unlink()  # and forget it: to upgrade, a file new in this version
    manifest_path = project / "tac_bootstrap.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["files"][NEW_IN_THIS_VERSION]
    manifest_path.write_text(json.dumps(manifest, indent=2))
    before = tree_snapshot(project)
    proc = _on_terminal(["upgrade", "--json"], project, b"y\n")
    assert_error(proc, 2, "--json never prompts", "--yes")
    assert_json_error(proc, 2, "upgrade")
    assert tree_snapshot(project) == before
    applied = run_cli("upgrade", "--json", "--yes", cwd=project)
    assert applied.returncode == 0, applied.stderr
    assert json_document(applied.stdout)["ok"] is True
    assert new_file.is_file()


# -- 4. the project is found from a subdirectory -------------------------------------------------


def test_render_upgrade_doctor_find_the_project_from_a_subdirectory(project: Path) -> None:
    below = project / "src" / "deep" / "er"
    below.mkdir(parents=True)
    for args in (["render", "--check"], ["upgrade", "--dry-run"], ["db", "status"]):
        proc = run_cli(*args, "--json", cwd=below)
        assert proc.returncode == 0, (args, proc.stderr)
        json_document(proc.stdout)
    # doctor may fail a check (no `claude` on this machine), but it checks this project
    doctor = run_cli("doctor", "--json", cwd=below)
    assert doctor.returncode in (0, 1), doctor.stderr
    root = json_document(doctor.stdout)["path"]
    assert (below / str(root)).resolve() == project.resolve(), root


def test_no_project_names_every_directory_searched(tmp_path: Path) -> None:
    below = tmp_path / "a" / "b"
    below.mkdir(parents=True)
    searched = [below.resolve(), *below.resolve().parents]
    for args in (["render"], ["upgrade"], ["doctor"], ["db", "status"], ["db", "logs"]):
        proc = run_cli(*args, cwd=below)
        line = assert_error(proc, 2, "tac_bootstrap.yml")
        for directory in searched:
            assert str(directory) in line, (args, directory, line)


def test_an_odd_config_below_a_project_is_reported_not_skipped(project: Path) -> None:
    """A tac_bootstrap.yml that is no regular file ends the walk: its own error, not "none
    found" and not the parent project's config."""
    below = project / "sub"
    below.mkdir()
    os.mkfifo(below / "tac_bootstrap.yml")
    for args in (["render"], ["doctor"], ["db", "status"]):
        proc = run_cli(*args, cwd=below)
        line = assert_error(proc, 2, "FIFO")
        assert "no tac_bootstrap.yml found" not in line, (args, line)


def test_an_explicit_path_is_taken_as_it_is(project: Path) -> None:
    """PATH given: its own config, no walk upwards (as --project for the db commands)."""
    below = project / "src"
    below.mkdir()
    proc = run_cli("render", "--check", below, cwd=project)
    assert_error(proc, 2, "tac_bootstrap.yml")


def test_interrupted_with_json_prints_one_error_document(tmp_path: Path) -> None:
    """Ctrl-C while `init --json` waits for git: exit 130, one line, one document. A pre-commit
    hook says when it runs (a FIFO) and blocks, so the signal lands at a known moment."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    ready, block = tmp_path / "ready", tmp_path / "block"
    os.mkfifo(ready)
    os.mkfifo(block)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    hook = hooks / "pre-commit"
    hook.write_text(f"#!/bin/sh\necho ready > '{ready}'\nread line < '{block}'\n")
    hook.chmod(0o755)
    env = {
        **os.environ,
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "core.hooksPath",
        "GIT_CONFIG_VALUE_0": str(hooks),
    }
    work = tmp_path / "work"
    work.mkdir()
    child = subprocess.Popen(
        [sys.executable, "-m", "tac_bootstrap", "init", "proj", "-y", "--json"],
        cwd=work,
        env=env,
        # A runner started in the background of a non-interactive shell ignores SIGINT, and a
        # child inherits that (Python then keeps it ignored): give the CLI the default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with open(ready) as signal_from_hook:  # opens once the hook writes: it is running
            assert signal_from_hook.readline().strip() == "ready"
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=120)
    finally:
        _release(block)
        if child.poll() is None:
            child.kill()
            child.wait()
    proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    assert_error(proc, 130, "interrupted")
    assert_json_error(proc, 130, "init")


def _release(fifo: Path) -> None:
    """Let a hook blocked reading ``fifo`` go: opening and closing the write end is an EOF."""
    with contextlib.suppress(OSError):  # ENXIO: nobody reads it any more
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.parametrize("args", [["render"], ["doctor"], ["db", "status"], ["init", "x", "-y"]])
def test_a_deleted_current_directory_is_one_line(tmp_path: Path, args: list[str]) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()

    def enter_and_delete() -> None:
        os.chdir(gone)
        os.rmdir(gone)

    proc = subprocess.run(
        [sys.executable, "-m", "tac_bootstrap", *args, "--json"],
        cwd=tmp_path,
        preexec_fn=enter_and_delete,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_error(proc, 2, "current directory no longer exists")
    assert_json_error(proc, 2, args[0] if args[0] != "db" else "db status")


def test_add_agentic_into_a_directory_it_cannot_write_is_a_usage_error(
    tmp_path: Path, mounted: Mount
) -> None:
    readonly = _read_only_dir(tmp_path, mounted)
    for path in ("/proc", str(readonly)):
        proc = run_cli("add-agentic", path, "-y", "--json", cwd=tmp_path)
        assert_error(proc, 2, f"PATH {path}")
        assert_json_error(proc, 2, "add-agentic")
    assert list(readonly.iterdir()) == []


def test_prune_json_without_yes_refuses_instead_of_prompting(project: Path) -> None:
    from .test_db_cli import populate

    populate(project)
    proc = _on_terminal(["db", "prune", "--older-than", "0", "--json"], project, b"y\n")
    assert_error(proc, 2, "--json never prompts", "--yes")
    assert_json_error(proc, 2, "db prune")
    status = run_cli("db", "status", "--json", cwd=project)
    counts = json_document(status.stdout)["counts"]
    assert isinstance(counts, dict) and counts["prompts"] == 12  # nothing deleted
