"""Per-sequence sampling for the batch scheduler: each request owns a llama.cpp sampler chain.

The chain is built in the same order as llama-cpp-python's `Llama` builds its own (grammar, then greedy
at temperature 0, else top-k, typical, top-p, min-p, temperature, seeded draw), so a request gives the
same tokens whether it runs alone through `LlamaCppEngine` or inside a batch.
"""

from __future__ import annotations

import ctypes
import json
from dataclasses import dataclass
from typing import Any

from uptake.engines.llamacpp import MIN_P, TOP_K
from uptake.errors import UsageError

# llama.cpp draws a fresh random seed when it is given this value.
RANDOM_SEED = 0xFFFFFFFF


@dataclass(frozen=True)
class SamplingSettings:
    """What one sequence samples with. `grammar` is a GBNF text (see `grammar_for_schema`)."""

    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 512
    stop: tuple[str, ...] = ()
    seed: int | None = None
    grammar: str | None = None
    grammar_root: str = "root"


# llama-cpp-python's converter lets raw control characters into JSON strings, which JSON forbids
# (RFC 8259) and strict parsers reject; llama.cpp's own converter excludes them, as this rule does.
_LOOSE_CHAR = r'char ::= [^"\\] |'
_STRICT_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] |'


def grammar_text_for_schema(schema: dict[str, Any]) -> str:
    """GBNF text that only admits JSON valid against `schema`."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        grammar = str(json_schema_to_gbnf(json.dumps(schema)))
    except Exception as error:  # the converter raises plain exceptions for unsupported schemas
        raise UsageError(f"JSON schema cannot be turned into a grammar: {error}") from error
    return grammar.replace(_LOOSE_CHAR, _STRICT_CHAR)


class SamplerChain:
    """A llama.cpp sampler chain owned by one sequence; `close` frees it (and its grammar state)."""

    def __init__(self, vocab: Any, settings: SamplingSettings) -> None:
        import llama_cpp

        self._chain: Any = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        try:
            if settings.grammar is not None:
                grammar = llama_cpp.llama_sampler_init_grammar(
                    vocab, settings.grammar.encode("utf-8"), settings.grammar_root.encode("utf-8")
                )
                if not grammar:
                    raise UsageError("the grammar for this request could not be parsed; check the JSON schema.")
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

    def _add(self, sampler: Any) -> None:
        import llama_cpp

        llama_cpp.llama_sampler_chain_add(self._chain, sampler)

    def sample(self, context: Any, output_index: int) -> int:
        """Draw the next token from the logits at `output_index` of the last decode, and accept it."""
        import llama_cpp

        return int(llama_cpp.llama_sampler_sample(self._chain, context, output_index))

    def close(self) -> None:
        import llama_cpp

        if self._chain is not None:
            llama_cpp.llama_sampler_free(self._chain)
            self._chain = None


class PieceDecoder:
    """Token ids to bytes of text, without special tokens (their text never reaches the caller)."""

    def __init__(self, vocab: Any) -> None:
        self._vocab = vocab
        self._buffer = ctypes.create_string_buffer(256)

    def piece(self, token: int) -> bytes:
        import llama_cpp

        size = llama_cpp.llama_token_to_piece(self._vocab, token, self._buffer, len(self._buffer), 0, False)
        if size < 0:  # the piece is longer than the buffer; llama.cpp tells us how long
            self._buffer = ctypes.create_string_buffer(-size)
            size = llama_cpp.llama_token_to_piece(self._vocab, token, self._buffer, len(self._buffer), 0, False)
        return bytes(self._buffer.raw[:size])
