"""`uptake audit censorship --endpoint URL`: the audit sent to an OpenAI-compatible server, as users run it.

The installed `uptake serve` runs the tiny real GGUF in its own process; the installed `uptake audit` sends the
audit's generations there. One sequence per engine on both sides, so greedy text does not depend on the batch
and the rows must equal a local audit's word for word. A server that gives no file hash is played by a small
OpenAI-compatible app in this process (it answers with text, like any other server would).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from serve_support import free_port, server_process

from tiny_gguf import write_tiny_gguf

UPTAKE = Path(sys.executable).with_name("uptake")
ARGS = ("--topics", "tiananmen-1989,liu-xiaobo", "--langs", "en,zh-Hans", "--baselines", "1", "--max-tokens", "16",
        "--json")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("model") / "tiny.gguf")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return os.environ.copy() | {"UPTAKE_HOME": str(tmp_path / "home"), "UPTAKE_THREADS": "1", "UPTAKE_PARALLEL": "1"}


@pytest.fixture(scope="module")
def served(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    home = tmp_path_factory.mktemp("server-home")
    command = [str(UPTAKE), "serve", str(tiny), "--port", str(port), "--ctx", "256", "--parallel", "1",
               "--threads", "1"]
    with server_process(command, port, ready_timeout_s=60, env={"UPTAKE_HOME": str(home)}) as url:
        yield url


def uptake(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(UPTAKE), *args], capture_output=True, text=True, env=env, timeout=180, check=False)


def audit_rows(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    folder = Path(summary["run"]["directory"])
    rows = [json.loads(line) for line in (folder / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    return {f"{row['probe_id']}/{row['lang']}/{row['sample']}": {k: v for k, v in row.items()
                                                                 if k not in ("prompt_s", "decode_s")} for row in rows}


def run_record(summary: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads((Path(summary["run"]["directory"]) / "run.json").read_text(encoding="utf-8")))


def test_an_audit_over_http_gives_the_rows_of_the_local_engine_and_records_the_file(
    tiny: Path, served: str, env: dict[str, str]
) -> None:
    import hashlib

    local = uptake("audit", "censorship", str(tiny), *ARGS, env=env)
    assert local.returncode == 0, local.stderr
    remote = uptake("audit", "censorship", *ARGS, "--endpoint", served, env=env)  # MODEL: the server's only one
    assert remote.returncode == 0, remote.stderr
    local_summary, remote_summary = json.loads(local.stdout), json.loads(remote.stdout)
    assert remote_summary["reproduce"]["engine"]["engine"] == f"http:{served}/v1"
    rows = audit_rows(remote_summary)
    assert len(rows) == local_summary["counts"]["completed"] == 12
    assert rows == audit_rows(local_summary)
    model = run_record(remote_summary)["model"]
    assert model["sha256"] == hashlib.sha256(tiny.read_bytes()).hexdigest()
    assert (model["name"], model["trust"], model["path"]) == ("tiny", "server-reported", f"{served}/v1")
    assert "unverified" not in remote.stderr


def test_resuming_an_audit_over_http_checks_the_server_still_serves_that_file(
    tiny: Path, served: str, env: dict[str, str], tmp_path: Path
) -> None:
    first = uptake("audit", "censorship", "tiny", *ARGS, "--endpoint", served, env=env)
    assert first.returncode == 0, first.stderr
    run_id = json.loads(first.stdout)["run"]["id"]
    again = uptake("audit", "censorship", "--resume", run_id, "--endpoint", served, "--json", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["counts"]["completed"] == 12
    # Another file under the same name: the resume is refused in one line, nothing generated.
    (tmp_path / "other").mkdir()
    other = write_tiny_gguf(tmp_path / "other" / "tiny.gguf", seed=7)
    port = free_port()
    command = [str(UPTAKE), "serve", str(other), "--port", str(port), "--ctx", "256", "--parallel", "1"]
    with server_process(command, port, ready_timeout_s=60, env={"UPTAKE_HOME": str(tmp_path / "h2")}) as url:
        refused = uptake("audit", "censorship", "--resume", run_id, "--endpoint", url, "--json", env=env)
    assert refused.returncode == 2
    assert "sha256" in refused.stderr and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


class _PlainServer:
    """An OpenAI-compatible server that says nothing about its files, answering every chat with the same text."""

    def __init__(self) -> None:
        app = FastAPI()

        @app.get("/v1/models")
        def models() -> dict[str, Any]:
            return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "x"}
                                               for name in ("plain", "broken")]}

        @app.get("/v1/models/{name}")
        def model(name: str) -> dict[str, Any]:
            return {"id": name, "object": "model", "created": 0, "owned_by": "x"}

        @app.post("/v1/chat/completions")
        def chat(body: dict[str, Any]) -> Any:
            if body["model"] == "broken":  # a request the server will never take (not retried)
                return JSONResponse({"error": {"message": "no such thing", "type": "invalid_request_error"}}, 400)
            return {"id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": "I cannot discuss that."}}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}}

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)


@pytest.fixture
def plain() -> Iterator[str]:
    from polling import wait_for

    server = _PlainServer()
    server.thread.start()
    wait_for(lambda: server.server.started, what="the plain server", timeout_s=20)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.server.should_exit = True
        server.thread.join(timeout=10)


def test_a_server_that_gives_no_hash_is_recorded_as_unverified(plain: str, env: dict[str, str]) -> None:
    result = uptake("audit", "censorship", "plain", *ARGS, "--endpoint", plain, env=env)
    assert result.returncode == 0, result.stderr
    assert "unverified" in result.stderr
    summary = json.loads(result.stdout)
    model = run_record(summary)["model"]
    assert (model["sha256"], model["trust"]) == (None, "unverified")
    rows = audit_rows(summary)
    assert len(rows) == 12 and {row["label"] for row in rows.values()} == {"refused"}
    # Resumed without --endpoint, the run goes back to the server it ran on (its name is all that is checked).
    again = uptake("audit", "censorship", "--resume", summary["run"]["id"], "--json", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["reproduce"]["engine"]["engine"] == f"{plain}/v1".replace("http://", "http:http://")


def test_generations_the_server_fails_exit_1_with_the_cause_and_how_to_resume(plain: str, env: dict[str, str]) -> None:
    result = uptake("audit", "censorship", "broken", *ARGS, "--endpoint", plain, env=env)
    assert result.returncode == 1
    summary = json.loads(result.stdout)  # what the run holds is still written and printed
    assert summary["run"]["status"] == "incomplete" and summary["counts"]["completed"] == 0
    error = result.stderr.strip().splitlines()[-1]
    assert "12 generations failed" in error and "HTTP 400" in error
    assert f"--resume {summary['run']['id']}" in error


@pytest.mark.parametrize(("args", "message"), [
    (("plain", "--endpoint", "ftp://x"), "not an http(s) URL"),
    (("missing", "--endpoint", "{plain}"), "does not serve a model called 'missing'"),
    (("plain", "--endpoint", "{plain}", "--adapter", "a.gguf"), "drop --adapter"),
    (("plain", "--endpoint", "{plain}", "--backend", "ray"), "--endpoint goes with --backend http"),
    (("plain", "--backend", "http"), "--backend http needs --endpoint"),
    (("plain", "--endpoint", "http://127.0.0.1:9"), "cannot reach"),
])
def test_bad_endpoint_use_is_one_line(plain: str, env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    result = uptake("audit", "censorship", *(a.format(plain=plain) for a in args), "--quick", env=env)
    assert result.returncode in (1, 2), result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_server_with_keys_takes_the_audit_with_a_key_and_refuses_it_without(
    tiny: Path, env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    command = [str(UPTAKE), "serve", str(tiny), "--port", str(port), "--ctx", "256", "--parallel", "1",
               "--api-key", "sesame"]
    with server_process(command, port, ready_timeout_s=60, env={"UPTAKE_HOME": str(tmp_path / "h")}) as url:
        refused = uptake("audit", "censorship", "tiny", *ARGS, "--endpoint", url, env=env)
        keyed = uptake("audit", "censorship", "tiny", *ARGS, "--endpoint", url,
                       env=env | {"UPTAKE_ENDPOINT_API_KEY": "sesame"})
    assert refused.returncode == 2 and "refused the API key" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert keyed.returncode == 0, keyed.stderr
    assert json.loads(keyed.stdout)["counts"]["completed"] == 12
