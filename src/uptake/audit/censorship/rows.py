"""Label responses given as JSONL rows (prompt, response, lang, optional id / probe_id).

Output rows keep every input field and gain the classification's fields. A row's key facts are
found through its `probe_id` (or an `id` that is a probe id), else through its prompt when that
is exactly one of the probe questions; rows about anything else get no fact coverage.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from uptake.atomic import write_lines_atomically
from uptake.audit.censorship.classify import Classifier, ClassifyRequest
from uptake.audit.censorship.probes import LANGS, Lang, Probe, ProbeSet
from uptake.errors import UsageError

REQUIRED_FIELDS = ("prompt", "response", "lang")
BATCH_SIZE = 16  # rows per classifier call: lets a judge batch and a progress bar move


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Parse and check every row first, so a bad line fails before any work is done."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise UsageError(f"input file {path} does not exist.") from error
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {path} as UTF-8 text: {error}.") from error
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            rows.append(_check_row(path, number, line))
    if not rows:
        raise UsageError(f"{path} has no rows; expected one JSON object per line with {', '.join(REQUIRED_FIELDS)}.")
    return rows


def _check_row(path: Path, number: int, line: str) -> dict[str, Any]:
    where = f"{path.name} line {number}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise UsageError(f"{where}: not valid JSON ({error.msg}).") from error
    if not isinstance(row, dict):
        raise UsageError(f"{where}: expected a JSON object with {', '.join(REQUIRED_FIELDS)}.")
    for field in REQUIRED_FIELDS:
        if field not in row:
            raise UsageError(f"{where}: missing field '{field}'.")
        if not isinstance(row[field], str):
            raise UsageError(f"{where}: field '{field}' must be a string.")
    if row["lang"] not in LANGS:
        raise UsageError(f"{where}: lang '{row['lang']}' is not one of {', '.join(LANGS)}.")
    return row


def probe_for_row(row: dict[str, Any], probe_set: ProbeSet) -> Probe | None:
    for key in ("probe_id", "id"):
        value = row.get(key)
        if isinstance(value, str):
            probe = probe_set.find(value)
            if probe is not None:
                return probe
    found = probe_set.find_by_prompt(row["prompt"])
    return found[0] if found is not None else None


def request_for_row(row: dict[str, Any], probe_set: ProbeSet) -> tuple[ClassifyRequest, Probe | None]:
    probe = probe_for_row(row, probe_set)
    lang: Lang = row["lang"]
    facts = probe.facts if probe is not None and probe.facts else None
    return ClassifyRequest(row["prompt"], row["response"], lang, facts), probe


def classify_rows(
    rows: Sequence[dict[str, Any]],
    classifier: Classifier,
    probe_set: ProbeSet,
    on_progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """The rows with label, confidence, language fields and (where known) fact coverage added."""
    labelled: list[dict[str, Any]] = []
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        prepared = [request_for_row(row, probe_set) for row in batch]
        results = classifier.classify_many([request for request, _ in prepared])
        for row, (_, probe), result in zip(batch, prepared, results, strict=True):
            record = result.as_record()
            if result.coverage is None:
                for key in ("fact_coverage", "facts_covered", "facts_total"):
                    record.pop(key)
            out = {**row, **record}
            if probe is not None and "probe_id" not in row:
                out["probe_id"] = probe.id
            labelled.append(out)
        if on_progress is not None:
            on_progress(len(batch))
    return labelled


def write_rows(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write JSONL whole or not at all, so no half-written file remains."""
    write_lines_atomically(path, (json.dumps(row, ensure_ascii=False) for row in rows))


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    by_lang: dict[str, Counter[str]] = {}
    for row in rows:
        by_lang.setdefault(row["lang"], Counter())[row["label"]] += 1
    return {
        "rows": len(rows),
        "labels": dict(Counter(row["label"] for row in rows)),
        "by_lang": {lang: dict(counts) for lang, counts in sorted(by_lang.items())},
        "lang_switches": sum(bool(row.get("lang_switch")) for row in rows),
    }
