"""The OpenAPI document is valid, lists exactly the routes served, and describes the real answers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.anyio

HELLO = [{"role": "user", "content": "hi"}]


@pytest.fixture
async def document(http: httpx.AsyncClient) -> dict[str, Any]:
    answer = await http.get("/openapi.json")
    assert answer.status_code == 200
    published: dict[str, Any] = answer.json()
    return published


def response_schema(document: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    responses = document["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} answers {status} but does not document it"
    content = responses[str(status)]["content"]
    schema = content["application/json"]["schema"]
    # Answers are checked as JSON Schema 2020-12 (OpenAPI 3.1's dialect), with the document's components.
    return {**schema, "components": document["components"]}


def check(document: dict[str, Any], path: str, method: str, answer: httpx.Response) -> None:
    schema = response_schema(document, path, method, answer.status_code)
    jsonschema.Draft202012Validator(schema).validate(answer.json())


async def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.")


async def test_every_documented_operation_is_served_and_every_served_route_documented(
    http: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    for path, item in document["paths"].items():
        for method in item:
            answer = await http.request(method, path.replace("{model_id}", "tiny"), json={})
            routed = answer.status_code not in (404, 405) or answer.json()["error"]["code"] not in (
                "not_found",
                "method_not_allowed",
            )
            assert routed, f"{method.upper()} {path} is documented but not served"
    served = {
        ("/v1/models", "get"),
        ("/v1/models/{model_id}", "get"),
        ("/v1/chat/completions", "post"),
        ("/v1/completions", "post"),
        ("/v1/embeddings", "post"),
        ("/health", "get"),
        ("/metrics", "get"),
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == served


async def test_real_answers_match_their_documented_schemas(http: httpx.AsyncClient, document: dict[str, Any]) -> None:
    chat = "/v1/chat/completions"
    check(document, "/v1/models", "get", await http.get("/v1/models"))
    check(document, "/v1/models/{model_id}", "get", await http.get("/v1/models/tiny"))
    check(document, "/v1/models/{model_id}", "get", await http.get("/v1/models/absent"))
    check(document, "/health", "get", await http.get("/health"))
    check(document, chat, "post", await http.post(chat, json={"model": "tiny", "messages": HELLO, "max_tokens": 4}))
    check(document, chat, "post", await http.post(chat, json={"model": "tiny", "messages": []}))
    check(document, chat, "post", await http.post(chat, json={"model": "absent", "messages": HELLO}))
    check(
        document,
        "/v1/completions",
        "post",
        await http.post("/v1/completions", json={"model": "tiny", "prompt": "a", "max_tokens": 3}),
    )
    check(document, "/v1/embeddings", "post", await http.post("/v1/embeddings", json={"model": "tiny", "input": "a"}))
    check(
        document,
        "/v1/embeddings",
        "post",
        await http.post("/v1/embeddings", json={"model": "tiny", "input": "a", "encoding_format": "base64"}),
    )


async def test_stream_chunks_match_the_documented_chunk_schema(
    http: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    stream = document["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]["text/event-stream"]
    chunk_schema = {**stream["x-event-schema"], "components": document["components"]}
    body = {
        "model": "tiny",
        "messages": HELLO,
        "max_tokens": 4,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    answer = await http.post("/v1/chat/completions", json=body)
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in answer.text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    for event in events[:-1]:
        jsonschema.Draft202012Validator(chunk_schema).validate(json.loads(event))
