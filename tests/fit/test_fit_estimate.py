"""The estimator against values worked out by hand for known architectures."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from uptake.fit.calibration import BenchRecord, Measured, fit_calibration
from uptake.fit.estimate import (
    Calibration,
    SpeedFactors,
    Workload,
    compute_buffer_bytes,
    estimate,
    estimate_memory,
    estimate_speed,
    factors_for,
    kernel_bytes,
    kv_cache_bytes,
)
from uptake.fit.profiles import DeviceProfile
from uptake.fit.shape import ModelShape, shape_from_catalog, shape_from_header
from uptake.models.catalog import load_catalog
from uptake.models.gguf_header import read_gguf_header


def device(kind: str = "cpu", bandwidth: float = 10e9, compute: float = 1e12) -> DeviceProfile:
    return DeviceProfile(
        name="test-device",
        description="",
        kind=kind,  # type: ignore[arg-type]
        memory_bytes=8_000_000_000,
        reserved_bytes=1_000_000_000,
        bandwidth_bytes_per_s=bandwidth,
        bandwidth_basis="theoretical",
        compute_flops=compute,
        compute_basis="theoretical",
        cores=4,
    )


def catalog_shape(name: str) -> ModelShape:
    return shape_from_catalog(load_catalog().get(name))


def test_qwen2_0_5b_block_parameters() -> None:
    # 24 blocks of: Q 896×896, K and V 896×128 (2 kv heads × 64), O 896×896, gate/up/down 896×4864.
    per_block = 896 * 896 + 2 * 896 * 128 + 896 * 896 + 3 * 896 * 4864
    assert per_block == 14_909_440
    shape = catalog_shape("qwen2.5-coder:0.5b")
    assert shape.block_matmul_parameters == 24 * per_block == 357_826_560
    # With the 151936 × 896 embedding the count meets the published total (biases and norms aside).
    assert shape.block_matmul_parameters + 151_936 * 896 == pytest.approx(shape.parameters, rel=2e-4)


def test_gemma3_uses_its_own_head_size() -> None:
    # 4 heads of 256 (not 640 / 4 = 160): Q 640×1024, K and V 640×256, O 1024×640, ff 3 × 640×2048.
    per_block = 640 * 1024 + 2 * 640 * 256 + 1024 * 640 + 3 * 640 * 2048
    shape = catalog_shape("gemma3:270m")
    assert (shape.key_length, shape.value_length) == (256, 256)
    assert shape.block_matmul_parameters == 18 * per_block == 100_270_080


@pytest.mark.parametrize(
    ("name", "separate"),
    [("qwen2.5:7b", True), ("deepseek-r1:7b", True), ("llama3.2:1b", False), ("gemma3:270m", False)],
)
def test_separate_output_matrix_is_inferred_from_the_parameter_count(name: str, separate: bool) -> None:
    # Qwen2.5-7B: 6 525 288 448 in blocks + 2 × 152064 × 3584 = 7 615 283 200 ≈ the published 7.6157 B.
    assert catalog_shape(name).separate_output is separate


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("qwen2.5-coder:0.5b", 2 * 24 * 2048 * 2 * 64 * 2),  # 24 MiB, as llama.cpp reports it
        ("gemma3:270m", 2 * 18 * 2048 * 1 * 256 * 2),  # 36 MiB
        ("smollm2:135m", 2 * 30 * 2048 * 3 * 64 * 2),  # 45 MiB
    ],
)
def test_kv_cache_bytes(name: str, expected: int) -> None:
    assert kv_cache_bytes(catalog_shape(name), context=2048, parallel=1) == expected


def test_kv_cache_grows_with_context_and_parallel_sequences() -> None:
    shape = catalog_shape("qwen2.5:7b")
    one = kv_cache_bytes(shape, 1024, 1)
    assert one == 2 * 28 * 1024 * 4 * 128 * 2
    assert kv_cache_bytes(shape, 1024, 4) == 4 * one
    assert kv_cache_bytes(shape, 4096, 1) == 4 * one


def test_decode_step_is_the_slower_of_streaming_and_kernels_plus_overhead() -> None:
    shape = catalog_shape("qwen2.5-coder:0.5b")
    factors = SpeedFactors(
        bandwidth_efficiency=0.5, prompt_efficiency=0.5, decode_bytes_per_flop=0.25, step_overhead_per_layer_s=1e-4
    )
    workload = Workload(context=2048, prompt_tokens=1000, decode_tokens=0)
    speed = estimate_speed(shape, workload, device(bandwidth=10e9, compute=1e12), factors)
    # Streaming: 485 452 288 weight bytes + 1000 cached tokens × 12 288 KV bytes (24 layers × 2 kv heads
    # × (64 + 64) × 2 B), at half of 10 GB/s.
    step_bytes = 485_452_288 + 1000 * 12_288
    streaming = step_bytes / (0.5 * 10e9)
    # Kernels: the weight bytes at 0.25 byte per FLOP of 1 TFLOPS, plus attention over 1000 tokens
    # (2 × 24 layers × 14 heads × (64 + 64) × 1000 FLOPs) at half of 1 TFLOPS.
    kernels = 485_452_288 / (0.25 * 1e12) + 2 * 24 * 14 * 128 * 1000 / (0.5 * 1e12)
    assert speed.decode_bytes_per_step == step_bytes
    assert speed.decode_tokens_per_s == pytest.approx(1 / (max(streaming, kernels) + 24 * 1e-4))
    assert speed.decode_bound == "bandwidth"
    slow_cpu = estimate_speed(shape, workload, device(bandwidth=10e9, compute=1e10), factors)
    assert slow_cpu.decode_bound == "compute"
    assert slow_cpu.decode_tokens_per_s == pytest.approx(1 / (100 * kernels + 24 * 1e-4))


def test_parallel_sequences_share_the_weight_reads_but_not_the_kernels() -> None:
    shape = catalog_shape("qwen2.5-coder:0.5b")
    factors = SpeedFactors(0.5, 0.5, 1.0, 0.0)
    one = estimate_speed(shape, Workload(2048, 1, 100, 0), device(compute=1e15), factors)
    four = estimate_speed(shape, Workload(2048, 4, 100, 0), device(compute=1e15), factors)
    assert four.decode_bytes_per_step == one.decode_bytes_per_step + 3 * 100 * shape.kv_bytes_per_token
    assert 3.5 < four.decode_tokens_per_s_total / one.decode_tokens_per_s_total <= 4
    # Where the kernels are the limit, four sequences take about four times as long per step.
    one = estimate_speed(shape, Workload(2048, 1, 100, 0), device(compute=1e8), factors)
    four = estimate_speed(shape, Workload(2048, 4, 100, 0), device(compute=1e8), factors)
    assert four.decode_tokens_per_s_total == pytest.approx(one.decode_tokens_per_s_total, rel=1e-3)


def test_prompt_is_compute_over_flops() -> None:
    shape = catalog_shape("qwen2.5-coder:0.5b")
    factors = SpeedFactors(0.5, 0.25, 1.0, 0.0)
    speed = estimate_speed(shape, Workload(2048, 1, 100, 0), device(compute=1e12), factors)
    # Per token: 2 × block weights + attention over 50 tokens on average (2 × 24 layers × 14 heads ×
    # (64 + 64) × 50); plus the output matrix (2 × 151936 × 896) once.
    flops = 100 * (2 * 357_826_560 + 2 * 24 * 14 * 128 * 50) + 2 * 151_936 * 896
    assert speed.prompt_tokens_per_s == pytest.approx(100 / (flops / (0.25 * 1e12)))


def test_gpu_reserves_logits_for_a_whole_batch() -> None:
    shape = catalog_shape("qwen2.5-coder:0.5b")
    workload = Workload(context=2048)
    # The largest of: attention scores and mask 512 × 2048 × (14 + 1) × 4, feed-forward 2 × 512 × 4864 × 4,
    # logits 512 × 151936 × 4; plus hidden states 4 × 512 × 896 × 4.
    expected = max(512 * 2048 * 15 * 4, 2 * 512 * 4864 * 4, 512 * 151_936 * 4) + 4 * 512 * 896 * 4
    assert compute_buffer_bytes(shape, workload, device(kind="gpu")) == expected == 318_504_960
    # llama.cpp 0.3.36 reports 300.25 MiB for this reservation.
    assert expected == pytest.approx(300.25 * 2**20, rel=0.02)


def test_long_contexts_make_attention_the_largest_buffer() -> None:
    # smollm2 at 8192: scores and mask 512 × 8192 × (9 + 1) × 4 outgrow the 512 × 49152 × 4 logits.
    # llama.cpp 0.3.36 reports 166.38 MiB.
    reserved = compute_buffer_bytes(catalog_shape("smollm2:135m"), Workload(context=8192), device(kind="gpu"))
    assert reserved == 512 * 8192 * 10 * 4 + 4 * 512 * 576 * 4
    assert reserved == pytest.approx(166.38 * 2**20, rel=0.03)


def test_cpu_keeps_only_touched_compute_pages() -> None:
    shape = catalog_shape("qwen2.5-coder:0.5b")
    full = compute_buffer_bytes(shape, Workload(context=2048), device())
    # A full 2048-token prompt: the last batch of 512 attends over all 2048 cells.
    assert full == 512 * 2048 * 15 * 4 + 4 * 512 * 896 * 4
    short = compute_buffer_bytes(shape, Workload(context=2048, prompt_tokens=64), device())
    assert short < full / 10


def test_memory_adds_up_and_skips_an_unread_token_embedding(tiny_gguf: Path) -> None:
    shape = shape_from_header(read_gguf_header(tiny_gguf), name="tiny", basis="file")
    # tiny: 267-token vocabulary (256 bytes + 8 merges + 3 specials), 64 wide, f32, its own output matrix.
    assert shape.block_matmul_parameters == 2 * (64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 128) == 73_728
    assert shape.separate_output
    assert shape.token_embedding_bytes == 267 * 64 * 4
    assert shape.resident_weight_bytes == shape.weight_bytes - 267 * 64 * 4
    memory = estimate_memory(shape, Workload(context=256), device())
    assert memory.weights == shape.resident_weight_bytes
    assert memory.kv_cache == 2 * 2 * 256 * 2 * 16 * 2
    assert memory.total == memory.weights + memory.kv_cache + memory.compute + memory.runtime


def test_header_and_catalog_agree_on_a_verified_model(tiny_gguf: Path) -> None:
    shape = shape_from_header(read_gguf_header(tiny_gguf), name="tiny", basis="file")
    assert (shape.block_count, shape.embedding_length, shape.head_count, shape.head_count_kv) == (2, 64, 4, 2)
    assert (shape.key_length, shape.vocab_size, shape.merges, shape.basis) == (16, 267, 8, "file")


def _records(
    shape_names: list[str], true_device: DeviceProfile, factors: SpeedFactors, memory_ratio: float
) -> list[BenchRecord]:
    records = []
    for name in shape_names:
        shape = catalog_shape(name)
        for parallel in (1, 4):
            workload = Workload(2048, parallel, 64, 64)
            speed = estimate_speed(shape, workload, true_device, factors)
            memory = round(estimate_memory(shape, workload, true_device).total * memory_ratio)
            records.append(
                BenchRecord(
                    name,
                    name,
                    shape,
                    workload,
                    2,
                    Measured(
                        1.0,
                        speed.prompt_tokens_per_s,
                        speed.decode_tokens_per_s_total,
                        1 / speed.decode_tokens_per_s,
                        memory,
                        memory,
                    ),
                )
            )
    return records


def test_calibration_recovers_a_machine_that_differs_from_the_defaults() -> None:
    machine = replace(device(), bandwidth_basis="measured", compute_basis="measured")
    defaults = factors_for(machine)
    truth = SpeedFactors(
        defaults.bandwidth_efficiency * 0.6,
        defaults.prompt_efficiency * 1.7,
        defaults.decode_bytes_per_flop * 0.6,
        120e-6,
    )
    names = ["smollm2:135m", "gemma3:270m", "qwen2.5-coder:0.5b", "qwen2.5-coder:1.5b"]
    records = _records(names, machine, truth, memory_ratio=1.05)
    calibration = fit_calibration(records, machine)
    assert calibration.samples == len(records)
    for record in records:
        plain = estimate(record.shape, record.workload, machine)
        fitted = estimate(record.shape, record.workload, machine, calibration)
        assert fitted.calibrated and not plain.calibrated
        assert fitted.speed.decode_tokens_per_s_total == pytest.approx(record.measured.decode_tokens_per_s, rel=0.05)
        assert fitted.speed.prompt_tokens_per_s == pytest.approx(record.measured.prompt_tokens_per_s, rel=0.01)
        assert fitted.memory.total == pytest.approx(record.measured.working_set_bytes, rel=0.01)
        assert abs(plain.speed.decode_tokens_per_s_total / record.measured.decode_tokens_per_s - 1) > 0.2


def test_no_records_is_the_identity() -> None:
    calibration = fit_calibration([], device())
    assert calibration == Calibration() and calibration.is_identity


def test_cpu_kernels_are_fastest_on_repacked_k_quants() -> None:
    q4k = catalog_shape("qwen2.5-coder:0.5b")
    as_q8 = replace(q4k, resident_bytes_by_type={"Q8_0": q4k.resident_weight_bytes})
    as_q41 = replace(q4k, resident_bytes_by_type={"Q4_1": q4k.resident_weight_bytes})
    cpu, gpu = device(), device(kind="gpu")
    assert kernel_bytes(q4k, cpu) == q4k.resident_weight_bytes
    assert kernel_bytes(q4k, cpu) < kernel_bytes(as_q8, cpu) < kernel_bytes(as_q41, cpu)
    assert kernel_bytes(as_q41, cpu) == pytest.approx(2.1 * q4k.resident_weight_bytes)
    assert kernel_bytes(as_q8, gpu) == kernel_bytes(as_q41, gpu) == q4k.resident_weight_bytes


def test_extra_sequences_cost_less_on_tiled_types() -> None:
    # Half Q8_0 (cost 1.6 a byte, an extra sequence 0.77 of that) and half Q4_K (1.0, extra in full).
    base = catalog_shape("qwen2.5-coder:0.5b")
    half = base.resident_weight_bytes // 2
    mixed = replace(base, resident_bytes_by_type={"Q8_0": half, "Q4_K": half})
    cpu, gpu = device(), device(kind="gpu")
    first = half * 1.6 + half * 1.0
    extra = half * 1.6 * 0.77 + half * 1.0
    assert kernel_bytes(mixed, cpu, 1) == pytest.approx(first)
    assert kernel_bytes(mixed, cpu, 4) == pytest.approx(first + 3 * extra)
    only_k = replace(base, resident_bytes_by_type={"Q4_K": 2 * half})
    assert kernel_bytes(only_k, cpu, 4) == pytest.approx(4 * 2 * half)
    assert kernel_bytes(mixed, gpu, 4) == pytest.approx(4 * 2 * half)
    # The decode step uses it: where kernels are the limit, 4 sequences take first + 3 × extra.
    factors = SpeedFactors(1.0, 1.0, 1.0, 0.0)
    slow = device(compute=1e8)
    one = estimate_speed(mixed, Workload(2048, 1, 1, 0), slow, factors)  # one cached token: no attention to speak of
    four = estimate_speed(mixed, Workload(2048, 4, 1, 0), slow, factors)
    ratio = four.decode_tokens_per_s_total / one.decode_tokens_per_s_total
    assert ratio == pytest.approx(4 * first / (first + 3 * extra), rel=1e-3)


def test_header_shapes_count_resident_bytes_by_type(tiny_gguf: Path) -> None:
    shape = shape_from_header(read_gguf_header(tiny_gguf), name="tiny", basis="file")
    assert shape.resident_bytes_by_type == {"F32": shape.resident_weight_bytes}
    assert catalog_shape("smollm2:135m").resident_bytes_by_type == {"Q4_1": 96_576_768}
