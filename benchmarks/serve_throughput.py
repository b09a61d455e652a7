"""Serving throughput: `uptake serve` against llama-cpp-python's server and llama.cpp's own llama-server.

    .venv/bin/python benchmarks/serve_throughput.py [--model NAME_OR_GGUF] [--clients 1,4,8,16]
        [--max-tokens 64] [--threads N] [--repeats 1] [--llama-server PATH]

Same model, same threads, same prompts, one session. For each number of concurrent clients, every
server is started fresh (uptake and llama-server with as many sequences/slots as clients; llama-cpp-
python serves one request at a time whatever it is told), warmed up with one request, then each client
sends its requests one after another, streaming, greedy. Reported: aggregate output tokens per second
over the level's wall time, and time to first token (p50, p95) as the clients see it.

llama-server is built from the llama.cpp sources that the installed llama-cpp-python's sdist vendors,
in a temporary folder (reused by later runs), unless --llama-server names a binary. llama-cpp-python's
server needs its extras: pip install sse-starlette starlette-context.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from _common import free_port, save

from uptake.models.resolve import is_model_path, resolve_model
from uptake.settings import get_settings

TASKS = [
    "parses an ISO 8601 date string",
    "merges two sorted lists",
    "computes a running median",
    "validates an email address",
    "flattens a nested dictionary",
    "retries a flaky HTTP call",
    "reads a CSV file into dataclasses",
    "finds the longest common prefix of strings",
]
SERVERS = ("uptake", "llama-server", "llama-cpp-python", "uptake-fa", "llama-server-fa-off")
# The variants isolate flash attention: uptake-fa leaves it to llama.cpp as llama-server does by default;
# llama-server-fa-off turns it off as uptake does by default.
DEFAULT_SERVERS = SERVERS[:3]
CONTEXT_PER_SEQUENCE = 1024


@dataclass
class Level:
    server: str
    clients: int
    requests: int
    output_tokens: int
    wall_s: float
    tokens_per_second: float
    ttft_p50_s: float
    ttft_p95_s: float


# The CPU level the Makefile builds llama-cpp-python for (its LLAMA_CMAKE_ARGS), so that both servers run
# the same kernels; CMAKE_ARGS overrides it, as it does for the Makefile's build.
PORTABLE_CMAKE_ARGS = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"


def build_llama_server() -> Path:
    """llama-server from the sdist's vendored llama.cpp, built once per version and flags in the temp folder."""
    release = version("llama-cpp-python")
    flags = os.environ.get("CMAKE_ARGS", PORTABLE_CMAKE_ARGS if platform.machine() == "x86_64" else "").split()
    tag = hashlib.sha256(" ".join(flags).encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"uptake-bench-llama-server-{release}-{tag}"
    binary = root / "build" / "bin" / "llama-server"
    if binary.exists():
        return binary
    root.mkdir(parents=True, exist_ok=True)
    print(f"building llama-server from llama-cpp-python {release}'s sources in {root} (takes a while)")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"llama-cpp-python=={release}",
            "-d",
            str(root),
        ],
        check=True,
    )
    with tarfile.open(next(root.glob("llama_cpp_python-*.tar.gz"))) as archive:
        archive.extractall(root, filter="data")
    sources = next(root.glob("llama_cpp_python-*/vendor/llama.cpp"))
    subprocess.run(
        [
            "cmake",
            "-S",
            str(sources),
            "-B",
            str(root / "build"),
            "-DCMAKE_BUILD_TYPE=Release",
            "-DLLAMA_CURL=OFF",
            "-DLLAMA_OPENSSL=OFF",
            "-DLLAMA_BUILD_TESTS=OFF",
            "-DLLAMA_BUILD_EXAMPLES=OFF",
            "-DLLAMA_BUILD_SERVER=ON",
            *flags,
        ],
        check=True,
    )
    subprocess.run(
        ["cmake", "--build", str(root / "build"), "--target", "llama-server", "-j", str(os.cpu_count() or 2)],
        check=True,
    )
    return binary


