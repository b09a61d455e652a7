"""The console's pages and forms in-process (httpx on the ASGI app): real store, audit and task data, the scripted
mock engine behind the chat API. What a browser does with them is tests/web/test_console_browser.py."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from serve_support import mock_engine

from console_data import PROBE
from uptake.serve.app import create_app
from uptake.serve.registry import ModelRegistry, ServedModel
from uptake.serve.web.security import CONTENT_SECURITY_POLICY
from uptake.settings import Settings

BASE = "http://console.test"
ESCAPED = "&lt;script&gt;window.__xss"
KEY = "page-test-key"


@pytest.fixture(scope="module")
def models() -> Iterator[ModelRegistry]:
    registry = ModelRegistry()
    registry.add(ServedModel(name="mock-a", engine=mock_engine(), aliases=(f"mock {PROBE}",)))
    registry.mark_ready()
    yield registry
    registry.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def client_for(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)  # type: ignore[arg-type]


@pytest.fixture
async def http(home: Path, models: ModelRegistry) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(models, ui=True, settings=Settings(home=home))) as client:
        yield client


def audit_ids(home: Path) -> list[str]:
    return sorted(path.name for path in (home / "runs").iterdir())


def task_folder(home: Path) -> Path:
    return next((home / "tasks").iterdir())


def page_paths(home: Path) -> list[tuple[str, bool]]:
    first, second = audit_ids(home)
    task = task_folder(home).name
    return [
        ("/ui/", True), ("/ui/models", True), ("/ui/audits", True), (f"/ui/audits/{first}", True),
        (f"/ui/audits/{first}?label=deflected&lang=en", True), (f"/ui/audits/{first}/report", True),
        (f"/ui/audits/compare?run={first}&run={second}", True), ("/ui/tasks", False), (f"/ui/tasks/{task}", False),
        (f"/ui/tasks/{task}/review", True), (f"/ui/tasks/{task}/report", True), ("/ui/status", False),
    ]


@pytest.mark.anyio
async def test_every_page_answers_with_the_security_headers(home: Path, http: httpx.AsyncClient) -> None:
    for path, _ in page_paths(home):
        response = await http.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self';" in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.anyio
async def test_untrusted_text_reaches_every_page_escaped(home: Path, http: httpx.AsyncClient) -> None:
    for path, shows_probe in page_paths(home):
        page = (await http.get(path)).text
        assert PROBE not in page, f"{path} holds the probe unescaped"
        assert "<img src=x" not in page and "<script>window" not in page, path
        if shows_probe:
            assert ESCAPED in page, f"{path} does not show the probe"


@pytest.mark.anyio
async def test_pages_load_only_the_console_own_scripts_and_styles(home: Path, http: httpx.AsyncClient) -> None:
    scripts: set[str] = set()
    for path, _ in page_paths(home):
        page = (await http.get(path)).text
        for tag in re.findall(r"<script\b[^>]*>", page):
            source = re.search(r'src="([^"]+)"', tag)
            assert source is not None, f"{path} has an inline script: {tag}"
            scripts.add(source.group(1))
        assert not re.search(r'(src|href)="(https?:)?//', page), f"{path} loads something from elsewhere"
    assert scripts == {"/ui/static/console.js", "/ui/static/chat.js"}
    total = 0
    for script in scripts:
        response = await http.get(script)
        assert response.status_code == 200
        total += len(response.content)
    assert total <= 50 * 1024


@pytest.mark.anyio
async def test_the_store_page_shows_trust_scan_findings_and_template(home: Path, http: httpx.AsyncClient) -> None:
    page = (await http.get("/ui/models")).text
    for name in ("tiny-00", "tiny-01"):
        assert f'<td class="mono">{name}</td>' in page
    assert page.count(">imported</span>") == 2
    assert "verdict-clean" in page and "PROV004" in page  # the last scan and its finding, by rule
    assert "&lt;|im_start|&gt;" in page  # the chat template, as text
    assert "qwen2.5-coder:0.5b" in page  # the catalog


@pytest.mark.anyio
async def test_the_bom_download_is_the_last_scan_as_cyclonedx(home: Path, http: httpx.AsyncClient) -> None:
    response = await http.get("/ui/models/bom", params={"name": "tiny-00"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="tiny-00.cdx.json"'
    bom = response.json()
    assert bom["bomFormat"] == "CycloneDX"
    from uptake.models.store import Store

    sha256 = Store(Settings(home=home)).resolve("tiny-00").sha256
    hashes = [h["content"] for component in bom["components"] for h in component.get("hashes", [])]
    assert sha256 in hashes
    missing = await http.get("/ui/models/bom", params={"name": "absent"})
    assert missing.status_code == 404 and "uptake scan absent" in missing.text


@pytest.mark.anyio
async def test_audit_pages_show_gaps_answers_and_compare(home: Path, http: httpx.AsyncClient) -> None:
    first, second = audit_ids(home)
    listing = (await http.get("/ui/audits")).text
    assert first in listing and second in listing and "gap zh-Hans" in listing
    run = (await http.get(f"/ui/audits/{first}")).text
    assert '<svg class="chart"' in run and "Gap per language" in run
    summary = json.loads((home / "runs" / first / "summary.json").read_text(encoding="utf-8"))
    gap = summary["headline"][0]
    assert f"{gap['gap'] * 100:+.0f} pp" in run
    refused = (await http.get(f"/ui/audits/{first}", params={"label": "refused"})).text
    assert "refused</span>" in refused and "deflected</span>" not in refused
    compared = (await http.get("/ui/audits/compare", params=[("run", first), ("run", second)])).text
    assert "run 1 gap" in compared and "run 2 gap" in compared
    one = await http.get("/ui/audits/compare", params={"run": first})
    assert one.status_code == 400 and "exactly two" in one.text


@pytest.mark.anyio
async def test_a_page_never_opens_a_folder_the_request_names(home: Path, http: httpx.AsyncClient) -> None:
    first, second = (home / "runs" / run for run in audit_ids(home))
    assert (first / "run.json").is_file()  # audit folders the CLI would accept by path
    compare = await http.get("/ui/audits/compare", params=[("run", str(first)), ("run", str(second))])
    for response in (compare, *[await http.get(path) for path in (
            "/ui/tasks/nope/review", "/ui/audits/nope", "/ui/audits/nope/report")]):
        assert response.status_code == 404, response.url
        assert 'id="error-message"' in response.text
    for path in (f"/ui/audits/{first}", "/ui/tasks/..%2F..%2Fetc", "/ui/static/../app.py", "/ui/static/%2e%2e/app.py"):
        assert (await http.get(path)).status_code == 404, path


@pytest.mark.anyio
async def test_task_pages_show_gates_metrics_and_the_queue(home: Path, http: httpx.AsyncClient) -> None:
    task = task_folder(home).name
    listing = (await http.get("/ui/tasks")).text
    assert task in listing and "mini-triage" in listing
    run = (await http.get(f"/ui/tasks/{task}")).text
    assert "category.macro_f1 &gt;= 0.5" in run and '<svg class="chart"' in run
    queue = (await http.get(f"/ui/tasks/{task}/review")).text
    assert re.findall(r'name="row_id" value="([^"]+)"', queue) == ["r02", "r03"]
    assert '<option selected>water</option>' in queue  # the model's answer, preselected


async def csrf_token(http: httpx.AsyncClient, path: str) -> str:
    page = (await http.get(path)).text
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match is not None
    return match.group(1)


@pytest.mark.anyio
async def test_review_decisions_become_gold(home: Path, http: httpx.AsyncClient) -> None:
    folder = task_folder(home)
    path = f"/ui/tasks/{folder.name}/review"
    token = await csrf_token(http, path)
    stale = await http.post(path, data={"csrf_token": "forged", "row_id": "r02", "decision": "accepted"})
    assert stale.status_code == 403 and not (folder / "reviewed.json").exists()
    bad = await http.post(path, data={"csrf_token": token, "row_id": "r02", "decision": "corrected",
                                      "field:category": "fire", "field:urgency": "high", "field:location": ""})
    assert bad.status_code == 400 and "&#39;fire&#39; is not a value of category" in bad.text
    unknown = await http.post(path, data={"csrf_token": token, "row_id": "r01", "decision": "accepted"})
    assert unknown.status_code == 400 and "not in this run&#39;s review queue" in unknown.text
    accepted = await http.post(path, data={"csrf_token": token, "row_id": "r02", "decision": "accepted"})
    assert accepted.status_code == 303
    corrected = await http.post(path, data={"csrf_token": token, "row_id": "r03", "decision": "corrected",
                                            "field:category": "roads", "field:urgency": "high",
                                            "field:location": "Elm Street"})
    assert corrected.status_code == 303
    gold = [json.loads(line) for line in (folder / "gold.reviewed.jsonl").read_text(encoding="utf-8").splitlines()]
    review = {row["id"]: row for row in map(json.loads, (folder / "review.jsonl").read_text().splitlines())}
    assert gold == [
        {"id": "r02", **review["r02"]["output"]},
        {"id": "r03", "category": "roads", "urgency": "high", "location": "Elm Street"},
    ]
    decisions = json.loads((folder / "reviewed.json").read_text(encoding="utf-8"))
    assert decisions["r03"]["decision"] == "corrected" and decisions["r03"]["model_output"] == review["r03"]["output"]
    download = await http.get(f"/ui/tasks/{folder.name}/gold")
    assert download.content == (folder / "gold.reviewed.jsonl").read_bytes()
    page = (await http.get(path)).text
    assert page.count('class="badge">corrected') == 1 and page.count('class="badge">accepted') == 1


@pytest.mark.anyio
async def test_status_follows_the_metrics(http: httpx.AsyncClient) -> None:
    before = (await http.get("/ui/api/status")).json()
    answer = await http.post("/v1/chat/completions", json={"model": "mock-a", "max_tokens": 5,
                                                           "messages": [{"role": "user", "content": "hi"}]})
    after = (await http.get("/ui/api/status")).json()
    assert after["state"] == "ok" and after["time"] >= before["time"]
    model = after["models"][0]
    generated = answer.json()["usage"]["completion_tokens"]
    assert model["completion_tokens"] - before["models"][0]["completion_tokens"] == generated
    assert model["parallel"] == 4 and model["active"] == 0 and model["waiting"] == 0
    metrics = (await http.get("/metrics")).text
    assert f'uptake_completion_tokens_total{{model="mock-a"}} {model["completion_tokens"]}' in metrics


@pytest.mark.anyio
async def test_without_ui_there_is_no_console(home: Path, models: ModelRegistry) -> None:
    async with client_for(create_app(models, ui=False, settings=Settings(home=home))) as client:
        assert (await client.get("/ui/")).status_code == 404
        assert (await client.get("/")).status_code == 404
        assert (await client.get("/v1/models")).status_code == 200


@pytest.mark.anyio
async def test_an_api_key_puts_the_console_behind_a_login(home: Path, models: ModelRegistry) -> None:
    async with client_for(create_app(models, api_keys=[KEY], ui=True, settings=Settings(home=home))) as http:
        redirect = await http.get("/ui/models")
        assert redirect.status_code == 303 and redirect.headers["location"] == "/ui/login?next=%2Fui%2Fmodels"
        assert (await http.get("/ui/static/console.css")).status_code == 200
        assert (await http.get("/ui/api/status")).status_code == 303
        assert (await http.get("/v1/models")).status_code == 401
        token = await csrf_token_of_login(http)
        forged = await http.post("/ui/login", data={"key": KEY, "csrf_token": "forged", "next": "/ui/models"})
        assert forged.status_code == 403
        wrong = await http.post("/ui/login", data={"key": "nope", "csrf_token": token, "next": "/ui/models"})
        assert wrong.status_code == 401 and "not valid" in wrong.text
        elsewhere = await http.post("/ui/login", data={"key": KEY, "csrf_token": token, "next": "//evil.example/"})
        assert elsewhere.status_code == 303 and elsewhere.headers["location"] == "/ui/"
        cookie = elsewhere.headers["set-cookie"]
        assert cookie.startswith("uptake_session=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert (await http.get("/ui/models")).status_code == 200
        body = {"model": "mock-a", "max_tokens": 3, "messages": [{"role": "user", "content": "hi"}]}
        refused = await http.post("/v1/chat/completions", json=body)
        assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
        allowed = await http.post("/v1/chat/completions", json=body, headers={"x-csrf-token": token})
        assert allowed.status_code == 200
        signed_out = await http.post("/ui/logout", data={"csrf_token": token})
        assert signed_out.status_code == 303
        assert (await http.get("/ui/models")).status_code == 303


async def csrf_token_of_login(http: httpx.AsyncClient) -> str:
    page = (await http.get("/ui/login", params={"next": "/ui/models"})).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


@pytest.mark.anyio
async def test_stored_adapters_show_in_the_store_and_as_a_hint_in_chat(
    uptake_home: Path, tmp_path: Path, models: ModelRegistry
) -> None:
    from control_support import store_with_adapter

    store_with_adapter(tmp_path)
    async with client_for(create_app(models, ui=True, settings=Settings(home=uptake_home))) as http:
        chat = (await http.get("/ui/")).text
        assert "<code>first+edit</code>" in chat and "uptake serve first --adapter edit" in chat
        page = (await http.get("/ui/models")).text
        assert '<td class="mono">first+edit</td><td>LoRA adapter</td>' in page
        bom = await http.get("/ui/models/bom", params={"name": "first+edit"})
        assert bom.status_code == 200 and bom.json()["bomFormat"] == "CycloneDX"
