"""Embeddings on llama.cpp: a second context over the same file, loaded on first use.

Chat models have no pooling head; the mean of the last hidden states is the usual stand-in. The context
is a plain llama.cpp context, so one caller at a time uses it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from uptake.engines.llamacpp.native import quiet_stderr


class Embedder:
    def __init__(self, load_options: dict[str, Any]) -> None:
        self._load_options = load_options
        self._llm: Any = None
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], check_fits: Callable[[int], None]) -> list[list[float]]:
        """Unit-length vectors, one per text; `check_fits` is given each text's token count first."""
        with self._lock:
            llm = self._loaded()
            vectors: list[list[float]] = []
            for text in texts:
                tokens = llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
                check_fits(len(tokens))
                vectors.append([float(x) for x in llm.embed(text, normalize=True)])
            return vectors

    def _loaded(self) -> Any:
        if self._llm is None:
            from llama_cpp import LLAMA_POOLING_TYPE_MEAN, Llama

            options = {**self._load_options, "embedding": True, "pooling_type": LLAMA_POOLING_TYPE_MEAN}
            with quiet_stderr():
                self._llm = Llama(**options)
        return self._llm

    def close(self) -> None:
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None
