"""A local stand-in for the Anthropic Messages API, for running the real Claude Code CLI here.

The model API is an external service we cannot reach, so it is the one thing faked (the CLI is
real). `POST /v1/messages` answers either as JSON or, with `"stream": true`, as Server-Sent
Events in the API's streaming format: message_start (with usage), content_block_start /
content_block_delta (text_delta, input_json_delta) / content_block_stop, message_delta (with
stop_reason and the final usage) and message_stop.

What the "model" says is decided by a *responder*: a function from the request body to a list
of content blocks. Responders are stateless (the turn is read from the conversation), so the
CLI's parallel side requests, its retries and subagents need no bookkeeping. Faults (HTTP
errors, cut or malformed streams, slow answers) are queued on the server and consumed by the
next main-conversation requests. Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Block = dict[str, Any]
Responder = Callable[["Request"], list[Block]]

DEFAULT_MODEL_ID = "claude-sonnet-4-5-20250929"
MODEL_IDS = {
    "sonnet": "claude-sonnet-4-5-20250929",
    "opus": "claude-opus-4-1-20250805",
    "haiku": "claude-haiku-4-5-20251001",
}

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
CREDIT_TOO_LOW = (
    "Your credit balance is too low to access the Anthropic API. "
    "Please go to Plans & Billing to upgrade or purchase credits."
)


def text(value: str) -> Block:
    return {"type": "text", "text": value}


def tool_use(name: str, tool_input: dict[str, Any]) -> Block:
    return {
        "type": "tool_use",
        "id": f"toolu_{uuid.uuid4().hex[:24]}",
        "name": name,
        "input": tool_input,
    }


@dataclass
class Fault:
    """One injected failure. kind: http | cut | malformed | slow."""

    kind: str
    status: int = 500
    message: str = ""
    delay_seconds: float = 0.0
    retry_after: str | None = None
    model: str = ""  # only requests for a model whose id contains this ("" = any)


@dataclass
class Request:
    """A request as the server saw it; responders read the conversation from it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def model(self) -> str:
        return str(self.body.get("model") or "")

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages")
        return messages if isinstance(messages, list) else []

    @property
    def has_tools(self) -> bool:
        return bool(self.body.get("tools"))

    @property
    def tool_names(self) -> list[str]:
        return [str(t.get("name")) for t in self.body.get("tools") or [] if isinstance(t, dict)]

    def texts(self, role: str = "user") -> list[str]:
        """Every text of the given role, in order (string contents and text blocks)."""
        found: list[str] = []
        for message in self.messages:
            if message.get("role") != role:
                continue
            content = message.get("content")
            if isinstance(content, str):
                found.append(content)
            elif isinstance(content, list):
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "text":
                        found.append(str(block.get("text", "")))
        return found

    @property
    def first_user_text(self) -> str:
        return "\n".join(self.texts("user")[:4])

    @property
    def all_text(self) -> str:
        return "\n".join(self.texts("user"))

    @property
    def turn(self) -> int:
        """How many assistant turns the conversation already holds."""
        return sum(1 for m in self.messages if m.get("role") == "assistant")

    def tool_results(self) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for message in self.messages:
            content = message.get("content")
            if message.get("role") == "user" and isinstance(content, list):
                results += [
                    b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"
                ]
        return results

    @property
    def is_main_conversation(self) -> bool:
        """The agent's own loop (it offers tools); side requests (titles ...) offer none."""
        return self.has_tools


def plain_responder(request: Request) -> list[Block]:
    return [text("Done.")]


@dataclass
class Usage:
    input_tokens: int = 120
    output_tokens: int = 40
    cache_creation_input_tokens: int = 300
    cache_read_input_tokens: int = 1_000


