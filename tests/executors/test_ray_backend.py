"""`--backend ray` as users run it: the installed `uptake` in its own process, driving a local Ray cluster of
two nodes on loopback that these tests start (usage stats off, object stores capped), on the tiny real GGUF.

Faults are real process kills: a replica's process (Ray restarts it and sends its requests again), and the
driver itself (SIGKILL, then --resume). The journal must end with every row exactly once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import ray
from ray.cluster_utils import Cluster

from polling import wait_for
from task_files import SCHEMA, many_rows, write_task
from tiny_gguf import write_tiny_gguf

UPTAKE = Path(sys.executable).with_name("uptake")
OBJECT_STORE = 80 * 1024**2
TIMING_FIELDS = ("seconds",)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """Two Ray nodes of one CPU each on this machine; this process is connected to it (to find replicas)."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "object_store_memory": OBJECT_STORE, "include_dashboard": False})
    cluster.add_node(num_cpus=1, object_store_memory=OBJECT_STORE)
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        yield str(cluster.address)
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("model") / "tiny.gguf")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    # One sequence per engine: greedy text then does not depend on what else is in the batch, so the rows of
    # every backend can be compared word for word.
    return os.environ.copy() | {"UPTAKE_HOME": str(tmp_path / "home"), "UPTAKE_THREADS": "1",
                                "UPTAKE_PARALLEL": "1", "RAY_USAGE_STATS_ENABLED": "0"}


