"""What keeps the console safe in a browser: sessions behind the API key, CSRF tokens and security headers.

- With API keys set, a person signs in once with a key (the login page); the server then sets an HttpOnly,
  SameSite=Strict session cookie. Sessions live in the server's memory: a restart signs everyone out.
- Every form that changes state, and every API call the console makes with its cookie, carries a CSRF token
  that must equal the `uptake_csrf` cookie (double submit); SameSite=Strict already keeps the cookies off
  other sites' requests, the token is the second lock.
- Every answer carries a Content-Security-Policy that allows scripts only from this server's own files (no
  inline script, no eval), so text that slipped through escaping still could not run.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "uptake_session"
CSRF_COOKIE = "uptake_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SESSION_TTL_S = 12 * 3600
# Inline style stays allowed: the charts are SVG with style attributes; script never is.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


class Sessions:
    """Signed-in browsers: random tokens with an expiry, kept in memory."""

    def __init__(self, ttl_s: float = SESSION_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def create(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            self._expiry = {key: until for key, until in self._expiry.items() if until > now}
            self._expiry[token] = now + self.ttl_s
        return token

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            until = self._expiry.get(token)
        return until is not None and until > time.monotonic()

    def revoke(self, token: str | None) -> None:
        with self._lock:
            self._expiry.pop(token or "", None)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_matches(connection: HTTPConnection, given: str | None) -> bool:
    expected = connection.cookies.get(CSRF_COOKIE)
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def cookie_header(name: str, value: str, *, max_age: int | None = None) -> str:
    age = f"; Max-Age={max_age}" if max_age is not None else ""
    return f"{name}={value}; Path=/; HttpOnly; SameSite=Strict{age}"


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
