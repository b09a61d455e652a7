"""The web console's figures: each page's first response with 100 audit runs and 50 store entries, the size of
its JavaScript, and the time of the browser suite.

    .venv/bin/python benchmarks/web_console.py [--audits 100] [--models 50] [--repeats 20] [--no-browser-suite]

A temporary home gets 50 tiny GGUF models (imported through the scan gate, so each has a scan), 100 finished
quick audits and a task run (tests/console_data.py: the audits and the task on the scripted mock engine, as the
test suite makes them). `uptake serve` (the installed command, console on by default) serves it, one tiny model
loaded; every page is fetched over loopback once right after start ("first") and then `--repeats` times
("warm"). The browser suite is `pytest tests/web/test_console_browser.py`, timed as a whole.

The peer, llama-server's web UI, cannot run here (llama-cpp-python ships the library, not the llama-server
binary); its size is cited from its repository: tools/server/public/index.html of ggml-org/llama.cpp (commit
00d3a1660894feee6eabce571c70bdad7c2ebd2c) is one file of 937,125 characters with its JavaScript and CSS inlined.
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import free_port, median, save
from serve_throughput import running

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
STATIC = ROOT / "src" / "uptake" / "serve" / "web" / "static"
UPTAKE = str(Path(sys.executable).with_name("uptake"))
PEER_UI_CHARACTERS = 937_125  # llama.cpp tools/server/public/index.html at 00d3a16, JS and CSS inlined
TARGET_MS = 200.0
TARGET_JS_BYTES = 50 * 1024
TARGET_SUITE_S = 90.0


def build_home(home: Path, audits: int, models: int) -> dict[str, Any]:
    from console_data import add_audits, add_models, add_task_run

    started = time.perf_counter()
    names = add_models(home, models, hostile=False)
    audit_ids = add_audits(home, audits, hostile=False)
    task = add_task_run(home, hostile=False)
    return {"models": names, "audits": audit_ids, "task": task, "build_s": round(time.perf_counter() - started, 1)}


def pages(data: dict[str, Any]) -> list[tuple[str, str]]:
    first, second = data["audits"][0], data["audits"][-1]
    return [
        ("chat", "/ui/"),
        ("models", "/ui/models"),
        ("audits", "/ui/audits"),
        ("audit run", f"/ui/audits/{first}"),
        ("audit answers, filtered", f"/ui/audits/{first}?label=refused&lang=en"),
        ("audit compare", f"/ui/audits/compare?run={first}&run={second}"),
        ("tasks", "/ui/tasks"),
        ("task run", f"/ui/tasks/{data['task']}"),
        ("review queue", f"/ui/tasks/{data['task']}/review"),
        ("status", "/ui/status"),
        ("status JSON", "/ui/api/status"),
    ]


def timed_get(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}: {response.text[:300]}")
    return elapsed


def measure_pages(home: Path, data: dict[str, Any], repeats: int) -> list[dict[str, Any]]:
    port = free_port()
    command = [UPTAKE, "serve", data["models"][0], "--parallel", "1", "--ctx", "256", "--threads", "1",
               "--port", str(port), "--log-level", "warning"]
    rows = []
    with running(command, port, home / "serve.log", env={"UPTAKE_HOME": str(home)}) as url, \
            httpx.Client(base_url=url, timeout=30) as client:
        first = {name: timed_get(client, path) for name, path in pages(data)}
        for name, path in pages(data):
            warm = [timed_get(client, path) for _ in range(repeats)]
            rows.append({"page": name, "path": path, "first_ms": round(first[name], 1),
                         "warm_median_ms": round(median(warm), 1), "warm_max_ms": round(max(warm), 1)})
    return rows


def javascript() -> dict[str, Any]:
    files = sorted(STATIC.glob("*.js"))
    raw = sum(path.stat().st_size for path in files)
    packed = sum(len(gzip.compress(path.read_bytes(), 9)) for path in files)
    return {"files": [path.name for path in files], "bytes": raw, "gzip_bytes": packed,
            "peer_llama_server_ui_characters": PEER_UI_CHARACTERS,
            "peer_ratio": round(PEER_UI_CHARACTERS / raw, 1)}


def browser_suite() -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/web/test_console_browser.py", "-q", "-p",
                           "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    return {"wall_s": round(elapsed, 1), "exit_status": done.returncode, "result": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audits", type=int, default=100)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--no-browser-suite", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="uptake-console-bench-") as folder:
        home = Path(folder)
        data = build_home(home, args.audits, args.models)
        rows = measure_pages(home, data, args.repeats)
    script = javascript()
    suite = None if args.no_browser_suite else browser_suite()

    print(f"home: {args.models} store entries, {args.audits} audit runs, 1 task run (built in {data['build_s']} s)")
    print(f"{'page':<26}{'first ms':>10}{'warm median':>13}{'warm max':>10}")
    for row in rows:
        print(f"{row['page']:<26}{row['first_ms']:>10.1f}{row['warm_median_ms']:>13.1f}{row['warm_max_ms']:>10.1f}")
    slowest = max(row["first_ms"] for row in rows)
    print(f"slowest first response: {slowest:.1f} ms (target ≤ {TARGET_MS:.0f} ms)")
    print(f"JavaScript: {script['bytes']} bytes ({script['gzip_bytes']} gzipped) in {', '.join(script['files'])} "
          f"(target ≤ {TARGET_JS_BYTES} bytes); llama-server's web UI: {PEER_UI_CHARACTERS} characters, "
          f"{script['peer_ratio']}× ours")
    if suite is not None:
        print(f"browser suite: {suite['wall_s']} s, {suite['result']} (target ≤ {TARGET_SUITE_S:.0f} s)")
    targets = {
        "first_response_ms_max": slowest,
        "first_response_within_target": slowest <= TARGET_MS,
        "javascript_within_target": script["bytes"] <= TARGET_JS_BYTES,
        "browser_suite_within_target": None if suite is None else (suite["exit_status"] == 0
                                                                   and suite["wall_s"] <= TARGET_SUITE_S),
    }
    path = save("web_console", {"settings": vars(args), "home_build_s": data["build_s"], "pages": rows,
                                "javascript": script, "browser_suite": suite, "targets": targets})
    print(f"saved {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
