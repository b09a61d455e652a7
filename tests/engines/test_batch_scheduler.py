"""The llama.cpp engine's continuous-batching scheduler on the tiny random-weight GGUF, through the real
llama.cpp. Each engine owns one scheduler; a test that needs another shape of scheduler loads its own."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jsonschema
import pytest

from polling import wait_for
from uptake.engines.base import (
    EngineBusyError,
    Finish,
    GenerationRequest,
    GenerationResult,
    PromptRequest,
    SamplingSettings,
    TextDelta,
    collect,
)
from uptake.engines.llamacpp import LlamaCppEngine
from uptake.engines.llamacpp.sampling import ChainSettings
from uptake.engines.llamacpp.slots import SlotCache, shared_prefix
from uptake.engines.loader import load_engine
from uptake.errors import ContextOverflowError, EngineError, UsageError

CONTEXT = 256


def tiny_engine(tiny_gguf: Path, **options: object) -> LlamaCppEngine:
    return load_engine(str(tiny_gguf), context_size=CONTEXT, threads=1, **options)


@pytest.fixture(scope="module")
def engine(tiny_gguf: Path) -> Iterator[LlamaCppEngine]:
    loaded = tiny_engine(tiny_gguf, parallel=4)
    yield loaded
    loaded.close()


@contextmanager
def own_engine(tiny_gguf: Path, **options: object) -> Iterator[LlamaCppEngine]:
    loaded = tiny_engine(tiny_gguf, **options)
    try:
        yield loaded
    finally:
        loaded.close()


def greedy(prompt: str, **settings: object) -> GenerationRequest:
    return GenerationRequest.from_prompt(prompt, temperature=0.0, **settings)


def by_itself(engine: LlamaCppEngine, request: GenerationRequest) -> GenerationResult:
    """The request by itself on the engine's scheduler (`generate` runs it on the single-sequence context)."""
    return collect(iter(engine.submit(engine.prepare(request))))


PROMPTS = [f"request {index}: " + "the cat sat on the mat " * index for index in range(1, 9)]


def test_batched_greedy_text_equals_the_text_each_request_gets_alone(engine: LlamaCppEngine) -> None:
    requests = [greedy(prompt, max_tokens=24) for prompt in PROMPTS]
    alone = [by_itself(engine, request) for request in requests]
    together = engine.generate_batch(requests)
    assert [r.text for r in together] == [r.text for r in alone]
    assert [r.usage for r in together] == [r.usage for r in alone]
    # ...and equals the single-sequence context, which runs the same greedy chain on its own.
    assert [engine.generate(request).text for request in requests] == [r.text for r in alone]
    assert len({r.text for r in alone}) > 1, "different prompts should give different texts"


def test_requests_submitted_from_many_threads_finish_with_their_solo_text(engine: LlamaCppEngine) -> None:
    requests = [greedy(prompt, max_tokens=16) for prompt in PROMPTS]
    alone = [by_itself(engine, request).text for request in requests]
    results: list[GenerationResult | None] = [None] * len(requests)

    def run(index: int) -> None:
        results[index] = by_itself(engine, requests[index])

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [result.text if result else None for result in results] == alone
    assert engine.stats().active == 0


def test_one_scheduler_serves_batches_and_submissions(engine: LlamaCppEngine) -> None:
    scheduler = engine.scheduler
    engine.generate_batch([greedy("one", max_tokens=2), greedy("two", max_tokens=2)])
    by_itself(engine, greedy("three", max_tokens=2))
    engine.start()
    assert engine.scheduler is scheduler
    assert engine.info.parallel == scheduler.stats().parallel == 4


def test_a_long_prompt_is_fed_in_chunks_without_changing_any_result(tiny_gguf: Path) -> None:
    with own_engine(tiny_gguf, parallel=3, batch_size=10) as small_batches:
        assert small_batches.scheduler.prefill_chunk == 8
        long_request = greedy("word " * 20, max_tokens=12)
        short_request = greedy("hi", max_tokens=40)
        alone = [by_itself(small_batches, long_request).text, by_itself(small_batches, short_request).text]
        got = small_batches.generate_batch([short_request, long_request, short_request])
        assert [got[1].text, got[0].text, got[2].text] == [alone[0], alone[1], alone[1]]
        assert got[1].usage.prompt_tokens > 8 * 5  # the long prompt really took several steps
        assert small_batches.stats().active == 0


