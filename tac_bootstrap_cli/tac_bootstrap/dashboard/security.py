"""The dashboard's guard, in front of every route (pages, API, live stream, static files).

- Bound to a loopback name (127.0.0.1, ::1, localhost) no token is needed unless one is
  given; bound anywhere else a token is required: `--token`, else TAC_DASHBOARD_TOKEN, else
  one generated and printed once. The policy is by name, "not 127.0.0.1/::1/localhost", so
  127.0.0.2 (loopback too on Linux) counts as elsewhere: that is how the tests bind off the
  default without exposing anything.
- The token is accepted as `Authorization: Bearer T`, or the `tac_dashboard` cookie
  (HttpOnly, SameSite=Strict) set from `?token=T`, after which the browser is redirected to
  the same URL without it (the token leaves the address bar and the history). Compared in
  constant time.
- The Host header must name the bound address (or, on loopback, a loopback name): a page of
  another site whose DNS name was rebound to 127.0.0.1 is refused. A wildcard bind (0.0.0.0,
  ::) cannot know its names and relies on the token alone.
- Every response carries a strict Content-Security-Policy (no inline script or style, no
  other origin) and nosniff / no-referrer / frame denial.
- Writes (only `--allow-actions`) must come from the same origin (Origin, else
  Sec-Fetch-Site).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_ENV_VAR = "TAC_DASHBOARD_TOKEN"
COOKIE = "tac_dashboard"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "::1", "localhost"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def is_loopback(host: str) -> bool:
    return host.strip("[]").lower() in LOOPBACK_NAMES


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Policy:
    """Who may talk to the dashboard: the bound host and the token (None: not needed)."""

    host: str
    token: str | None

    def host_allowed(self, header: str) -> bool:
        name = _host_name(header)
        bound = self.host.strip("[]").lower()
        if bound in WILDCARDS:
            return bool(name)
        if is_loopback(bound):
            return name in LOOPBACK_NAMES
        return name == bound

    def token_matches(self, candidate: str | None) -> bool:
        if self.token is None:
            return True
        if not candidate:
            return False
        return hmac.compare_digest(candidate.encode(), self.token.encode())


def _host_name(header: str) -> str:
    """`127.0.0.1:8765` -> 127.0.0.1; `[::1]:80` -> ::1; lower case."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else ""
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _cookie_token(headers: dict[str, str]) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(raw)
    except Exception:  # a malformed cookie header is no token
        return None
    morsel = cookie.get(COOKIE)
    return morsel.value if morsel else None


def _bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, credential = value.partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else None


def same_origin(scope: Scope) -> bool:
    """Whether a write comes from a page of this dashboard (Origin, else Sec-Fetch-Site)."""
    headers = _headers(scope)
    origin = headers.get("origin")
    if origin is not None:
        host = headers.get("host", "")
        return origin in (f"http://{host}", f"https://{host}")
    return headers.get("sec-fetch-site") == "same-origin"


class Guard:
    """ASGI middleware: the Host check, the token check and the headers, on every request."""

    def __init__(self, app: ASGIApp, policy: Policy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if not self.policy.host_allowed(headers.get("host", "")):
            await _plain(send, 421, "this dashboard does not answer for that host name")
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        given = query.get("token")
        if given is not None and self.policy.token is not None:
            if not self.policy.token_matches(given):
                await _plain(send, 401, "wrong token")
                return
            await _set_cookie_and_redirect(scope, send, query, given)
            return
        if not (
            self.policy.token_matches(_bearer(headers))
            or self.policy.token_matches(_cookie_token(headers))
        ):
            await _plain(send, 401, "this dashboard needs its token: open the URL it printed")
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


async def _plain(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _set_cookie_and_redirect(
    scope: Scope, send: Send, query: dict[str, str], token: str
) -> None:
    rest = urlencode([(k, v) for k, v in query.items() if k != "token"])
    location = quote(scope.get("path", "/")) + (f"?{rest}" if rest else "")
    cookie = f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode("latin-1", "replace")),
                (b"set-cookie", cookie.encode()),
                (b"content-length", b"0"),
                (b"cache-control", b"no-store"),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
