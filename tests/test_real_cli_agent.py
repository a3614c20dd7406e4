"""The agent runner and the workflows with the real Claude Code CLI (tests/real_claude.py).

The model API is tests/fake_anthropic.py; everything else is real: the CLI, a generated
project with its settings, commands and hooks, the database. For every prompt the database
must equal what the CLI's own result line reports.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.agent import PromptRequest, run_prompt
from tac_bootstrap.runtime.workflow import claude_permissions

from .conftest import run_cli
from .fake_anthropic import Block, FakeAnthropic, Fault, Request, text, tool_use
from .real_claude import claude_env

MIGRATIONS = Path(__file__).resolve().parent.parent / "adws" / "schema" / "migrations"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated project (its settings.json, commands and hooks), never trusted by the CLI."""
    root = tmp_path_factory.mktemp("real-cli")
    result = run_cli("init", "demo", "-o", root, "--yes", "--no-git")
    assert result.returncode == 0, result.stderr
    return root / "demo"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[OrchestratorDB]:
    with OrchestratorDB.open(tmp_path / "orch.db", migrations_dir=MIGRATIONS) as opened:
        yield opened


def new_agent(db: OrchestratorDB) -> str:
    owner = db.register_orchestrator_agent("real_cli_test", "builder")
    return db.start_agent(owner.id, "real-cli-session", name="real").id


def request(project: Path, tmp_path: Path, api: FakeAnthropic, home: Path, **more: Any) -> Any:
    allow, deny = claude_permissions(project, ".claude")
    values: dict[str, Any] = {
        "prompt": "Run it [[script:tool_round]]",
        "model": "sonnet",
        "working_dir": project,
        "output_file": tmp_path / "raw.jsonl",
        "stderr_file": tmp_path / "stderr.log",
        "cli_max_retries": 1,
        "timeout_seconds": 120,
        "allowed_tools": allow,
        "disallowed_tools": deny,
        "env": claude_env(api.base_url, home, TAC_HOOK_FALLBACK_LOG=str(tmp_path / "fb.jsonl")),
    }
    values.update(more)
    return PromptRequest(**values)


def last_result(raw: Path) -> dict[str, Any]:
    results = [
        json.loads(line)
        for line in raw.read_text(encoding="utf-8").splitlines()
        if '"type":"result"' in line.replace(" ", "")
    ]
    assert results, raw.read_text()[-2000:]
    last: dict[str, Any] = results[-1]
    return last


def assert_prompt_equals_result_line(db: OrchestratorDB, prompt_id: str, raw: Path) -> None:
    """Tokens of every kind, cost, model, session id, status and error: as the CLI said."""
    line = last_result(raw)
    prompt = db.get_prompt(prompt_id)
    usage = {m: u for m, u in (line.get("modelUsage") or {}).items() if m != "<synthetic>"}
    kinds = {
        "input_tokens": "inputTokens",
        "output_tokens": "outputTokens",
        "cache_creation_tokens": "cacheCreationInputTokens",
        "cache_read_tokens": "cacheReadInputTokens",
    }
    for column, key in kinds.items():
        assert getattr(prompt, column) == sum(u.get(key, 0) for u in usage.values()), column
    assert prompt.cost_usd == pytest.approx(line["total_cost_usd"], abs=1e-12)
    assert prompt.cli_session_id == line["session_id"]
    failed = line["is_error"] or line["subtype"] != "success"
    assert prompt.status.value == ("failed" if failed else "completed")
    if failed:
        detail = "; ".join(line.get("errors") or []) or (line.get("result") or "")
        assert prompt.error_message and prompt.error_message in detail.splitlines()[0]
    if usage:
        assert prompt.model in usage
        shares = db.prompt_model_usage(prompt.id)
        assert {s.model for s in shares} == set(usage)
        for share in shares:
            assert share.cost_usd == pytest.approx(usage[share.model]["costUSD"], abs=1e-12)
    assert prompt.model != "<synthetic>"


# -- scripted conversations ------------------------------------------------------------------


