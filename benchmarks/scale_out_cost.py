"""The cost model of docs/scale-out.md: rows per core-minute for each catalog model on a task like
hotline-triage, and what a million rows cost in core-hours and 16-core node-hours.

    .venv/bin/python benchmarks/scale_out_cost.py        # reads results/*.json and `uptake fit`; prints the table

Anchor (measured): benchmarks/results/ray_backend.json, the default model on Ray replicas of one CPU each:
rows per minute per replica. Work per row (measured): benchmarks/results/task_throughput.json, fresh prompt
tokens (after the shared-prefix cache) and completion tokens per row. Speed of each model (measured where
`uptake bench` ran, benchmarks/results/fit_accuracy.json, 1 thread, 4 sequences; else `uptake fit --offline`'s
prediction for this machine): a row costs fresh_prompt / prompt_tps + completion / decode_tps, and each model's
rows per core-minute is the anchor scaled by the default model's cost over its own. Assumes replicas scale
linearly across nodes (each has its own engine; the driver only journals rows).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from _common import RESULTS, save

DEFAULT = "qwen2.5-coder:0.5b"
NODE_CORES = 16
ROWS = 1_000_000
UPTAKE = str(Path(sys.executable).with_name("uptake"))


def measured_speeds() -> dict[str, tuple[float, float]]:
    """(prompt tok/s, decode tok/s) per model from `uptake bench` at 1 thread and 4 sequences."""
    data = json.loads((RESULTS / "fit_accuracy.json").read_text())
    return {row["model"]: (row["prompt_tokens_per_s"]["measured"], row["decode_tokens_per_s"]["measured"])
            for row in data["rows"] if row["parallel"] == 4}


def predicted_speeds() -> dict[str, dict[str, Any]]:
    """`uptake fit --offline`'s figures for this machine (all its cores), 4 sequences, per model."""
    done = subprocess.run([UPTAKE, "fit", "--offline", "--json", "--parallel", "4"], capture_output=True,
                          text=True, check=True)
    fit = json.loads(done.stdout)
    cores = fit["device"]["cores"]
    return {model["name"]: {"prompt": model["speed"]["prompt_tokens_per_s"] / cores,
                            "decode": model["speed"]["decode_tokens_per_s_total"] / cores,
                            "parameters": model["parameters"], "quantization": model["quantization"]}
            for model in fit["models"]}


def main() -> None:
    ray = json.loads((RESULTS / "ray_backend.json").read_text())
    anchor = ray["table"]["ray"]["rows_per_minute"] / 2  # two replicas of one CPU
    work = json.loads((RESULTS / "task_throughput.json").read_text())["phases"]["uptake"]
    fresh_prompt = (work["prompt_tokens"] - work["reused_prompt_tokens"]) / work["rows"]
    completion = work["completion_tokens"] / work["rows"]
    measured, predicted = measured_speeds(), predicted_speeds()

    def row_seconds(name: str) -> tuple[float, str]:
        if name in measured:
            prompt, decode = measured[name]
            return fresh_prompt / prompt + completion / decode, "measured (bench)"
        speeds = predicted[name]
        return fresh_prompt / speeds["prompt"] + completion / speeds["decode"], "predicted (fit)"

    base, _ = row_seconds(DEFAULT)
    table = []
    for name, speeds in predicted.items():
        seconds, basis = row_seconds(name)
        per_core = anchor * base / seconds
        core_hours = ROWS / per_core / 60
        table.append({"model": name, "parameters": speeds["parameters"], "quantization": speeds["quantization"],
                      "speed_basis": basis, "rows_per_core_minute": round(per_core, 1),
                      "core_hours_per_million": round(core_hours), "node_hours_per_million":
                      round(core_hours / NODE_CORES, 1)})
    table.sort(key=lambda row: row["parameters"])
    print(f"anchor: {anchor:.1f} rows/min per 1-CPU replica ({DEFAULT}, measured on Ray); per row "
          f"{fresh_prompt:.0f} fresh prompt + {completion:.1f} completion tokens")
    print(f"| model | params | speeds | rows / core-min | core-hours / 1M rows | {NODE_CORES}-core node-hours / 1M |")
    print("|---|---:|---|---:|---:|---:|")
    for row in table:
        print(f"| {row['model']} | {row['parameters'] / 1e9:.2f}B | {row['speed_basis']} | "
              f"{row['rows_per_core_minute']} | {row['core_hours_per_million']:,} | {row['node_hours_per_million']} |")
    save("scale_out_cost", {"anchor_rows_per_core_minute": anchor, "fresh_prompt_tokens_per_row": fresh_prompt,
                            "completion_tokens_per_row": completion, "node_cores": NODE_CORES, "table": table})


if __name__ == "__main__":
    main()