def test_a_sequence_moved_to_a_lower_id_goes_on_with_its_solo_text(tiny_gguf: Path) -> None:
    """Ids 0, 1, 2 run; when 0 and 1 finish, the sequence on 2 moves to 0 (its cells copied) and goes on."""
    with own_engine(tiny_gguf, parallel=3) as packed:
        requests = [greedy(PROMPTS[index], max_tokens=tokens) for index, tokens in enumerate((2, 3, 40))]
        alone = [by_itself(packed, request).text for request in requests]
        assert packed.scheduler.stats().moved == 0
        together = packed.generate_batch(requests)
        assert packed.scheduler.stats().moved == 1
        assert [result.text for result in together] == alone
        assert together[2].usage.completion_tokens > 3  # it went on after the move


def test_a_batch_sharing_a_prefix_computes_it_once_and_gets_the_solo_texts(
    engine: LlamaCppEngine, tiny_gguf: Path
) -> None:
    history = "we talked about cats and mats for a while. " * 2
    requests = [greedy(history + question, max_tokens=8) for question in ("first?", "second?", "third?", "fourth?")]
    prompts = [engine.tokenize_prompt(request) for request in requests]
    # each later prompt copies the longest prefix it shares with an earlier one
    copied = [max(shared_prefix(earlier, prompt) for earlier in prompts[:index]) for index, prompt in enumerate(prompts)
              if index]
    assert min(copied) > 40
    with own_engine(tiny_gguf, parallel=4) as copying, own_engine(tiny_gguf, parallel=1, reuse_prefixes=False) as solo:
        together = copying.generate_batch(requests)
        assert copying.stats().reused_prompt_tokens == sum(copied)  # the first computes it, three copy it
        assert [result.text for result in together] == [by_itself(solo, request).text for request in requests]
        assert solo.stats().reused_prompt_tokens == 0


def take(slots: SlotCache, prompt: list[int]) -> tuple[int, int]:
    """What the scheduler does for a request that copies no running sequence's cells."""
    sequence_id, kept = slots.best(prompt)
    slots.take_id(sequence_id)
    return sequence_id, kept


def test_free_ids_are_taken_lowest_first_among_equal_prefixes() -> None:
    slots = SlotCache(4)
    assert [take(slots, [1])[0] for _ in range(4)] == [0, 1, 2, 3] and not slots
    for sequence_id in (3, 1, 2):
        slots.give_back(sequence_id, [7, 8])
    assert slots.lowest_free() == 1
    assert take(slots, [7, 8, 9]) == (1, 2)
    slots.take_id(3)
    assert take(slots, [7, 8, 9]) == (2, 2) and not slots


def test_a_shared_prefix_is_reused_and_gives_the_same_text(engine: LlamaCppEngine, tiny_gguf: Path) -> None:
    history = "we talked about cats and mats for a while. " * 2
    first = greedy(history + "first question", max_tokens=8)
    second = greedy(history + "second question", max_tokens=8)
    by_itself(engine, first)
    before = engine.stats().reused_prompt_tokens
    reused = by_itself(engine, second)
    shared = shared_prefix(engine.tokenize_prompt(first), engine.tokenize_prompt(second))
    assert shared > 40
    assert engine.stats().reused_prompt_tokens - before == shared
    with own_engine(tiny_gguf, parallel=1, reuse_prefixes=False) as fresh:
        assert by_itself(fresh, second).text == reused.text == engine.generate(second).text
        assert fresh.stats().reused_prompt_tokens == 0