def tool_round(project: Path) -> Any:
    def respond(request: Request) -> list[Block]:
        if not request.has_tools:
            return [text("side answer")]
        if "[[script:subagent]]" in request.first_user_text and "[[sub]]" not in (
            request.first_user_text
        ):
            if request.turn == 0:
                return [
                    tool_use(
                        "Agent",
                        {
                            "description": "read the notes",
                            "prompt": "[[sub]] read notes.txt",
                            "subagent_type": "general-purpose",
                            "model": "haiku",
                        },
                    )
                ]
            return [text("All done.")]
        if "[[sub]]" in request.first_user_text:
            if request.turn == 0:
                return [tool_use("Read", {"file_path": str(project / "README.md")})]
            return [text("sub done")]
        steps = [
            tool_use("Bash", {"command": "echo hello", "description": "say hello"}),
            tool_use("Write", {"file_path": str(project / "notes.txt"), "content": "notes\n"}),
            tool_use("Read", {"file_path": str(project / "notes.txt")}),
        ]
        return [steps[request.turn]] if request.turn < len(steps) else [text("All done.")]

    return respond


def test_a_tool_round_is_recorded_exactly_as_the_result_line_reports(
    claude_cli: Path, generated: Path, tmp_path: Path, claude_home: Path, db: OrchestratorDB
) -> None:
    with FakeAnthropic(tool_round(generated)) as api:
        agent_id = new_agent(db)
        outcome = run_prompt(
            db, agent_id, request(generated, tmp_path, api, claude_home), cli=str(claude_cli)
        )
    assert outcome.success, outcome.error
    assert outcome.tool_uses == ["Bash", "Write", "Read"]
    assert outcome.permission_denials == []  # untrusted workspace, yet nothing was denied
    assert (generated / "notes.txt").read_text() == "notes\n"
    [prompt] = db.list_prompts(agent_id=agent_id)
    assert_prompt_equals_result_line(db, prompt.id, tmp_path / "raw.jsonl")
    # Four model calls: cache tokens are counted apart from input, four times each.
    assert (prompt.input_tokens, prompt.cache_read_tokens) == (4 * 120, 4 * 1000)
    agent = db.get_agent(agent_id)
    assert agent.cache_creation_tokens == prompt.cache_creation_tokens
    assert agent.model == prompt.model
    # The allow list names only tools this CLI has: no warning about unknown tools.
    allow, _ = claude_permissions(generated, ".claude")
    names = {rule.split("(")[0] for rule in allow}
    assert names <= set(outcome.available_tools)


def test_a_subagent_on_another_model_is_split_by_model(
    claude_cli: Path, generated: Path, tmp_path: Path, claude_home: Path, db: OrchestratorDB
) -> None:
    with FakeAnthropic(tool_round(generated)) as api:
        agent_id = new_agent(db)
        req = request(generated, tmp_path, api, claude_home, prompt="Go [[script:subagent]]")
        outcome = run_prompt(db, agent_id, req, cli=str(claude_cli))
        requested_models = {r.model for r in api.main_requests()}
    assert outcome.success, outcome.error
    [prompt] = db.list_prompts(agent_id=agent_id)
    assert_prompt_equals_result_line(db, prompt.id, tmp_path / "raw.jsonl")
    line = last_result(tmp_path / "raw.jsonl")
    # The result's plain `usage` undercounts a subagent's tokens; modelUsage does not.
    everything = sum(u["outputTokens"] for u in line["modelUsage"].values())
    assert prompt.output_tokens == everything >= line["usage"]["output_tokens"]
    assert len(requested_models) == 2, requested_models  # the subagent ran on haiku
    assert len(line["modelUsage"]) == 2
    rows = db.rollup("model", session_id="real-cli-session")
    assert {r.key for r in rows} == set(line["modelUsage"])  # each model its own share
    assert sum(r.cost_usd for r in rows) == pytest.approx(prompt.cost_usd)


FAULTS = [
    (Fault("http", status=429), "rate_limit"),
    (Fault("http", status=529), "overloaded"),
    (Fault("http", status=500), "server_error"),
    (Fault("http", status=401), "auth"),
    (
        Fault("http", status=400, message="Your credit balance is too low to access the API."),
        "quota",
    ),
]


