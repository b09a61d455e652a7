"""How fast `uptake scan` is, and how little memory it needs, next to modelscan on the same files.

    python benchmarks/scan_speed.py                              # default model from the store
    python benchmarks/scan_speed.py --model /path/model.gguf --modelscan /venv/bin/modelscan

Files: the default model (a 491 MB GGUF, pulled into the store if missing), a 1 GiB synthetic
safetensors file and a 256 MiB synthetic PyTorch-style checkpoint (zip with data.pkl), both written
to a temp folder and deleted afterwards. Each tool runs in its own process, several times, on a warm
page cache; wall time is the median, peak RSS comes from the kernel (wait4's ru_maxrss). uptake runs
twice per file: the full scan (sha256 of every byte for provenance, plus all header and template
checks) and the checks alone, which show that headers are read without loading the weights.
Prints a table and saves benchmarks/results/scan_speed.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from _common import median, save

from uptake.models.catalog import load_catalog
from uptake.models.pull import pull_model
from uptake.models.store import Store
from uptake.settings import get_settings

MiB = 1 << 20
SAFETENSORS_TENSORS = 64  # 64 x 16 MiB F32 tensors = 1 GiB of data
PYTORCH_BYTES = 256 * MiB
UPTAKE_RUN = """
import json, sys
from pathlib import Path
from uptake.scan import scan_path
report = scan_path(Path(sys.argv[1]), compute_hash=sys.argv[2] == "hash")
print(json.dumps({"verdict": report.verdict.value, "scan_s": report.duration_s}))
"""


def write_safetensors(path: Path) -> None:
    """1 GiB of random F32 weights, written in 16 MiB pieces so this script stays small in memory too."""
    size = 16 * MiB
    header = {
        f"layers.{i}.weight": {"dtype": "F32", "shape": [2048, 2048], "data_offsets": [i * size, (i + 1) * size]}
        for i in range(SAFETENSORS_TENSORS)
    }
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    rng = np.random.default_rng(0)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(text)) + text)
        for _ in range(SAFETENSORS_TENSORS):
            handle.write(rng.standard_normal(size // 4, dtype=np.float32).tobytes())


def write_pytorch(path: Path, pickle_bytes: bytes) -> None:
    rng = np.random.default_rng(1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", pickle_bytes)
        archive.writestr("archive/byteorder", "little")
        with archive.open("archive/data/0", "w", force_zip64=True) as member:
            for _ in range(PYTORCH_BYTES // (16 * MiB)):
                member.write(rng.standard_normal(4 * MiB, dtype=np.float32).tobytes())
        archive.writestr("archive/version", "3\n")


def _test_builders() -> Any:
    """The fixture builders of the scanner's tests (opcode-level pickles; torch is not needed)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "scan"))
    import artifact_builders

    return artifact_builders


