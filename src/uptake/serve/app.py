"""The OpenAI-compatible HTTP app: `create_app(models)` gives an ASGI app to run or to test in-process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

from uptake import __version__
from uptake.serve import chat, completions, embeddings
from uptake.serve.auth import BearerAuth
from uptake.serve.error_responses import install_error_handlers
from uptake.serve.guard import MAX_BODY_BYTES, Guard
from uptake.serve.metrics import CONTENT_TYPE, ServerMetrics
from uptake.serve.openai_schema import ChatCompletionChunk, Health, ModelCard, ModelList
from uptake.serve.registry import ModelRegistry, ServedModel
from uptake.serve.state import ERROR_RESPONSES, ServerState, server_state
from uptake.serve.web.security import SecurityHeaders, Sessions
from uptake.settings import Settings, get_settings

router = APIRouter()
REF_TEMPLATE = "#/components/schemas/{model}"


def _card(model: ServedModel, name: str) -> ModelCard:
    return ModelCard(id=name, created=model.created, sha256=model.sha256, adapter_sha256=model.adapter_sha256)


def _cards(model: ServedModel) -> list[ModelCard]:
    return [_card(model, name) for name in (model.name, *model.aliases)]


@router.get("/v1/models", response_model=ModelList, responses=ERROR_RESPONSES)
async def list_models(request: Request) -> Any:
    models = server_state(request).models.models()
    return ModelList(data=[card for model in models for card in _cards(model)])


@router.get("/v1/models/{model_id:path}", response_model=ModelCard, responses=ERROR_RESPONSES)
async def get_model(model_id: str, request: Request) -> Any:
    return _card(server_state(request).model(model_id), model_id)


@router.get("/health", response_model=Health, responses={503: {"model": Health, "description": "Not ready."}})
async def health(request: Request) -> Any:
    models = server_state(request).models
    state, message = models.health()
    body = Health(status=state, models=[m.name for m in models.models()], message=message)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=200 if state == "ok" else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "content": {CONTENT_TYPE.split(";")[0]: {"schema": {"type": "string"}}},
            "description": "Prometheus text format.",
        },
        401: ERROR_RESPONSES[401],
    },
)
async def metrics(request: Request) -> Response:
    return Response(server_state(request).metrics.render(), media_type=CONTENT_TYPE)


def _openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the stream chunk schema that the event-stream answers refer to."""
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        chunk = ChatCompletionChunk.model_json_schema(ref_template=REF_TEMPLATE, mode="serialization")
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(chunk.pop("$defs", {}))
        schemas["ChatCompletionChunk"] = chunk
        app.openapi_schema = document
    return app.openapi_schema


def create_app(
    models: ModelRegistry,
    *,
    api_keys: Sequence[str] = (),
    max_body_bytes: int = MAX_BODY_BYTES,
    ui: bool = False,
    settings: Settings | None = None,
    trusted_hosts: Sequence[str] | None = None,
) -> FastAPI:
    """The app for `models` (loaded or still loading). With `api_keys`, every route but /health needs one.

    With `ui`, the web console is served too, under /ui (and / leads there), on the store and runs of
    `settings` (default: the current settings). With `trusted_hosts`, a request whose Host header names
    another host is refused (400): a server on loopback answers only to loopback names, so a web page cannot
    reach it through a DNS name rebound to 127.0.0.1.
    """
    server_metrics = ServerMetrics(models)
    app = FastAPI(
        title="uptake",
        version=__version__,
        summary="OpenAI-compatible API for open-weight models, with continuous batching.",
        docs_url=None,  # the interactive pages load scripts from a CDN; the JSON document is enough
        redoc_url=None,
    )
    app.openapi = lambda: _openapi_document(app)  # type: ignore[method-assign]
    app.state.server = ServerState(models, server_metrics)
    install_error_handlers(app)
    for module_router in (router, chat.router, completions.router, embeddings.router):
        app.include_router(module_router)
    sessions = _mount_console(app, tuple(api_keys), settings or get_settings()) if ui else None
    if trusted_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(trusted_hosts))
    # Added last is outermost: the guard sees (and counts) every answer, the refusals of auth included, and
    # every answer, the guard's own included, carries the security headers.
    app.add_middleware(BearerAuth, keys=tuple(api_keys), sessions=sessions)
    app.add_middleware(Guard, metrics=server_metrics, max_body_bytes=max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app


def _mount_console(app: FastAPI, api_keys: tuple[str, ...], settings: Settings) -> Sessions:
    from fastapi.staticfiles import StaticFiles

    from uptake.serve.web.routes import STATIC_DIR, Console, PageError, page_error
    from uptake.serve.web.routes import router as console_router

    sessions = Sessions()
    app.state.console = Console(settings, api_keys, sessions)
    app.include_router(console_router)
    app.add_exception_handler(PageError, page_error)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="console-static")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=303)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:  # browsers ask for it on the stand-alone reports; no icon, no 404
        return Response(status_code=204)

    return sessions