@pytest.mark.parametrize(("fault", "kind"), FAULTS, ids=[k for _, k in FAULTS])
def test_a_persistent_api_error_is_classified_and_not_retried_on_top_of_the_cli(
    claude_cli: Path,
    generated: Path,
    tmp_path: Path,
    claude_home: Path,
    db: OrchestratorDB,
    fault: Fault,
    kind: str,
) -> None:
    with FakeAnthropic(tool_round(generated)) as api:
        api.sticky_fault = fault
        agent_id = new_agent(db)
        req = request(generated, tmp_path, api, claude_home, max_retries=3)
        outcome = run_prompt(db, agent_id, req, cli=str(claude_cli))
        sent = len(api.main_requests())
    assert outcome.failure_kind == kind
    [prompt] = db.list_prompts(agent_id=agent_id)  # no second run of the whole prompt
    assert (prompt.failure_kind, prompt.model) != (None, "<synthetic>")
    assert prompt.failure_kind == kind
    assert prompt.cli_retries == len(outcome.retries)
    assert sent == prompt.cli_retries + 1  # every request the CLI made, and no more
    assert_prompt_equals_result_line(db, prompt.id, tmp_path / "raw.jsonl")


@pytest.mark.parametrize("kind", ["cut", "malformed"])
def test_a_cut_or_malformed_stream_is_transient_and_the_cli_recovers(
    claude_cli: Path,
    generated: Path,
    tmp_path: Path,
    claude_home: Path,
    db: OrchestratorDB,
    kind: str,
) -> None:
    with FakeAnthropic(tool_round(generated)) as api:
        api.queue(Fault(kind))
        agent_id = new_agent(db)
        outcome = run_prompt(
            db, agent_id, request(generated, tmp_path, api, claude_home), cli=str(claude_cli)
        )
    assert outcome.success, outcome.error
    [prompt] = db.list_prompts(agent_id=agent_id)
    assert_prompt_equals_result_line(db, prompt.id, tmp_path / "raw.jsonl")
    if kind == "cut":
        assert prompt.cli_retries == 1  # recorded, as the CLI announced it
    else:
        # The CLI's complaint about the bad chunk is kept (stderr), not dropped.
        assert "parse" in (tmp_path / "stderr.log").read_text().lower()


def test_a_slow_answer_past_the_phase_timeout_is_recorded_as_timeout(
    claude_cli: Path, generated: Path, tmp_path: Path, claude_home: Path, db: OrchestratorDB
) -> None:
    with FakeAnthropic(tool_round(generated)) as api:
        api.sticky_fault = Fault("slow", delay_seconds=30)
        agent_id = new_agent(db)
        req = request(generated, tmp_path, api, claude_home, timeout_seconds=4)
        outcome = run_prompt(db, agent_id, req, cli=str(claude_cli))
    assert outcome.failure_kind == "timeout"
    [prompt] = db.list_prompts(agent_id=agent_id)
    assert (prompt.status.value, prompt.failure_kind) == ("failed", "timeout")


def test_max_turns_and_budget_stop_the_cli_and_keep_the_usage_it_spent(
    claude_cli: Path, generated: Path, tmp_path: Path, claude_home: Path, db: OrchestratorDB
) -> None:
    with FakeAnthropic(tool_round(generated)) as api:
        agent_id = new_agent(db)
        turns = run_prompt(
            db, agent_id, request(generated, tmp_path, api, claude_home, max_turns=2),
            cli=str(claude_cli),
        )  # fmt: skip
        assert turns.failure_kind == "max_turns"
        assert turns.error == "Reached maximum number of turns (2)"  # from errors[]
        [first] = db.list_prompts(agent_id=agent_id)
        assert_prompt_equals_result_line(db, first.id, tmp_path / "raw.jsonl")
        (tmp_path / "raw.jsonl").unlink()
        budget = run_prompt(
            db, agent_id, request(generated, tmp_path, api, claude_home, max_budget_usd=0.0001),
            cli=str(claude_cli),
        )  # fmt: skip
    assert budget.failure_kind == "budget"
    latest = db.list_prompts(agent_id=agent_id)[0]
    assert latest.failure_kind == "budget"
    # The result's `usage` is all zeros after a budget stop; modelUsage has what was spent.
    assert latest.input_tokens > 0 and latest.cost_usd > 0
    assert_prompt_equals_result_line(db, latest.id, tmp_path / "raw.jsonl")


