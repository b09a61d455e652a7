"""Low-level helpers around llama-cpp-python, shared by the engine, its scheduler and the fit benchmark.

A leaf: it imports nothing else from this package, so every other module can build on it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator
from typing import Any

# Sampling beyond what a request names follows llama.cpp's own defaults, so results match its tools.
TOP_K = 40
MIN_P = 0.05
# llama.cpp draws a fresh random seed when it is given this value.
RANDOM_SEED = 0xFFFFFFFF


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """llama.cpp prints load logs on fd 2 from C; keep the terminal clean unless UPTAKE_DEBUG is set."""
    if os.environ.get("UPTAKE_DEBUG"):
        yield
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


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