def test_the_slot_with_the_longest_shared_prefix_is_chosen_and_one_token_is_left_to_compute() -> None:
    slots = SlotCache(3)
    first, second, third = take(slots, [1]), take(slots, [1]), take(slots, [1])
    assert {first[0], second[0], third[0]} == {0, 1, 2} and first[1] == 0
    slots.give_back(0, [5, 6, 7, 8])
    slots.give_back(1, [5, 6, 9])
    slots.give_back(2, [])
    assert take(slots, [5, 6, 7, 8]) == (0, 3)  # the whole prompt is cached, yet its last token is recomputed
    assert take(slots, [5, 6, 9, 9]) == (1, 3)
    assert take(slots, [4]) == (2, 0)
    assert not slots
    without = SlotCache(1, reuse_prefixes=False)
    without.give_back(take(without, [1, 2])[0], [1, 2])
    assert take(without, [1, 2, 3]) == (0, 0)


def test_stop_strings_cut_the_text_inside_a_batch(engine: LlamaCppEngine) -> None:
    free = by_itself(engine, greedy(PROMPTS[0], max_tokens=24))
    stop = free.text[5:8]
    assert stop and stop in free.text
    stopped, unstopped = engine.generate_batch(
        [greedy(PROMPTS[0], max_tokens=24, stop=(stop,)), greedy(PROMPTS[1], max_tokens=24)]
    )
    assert stopped.text == free.text[: free.text.index(stop)]
    assert stopped.finish_reason == "stop"
    assert unstopped.text == by_itself(engine, greedy(PROMPTS[1], max_tokens=24)).text


def test_seeds_repeat_and_differ_per_request_inside_a_batch(engine: LlamaCppEngine) -> None:
    def sampled(seed: int) -> GenerationRequest:
        return GenerationRequest.from_prompt("tell me", temperature=1.0, top_p=1.0, max_tokens=20, seed=seed)

    first, second, other = engine.generate_batch([sampled(7), sampled(7), sampled(8)])
    assert first.text == second.text
    assert first.text != other.text
    assert by_itself(engine, sampled(7)).text == first.text


def test_json_schema_grammar_holds_for_every_request_in_a_batch(engine: LlamaCppEngine) -> None:
    schema = {
        "type": "object",
        "properties": {
            "color": {"enum": ["red", "green", "blue"]},
            "age": {"type": "integer"},
            "ok": {"type": "boolean"},
        },
        "required": ["color", "age", "ok"],
    }
    requests = [greedy(prompt, max_tokens=120, json_schema=schema) for prompt in PROMPTS[:4]]
    for result in engine.generate_batch([*requests, greedy("free text", max_tokens=8)])[:4]:
        assert result.finish_reason == "stop", result.text
        jsonschema.validate(json.loads(result.text), schema)


def test_a_bad_schema_is_refused_before_it_is_queued(engine: LlamaCppEngine) -> None:
    bad = greedy("x", json_schema={"type": "object", "properties": {"a": {"$ref": "#/nowhere"}}})
    with pytest.raises(UsageError):
        engine.prepare(bad)
    with pytest.raises(UsageError):
        engine.generate_batch([bad, greedy("y")])
    assert engine.stats().waiting == 0


def test_a_prompt_that_does_not_fit_is_refused_never_truncated(engine: LlamaCppEngine) -> None:
    with pytest.raises(ContextOverflowError) as refused:
        engine.prepare(greedy("word " * CONTEXT))
    assert refused.value.context_size == CONTEXT
    with pytest.raises(ContextOverflowError):
        engine.scheduler.submit_tokens([1] * CONTEXT, ChainSettings())
    assert engine.stats().waiting == 0


def test_generation_stops_at_the_end_of_the_sequence_context(engine: LlamaCppEngine) -> None:
    prompt = engine.tokenize_prompt(greedy("hello"))
    endless = ChainSettings(temperature=0.0, max_tokens=10_000, grammar='root ::= "a" root')  # never ends
    result = collect(iter(engine.scheduler.submit_tokens(prompt, endless)))
    assert result.finish_reason == "length"
    assert result.usage.prompt_tokens + result.usage.completion_tokens == CONTEXT
    assert set(result.text) == {"a"}


