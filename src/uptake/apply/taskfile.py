"""Read a task file and check it: every mistake is one line naming the file, the line, the field's path and
the fix (YAML's node marks give the lines; pydantic and the cross-field checks give the paths)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from uptake.apply.checks import check_task, field_specs, parse_gates
from uptake.apply.spec import Task, TaskSpec
from uptake.errors import UsageError


def load_task(path: Path) -> Task:
    """Read and check a task file. Raises UsageError with one line: the file, the line, the field, the fix."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as error:
        raise UsageError(f"task file {path} does not exist; give a task.yaml path or a built-in task name.") from error
    except OSError as error:
        raise UsageError(f"cannot read task file {path}: {error.strerror}.") from error
    text = raw.decode("utf-8", errors="replace")
    try:
        loader = yaml.SafeLoader(text)  # one parse gives both the lines (the node tree) and the data
        try:
            node = loader.get_single_node()
            data = None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise UsageError(f"{path}{where}: not valid YAML ({problem}).") from error
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a task file is a YAML mapping (name:, input:, prompt:, output: …).")
    lines = _line_index(node)
    try:
        spec = TaskSpec.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        location = tuple(str(part) for part in first["loc"])
        raise UsageError(_located(path, lines, location, _message(first))) from error
    problems = check_task(spec)
    if problems:
        location, message = problems[0]
        raise UsageError(_located(path, lines, location, message))
    fields = field_specs(spec)
    return Task(spec, path.resolve(), hashlib.sha256(raw).hexdigest(), fields, parse_gates(spec, fields))


def _message(error: Any) -> str:
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return "is not a task file field (see docs/task-file.md for the fields)"
    if error["type"] == "missing":
        return "is required"
    return message[0].lower() + message[1:] if message else message


def _located(path: Path, lines: dict[tuple[str, ...], int], location: tuple[str, ...], message: str) -> str:
    """`task.yaml line 12: gold.metrics.amount: <message>.` — the deepest part of the path the file has."""
    line = None
    for end in range(len(location), -1, -1):
        line = lines.get(location[:end])
        if line is not None:
            break
    dotted = ".".join(part for part in location if part not in {"str", "list[Example]", "dict[str,list[Example]]"})
    where = f" line {line}" if line is not None else ""
    return f"{path}{where}: {dotted or 'task'}: {message.rstrip('.')}."


def _line_index(node: yaml.Node | None) -> dict[tuple[str, ...], int]:
    """Each key path of the YAML document, with the line (1-based) its value starts on."""
    lines: dict[tuple[str, ...], int] = {}

    def walk(current: yaml.Node, prefix: tuple[str, ...]) -> None:
        lines.setdefault(prefix, current.start_mark.line + 1)
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                path = (*prefix, str(key.value))
                lines[path] = key.start_mark.line + 1
                walk(value, path)
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                walk(item, (*prefix, str(index)))

    if node is not None:
        walk(node, ())
    return lines