def uptake(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(UPTAKE), *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def long_task(folder: Path, rows: int) -> Path:
    schema = json.loads(json.dumps(SCHEMA))
    schema["properties"]["location"] = {"type": ["string", "null"], "maxLength": 300}  # rows that take a while
    return write_task(folder, rows=many_rows(rows), output={"max_tokens": 96, "schema": schema}, gold=None,
                      gates=[])


def journal_rows(folder: Path) -> list[dict[str, Any]]:
    path = folder / "rows.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def comparable(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["id"]: {k: v for k, v in row.items() if k not in TIMING_FIELDS} for row in rows}


def test_a_task_on_ray_gives_the_rows_of_the_local_engine(cluster: str, tiny: Path, tmp_path: Path,
                                                          env: dict[str, str]) -> None:
    task = write_task(tmp_path / "task", rows=many_rows(12))
    local = uptake("task", "run", str(task), "--model", str(tiny), "--out", str(tmp_path / "local"), "--json",
                   env=env)
    assert local.returncode in (0, 4), local.stderr
    on_ray = uptake("task", "run", str(task), "--model", str(tiny), "--out", str(tmp_path / "ray"), "--json",
                    "--backend", "ray", "--address", cluster, "--replicas", "2", env=env)
    assert on_ray.returncode == local.returncode, on_ray.stderr
    summary = json.loads(on_ray.stdout)
    assert summary["backend"]["kind"] == "ray" and summary["backend"]["replicas"] == 2
    assert summary["backend"]["nodes"] == 2  # one replica per one-CPU node
    assert comparable(journal_rows(tmp_path / "ray")) == comparable(journal_rows(tmp_path / "local"))
    assert summary["counts"] == json.loads(local.stdout)["counts"]


def replica_pids() -> list[int]:
    """The processes of live replicas: Ray titles an actor's worker process 'ray::ModelReplica'."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"ray::ModelReplica"):
                pids.append(int(entry.name))
    return pids


def start_run(task: Path, model: Path, out: Path, cluster: str, env: dict[str, str],
              *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(UPTAKE), "task", "run", str(task), "--model", str(model), "--out", str(out),
                             "--backend", "ray", "--address", cluster, "--replicas", "2", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def check_every_row_once(out: Path, expected: int) -> None:
    rows = journal_rows(out)
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)), "a row was journaled twice"
    assert len(ids) == expected, f"{expected - len(ids)} rows missing"
    assert [row["id"] for row in rows if row["status"] == "error"] == []


@contextmanager
def run_under_way(task: Path, model: Path, out: Path, cluster: str, env: dict[str, str]) -> Iterator[Any]:
    """A run on the cluster with at least 10 rows journaled and more to come; killed at the end if still alive."""
    process = start_run(task, model, out, cluster, env)
    try:
        wait_for(lambda: len(journal_rows(out)) >= 10 or process.poll() is not None, what="rows", timeout_s=120)
        assert process.poll() is None, "the run finished before anything could be killed; give it more rows"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_a_replica_killed_mid_run_is_restarted_and_no_row_is_lost_or_doubled(
    cluster: str, tiny: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    task, out = long_task(tmp_path / "task", 160), tmp_path / "run"
    with run_under_way(task, tiny, out, cluster, env) as process:
        wait_for(replica_pids, what="a replica's process")
        os.kill(replica_pids()[0], signal.SIGKILL)
        _, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, stderr.decode()[-2000:]
    check_every_row_once(out, 160)


def test_the_driver_killed_then_resumed_leaves_no_duplicate_and_no_missing_row(
    cluster: str, tiny: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    task, out = long_task(tmp_path / "task", 160), tmp_path / "run"
    with run_under_way(task, tiny, out, cluster, env) as process:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    before = len(journal_rows(out))
    assert 10 <= before < 160
    resumed = uptake("task", "run", str(task), "--resume", str(out), "--address", cluster, "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    check_every_row_once(out, 160)
    summary = json.loads(resumed.stdout)
    assert summary["backend"]["kind"] == "ray"  # the run's own backend, from its record
    assert summary["speed"]["rows_run"] <= 160 - before + 1


def test_ray_usage_errors_are_one_line(cluster: str, tiny: Path, tmp_path: Path, env: dict[str, str]) -> None:
    task = write_task(tmp_path / "task")
    too_big = uptake("task", "run", str(task), "--model", str(tiny), "--backend", "ray", "--address", cluster,
                     "--replicas", "3", env=env)
    assert too_big.returncode == 2 and "the cluster has 2 CPUs" in too_big.stderr
    assert "Traceback" not in too_big.stderr
    stray = uptake("task", "run", str(task), "--model", str(tiny), "--replicas", "2", env=env)
    assert stray.returncode == 2 and "--backend ray" in stray.stderr


def audit_rows(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    folder = Path(summary["run"]["directory"])
    rows = [json.loads(line) for line in (folder / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    return {f"{row['probe_id']}/{row['lang']}/{row['sample']}": {k: v for k, v in row.items()
                                                                 if k not in ("prompt_s", "decode_s")} for row in rows}


def test_an_audit_on_ray_gives_the_rows_of_the_local_engine(cluster: str, tiny: Path, env: dict[str, str]) -> None:
    args = ("audit", "censorship", str(tiny), "--topics", "tiananmen-1989,liu-xiaobo", "--langs", "en,zh-Hans",
            "--baselines", "1", "--max-tokens", "16", "--json")
    local = uptake(*args, env=env)
    assert local.returncode == 0, local.stderr
    on_ray = uptake(*args, "--backend", "ray", "--address", cluster, "--replicas", "2", env=env)
    assert on_ray.returncode == 0, on_ray.stderr
    local_summary, ray_summary = json.loads(local.stdout), json.loads(on_ray.stdout)
    assert ray_summary["reproduce"]["engine"]["engine"].startswith("ray:")
    rows = audit_rows(ray_summary)
    assert len(rows) == local_summary["counts"]["completed"] == 12
    assert rows == audit_rows(local_summary)


def test_an_audit_of_model_plus_adapter_on_ray_applies_the_verified_adapter(cluster: str, tiny: Path,
                                                                             env: dict[str, str]) -> None:
    from control_support import ablation_adapter, unit_vector

    adapter = ablation_adapter(tiny, tiny.with_name("edit.gguf"), unit_vector(64, seed=3), weight=2.0)
    args = ("audit", "censorship", str(tiny), "--topics", "tiananmen-1989", "--langs", "en,zh-Hans",
            "--baselines", "1", "--max-tokens", "16", "--json")
    bare = uptake(*args, env=env)
    local = uptake(*args, "--adapter", str(adapter), env=env)
    on_ray = uptake(*args, "--adapter", str(adapter), "--backend", "ray", "--address", cluster, "--replicas", "2",
                    env=env)
    for result in (bare, local, on_ray):
        assert result.returncode == 0, result.stderr
    summaries = [json.loads(result.stdout) for result in (bare, local, on_ray)]
    assert audit_rows(summaries[2]) == audit_rows(summaries[1]) != audit_rows(summaries[0])
    record = json.loads((Path(summaries[2]["run"]["directory"]) / "run.json").read_text(encoding="utf-8"))
    assert record["model"]["adapter_sha256"] == hashlib.sha256(adapter.read_bytes()).hexdigest()


def test_serve_on_ray_answers_the_openai_client_from_two_replicas(cluster: str, tiny: Path,
                                                                   env: dict[str, str]) -> None:
    import httpx
    import openai
    from serve_support import free_port, server_process

    port = free_port()
    command = [str(UPTAKE), "serve", str(tiny), "--ray", "--address", cluster, "--replicas", "2", "--port", str(port),
               "--ctx", "256", "--parallel", "2"]
    # server_process stops it with SIGINT at the end and requires exit status 0.
    with server_process(command, port, ready_timeout_s=120, env=env) as url:
        client = openai.OpenAI(api_key="unused", base_url=f"{url}/v1", max_retries=0)
        messages: Any = [{"role": "user", "content": "hello"}]
        whole = client.chat.completions.create(model="tiny", messages=messages, max_tokens=6, temperature=0)
        streamed = "".join(chunk.choices[0].delta.content or "" for chunk in client.chat.completions.create(
            model="tiny", messages=messages, max_tokens=6, temperature=0, stream=True) if chunk.choices)
        assert streamed == whole.choices[0].message.content
        assert "uptake_completion_tokens_total" in httpx.get(f"{url}/metrics").text

        async def one(client: httpx.AsyncClient) -> str:
            body = {"model": "tiny", "messages": messages, "max_tokens": 48}
            answer = await client.post(f"{url}/v1/chat/completions", json=body, timeout=60)
            return answer.headers["x-uptake-replica"]

        async def many() -> set[str]:
            async with httpx.AsyncClient() as client:
                return set(await asyncio.gather(*(one(client) for _ in range(8))))

        # 8 requests at once, 2 sequences per replica: the proxy must use both replicas (it prefers the one on
        # its own node while that has room, so a first burst may land there alone).
        seen: set[str] = set()

        def both_answered() -> bool:
            seen.update(asyncio.run(many()))
            return len(seen) == 2

        wait_for(both_answered, what="both replicas to answer", timeout_s=60)


def test_on_the_mock_engine_ray_rows_equal_local_rows_at_any_batch_shape(cluster: str, tiny: Path,
                                                                          tmp_path: Path) -> None:
    """The scripted engine answers each row by its text alone, so rows must be equal whatever the replicas,
    sequences and order: this checks the Ray path itself (dispatch, retries, journal), not llama.cpp."""
    from uptake.apply.runner import RunOptions, create_run, execute
    from uptake.apply.taskfile import load_task
    from uptake.engines.base import GenerationRequest
    from uptake.engines.mock import MockEngine
    from uptake.executors.local import LocalExecutor
    from uptake.executors.ray import RayExecutor, RayOptions
    from uptake.models.download import sha256_file
    from uptake.models.resolve import resolve_model

    def scripted(model: Any, options: RayOptions) -> MockEngine:
        def respond(request: GenerationRequest) -> str:
            words = request.messages[-1].content.split()
            return json.dumps({"category": "noise", "urgency": "low", "location": words[-1][:20]})

        return MockEngine(responder=respond, parallel=options.parallel)

    task = load_task(write_task(tmp_path / "task", rows=many_rows(40)))
    options = RayOptions(replicas=2, parallel=4)

    def run(executor: Any, name: str) -> dict[str, dict[str, Any]]:
        folder, settings = create_run(task, RunOptions(), executor.describe(), None, command="test",
                                      home=tmp_path / name)
        execute(task, folder, settings, executor)
        return comparable(journal_rows(folder.directory))

    local_engine = scripted(None, options)
    local_engine.start()
    local = run(LocalExecutor(local_engine), "local")
    local_engine.close()
    model = resolve_model(str(tiny), pull=False)
    on_ray = RayExecutor(model, sha256_file(tiny), options, engine_factory=scripted)
    try:
        assert run(on_ray, "ray") == local
        assert len(local) == 40
    finally:
        on_ray.close()
