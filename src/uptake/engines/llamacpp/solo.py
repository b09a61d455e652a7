"""One sequence on llama-cpp-python's own generator and the engine's single-sequence context: what
`uptake run` and `uptake chat` stream. Everything decoded together goes through the scheduler instead."""

from __future__ import annotations

import codecs
import time
from collections.abc import Iterator
from typing import Any

from uptake.engines.base import Finish, FinishReason, StreamEvent, TextDelta, Timings, TokenLogprob, Usage
from uptake.engines.llamacpp.logprobs import read_logprobs, token_logprob
from uptake.engines.llamacpp.native import MIN_P, TOP_K, PieceDecoder, quiet_stderr
from uptake.engines.llamacpp.sampling import ChainSettings
from uptake.engines.stops import StopMatcher


def stream_alone(llm: Any, prompt: list[int], settings: ChainSettings, budget: int) -> Iterator[StreamEvent]:
    """Text deltas, then one Finish, for `prompt` on `llm` (a llama_cpp.Llama), at most `budget` tokens."""
    from llama_cpp import llama_vocab_is_eog, llama_vocab_n_tokens
    from llama_cpp.llama_grammar import LlamaGrammar

    grammar = None
    if settings.grammar is not None:
        with quiet_stderr():
            grammar = LlamaGrammar.from_string(settings.grammar, verbose=False)
    if settings.seed is not None:
        llm.set_seed(settings.seed)
    vocab = llm._model.vocab
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    matcher = StopMatcher(settings.stop)
    pieces = PieceDecoder(vocab) if settings.logprobs is not None else None
    pending: list[TokenLogprob] = []  # log-probabilities of tokens whose text no delta has carried yet
    started = time.perf_counter()
    first_token_at: float | None = None
    completion = 0
    reason: FinishReason = "length"
    stopped_by_string = False
    generator = llm.generate(
        prompt, top_k=TOP_K, top_p=settings.top_p, min_p=MIN_P, temp=settings.temperature, grammar=grammar
    )
    try:
        for token in generator:
            if first_token_at is None:
                first_token_at = time.perf_counter()
            if llama_vocab_is_eog(vocab, token):
                reason = "stop"
                break
            completion += 1
            if pieces is not None and settings.logprobs is not None:
                # the generator yields right after sampling: the context still holds the logits it sampled from
                logprobs = read_logprobs(llm._ctx.ctx, -1, int(llama_vocab_n_tokens(vocab)))
                pending.append(token_logprob(logprobs, token, settings.logprobs, pieces))
            text, stopped_by_string = matcher.feed(decoder.decode(llm.detokenize([token], special=False)))
            if text:
                yield TextDelta(text, tuple(pending))
                pending.clear()
            if stopped_by_string:
                reason = "stop"
                break
            if completion >= budget:
                break
    finally:
        generator.close()
    if not stopped_by_string:
        text, _ = matcher.feed(decoder.decode(b"", final=True))
        tail = text + matcher.flush()
        if tail or pending:
            yield TextDelta(tail, tuple(pending))
    ended = time.perf_counter()
    first = first_token_at or ended
    yield Finish(
        reason=reason,
        usage=Usage(prompt_tokens=len(prompt), completion_tokens=completion),
        timings=Timings(prompt_s=first - started, decode_s=ended - first),
    )