class FakeAnthropic:
    """The server; `with FakeAnthropic() as api:` serves on 127.0.0.1 at api.base_url."""

    def __init__(self, responder: Responder = plain_responder) -> None:
        self.responder = responder
        self.usage = Usage()
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.sticky_fault: Fault | None = None  # applies to every main request while set
        self.event_delay_seconds = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle ------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- what tests read and set ------------------------------------------------------------
    def main_requests(self) -> list[Request]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path.startswith("/v1/messages")
                and not r.path.startswith("/v1/messages/count_tokens")
                and r.is_main_conversation
            ]

    def queue(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def _next_fault(self, request: Request) -> Fault | None:
        if not request.is_main_conversation:
            return None
        with self._lock:
            sticky = self.sticky_fault
            if sticky is not None and sticky.model in request.model:
                return sticky
            return self.faults.pop(0) if self.faults else None

    # --- HTTP -------------------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                self._json(200, {"data": [], "has_more": False})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {}
                request = Request(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body if isinstance(body, dict) else {},
                )
                with api._lock:
                    api.requests.append(request)
                path = self.path.split("?", 1)[0]
                if path == "/v1/messages/count_tokens":
                    self._json(200, {"input_tokens": api.usage.input_tokens})
                    return
                if path != "/v1/messages":
                    self._json(404, _error_body(404, f"no route {path}"))
                    return
                api._answer(self, request)

            def _json(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _answer(self, handler: Any, request: Request) -> None:
        fault = self._next_fault(request)
        if fault is not None and fault.kind == "http":
            headers = {"retry-after": fault.retry_after} if fault.retry_after else {}
            if fault.status == 529:
                headers["x-should-retry"] = "true"
            handler._json(fault.status, _error_body(fault.status, fault.message), headers)
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay_seconds)
        blocks = self.responder(request)
        model = request.model or DEFAULT_MODEL_ID
        stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
        message_id = f"msg_{uuid.uuid4().hex[:24]}"
        if not request.body.get("stream"):
            handler._json(
                200,
                {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": blocks,
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": self._usage_dict(),
                },
            )
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")
        handler.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
        handler.end_headers()
        handler.close_connection = True
        events = list(self._stream_events(message_id, model, blocks, stop_reason))
        cut_after = len(events) // 2 if fault is not None and fault.kind == "cut" else None
        try:
            for index, (name, data) in enumerate(events):
                if cut_after is not None and index == cut_after:
                    handler.wfile.flush()
                    return  # the connection closes mid-response
                if fault is not None and fault.kind == "malformed" and index == 2:
                    handler.wfile.write(b"event: content_block_delta\ndata: {not json\n\n")
                    handler.wfile.flush()
                    return
                handler.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                handler.wfile.flush()
                if self.event_delay_seconds:
                    time.sleep(self.event_delay_seconds)
        except (BrokenPipeError, ConnectionResetError):
            return

    def _usage_dict(self) -> dict[str, int]:
        u = self.usage
        return {
            "input_tokens": u.input_tokens,
            "output_tokens": u.output_tokens,
            "cache_creation_input_tokens": u.cache_creation_input_tokens,
            "cache_read_input_tokens": u.cache_read_input_tokens,
        }

    def _stream_events(
        self, message_id: str, model: str, blocks: list[Block], stop_reason: str
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        start_usage = {**self._usage_dict(), "output_tokens": 1}
        yield (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
        )
        yield "ping", {"type": "ping"}
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                yield (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
                for piece in _chunks(block["text"], 40):
                    yield (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "text_delta", "text": piece},
                        },
                    )
            else:
                yield (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {**block, "input": {}},
                    },
                )
                for piece in _chunks(json.dumps(block["input"]), 30):
                    yield (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": piece},
                        },
                    )
            yield "content_block_stop", {"type": "content_block_stop", "index": index}
        yield (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": self.usage.output_tokens},
            },
        )
        yield "message_stop", {"type": "message_stop"}


def _chunks(value: str, size: int) -> list[str]:
    return [value[i : i + size] for i in range(0, len(value), size)] or [""]


def _error_body(status: int, message: str) -> dict[str, Any]:
    kind = ERROR_TYPES.get(status, "api_error")
    default = {
        429: "Number of request tokens has exceeded your per-minute rate limit",
        529: "Overloaded",
        500: "Internal server error",
        401: "invalid x-api-key",
    }.get(status, "Bad request")
    return {
        "type": "error",
        "error": {"type": kind, "message": message or default},
        "request_id": f"req_{uuid.uuid4().hex[:24]}",
    }


MARKER = re.compile(r"\[\[script:([a-z_]+)\]\]")


def script_name(request: Request) -> str | None:
    """Scripts are chosen by a `[[script:NAME]]` marker in the conversation's user text."""
    match = MARKER.search(request.first_user_text)
    return match.group(1) if match else None