def server_command(
    server: str, model: Path, name: str, port: int, clients: int, threads: int, binary: Path | None
) -> list[str]:
    """uptake serves the model by its store name (so it uses the catalog's chat template); the others
    load the file, llama-cpp-python under the same name as an alias."""
    if server.startswith("uptake"):
        flash = ["--flash-attention", "auto"] if server == "uptake-fa" else []
        return [
            sys.executable,
            "-m",
            "uptake",
            "serve",
            name,
            "--port",
            str(port),
            "--parallel",
            str(clients),
            "--ctx",
            str(CONTEXT_PER_SEQUENCE),
            "--threads",
            str(threads),
            "--log-level",
            "warning",
            *flash,
        ]
    if server.startswith("llama-server"):
        assert binary is not None
        flash = ["-fa", "off"] if server == "llama-server-fa-off" else []
        return [
            str(binary),
            "-m",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "-t",
            str(threads),
            "-tb",
            str(threads),
            "-np",
            str(clients),
            "-c",
            str(clients * CONTEXT_PER_SEQUENCE),
            "--no-webui",
            *flash,
        ]
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        name,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
        "--n_ctx",
        str(CONTEXT_PER_SEQUENCE),
        "--interrupt_requests",  # by default a new request cuts off the running one; queue them instead
        "False",
    ]


