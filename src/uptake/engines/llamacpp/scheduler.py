"""Continuous batching on llama.cpp: many requests share one forward pass per step.

Each running request owns a sequence id and its own KV cells. Every step builds one `llama_batch`
holding the next token of every generating sequence plus as much pending prompt as the batch has room
for, so a long prompt is fed in chunks and never stalls the streams already running. Requests join
between steps and leave as soon as they finish or are cancelled, freeing their cells at once.

llama.cpp offers the batch API but no scheduler over it (its own server keeps one in C++), so the loop
below is ours: a thread that owns the context and is the only one to touch it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from uptake.engines.base import EngineBusyError, GenerationResult, collect
from uptake.engines.handle import SequenceHandle
from uptake.engines.llamacpp.adapter import LoadedAdapter
from uptake.engines.llamacpp.context import BatchContext, ContextShape
from uptake.engines.llamacpp.logprobs import read_logprobs, token_logprob
from uptake.engines.llamacpp.native import PieceDecoder
from uptake.engines.llamacpp.sampling import ChainSettings, SamplerChain
from uptake.engines.llamacpp.sequence import ActiveSequence
from uptake.engines.llamacpp.slots import SlotCache, shared_prefix
from uptake.errors import ContextOverflowError, EngineError

# A new request copies a running sequence's cells when they hold at least this many more of its prompt
# than a free id does: copying a sequence's stream is one memory copy, cheaper than computing even a few
# tokens, but a newcomer may wait a step for the cells.
MIN_COPIED_PREFIX = 16


@dataclass(frozen=True)
class SchedulerStats:
    waiting: int
    active: int
    parallel: int
    context_per_sequence: int
    cancelled: int  # sequences given up by their callers before finishing, since the start
    reused_prompt_tokens: int  # prompt tokens not computed because a cached prefix held them, since the start
    moved: int = 0  # running sequences moved to a lower id to keep the ids in use packed, since the start


class BatchScheduler:
    """Runs requests for one loaded model in batches. Thread-safe: submit from any thread or loop."""

    def __init__(
        self,
        model: Any,
        vocab: Any,
        shape: ContextShape,
        *,
        max_waiting: int = 256,
        reuse_prefixes: bool = True,
        adapter: LoadedAdapter | None = None,
    ) -> None:
        """`model` and `vocab` are a loaded llama.cpp model's handles; the scheduler's context shares its
        weights (and `adapter`, when given). The scheduler starts its thread at once."""
        import llama_cpp

        if shape.sequences < 1:
            raise EngineError("the scheduler needs at least one parallel sequence (--parallel 1 or more).")
        self.shape = shape
        self.max_waiting = max_waiting
        self._vocab: Any = vocab
        self._vocabulary_size = int(llama_cpp.llama_vocab_n_tokens(vocab))
        self._is_end = llama_cpp.llama_vocab_is_eog
        self._context = BatchContext(model, shape, adapter=adapter)
        self._pieces = PieceDecoder(vocab)
        self._condition = threading.Condition()
        self._waiting: deque[ActiveSequence] = deque()
        self._active: list[ActiveSequence] = []
        self._cancelled: list[SequenceHandle] = []
        self._cancelled_total = 0
        self._reused_total = 0
        self._moved_total = 0
        self._slots = SlotCache(shape.sequences, reuse_prefixes)
        self._closed = False
        self._broken: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="uptake-batch-scheduler", daemon=True)
        self._thread.start()

    @property
    def context_per_sequence(self) -> int:
        return self.shape.context_per_sequence

    @property
    def failure(self) -> str | None:
        """Why the scheduler stopped working, if it did (it then refuses every request)."""
        return None if self._broken is None else f"{type(self._broken).__name__}: {self._broken}"

    @property
    def prefill_chunk(self) -> int:
        """Prompt tokens per step for one sequence: what the batch holds beside every other decoding one."""
        return self._context.capacity - (self.shape.sequences - 1)

    # -- the callers' side ------------------------------------------------------------------------

    def submit_tokens(
        self,
        prompt: list[int],
        settings: ChainSettings,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        block: bool = False,
    ) -> SequenceHandle:
        """Queue a tokenized prompt. With `block`, wait for room instead of refusing.

        Raises ContextOverflowError, UsageError (a grammar llama.cpp cannot parse) and, when the waiting
        queue is full, EngineBusyError."""
        if not prompt:
            raise EngineError("the prompt is empty; send at least one token.")
        if len(prompt) >= self.context_per_sequence:
            raise ContextOverflowError(len(prompt), self.context_per_sequence)
        sampler = SamplerChain(self._vocab, settings)
        handle = SequenceHandle(len(prompt), loop, self._cancel)
        budget = min(settings.max_tokens, self.context_per_sequence - len(prompt))
        sequence = ActiveSequence(list(prompt), settings, sampler, handle, budget)
        with self._condition:
            try:
                self._check_open()
                while len(self._waiting) >= self.max_waiting:
                    if not block:
                        raise EngineBusyError(
                            f"{len(self._waiting)} requests are already waiting; retry shortly or raise --parallel."
                        )
                    self._condition.wait()
                    self._check_open()
            except BaseException:
                sampler.close()
                raise
            self._waiting.append(sequence)
            self._condition.notify_all()
        return handle

    def _check_open(self) -> None:
        if self._broken is not None:
            raise EngineError(f"the batch scheduler stopped after an error: {self._broken}")
        if self._closed:
            raise EngineError("the batch scheduler is closed.")

    def generate_batch(self, prompts: Sequence[tuple[list[int], ChainSettings]]) -> list[GenerationResult]:
        """All prompts decoded together, as many at a time as there are sequences; results in order.

        They join the queue at once, so the scheduler's steps, and with them llama.cpp's arithmetic, do not
        depend on how fast they were submitted: the same batch gives the same texts every time."""
        handles: list[SequenceHandle] = []
        try:
            with self._condition:  # reentrant; a full queue still waits (and lets the scheduler run)
                for prompt, settings in prompts:
                    handles.append(self.submit_tokens(prompt, settings, block=True))
            return [collect(iter(handle)) for handle in handles]
        finally:
            for handle in handles:
                handle.cancel()

    def stats(self) -> SchedulerStats:
        with self._condition:
            return SchedulerStats(
                waiting=len(self._waiting),
                active=len(self._active),
                parallel=self.shape.sequences,
                context_per_sequence=self.context_per_sequence,
                cancelled=self._cancelled_total,
                reused_prompt_tokens=self._reused_total,
                moved=self._moved_total,
            )

    def _cancel(self, handle: SequenceHandle) -> None:
        with self._condition:
            self._cancelled.append(handle)
            self._condition.notify_all()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join()
        self._context.close()

    # -- the scheduler's thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while self._admit():
                self._step()
        except BaseException as error:  # a broken context must not leave callers waiting forever
            with self._condition:
                self._broken = error
                self._condition.notify_all()
        finally:
            with self._condition:
                stranded = [*self._active, *self._waiting]
                self._active.clear()
                self._waiting.clear()
                reason = self._broken or EngineError("the batch scheduler was closed before this request finished.")
                self._condition.notify_all()
            for sequence in stranded:
                sequence.fail(EngineError(str(reason)))
                sequence.release()

    def _admit(self) -> bool:
        """Drop cancelled sequences, move waiting ones into free slots; sleep while idle.

        Returns False when the scheduler is closing.
        """
        with self._condition:
            while True:
                if self._closed:
                    return False
                self._drop_cancelled()
                self._start_waiting()
                if self._active:
                    self._pack()
                    return True
                self._condition.wait()

    def _start_waiting(self) -> None:
        """Give waiting sequences free ids, oldest first, each with the longest prefix already computed.

        A free id's cells may hold a finished request's prefix (SlotCache). A running sequence may hold a
        longer one (a batch of prompts with one system text): its cells are copied over. When its cells
        for that prefix are not computed yet, the newcomer waits a step for them rather than compute the
        same tokens again: a batch of N such prompts computes the shared text once, not N times.
        Condition held.
        """
        deferred: list[ActiveSequence] = []
        while self._waiting and self._slots:
            sequence = self._waiting.popleft()
            sequence_id, kept = self._slots.best(sequence.prompt)
            donor, shared = self._running_prefix(sequence.prompt)
            if donor is not None and shared >= kept + MIN_COPIED_PREFIX:
                if donor.position < shared:
                    deferred.append(sequence)
                    continue
                sequence_id, kept = self._slots.lowest_free(), shared  # its cells are all replaced
                self._context.move(donor.sequence_id, sequence_id)
            self._slots.take_id(sequence_id)
            self._context.forget(sequence_id, keep=kept)
            sequence.sequence_id, sequence.position = sequence_id, kept
            self._reused_total += kept
            self._active.append(sequence)
            self._condition.notify_all()  # room in the waiting queue for blocked submitters
        self._waiting.extendleft(reversed(deferred))

    def _running_prefix(self, prompt: list[int]) -> tuple[ActiveSequence | None, int]:
        """The running sequence whose prompt shares the longest prefix with `prompt`, and its length (at most
        all but the last token of `prompt`)."""
        donor, longest = None, 0
        if self._slots.reuse_prefixes:
            for sequence in self._active:
                length = min(shared_prefix(sequence.prompt, prompt), len(prompt) - 1)
                if length > longest:
                    donor, longest = sequence, length
        return donor, longest

    def _pack(self) -> None:
        """Move the highest running sequence into the lowest free id below it until the ids in use run
        from 0: a step whose ids have a gap costs llama.cpp one forward pass per run of consecutive ids.
        The old id keeps its cells (and so its prefix for a later request). Condition held."""
        while self._slots:
            free = self._slots.lowest_free()
            highest = max(self._active, key=lambda sequence: sequence.sequence_id)
            if free > highest.sequence_id:
                return
            self._slots.take_id(free)
            self._context.move(highest.sequence_id, free)
            self._slots.give_back(highest.sequence_id, highest.cached_tokens())
            highest.sequence_id = free
            self._moved_total += 1

    def _drop_cancelled(self) -> None:
        if not self._cancelled:
            return
        gone = {id(handle) for handle in self._cancelled}
        self._cancelled.clear()
        kept_waiting = deque(s for s in self._waiting if id(s.handle) not in gone)
        for sequence in self._waiting:
            if id(sequence.handle) in gone:
                sequence.handle.deliver(None)
                sequence.release()
                self._cancelled_total += 1
        self._waiting = kept_waiting
        for sequence in [s for s in self._active if id(s.handle) in gone]:
            sequence.handle.deliver(None)
            self._retire(sequence)
            self._cancelled_total += 1
        self._condition.notify_all()

    def _retire(self, sequence: ActiveSequence, keep_cells: bool = True) -> None:
        """Free the sequence id; its cells stay for a later prompt with the same prefix. Condition held."""
        self._active.remove(sequence)
        if not keep_cells:
            self._context.forget(sequence.sequence_id)
        self._slots.give_back(sequence.sequence_id, sequence.cached_tokens() if keep_cells else [])
        sequence.release()

    def _step(self) -> None:
        outputs = self._fill_batch()
        try:
            self._context.decode()
        except EngineError as error:
            with self._condition:
                for sequence in list(self._active):
                    sequence.fail(error)
                    self._retire(sequence, keep_cells=False)
            return
        finished = []
        for sequence, index in outputs:
            top = sequence.settings.logprobs
            # read before sampling: the logits the sampler is about to use, before anything touches them
            logprobs = None
            if top is not None:
                logprobs = read_logprobs(self._context.context, index, self._vocabulary_size, sequence.sampler)
            token = sequence.sampler.sample(self._context.context, index)
            record = None if logprobs is None or top is None else token_logprob(logprobs, token, top, self._pieces)
            if sequence.accept(token, bool(self._is_end(self._vocab, token)), self._pieces, record):
                finished.append(sequence)
        if finished:
            with self._condition:
                for sequence in finished:
                    self._retire(sequence)
            for sequence in finished:  # after retiring: whoever holds the answer holds no sequence
                if sequence.final is not None:
                    sequence.handle.deliver(sequence.final)

    def _fill_batch(self) -> list[tuple[ActiveSequence, int]]:
        """One token per generating sequence, then prompt chunks in arrival order up to the batch size;
        the tokens go into the batch by sequence id, so that llama.cpp decodes it in one forward pass.

        A prompt is cut at fixed positions (multiples of `prefill_chunk`), whatever else shares the batch:
        llama.cpp's arithmetic depends on how a prompt is split, so fixed cuts keep a request's tokens
        the same whether it runs alone or among others.
        """
        context = self._context
        context.clear()
        room = context.capacity - sum(not sequence.prefilling for sequence in self._active)
        spans: dict[int, tuple[int, int]] = {}  # id(sequence) -> the prompt positions computed this step
        chunk = self.prefill_chunk
        for sequence in self._active:
            if sequence.prefilling:
                start = sequence.position
                end = min(start - start % chunk + chunk, len(sequence.prompt))
                if end - start <= room:  # the oldest prefilling sequence always fits; later ones may wait
                    spans[id(sequence)] = (start, end)
                    room -= end - start
        outputs: list[tuple[ActiveSequence, int]] = []
        for sequence in sorted(self._active, key=lambda sequence: sequence.sequence_id):
            if not sequence.prefilling:
                index = context.add(sequence.next_token, sequence.position, sequence.sequence_id, True)
                sequence.fed.append(sequence.next_token)
                sequence.position += 1
                outputs.append((sequence, index))
            elif (span := spans.get(id(sequence))) is not None:
                start, end = span
                for position in range(start, end):
                    index = context.add(sequence.prompt[position], position, sequence.sequence_id, False)
                sequence.position = end
                if end == len(sequence.prompt):
                    context.set_wants_logits(index)
                    outputs.append((sequence, index))
        return outputs
