"""Bearer-token authentication for every route but /health, and the rule for exposed addresses."""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from uptake.errors import UsageError
from uptake.serve.error_responses import ApiError

OPEN_PATHS = frozenset({"/health"})
KEYS_ENVIRONMENT = "UPTAKE_API_KEYS"


def api_keys_from(flags: Sequence[str], environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """Keys from --api-key flags plus UPTAKE_API_KEYS (comma-separated); blanks ignored."""
    environ = dict(os.environ) if environ is None else environ
    from_environment = environ.get(KEYS_ENVIRONMENT, "").split(",")
    keys = [key.strip() for key in (*flags, *from_environment)]
    return tuple(dict.fromkeys(key for key in keys if key))


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


class BearerAuth:
    """ASGI middleware: a request needs 'Authorization: Bearer <key>' with one of the keys."""

    def __init__(self, app: ASGIApp, keys: Sequence[str]) -> None:
        self.app = app
        self.keys = [key.encode("utf-8") for key in keys]

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                if scheme.lower() != b"bearer":
                    return False
                # Compare against every key, in constant time, so timing says nothing about the keys.
                matches = [hmac.compare_digest(token.strip(), key) for key in self.keys]
                return any(matches)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys or scope["path"] in OPEN_PATHS or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        error = ApiError(
            401,
            "a valid API key is required: send 'Authorization: Bearer <key>'.",
            code="invalid_api_key",
        )
        await error.response()(scope, receive, send)
