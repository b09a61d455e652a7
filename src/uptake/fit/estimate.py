"""Predict a model's memory and speed on a device, from its shape alone (nothing is loaded).

Memory is what the process needs resident: weights + KV cache + compute buffers + runtime.

A decode step is bound by the slower of two limits, plus a fixed cost per layer (graph, thread
barriers, kernel launches):
- streaming: every resident weight is read once per step, whatever the number of sequences decoded
  together, so bytes ÷ bandwidth;
- the matrix-vector kernels: they unpack and multiply each weight once *per sequence*, at a rate in
  weight bytes per second that scales with the device's compute and depends on the quantization
  format. On small CPUs this limit, not bandwidth, sets decode speed; on GPUs it only matters when
  many sequences share a step.
Prompt processing is bound by compute (FLOPs). The factors say what share of a device's figures
llama.cpp achieves; `Calibration` corrects them from bench results on the machine itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from uptake.fit.profiles import DeviceProfile
from uptake.fit.shape import ModelShape

F32 = 4
# llama.cpp's physical batch (n_ubatch): the most prompt tokens one compute step takes.
UBATCH = 512
# llama.cpp attends over the used KV cells rounded up to this many (the mask is padded to it).
KV_PAD = 256

# Memory of the process itself, measured by `uptake bench` before a model is loaded on CPython 3.11
# with llama_cpp, numpy and the engine imported (54–60 MB on Linux x86-64).
CPU_RUNTIME_BYTES = 60_000_000
# llama.cpp's vocabulary tables (token text, scores, lookup maps, BPE merge ranks) cost about this much
# per token and per merge: 25–60 MB for 50k–260k vocabularies in measurements.
TOKENIZER_BYTES_PER_ENTRY = 150
# A CUDA context with cuBLAS workspaces takes 0.3–0.5 GB of device memory before any tensor is made.
# An assumption from common nvidia-smi readings, not measured here.
GPU_RUNTIME_BYTES = 400_000_000


@dataclass(frozen=True)
class Workload:
    """What the model is asked to do. `prompt_tokens` None means a prompt that fills the context."""

    context: int
    parallel: int = 1
    prompt_tokens: int | None = None
    decode_tokens: int = 0
    threads: int | None = None  # CPU threads; None: all cores

    @property
    def prompt(self) -> int:
        return self.context if self.prompt_tokens is None else min(self.prompt_tokens, self.context)

    @property
    def decode_position(self) -> float:
        """Average number of cached tokens while decoding: where a decode step's speed is taken."""
        if self.prompt_tokens is None:
            return self.context / 2
        return min(self.context, self.prompt + self.decode_tokens / 2)


@dataclass(frozen=True)
class SpeedFactors:
    """What llama.cpp achieves of a device's figures, and its fixed cost per decode step."""

    bandwidth_efficiency: float  # share of the bandwidth figure that streaming weights reaches
    prompt_efficiency: float  # share of the compute figure that prompt processing reaches
    decode_bytes_per_flop: float  # decode kernels' throughput, weight bytes/s per FLOP/s of compute
    step_overhead_per_layer_s: float


