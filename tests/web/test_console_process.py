"""`uptake serve` as users run it (the installed command, a real process, the tiny GGUF on llama.cpp): the
console is on by default, off with --no-ui, and behind the login page when a key is set."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
from serve_support import free_port, server_process

UPTAKE = str(Path(sys.executable).with_name("uptake"))
ARGS = ["--parallel", "1", "--ctx", "256", "--threads", "1", "--log-level", "warning"]


def serve(model: str, *extra: str) -> tuple[list[str], int]:
    port = free_port()
    return [UPTAKE, "serve", model, *ARGS, "--port", str(port), *extra], port


def test_the_console_is_served_by_default_with_the_store_and_a_streaming_chat(tiny_gguf: Path) -> None:
    imported = subprocess.run([UPTAKE, "import", str(tiny_gguf), "--name", "tiny"], capture_output=True, text=True,
                              timeout=120)
    assert imported.returncode == 0, imported.stderr
    command, port = serve("tiny")
    with server_process(command, port, ready_timeout_s=90) as url:
        root = httpx.get(url + "/")
        assert root.status_code == 303 and root.headers["location"] == "/ui/"
        chat = httpx.get(url + "/ui/").text
        assert '<option value="tiny">tiny</option>' in chat
        models = httpx.get(url + "/ui/models").text
        assert re.search(r'<td class="mono">tiny</td>', models) and "imported" in models
        token = re.search(r'name="csrf-token" content="([^"]+)"', chat)
        assert token is not None
        body = {"model": "tiny", "max_tokens": 4, "temperature": 0, "stream": True,
                "messages": [{"role": "user", "content": "hi"}]}
        with httpx.stream("POST", url + "/v1/chat/completions", json=body,
                          headers={"x-csrf-token": token.group(1)}) as response:
            frames = [line for line in response.iter_lines() if line.startswith("data: ")]
        assert frames[-1] == "data: [DONE]" and len(frames) >= 3
        status = httpx.get(url + "/ui/api/status").json()
        assert status["models"][0]["name"] == "tiny" and status["models"][0]["completion_tokens"] >= 1
        # On loopback it answers only to loopback names: a page on a DNS name rebound to 127.0.0.1 gets nothing.
        assert httpx.get(url + "/ui/", headers={"host": "rebound.example"}).status_code == 400
        assert httpx.get(url + "/v1/models", headers={"host": f"localhost:{port}"}).status_code == 200


def test_no_ui_serves_the_api_alone(tiny_gguf: Path) -> None:
    command, port = serve(str(tiny_gguf), "--no-ui")
    with server_process(command, port, ready_timeout_s=90) as url:
        assert httpx.get(url + "/ui/").status_code == 404
        assert httpx.get(url + "/v1/models").status_code == 200


def test_with_a_key_the_console_asks_for_it(tiny_gguf: Path) -> None:
    command, port = serve(str(tiny_gguf), "--api-key", "sesame", "--allow-host", "models.internal")
    with server_process(command, port, ready_timeout_s=90) as url:
        redirect = httpx.get(url + "/ui/models")
        assert redirect.status_code == 303 and redirect.headers["location"].startswith("/ui/login")
        login = httpx.get(url + "/ui/login")
        assert login.status_code == 200 and 'type="password"' in login.text
        assert httpx.get(url + "/v1/models", headers={"authorization": "Bearer sesame"}).status_code == 200
        proxied = httpx.get(url + "/v1/models", headers={"authorization": "Bearer sesame", "host": "models.internal"})
        assert proxied.status_code == 200  # a name given with --allow-host