def test_cancelling_frees_the_sequence_at_once(engine: LlamaCppEngine) -> None:
    handle = engine.submit(engine.prepare(greedy("go on", max_tokens=CONTEXT)))
    events = iter(handle)
    assert isinstance(next(events), TextDelta | Finish)
    handle.cancel()
    wait_for(lambda: engine.stats().active == 0, what="every sequence to finish")
    assert engine.stats().cancelled >= 1
    assert by_itself(engine, greedy("still works", max_tokens=4)).usage.completion_tokens > 0


def test_a_full_queue_refuses_instead_of_growing(tiny_gguf: Path) -> None:
    with own_engine(tiny_gguf, parallel=1, max_waiting=1) as tight:
        handles = []
        try:
            with pytest.raises(EngineBusyError):
                for _ in range(3):  # one runs (many steps), one waits, the next cannot queue
                    handles.append(tight.submit(tight.prepare(greedy("long answer", max_tokens=200))))
        finally:
            for handle in handles:
                handle.cancel()


def test_raw_prompts_and_token_prompts_give_the_same_text(engine: LlamaCppEngine) -> None:
    request = greedy("direct", max_tokens=6)
    tokens = engine.tokenize_prompt(request)
    handle = engine.scheduler.submit_tokens(tokens, ChainSettings(temperature=0.0, max_tokens=6))
    assert collect(iter(handle)).text == by_itself(engine, request).text
    with pytest.raises(EngineError):
        engine.scheduler.submit_tokens([], ChainSettings())
    sampling = SamplingSettings(temperature=0.0, max_tokens=6)
    text = engine.prepare(PromptRequest(prompt="once upon", sampling=sampling))
    ids = engine.prepare(PromptRequest(prompt=text.tokens, sampling=sampling))
    assert collect(iter(engine.submit(text))).text == collect(iter(engine.submit(ids))).text


def test_a_closed_engine_releases_waiting_callers_and_refuses(tiny_gguf: Path) -> None:
    closing = tiny_engine(tiny_gguf, parallel=1)
    handle = closing.submit(closing.prepare(greedy("anything", max_tokens=200)))
    late = closing.prepare(greedy("late"))
    closing.close()
    with pytest.raises(EngineError):
        collect(iter(handle))
    with pytest.raises(EngineError):
        closing.submit(late)


def test_a_broken_scheduler_fails_its_sequences_and_refuses_later_ones(
    tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with own_engine(tiny_gguf, parallel=2) as broken:
        assert broken.failure is None

        def explode() -> None:
            raise RuntimeError("simulated backend crash")

        monkeypatch.setattr(broken.scheduler._context, "decode", explode)
        with pytest.raises(EngineError, match="simulated backend crash"):
            by_itself(broken, greedy("x"))
        assert broken.failure is not None and "simulated backend crash" in broken.failure
        with pytest.raises(EngineError, match="stopped after an error"):
            by_itself(broken, greedy("later"))


@pytest.mark.slow
def test_the_default_model_alone_in_the_scheduler_matches_the_engine(real_model_home: Path) -> None:
    """Exact for a request alone. Batched, a quantized model's greedy text can drift from the solo text:
    ggml's CPU kernels for quantized weights take different paths depending on how many rows a matmul
    has, so logits differ in the last bits and a near-tie can flip (llama.cpp's own server does the same).
    The tiny float model above shows exact equality; here batched runs must still answer sensibly."""
    from uptake.models.catalog import load_catalog
    from uptake.models.pull import pull_model
    from uptake.models.store import Store
    from uptake.settings import Settings

    settings = Settings(home=real_model_home, context_size=1024)
    default = load_catalog().default
    pull_model(Store(settings), default)
    real = load_engine(default, settings, parallel=4)
    try:
        questions = ["What is 2+2?", "Name a prime number.", "What is the capital of France?", "Say hi."]
        requests = [greedy(question, max_tokens=24) for question in questions]
        alone = [by_itself(real, request).text for request in requests]
        assert [real.generate(request).text for request in requests] == alone
        together = real.generate_batch(requests)
        assert "4" in together[0].text and "Paris" in together[2].text
        assert all(result.usage.completion_tokens > 0 for result in together)
    finally:
        real.close()
