"""The caller's end of one submitted sequence: a stream of events and a way to cancel.

Events are produced on an engine's own thread (a scheduler that decodes many sequences). A synchronous
caller reads them from a thread-safe queue; an asyncio caller gets them through its event loop
(`call_soon_threadsafe`), so a web server never blocks its loop waiting for tokens. Every engine that
runs sequences on a thread of its own hands out this handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator

from uptake.engines.base import Finish, StreamEvent

Item = StreamEvent | BaseException | None  # None: the sequence was cancelled and will say no more


class SequenceHandle:
    def __init__(
        self,
        prompt_tokens: int,
        loop: asyncio.AbstractEventLoop | None,
        on_cancel: Callable[[SequenceHandle], None],
    ) -> None:
        self.prompt_tokens = prompt_tokens
        self._loop = loop
        self._on_cancel = on_cancel
        self._sync_queue: queue.SimpleQueue[Item] = queue.SimpleQueue()
        self._async_queue: asyncio.Queue[Item] | None = asyncio.Queue() if loop is not None else None
        self._cancelled = threading.Event()
        self.finished = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Stop generating; the engine frees what the sequence holds at its next step."""
        if not self.finished and not self._cancelled.is_set():
            self._cancelled.set()
            self._on_cancel(self)

    def deliver(self, item: Item) -> None:
        """Called on the engine's thread."""
        if isinstance(item, Finish | BaseException) or item is None:
            self.finished = True
        if self._async_queue is None or self._loop is None:
            self._sync_queue.put(item)
            return
        with contextlib.suppress(RuntimeError):  # the caller's loop has closed: nobody is listening any more
            self._loop.call_soon_threadsafe(self._async_queue.put_nowait, item)

    def __iter__(self) -> Iterator[StreamEvent]:
        if self._async_queue is not None:
            raise RuntimeError("this request was submitted with an event loop; iterate it with 'async for'")
        while (event := _event(self._sync_queue.get())) is not None:
            yield event
            if isinstance(event, Finish):
                return

    async def __aiter__(self) -> AsyncIterator[StreamEvent]:
        if self._async_queue is None:
            raise RuntimeError("this request was submitted without an event loop; iterate it with 'for'")
        while (event := _event(await self._async_queue.get())) is not None:
            yield event
            if isinstance(event, Finish):
                return


def _event(item: Item) -> StreamEvent | None:
    """The event a queued item carries, None once the sequence was cancelled; raises the error it carries."""
    if isinstance(item, BaseException):
        raise item
    return item
