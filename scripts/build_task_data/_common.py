"""Shared helpers for the task-data generators (stdlib + PyYAML only; deterministic)."""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LANGS: tuple[str, ...] = ("en", "zh-Hans", "zh-Hant")

Row = dict[str, Any]

# make(lang, rng, label, hard_tag) -> (text, gold-without-id, hard-tags)
MakeFn = Callable[[str, random.Random, str, str], tuple[str, Row, list[str]]]


@dataclass
class TaskSpec:
    name: str
    short: str
    sector: str
    description: str
    notice: str
    system: dict[str, str]
    user: dict[str, str]
    schema: dict[str, Any]
    gates: list[str]
    label_field: str
    labels: list[str]
    hard_counts: dict[str, int]
    make: MakeFn
    provenance_rules: str
    count_fields: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)
    abstention: dict[str, Any] | None = None
    rows_per_language: int = 160
    n_examples: int = 3


def write_jsonl(path: Path, rows: Iterable[Row]) -> int:
    """Write rows sorted by id, one compact UTF-8 JSON object per line, newline-terminated."""
    ordered = sorted(rows, key=lambda r: str(r["id"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in ordered:
            fh.write(json.dumps(row, ensure_ascii=False, separators=(", ", ": ")) + "\n")
    return len(ordered)


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as literal blocks and never sorts keys."""


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_representer)


def write_yaml(path: Path, data: dict[str, Any], header: str = "") -> None:
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100_000, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        if header:
            fh.write(header)
        fh.write(text)


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text if text.endswith("\n") else text + "\n")


def balanced(labels: Sequence[str], n: int, rng: random.Random) -> list[str]:
    """n labels, each label used floor(n/k) or ceil(n/k) times, in a seeded random order."""
    out = [labels[i % len(labels)] for i in range(n)]
    rng.shuffle(out)
    return out


def hard_plan(n: int, counts: dict[str, int], rng: random.Random) -> list[str]:
    """A list of n hard-case tags ('' = ordinary row) with the given count per tag, in seeded random order."""
    plan: list[str] = []
    for tag, k in counts.items():
        plan.extend([tag] * k)
    if len(plan) > n:
        raise ValueError("more hard cases than rows")
    plan.extend([""] * (n - len(plan)))
    rng.shuffle(plan)
    return plan


def estimate_tokens(text: str) -> int:
    """A deliberately generous token estimate: ASCII ~ 2 chars/token, other characters ~ 2 tokens each."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    other = len(text) - ascii_chars
    return math.ceil(ascii_chars / 2) + 2 * other


def max_tokens_for(golds: Iterable[Row]) -> int:
    longest = 0
    for g in golds:
        body = {k: v for k, v in g.items() if k != "id"}
        longest = max(longest, estimate_tokens(json.dumps(body, ensure_ascii=False)))
    return int(math.ceil((longest + 32) / 16) * 16)


# --- hard-case text transforms (applied to templates BEFORE slot values are filled in, so gold spans stay intact)

_PLACEHOLDER = re.compile(r"\{[a-z_0-9]+\}")


def en_typos(template: str, rng: random.Random, k: int = 2) -> str:
    """Swap two adjacent letters inside k words of >= 5 letters (never inside a {placeholder})."""
    tokens = re.split(r"(\s+)", template)
    candidates = [
        i for i, t in enumerate(tokens) if len(t) >= 5 and t.isalpha() and not _PLACEHOLDER.search(t)
    ]
    if not candidates:
        return template
    for i in rng.sample(candidates, min(k, len(candidates))):
        word = tokens[i]
        j = rng.randrange(1, len(word) - 2)
        if word[j] == word[j + 1]:
            j = max(1, j - 1)
        tokens[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    return "".join(tokens)


# Homophone / near-homophone character confusions typical of pinyin / zhuyin input.
ZH_HANS_HOMOPHONES: dict[str, str] = {
    "的": "得", "在": "再", "已": "以", "做": "作", "噪": "燥", "垃": "拉", "到": "道", "很": "狠",
    "坏": "怀", "座": "坐", "修": "休", "象": "像", "机": "基", "量": "两", "疼": "腾", "晕": "云",
    "申": "伸", "请": "情", "收": "手", "入": "如", "报": "抱", "检": "减", "查": "察", "换": "焕",
    "漏": "露", "度": "渡", "常": "长", "住": "注", "理": "里", "处": "出", "持": "迟", "续": "需",
    "会": "回", "是": "事", "个": "各", "里": "理", "要": "药", "晚": "碗",
    "痛": "通", "岁": "碎", "气": "汽", "烧": "稍", "发": "法", "家": "加",
}
ZH_HANT_HOMOPHONES: dict[str, str] = {
    "的": "得", "在": "再", "已": "以", "做": "作", "噪": "燥", "垃": "拉", "到": "道", "很": "狠",
    "壞": "懷", "座": "坐", "修": "休", "象": "像", "機": "基", "量": "兩", "疼": "騰", "暈": "雲",
    "申": "伸", "請": "情", "收": "手", "入": "如", "報": "抱", "檢": "減", "查": "察", "換": "煥",
    "漏": "露", "度": "渡", "常": "長", "住": "注", "理": "裡", "處": "出", "持": "遲", "續": "需",
    "會": "回", "是": "事", "個": "各", "裡": "理", "要": "藥", "晚": "碗",
    "痛": "通", "歲": "碎", "氣": "汽", "燒": "稍", "發": "法", "家": "加",
}


def zh_typos(template: str, rng: random.Random, table: dict[str, str], k: int = 2) -> str:
    """Replace k characters by homophones (never inside a {placeholder})."""
    masked = _PLACEHOLDER.sub(lambda m: "\0" * len(m.group(0)), template)
    positions = [i for i, ch in enumerate(masked) if ch in table]
    if not positions:
        return template
    chars = list(template)
    for i in rng.sample(positions, min(k, len(positions))):
        chars[i] = table[chars[i]]
    return "".join(chars)


def typos(lang: str, template: str, rng: random.Random) -> str:
    if lang == "en":
        out = en_typos(template, rng)
    elif lang == "zh-Hans":
        out = zh_typos(template, rng, ZH_HANS_HOMOPHONES)
    else:
        out = zh_typos(template, rng, ZH_HANT_HOMOPHONES)
    if out == template:
        raise ValueError(f"typo transform found nothing to change in {template!r}")
    return out


def code_switch(template: str, pairs: Sequence[tuple[str, str]], rng: random.Random, k: int = 2) -> str:
    """Replace up to k of the given native phrases (present in the template) by their other-language form."""
    present = [(a, b) for a, b in pairs if a in template]
    if not present:
        return template
    out = template
    for a, b in rng.sample(present, min(k, len(present))):
        out = out.replace(a, b, 1)
    return out


def fill(template: str, slots: dict[str, str]) -> str:
    out = template
    for key, value in slots.items():
        out = out.replace("{" + key + "}", value)
    if _PLACEHOLDER.search(out):
        raise ValueError(f"unfilled placeholder in {out!r}")
    return out


def pick(rng: random.Random, options: Sequence[str]) -> str:
    return options[rng.randrange(len(options))]


def count_table(rows: Iterable[tuple[str, str]]) -> str:
    """Markdown table from (language, label) pairs."""
    c = Counter(rows)
    langs = sorted({lang for lang, _ in c})
    labels = sorted({lab for _, lab in c})
    lines = ["| value | " + " | ".join(langs) + " |", "|---|" + "---|" * len(langs)]
    for lab in labels:
        lines.append(f"| {lab} | " + " | ".join(str(c[(lang, lab)]) for lang in langs) + " |")
    return "\n".join(lines)
