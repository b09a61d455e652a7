"""Label confidence from token probabilities, and reading input in every format."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from task_files import write_task
from uptake.apply.confidence import field_confidence, value_span
from uptake.apply.data import read_input
from uptake.apply.taskfile import load_task
from uptake.errors import UsageError
from uptake.executors.base import TokenProbability


def tokens(*pieces: tuple[str, float]) -> list[TokenProbability]:
    return [TokenProbability(text.encode("utf-8"), logprob) for text, logprob in pieces]


def test_value_span_is_in_bytes_and_without_quotes() -> None:
    text = '{"地点": "人民路", "category": "roads"}'
    start, end = value_span(text, "category") or (0, 0)
    assert text.encode("utf-8")[start:end] == b"roads"
    start, end = value_span(text, "地点") or (0, 0)
    assert text.encode("utf-8")[start:end].decode("utf-8") == "人民路"
    assert value_span(text, "missing") is None
    assert value_span('{"urgent": true}', "urgent") is not None


def test_confidence_multiplies_the_tokens_that_spell_the_value() -> None:
    text = '{"category": "roads", "urgency": "low"}'
    pieces = tokens(('{"', 0.0), ('category', 0.0), ('": "', 0.0), ("ro", math.log(0.6)), ("ads", math.log(0.9)),
                    ('", "', 0.0), ("urgency", 0.0), ('": "', 0.0), ("low", math.log(0.3)), ('"}', 0.0))
    assert field_confidence(text, pieces, "category") == pytest.approx(0.54)
    assert field_confidence(text, pieces, "urgency") == pytest.approx(0.3)


def test_a_token_that_carries_the_quote_with_the_value_counts() -> None:
    text = '{"category": "noise"}'
    pieces = tokens(('{"category":', 0.0), (' "noise', math.log(0.7)), ('"}', math.log(0.99)))
    assert field_confidence(text, pieces, "category") == pytest.approx(0.7)


def test_no_tokens_means_no_confidence() -> None:
    assert field_confidence('{"category": "noise"}', [], "category") is None
    short = tokens(('{"category": "no', 0.0))  # the tokens stop before the value ends
    assert field_confidence('{"category": "noise"}', short, "category") is None


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_input_reads_from_every_format(tmp_path: Path, kind: str) -> None:
    path = write_task(tmp_path)
    task = load_task(path)
    records = [json.loads(line) for line in (tmp_path / "input.jsonl").read_text(encoding="utf-8").splitlines()]
    target = tmp_path / f"rows.{kind}"
    if kind == "csv":
        import csv

        with open(target, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["id", "lang", "text"])
            writer.writeheader()
            writer.writerows(records)
    elif kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(records), target)
    else:
        target.write_text((tmp_path / "input.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    rows = read_input(task, target)
    assert [(row.id, row.language, row.values["text"]) for row in rows] == [
        (record["id"], record["lang"], record["text"]) for record in records]
    assert all(row.error is None for row in rows)


def test_malformed_rows_become_error_rows_and_the_rest_are_read(tmp_path: Path) -> None:
    lines = ('not json', '["a list"]', '{"id": "r01", "lang": "en", "text": "again"}',
             '{"id": "x1", "lang": "fr", "text": "bonjour"}', '{"id": "x2", "lang": "en", "text": "  "}')
    task = load_task(write_task(tmp_path, extra_input_lines=lines))
    rows = read_input(task)
    errors = {row.id: row.error for row in rows if row.error is not None}
    assert len(rows) == 8 + len(lines)
    assert "is not JSON" in errors["line-9"] and "not a JSON object" in errors["line-10"]
    assert "used again on line 11" in errors["r01@line-11"]
    assert "'fr' is not one of the task's languages" in errors["x1"]
    assert "no value for text" in errors["x2"]


def test_an_input_file_that_is_not_there(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path))
    (tmp_path / "input.jsonl").unlink()
    with pytest.raises(UsageError, match="does not exist"):
        read_input(task)
