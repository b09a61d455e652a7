"""Sequence ids and what their KV cells still hold, so a new request can skip a prefix already computed.

Chat prompts share a lot: the template's system text, a conversation's earlier turns. When a request
finishes, its sequence keeps its cells; the next request goes to the free sequence whose cached tokens
share the longest prefix with its prompt, and only the rest of the prompt is computed (llama.cpp's own
server does the same with its slots).
"""

from __future__ import annotations

from collections.abc import Sequence


def shared_prefix(first: Sequence[int], second: Sequence[int]) -> int:
    length = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        length += 1
    return length


class SlotCache:
    """Free sequence ids, each with the tokens its cells hold.

    Among equally good ids the lowest is taken: the ids in use then stay packed from 0, which lets
    llama.cpp decode a step in one forward pass (see context.py).
    """

    def __init__(self, sequences: int, reuse_prefixes: bool = True) -> None:
        self.reuse_prefixes = reuse_prefixes
        self._free: set[int] = set(range(sequences))
        self._cached: list[list[int]] = [[] for _ in range(sequences)]

    def __bool__(self) -> bool:
        return bool(self._free)

    def lowest_free(self) -> int:
        """The lowest free id (there must be one)."""
        return min(self._free)

    def best(self, prompt: list[int]) -> tuple[int, int]:
        """The free id to take for `prompt`, and how many of its tokens that id's cells already hold. At least
        one token is always left to compute, because its logits are what the first token is drawn from."""
        candidates = sorted(self._free)
        best, kept = candidates[0], 0
        if self.reuse_prefixes:
            for sequence_id in candidates:
                length = min(shared_prefix(self._cached[sequence_id], prompt), len(prompt) - 1)
                if length > kept:
                    best, kept = sequence_id, length
        return best, kept

    def take_id(self, sequence_id: int) -> None:
        """Take this free id whatever its cells hold; they are about to be overwritten."""
        self._free.remove(sequence_id)
        self._cached[sequence_id] = []

    def give_back(self, sequence_id: int, cached: list[int]) -> None:
        """The sequence is free again; its cells hold `cached` (empty when they were cleared)."""
        self._cached[sequence_id] = cached if self.reuse_prefixes else []
        self._free.add(sequence_id)
