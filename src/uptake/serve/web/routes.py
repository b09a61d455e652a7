"""The console's pages: chat playground, models, audits, tasks, live status, and sign-in.

Pages are rendered on the server by Jinja2 with autoescaping on, so every model answer, file name, template and
task row reaches the browser as text; the only markup a page takes as it is, is SVG this package drew (`|safe`
on charts, whose labels are escaped where they are drawn). Two small scripts of our own (chat and status) are
the only JavaScript; nothing is fetched from outside the server.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData

from uptake.apply.review import GOLD_FILE, record_decision
from uptake.audit.censorship.runs import RunIndex, locate_run
from uptake.errors import UptakeError, UsageError
from uptake.models.store import AdapterStore, Store
from uptake.run_folders import RunFolder
from uptake.serve.auth import key_matches
from uptake.serve.state import server_state
from uptake.serve.web import audits_view, models_view, tasks_view
from uptake.serve.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    Sessions,
    cookie_header,
    csrf_matches,
    new_csrf_token,
)
from uptake.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"
NAV = (
    ("/ui/", "Chat", "chat"),
    ("/ui/models", "Models", "models"),
    ("/ui/audits", "Audits", "audits"),
    ("/ui/tasks", "Tasks", "tasks"),
    ("/ui/status", "Status", "status"),
)
TRUST_NOTES = {
    "verified": "the file's sha256 matches the catalog's published hash",
    "tofu": "trust on first use: no published hash, the first pull's hash was recorded",
    "imported": "a local file, known only by its own hash",
}

router = APIRouter(prefix="/ui", include_in_schema=False)


class Console:
    """What the pages share: templates, the store, the index, fit's predictions and the sign-in sessions."""

    def __init__(self, settings: Settings, api_keys: tuple[str, ...], sessions: Sessions) -> None:
        self.settings = settings
        self.api_keys = api_keys
        self.sessions = sessions
        self.store = Store(settings)
        self.index = RunIndex(self.store.db_path)
        self.fit = models_view.FitPredictions(settings)
        self.templates = Environment(
            loader=PackageLoader("uptake.serve.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )

    def page(self, request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        self.fit.start()  # at the first page anyone opens, so the Models page rarely has to wait for it
        token = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
        html = self.templates.get_template(template).render(
            csrf_token=token, nav=NAV, auth=bool(self.api_keys), **context
        )
        response = HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})
        if token != request.cookies.get(CSRF_COOKIE):
            response.headers.append("set-cookie", cookie_header(CSRF_COOKIE, token))
        return response

    def error(self, request: Request, message: str, *, status: int = 404, back: str = "/ui/") -> HTMLResponse:
        return self.page(request, "error.html", status=status, title="Not found" if status == 404 else "Error",
                         message=message, back=back, active="")


class PageError(Exception):
    """A page that cannot be shown: the error page says why, with a link back."""

    def __init__(self, message: str, back: str, status: int = 404) -> None:
        super().__init__(message)
        self.message, self.back, self.status = message, back, status


@contextmanager
def shown_as_page(back: str) -> Iterator[None]:
    """A usage error (an unknown run, say) becomes the error page, not the API's JSON error."""
    try:
        yield
    except UsageError as error:
        raise PageError(str(error), back) from None


async def page_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, PageError)
    return console(request).error(request, error.message, status=error.status, back=error.back)


def report_file(folder: RunFolder, run_id: str, back: str) -> FileResponse:
    """A run's stand-alone report.html, as the run wrote it."""
    if not folder.report_path.is_file():
        raise PageError(f"run {run_id} has no report.html yet.", back)
    return FileResponse(folder.report_path, media_type="text/html; charset=utf-8")


def console(request: Request) -> Console:
    value = request.app.state.console
    assert isinstance(value, Console)
    return value


# Chat


@router.get("/", response_class=HTMLResponse)
async def chat_page(request: Request) -> Response:
    models = server_state(request).models
    names = [name for served in models.models() for name in (served.name, *served.aliases)]
    app = console(request)
    unserved = [adapter for adapter in AdapterStore(app.store).list() if adapter.reference not in names]
    return app.page(request, "chat.html", title="Chat", active="chat", models=names, unserved=unserved,
                    loading=models.state == "loading")


# Models


@router.get("/models", response_class=HTMLResponse)
async def models_page(request: Request) -> Response:
    app = console(request)
    store = models_view.store_rows(app.store)
    result = app.fit.result or {}
    return app.page(
        request, "models.html", title="Models", active="models", store=store, trust_notes=TRUST_NOTES,
        catalog=models_view.catalog_rows(app.fit, {row.name for row in store}),
        fit_ready=app.fit.result is not None, fit_error=app.fit.error,
        device=(result.get("device") or {}).get("description", ""),
        context=(result.get("workload") or {}).get("context", ""),
    )


