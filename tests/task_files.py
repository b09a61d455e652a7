"""Write small task folders (task.yaml, input, gold) for tests: a three-label triage task in English and
Chinese whose gold is known, so runs, metrics and gates can be checked against hand-computed values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ROWS: list[tuple[str, str, str, str, str, str | None]] = [
    # id, lang, text, category, urgency, location
    ("r01", "en", "A pothole on Main Road broke my tyre.", "roads", "medium", "Main Road"),
    ("r02", "en", "No water in the taps since yesterday in Oak Lane.", "water", "high", "Oak Lane"),
    ("r03", "en", "Neighbours party every night, very loud.", "noise", "low", None),
    ("r04", "en", "Burst pipe flooding the pavement at King Street!", "water", "high", "King Street"),
    ("r05", "zh-Hans", "人民路上有个大坑，车胎都爆了。", "roads", "medium", "人民路"),
    ("r06", "zh-Hans", "楼下酒吧每天半夜放音乐，太吵了。", "noise", "low", None),
    ("r07", "zh-Hans", "解放街水管爆裂，路面全是水！", "water", "high", "解放街"),
    ("r08", "en", "Construction drilling at 6am near the station.", "noise", "medium", None),
]

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "category": {"enum": ["noise", "roads", "water"]},
        "urgency": {"enum": ["low", "medium", "high"]},
        "location": {"type": ["string", "null"], "maxLength": 40},
    },
    "required": ["category", "urgency", "location"],
    "additionalProperties": False,
}


def task_document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": "mini-triage",
        "sector": "governance",
        "description": "A tiny complaint triage task for tests.",
        "synthetic": True,
        "languages": ["en", "zh-Hans"],
        "input": {"path": "input.jsonl", "id": "id", "language": "lang", "fields": ["text"]},
        "prompt": {
            "system": {"en": "Classify the complaint. Answer with JSON only.",
                       "zh-Hans": "请对投诉分类，只用 JSON 回答。"},
            "user": {"en": "Complaint: {{ text }}", "zh-Hans": "投诉：{{ text }}"},
            "examples": {
                "en": [{"input": {"text": "Loud music from the bar at 2am on Elm Street."},
                        "output": {"category": "noise", "urgency": "low", "location": "Elm Street"}}],
                "zh-Hans": [{"input": {"text": "和平路的路灯旁边路面塌了。"},
                             "output": {"category": "roads", "urgency": "medium", "location": "和平路"}}],
            },
        },
        "output": {"max_tokens": 48, "schema": SCHEMA},
        "gold": {"path": "gold.jsonl", "id": "id"},
        "gates": ["category.macro_f1 >= 0.5"],
        "abstention": {"fields": ["category"], "threshold": 0.5},
    }
    document.update(changes)
    return document


def write_task(folder: Path, *, rows: list[tuple[str, str, str, str, str, str | None]] | None = None,
               extra_input_lines: tuple[str, ...] = (), gold_rows: list[dict[str, Any]] | None = None,
               **changes: Any) -> Path:
    """A task folder; returns the path of its task.yaml."""
    rows = ROWS if rows is None else rows
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"id": r[0], "lang": r[1], "text": r[2]}, ensure_ascii=False) for r in rows]
    (folder / "input.jsonl").write_text("\n".join([*lines, *extra_input_lines]) + "\n", encoding="utf-8")
    gold = gold_rows if gold_rows is not None else [
        {"id": r[0], "category": r[3], "urgency": r[4], "location": r[5]} for r in rows
    ]
    gold_text = "".join(json.dumps(g, ensure_ascii=False) + "\n" for g in gold)
    (folder / "gold.jsonl").write_text(gold_text, encoding="utf-8")
    path = folder / "task.yaml"
    path.write_text(yaml.safe_dump(task_document(**changes), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def many_rows(count: int) -> list[tuple[str, str, str, str, str, str | None]]:
    """`count` rows cycling through ROWS, with ids of their own."""
    return [(f"m{index:04d}", *ROWS[index % len(ROWS)][1:]) for index in range(count)]  # type: ignore[misc]
