"""The GitHub webhook receiver over real HTTP on 127.0.0.1, with a real orchestrator database.

Payloads: tests/fixtures/github_webhooks/ (GitHub's shapes, trimmed; sources in its README),
signed the way GitHub signs them. The receiver runs in a thread of the test for the protocol
tests, and as the generated project's own script for what its start-up prints and refuses.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tac_bootstrap.runtime.adw_database import OrchestratorDB
from tac_bootstrap.runtime.adw_webhook import WebhookConfig, serve, signature

from .db_helpers import MIGRATIONS, PROCESS_TIMEOUT
from .fake_gh_state import FakeGitHub

FIXTURES = Path(__file__).parent / "fixtures" / "github_webhooks"
SECRET = b"s3cret-for-tests-only-7f1c"
MAX_BYTES = 4096
LAYER_MARKER = "<!-- tac-bootstrap adw_id=a1b2c3d4 -->"

Reply = tuple[int, dict[str, Any]]


EVENTS = itertools.count(1)


_STAMPS_USED: set[str] = set()


def recent_distinct_stamp() -> str:
    """A signed time near now that no earlier event of this process had: a time older than
    the replay memory is refused, and two events must not share one whatever the machine's
    speed between calls (the time has whole seconds)."""
    moment = datetime.now(timezone.utc)
    while (stamp := moment.strftime("%Y-%m-%dT%H:%M:%SZ")) in _STAMPS_USED:
        moment -= timedelta(seconds=1)
    _STAMPS_USED.add(stamp)
    return stamp


def fixture(name: str, **changes: Any) -> dict[str, Any]:
    """A fixture as a new event: GitHub gives every event its own update time / comment id
    (signed fields the receiver's replay guard reads), so each call gets fresh ones."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    n = next(EVENTS)
    stamp = recent_distinct_stamp()
    if "issue" in data:
        data["issue"]["updated_at"] = stamp
    if "comment" in data:
        data["comment"]["id"] = 492700400 + n
        data["comment"]["created_at"] = data["comment"]["updated_at"] = stamp
    data.update(changes)
    return data


def comment_payload(body: str, **comment: Any) -> dict[str, Any]:
    data = fixture("issue_comment.created.json")
    data["comment"] = {**data["comment"], "body": body, **comment}
    return data


@contextmanager
def receiver(database: Path, **config: Any) -> Iterator[int]:
    """A receiver on 127.0.0.1 and a free port, with its own connection to the database."""
    db = OrchestratorDB.open(database, migrations_dir=MIGRATIONS)
    options = {"max_bytes": MAX_BYTES, "request_timeout": 5.0, **config}
    server = serve(WebhookConfig(SECRET, **options), db, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=PROCESS_TIMEOUT)
        db.close()


def post(
    port: int,
    event: str,
    body: bytes,
    *,
    delivery: str | None = None,
    headers: dict[str, str] | None = None,
    secret: bytes | None = SECRET,
) -> Reply:
    """POST `body` as GitHub would: signed with `secret` (None: unsigned)."""
    sent = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
    }
    if secret is not None:
        sent["X-Hub-Signature-256"] = signature(secret, body)
    sent.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROCESS_TIMEOUT)
    try:
        conn.request("POST", "/", body=body, headers=sent)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def deliver(port: int, event: str, payload: dict[str, Any], **options: Any) -> Reply:
    return post(port, event, json.dumps(payload).encode("utf-8"), **options)


