"""Bearer-token authentication for every route but /health, and the rule for exposed addresses."""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Sequence
from urllib.parse import quote

from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from uptake.errors import UsageError
from uptake.serve.error_responses import ApiError
from uptake.serve.web.security import CSRF_HEADER, SESSION_COOKIE, Sessions, csrf_matches

OPEN_PATHS = frozenset({"/health"})
UI_PREFIX = "/ui"
UI_OPEN_PATHS = frozenset({"/ui/login"})  # and /ui/static/: the sign-in page needs its stylesheet
KEYS_ENVIRONMENT = "UPTAKE_API_KEYS"


def api_keys_from(flags: Sequence[str], environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """Keys from --api-key flags plus UPTAKE_API_KEYS (comma-separated); blanks ignored."""
    environ = dict(os.environ) if environ is None else environ
    from_environment = environ.get(KEYS_ENVIRONMENT, "").split(",")
    keys = [key.strip() for key in (*flags, *from_environment)]
    return tuple(dict.fromkeys(key for key in keys if key))


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, keys: Sequence[str], insecure: bool) -> None:
    """Refuse to serve a non-loopback address without a key, unless the user insists."""
    if is_loopback(host) or keys or insecure:
        return
    raise UsageError(
        f"refusing to serve on {host} without an API key: anyone who can reach it could use the model. "
        "Give --api-key KEY (or set UPTAKE_API_KEYS), or pass --insecure if the network is trusted."
    )


def key_matches(token: bytes, keys: Sequence[bytes]) -> bool:
    """Compare against every key, in constant time, so timing says nothing about the keys."""
    matches = [hmac.compare_digest(token, key) for key in keys]
    return any(matches)


class BearerAuth:
    """ASGI middleware: a request needs 'Authorization: Bearer <key>' with one of the keys.

    With the console on (`sessions` given), a browser signed in on the login page is let in by its session
    cookie instead: to the console's pages, and to the API when a call that changes state carries the CSRF
    token. A browser that is not signed in is sent to the login page.
    """

    def __init__(self, app: ASGIApp, keys: Sequence[str], sessions: Sessions | None = None) -> None:
        self.app = app
        self.keys = [key.encode("utf-8") for key in keys]
        self.sessions = sessions

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                if scheme.lower() != b"bearer":
                    return False
                return key_matches(token.strip(), self.keys)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys or scope["path"] in OPEN_PATHS or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if self.sessions is not None:
            if path in UI_OPEN_PATHS or path.startswith(f"{UI_PREFIX}/static/"):
                await self.app(scope, receive, send)
                return
            connection = HTTPConnection(scope)
            if self.sessions.valid(connection.cookies.get(SESSION_COOKIE)):
                reads = scope["method"] in ("GET", "HEAD")
                if path.startswith(UI_PREFIX) or reads or csrf_matches(connection, connection.headers.get(CSRF_HEADER)):
                    await self.app(scope, receive, send)
                    return
                error = ApiError(403, "the console's request lacks its CSRF token; reload the page.", code="csrf")
                await error.response()(scope, receive, send)
                return
            if path == "/" or path.startswith(UI_PREFIX):
                query = scope.get("query_string", b"").decode("latin-1")
                target = path + (f"?{query}" if query else "")
                redirect = RedirectResponse(f"{UI_PREFIX}/login?next={quote(target, safe='')}", status_code=303)
                await redirect(scope, receive, send)
                return
        error = ApiError(
            401,
            "a valid API key is required: send 'Authorization: Bearer <key>'.",
            code="invalid_api_key",
        )
        await error.response()(scope, receive, send)
