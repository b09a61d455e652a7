"""The mock engine's stand-in for a continuous-batching scheduler: it plays each submitted sequence's
scripted events, `parallel` sequences at a time and one event each per step, on a thread of its own.

It keeps the promises the server relies on, so the server's own logic can be tested without a model:
a bounded waiting queue that refuses when full, cancellation that frees a sequence at the next step,
a Finish sent only once its sequence has left, and a crash that fails the sequences it strands and every
later submission.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace

from uptake.engines.base import EngineBusyError, EngineStats, Finish, StreamEvent, Timings
from uptake.engines.handle import SequenceHandle
from uptake.errors import EngineError


@dataclass
class _Scripted:
    handle: SequenceHandle
    events: deque[StreamEvent]
    submitted_at: float = field(default_factory=time.perf_counter)
    first_event_at: float | None = None

    def timed(self, finish: Finish) -> Finish:
        """The Finish with the time this sequence really took here, queueing included, as a model's has."""
        ended = time.perf_counter()
        first = self.first_event_at or ended
        return replace(finish, timings=Timings(prompt_s=first - self.submitted_at, decode_s=ended - first))


class ScriptedScheduler:
    def __init__(self, *, parallel: int, max_waiting: int, step_s: float) -> None:
        self.parallel = parallel
        self.max_waiting = max_waiting
        self.step_s = step_s  # the pause between steps: how long a sequence seems to take per token
        self._condition = threading.Condition()
        self._waiting: deque[_Scripted] = deque()
        self._active: list[_Scripted] = []
        self._cancelled: list[SequenceHandle] = []
        self._cancelled_total = 0
        self._crash: BaseException | None = None
        self._broken: BaseException | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def failure(self) -> str | None:
        return None if self._broken is None else f"{type(self._broken).__name__}: {self._broken}"

    def start(self) -> None:
        with self._condition:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="uptake-mock-scheduler", daemon=True)
                self._thread.start()

    def submit(
        self, events: list[StreamEvent], prompt_tokens: int, loop: asyncio.AbstractEventLoop | None
    ) -> SequenceHandle:
        handle = SequenceHandle(prompt_tokens, loop, self._cancel)
        with self._condition:
            self._check_open()
            if len(self._waiting) >= self.max_waiting:
                raise EngineBusyError(f"{len(self._waiting)} requests are already waiting; retry shortly.")
            self._waiting.append(_Scripted(handle, deque(events)))
            self._condition.notify_all()
        self.start()
        return handle

    def crash(self, error: BaseException) -> None:
        """The next step raises `error`, as a backend that broke down would."""
        with self._condition:
            self._crash = error

    def stats(self) -> EngineStats:
        with self._condition:
            return EngineStats(
                waiting=len(self._waiting),
                active=len(self._active),
                parallel=self.parallel,
                cancelled=self._cancelled_total,
                reused_prompt_tokens=0,
            )

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _check_open(self) -> None:
        if self._broken is not None:
            raise EngineError(f"the mock engine stopped after an error: {self._broken}")
        if self._closed:
            raise EngineError("the mock engine is closed.")

    def _cancel(self, handle: SequenceHandle) -> None:
        with self._condition:
            self._cancelled.append(handle)
            self._condition.notify_all()

    # -- the scheduler's thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while self._admit():
                self._step()
        except BaseException as error:  # like a broken backend: nobody may be left waiting forever
            with self._condition:
                self._broken = error
        finally:
            with self._condition:
                stranded = [*self._active, *self._waiting]
                self._active.clear()
                self._waiting.clear()
                reason = self._broken or EngineError("the mock engine was closed before this request finished.")
            for sequence in stranded:
                sequence.handle.deliver(EngineError(str(reason)))

    def _admit(self) -> bool:
        """Drop cancelled sequences and start waiting ones; sleep while idle. False once closing."""
        with self._condition:
            while True:
                if self._closed:
                    return False
                self._drop_cancelled()
                while self._waiting and len(self._active) < self.parallel:
                    self._active.append(self._waiting.popleft())
                if self._active:
                    return True
                self._condition.wait()

    def _drop_cancelled(self) -> None:
        gone = {id(handle) for handle in self._cancelled}
        self._cancelled.clear()
        if not gone:
            return
        for queue in (self._waiting, self._active):
            for sequence in [s for s in queue if id(s.handle) in gone]:
                queue.remove(sequence)
                sequence.handle.deliver(None)
                self._cancelled_total += 1

    def _step(self) -> None:
        with self._condition:
            if self._crash is not None:
                raise self._crash
            for sequence in list(self._active):
                event = sequence.events.popleft()
                if sequence.first_event_at is None:
                    sequence.first_event_at = time.perf_counter()
                if isinstance(event, Finish):
                    self._active.remove(sequence)  # gone before its caller hears it has finished
                    event = sequence.timed(event)
                sequence.handle.deliver(event)
            if self.step_s > 0:
                self._condition.wait(timeout=self.step_s)
