"""Shared bits of the benchmark scripts: machine description, waiting for a quiet machine, saving results."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def load() -> float:
    return round(os.getloadavg()[0], 2)


def settle(max_load: float, max_wait_s: float) -> float:
    """Wait (bounded) for the 1-minute load average to fall below `max_load`; the load it ends at.
    Two cores shared with other programs slow llama.cpp's threads several times over."""
    deadline = time.monotonic() + max_wait_s
    while load() > max_load and time.monotonic() < deadline:
        time.sleep(5)
    return load()


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def save(name: str, data: dict[str, Any]) -> Path:
    """Write results/<name>.json atomically, stamped with the time and the machine."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
               "machine": machine(), **data}
    target = RESULTS / f"{name}.json"
    with tempfile.NamedTemporaryFile("w", dir=RESULTS, delete=False, suffix=".tmp") as handle:
        json.dump(payload, handle, indent=2)
    os.replace(handle.name, target)
    return target
