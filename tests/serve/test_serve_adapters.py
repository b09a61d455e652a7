"""`uptake serve --adapter`: one real server process answers for the base model and for MODEL+ADAPTER, each
with its own weights; an adapter made for another base stops the server before it starts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
from serve_support import SERVE, free_port, serve_process

from control_support import store_with_adapter, uptake

PROMPT = "tell me about the square"


def chat(base_url: str, model: str) -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 6,
            "temperature": 0, "logprobs": True, "top_logprobs": 3}
    response = httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=60)
    assert response.status_code == 200, response.text
    choice: dict[str, Any] = response.json()["choices"][0]
    return choice


def test_one_server_answers_for_the_base_and_for_the_adapter(tmp_path: Path, uptake_home: Path) -> None:
    store_with_adapter(tmp_path)
    args = ["first", "--adapter", "edit", "--parallel", "2", "--ctx", "256", "--threads", "1"]
    with serve_process(args, ready_timeout_s=90) as base_url:
        listed = {model["id"] for model in httpx.get(f"{base_url}/v1/models").json()["data"]}
        base, edited = chat(base_url, "first"), chat(base_url, "first+edit")
    assert listed == {"first", "first+edit"}
    first_base = base["logprobs"]["content"][0]["top_logprobs"]
    first_edited = edited["logprobs"]["content"][0]["top_logprobs"]
    assert first_base != first_edited  # the adapter's weights, not the base's, answered
    # each name answers as the one-shot command does with and without the adapter
    for choice, extra in ((base, []), (edited, ["--adapter", "edit"])):
        ran = uptake("run", "first", PROMPT, *extra, "--max-tokens", "6", "--temperature", "0", "--json",
                     home=uptake_home)
        assert ran.returncode == 0, ran.stderr
        assert json.loads(ran.stdout)["text"] == choice["message"]["content"]


def test_an_adapter_for_another_base_stops_the_server_before_it_starts(tmp_path: Path, uptake_home: Path) -> None:
    store_with_adapter(tmp_path)
    refused = subprocess.run([*SERVE, "second", "--adapter", "edit", "--port", str(free_port())],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "made for the model" in refused.stderr and "Traceback" not in refused.stderr