def test_without_the_command_line_permissions_an_untrusted_workspace_denies_and_it_is_recorded(
    claude_cli: Path, generated: Path, tmp_path: Path, claude_home: Path, db: OrchestratorDB
) -> None:
    """What the workflows did before: rely on settings.json's allow list, which a fresh
    clone's CLI ignores. The denial is recorded as such instead of a misleading error."""
    with FakeAnthropic(tool_round(generated)) as api:
        agent_id = new_agent(db)
        req = request(generated, tmp_path, api, claude_home, allowed_tools=[])
        outcome = run_prompt(db, agent_id, req, cli=str(claude_cli))
    assert outcome.permission_denials, "the CLI trusted a fresh workspace"
    [prompt] = db.list_prompts(agent_id=agent_id)
    assert [d["tool_name"] for d in prompt.permission_denials] == [
        d["tool_name"] for d in outcome.permission_denials
    ]
    logs = db.recent_logs(agent_id=agent_id, limit=50)
    assert any(r.message.startswith("permission denied: ") for r in logs)


# -- slash commands: positional arguments are 0-based in the real CLI -------------------------


def expanded_prompt(
    claude_cli: Path, project: Path, home: Path, prompt: str, tmp_path: Path
) -> str:
    """What the model receives for a slash command, as the real CLI expands it."""
    seen: list[str] = []

    def respond(request: Request) -> list[Block]:
        if request.has_tools:
            seen.append(request.all_text)
        return [text("ok")]

    with FakeAnthropic(respond) as api:
        env = claude_env(api.base_url, home, TAC_HOOK_FALLBACK_LOG=str(tmp_path / "fb.jsonl"))
        done = subprocess.run(
            [str(claude_cli), "-p", prompt, "--output-format", "stream-json", "--verbose"],
            cwd=project, env=env, capture_output=True, text=True, timeout=120,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert seen, done.stdout[-2000:]
    return seen[0]


@pytest.mark.parametrize("command", ["feature", "bug", "chore"])
def test_planning_commands_get_the_adw_id_and_the_whole_issue(
    claude_cli: Path, generated: Path, claude_home: Path, tmp_path: Path, command: str
) -> None:
    seen = expanded_prompt(
        claude_cli, generated, claude_home, f"/{command} a1b2c3d4 Export orders as CSV", tmp_path
    )
    assert "**adw_id:** `a1b2c3d4`" in seen
    assert f"`{command}-<adw_id>-<slug>.md`" in seen or "a1b2c3d4` exactly" in seen
    assert "`Export`" not in seen  # the second word is not taken for the adw_id
    assert "a1b2c3d4 Export orders as CSV" in seen


def test_pull_request_and_commit_get_their_positional_arguments(
    claude_cli: Path, generated: Path, claude_home: Path, tmp_path: Path
) -> None:
    seen = expanded_prompt(
        claude_cli, generated, claude_home, "/pull_request specs/feature-x.md 42", tmp_path
    )
    assert "the plan `specs/feature-x.md`" in seen
    assert "`Closes #42`" in seen
    seen = expanded_prompt(claude_cli, generated, claude_home, "/commit feature add CSV", tmp_path)
    assert "**Type:** `feature`" in seen


def test_no_command_uses_one_based_positional_arguments(generated: Path) -> None:
    for command in (generated / ".claude" / "commands").glob("*.md"):
        body = command.read_text(encoding="utf-8")
        assert not re.search(r"\$[1-9]", body), command.name


# -- a whole workflow run ----------------------------------------------------------------------


def acting_model(project: Path) -> Any:
    """A scripted model that does what each slash command asks, from the expanded prompt."""

    def respond(request: Request) -> list[Block]:
        if not request.has_tools:
            return [text("side answer")]
        prompt = request.first_user_text
        named = re.search(r"<command-name>/(\w+)</command-name>", prompt)
        command = named.group(1) if named else ""
        if command in ("feature", "bug", "chore"):
            adw_id = re.search(r"\*\*adw_id:\*\* `([^`]+)`", prompt)
            assert adw_id, prompt[-3000:]
            plan = f"specs/{command}-{adw_id.group(1)}-health-check.md"
            if request.turn == 0:
                return [
                    tool_use("Write", {"file_path": str(project / plan), "content": "# plan\n"})
                ]
            return [text(plan)]
        if command == "implement":
            if request.turn == 0:
                target = str(project / "health.py")
                return [tool_use("Write", {"file_path": target, "content": "OK = True\n"})]
            return [text("Implemented.")]
        if command == "test":
            return [text(json.dumps([{"check": "tests", "passed": True, "error": None}]))]
        if command == "review":
            return [text(json.dumps({"success": True, "summary": "ok", "issues": []}))]
        return [text("Done.")]

    return respond


def workflow_env(
    api: FakeAnthropic, cli: Path, home: Path, tmp_path: Path, database: Path
) -> dict[str, str]:
    """A workflow script's environment: the real CLI, the fake API, a database in tmp."""
    return claude_env(
        api.base_url,
        home,
        CLAUDE_CODE_PATH=str(cli),
        TAC_ORCHESTRATOR_DB=str(database),
        TAC_ADW_RUNS_DIR=str(tmp_path / "runs"),
        TAC_HOOK_FALLBACK_LOG=str(tmp_path / "fb.jsonl"),
        TAC_PYTHON=sys.executable,
        # The workflow runs the project's own checks itself: these only report.
        TAC_ADW_OVERRIDES=json.dumps(
            {"commands": {"test": "echo ok", "lint": "", "typecheck": ""}}
        ),
    )


def test_a_whole_sdlc_run_on_a_fresh_clone_is_recorded_prompt_by_prompt(
    claude_cli: Path, tmp_path: Path, claude_home: Path
) -> None:
    result = run_cli("init", "shop", "-o", tmp_path, "--yes", "--no-git")
    assert result.returncode == 0, result.stderr
    project = tmp_path / "shop"
    database = tmp_path / "orch.db"
    with FakeAnthropic(acting_model(project)) as api:
        env = workflow_env(api, claude_cli, claude_home, tmp_path, database)
        run = subprocess.run(
            [sys.executable, str(project / "adws" / "adw_sdlc.py"), "Add a health check",
             "--type", "feature", "--adw-id", "r3alc1i0"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert (project / "health.py").read_text() == "OK = True\n"
    with OrchestratorDB.open(database, migrations_dir=MIGRATIONS) as db:
        prompts = db.list_prompts(session_id="r3alc1i0")
        assert len(prompts) == 4
        for prompt in prompts:
            phase = db.get_agent(prompt.agent_id).name
            raw = tmp_path / "runs" / "r3alc1i0" / phase / "raw_output.jsonl"
            assert_prompt_equals_result_line(db, prompt.id, raw)
        [row] = db.rollup("session", session_id="r3alc1i0")
        assert row.cost_usd == pytest.approx(sum(p.cost_usd for p in prompts))


# -- fake_claude.py stays faithful to the real CLI ---------------------------------------------

FAKE_CLAUDE = Path(__file__).resolve().parent.parent / "adws" / "tests" / "fake_claude.py"


def shapes(stdout: str) -> dict[str, dict[str, str]]:
    """Each kind of line (type/subtype, API error or not) -> its keys and their JSON types;
    nested: message.*, and usage.* / modelUsage entry.* of the result."""

    def kind_of(value: Any) -> str:
        if value is None:
            return "null"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return "number"  # JSON has one number type (the CLI prints a zero cost as 0)
        return type(value).__name__

    found: dict[str, dict[str, str]] = {}
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        name = f"{event['type']}/{event.get('subtype') or ''}"
        if event.get("is_api_error_message"):
            name += "/api_error"
        keys = found.setdefault(name, {})
        for key, value in event.items():
            keys[key] = kind_of(value)
        for key, value in (event.get("message") or {}).items():
            keys[f"message.{key}"] = kind_of(value)
        if event["type"] == "result":
            for key, value in (event.get("usage") or {}).items():
                keys[f"usage.{key}"] = kind_of(value)
            for usage in (event.get("modelUsage") or {}).values():
                for key, value in usage.items():
                    keys[f"modelUsage.*.{key}"] = kind_of(value)
    return found


def assert_fake_within_real(
    fake: dict[str, dict[str, str]], real: dict[str, dict[str, str]]
) -> None:
    for name, keys in fake.items():
        assert name in real, f"fake_claude prints {name} lines; the real CLI does not"
        for key, kind in keys.items():
            if key in ("result", "api_error_status") or kind == "null":
                continue  # null or text where the real one has a value: both are valid
            assert key in real[name], f"{name}: fake_claude has {key}, the real CLI does not"
            assert real[name][key] == kind, f"{name}.{key}: fake {kind}, real {real[name][key]}"


# What agent_stream.py reads: both must print it, or the fake tests something the CLI is not.
READ_BY_THE_PARSER = {
    "system/init": {"session_id", "model", "tools", "claude_code_version"},
    "assistant/": {"message.model", "message.content", "parent_tool_use_id"},
    "result/success": {
        "is_error", "subtype", "result", "session_id", "total_cost_usd", "num_turns",
        "duration_ms", "permission_denials", "modelUsage", "api_error_status",
        "terminal_reason", "modelUsage.*.inputTokens", "modelUsage.*.outputTokens",
        "modelUsage.*.cacheReadInputTokens", "modelUsage.*.cacheCreationInputTokens",
        "modelUsage.*.costUSD",
    },
}  # fmt: skip


def test_fake_claude_prints_what_the_real_cli_prints(
    claude_cli: Path, tmp_path: Path, claude_home: Path
) -> None:
    def respond(request: Request) -> list[Block]:
        if request.has_tools and request.turn == 0:
            return [tool_use("Read", {"file_path": str(tmp_path / "README.md")})]
        return [text("Done.")]

    (tmp_path / "README.md").write_text("readme\n")
    with FakeAnthropic(respond) as api:
        env = claude_env(api.base_url, claude_home)
        args = ["--output-format", "stream-json", "--verbose", "--model", "sonnet"]
        real = subprocess.run(
            [str(claude_cli), "-p", "read it", *args, "--allowedTools", "Read"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        api.sticky_fault = Fault("http", status=429)
        real_error = subprocess.run(
            [str(claude_cli), "-p", "read it", *args],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    fake_env = {**env, "FAKE_CLAUDE_STATE_DIR": str(tmp_path / "fake-state")}
    fake = subprocess.run(
        [sys.executable, str(FAKE_CLAUDE), "-p", "/review x.md", *args],
        cwd=tmp_path, env=fake_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    fake_error = subprocess.run(
        [sys.executable, str(FAKE_CLAUDE), "-p", "/review x.md", *args],
        cwd=tmp_path, env={**fake_env, "FAKE_CLAUDE_RATE_LIMIT": "5"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    real_shapes = shapes(real.stdout)
    for name, required in READ_BY_THE_PARSER.items():
        assert required <= set(real_shapes[name]), (name, required - set(real_shapes[name]))
        assert required <= set(shapes(fake.stdout)[name]), name
    assert_fake_within_real(shapes(fake.stdout), real_shapes)
    assert_fake_within_real(shapes(fake_error.stdout), shapes(real_error.stdout))
    assert {"system/api_retry", "assistant//api_error"} <= set(shapes(fake_error.stdout))


def test_a_run_budget_stops_the_workflow_once_spent(
    claude_cli: Path, tmp_path: Path, claude_home: Path
) -> None:
    result = run_cli("init", "shop", "-o", tmp_path, "--yes", "--no-git")
    assert result.returncode == 0, result.stderr
    project = tmp_path / "shop"
    config = project / "tac_bootstrap.yml"
    config.write_text(
        config.read_text().replace("run_budget_usd: 0.0", "run_budget_usd: 0.001"),
    )
    database = tmp_path / "orch.db"
    with FakeAnthropic(acting_model(project)) as api:
        env = workflow_env(api, claude_cli, claude_home, tmp_path, database)

        def sdlc(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, str(project / "adws" / "adw_sdlc.py"), *args],
                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip

        first = sdlc("Add a health check", "--type", "feature", "--adw-id", "budget01")
        sent_first = len(api.main_requests())
        again = sdlc("--adw-id", "budget01")
        sent_again = len(api.main_requests()) - sent_first
    # The plan phase ran with --max-budget-usd 0.001: the CLI stopped it there.
    assert first.returncode == 1, first.stderr
    assert "plan phase failed" in first.stderr
    # Resumed, the run has spent its budget: no phase starts, no request is sent.
    assert again.returncode == 1
    assert "spent" in again.stderr and "budget" in again.stderr
    assert sent_again == 0
    with OrchestratorDB.open(database, migrations_dir=MIGRATIONS) as db:
        [prompt] = db.list_prompts(session_id="budget01")
        assert prompt.failure_kind == "budget" and prompt.cost_usd > 0
        logs = db.recent_logs(limit=100)
        stopped = [r for r in logs if "budget spent" in r.message]
        assert stopped and stopped[0].details["budget_usd"] == 0.001
        assert stopped[0].details["spent_usd"] == pytest.approx(prompt.cost_usd)
    env_db = {"TAC_ORCHESTRATOR_DB": str(database)}
    shown = run_cli("db", "stats", "--by", "session", "--json", "--project", project, env=env_db)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["budgets"] == {"budget01": 0.001}
    wide = {**env_db, "COLUMNS": "200"}
    human = run_cli("db", "stats", "--by", "session", "--project", project, env=wide)
    assert "budget (USD)" in human.stdout and "0.0010 spent" in human.stdout


def test_an_overloaded_model_falls_back_inside_the_cli_and_the_agent_follows(
    claude_cli: Path, generated: Path, tmp_path: Path, claude_home: Path, db: OrchestratorDB
) -> None:
    with FakeAnthropic(tool_round(generated)) as api:
        api.sticky_fault = Fault("http", status=529, model="sonnet")
        agent_id = new_agent(db)
        req = request(
            generated, tmp_path, api, claude_home, fallback_model="haiku", cli_max_retries=4
        )
        outcome = run_prompt(db, agent_id, req, cli=str(claude_cli))
    assert outcome.success, outcome.error
    assert outcome.fallbacks and outcome.fallbacks[0]["trigger"] == "overloaded"
    [prompt] = db.list_prompts(agent_id=agent_id)
    assert_prompt_equals_result_line(db, prompt.id, tmp_path / "raw.jsonl")
    assert "haiku" in str(prompt.model)
    assert db.get_agent(agent_id).model == prompt.model  # agents.model follows the fallback
    logs = [r.message for r in db.recent_logs(agent_id=agent_id, limit=50)]
    assert any(m.startswith("the agent CLI fell back from ") for m in logs)


def test_a_phase_whose_tool_was_denied_says_so_instead_of_a_misleading_error(
    claude_cli: Path, tmp_path: Path, claude_home: Path
) -> None:
    """A project whose allow list lacks Write: the planner's Write is denied, the CLI still
    reports success, and the phase fails naming the denial (recorded as permission_denied)."""
    result = run_cli("init", "shop", "-o", tmp_path, "--yes", "--no-git")
    assert result.returncode == 0, result.stderr
    project = tmp_path / "shop"
    settings_path = project / ".claude" / "settings.json"
    settings = json.loads(settings_path.read_text())
    settings["permissions"]["allow"].remove("Write")
    settings_path.write_text(json.dumps(settings, indent=2))
    database = tmp_path / "orch.db"
    with FakeAnthropic(acting_model(project)) as api:
        env = workflow_env(api, claude_cli, claude_home, tmp_path, database)
        run = subprocess.run(
            [sys.executable, str(project / "adws" / "adw_plan.py"), "Add a health check",
             "--type", "feature", "--adw-id", "denied01"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert run.returncode == 1
    assert "the agent CLI denied: Write" in run.stderr
    with OrchestratorDB.open(database, migrations_dir=MIGRATIONS) as db:
        [prompt] = db.list_prompts(session_id="denied01")
        assert [d["tool_name"] for d in prompt.permission_denials] == ["Write"]
        failed = [r for r in db.recent_logs(limit=100) if "plan phase failed" in r.message]
        assert failed and failed[0].details["failure_kind"] == "permission_denied"
