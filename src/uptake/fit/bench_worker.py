"""One bench measurement, run in its own process so that its peak memory is the model's alone.

`python -m uptake.fit.bench_worker` reads a JSON config on stdin and writes one JSON result on stdout.

Why llama.cpp's C API here and not LlamaCppEngine: decoding N sequences together needs a context made
with n_seq_max = N, which llama_cpp.Llama does not expose, and a decode speed needs exactly
`decode_tokens` steps, which the engine cannot promise (it stops at end-of-sequence). The context is
made with the engine's settings (same n_ctx per sequence, n_batch, n_ubatch, threads, flash attention
off), so the figures are the engine's. Sampling is greedy, in C, so Python adds nothing per token.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MADV_DONTNEED = 4
FILLER_TEXT = (
    "The river runs past the mill and under the old stone bridge, where the children count the boats "
    "that carry grain to the town. Each spring the water rises and the miller checks the wheel. "
)


@dataclass(frozen=True)
class WorkerConfig:
    model_path: str
    context: int
    parallel: int
    threads: int
    batch: int
    prompt_tokens: int
    decode_tokens: int
    gpu_layers: int = 0
    repeats: int = 2


@dataclass(frozen=True)
class WorkerResult:
    load_s: float
    prompt_tokens_per_s: float
    decode_tokens_per_s: float
    decode_step_s_median: float
    decode_step_s_mean: float
    # The same, timed by the CPU time the work got (one thread only; None otherwise): what the model
    # runs at with a core to itself, whatever else the machine is doing.
    prompt_tokens_per_s_cpu: float | None
    decode_tokens_per_s_cpu: float | None
    decode_step_cpu_s_median: float | None
    rss_before_load_bytes: int
    rss_after_load_bytes: int
    peak_rss_bytes: int
    working_set_bytes: int
    working_set_measured: bool
    n_ctx: int
    kv_cells_used: int


def _status_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (0 where /proc is missing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def _drop_model_pages(model_path: Path) -> bool:
    """Unmap the model file's pages from this process, then reset the peak-RSS counter.

    llama.cpp reads every tensor through its memory map while loading, and tensors it repacks for the
    CPU (or copies to a GPU) are then held twice: the copy, and file pages that are never read again.
    The kernel drops such clean file pages under memory pressure, so they are not memory the model
    needs. After this call the pages the model really reads fault back in from the page cache, and
    the next peak (VmHWM) is the working set. Linux only; elsewhere the plain peak RSS stands.
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    target = str(model_path.resolve())
    dropped = False
    with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and fields[5].strip() == target:
                start, end = (int(x, 16) for x in fields[0].split("-"))
                dropped = libc.madvise(start, end - start, MADV_DONTNEED) == 0 or dropped
    if not dropped:
        return False
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")  # 5: reset the peak RSS (VmHWM) to the current RSS
    except OSError:
        return False
    return True


