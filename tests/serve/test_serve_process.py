"""`uptake serve` as a real process, reached by the official openai client over loopback."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from serve_support import SERVE, free_port, serve_process


@pytest.fixture(scope="module")
def server(tiny_gguf: Path) -> Iterator[str]:
    args = [str(tiny_gguf), "--parallel", "2", "--ctx", "256", "--threads", "1", "--alias", "gpt-4o-mini=tiny",
            "--api-key", "sesame"]
    with serve_process(args, ready_timeout_s=90) as base_url:
        yield base_url


def test_the_openai_client_chats_and_streams_with_a_real_server(server: str) -> None:
    client = openai.OpenAI(api_key="sesame", base_url=f"{server}/v1", max_retries=0)
    assert {model.id for model in client.models.list()} == {"tiny", "gpt-4o-mini"}
    messages = [{"role": "user", "content": "hello"}]
    whole = client.chat.completions.create(model="gpt-4o-mini", messages=messages, max_tokens=8, temperature=0)  # type: ignore[arg-type]
    stream = client.chat.completions.create(
        model="tiny",
        messages=messages,
        max_tokens=8,
        temperature=0,
        stream=True,  # type: ignore[arg-type]
    )
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert streamed == whole.choices[0].message.content
    vectors = client.embeddings.create(model="tiny", input=["one", "two"])
    assert len(vectors.data) == 2


def test_a_real_server_wants_its_key(server: str) -> None:
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(api_key="wrong", base_url=f"{server}/v1", max_retries=0).models.list()
    assert httpx.get(f"{server}/health").status_code == 200
    assert httpx.get(f"{server}/metrics").status_code == 401


def test_an_exposed_address_without_a_key_is_refused_before_loading(tiny_gguf: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if key != "UPTAKE_API_KEYS"}
    refused = subprocess.run(
        [*SERVE, str(tiny_gguf), "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )
    assert refused.returncode == 2
    assert "--api-key" in refused.stderr
    assert "Traceback" not in refused.stderr
