"""Log-probabilities on the real llama.cpp engine (tiny random-weight GGUF), checked against llama.cpp's
own logits for the same tokens, computed independently here."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from uptake.engines.base import GenerationRequest, GenerationResult, TextDelta, collect
from uptake.engines.llamacpp import LlamaCppEngine
from uptake.engines.llamacpp.logprobs import log_softmax
from uptake.engines.loader import load_engine

TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def engine(tiny_gguf: Path) -> Iterator[LlamaCppEngine]:
    loaded = load_engine(str(tiny_gguf), context_size=256, threads=1, parallel=2)
    yield loaded
    loaded.close()


def request(top: int | None, **settings: object) -> GenerationRequest:
    chosen: dict[str, object] = {"temperature": 0.0, "max_tokens": 12, **settings}
    return GenerationRequest.from_prompt("tell me a story", logprobs=top, **chosen)


def on_scheduler(engine: LlamaCppEngine, generation: GenerationRequest) -> GenerationResult:
    return collect(iter(engine.submit(engine.prepare(generation))))


def reference_logprobs(tiny_gguf: Path, prompt: list[int], generated: list[int]) -> np.ndarray:
    """Log-softmax rows, one per generated token, from a separate llama_cpp.Llama that keeps every logit."""
    from llama_cpp import Llama

    llm = Llama(str(tiny_gguf), n_ctx=256, n_threads=1, logits_all=True, verbose=False)
    try:
        llm.eval(prompt + generated)
        rows = np.asarray(llm.scores[len(prompt) - 1 : len(prompt) - 1 + len(generated)], dtype=np.float64)
    finally:
        llm.close()
    return np.stack([log_softmax(row) for row in rows])


def test_greedy_logprobs_match_llama_cpps_own_logits(engine: LlamaCppEngine, tiny_gguf: Path) -> None:
    generation = request(5)
    result = on_scheduler(engine, generation)
    records = result.logprobs
    assert len(records) == result.usage.completion_tokens > 0
    expected = reference_logprobs(tiny_gguf, list(engine.prepare(generation).tokens), [r.token_id for r in records])
    for record, row in zip(records, expected, strict=True):
        assert abs(record.logprob - row[record.token_id]) < TOLERANCE
        assert abs(record.logprob - row.max()) < TOLERANCE  # greedy: the likeliest token
        assert len(record.top) == 5
        values = [alternative.logprob for alternative in record.top]
        assert values == sorted(values, reverse=True) and all(value <= 0 for value in values)
        assert record.top[0].token_id == record.token_id
        best = np.argsort(-row)[:5]
        assert [abs(a.logprob - row[t]) < TOLERANCE for a, t in zip(record.top, best, strict=True)] == [True] * 5
    assert "".join(record.token for record in records) == result.text


def test_log_softmax_is_a_distribution_and_stable() -> None:
    values = log_softmax(np.array([1000.0, 999.0, -1000.0]))
    assert math.isclose(float(np.exp(values).sum()), 1.0, rel_tol=1e-12)
    assert math.isclose(float(values[0] - values[1]), 1.0)


def test_zero_top_gives_the_token_alone(engine: LlamaCppEngine) -> None:
    records = on_scheduler(engine, request(0)).logprobs
    assert records and all(record.top == () and record.logprob <= 0 for record in records)


def test_solo_and_batch_paths_agree(engine: LlamaCppEngine) -> None:
    generation = request(3)
    alone = engine.generate(generation)
    batched = on_scheduler(engine, generation)
    assert alone.text == batched.text
    assert [r.token_id for r in alone.logprobs] == [r.token_id for r in batched.logprobs]
    for solo, batch in zip(alone.logprobs, batched.logprobs, strict=True):
        assert abs(solo.logprob - batch.logprob) < TOLERANCE
        assert [a.token_id for a in solo.top] == [a.token_id for a in batch.top]


def test_off_by_default_reports_nothing(engine: LlamaCppEngine) -> None:
    events = list(engine.submit(engine.prepare(request(None))))
    assert all(event.logprobs == () for event in events if isinstance(event, TextDelta))
    assert engine.generate(request(None)).logprobs == ()


def test_tokens_cut_by_a_stop_string_are_not_reported(engine: LlamaCppEngine) -> None:
    full = on_scheduler(engine, request(0))
    assert len(full.text) > 2
    cut = on_scheduler(engine, request(0, stop=(full.text[2:],)))
    assert len(cut.logprobs) < len(full.logprobs)
    reported = "".join(record.token for record in cut.logprobs)
    assert reported.startswith(cut.text)
    # each reported token carries some of the returned text: none starts at or past its end
    assert len(reported) - len(cut.logprobs[-1].token) < len(cut.text)


def test_sampled_tokens_report_the_temperature_one_distribution(engine: LlamaCppEngine, tiny_gguf: Path) -> None:
    generation = request(2, temperature=1.7, top_p=0.9, seed=7)
    records = on_scheduler(engine, generation).logprobs
    assert records
    expected = reference_logprobs(tiny_gguf, list(engine.prepare(generation).tokens), [r.token_id for r in records])
    for record, row in zip(records, expected, strict=True):
        assert abs(record.logprob - row[record.token_id]) < TOLERANCE  # unscaled by the temperature


OBJECT_SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def test_a_grammar_masks_the_distribution_it_reports(engine: LlamaCppEngine, tiny_gguf: Path) -> None:
    free = on_scheduler(engine, request(20, max_tokens=1)).logprobs[0]
    constrained = request(20, max_tokens=6, json_schema=OBJECT_SCHEMA)
    records = on_scheduler(engine, constrained).logprobs
    first = records[0]
    # the grammar allows an opening brace (or white space) first; what it rules out is no alternative
    assert first.top and all(top.token.strip() in ("", "{") for top in first.top)
    assert all(math.isfinite(top.logprob) for record in records for top in record.top)
    assert math.isclose(sum(math.exp(top.logprob) for top in records[1].top), 1.0, abs_tol=1e-6)
    assert first.logprob == max(top.logprob for top in first.top)  # greedy within what is allowed
    unconstrained = reference_logprobs(tiny_gguf, list(engine.prepare(constrained).tokens), [first.token_id])[0]
    assert first.logprob > unconstrained[first.token_id] + TOLERANCE  # renormalised over fewer tokens
    assert [top.token for top in free.top] != [top.token for top in first.top]
    alone = engine.generate(constrained)  # the same numbers when run alone
    assert [r.token_id for r in alone.logprobs] == [r.token_id for r in records]
    assert all(abs(a.logprob - b.logprob) < TOLERANCE for a, b in zip(alone.logprobs, records, strict=True))


def test_the_grammar_shortcut_for_log_probabilities_matches_the_exact_mask(engine: LlamaCppEngine) -> None:
    """On peaked logits (as a trained model gives), checking only the likeliest tokens against the grammar gives
    the numbers the whole-vocabulary mask gives; when the allowed tokens lie far below, it masks the whole."""
    from uptake.engines.llamacpp.grammar import grammar_for_schema
    from uptake.engines.llamacpp.sampling import ChainSettings, SamplerChain

    vocab = engine._llm._model.vocab  # the tiny model's vocabulary, as the scheduler builds its chains from it
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    chain = SamplerChain(vocab, ChainSettings(temperature=0.0, grammar=grammar_for_schema(schema)))
    try:
        size = int(engine._llm.n_vocab())
        generator = np.random.default_rng(3)
        allowed = np.flatnonzero(np.isfinite(chain.constrain(np.zeros(size))))
        spread = generator.normal(0.0, 10.0, size)
        spread[allowed] = spread.min() - 1.0  # every allowed token far below the peak: the whole mask is needed
        peaked = generator.normal(0.0, 1.0, size) - 40.0
        leading = allowed[:3]
        peaked[leading] = [10.0, 9.0, 7.5][: leading.size]  # the grammar's first allowed tokens lead
        peaked[np.setdiff1d(np.arange(size), allowed)[:2]] = 12.0  # and two ruled-out tokens lead them all
        exact_mask = chain.constrain
        for logits, shortcut in ((peaked, True), (spread, False)):
            exact = log_softmax(exact_mask(logits))
            masked_whole: list[int] = []
            chain.constrain = lambda row, seen=masked_whole: seen.append(1) or exact_mask(row)  # type: ignore
            quick = chain.grammar_logprobs(logits)
            chain.constrain = exact_mask  # type: ignore[method-assign]
            assert (not masked_whole) is shortcut  # peaked: the likeliest tokens settle it; flat: the whole mask
            finite = np.isfinite(exact)
            assert np.array_equal(np.isfinite(quick) & ~finite, np.zeros(size, dtype=bool))  # never a ruled-out token
            assert np.all(np.abs(quick[np.isfinite(quick)] - exact[np.isfinite(quick)]) < TOLERANCE)
            leaders = np.argsort(-exact)[: leading.size]
            assert np.allclose(quick[leaders], exact[leaders], atol=TOLERANCE)
            assert np.isclose(np.exp(quick[np.isfinite(quick)]).sum(), 1.0, atol=TOLERANCE)
    finally:
        chain.close()
