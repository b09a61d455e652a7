"""API keys: every route but /health needs one when keys are set; exposed addresses need a key."""

from __future__ import annotations

import httpx
import openai
import pytest
from serve_support import BASE_URL

from uptake.errors import UsageError
from uptake.serve.app import create_app
from uptake.serve.auth import api_keys_from, check_exposure, is_loopback
from uptake.serve.registry import ModelRegistry

pytestmark = pytest.mark.anyio

HELLO = [{"role": "user", "content": "hi"}]


def keyed_client(models: ModelRegistry, keys: tuple[str, ...]) -> httpx.AsyncClient:
    app = create_app(models, api_keys=keys)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


async def test_without_a_key_every_route_but_health_is_refused(models: ModelRegistry) -> None:
    async with keyed_client(models, ("key-one", "key-two")) as http:
        assert (await http.get("/health")).status_code == 200
        for method, path in [
            ("GET", "/v1/models"),
            ("GET", "/metrics"),
            ("GET", "/openapi.json"),
            ("POST", "/v1/chat/completions"),
            ("POST", "/v1/embeddings"),
            ("GET", "/nowhere"),
        ]:
            answer = await http.request(method, path)
            assert answer.status_code == 401, path
            assert answer.headers["www-authenticate"] == "Bearer"
            assert answer.json()["error"]["code"] == "invalid_api_key"
        wrong = await http.get("/v1/models", headers={"Authorization": "Bearer key-three"})
        assert wrong.status_code == 401
        basic = await http.get("/v1/models", headers={"Authorization": "Basic key-one"})
        assert basic.status_code == 401
        for key in ("key-one", "key-two"):
            assert (await http.get("/v1/models", headers={"Authorization": f"Bearer {key}"})).status_code == 200


async def test_the_openai_client_authenticates_with_its_api_key(models: ModelRegistry) -> None:
    async with keyed_client(models, ("secret",)) as http:
        good = openai.AsyncOpenAI(api_key="secret", base_url=f"{BASE_URL}/v1", http_client=http, max_retries=0)
        reply = await good.chat.completions.create(model="tiny", messages=HELLO, max_tokens=3)  # type: ignore[arg-type]
        assert reply.choices[0].message.role == "assistant"
        bad = openai.AsyncOpenAI(api_key="guess", base_url=f"{BASE_URL}/v1", http_client=http, max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            await bad.models.list()
        metrics = await http.get("/metrics", headers={"Authorization": "Bearer secret"})
        assert 'uptake_requests_total{route="unmatched",status="401"} 1.0' in metrics.text


def test_keys_come_from_flags_and_the_environment() -> None:
    assert api_keys_from(["a", " b "], {"UPTAKE_API_KEYS": "c, a,,"}) == ("a", "b", "c")
    assert api_keys_from([], {}) == ()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_needs_no_key(host: str) -> None:
    assert is_loopback(host)
    check_exposure(host, (), insecure=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org"])
def test_an_exposed_address_needs_a_key_or_insecure(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(UsageError, match="--api-key"):
        check_exposure(host, (), insecure=False)
    check_exposure(host, ("key",), insecure=False)
    check_exposure(host, (), insecure=True)
