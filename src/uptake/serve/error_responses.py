"""Every failure as an OpenAI-shaped error body: {"error": {"message", "type", "param", "code"}}."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from uptake.engines.base import EngineBusyError
from uptake.errors import ContextOverflowError, ModelNotFoundError, UptakeError, UsageError

RETRY_AFTER_S = 1


class ApiError(UptakeError):
    """A failure with its HTTP status and OpenAI error fields, raised anywhere in a route."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        if self.status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
        return JSONResponse(self.body(), status_code=self.status, headers=headers)

    def sse_event(self) -> str:
        """The error as the last event of a stream whose headers were already sent."""
        return f"data: {json.dumps(self.body())}\n\n"


class BodyTooLarge(Exception):
    """Raised while reading a request body that passes the size limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes.")
        self.limit = limit

    def api_error(self) -> ApiError:
        return ApiError(413, str(self), code="request_too_large")


def body_too_large_in(error: BaseException) -> BodyTooLarge | None:
    """FastAPI wraps what the body reader raised (as a cause, or in an exception group); find it."""
    if isinstance(error, BodyTooLarge):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            if found := body_too_large_in(inner):
                return found
    cause = error.__cause__ or error.__context__
    return None if cause is None else body_too_large_in(cause)


def unsupported(names: Sequence[str]) -> ApiError:
    return ApiError(
        400,
        f"this server does not support {', '.join(names)}; leave {'them' if len(names) > 1 else 'it'} out.",
        code="unsupported_parameter",
        param=names[0],
    )


def from_uptake_error(error: UptakeError) -> ApiError:
    if isinstance(error, ApiError):
        return error
    if isinstance(error, ModelNotFoundError):
        served = ", ".join(error.suggestions) or "none yet"
        return ApiError(
            404,
            f"model '{error.name}' is not served here; served models: {served}.",
            code="model_not_found",
            param="model",
        )
    if isinstance(error, ContextOverflowError):
        return ApiError(400, str(error), code="context_length_exceeded", param="messages")
    if isinstance(error, EngineBusyError):
        return ApiError(503, str(error), type_="server_error", code="queue_full", retry_after=RETRY_AFTER_S)
    if isinstance(error, UsageError):
        return ApiError(400, str(error), code="invalid_request")
    return ApiError(500, str(error), type_="server_error", code="engine_error")


def _validation_error(error: RequestValidationError) -> ApiError:
    problems = error.errors()
    first = problems[0] if problems else {}
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    if first.get("type") == "json_invalid":
        return ApiError(400, "the request body is not valid JSON.", code="invalid_json")
    param = ".".join(location) or None
    message = first.get("msg", "invalid request")
    where = f" at '{param}'" if param else ""
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return ApiError(400, f"{message}{where}{more}.", code="invalid_value", param=param)


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        return error.response()

    async def on_uptake_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, UptakeError)
        return from_uptake_error(error).response()

    async def on_validation_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return _validation_error(error).response()

    async def on_http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        if too_large := body_too_large_in(error):
            return too_large.api_error().response()
        codes = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
        message = {404: f"no route {request.url.path}", 405: f"{request.method} is not allowed here"}.get(
            error.status_code, str(error.detail)
        )
        return ApiError(error.status_code, message, code=codes.get(error.status_code)).response()

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(UptakeError, on_uptake_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
