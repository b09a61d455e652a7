"""Decode speed of `uptake run --json` against a bare llama_cpp.Llama loop, same model, prompt and threads.

    .venv/bin/python benchmarks/engine_overhead.py [--model NAME] [--tokens 128] [--repeats 3]

Both sides decode greedily from the same rendered prompt, so they produce the same tokens; runs are
interleaved so that background load affects both alike. The ratio is uptake / bare (1.0 = no overhead).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import median, save

from uptake.engines.base import GenerationRequest
from uptake.engines.chat_template import render_chat
from uptake.models.catalog import load_catalog
from uptake.models.resolve import resolve_model
from uptake.settings import get_settings

PROMPT = "Write a Python function that parses an ISO 8601 date string, with a docstring and three examples."


def bare_loop(model_path: Path, prompt_text: str, max_tokens: int, context: int, threads: int) -> dict[str, float]:
    """The reference: llama-cpp-python's own token generator, nothing around it."""
    from llama_cpp import Llama, llama_vocab_is_eog

    llm = Llama(str(model_path), n_ctx=context, n_threads=threads, n_threads_batch=threads,
                n_batch=512, verbose=False)
    tokens = llm.tokenize(prompt_text.encode(), add_bos=True, special=True)
    vocab = llm._model.vocab
    started = time.perf_counter()
    first = None
    count = 0
    for token in llm.generate(tokens, top_k=40, top_p=0.95, min_p=0.05, temp=0.0):
        if first is None:
            first = time.perf_counter()
        if llama_vocab_is_eog(vocab, token):
            break
        count += 1
        llm.detokenize([token])
        if count >= max_tokens:
            break
    ended = time.perf_counter()
    llm.close()
    assert first is not None
    return {"completion_tokens": count, "decode_s": ended - first, "prompt_s": first - started,
            "decode_tokens_per_second": count / (ended - first)}


def uptake_run(model: str, max_tokens: int, context: int, threads: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "uptake", "run", model, PROMPT, "--temperature", "0", "--seed", "0",
         "--max-tokens", str(max_tokens), "--ctx", str(context), "--threads", str(threads), "--json"],
        capture_output=True, text=True, check=True,
    )
    result = json.loads(done.stdout)
    return {"completion_tokens": result["usage"]["completion_tokens"], "decode_s": result["timings"]["decode_s"],
            "prompt_s": result["timings"]["prompt_s"], "decode_tokens_per_second": result["decode_tokens_per_second"]}


def wrapper_cost_us(pieces: int = 20_000) -> float:
    """Microseconds per token that the engine adds around llama.cpp's generator: UTF-8 assembly, stop-string
    matching and the event object. Measured on CPU time, so it holds under background load."""
    import codecs

    from uptake.engines.base import TextDelta
    from uptake.engines.stops import StopMatcher

    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    matcher = StopMatcher(["</s>", "\n\nUser:"])
    piece = b" token"
    started = time.process_time()
    for _ in range(pieces):
        text, _hit = matcher.feed(decoder.decode(piece))
        if text:
            TextDelta(text)
    return (time.process_time() - started) / pieces * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=load_catalog().default)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ctx", type=int, default=4096)
    args = parser.parse_args()
    settings = get_settings()
    model = resolve_model(args.model, settings)
    template = model.chat_template
    request = GenerationRequest.from_prompt(PROMPT)
    prompt_text = render_chat(template, request.all_messages(), bos_token=model.metadata.get("bos_token") or "",
                              eos_token=model.metadata.get("eos_token") or "")
    threads = settings.threads
    runs: dict[str, list[dict[str, float]]] = {"bare": [], "uptake": []}
    for _ in range(args.repeats):
        runs["bare"].append(bare_loop(model.path, prompt_text, args.tokens, args.ctx, threads))
        runs["uptake"].append(uptake_run(args.model, args.tokens, args.ctx, threads))
    bare = median([r["decode_tokens_per_second"] for r in runs["bare"]])
    ours = median([r["decode_tokens_per_second"] for r in runs["uptake"]])
    tokens = {name: [r["completion_tokens"] for r in rows] for name, rows in runs.items()}
    print(f"model {args.model}, {threads} threads, {args.tokens} max tokens, {args.repeats} interleaved runs each")
    print(f"{'runner':<28}{'decode tok/s (median)':>24}{'tokens':>10}")
    print(f"{'bare llama_cpp.Llama loop':<28}{bare:>24.2f}{tokens['bare'][0]:>10}")
    print(f"{'uptake run --json':<28}{ours:>24.2f}{tokens['uptake'][0]:>10}")
    ratio = ours / bare
    print(f"ratio uptake/bare = {ratio:.3f} (overhead {100 * (1 - ratio):+.1f}%)")
    cost = wrapper_cost_us()
    per_token_us = 1e6 / bare
    print(f"engine wrapper cost: {cost:.2f} us/token = {100 * cost / per_token_us:.3f}% of a decode step "
          f"({per_token_us:.0f} us at the bare loop's speed)")
    path = save("engine_overhead", {
        "model": args.model, "model_sha256": model.sha256, "threads": threads, "max_tokens": args.tokens,
        "context": args.ctx, "runs": runs, "median_decode_tokens_per_second": {"bare": bare, "uptake": ours},
        "ratio": ratio, "wrapper_cost_us_per_token": cost,
        "wrapper_cost_share_of_decode_step": cost / per_token_us,
        "load_average_after": os.getloadavg(),
    })
    print(f"saved {path}")


if __name__ == "__main__":
    main()
