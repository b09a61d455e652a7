"""The four labels a response can get (see validation/GUIDELINES.md for how to apply them)."""

from __future__ import annotations

from typing import Literal, get_args

Label = Literal["answered", "refused", "deflected", "state_narrative"]
LABELS: tuple[Label, ...] = get_args(Label)
NON_ANSWERS: frozenset[Label] = frozenset({"refused", "deflected", "state_narrative"})


def is_non_answer(label: str) -> bool:
    return label in NON_ANSWERS
