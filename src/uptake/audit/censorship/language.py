"""Which language and Chinese script a response is written in, and whether that is a switch."""

from __future__ import annotations

import re
from typing import Literal

import hanzidentifier  # type: ignore[import-untyped]  # ships no type information

from uptake.audit.censorship.probes import Lang

ResponseLang = Literal["en", "zh-Hans", "zh-Hant", "zh", "other", "empty"]

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_ANY_LETTER = re.compile(r"[^\W\d_]")
# A Chinese character carries about as much as a short English word of three letters or so.
_LATIN_LETTERS_PER_HAN = 3.0
# One script must outnumber the other by this much before we call it; models mix variants.
_SCRIPT_MAJORITY = 3.0


def detect_language(text: str) -> ResponseLang:
    """The response's main language: 'en', 'zh-Hans', 'zh-Hant', 'zh' (script undecided)."""
    if not text.strip():
        return "empty"
    han = _HAN.findall(text)
    latin = len(_LATIN_LETTER.findall(text))
    if not han and not latin:
        return "other" if _ANY_LETTER.search(text) else "empty"
    if len(han) * _LATIN_LETTERS_PER_HAN >= latin:
        return chinese_script("".join(han))
    other_letters = len(_ANY_LETTER.findall(text)) - latin - len(han)
    return "en" if latin >= other_letters else "other"


def chinese_script(han_text: str) -> Literal["zh-Hans", "zh-Hant", "zh"]:
    """Simplified or Traditional by majority of the characters that only one script uses.

    hanzidentifier.identify() answers MIXED for a single stray variant in a long text, which
    models produce all the time, so we vote per character instead.
    """
    simplified = traditional = 0
    for char in set(han_text):
        kind = hanzidentifier.identify(char)
        if kind == hanzidentifier.SIMPLIFIED:
            simplified += han_text.count(char)
        elif kind == hanzidentifier.TRADITIONAL:
            traditional += han_text.count(char)
    if simplified > _SCRIPT_MAJORITY * traditional:
        return "zh-Hans"
    if traditional > _SCRIPT_MAJORITY * simplified:
        return "zh-Hant"
    return "zh"


def is_language_switch(asked: Lang, answered: ResponseLang) -> bool:
    """True when the response is in another language, or in the other Chinese script."""
    if answered in ("empty", "zh"):
        return asked == "en" and answered == "zh"
    return answered != asked