# Why these values:
# - CPU, measured basis (`--device this`): the probe's figures are a numpy copy (STREAM convention,
#   read + write bytes; one thread timed by its own CPU time) and a float32 numpy matrix product on
#   one BLAS thread (one core's rate × cores). Fitted to two CPU-time bench runs of four models at 1
#   and 4 sequences on a 2-core AMD EPYC (Zen 4) VM, one thread: weights stream at the copy figure,
#   the decode kernels get through 0.21 bytes of Q4_K weights per float32 FLOP of the probe, prompts
#   run at 1.1× its FLOPs (int8 dot products keep up with float32 BLAS), and each layer costs 210 µs
#   a step. The fit leaves ±16 % between model and runs; a later run, not used for fitting, is in
#   benchmarks/results/fit_accuracy.json. Elsewhere, run `uptake bench` so that fit calibrates.
# - CPU, theoretical basis (spec sheets): the probe reaches about 0.9 of a spec sheet's float32 FLOPs
#   on that machine, and streaming reads reach about 0.7 of a DRAM spec's bandwidth.
# - GPU and unified memory: llama.cpp's CUDA decode reaches 60–75 % of HBM/GDDR bandwidth on
#   7B-class models, and its quantized kernels a third or more of the FP16 tensor peak. Assumptions,
#   not measured here (no GPU on the build machines); calibrate with `uptake bench` on the device.
DEFAULT_FACTORS: dict[tuple[str, str], SpeedFactors] = {
    ("cpu", "measured"): SpeedFactors(1.0, 1.1, 0.21, 210e-6),
    ("cpu", "theoretical"): SpeedFactors(0.7, 1.0, 0.19, 210e-6),
    ("gpu", "theoretical"): SpeedFactors(0.65, 0.35, 0.05, 20e-6),
    ("unified", "theoretical"): SpeedFactors(0.6, 0.3, 0.05, 40e-6),
}


# CPU kernels' time per weight byte, relative to Q4_K. llama.cpp repacks Q4_K and Q4_0 into
# interleaved blocks with fast AVX-512 / NEON kernels; Q8_0, Q5_0 and Q4_1 go through plain dot
# products with more unpacking per byte. Fitted on the same x86-64 runs (the Q8_0, Q5_0 and Q4_1
# figures from three models each holding a mix); types not listed count as 1.
CPU_KERNEL_COST: dict[str, float] = {
    "Q4_K": 1.0,
    "Q6_K": 1.0,
    "Q5_K": 1.0,
    "Q4_0": 1.0,
    "Q8_0": 1.6,
    "Q5_0": 1.75,
    "Q5_1": 1.75,
    "Q4_1": 2.1,
}


# A further sequence in the same decode step, relative to the first, per weight type. llama.cpp's tiled
# CPU matmul (llamafile's tinyBLAS, upstreamed for Q8_0 and Q4_0 first) multiplies each loaded block of
# weights with every row of the batch, so extra sequences cost less there; the row-by-row dot products
# of the other types pay almost in full again. Fitted on the same runs: one more sequence took 0.77 of
# the first one's kernel time on Q8_0- and Q5_0-heavy models, 0.95–1.0 on K-quant and Q4_1 ones.
CPU_EXTRA_SEQUENCE_COST: dict[str, float] = {
    "Q8_0": 0.77,
    "Q5_0": 0.77,
    "Q4_0": 0.77,
}


def kernel_cost(shape: ModelShape, device: DeviceProfile) -> float:
    """The average kernel cost per byte of this model's weights on this device (1 = Q4_K)."""
    return kernel_bytes(shape, device) / max(1, shape.resident_weight_bytes)


def kernel_bytes(shape: ModelShape, device: DeviceProfile, sequences: int = 1) -> float:
    """Resident weight bytes, each weighted by how long a CPU kernel takes over it, for a decode step of
    `sequences`: the first in full, each further one at its type's extra-sequence cost (GPUs: plain
    bytes, in full for every sequence)."""
    by_type = shape.resident_bytes_by_type or {"": shape.resident_weight_bytes}
    if device.kind != "cpu":
        return float(sequences * sum(by_type.values()))
    return sum(
        size * CPU_KERNEL_COST.get(kind, 1.0) * (1 + (sequences - 1) * CPU_EXTRA_SEQUENCE_COST.get(kind, 1.0))
        for kind, size in by_type.items()
    )


def factors_for(device: DeviceProfile) -> SpeedFactors:
    basis = device.bandwidth_basis if device.kind == "cpu" else "theoretical"
    return DEFAULT_FACTORS[(device.kind, basis)]


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int
    kv_cache: int
    compute: int
    runtime: int

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.compute + self.runtime


