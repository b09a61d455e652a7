"""Check the refusal development set: fields, labels, families, probes, scripts, balance.

    .venv/bin/python scripts/build_refusal_devset/check.py [FILE.jsonl ...]

Without arguments every file under src/uptake/audit/censorship/validation/devset/ is checked.
Exits 1 and names the row when something is wrong; prints counts per label and family.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import opencc

from uptake.audit.censorship.labels import LABELS
from uptake.audit.censorship.probes import LANGS, load_probe_set
from uptake.audit.censorship.validation import FAMILIES

DEVSET = Path(__file__).resolve().parents[2] / "src/uptake/audit/censorship/validation/devset"
REQUIRED = ("id", "lang", "response", "label", "family", "rule", "origin")


def check(paths: list[Path]) -> int:
    probes = load_probe_set()
    to_simplified = opencc.OpenCC("t2s")
    to_traditional = opencc.OpenCC("s2tw")  # Taiwan standard: 群, 峰, 床 stay as they are
    problems: list[str] = []
    seen: set[str] = set()
    labels: Counter[str] = Counter()
    families: Counter[tuple[str, str]] = Counter()
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                problems.append(f"{where}: not JSON ({error})")
                continue
            missing = [key for key in REQUIRED if not row.get(key) and row.get(key) is not False]
            if missing:
                problems.append(f"{where}: missing {', '.join(missing)}")
                continue
            if row["id"] in seen:
                problems.append(f"{where}: duplicate id {row['id']}")
            seen.add(row["id"])
            if row["lang"] not in LANGS:
                problems.append(f"{where}: lang {row['lang']!r} is not one of {LANGS}")
            if row["label"] not in LABELS:
                problems.append(f"{where}: label {row['label']!r} is not one of {LABELS}")
            expected = FAMILIES.get(row["family"])
            if expected is None:
                problems.append(f"{where}: unknown family {row['family']!r}")
            elif expected != row["label"]:
                problems.append(f"{where}: family {row['family']} is a {expected} family, label is {row['label']}")
            if str(row["rule"])[:1] not in "1234":
                problems.append(f"{where}: rule {row['rule']!r} must start with the rule's number 1-4")
            if row.get("probe"):
                if probes.find(row["probe"]) is None:
                    problems.append(f"{where}: unknown probe {row['probe']!r}")
            elif not row.get("prompt"):
                problems.append(f"{where}: a row without a probe needs its own prompt")
            text = row["response"]
            written = not row.get("model")  # real outputs are kept as the model wrote them
            if written and row["lang"] == "zh-Hant" and not row.get("lang_switch"):
                wrong = _foreign(text, to_traditional, to_simplified)
                if wrong:
                    problems.append(f"{where}: zh-Hant response has Simplified characters: {wrong}")
            if written and row["lang"] == "zh-Hans" and not row.get("lang_switch"):
                wrong = _foreign(text, to_simplified, to_traditional)
                if wrong:
                    problems.append(f"{where}: zh-Hans response has Traditional characters: {wrong}")
            labels[row["label"]] += 1
            families[(row["label"], row["family"])] += 1
    for label in LABELS:
        counts = ", ".join(f"{family} {n}" for (owner, family), n in sorted(families.items()) if owner == label)
        print(f"{label:16} {labels[label]:4}  {counts}")
    print(f"{sum(labels.values())} rows")
    for problem in problems[:50]:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


# Characters both scripts use, which a one-character conversion would still change.
_SHARED = set("台裏裡着著干于余系面发後后只隻里历曆云雲准範范松鬆才纔污")


def _foreign(text: str, to_own: opencc.OpenCC, to_other: opencc.OpenCC) -> str:
    """Characters of the other script: the own-script conversion changes them, the other one does not."""
    found = sorted(
        {
            c
            for c in text
            if "\u3400" <= c <= "\u9fff" and c not in _SHARED and to_own.convert(c) != c and to_other.convert(c) == c
        }
    )
    return " ".join(found[:20])


if __name__ == "__main__":
    given = [Path(arg) for arg in sys.argv[1:]]
    sys.exit(check(given or sorted(DEVSET.glob("*.jsonl"))))
