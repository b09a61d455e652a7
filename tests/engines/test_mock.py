"""The scripted engine: what it answers, and the promises of a batching engine that it keeps for the
server's tests (bounded queue, cancellation, a crash that fails what runs and refuses what follows)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from polling import wait_for
from uptake.engines.base import (
    Engine,
    EngineBusyError,
    GenerationRequest,
    PromptRequest,
    SamplingSettings,
    TextDelta,
    collect,
)
from uptake.engines.mock import VOCABULARY_SIZE, MockEngine
from uptake.errors import ContextOverflowError, EngineError, UsageError


@pytest.fixture
def engine() -> Iterator[MockEngine]:
    scripted = MockEngine(responder=lambda request: "one two three four")
    yield scripted
    scripted.close()


def test_mock_plays_its_script_and_records_requests() -> None:
    engine = MockEngine(["first reply", "second reply here"])
    assert isinstance(engine, Engine)
    results = engine.generate_batch([GenerationRequest.from_prompt("a"), GenerationRequest.from_prompt("b")])
    assert [r.text for r in results] == ["first reply", "second reply here"]
    assert [r.usage.completion_tokens for r in results] == [2, 3]
    assert engine.batches == [2] and len(engine.requests) == 2


def test_mock_honours_max_tokens_stop_and_context() -> None:
    engine = MockEngine(responder=lambda r: "one two three four")
    cut = engine.generate(GenerationRequest.from_prompt("x", max_tokens=2))
    assert cut.text == "one two" and cut.finish_reason == "length"
    stopped = engine.generate(GenerationRequest.from_prompt("x", stop=(" three",)))
    assert stopped.text == "one two" and stopped.finish_reason == "stop"
    inside = engine.generate(GenerationRequest.from_prompt("x", stop=("hre",)))
    assert inside.text == "one two t" and inside.finish_reason == "stop"
    with pytest.raises(ContextOverflowError):
        MockEngine(context_size=3).generate(GenerationRequest.from_prompt("too many words here"))


def test_prepared_prompts_count_words_and_check_them(engine: MockEngine) -> None:
    chat = GenerationRequest.from_prompt("hello there", system="be brief")
    assert engine.prepare(chat).prompt_tokens == engine.count_prompt_tokens(chat) == 2 + 2 + 4 + 4
    text = engine.prepare(PromptRequest(prompt="once upon a time"))
    assert text.prompt_tokens == 5  # a start token, then one per word
    assert engine.prepare(PromptRequest(prompt=text.tokens)).tokens == text.tokens
    with pytest.raises(UsageError):
        engine.prepare(PromptRequest(prompt=(1, VOCABULARY_SIZE)))
    with pytest.raises(ContextOverflowError):
        MockEngine(context_size=8).prepare(PromptRequest(prompt="w " * 8))


def test_submitted_sequences_play_the_script_with_their_own_sampling(engine: MockEngine) -> None:
    seeded = MockEngine(responder=lambda request: f"seed {request.seed} says {request.messages[-1].content}")
    try:
        prompt = seeded.prepare(PromptRequest(prompt="hi", sampling=SamplingSettings(seed=3, max_tokens=3)))
        first = collect(iter(seeded.submit(prompt)))
        other = collect(iter(seeded.submit(prompt.with_sampling(prompt.sampling.model_copy(update={"seed": 4})))))
        assert (first.text, first.finish_reason, first.usage.prompt_tokens) == ("seed 3 says", "length", 2)
        assert other.text == "seed 4 says"
    finally:
        seeded.close()
    stopped = collect(iter(engine.submit(engine.prepare(GenerationRequest.from_prompt("x", stop=(" three",))))))
    assert stopped.text == "one two"
    assert engine.stats().active == 0 and engine.failure is None


def test_submitted_sequences_stream_through_an_event_loop() -> None:
    engine = MockEngine(responder=lambda request: "a b c")

    async def stream() -> list[str]:
        handle = engine.submit(engine.prepare(GenerationRequest.from_prompt("x")), loop=asyncio.get_running_loop())
        return [event.text async for event in handle if isinstance(event, TextDelta)]

    try:
        assert "".join(asyncio.run(stream())) == "a b c"
    finally:
        engine.close()


def test_a_full_queue_refuses_and_cancelling_frees_sequences() -> None:
    slow = MockEngine(responder=lambda request: "word " * 10_000, parallel=1, max_waiting=1, step_s=0.01)
    try:
        long = slow.prepare(GenerationRequest.from_prompt("go", max_tokens=10_000))
        running = slow.submit(long)
        wait_for(lambda: slow.stats().active == 1, what="one running sequence")
        waiting = slow.submit(long)
        assert (slow.stats().active, slow.stats().waiting) == (1, 1)
        with pytest.raises(EngineBusyError):
            slow.submit(long)
        waiting.cancel()
        running.cancel()
        wait_for(
            lambda: (slow.stats().active, slow.stats().waiting, slow.stats().cancelled) == (0, 0, 2),
            what="both sequences cancelled",
        )
    finally:
        slow.close()


def test_a_crash_fails_what_runs_and_refuses_what_follows(engine: MockEngine) -> None:
    engine.crash(RuntimeError("simulated backend crash"))
    with pytest.raises(EngineError, match="simulated backend crash"):
        collect(iter(engine.submit(engine.prepare(GenerationRequest.from_prompt("x")))))
    assert engine.failure == "RuntimeError: simulated backend crash"
    with pytest.raises(EngineError, match="stopped after an error"):
        engine.submit(engine.prepare(GenerationRequest.from_prompt("later")))


def test_closing_releases_waiting_callers() -> None:
    slow = MockEngine(responder=lambda request: "word " * 1000, parallel=1, step_s=0.01)
    handle = slow.submit(slow.prepare(GenerationRequest.from_prompt("x", max_tokens=1000)))
    slow.close()
    with pytest.raises(EngineError):
        collect(iter(handle))


def test_embeddings_count_letters_and_words(engine: MockEngine) -> None:
    vectors = engine.embed(["ab", "b a b"])
    assert len(vectors[0]) == engine.info.embedding_size == 26
    assert vectors[0][:2] == [1.0, 1.0] and vectors[1][:2] == [1.0, 2.0]
    assert engine.count_embedding_tokens(["ab", "b a b"]) == 2 + 4
    with pytest.raises(ContextOverflowError):
        MockEngine(context_size=4).embed(["a b c"])


def test_scripted_logprobs_follow_the_words_and_stop_strings() -> None:
    mock = MockEngine(["one two three four"])
    result = mock.generate(GenerationRequest.from_prompt("x", logprobs=2, stop=(" thr",)))
    assert result.text == "one two"
    assert [(r.token, round(r.logprob, 6)) for r in result.logprobs] == [("one", -0.1), (" two", -0.2)]
    assert [top.token for top in result.logprobs[0].top] == ["one", "alt1"]
    mock.enqueue("one two")
    assert mock.generate(GenerationRequest.from_prompt("x")).logprobs == ()