@dataclass(frozen=True)
class SpeedEstimate:
    prompt_tokens_per_s: float
    # Per sequence, and all sequences together (they differ when parallel > 1).
    decode_tokens_per_s: float
    decode_tokens_per_s_total: float
    decode_bytes_per_step: float
    decode_bound: str  # "bandwidth" or "compute": which part of a decode step weighs more


@dataclass(frozen=True)
class Estimate:
    model: str
    device: str
    workload: Workload
    memory: MemoryEstimate
    speed: SpeedEstimate
    calibrated: bool

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["memory"]["total"] = self.memory.total
        return data


def _pad(count: float, multiple: int) -> int:
    return int(-(-count // multiple) * multiple)


def kv_cache_bytes(shape: ModelShape, context: int, parallel: int) -> int:
    """2 (K and V) × layers × context × parallel × kv_heads × head_dim × 2 bytes (f16)."""
    return shape.kv_bytes_per_token * context * parallel


def compute_buffer_bytes(shape: ModelShape, workload: Workload, device: DeviceProfile) -> int:
    """The largest set of intermediate tensors alive at once in one compute step.

    llama.cpp reuses one buffer for a step's intermediates, so its size is the peak of: attention
    (the f32 scores, softmax taken in place, and the f32 mask: batch × attended cells × (heads + 1)),
    feed-forward (the gate and up outputs, batch × ff × 2) and logits; plus the hidden states carried
    through. Flash attention is off, as in LlamaCppEngine, so the scores grow with the context. On a
    CPU the buffer is reserved for the worst case but only the pages a step writes become resident,
    so the workload's own peak counts, with one row of logits per sequence. A GPU allocates the
    reservation in full, with logits for every token of a batch. Checked against the sizes llama.cpp
    reports for its reservations: within 3 % from 2k to 16k contexts.
    """
    tokens = workload.prompt * workload.parallel
    batch = min(UBATCH, tokens)
    attended = min(_pad(workload.prompt, KV_PAD), workload.context)
    if device.kind != "cpu":
        batch, attended = UBATCH, workload.context
    attention = batch * attended * (shape.head_count + 1) * F32
    feed_forward = 2 * batch * shape.feed_forward_length * F32
    outputs = batch if device.kind != "cpu" else workload.parallel
    logits = outputs * shape.vocab_size * F32
    hidden = 4 * batch * shape.embedding_length * F32
    return max(attention, feed_forward, logits) + hidden


def runtime_bytes(shape: ModelShape, device: DeviceProfile) -> int:
    tokenizer = TOKENIZER_BYTES_PER_ENTRY * (shape.vocab_size + shape.merges)
    if device.kind == "gpu":
        # The process and tokenizer live in host memory; the card holds the CUDA context.
        return GPU_RUNTIME_BYTES
    if device.kind == "unified":
        return CPU_RUNTIME_BYTES + tokenizer + GPU_RUNTIME_BYTES
    return CPU_RUNTIME_BYTES + tokenizer


def estimate_memory(shape: ModelShape, workload: Workload, device: DeviceProfile) -> MemoryEstimate:
    return MemoryEstimate(
        weights=shape.resident_weight_bytes,
        kv_cache=kv_cache_bytes(shape, workload.context, workload.parallel),
        compute=compute_buffer_bytes(shape, workload, device),
        runtime=runtime_bytes(shape, device),
    )


def flops_per_token(shape: ModelShape, attended: float) -> float:
    """Multiply-adds ×2 in the blocks, plus attention over `attended` cached tokens (QKᵀ and AV)."""
    attention = 2 * shape.block_count * shape.head_count * (shape.key_length + shape.value_length) * attended
    return 2 * shape.block_matmul_parameters + attention


@dataclass(frozen=True)
class DecodeTerms:
    """A decode step's parts at efficiency 1: seconds to stream the bytes, seconds for the kernels
    (per FLOP/s and byte/FLOP of 1: divide by the factor), seconds of attention arithmetic."""

    step_bytes: float
    streaming_s: float
    kernel_s: float
    attention_s: float
    layers: int


def decode_terms(shape: ModelShape, workload: Workload, device: DeviceProfile) -> DecodeTerms:
    parallel = workload.parallel
    position = workload.decode_position
    kv_bytes = parallel * shape.kv_bytes_per_token * position
    step_bytes = shape.resident_weight_bytes + kv_bytes
    compute = device.compute_for(workload.threads)
    attention_flops = parallel * (flops_per_token(shape, position) - 2 * shape.block_matmul_parameters)
    return DecodeTerms(
        step_bytes=step_bytes,
        streaming_s=step_bytes / device.bandwidth_for(workload.threads),
        kernel_s=kernel_bytes(shape, device, parallel) / compute,
        attention_s=attention_flops / compute,
        layers=shape.block_count,
    )


def decode_step_seconds(terms: DecodeTerms, factors: SpeedFactors) -> tuple[float, str]:
    """(seconds per step, which limit set it)."""
    streaming = terms.streaming_s / factors.bandwidth_efficiency
    kernels = terms.kernel_s / factors.decode_bytes_per_flop + terms.attention_s / factors.prompt_efficiency
    bound = "bandwidth" if streaming >= kernels else "compute"
    return max(streaming, kernels) + factors.step_overhead_per_layer_s * terms.layers, bound


def estimate_speed(
    shape: ModelShape, workload: Workload, device: DeviceProfile, factors: SpeedFactors
) -> SpeedEstimate:
    terms = decode_terms(shape, workload, device)
    step_s, bound = decode_step_seconds(terms, factors)
    # Prompt: every token through the blocks, attention over the prompt so far (half of it on
    # average), and the output matrix once per sequence.
    parallel, prompt = workload.parallel, workload.prompt
    prompt_flops = parallel * (prompt * flops_per_token(shape, prompt / 2) + 2 * shape.output_parameters)
    prompt_s = (
        prompt_flops * kernel_cost(shape, device) / (device.compute_for(workload.threads) * factors.prompt_efficiency)
    )
    return SpeedEstimate(
        prompt_tokens_per_s=parallel * prompt / prompt_s,
        decode_tokens_per_s=1 / step_s,
        decode_tokens_per_s_total=parallel / step_s,
        decode_bytes_per_step=terms.step_bytes,
        decode_bound=bound,
    )


@dataclass(frozen=True)
class Calibration:
    """Corrections learned from bench results on one machine: multipliers on the speed factors, a
    per-layer cost, and a ratio on memory. The identity calibration changes nothing."""

    bandwidth_scale: float = 1.0
    prompt_scale: float = 1.0
    decode_kernel_scale: float = 1.0
    step_overhead_per_layer_s: float | None = None
    memory_scale: float = 1.0
    samples: int = 0

    @property
    def is_identity(self) -> bool:
        return self.samples == 0

    def apply(self, factors: SpeedFactors) -> SpeedFactors:
        overhead = self.step_overhead_per_layer_s
        return replace(
            factors,
            bandwidth_efficiency=factors.bandwidth_efficiency * self.bandwidth_scale,
            prompt_efficiency=factors.prompt_efficiency * self.prompt_scale,
            decode_bytes_per_flop=factors.decode_bytes_per_flop * self.decode_kernel_scale,
            step_overhead_per_layer_s=factors.step_overhead_per_layer_s if overhead is None else overhead,
        )


def estimate(
    shape: ModelShape, workload: Workload, device: DeviceProfile, calibration: Calibration | None = None
) -> Estimate:
    calibration = calibration or Calibration()
    memory = estimate_memory(shape, workload, device)
    if calibration.memory_scale != 1.0:
        scale = calibration.memory_scale
        memory = MemoryEstimate(
            round(memory.weights * scale),
            round(memory.kv_cache * scale),
            round(memory.compute * scale),
            round(memory.runtime * scale),
        )
    speed = estimate_speed(shape, workload, device, calibration.apply(factors_for(device)))
    return Estimate(shape.name, device.name, workload, memory, speed, not calibration.is_identity)
