"""The task file is checked before anything runs: each mistake is one line with the file, the line, the
field's path and what to do."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from task_files import SCHEMA, task_document, write_task
from uptake.apply.builtin import builtin_tasks, task_path
from uptake.apply.taskfile import load_task
from uptake.errors import UsageError


def error_for(tmp_path: Path, **changes: Any) -> str:
    path = write_task(tmp_path, **changes)
    with pytest.raises(UsageError) as caught:
        load_task(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def test_a_good_task_loads_with_the_fields_the_schema_implies(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path))
    assert task.name == "mini-triage"
    assert {name: field.kind for name, field in task.fields.items()} == {
        "category": "enum", "urgency": "enum", "location": "string"}
    assert [m.metric for m in task.fields["category"].metrics] == ["accuracy", "macro_f1"]
    assert [m.metric for m in task.fields["location"].metrics] == ["exact_match"]
    assert task.fields["urgency"].labels == ("low", "medium", "high")
    assert task.gates[0].field == "category" and task.gates[0].threshold == 0.5


def test_an_unknown_field_names_its_path_and_line(tmp_path: Path) -> None:
    output = {"max_tokens": 48, "schema": SCHEMA, "colour": "blue"}
    message = error_for(tmp_path, output=output)
    assert "output.colour" in message and "not a task file field" in message
    assert f"line {line_of(tmp_path / 'task.yaml', 'colour:')}" in message


def test_a_metric_that_does_not_suit_the_field(tmp_path: Path) -> None:
    message = error_for(tmp_path, gold={"path": "gold.jsonl", "metrics": {"location": "macro_f1"}})
    assert "gold.metrics.location" in message and "does not score a string field" in message
    assert f"line {line_of(tmp_path / 'task.yaml', 'location: macro_f1')}" in message


def test_a_gate_that_is_not_one(tmp_path: Path) -> None:
    message = error_for(tmp_path, gates=["category.macro_f1 >= 0.5", "category is good"])
    assert "gates.1" in message and "FIELD.METRIC OP NUMBER" in message
    assert f"line {line_of(tmp_path / 'task.yaml', 'category is good')}" in message


def test_a_gate_on_a_metric_the_field_is_not_scored_by(tmp_path: Path) -> None:
    message = error_for(tmp_path, gates=["location.macro_f1 >= 0.5"])
    assert "scored by exact_match, not macro_f1" in message


def test_a_template_variable_the_input_does_not_have(tmp_path: Path) -> None:
    document = task_document()
    document["prompt"]["user"]["en"] = "Complaint: {{ text }} from {{ district }}"
    message = error_for(tmp_path, prompt=document["prompt"])
    assert "prompt.user.en" in message and "district" in message


def test_an_example_the_schema_rejects(tmp_path: Path) -> None:
    document = task_document()
    document["prompt"]["examples"]["en"][0]["output"]["category"] = "weather"
    message = error_for(tmp_path, prompt=document["prompt"])
    assert "prompt.examples.en.0.output" in message and "weather" in message


def test_a_language_without_a_prompt(tmp_path: Path) -> None:
    message = error_for(tmp_path, languages=["en", "zh-Hans", "zh-Hant"])
    assert "prompt.system" in message and "zh-Hant" in message


def test_abstention_on_a_free_text_field(tmp_path: Path) -> None:
    message = error_for(tmp_path, abstention={"fields": ["location"], "threshold": 0.5})
    assert "abstention.fields.0" in message and "not an enum or boolean" in message


def test_a_schema_that_is_not_an_object(tmp_path: Path) -> None:
    message = error_for(tmp_path, output={"schema": {"type": "string"}})
    assert "output.schema" in message and "object schema" in message


def test_a_missing_required_section(tmp_path: Path) -> None:
    document = task_document()
    del document["prompt"]
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(UsageError, match=r"prompt: is required"):
        load_task(path)


def test_yaml_that_does_not_parse_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text("name: x\ninput:\n  path: [unclosed\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"line \d+: not valid YAML"):
        load_task(path)


def test_an_unknown_task_name_lists_the_built_in_ones() -> None:
    with pytest.raises(UsageError, match="not a built-in task"):
        task_path("no-such-task")


def test_every_built_in_task_loads() -> None:
    tasks = builtin_tasks()
    assert len(tasks) >= 5, f"built-in tasks missing: {sorted(tasks)}"
    for name, path in tasks.items():
        task = load_task(path)
        assert task.name == name
        assert re.fullmatch(r"[0-9a-f]{64}", task.sha256)
        assert (path.parent / "PROVENANCE.md").is_file(), f"{name} has no PROVENANCE.md"


def test_the_documented_example_is_a_valid_task_file(tmp_path: Path) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "task-file.md"
    example = docs.read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "task.yaml"
    path.write_text(example, encoding="utf-8")
    task = load_task(path)
    assert task.name == "hotline-mini" and [gate.scope for gate in task.gates] == ["all", "all", "answered", "all"]
    assert [m.metric for m in task.fields["street"].metrics] == ["exact_match"]
