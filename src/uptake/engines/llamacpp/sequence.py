"""One request's state inside the batch scheduler: its prompt, position, sampler and text so far."""

from __future__ import annotations

import codecs
import time

from uptake.engines.base import Finish, FinishReason, TextDelta, Timings, TokenLogprob, Usage
from uptake.engines.handle import SequenceHandle
from uptake.engines.llamacpp.native import PieceDecoder
from uptake.engines.llamacpp.sampling import ChainSettings, SamplerChain
from uptake.engines.stops import StopMatcher


class ActiveSequence:
    def __init__(
        self,
        prompt: list[int],
        settings: ChainSettings,
        sampler: SamplerChain,
        handle: SequenceHandle,
        budget: int,
    ) -> None:
        self.prompt = prompt
        self.settings = settings
        self.sampler = sampler
        self.handle = handle
        self.budget = budget
        self.sequence_id = -1
        self.position = 0  # tokens of this sequence already in the KV cache
        self.next_token = -1  # sampled but not yet decoded
        self.fed: list[int] = []  # generated tokens already decoded into the KV cache
        self.completion_tokens = 0
        self.submitted_at = time.perf_counter()
        self.first_token_at: float | None = None
        self.final: Finish | None = None  # sent by the scheduler once the sequence's cells are free
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._matcher = StopMatcher(settings.stop)
        self._logprobs: list[TokenLogprob] = []  # of tokens whose text no delta has carried yet

    @property
    def prefilling(self) -> bool:
        return self.position < len(self.prompt)

    def cached_tokens(self) -> list[int]:
        """The tokens whose keys and values sit in this sequence's cells, in order."""
        return self.prompt[: min(self.position, len(self.prompt))] + self.fed

    def accept(self, token: int, is_end: bool, pieces: PieceDecoder, logprob: TokenLogprob | None = None) -> bool:
        """Take a sampled token (with its log-probability when asked for); send any text it completes.
        Returns True when the sequence is done."""
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        if is_end:
            self._finish("stop")
            return True
        self.completion_tokens += 1
        if logprob is not None:
            self._logprobs.append(logprob)
        text, stopped = self._matcher.feed(self._decoder.decode(pieces.piece(token)))
        if text:
            self._deliver(text)
        if stopped:
            self._finish("stop", flush=False)
            return True
        if self.completion_tokens >= self.budget:
            self._finish("length")
            return True
        self.next_token = token
        return False

    def _finish(self, reason: FinishReason, flush: bool = True) -> None:
        if flush:
            text, _ = self._matcher.feed(self._decoder.decode(b"", final=True))
            tail = text + self._matcher.flush()
            if tail or self._logprobs:
                self._deliver(tail)
        ended = time.perf_counter()
        first = self.first_token_at or ended
        self.final = Finish(
            reason=reason,
            usage=Usage(prompt_tokens=len(self.prompt), completion_tokens=self.completion_tokens),
            timings=Timings(prompt_s=first - self.submitted_at, decode_s=ended - first),
        )

    def _deliver(self, text: str) -> None:
        self.handle.deliver(TextDelta(text, tuple(self._logprobs)))
        self._logprobs.clear()

    def fail(self, error: BaseException) -> None:
        self.handle.deliver(error)

    def release(self) -> None:
        """Give back the sampler; the scheduler frees the KV cells."""
        self.sampler.close()
