"""The outermost ASGI layer: counts every answer, caps body size, and turns any crash into a 500 body.

It sits outside authentication so refused requests are counted too, and outside FastAPI so that no
failure anywhere below can reach the client as a bare traceback or a dropped connection.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from uptake.serve.error_responses import ApiError, BodyTooLarge, body_too_large_in
from uptake.serve.metrics import ServerMetrics

log = logging.getLogger("uptake.serve")

MAX_BODY_BYTES = 16 * 1024 * 1024


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class Guard:
    def __init__(self, app: ASGIApp, metrics: ServerMetrics, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = False
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                started = True
            await send(message)

        try:
            declared = _declared_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                raise BodyTooLarge(self.max_body_bytes)
            await self.app(scope, counting_receive, tracking_send)
        except Exception as error:
            if started:  # the client already has a status line; all we can do is end the stream
                log.warning("request failed after its response began: %s", error)
            else:
                await self._fail(error, scope, receive, tracking_send)
        finally:
            self.metrics.count_request(_route_of(scope), status)

    async def _fail(self, error: Exception, scope: Scope, receive: Receive, send: Send) -> None:
        too_large = body_too_large_in(error)
        if too_large is not None:
            answer = too_large.api_error()
        else:
            log.exception("unexpected server error", exc_info=error)
            answer = ApiError(
                500, "the server failed unexpectedly; see its log.", type_="server_error", code="internal_error"
            )
        await answer.response()(scope, receive, send)
