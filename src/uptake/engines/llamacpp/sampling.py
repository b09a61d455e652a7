"""Per-sequence sampling on llama.cpp: each sequence owns a sampler chain.

The chain is built in the same order as llama-cpp-python's `Llama` builds its own (grammar, then greedy
at temperature 0, else top-k, typical, top-p, min-p, temperature, seeded draw), so a request gives the
same tokens whether it runs alone through `LlamaCppEngine.stream` or inside a batch.

A grammar is the costly part: applied to the whole vocabulary (150k tokens for Qwen) at every step, it
halved the throughput of constrained batches. For greedy decoding it is therefore applied the way
llama.cpp's own server applies it: the best token is drawn first and the grammar checks that one token;
only when it is ruled out is the grammar applied to the whole vocabulary and the draw made again. The
token is the same either way (the likeliest of the tokens the grammar allows). Seeded sampling keeps the
grammar first, so that its random draws match the solo path exactly.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import numpy as np

from uptake.engines.base import SamplingSettings
from uptake.engines.llamacpp.grammar import grammar_for_schema
from uptake.engines.llamacpp.native import MIN_P, RANDOM_SEED, TOP_K
from uptake.errors import UsageError

LOGPROB_WINDOW = 20.0  # nats below the likeliest token: the tokens the grammar checks first for log-probabilities
LOGPROB_CANDIDATES = 2048  # but at most this many
LOGPROB_SLACK = 1e-3  # relative error of a reported probability that this shortcut may cause


@dataclass(frozen=True)
class ChainSettings:
    """What a sampler chain is built from: the sampling settings, with a JSON schema already turned into
    a GBNF grammar (or a grammar of its own, for tests that need output of a given shape)."""

    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 512
    stop: tuple[str, ...] = ()
    seed: int | None = None
    grammar: str | None = None
    grammar_root: str = "root"
    logprobs: int | None = None  # not part of the chain: read beside it (see logprobs.py)


def chain_settings(settings: SamplingSettings) -> ChainSettings:
    """The chain for `settings`; every path that samples on llama.cpp builds it here. Raises UsageError
    for a JSON schema that cannot be turned into a grammar."""
    return ChainSettings(
        temperature=settings.temperature,
        top_p=settings.top_p,
        max_tokens=settings.max_tokens,
        stop=settings.stop,
        seed=settings.seed,
        grammar=None if settings.json_schema is None else grammar_for_schema(settings.json_schema),
        logprobs=settings.logprobs,
    )


class SamplerChain:
    """A llama.cpp sampler chain owned by one sequence; `close` frees it (and its grammar state)."""

    def __init__(self, vocab: object, settings: ChainSettings) -> None:
        import llama_cpp

        self._chain: object = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        self._grammar: object = None  # kept to mask log-probabilities as it masks the draw
        self._grammar_owned = False  # True: outside the chain (checked after a greedy draw), freed by `close`
        self._vocabulary_size = int(llama_cpp.llama_vocab_n_tokens(vocab))
        try:
            if settings.grammar is not None:
                grammar = llama_cpp.llama_sampler_init_grammar(
                    vocab, settings.grammar.encode("utf-8"), settings.grammar_root.encode("utf-8")
                )
                if not grammar:
                    raise UsageError("the grammar for this request could not be parsed; check the JSON schema.")
                self._grammar = grammar
                if settings.temperature == 0.0:
                    self._grammar_owned = True
                else:
                    self._add(grammar)
            if settings.temperature == 0.0:
                self._add(llama_cpp.llama_sampler_init_greedy())
                return
            seed = RANDOM_SEED if settings.seed is None else settings.seed & 0xFFFFFFFF
            self._add(llama_cpp.llama_sampler_init_top_k(TOP_K))
            self._add(llama_cpp.llama_sampler_init_typical(1.0, 1))
            self._add(llama_cpp.llama_sampler_init_top_p(settings.top_p, 1))
            self._add(llama_cpp.llama_sampler_init_min_p(MIN_P, 1))
            self._add(llama_cpp.llama_sampler_init_temp(settings.temperature))
            self._add(llama_cpp.llama_sampler_init_dist(seed))
        except BaseException:
            self.close()
            raise

    def _add(self, sampler: object) -> None:
        import llama_cpp

        llama_cpp.llama_sampler_chain_add(self._chain, sampler)

    def sample(self, context: object, output_index: int) -> int:
        """Draw the next token from the logits at `output_index` of the last decode, and accept it."""
        import llama_cpp

        token = int(llama_cpp.llama_sampler_sample(self._chain, context, output_index))
        if not self._grammar_owned:
            return token
        if not self._allowed(np.array([token]), np.zeros(1)).size:
            logits = logits_row(context, output_index, self._vocabulary_size)
            token = int(np.argmax(self.constrain(logits)))  # greedy over what the grammar allows
        llama_cpp.llama_sampler_accept(self._grammar, token)
        return token

    def _allowed(
        self, ids: np.ndarray[Any, np.dtype[Any]], logits: np.ndarray[Any, np.dtype[np.float64]]
    ) -> np.ndarray[Any, np.dtype[Any]]:
        """The ids among `ids` (with their `logits`) that the grammar allows at this point."""
        import llama_cpp

        size = ids.shape[0]
        data = np.zeros(size, dtype=np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")]))
        data["id"] = ids
        data["logit"] = logits
        candidates = llama_cpp.llama_token_data_array(
            data=data.ctypes.data_as(llama_cpp.llama_token_data_p), size=size, selected=-1, sorted=False
        )
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(candidates))
        remaining = data[: candidates.size]
        kept: np.ndarray[Any, np.dtype[Any]] = remaining["id"][np.isfinite(remaining["logit"])]
        return kept

    def constrain(self, logits: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """`logits` with the tokens the grammar rules out at this point set to -inf, as the draw sees them;
        unchanged without a grammar. Call before `sample`, which moves the grammar on."""
        if self._grammar is None:
            return logits
        kept = self._allowed(np.arange(logits.shape[0]), logits)
        masked: np.ndarray[Any, np.dtype[np.float64]] = np.full(logits.shape[0], -np.inf)
        masked[kept] = logits[kept]
        return masked

    def grammar_logprobs(
        self, logits: np.ndarray[Any, np.dtype[np.float64]]
    ) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Log-probabilities over the vocabulary after the grammar has ruled tokens out (-inf), as the draw
        sees them. Call before `sample`, which moves the grammar on.

        The grammar is asked first about the tokens within LOGPROB_WINDOW nats of the likeliest (at most
        LOGPROB_CANDIDATES of them). Every other token lies below the least of those, so their probability
        together is bounded (or, when the bound is loose, summed); when it is under LOGPROB_SLACK times the
        probability of the allowed tokens found, they are left out (as if ruled out) and each reported
        probability is off by less than LOGPROB_SLACK (relative). Otherwise the grammar checks the whole
        vocabulary and the result is exact. Both the grammar check of 150k tokens and a second softmax over
        them are what this avoids."""
        if self._grammar is None:
            return log_softmax(logits)
        peak = float(logits.max())
        edge = peak - LOGPROB_WINDOW  # every token left out lies below this
        near = np.flatnonzero(logits >= edge)
        if near.size > LOGPROB_CANDIDATES:
            near = np.argpartition(-logits, LOGPROB_CANDIDATES - 1)[:LOGPROB_CANDIDATES]
            edge = float(logits[near].min())
        kept = self._allowed(near, logits[near])
        if kept.size:
            mass = float(np.exp(logits[kept] - peak).sum())
            rest = (logits.shape[0] - near.size) * float(np.exp(edge - peak))
            if rest > LOGPROB_SLACK * mass:  # the bound is loose: what the rest holds, exactly (one pass)
                rest = float(np.exp(logits - peak).sum()) - float(np.exp(logits[near] - peak).sum())
            if rest <= LOGPROB_SLACK * mass:
                result: np.ndarray[Any, np.dtype[np.float64]] = np.full(logits.shape[0], -np.inf)
                result[kept] = logits[kept] - peak - np.log(mass)
                return result
        return log_softmax(self.constrain(logits))

    def close(self) -> None:
        import llama_cpp

        if self._chain is not None:
            llama_cpp.llama_sampler_free(self._chain)
            self._chain = None
        if self._grammar_owned and self._grammar is not None:
            llama_cpp.llama_sampler_free(self._grammar)
        self._grammar = None


def log_softmax(logits: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
    shifted = logits - logits.max()
    result: np.ndarray[Any, np.dtype[np.float64]] = shifted - np.log(np.exp(shifted).sum())
    return result


def logits_row(context: object, output_index: int, vocabulary_size: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    """A copy, in float64, of the logits row at `output_index` of the last decode of `context`."""
    import llama_cpp

    pointer = llama_cpp.llama_get_logits_ith(context, output_index)
    if not pointer:
        raise ValueError("llama.cpp returned no logits for this output")
    address = ctypes.cast(pointer, ctypes.c_void_p).value
    array = (ctypes.c_float * vocabulary_size).from_address(address or 0)
    return np.frombuffer(memoryview(array).cast("B"), dtype=np.float32).astype(np.float64)
