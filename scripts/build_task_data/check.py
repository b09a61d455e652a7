"""Check the shipped sector-task data: task.yaml, input.jsonl, gold.jsonl and few-shot examples of every task.

Usage (from the repository root):

    .venv/bin/python scripts/build_task_data/check.py [src/uptake/apply/tasks]

Exits 1 and lists every problem found; prints counts per language and label either way.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import yaml
from jsonschema import Draft202012Validator

SECTORS = {"consumption", "governance", "manufacturing", "healthcare", "social-welfare"}
METRICS = {"accuracy", "macro_f1", "exact_match", "numeric", "set_f1"}
GATE = re.compile(r"^([a-z_][a-z0-9_]*)\.([a-z_0-9]+) (>=|<=|>|<|==) ([0-9]*\.?[0-9]+)$")
MIN_ROWS = 150


def norm(text: str) -> str:
    """The exact-match normalisation: NFKC, trim, case-fold, collapse whitespace."""
    return " ".join(unicodedata.normalize("NFKC", text).strip().casefold().split())


def read_jsonl(path: Path, problems: list[str]) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    if not raw.endswith(b"\n"):
        problems.append(f"{path}: not newline-terminated")
    rows = []
    for i, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{i}: bad JSON: {exc}")
    ids = [str(r.get("id")) for r in rows]
    if ids != sorted(ids):
        problems.append(f"{path}: rows not sorted by id")
    return rows


def field_kind(spec: dict[str, Any]) -> str:
    if "enum" in spec:
        return "enum"
    types = spec.get("type")
    types = types if isinstance(types, list) else [types]
    for t in ("boolean", "array", "integer", "number", "string"):
        if t in types:
            return t
    return "?"


def check_task(folder: Path, problems: list[str]) -> None:
    def bad(msg: str) -> None:
        problems.append(f"{folder.name}: {msg}")

    task = yaml.safe_load((folder / "task.yaml").read_text(encoding="utf-8"))
    if task.get("name") != folder.name:
        bad(f"name {task.get('name')!r} is not the folder name")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", str(task.get("name"))):
        bad("name is not lowercase-hyphen")
    if task.get("sector") not in SECTORS:
        bad(f"sector {task.get('sector')!r}")
    if not isinstance(task.get("synthetic"), bool):
        bad("synthetic must be a boolean")
    if task.get("sector") == "healthcare" and "not for clinical use" not in str(task.get("notice", "")).lower():
        bad("healthcare task needs a notice saying 'not for clinical use'")
    langs: list[str] = task["languages"]
    inp = task["input"]
    fields: list[str] = inp["fields"]
    out = task["output"]
    schema = out["schema"]
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    props: dict[str, Any] = schema["properties"]
    if schema.get("type") != "object" or schema.get("additionalProperties") is not False:
        bad("schema must be an object with additionalProperties: false")
    if list(schema.get("required", [])) != list(props):
        bad("every property must be required, in property order")
    if not isinstance(out.get("max_tokens"), int) or out["max_tokens"] < 8:
        bad("output.max_tokens")

    # prompts
    prompt = task["prompt"]
    env = jinja2.Environment()
    for part in ("system", "user"):
        value = prompt[part]
        per_lang = value if isinstance(value, dict) else dict.fromkeys(langs, value)
        if set(per_lang) != set(langs):
            bad(f"prompt.{part} languages {sorted(per_lang)} != {sorted(langs)}")
        if part == "user":
            for lang, template in per_lang.items():
                used = jinja2.meta.find_undeclared_variables(env.parse(template))
                if not used or not used <= set(fields):
                    bad(f"user template ({lang}) uses {sorted(used)}, input.fields is {fields}")

    # input and gold
    inputs = read_jsonl(folder / inp["path"], problems)
    golds = read_jsonl(folder / task["gold"]["path"], problems)
    in_ids = [r[inp["id"]] for r in inputs]
    gold_ids = [r[task["gold"]["id"]] for r in golds]
    if len(set(in_ids)) != len(in_ids) or len(set(gold_ids)) != len(gold_ids):
        bad("duplicate ids")
    if set(in_ids) != set(gold_ids):
        bad(f"input/gold ids differ: {len(set(in_ids) ^ set(gold_ids))} unmatched")
    by_id = {r[inp["id"]]: r for r in inputs}
    texts_per_lang: dict[str, set[str]] = {}
    for r in inputs:
        if r.get(inp["language"]) not in langs:
            bad(f"{r.get('id')}: lang {r.get(inp['language'])!r} not in languages")
        for f in fields:
            if not isinstance(r.get(f), str) or not r[f].strip():
                bad(f"{r.get('id')}: field {f} missing or empty")
        if "hard" in r and not (isinstance(r["hard"], list) and all(isinstance(t, str) for t in r["hard"])):
            bad(f"{r.get('id')}: hard must be a list of strings")
        texts_per_lang.setdefault(r[inp["language"]], set()).add(r["text"])
    lang_count = Counter(r[inp["language"]] for r in inputs)
    for lang in langs:
        if lang_count[lang] < MIN_ROWS:
            bad(f"language {lang} has {lang_count[lang]} rows (< {MIN_ROWS})")
    for lang, texts in texts_per_lang.items():
        if len(texts) != lang_count[lang]:
            bad(f"language {lang} has duplicate texts")
    for g in golds:
        body = {k: v for k, v in g.items() if k != task["gold"]["id"]}
        errors = list(validator.iter_errors(body))
        if errors:
            bad(f"gold {g.get('id')}: {errors[0].message}")
        row = by_id.get(g.get("id"))
        if row is None:
            continue
        # Extracted strings must be written in the text (so exact match is fair).
        text = norm(" ".join(str(row[f]) for f in fields))
        for name, spec in props.items():
            value = body.get(name)
            if field_kind(spec) == "string" and isinstance(value, str) and norm(value) not in text:
                bad(f"gold {g['id']}: {name} {value!r} is not in the text")
            if field_kind(spec) == "array" and "enum" not in spec.get("items", {}):
                for item in value or []:
                    if norm(str(item)) not in text:
                        bad(f"gold {g['id']}: {name} item {item!r} is not in the text")

    # few-shot examples
    examples = prompt.get("examples", {})
    if set(examples) != set(langs):
        bad(f"examples languages {sorted(examples)} != {sorted(langs)}")
    for lang, exs in examples.items():
        if not 2 <= len(exs) <= 3:
            bad(f"examples ({lang}): {len(exs)}, want 2 or 3")
        for ex in exs:
            if set(ex["input"]) != set(fields):
                bad(f"example ({lang}) input keys {sorted(ex['input'])} != fields {fields}")
            errors = list(validator.iter_errors(ex["output"]))
            if errors:
                bad(f"example ({lang}) output invalid: {errors[0].message}")
            if ex["input"].get("text") in texts_per_lang.get(lang, set()):
                bad(f"example ({lang}) is an evaluation row")

    # metrics, gates, abstention
    for name, m in (task["gold"].get("metrics") or {}).items():
        if name not in props or m.get("metric") not in METRICS:
            bad(f"metrics override {name}: {m}")
    for gate in task.get("gates", []):
        match = GATE.match(gate)
        if not match or match.group(1) not in props or match.group(2) not in METRICS:
            bad(f"gate {gate!r}")
    abst = task.get("abstention")
    if abst is not None:
        for name in abst.get("fields", []):
            if name not in props or "enum" not in props[name]:
                bad(f"abstention field {name} is not an enum field")
        if not 0 < float(abst.get("threshold", 0)) < 1:
            bad("abstention threshold")

    # report
    print(f"== {folder.name} ({task['sector']}, synthetic={task['synthetic']}): {len(inputs)} rows")
    print("   rows per language: " + ", ".join(f"{lang} {lang_count[lang]}" for lang in langs))
    lang_of = {r[inp["id"]]: r[inp["language"]] for r in inputs}
    hard = Counter(lang_of[r[inp["id"]]] for r in inputs if r.get("hard"))
    if hard:
        print("   hard rows: " + ", ".join(f"{lang} {hard[lang]} ({100 * hard[lang] / lang_count[lang]:.0f}%)"
                                           for lang in langs))
    for name, spec in props.items():
        kind = field_kind(spec)
        if kind not in ("enum", "boolean") and not (kind == "array" and "enum" in spec.get("items", {})):
            nulls = Counter(lang_of[g["id"]] for g in golds if g.get(name) in (None, []))
            print(f"   {name}: null/empty per language: " + ", ".join(f"{lang} {nulls[lang]}" for lang in langs))
            continue
        counts: Counter[tuple[str, str]] = Counter()
        for g in golds:
            values = g[name] if isinstance(g[name], list) else [g[name]]
            for v in values:
                counts[(lang_of[g["id"]], json.dumps(v) if isinstance(v, bool) else str(v))] += 1
        labels = sorted({label for _, label in counts})
        print(f"   {name}:")
        for lang in langs:
            print(f"     {lang:8} " + "  ".join(f"{label}={counts[(lang, label)]}" for label in labels))


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path("src/uptake/apply/tasks")
    folders = sorted(p.parent for p in root.glob("*/task.yaml"))
    if not folders:
        print(f"no task.yaml under {root}")
        return 1
    problems: list[str] = []
    for folder in folders:
        try:
            check_task(folder, problems)
        except Exception as exc:  # report and go on to the next task
            problems.append(f"{folder.name}: {type(exc).__name__}: {exc}")
    if problems:
        print(f"\nFAILED: {len(problems)} problem(s)")
        for p in problems[:200]:
            print("  - " + p)
        return 1
    print(f"\nOK: {len(folders)} task(s) pass")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
