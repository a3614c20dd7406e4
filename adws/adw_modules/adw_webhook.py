"""GitHub webhook receiver: verified `issues`/`issue_comment` deliveries become queued runs.

Standard library only (http.server). Every delivery is checked in this order, each refusal
before any work the next step would cost: method (405), Content-Length present and within
triggers.webhook_max_bytes (411/413, the body is never read when too large), the body read
against a deadline (408), X-Hub-Signature-256 = "sha256=" + HMAC-SHA256 hex of the raw body
compared in constant time (401), the event and delivery headers (400), JSON (400), and the
delivery id and the event's signed identity (adw_webhook_events.content_key) remembered in the
orchestrator database (409 on a replay, across restarts and receivers). Only then does
adw_webhook_events decide what the event asks for.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import ipaddress
import json
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .adw_database import OrchestratorDB
from .adw_project import current_project
from .adw_settings import settings
from .adw_triggers import DEFAULT_WORKFLOW, valid_workflow
from .adw_webhook_events import EventContext, Reply, content_key, handle_event, stale_problem

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
REQUEST_TIMEOUT_SECONDS = 10.0  # per socket read, and the deadline for a whole body
_READ_CHUNK = 65_536


@dataclass(frozen=True)
class WebhookConfig:
    secret: bytes
    label: str = "adw"
    workflow: str = DEFAULT_WORKFLOW
    max_bytes: int = 1_048_576
    adws_dir: Path | None = None
    request_timeout: float = REQUEST_TIMEOUT_SECONDS


def signature(secret: bytes, body: bytes) -> str:
    """The X-Hub-Signature-256 value GitHub sends for `body`."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_problem(secret: bytes, body: bytes, header: str | None) -> str | None:
    """Why the signature header does not authenticate `body`; None when it does."""
    if not header:
        return f"unsigned: no {SIGNATURE_HEADER} header (set the webhook's secret)"
    if not header.startswith(SIGNATURE_PREFIX):
        return f"{SIGNATURE_HEADER} must be {SIGNATURE_PREFIX}<hex>"
    expected = signature(secret, body).encode("ascii")
    if not hmac.compare_digest(expected, header.strip().encode("utf-8", "replace")):
        return "signature mismatch"
    return None


def printable(text: str, limit: int) -> str:
    """A header value fit for a log line: printable characters only, bounded."""
    return "".join(c if c.isprintable() else "?" for c in text[:limit]) or "-"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebhookServer(ThreadingHTTPServer):
    """One thread per connection; the handlers share one database object (it serialises
    its own transactions) and the configuration."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], config: WebhookConfig, db: OrchestratorDB) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, WebhookHandler)
        self.config = config
        self.db = db


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.reply = Reply(status, {"error": message})


class WebhookHandler(BaseHTTPRequestHandler):
    server: WebhookServer
    server_version = "tac-adw-webhook"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Every read waits at most this long: a client that stalls loses its connection.
        self.connection.settimeout(self.server.config.request_timeout)

    def do_POST(self) -> None:
        started = time.monotonic()
        delivery = self.headers.get("X-GitHub-Delivery", "")
        event = self.headers.get("X-GitHub-Event", "")
        try:
            reply = self._receive(delivery, event)
        except Refused as refused:
            reply = refused.reply
        except Exception as exc:  # never a traceback with request data to the sender
            reply = Reply(500, {"error": f"internal error: {type(exc).__name__}"})
            self.log_message("internal error: %r", exc)
        self._send(reply)
        outcome = next(iter(reply.body.items()), ("", ""))
        self.log_message(
            "delivery=%s event=%s status=%d %s=%s (%.0f ms)",
            printable(delivery, 64),
            printable(event, 32),
            reply.status,
            outcome[0],
            printable(str(outcome[1]), 120),
            (time.monotonic() - started) * 1000,
        )

    def _not_allowed(self) -> None:
        self._send(Reply(405, {"error": "only POST is accepted"}), allow="POST")
        self.log_message("%s refused: status=405", printable(self.command, 16))

    do_GET = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def do_HEAD(self) -> None:
        self.send_response(405)
        self.send_header("Allow", "POST")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _receive(self, delivery: str, event: str) -> Reply:
        config = self.server.config
        body = self._read_body(config)
        problem = signature_problem(config.secret, body, self.headers.get(SIGNATURE_HEADER))
        if problem is not None:
            raise Refused(401, problem)
        if not event or not delivery:
            raise Refused(400, "missing X-GitHub-Event or X-GitHub-Delivery")
        if len(delivery) > 128:
            raise Refused(400, "X-GitHub-Delivery is too long")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise Refused(400, "the body is not JSON (use the content type json)") from None
        if not isinstance(payload, dict):
            raise Refused(400, "the JSON body is not an object")
        stale = stale_problem(event, payload)
        if stale is not None:
            raise Refused(*stale)
        db = self.server.db
        if not db.remember_delivery(delivery, event):
            raise Refused(409, f"delivery {delivery} was received before (replay refused)")
        key = content_key(event, payload)
        if key is not None and not db.remember_delivery(key, event):
            raise Refused(409, "this signed event was received before (replay refused)")
        ctx = EventContext(db, config.label, config.workflow, config.adws_dir, delivery)
        return handle_event(ctx, event, payload)

    def _read_body(self, config: WebhookConfig) -> bytes:
        """The body, after its declared size passed the limit; refuses what it cannot check."""
        if self.headers.get("Transfer-Encoding"):
            raise Refused(411, "chunked bodies are refused: send a Content-Length")
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            raise Refused(411, "Content-Length required")
        if len(lengths) > 1:  # which one a proxy in front believed is unknown: refuse both
            raise Refused(400, "more than one Content-Length")
        declared = lengths[0]
        if not declared.strip().isdigit():
            raise Refused(400, "invalid Content-Length")
        length = int(declared)
        if length > config.max_bytes:
            raise Refused(413, f"payload of {length} bytes is over the {config.max_bytes} limit")
        deadline = time.monotonic() + config.request_timeout
        chunks: list[bytes] = []
        remaining = length
        while remaining > 0:
            if time.monotonic() > deadline:
                raise Refused(408, "the body took too long to arrive")
            try:
                chunk = self.rfile.read1(min(remaining, _READ_CHUNK))
            except TimeoutError:
                raise Refused(408, "the body took too long to arrive") from None
            if not chunk:
                raise Refused(400, "the body is shorter than its Content-Length")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _send(self, reply: Reply, allow: str | None = None) -> None:
        data = (json.dumps(reply.body, sort_keys=True) + "\n").encode("utf-8")
        if reply.status in (408, 411, 413) or reply.status >= 500:
            self.close_connection = True  # an unread body must not become the next request
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if allow:
            self.send_header("Allow", allow)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Nothing: do_POST logs one line per delivery with its outcome."""

    def log_message(self, format: str, *args: Any) -> None:
        """One line per request on stderr: never headers or bodies (nothing secret)."""
        print(f"[webhook] {self.address_string()} {format % args}", file=sys.stderr, flush=True)