def state_dict_pickle() -> bytes:
    return bytes(_test_builders().state_dict_pickle({"weight": ("0", (PYTORCH_BYTES // 4,))}))


def write_hostile_pytorch(path: Path, marker: Path) -> None:
    """A checkpoint whose data.pkl calls a harmless marker function that is on no deny-list."""
    builders = _test_builders()
    path.write_bytes(builders.pytorch_zip(builders.marker_pickle(marker, 2), {"0": bytes(64)}))


# Peak RSS is read by a small wrapper process: a child's ru_maxrss starts from the RSS of whoever
# forked it, so measuring straight from this (large) script would report its own size, not the tool's.
RSS_WRAPPER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:])
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write("\\n__peak_rss_kb__ %d %d\\n" % (peak_kb, done.returncode))
"""


def run_with_rss(command: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-S", "-c", RSS_WRAPPER, *command], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    stderr, _, last = done.stderr.rpartition("__peak_rss_kb__ ")
    peak_kb, code = (int(value) for value in last.split())
    return {"wall_s": elapsed, "peak_rss_mib": peak_kb / 1024, "code": code, "stdout": done.stdout, "stderr": stderr}


def measure(command: list[str], repeats: int) -> dict[str, Any]:
    run_with_rss(command)  # warm the page cache and the imports
    runs = [run_with_rss(command) for _ in range(repeats)]
    return {
        "wall_s": round(median([r["wall_s"] for r in runs]), 3),
        "peak_rss_mib": round(max(r["peak_rss_mib"] for r in runs), 1),
        "exit_code": runs[-1]["code"],
        "output": runs[-1]["stdout"].strip(),
    }


def modelscan_summary(report: Path) -> str:
    try:
        summary = json.loads(report.read_text())["summary"]
    except (OSError, ValueError, KeyError):
        return "no report"
    skipped = summary.get("skipped", {}).get("total_skipped", 0)
    scanned = summary.get("scanned", {}).get("total_scanned", 0)
    return f"scanned {scanned} part(s), skipped {skipped}, issues {summary.get('total_issues', 0)}"


def default_model_path() -> Path:
    store = Store(get_settings())
    model, _ = pull_model(store, load_catalog().default)
    return model.path


def benchmark_file(label: str, path: Path, modelscan: str | None, repeats: int) -> dict[str, Any]:
    python = sys.executable
    row: dict[str, Any] = {"file": label, "bytes": path.stat().st_size}
    for mode in ("hash", "nohash"):
        result = measure([python, "-c", UPTAKE_RUN, str(path), mode], repeats)
        printed = json.loads(result.pop("output"))
        result["verdict"] = printed["verdict"]
        result["scan_s_last_run"] = round(printed["scan_s"], 3)  # inside the process, imports excluded
        row[f"uptake_{'full' if mode == 'hash' else 'checks_only'}"] = result
    if modelscan:
        with tempfile.TemporaryDirectory() as folder:
            report = Path(folder) / "modelscan.json"
            result = measure([modelscan, "-p", str(path), "-r", "json", "--show-skipped", "-o", str(report)], repeats)
            result.pop("output")
            result["summary"] = modelscan_summary(report)
        row["modelscan"] = result
    return row


def print_table(rows: list[dict[str, Any]], baseline_mib: float) -> None:
    print(f"{'file':<36}{'tool':<20}{'wall s':>8}{'scan s':>8}{'peak RSS MiB':>14}  result")
    for row in rows:
        name = f"{row['file']} ({row['bytes'] / MiB:.1f} MiB)"
        for tool in ("uptake_full", "uptake_checks_only", "modelscan"):
            if tool in row:
                r = row[tool]
                result = r.get("verdict") or r.get("summary")
                scan = f"{r['scan_s_last_run']:.2f}" if "scan_s_last_run" in r else "-"
                print(f"{name:<36}{tool:<20}{r['wall_s']:>8.2f}{scan:>8}{r['peak_rss_mib']:>14.1f}  {result}")
                name = ""
    print("wall s: whole process, median of the repeats; scan s: inside uptake, imports excluded (last run).")
    print(f"A Python process that only imports the scanner peaks at {baseline_mib:.1f} MiB.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="GGUF to scan (default: the default model from the store)")
    parser.add_argument("--modelscan", default=shutil.which("modelscan"), help="modelscan executable")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = args.model or default_model_path()
    baseline = measure([sys.executable, "-c", "import uptake.scan"], args.repeats)["peak_rss_mib"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="uptake-scan-bench-") as folder:
        rows.append(benchmark_file("default model (GGUF)", model, args.modelscan, args.repeats))
        synthetic = Path(folder) / "synthetic.safetensors"
        write_safetensors(synthetic)
        rows.append(benchmark_file("synthetic safetensors", synthetic, args.modelscan, args.repeats))
        synthetic.unlink()
        checkpoint = Path(folder) / "synthetic.pt"
        write_pytorch(checkpoint, state_dict_pickle())
        rows.append(benchmark_file("synthetic PyTorch zip", checkpoint, args.modelscan, args.repeats))
        checkpoint.unlink()
        hostile = Path(folder) / "hostile.pt"
        write_hostile_pytorch(hostile, Path(folder) / "MARKER")
        rows.append(benchmark_file("hostile PyTorch zip (detection)", hostile, args.modelscan, args.repeats))
        assert not (Path(folder) / "MARKER").exists(), "a scanner unpickled the hostile file"
    print_table(rows, baseline)
    modelscan_version = None
    if args.modelscan:
        modelscan_version = subprocess.run([args.modelscan, "--version"], capture_output=True, text=True).stdout.strip()
    target = save(
        "scan_speed",
        {
            "page_cache": "warm (each command run once before the timed repeats)",
            "repeats": args.repeats,
            "modelscan": modelscan_version or "not installed",
            "python_baseline_rss_mib": baseline,
            "files": rows,
        },
    )
    print(f"saved {target}")


if __name__ == "__main__":
    main()