def _prompt_tokens(llama: Any, vocab: Any, count: int) -> list[int]:
    text = (FILLER_TEXT * (count // 20 + 2)).encode("utf-8")
    buffer = (llama.llama_token * (len(text) + 8))()
    n = llama.llama_tokenize(vocab, text, len(text), buffer, len(buffer), False, False)
    if n < count:
        raise RuntimeError(f"the filler text gave {n} tokens, fewer than the {count} asked for")
    return list(buffer[:count])


def _fill(batch: Any, entries: list[tuple[int, int, int, bool]]) -> None:
    """entries: (token, position, sequence, wants logits)."""
    for index, (token, position, sequence, logits) in enumerate(entries):
        batch.token[index] = token
        batch.pos[index] = position
        batch.n_seq_id[index] = 1
        batch.seq_id[index][0] = sequence
        batch.logits[index] = logits
    batch.n_tokens = len(entries)


class _Session:
    """A loaded model and a context for `parallel` sequences, freed on close."""

    def __init__(self, config: WorkerConfig) -> None:
        import llama_cpp

        self.llama = llama_cpp
        self.config = config
        llama_cpp.llama_backend_init()
        model_params = llama_cpp.llama_model_default_params()
        model_params.n_gpu_layers = config.gpu_layers
        self.model = llama_cpp.llama_model_load_from_file(config.model_path.encode(), model_params)
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {config.model_path}")
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = config.context * config.parallel
        params.n_seq_max = config.parallel
        params.n_batch = max(config.batch, config.prompt_tokens * config.parallel)
        params.n_ubatch = min(config.batch, 512)
        params.n_threads = config.threads
        params.n_threads_batch = config.threads
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        self.context = llama_cpp.llama_init_from_model(self.model, params)
        if not self.context:
            raise RuntimeError("llama.cpp could not create a context (out of memory?)")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.batch = llama_cpp.llama_batch_init(params.n_batch, 0, config.parallel)
        self.sampler = llama_cpp.llama_sampler_init_greedy()

    def decode(self, entries: list[tuple[int, int, int, bool]]) -> tuple[float, float]:
        """(wall seconds, CPU seconds of this thread). With one thread llama.cpp computes in the caller,
        so the CPU time is all of the work."""
        _fill(self.batch, entries)
        cpu_started, started = time.thread_time(), time.perf_counter()
        status = self.llama.llama_decode(self.context, self.batch)
        elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
        if status != 0:
            raise RuntimeError(f"llama_decode failed with status {status}")
        return elapsed, cpu

    def clear(self) -> None:
        self.llama.llama_memory_clear(self.llama.llama_get_memory(self.context), True)

    def sample(self, index: int) -> int:
        return int(self.llama.llama_sampler_sample(self.sampler, self.context, index))

    def close(self) -> None:
        self.llama.llama_sampler_free(self.sampler)
        self.llama.llama_batch_free(self.batch)
        self.llama.llama_free(self.context)
        self.llama.llama_model_free(self.model)


def _prompt_entries(tokens: list[int], parallel: int) -> list[tuple[int, int, int, bool]]:
    last = len(tokens) - 1
    return [(t, p, s, p == last) for s in range(parallel) for p, t in enumerate(tokens)]


def measure(config: WorkerConfig) -> WorkerResult:
    rss_before = _status_kib("VmRSS") * 1024
    started = time.perf_counter()
    session = _Session(config)
    try:
        # One evaluated token: with a memory map, the weights are read from disk on first use.
        session.decode([(_prompt_tokens(session.llama, session.vocab, 1)[0], 0, 0, True)])
        load_s = time.perf_counter() - started
        rss_after_load = _status_kib("VmRSS") * 1024
        session.clear()
        dropped = _drop_model_pages(Path(config.model_path))

        tokens = _prompt_tokens(session.llama, session.vocab, config.prompt_tokens)
        prompt_times = []
        for _ in range(config.repeats):
            session.clear()
            prompt_times.append(session.decode(_prompt_entries(tokens, config.parallel)))
        prompt_s = min(wall for wall, _ in prompt_times)
        prompt_cpu_s = min(cpu for _, cpu in prompt_times)

        # Decode: one new token per sequence per step, each fed back at the next position.
        outputs = [(s + 1) * config.prompt_tokens - 1 for s in range(config.parallel)]
        next_tokens = [session.sample(index) for index in outputs]
        steps: list[tuple[float, float]] = []
        for step in range(config.decode_tokens):
            position = config.prompt_tokens + step
            steps.append(session.decode([(t, position, s, True) for s, t in enumerate(next_tokens)]))
            next_tokens = [session.sample(index) for index in range(config.parallel)]
        used = config.prompt_tokens + config.decode_tokens
    finally:
        session.close()
    median_step = statistics.median(wall for wall, _ in steps)
    median_cpu = statistics.median(cpu for _, cpu in steps)
    single = config.threads == 1
    prompt_tokens = config.prompt_tokens * config.parallel
    return WorkerResult(
        load_s=load_s,
        prompt_tokens_per_s=prompt_tokens / prompt_s,
        decode_tokens_per_s=config.parallel / median_step,
        decode_step_s_median=median_step,
        decode_step_s_mean=statistics.fmean(wall for wall, _ in steps),
        prompt_tokens_per_s_cpu=prompt_tokens / prompt_cpu_s if single else None,
        decode_tokens_per_s_cpu=config.parallel / median_cpu if single else None,
        decode_step_cpu_s_median=median_cpu if single else None,
        rss_before_load_bytes=rss_before,
        rss_after_load_bytes=rss_after_load,
        peak_rss_bytes=_peak_rss_bytes(),
        working_set_bytes=_status_kib("VmHWM") * 1024 if dropped else _peak_rss_bytes(),
        working_set_measured=dropped,
        n_ctx=config.context * config.parallel,
        kv_cells_used=used * config.parallel,
    )


def _silent(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    pass


def main() -> None:
    config = WorkerConfig(**json.loads(sys.stdin.read()))
    # The engine's imports, so the baseline memory is that of a real uptake process.
    import llama_cpp

    import uptake.engines.llamacpp  # noqa: F401

    # llama.cpp logs every load to stderr; the parent shows stderr only when something fails. The
    # callback object must outlive every llama.cpp call, so it lives in this frame until the end.
    silent_log = llama_cpp.llama_log_callback(_silent)
    if not os.environ.get("UPTAKE_DEBUG"):
        llama_cpp.llama_log_set(silent_log, ctypes.c_void_p(0))
    result = measure(config)
    sys.stdout.write(json.dumps(asdict(result)) + "\n")


if __name__ == "__main__":
    main()
