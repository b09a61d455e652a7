"""A Ray node whose disk lacks the model file: it loads the copy in its own store, after checking the hash.

The head node runs in this test's process tree; the second node (`ray start`) runs in a mount namespace of its
own where the driver's blob folder is hidden under an empty tmpfs, and with its own UPTAKE_HOME. That node
cannot see the path the driver resolved, as a separate machine could not. Needs root and `unshare` (a private
mount namespace); where the machine refuses one, the test says so and skips.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray
from ray.cluster_utils import Cluster

from polling import wait_for
from task_files import write_task
from tiny_gguf import write_tiny_gguf
from uptake.models.store import Store
from uptake.settings import Settings

UPTAKE = Path(sys.executable).with_name("uptake")
RAY = Path(sys.executable).with_name("ray")
OBJECT_STORE = 80 * 1024**2


def _private_mounts_allowed() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs none /mnt"],
                           capture_output=True, check=False)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _private_mounts_allowed(), reason="needs root and a private mount namespace")


@pytest.fixture
def two_disks(tmp_path: Path, uptake_home: Path) -> Iterator[tuple[str, Path, Path]]:
    """(head address, the driver's store home, the second node's store home); the second node sees only its own."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    node_home = tmp_path / "node-home"
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "object_store_memory": OBJECT_STORE, "include_dashboard": False})
    hidden = Store().blobs
    hidden.mkdir(parents=True, exist_ok=True)
    script = (f"mount -t tmpfs none {hidden} && exec {RAY} start --address={cluster.address} --num-cpus=1 "
              f"--object-store-memory={OBJECT_STORE} --block --disable-usage-stats")
    node = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                            env={**os.environ, "UPTAKE_HOME": str(node_home)}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        wait_for(lambda: sum(n["Alive"] for n in ray.nodes()) == 2 or node.poll() is not None,
                 what="the second node", timeout_s=60)
        assert node.poll() is None, node.communicate()[1].decode()[-2000:]
        yield str(cluster.address), uptake_home, node_home
    finally:
        ray.shutdown()
        os.killpg(node.pid, signal.SIGTERM)
        node.communicate(timeout=60)
        cluster.shutdown()


def test_a_node_without_the_file_uses_its_own_store_copy_after_checking_it(
    two_disks: tuple[str, Path, Path], tmp_path: Path
) -> None:
    address, driver_home, node_home = two_disks
    model = write_tiny_gguf(tmp_path / "tiny.gguf")
    stored = Store().import_file(model, name="tiny")
    node_copy = Store(Settings(home=node_home)).import_file(model, name="tiny")
    assert node_copy.path != stored.path  # two stores; on the second node only the second is visible
    task = write_task(tmp_path / "task")
    env = {**os.environ, "UPTAKE_HOME": str(driver_home), "UPTAKE_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    result = subprocess.run([str(UPTAKE), "task", "run", str(task), "--model", "tiny", "--backend", "ray",
                             "--address", address, "--replicas", "2", "--limit", "4", "--json"],
                            capture_output=True, text=True, env=env, timeout=180, check=False)
    assert result.returncode in (0, 4), result.stderr  # 4: a gate the tiny model fails
    summary = json.loads(result.stdout)
    assert summary["backend"]["nodes"] == 2  # a replica ran on the node that cannot see the driver's file
    assert summary["counts"]["missing"] == 0 and summary["counts"].get("error", 0) == 0