def serve(config: WebhookConfig, db: OrchestratorDB, host: str, port: int) -> WebhookServer:
    """A bound server (port 0: a free one, see server_address); call serve_forever()."""
    return WebhookServer((host, port), config, db)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adw_trigger_webhook.py",
        description="Receive GitHub issues/issue_comment webhooks and enqueue runs for the "
        "workers (adws/README.md, 'Triggers and the webhook'). Binds 127.0.0.1 unless told "
        "otherwise; expose it through a reverse proxy with TLS.",
        epilog="Environment: the variable named by triggers.webhook_secret_env (default "
        "TAC_WEBHOOK_SECRET) holds the webhook secret; TAC_ORCHESTRATOR_DB (database).",
    )
    parser.add_argument("--host", help="Address to bind (default: triggers.webhook_host).")
    parser.add_argument(
        "--port", type=int, help="Port (default: triggers.webhook_port; 0 picks a free one)."
    )
    parser.add_argument(
        "--workflow",
        default=DEFAULT_WORKFLOW,
        help=f"Workflow of the runs a labeled issue or `adw` comment starts ({DEFAULT_WORKFLOW}).",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    project = current_project()
    triggers = settings("triggers", project)
    env_name = str(triggers["webhook_secret_env"])
    secret = os.environ.get(env_name, "")
    if not secret:
        print(
            f"adw_trigger_webhook: refusing to start without a secret: set {env_name} to the "
            "webhook's secret (GitHub: Settings > Webhooks > Secret)",
            file=sys.stderr,
        )
        return 2
    adws_dir = project.root / project.adws_dir
    if not valid_workflow(args.workflow, adws_dir):
        print(
            f"adw_trigger_webhook: {args.workflow!r} is not a workflow of {adws_dir}",
            file=sys.stderr,
        )
        return 2
    host = args.host or str(triggers["webhook_host"])
    port = int(triggers["webhook_port"]) if args.port is None else args.port
    if not is_loopback(host):
        print(
            f"adw_trigger_webhook: warning: binding {host}, not a loopback address: put a "
            "reverse proxy with TLS in front instead of exposing this server",
            file=sys.stderr,
        )
    config = WebhookConfig(
        secret.encode("utf-8"),
        label=str(settings("issues", project)["label"]),
        workflow=args.workflow,
        max_bytes=int(triggers["webhook_max_bytes"]),
        adws_dir=adws_dir,
    )
    with OrchestratorDB.open() as db:
        server = serve(config, db, host, port)
        bound_host, bound_port = server.server_address[:2]
        print(f"adw_trigger_webhook: listening on {bound_host!s}:{bound_port}", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0
