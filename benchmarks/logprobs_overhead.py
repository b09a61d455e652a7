"""Decode speed through the engine's scheduler with log-probabilities off and on (top 5).

    .venv/bin/python benchmarks/logprobs_overhead.py [--model NAME] [--tokens 96] [--repeats 3] [--modes off,on]

The same greedy request runs alone on the batch scheduler (the server's path), the modes interleaved so
that background load affects them alike. `--modes off` runs on code without log-probabilities too, which
gives the figure from before they were added.
"""

from __future__ import annotations

import argparse
from typing import Any

from _common import median, save

from uptake.engines.base import GenerationRequest, collect
from uptake.engines.loader import load_engine
from uptake.models.resolve import resolve_model
from uptake.settings import get_settings

PROMPT = "Write a Python function that parses an ISO 8601 date string, with a docstring and three examples."


def run_once(engine: Any, mode: str, max_tokens: int) -> dict[str, float]:
    settings: dict[str, Any] = {"temperature": 0.0, "max_tokens": max_tokens}
    if mode == "on":
        settings["logprobs"] = 5
    request = GenerationRequest.from_prompt(PROMPT, **settings)
    prepared = engine.prepare(request)
    handle = engine.submit(prepared)
    result = collect(iter(handle))
    return {"completion_tokens": result.usage.completion_tokens, "decode_s": result.timings.decode_s,
            "decode_tokens_per_second": result.decode_tokens_per_second}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder:0.5b")
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", default="off,on")
    parser.add_argument("--name", default="logprobs_overhead")
    args = parser.parse_args()
    modes = args.modes.split(",")
    settings = get_settings()
    model = resolve_model(args.model, settings, pull=False)
    engine = load_engine(model, settings, context_size=2048, parallel=1)
    try:
        engine.start()
        run_once(engine, modes[0], 8)  # warm-up
        runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
        for _ in range(args.repeats):
            for mode in modes:
                runs[mode].append(run_once(engine, mode, args.tokens))
    finally:
        engine.close()
    print(f"model {args.model}, {settings.threads} threads, {args.tokens} max tokens, {args.repeats} interleaved runs")
    print(f"{'logprobs':<12}{'decode tok/s (median)':>24}{'runs':>40}{'tokens':>8}")
    medians = {}
    for mode, rows in runs.items():
        speeds = [r["decode_tokens_per_second"] for r in rows]
        medians[mode] = median(speeds)
        shown = ", ".join(f"{speed:.1f}" for speed in speeds)
        print(f"{mode:<12}{medians[mode]:>24.2f}{shown:>40}{rows[0]['completion_tokens']:>8.0f}")
    if "off" in medians and "on" in medians:
        print(f"ratio on/off = {medians['on'] / medians['off']:.3f}")
    path = save(args.name, {"model": args.model, "model_sha256": model.sha256, "threads": settings.threads,
                            "max_tokens": args.tokens, "runs": runs, "median_decode_tokens_per_second": medians})
    print(f"saved {path}")


if __name__ == "__main__":
    main()