def raw_request(port: int, head: str) -> tuple[int, bytes]:
    """Send exactly `head` (request line and headers, no body) and read the whole reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=PROCESS_TIMEOUT) as sock:
        sock.sendall(head.encode("ascii"))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    reply = b"".join(chunks)
    status = int(reply.split(b" ", 2)[1])
    return status, reply.partition(b"\r\n\r\n")[2]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "orch.db"


@pytest.fixture
def port(database: Path) -> Iterator[int]:
    with receiver(database) as bound:
        yield bound


@pytest.fixture
def runs(database: Path) -> Callable[[], list[Any]]:
    """The runs table as a fresh connection sees it (what a worker would claim)."""

    def read() -> list[Any]:
        with OrchestratorDB.open(database, migrations_dir=MIGRATIONS) as db:
            return db.list_runs(limit=1000)

    return read


# --- Signatures -----------------------------------------------------------------------------


def test_the_signature_is_githubs_documented_test_vector() -> None:
    # docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature(b"It's a Secret to Everybody", b"Hello, World!") == expected


def test_a_signed_ping_is_answered(port: int, runs: Callable[[], list[Any]]) -> None:
    status, body = deliver(port, "ping", fixture("ping.json"))
    assert status == 200
    assert body == {"pong": "Anything added dilutes everything else."}
    assert runs() == []


@pytest.mark.parametrize(
    ("headers", "secret", "why"),
    [
        ({}, None, "unsigned"),
        ({}, b"the-wrong-secret", "mismatch"),
        ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, SECRET, "mismatch"),
        ({"X-Hub-Signature-256": "sha256="}, SECRET, "mismatch"),
        ({"X-Hub-Signature-256": "md5=" + "0" * 32}, SECRET, "must be sha256="),
    ],
    ids=["unsigned", "wrong-secret", "wrong-signature", "empty-digest", "wrong-scheme"],
)
def test_deliveries_without_a_valid_signature_are_refused(
    port: int,
    runs: Callable[[], list[Any]],
    headers: dict[str, str],
    secret: bytes | None,
    why: str,
) -> None:
    status, body = deliver(
        port, "issues", fixture("issues.labeled.json"), headers=headers, secret=secret
    )
    assert status == 401
    assert why in body["error"]
    assert runs() == []


def test_the_legacy_sha1_header_alone_is_refused(port: int) -> None:
    raw = json.dumps(fixture("issues.labeled.json")).encode()
    sha1 = "sha1=" + hmac.new(SECRET, raw, hashlib.sha1).hexdigest()
    status, body = post(port, "issues", raw, secret=None, headers={"X-Hub-Signature": sha1})
    assert status == 401
    assert "unsigned" in body["error"]
    # ... and a sha1 value in the sha256 header is the wrong scheme.
    status, body = post(port, "issues", raw, secret=None, headers={"X-Hub-Signature-256": sha1})
    assert (status, "must be sha256=" in body["error"]) == (401, True)


def test_a_body_changed_after_signing_is_refused(port: int) -> None:
    raw = json.dumps(fixture("issues.labeled.json")).encode()
    tampered = raw.replace(b"Spelling error", b"Spelling errors")
    status, _ = post(
        port, "issues", tampered, headers={"X-Hub-Signature-256": signature(SECRET, raw)}
    )
    assert status == 401


def test_a_refused_signature_does_not_use_up_the_delivery_id(port: int) -> None:
    payload = fixture("ping.json")
    assert deliver(port, "ping", payload, delivery="d-1", secret=b"forged")[0] == 401
    assert deliver(port, "ping", payload, delivery="d-1")[0] == 200


# --- Replays --------------------------------------------------------------------------------


def test_a_replayed_delivery_is_refused(port: int, runs: Callable[[], list[Any]]) -> None:
    payload = fixture("issues.labeled.json")
    assert (
        deliver(port, "issues", payload, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")[0] == 202
    )
    status, body = deliver(port, "issues", payload, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert status == 409
    assert "replay" in body["error"]
    assert len(runs()) == 1


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("issues", fixture("issues.labeled.json")),
        ("issue_comment", comment_payload("/adw patch")),
    ],
    ids=["issues", "issue_comment"],
)
def test_a_captured_body_resent_under_a_new_delivery_id_is_refused(
    port: int, runs: Callable[[], list[Any]], event: str, payload: dict[str, Any]
) -> None:
    # The delivery id is a header the signature does not cover: the signed content decides.
    raw = json.dumps(payload).encode()
    assert post(port, event, raw, delivery="original")[0] == 202
    status, body = post(port, event, raw, delivery="forged-fresh-id")
    assert status == 409
    assert "signed event" in body["error"]
    assert len(runs()) == 1


@pytest.mark.parametrize(
    ("event", "payload", "field"),
    [
        ("issues", fixture("issues.labeled.json"), "issue"),
        ("issue_comment", comment_payload("/adw patch"), "comment"),
    ],
    ids=["issues", "issue_comment"],
)
def test_an_event_signed_before_the_replay_memory_is_refused(
    port: int, runs: Callable[[], list[Any]], event: str, payload: dict[str, Any], field: str
) -> None:
    # A captured body older than what db prune keeps of deliveries (7 days) would pass the
    # delivery and content guards once its rows are pruned: its signed time refuses it.
    payload[field]["updated_at"] = "2019-05-15T15:20:18Z"
    status, body = deliver(port, event, payload)
    assert status == 409 and "refused as a replay" in body["error"], body
    payload[field]["updated_at"] = "not a time"
    assert deliver(port, event, payload)[0] == 400
    assert runs() == []


def test_a_replay_is_refused_after_a_restart_and_by_a_second_receiver(database: Path) -> None:
    payload = fixture("ping.json")
    with receiver(database) as first:
        assert deliver(first, "ping", payload, delivery="same-id")[0] == 200
    with receiver(database) as restarted, receiver(database) as second:
        assert deliver(restarted, "ping", payload, delivery="same-id")[0] == 409
        assert deliver(second, "ping", payload, delivery="same-id")[0] == 409
        assert deliver(second, "ping", payload, delivery="other-id")[0] == 200


# --- Size, framing, method, content ------------------------------------------------------------


def test_an_oversized_payload_is_refused_without_reading_its_body(port: int) -> None:
    # Only the head is sent: a receiver that waited for the body would time out instead.
    status, body = raw_request(
        port,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Event: issues\r\n"
        f"X-GitHub-Delivery: big\r\nContent-Length: {MAX_BYTES + 1}\r\n\r\n",
    )
    assert status == 413
    assert "limit" in json.loads(body)["error"]


def test_a_payload_at_the_limit_is_read(port: int) -> None:
    raw = json.dumps(fixture("ping.json")).encode()
    padded = raw[:-1] + b" " * (MAX_BYTES - len(raw)) + raw[-1:]
    assert len(padded) == MAX_BYTES
    assert post(port, "ping", padded)[0] == 200


@pytest.mark.parametrize(
    ("framing", "expected"),
    [
        ("", 411),
        ("Transfer-Encoding: chunked\r\n", 411),
        ("Content-Length: ten\r\n", 400),
        ("Content-Length: -1\r\n", 400),
        ("Content-Length: 2\r\nContent-Length: 0\r\n", 400),
    ],
    ids=["missing", "chunked", "invalid", "negative", "twice"],
)
def test_a_body_of_unknown_length_is_refused(port: int, framing: str, expected: int) -> None:
    status, _ = raw_request(
        port,
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Event: ping\r\n{framing}\r\n",
    )
    assert status == expected


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_methods_other_than_post_are_refused(port: int, method: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROCESS_TIMEOUT)
    try:
        conn.request(method, "/")
        response = conn.getresponse()
        response.read()
        assert (response.status, response.getheader("Allow")) == (405, "POST")
    finally:
        conn.close()


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"payload=%7B%7D", b"[1, 2]", b"\xff\xfe"],
    ids=["text", "form", "array", "bytes"],
)
def test_a_body_that_is_no_json_object_is_refused(port: int, raw: bytes) -> None:
    status, body = post(port, "issues", raw)
    assert status == 400
    assert "JSON" in body["error"]


def test_a_delivery_without_event_or_id_headers_is_refused(port: int) -> None:
    raw = json.dumps(fixture("ping.json")).encode()
    assert post(port, "ping", raw, headers={"X-GitHub-Event": ""})[0] == 400
    assert post(port, "ping", raw, headers={"X-GitHub-Delivery": ""})[0] == 400


def test_an_unknown_event_is_accepted_and_ignored(port: int, runs: Callable[[], list[Any]]) -> None:
    status, body = deliver(port, "push", {"ref": "refs/heads/main"})
    assert status == 202
    assert "not handled" in body["ignored"]
    assert runs() == []


def test_a_client_that_stalls_mid_body_loses_its_connection(database: Path) -> None:
    with receiver(database, request_timeout=1.0) as bound:
        status, _ = raw_request(
            bound,
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Event: ping\r\n"
            'Content-Length: 100\r\n\r\n{"zen":',
        )
    assert status == 408


# --- Events ---------------------------------------------------------------------------------


def test_a_labeled_issue_is_queued(port: int, runs: Callable[[], list[Any]]) -> None:
    status, body = deliver(port, "issues", fixture("issues.labeled.json"), delivery="d-label")
    assert status == 202
    [run] = runs()
    assert body == {"queued": run.adw_id, "issue": 1, "workflow": "sdlc_ship"}
    assert (run.status, run.workflow, run.issue_source, run.issue_ref) == (
        "queued", "sdlc_ship", "github", "1",
    )  # fmt: skip
    assert run.issue_title == "Spelling error in the README file"
    assert run.details["delivery"] == "d-label"
    assert run.details["event"] == "issues.labeled"


def test_an_issue_opened_or_reopened_with_the_label_is_queued_once(
    port: int, runs: Callable[[], list[Any]]
) -> None:
    assert deliver(port, "issues", fixture("issues.opened.json"))[0] == 202
    status, body = deliver(port, "issues", fixture("issues.opened.json", action="reopened"))
    [run] = runs()
    assert (status, body) == (200, {"already running": run.adw_id, "issue": 1})


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"label": {"name": "bug"}}, "not 'adw'"),
        ({"action": "edited"}, "starts no run"),
        ({"action": "closed"}, "starts no run"),
        ({"issue": {**fixture("issues.labeled.json")["issue"], "state": "closed"}}, "not open"),
    ],
    ids=["other-label", "edited", "closed", "labeled-while-closed"],
)
def test_issue_events_that_ask_for_no_run(
    port: int, runs: Callable[[], list[Any]], change: dict[str, Any], why: str
) -> None:
    status, body = deliver(port, "issues", fixture("issues.labeled.json", **change))
    assert (status, why in body["ignored"]) == (202, True)
    assert runs() == []


def test_an_issue_opened_with_the_label_by_an_outsider_is_not_queued(
    port: int, runs: Callable[[], list[Any]]
) -> None:
    # An issue template can apply the label for anyone who opens an issue.
    payload = fixture("issues.opened.json")
    payload["issue"]["author_association"] = "NONE"
    status, body = deliver(port, "issues", payload)
    assert (status, "write access" in body["ignored"]) == (202, True)
    assert runs() == []


def test_a_label_an_issue_template_applied_for_an_outsider_is_not_the_trigger(
    port: int, runs: Callable[[], list[Any]]
) -> None:
    # GitHub sends `labeled` for the labels an issue is created with, as its author.
    outsider = {"login": "drive-by", "id": 99, "type": "User", "site_admin": False}
    payload = fixture("issues.labeled.json", sender=outsider)
    payload["issue"].update(user=outsider, author_association="NONE")
    status, body = deliver(port, "issues", payload)
    assert (status, "without write access" in body["ignored"]) == (202, True)
    assert runs() == []
    # A maintainer adding the label to that issue afterwards does start it, even within the
    # same second (the signed time has whole seconds; the sender tells the events apart).
    maintainer = fixture("issues.labeled.json")
    maintainer["issue"].update(
        user=outsider, author_association="NONE", updated_at=payload["issue"]["updated_at"]
    )
    assert deliver(port, "issues", maintainer)[0] == 202
    assert len(runs()) == 1


def test_a_label_of_another_name_on_the_issue_is_not_the_trigger(database: Path) -> None:
    with receiver(database, label="agents") as bound:
        status, body = deliver(bound, "issues", fixture("issues.labeled.json"))
        assert (status, "not 'agents'" in body["ignored"]) == (202, True)
        status, body = deliver(
            bound, "issues", fixture("issues.labeled.json", label={"name": "agents"})
        )
        assert (status, "queued" in body) == (202, True)


@pytest.mark.parametrize(
    ("body", "workflow"),
    [("adw", "sdlc_ship"), ("/adw", "sdlc_ship"), ("/adw patch\nthe footer typo", "patch")],
    ids=["adw", "slash-adw", "workflow"],
)
def test_an_adw_comment_queues_a_run(
    port: int, runs: Callable[[], list[Any]], body: str, workflow: str
) -> None:
    status, reply = deliver(port, "issue_comment", comment_payload(body))
    [run] = runs()
    assert (status, reply) == (202, {"queued": run.adw_id, "issue": 1, "workflow": workflow})
    assert run.workflow == workflow


def test_a_comment_naming_an_unknown_workflow_is_ignored(tmp_path: Path, database: Path) -> None:
    adws = tmp_path / "adws"
    adws.mkdir()
    (adws / "adw_patch.py").write_text("", encoding="utf-8")
    (adws / "adw_sdlc_ship.py").write_text("", encoding="utf-8")
    with receiver(database, adws_dir=adws) as bound:
        for body in ("/adw nonsense", "/adw worker", "/adw ../etc"):
            status, reply = deliver(bound, "issue_comment", comment_payload(body))
            assert (status, "unknown workflow" in reply["ignored"]) == (202, True)
        assert deliver(bound, "issue_comment", comment_payload("/adw patch"))[0] == 202


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (comment_payload(f"{LAYER_MARKER}\nadw: plan ready"), "loop guard"),
        (comment_payload(f"adw\n\n{LAYER_MARKER}"), "loop guard"),
        (comment_payload("adw", user={"login": "ci[bot]", "type": "Bot"}), "bot"),
        (
            {**comment_payload("adw"), "sender": {"login": "ci[bot]", "type": "Bot"}},
            "bot",
        ),
        (comment_payload("adw", author_association="NONE"), "write access"),
        (comment_payload("adw", author_association="CONTRIBUTOR"), "write access"),
        (comment_payload("looks good to me"), "not an adw command"),
        ({**comment_payload("adw"), "action": "edited"}, "starts no run"),
    ],
    ids=[
        "layer-marker",
        "layer-marker-last",
        "bot-user",
        "bot-sender",
        "outsider",
        "contributor",
        "no-command",
        "edited",
    ],
)
def test_comments_that_start_nothing(
    port: int, runs: Callable[[], list[Any]], payload: dict[str, Any], why: str
) -> None:
    status, body = deliver(port, "issue_comment", payload)
    assert (status, why in body["ignored"]) == (202, True), body
    assert runs() == []


def test_a_comment_on_a_pull_request_starts_nothing(
    port: int, runs: Callable[[], list[Any]]
) -> None:
    payload = comment_payload("adw")
    payload["issue"]["pull_request"] = {"url": "https://api.github.com/repos/o/r/pulls/1"}
    assert "pull request" in deliver(port, "issue_comment", payload)[1]["ignored"]
    assert runs() == []


def test_an_answer_on_a_paused_run_requeues_it(port: int, database: Path) -> None:
    with OrchestratorDB.open(database, migrations_dir=MIGRATIONS) as db:
        db.create_run("pausedrun1", "sdlc", status="queued", issue_source="github", issue_ref="1")
        db.update_run("pausedrun1", status="paused")
    status, body = deliver(port, "issue_comment", comment_payload("Use the blue button."))
    assert (status, body) == (202, {"requeued": "pausedrun1", "issue": 1})
    with OrchestratorDB.open(database, migrations_dir=MIGRATIONS) as db:
        run = db.get_run("pausedrun1")
        assert run is not None and run.status == "queued"
        # The layer's own question, posted while paused, is no answer (the loop guard).
        db.update_run("pausedrun1", status="paused")
    status, body = deliver(port, "issue_comment", comment_payload(f"{LAYER_MARKER}\nWhich one?"))
    assert (status, "loop guard" in body["ignored"]) == (202, True)


def test_concurrent_deliveries_for_one_issue_queue_one_run(
    port: int, runs: Callable[[], list[Any]]
) -> None:
    replies: list[Reply] = []
    threads = [
        threading.Thread(
            target=lambda: replies.append(deliver(port, "issues", fixture("issues.labeled.json")))
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=PROCESS_TIMEOUT)
    [run] = runs()
    assert sorted(status for status, _ in replies) == [200] * 7 + [202]
    assert {body.get("queued") or body.get("already running") for _, body in replies} == {
        run.adw_id
    }


# --- The script: binding, the secret, start-up refusals ---------------------------------------


@pytest.fixture
def project(tmp_path: Path, new_project: Callable[..., Path]) -> Path:
    return new_project(tmp_path)


def start_script(
    project: Path,
    database: Path,
    *args: str,
    secret: str | None = SECRET.decode(),
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "TAC_WEBHOOK_SECRET"}
    env.update(extra_env or {})
    env["TAC_ORCHESTRATOR_DB"] = str(database)
    if secret is not None:
        env["TAC_WEBHOOK_SECRET"] = secret
    return subprocess.Popen(
        [sys.executable, str(project / "adws" / "adw_trigger_webhook.py"), *args],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def listening_port(process: subprocess.Popen[str]) -> tuple[str, int]:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "listening on" in line, (line, process.poll())
    host, _, bound = line.rsplit(" ", 1)[1].strip().rpartition(":")
    return host, int(bound)


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=PROCESS_TIMEOUT)
    return out, err


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_the_script_refuses_to_start_without_a_secret(
    project: Path, database: Path, value: str | None
) -> None:
    process = start_script(project, database, "--port", "0", secret=value)
    out, err = process.communicate(timeout=PROCESS_TIMEOUT)
    assert process.returncode == 2
    assert out == ""
    assert err.count("\n") == 1 and "TAC_WEBHOOK_SECRET" in err


def test_the_script_binds_127_0_0_1_and_never_shows_the_secret(
    project: Path, database: Path
) -> None:
    process = start_script(project, database, "--port", "0")
    try:
        host, bound = listening_port(process)
        assert host == "127.0.0.1"
        assert deliver(bound, "ping", fixture("ping.json"))[0] == 200
        assert deliver(bound, "issues", fixture("issues.labeled.json"))[0] == 202
        assert deliver(bound, "issues", fixture("issues.labeled.json"), secret=b"x")[0] == 401
    finally:
        out, err = stop(process)
    assert process.returncode == 0, err
    assert "warning" not in err
    assert "status=202" in err and "status=401" in err  # one log line per delivery
    everything = out + err
    with OrchestratorDB.open(database, migrations_dir=MIGRATIONS) as db:
        everything += json.dumps([run.model_dump(mode="json") for run in db.list_runs()])
    assert SECRET.decode() not in everything
    assert signature(SECRET, json.dumps(fixture("ping.json")).encode()) not in everything


def test_binding_another_address_prints_one_warning(project: Path, database: Path) -> None:
    process = start_script(project, database, "--host", "0.0.0.0", "--port", "0")
    try:
        host, _ = listening_port(process)
        assert host == "0.0.0.0"
    finally:
        _, err = stop(process)
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "reverse proxy" in warnings[0]


def test_a_delivery_becomes_a_run_that_a_worker_completes(
    project: Path, database: Path, tmp_path: Path
) -> None:
    """Receiver, queue, worker and engine together: a labeled issue comes back commented."""
    github = FakeGitHub(tmp_path / "github", repo="Codertocat/Hello-World")
    github.add_issue(1, "Spelling error in the README file", "'commit', not 'committ'.")
    checks = {"test": f'"{sys.executable}" -c "print(1)"', "lint": "", "typecheck": ""}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAC_", "FAKE_"))}
    env.update(
        github.env(
            TAC_ORCHESTRATOR_DB=str(database),
            TAC_ADW_RUNS_DIR=str(tmp_path / "runs"),
            TAC_HOOK_FALLBACK_LOG=str(tmp_path / "hooks-fallback.jsonl"),
            CLAUDE_CODE_PATH=str(project / "adws" / "tests" / "fake_claude.py"),
            FAKE_CLAUDE_STATE_DIR=str(tmp_path / "fake-state"),
            ADW_RETRY_BASE_SECONDS="0.01",
            TAC_PYTHON=sys.executable,
            TAC_ADW_OVERRIDES=json.dumps({"commands": checks}),
        )
    )
    receiver_process = start_script(
        project, database, "--port", "0", "--workflow", "patch", extra_env=env
    )
    try:
        _, bound = listening_port(receiver_process)
        status, body = deliver(bound, "issues", fixture("issues.labeled.json"))
        assert status == 202, body
    finally:
        stop(receiver_process)
    worker = subprocess.run(
        [sys.executable, str(project / "adws" / "adw_worker.py"), "--until-empty"],
        cwd=project, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=PROCESS_TIMEOUT * 5,
    )  # fmt: skip
    assert worker.returncode == 0, worker.stderr[-4000:]
    with OrchestratorDB.open(database, migrations_dir=MIGRATIONS) as db:
        run = db.get_run(body["queued"])
    assert run is not None and run.status.value == "completed", worker.stderr[-4000:]
    assert (run.workflow, run.issue_ref, run.claims) == ("patch", "1", 1)
    [issue] = github.read()["issues"]
    assert any(f"adw_id={run.adw_id}" in comment["body"] for comment in issue["comments"])
