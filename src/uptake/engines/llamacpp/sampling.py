"""Per-sequence sampling on llama.cpp: each sequence owns a sampler chain.

The chain is built in the same order as llama-cpp-python's `Llama` builds its own (grammar, then greedy
at temperature 0, else top-k, typical, top-p, min-p, temperature, seeded draw), so a request gives the
same tokens whether it runs alone through `LlamaCppEngine.stream` or inside a batch.
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
        self._grammar: object = None  # owned by the chain; kept to mask log-probabilities as it masks the draw
        try:
            if settings.grammar is not None:
                grammar = llama_cpp.llama_sampler_init_grammar(
                    vocab, settings.grammar.encode("utf-8"), settings.grammar_root.encode("utf-8")
                )
                if not grammar:
                    raise UsageError("the grammar for this request could not be parsed; check the JSON schema.")
                self._add(grammar)
                self._grammar = grammar
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

        return int(llama_cpp.llama_sampler_sample(self._chain, context, output_index))

    def constrain(self, logits: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """`logits` with the tokens the grammar rules out at this point set to -inf, as the draw sees them;
        unchanged without a grammar. Call before `sample`, which moves the grammar on."""
        import llama_cpp

        if self._grammar is None:
            return logits
        size = logits.shape[0]
        data = np.zeros(size, dtype=np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")]))
        data["id"] = np.arange(size)
        data["logit"] = logits
        candidates = llama_cpp.llama_token_data_array(
            data=data.ctypes.data_as(llama_cpp.llama_token_data_p), size=size, selected=-1, sorted=False
        )
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(candidates))
        kept = data["id"][: candidates.size][np.isfinite(data["logit"][: candidates.size])]
        masked: np.ndarray[Any, np.dtype[np.float64]] = np.full(size, -np.inf)
        masked[kept] = logits[kept]
        return masked

    def close(self) -> None:
        import llama_cpp

        if self._chain is not None:
            llama_cpp.llama_sampler_free(self._chain)
            self._chain = None