@contextlib.contextmanager
def running(command: list[str], port: int, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """A server started by `command` (with `env` added to the environment), its output in `log`; its base
    URL once it answers, terminated at the end."""
    base_url = f"http://127.0.0.1:{port}"
    with open(log, "w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                   env=None if env is None else {**os.environ, **env})
        try:
            deadline = time.monotonic() + 300
            while not ready(base_url):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not start; see {log}")
                time.sleep(0.2)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def ready(base_url: str) -> bool:
    try:
        health = httpx.get(f"{base_url}/health", timeout=2).status_code
        if health != 404:
            return health == 200
        # llama-cpp-python has no /health; it answers at all only once its model is loaded
        return httpx.get(f"{base_url}/v1/models", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


async def one_request(http: httpx.AsyncClient, model: str, prompt: str, max_tokens: int,
                      stream: bool = True) -> tuple[float, int]:
    """(seconds to the first content, output tokens), from the server's usage or else its chunks. Not streamed,
    the first content comes with the whole answer."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0,
    }
    started = time.perf_counter()
    if not stream:
        answer = await http.post("/v1/chat/completions", json=body)
        answer.raise_for_status()
        return time.perf_counter() - started, int(answer.json()["usage"]["completion_tokens"])
    body |= {"stream": True, "stream_options": {"include_usage": True}}
    first: float | None = None
    chunks = 0
    usage: int | None = None
    async with http.stream("POST", "/v1/chat/completions", json=body) as answer:
        answer.raise_for_status()
        async for line in answer.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line.removeprefix("data: "))
            if event.get("usage"):
                usage = int(event["usage"]["completion_tokens"])
            for choice in event.get("choices") or []:
                if (choice.get("delta") or {}).get("content"):
                    chunks += 1
                    first = first or time.perf_counter()
    return (first or time.perf_counter()) - started, usage if usage is not None else chunks


async def measure(base_url: str, model: str, clients: int, per_client: int, max_tokens: int,
                  stream: bool = True) -> dict[str, Any]:
    # A fresh connection per request: llama-server closes kept-alive connections on its own schedule, and
    # a reused one that it has closed fails the next request. Connecting over loopback costs microseconds.
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=3600, limits=limits) as http:
        await one_request(http, model, "Say hello.", 8)  # warm-up, not measured

        async def client(index: int) -> list[tuple[float, int]]:
            results = []
            for turn in range(per_client):
                number = index * per_client + turn
                prompt = f"Request {number}: write a Python function that {TASKS[number % len(TASKS)]}."
                results.append(await one_request(http, model, prompt, max_tokens, stream))
            return results

        started = time.perf_counter()
        per_client_results = await asyncio.gather(*(client(index) for index in range(clients)))
        wall = time.perf_counter() - started
    samples = [sample for results in per_client_results for sample in results]
    ttfts = [ttft for ttft, _ in samples]
    tokens = sum(count for _, count in samples)
    return {
        "requests": len(samples),
        "output_tokens": tokens,
        "wall_s": round(wall, 3),
        "tokens_per_second": round(tokens / wall, 2),
        "ttft_p50_s": round(float(np.percentile(ttfts, 50)), 3),
        "ttft_p95_s": round(float(np.percentile(ttfts, 95)), 3),
    }


def run_level(
    server: str, model: Path, name: str, clients: int, args: argparse.Namespace, binary: Path | None, logs: Path
) -> Level:
    port = free_port()
    command = server_command(server, model, name, port, clients, args.threads, binary)
    per_client = max(args.requests_per_client, args.min_requests // clients)
    log = logs / f"{server}-{clients}.log"
    with running(command, port, log) as base_url:
        try:
            figures = asyncio.run(measure(base_url, name, clients, per_client, args.max_tokens))
        except httpx.HTTPError:
            print(f"{server} failed; the end of its log:\n{log.read_text(errors='replace')[-3000:]}")
            raise
    level = Level(server=server, clients=clients, **figures)
    print(
        f"  {server:<17} {clients:>2} clients: {level.tokens_per_second:7.2f} tok/s, "
        f"TTFT p50 {level.ttft_p50_s:.2f}s p95 {level.ttft_p95_s:.2f}s ({level.requests} requests)"
    )
    return level


def ratios(levels: list[Level]) -> dict[str, dict[str, dict[str, float]]]:
    """Each uptake variant's speed over each reference server's, per number of clients."""
    speed = {(level.server, level.clients): level.tokens_per_second for level in levels}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (server, clients), value in speed.items():
        if server.startswith("uptake"):
            out.setdefault(server, {})[str(clients)] = {
                f"vs_{other}": round(value / speed[(other, clients)], 3)
                for other in SERVERS
                if not other.startswith("uptake") and speed.get((other, clients))
            }
    return out


def table(levels: list[Level]) -> str:
    speed = {(level.server, level.clients): level.tokens_per_second for level in levels}
    rows = [
        "| clients | server | output tok/s | TTFT p50 (s) | TTFT p95 (s) | vs llama-server | vs llama-cpp-python |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for level in sorted(levels, key=lambda item: (item.clients, SERVERS.index(item.server))):
        relative = [
            f"{level.tokens_per_second / speed[(other, level.clients)]:.2f}x"
            if speed.get((other, level.clients)) and other != level.server
            else ""
            for other in ("llama-server", "llama-cpp-python")
        ]
        rows.append(
            f"| {level.clients} | {level.server} | {level.tokens_per_second:.1f} | {level.ttft_p50_s:.2f} "
            f"| {level.ttft_p95_s:.2f} | {relative[0]} | {relative[1]} |"
        )
    return "\n".join(rows)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the servers it started are stopped too
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=settings.default_model, help="store name or GGUF path")
    parser.add_argument("--clients", default="1,4,8,16")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--requests-per-client", type=int, default=2)
    parser.add_argument("--min-requests", type=int, default=8, help="at least this many requests per level")
    parser.add_argument("--threads", type=int, default=settings.threads)
    parser.add_argument("--servers", default=",".join(DEFAULT_SERVERS), help=f"some of {', '.join(SERVERS)}")
    parser.add_argument("--repeats", type=int, default=1, help="tries per server and level; the best is kept")
    parser.add_argument("--llama-server", type=Path, help="a llama-server binary (default: build one)")
    args = parser.parse_args()
    resolved = resolve_model(args.model, settings, pull=False)
    model, name = resolved.path, args.model if is_model_path(args.model) else resolved.name
    servers = [name for name in args.servers.split(",") if name]
    wants_binary = any(name.startswith("llama-server") for name in servers)
    binary = (args.llama_server or build_llama_server()) if wants_binary else None
    levels: list[Level] = []
    with tempfile.TemporaryDirectory(prefix="uptake-bench-logs-") as folder:
        for clients in (int(value) for value in args.clients.split(",")):
            print(f"{clients} concurrent clients")
            tries: dict[str, list[Level]] = {server: [] for server in servers}
            for _ in range(args.repeats):  # interleaved, so background load falls on every server alike
                for server in servers:
                    tries[server].append(run_level(server, Path(model), name, clients, args, binary, Path(folder)))
            # The best of the tries is the one least disturbed by whatever else the machine was doing.
            levels.extend(max(runs, key=lambda level: level.tokens_per_second) for runs in tries.values())
    print(table(levels))
    target = save(
        "serve_throughput",
        {
            "model": {"source": args.model, "file": Path(model).name, "bytes": Path(model).stat().st_size},
            "settings": {
                "threads": args.threads,
                "max_tokens": args.max_tokens,
                "context_per_sequence": CONTEXT_PER_SEQUENCE,
                "temperature": 0,
                "streaming": True,
                "repeats": args.repeats,
            },
            "versions": {"uptake": version("uptake"), "llama-cpp-python": version("llama-cpp-python")},
            "load_average_at_end": os.getloadavg(),
            "levels": [asdict(level) for level in levels],
            "uptake_ratios": ratios(levels),
            "table_markdown": table(levels),
        },
    )
    print(f"saved {target}")


if __name__ == "__main__":
    main()
