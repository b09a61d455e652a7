"""A model read token by token for its full next-token distribution: what the behavioural screen measures.

The serving engine decodes many sequences for throughput and reports at most 20 alternatives per token;
a screen instead needs the log-probability of *every* vocabulary entry at a reply's first position, the
likelihood of a given continuation under two models, and seeded samples. llama-cpp-python's `Llama` does
exactly that for one sequence (`logits_all` keeps each position's logits), so it is used as it is; prompts are
rendered with the same sandboxed chat template as the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from uptake.engines.base import ChatMessage
from uptake.engines.chat_template import render_chat
from uptake.engines.llamacpp.native import quiet_stderr
from uptake.errors import EngineError

Vector = npt.NDArray[np.float32]


def log_softmax(logits: npt.NDArray[np.floating[Any]]) -> Vector:
    shifted = logits.astype(np.float64) - float(np.max(logits))
    return np.asarray(shifted - np.log(np.exp(shifted).sum()), dtype=np.float32)


class ScoringModel:
    """One GGUF model, one sequence at a time, every position's logits kept."""

    def __init__(
        self,
        path: Path,
        *,
        chat_template: str | None,
        bos_token: str = "",
        eos_token: str = "",
        context_size: int = 512,
        threads: int = 2,
    ) -> None:
        import llama_cpp

        with quiet_stderr():
            try:
                self._llm = llama_cpp.Llama(
                    str(path),
                    n_ctx=context_size,
                    n_batch=context_size,
                    n_threads=threads,
                    n_threads_batch=threads,
                    logits_all=True,
                    verbose=False,
                )
            except ValueError as error:
                raise EngineError(f"llama.cpp could not load {path.name}: {error}") from None
        self.path = path
        self.chat_template = chat_template
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.context_size = context_size
        self.vocabulary = int(self._llm.n_vocab())
        self._is_end = llama_cpp.llama_vocab_is_eog
        self._is_control = llama_cpp.llama_vocab_is_control
        self._vocab = self._llm._model.vocab

    def prompt(self, user: str) -> list[int]:
        """A one-turn chat prompt up to where the reply begins, as the engine renders and tokenizes it."""
        return self.encode_prompt(self.prompt_text(user))

    def prompt_text(self, user: str) -> str:
        return render_chat(
            self.chat_template,
            [ChatMessage(role="user", content=user)],
            bos_token=self.bos_token,
            eos_token=self.eos_token,
        )

    def encode_prompt(self, text: str) -> list[int]:
        """Rendered template text to tokens: special tokens parsed, BOS added unless the text writes it."""
        add_bos = not (self.bos_token and text.startswith(self.bos_token))
        return [int(t) for t in self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)]

    def tokenize(self, text: str) -> list[int]:
        """Plain text (no special tokens, no BOS), as it would appear inside a reply."""
        return [int(t) for t in self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)]

    def text(self, tokens: Sequence[int]) -> str:
        return bytes(self._llm.detokenize(list(tokens))).decode("utf-8", errors="replace")

    def _evaluate(self, tokens: Sequence[int]) -> None:
        if not tokens or len(tokens) >= self.context_size:
            raise EngineError(f"a scored sequence must hold 1 to {self.context_size - 1} tokens, not {len(tokens)}.")
        self._llm.reset()  # type: ignore[no-untyped-call]
        self._llm.eval(list(tokens))

    def next_logprobs(self, tokens: Sequence[int]) -> Vector:
        """Log-probabilities over the whole vocabulary for the token after `tokens`."""
        self._evaluate(tokens)
        return log_softmax(np.asarray(self._llm.scores[len(tokens) - 1]))

    def continuation_logprobs(self, prefix: Sequence[int], continuation: Sequence[int]) -> Vector:
        """The log-probability of each token of `continuation` after `prefix` (teacher-forced)."""
        if not continuation:
            return np.zeros(0, dtype=np.float32)
        self._evaluate([*prefix, *continuation])
        scores = np.asarray(self._llm.scores[len(prefix) - 1 : len(prefix) + len(continuation) - 1])
        out = np.empty(len(continuation), dtype=np.float32)
        for row, (logits, token) in enumerate(zip(scores, continuation, strict=True)):
            out[row] = log_softmax(logits)[token]
        return out

    def greedy(self, prefix: Sequence[int], count: int) -> tuple[list[int], Vector]:
        """Up to `count` greedy tokens after `prefix` (stopping at the end of the turn) and each one's probability."""
        return self._decode(prefix, count, None)

    def sample(
        self, prefix: Sequence[int], count: int, rng: np.random.Generator, temperature: float = 1.0
    ) -> list[int]:
        tokens, _ = self._decode(prefix, count, (rng, temperature))
        return tokens

    def _decode(
        self, prefix: Sequence[int], count: int, sampling: tuple[np.random.Generator, float] | None
    ) -> tuple[list[int], Vector]:
        count = min(count, self.context_size - 1 - len(prefix))
        self._evaluate(prefix)
        produced: list[int] = []
        probabilities: list[float] = []
        for _ in range(count):
            logprobs = log_softmax(np.asarray(self._llm.scores[self._llm.n_tokens - 1]))
            if sampling is None:
                token = int(np.argmax(logprobs))
            else:
                rng, temperature = sampling
                weights = np.exp((logprobs.astype(np.float64) - logprobs.max()) / temperature)
                token = int(rng.choice(len(weights), p=weights / weights.sum()))
            probabilities.append(float(np.exp(logprobs[token])))
            # A control token (end of turn, start of another) ends a reply even when the model does not mark
            # it as end of generation: what follows belongs to another turn.
            if self._is_end(self._vocab, token) or self._is_control(self._vocab, token):
                break
            produced.append(token)
            self._llm.eval([token])
        return produced, np.asarray(probabilities, dtype=np.float32)

    def close(self) -> None:
        self._llm.close()
