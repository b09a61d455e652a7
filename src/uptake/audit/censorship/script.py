"""Fold Traditional Chinese to Simplified, so that no label depends on the script a response is in.

OpenCC's character and phrase tables do the conversion (a well-kept library; a hand-made table
would miss phrase-level variants). Text without Han characters passes through unchanged.
"""

from __future__ import annotations

import re
from functools import cache

import opencc

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@cache
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    if _HAN.search(text) is None:
        return text
    return str(_converter().convert(text))
