"""What every route needs: the served models, the metrics, and the errors a route documents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from uptake.errors import ModelNotFoundError
from uptake.serve.error_responses import RETRY_AFTER_S, ApiError
from uptake.serve.metrics import ServerMetrics
from uptake.serve.openai_schema import ErrorBody
from uptake.serve.registry import ModelRegistry, ServedModel

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "The request is malformed, asks for something unsupported, or does not fit the context."),
        (401, "A valid API key is required."),
        (404, "The model is not served here."),
        (413, "The request body is too large."),
        (500, "The server failed."),
        (503, "Models are still loading, or the queue is full; retry after the Retry-After header."),
    )
}


@dataclass
class ServerState:
    models: ModelRegistry
    metrics: ServerMetrics

    def model(self, name: str) -> ServedModel:
        try:
            return self.models.get(name)
        except ModelNotFoundError:
            if self.models.state == "loading":
                raise ApiError(
                    503,
                    "models are still loading; retry shortly.",
                    type_="server_error",
                    code="model_loading",
                    retry_after=RETRY_AFTER_S,
                ) from None
            raise


def server_state(request: Request) -> ServerState:
    state = request.app.state.server
    assert isinstance(state, ServerState)
    return state