@router.get("/models/bom")
async def bom_download(request: Request, name: Annotated[str, Query()]) -> Response:
    app = console(request)
    try:
        text = models_view.bom_for(app.store, name)
    except UptakeError as error:
        return app.error(request, f"cannot build the ML-BOM of {name}: {error}", status=500, back="/ui/models")
    if text is None:
        return app.error(request, f"no scan of '{name}' in the store: run 'uptake scan {name}' first.",
                         back="/ui/models")
    filename = "".join(c if c.isalnum() or c in "._-" else "-" for c in name) + ".cdx.json"
    return Response(text, media_type="application/vnd.cyclonedx+json",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


# Audits


@router.get("/audits", response_class=HTMLResponse)
async def audits_page(request: Request) -> Response:
    runs = audits_view.audit_runs(console(request).store.db_path)
    langs = list(dict.fromkeys(lang for run in runs for lang in run["gaps"]))
    return console(request).page(request, "audits.html", title="Audits", active="audits", runs=runs, langs=langs)


@router.get("/audits/compare", response_class=HTMLResponse)
async def audit_compare_page(request: Request, run: Annotated[list[str] | None, Query()] = None) -> Response:
    app = console(request)
    chosen = list(dict.fromkeys(run or []))
    if len(chosen) != 2:
        return app.error(request, f"pick exactly two runs to compare ({len(chosen)} picked).", status=400,
                         back="/ui/audits")
    with shown_as_page("/ui/audits"):
        context = audits_view.audit_compare(chosen[0], chosen[1], app.index)
    return app.page(request, "audit_compare.html", title="Compare audits", active="audits", **context)


@router.get("/audits/{run_id}", response_class=HTMLResponse)
async def audit_page(
    request: Request, run_id: str, lang: str = "", label: str = "", arm: str = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    app = console(request)
    with shown_as_page("/ui/audits"):
        context = audits_view.audit_run(run_id, app.index)
        rows, total = audits_view.answers(run_id, app.index, lang=lang or None, label=label or None, arm=arm or None,
                                          page=page)

    def query(number: int) -> str:
        return urlencode({key: value for key, value in (("lang", lang), ("label", label), ("arm", arm)) if value}
                         | {"page": number})

    return app.page(
        request, "audit_run.html", title=f"Audit {run_id}", active="audits", rows=rows, total=total, page=page,
        pages=max(1, math.ceil(total / audits_view.ANSWERS_PER_PAGE)), labels=audits_view.LABELS,
        arms=("target", "control", "harm", "neutral"), filters={"lang": lang, "label": label, "arm": arm},
        query=query, **context,
    )


@router.get("/audits/{run_id}/report", response_class=HTMLResponse)
async def audit_report(request: Request, run_id: str) -> Response:
    app = console(request)
    with shown_as_page("/ui/audits"):
        folder = locate_run(audits_view.indexed(run_id, app.index), app.index)
    return report_file(folder, run_id, back=f"/ui/audits/{run_id}")


# Tasks


@router.get("/tasks", response_class=HTMLResponse)
async def tasks_page(request: Request) -> Response:
    runs = tasks_view.task_runs(console(request).settings.home)
    return console(request).page(request, "tasks.html", title="Tasks", active="tasks", runs=runs)


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "–" if value is None else str(value)


@router.get("/tasks/{run_id}", response_class=HTMLResponse)
async def task_page(request: Request, run_id: str) -> Response:
    app = console(request)
    with shown_as_page("/ui/tasks"):
        context = tasks_view.task_run(app.settings.home, run_id)
    return app.page(request, "task_run.html", title=f"Task run {run_id}", active="tasks", fmt=_number, **context)


@router.get("/tasks/{run_id}/report", response_class=HTMLResponse)
async def task_report(request: Request, run_id: str) -> Response:
    with shown_as_page("/ui/tasks"):
        folder = tasks_view.locate(console(request).settings.home, run_id)
    return report_file(folder, run_id, back=f"/ui/tasks/{run_id}")


@router.get("/tasks/{run_id}/gold")
async def task_gold(request: Request, run_id: str) -> Response:
    with shown_as_page("/ui/tasks"):
        folder = tasks_view.locate(console(request).settings.home, run_id)
    path = folder.directory / GOLD_FILE
    content = path.read_bytes() if path.is_file() else b""
    return Response(content, media_type="application/x-ndjson",
                    headers={"content-disposition": f'attachment; filename="{run_id}-{GOLD_FILE}"'})


def _review(request: Request, run_id: str, *, status: int = 200, saved: str = "", message: str = "") -> Response:
    app = console(request)
    with shown_as_page("/ui/tasks"):
        context = tasks_view.review_queue(app.settings.home, run_id)
    return app.page(request, "task_review.html", status=status, title=f"Review {run_id}", active="tasks",
                    saved=saved, message=message, **context)


@router.get("/tasks/{run_id}/review", response_class=HTMLResponse)
async def review_page(request: Request, run_id: str, saved: str = "") -> Response:
    return _review(request, run_id, saved=saved)


@router.post("/tasks/{run_id}/review", response_class=HTMLResponse)
async def review_decision(request: Request, run_id: str) -> Response:
    form: FormData = await request.form()
    if not csrf_matches(request, _text(form, CSRF_FIELD)):
        return _review(request, run_id, status=403, message="the form's CSRF token is missing or stale; reload the "
                       "page and decide again.")
    decision, row_id = _text(form, "decision"), _text(form, "row_id")
    if decision not in ("accepted", "corrected"):
        return _review(request, run_id, status=400, message="choose accept or save correction.")
    values = {key.removeprefix("field:"): _text(form, key) for key in form if key.startswith("field:")}
    try:
        folder = tasks_view.locate(console(request).settings.home, run_id)
        record_decision(folder, row_id, decision, values)  # type: ignore[arg-type]
    except UsageError as error:
        return _review(request, run_id, status=400, message=str(error))
    target = f"/ui/tasks/{run_id}/review?{urlencode({'saved': f'{row_id} {decision}'})}"
    return RedirectResponse(target, status_code=303)


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


# Status


def status_data(request: Request) -> dict[str, Any]:
    state = server_state(request)
    registry = state.metrics.registry
    health, message = state.models.health()
    models = []
    for served in state.models.models():
        stats = served.engine.stats()
        labels = {"model": served.name}
        speed_sum = registry.get_sample_value("uptake_tokens_per_second_sum", labels) or 0.0
        speed_count = registry.get_sample_value("uptake_tokens_per_second_count", labels) or 0.0
        models.append({
            "name": served.name,
            "waiting": stats.waiting,
            "active": stats.active,
            "parallel": stats.parallel,
            "cancelled": stats.cancelled,
            "prompt_tokens": registry.get_sample_value("uptake_prompt_tokens_total", labels) or 0.0,
            "completion_tokens": registry.get_sample_value("uptake_completion_tokens_total", labels) or 0.0,
            "mean_decode_tokens_per_s": speed_sum / speed_count if speed_count else None,
        })
    return {"state": health, "message": message, "time": time.time(), "models": models}


@router.get("/api/status")
async def status_json(request: Request) -> JSONResponse:
    return JSONResponse(status_data(request), headers={"cache-control": "no-store"})


@router.get("/status", response_class=HTMLResponse)
async def status_page(request: Request) -> Response:
    data = status_data(request)
    return console(request).page(request, "status.html", title="Status", active="status", **data)


# Sign-in


def _safe_next(target: str) -> str:
    """Only a path of this console: never another site (an open redirect)."""
    return target if target.startswith("/ui") and not target.startswith("//") and "\\" not in target else "/ui/"


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/ui/") -> Response:
    app = console(request)
    if not app.api_keys:
        return RedirectResponse(_safe_next(next), status_code=303)
    return app.page(request, "login.html", next=_safe_next(next), message="")


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, key: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/ui/",
                csrf_token: Annotated[str, Form()] = "") -> Response:
    app = console(request)
    if not csrf_matches(request, csrf_token):
        return app.page(request, "login.html", status=403, next=_safe_next(next),
                        message="the sign-in form was stale; try again.")
    if not key_matches(key.strip().encode("utf-8"), [k.encode("utf-8") for k in app.api_keys]):
        return app.page(request, "login.html", status=401, next=_safe_next(next), message="that key is not valid.")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.headers.append("set-cookie", cookie_header(SESSION_COOKIE, app.sessions.create(),
                                                         max_age=int(app.sessions.ttl_s)))
    return response


@router.post("/logout")
async def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    app = console(request)
    if not csrf_matches(request, csrf_token):
        return app.error(request, "the sign-out form was stale; reload the page.", status=403)
    app.sessions.revoke(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/ui/login", status_code=303)
    response.headers.append("set-cookie", cookie_header(SESSION_COOKIE, "", max_age=0))
    return response
