"""The checks a task file must pass beyond its shape: the schema, the fields it scores, the gates, the prompts.

Each problem is (the path of the field in the file, what is wrong and how to fix it); `load_task` reports
the first one with its line.
"""

from __future__ import annotations

from typing import Any

import jsonschema
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from uptake.apply.spec import (
    ALLOWED_METRICS,
    DEFAULT_METRICS,
    RUN_WIDE_GATES,
    Example,
    FieldKind,
    FieldSpec,
    Gate,
    MetricSpec,
    TaskSpec,
    parse_gate,
)
from uptake.errors import UsageError

Problem = tuple[tuple[str, ...], str]


def check_task(spec: TaskSpec) -> list[Problem]:
    problems = _check_schema(spec)
    if problems:
        return problems
    kinds = _field_kinds(spec.output.schema_)
    problems += [
        (("output", "schema", "properties", name), kind[1:]) for name, kind in kinds.items() if kind.startswith("!")
    ]
    problems += _check_metrics(spec, kinds)
    problems += _check_abstention(spec, kinds)
    problems += _check_gates(spec)
    problems += _check_prompt(spec)
    return problems


def _check_schema(spec: TaskSpec) -> list[Problem]:
    schema = spec.output.schema_
    where = ("output", "schema")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        return [(where, f"is not a valid JSON schema ({error.message})")]
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict) or not schema["properties"]:
        return [(where, "must be an object schema with properties (type: object, properties: {…})")]
    from uptake.engines.llamacpp.grammar import grammar_for_schema

    try:
        grammar_for_schema(schema)
    except UsageError as error:
        return [(where, str(error).rstrip("."))]
    return []


def _field_kinds(schema: dict[str, Any]) -> dict[str, str]:
    """Each property's kind; a kind that cannot be scored is a message starting with "!"."""
    return {name: _kind(prop) for name, prop in schema["properties"].items()}


def _concrete(prop: dict[str, Any]) -> dict[str, Any]:
    """The branch of `anyOf: [X, null]` (or oneOf) that is not null; the schema itself otherwise."""
    branches: list[Any] = prop.get("anyOf") or prop.get("oneOf") or []
    for branch in branches:
        if isinstance(branch, dict) and branch.get("type") != "null":
            return branch
    return prop


def _kind(prop: Any) -> str:
    if not isinstance(prop, dict):
        return "!must be a schema object"
    if "enum" in prop:
        return "enum"
    concrete = _concrete(prop)
    if concrete is not prop:
        return _kind(concrete)
    kinds = prop.get("type")
    names = [kinds] if isinstance(kinds, str) else [kind for kind in (kinds or []) if kind != "null"]
    if len(names) != 1:
        return "!give one type (and optionally null), or an enum, so the field can be scored"
    mapping: dict[str, FieldKind] = {"boolean": "boolean", "string": "string", "integer": "number", "number": "number",
                                     "array": "array"}
    kind = mapping.get(names[0])
    return kind if kind is not None else "!nested objects are not scored; flatten them into fields of their own"


def _labels(prop: dict[str, Any], kind: FieldKind) -> tuple[str, ...]:
    if kind == "boolean":
        return ("true", "false")
    if kind != "enum":
        return ()
    return tuple(label_text(value) for value in prop["enum"] if value is not None)


def label_text(value: Any) -> str:
    """An enum or boolean value as a label: JSON's spelling for booleans, the text otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _metric_specs(value: Any) -> tuple[MetricSpec, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(item if isinstance(item, MetricSpec) else MetricSpec(metric=item) for item in items)


def _check_metrics(spec: TaskSpec, kinds: dict[str, str]) -> list[Problem]:
    if spec.gold is None:
        return []
    problems: list[Problem] = []
    for name, value in spec.gold.metrics.items():
        where = ("gold", "metrics", name)
        if name not in kinds:
            problems.append((where, f"'{name}' is not a property of output.schema ({', '.join(kinds)})"))
            continue
        kind = kinds[name]
        if kind.startswith("!"):
            continue
        for metric in _metric_specs(value):
            allowed = ALLOWED_METRICS[kind]  # type: ignore[index]
            if metric.metric not in allowed:
                use = ", ".join(sorted(allowed))
                problems.append((where, f"{metric.metric} does not score a {kind} field; use {use}"))
    return problems


def _check_abstention(spec: TaskSpec, kinds: dict[str, str]) -> list[Problem]:
    if spec.abstention is None:
        return []
    problems: list[Problem] = []
    for index, name in enumerate(spec.abstention.fields):
        if kinds.get(name) not in {"enum", "boolean"}:
            problems.append((("abstention", "fields", str(index)),
                             f"'{name}' is not an enum or boolean field of output.schema; confidence is read from "
                             "the probability of a label"))
    return problems


def _check_gates(spec: TaskSpec) -> list[Problem]:
    fields = field_specs(spec)  # check_task stopped before this when the schema itself is wrong
    problems: list[Problem] = []
    for index, expression in enumerate(spec.gates):
        where = ("gates", str(index))
        parsed = parse_gate(expression)
        if parsed is None:
            problems.append((where, f"'{expression}' is not a gate; write FIELD.METRIC OP NUMBER, e.g. "
                             "'category.macro_f1 >= 0.8' (OP one of >= > <= < ==)"))
            continue
        _, field, metric, _, threshold = parsed
        if field in RUN_WIDE_GATES:
            if metric is not None:
                problems.append((where, f"'{field}' takes no metric: '{field} >= {threshold}'"))
            elif field == "coverage" and spec.abstention is None:
                problems.append((where, "a coverage gate needs an abstention section"))
            continue
        if field not in fields:
            problems.append((where, f"'{field}' is not an output field ({', '.join(fields)}) or one of "
                             f"{', '.join(RUN_WIDE_GATES)}"))
        elif spec.gold is None:
            problems.append((where, "a metric gate needs a gold section"))
        elif metric not in {item.metric for item in fields[field].metrics}:
            scored = ", ".join(item.metric for item in fields[field].metrics)
            problems.append((where, f"'{field}' is scored by {scored}, not {metric}"))
    return problems


def _check_prompt(spec: TaskSpec) -> list[Problem]:
    problems: list[Problem] = []
    languages = set(spec.languages)
    for part in ("system", "user"):
        value = getattr(spec.prompt, part)
        if isinstance(value, dict):
            missing = languages - value.keys()
            extra = value.keys() - languages
            if missing:
                problems.append((("prompt", part), f"has no text for {', '.join(sorted(missing))}"))
            if extra:
                problems.append((("prompt", part), f"names {', '.join(sorted(extra))}, not in languages"))
    environment = SandboxedEnvironment()
    users = spec.prompt.user if isinstance(spec.prompt.user, dict) else {"": spec.prompt.user}
    for language, template in users.items():
        where = ("prompt", "user", language) if language else ("prompt", "user")
        try:
            variables = meta.find_undeclared_variables(environment.parse(template))
        except Exception as error:  # jinja2's TemplateSyntaxError and friends
            problems.append((where, f"is not a valid template ({error})"))
            continue
        unknown = variables - set(spec.input.fields)
        if unknown:
            problems.append((where, f"uses {', '.join(sorted(unknown))}, which input.fields does not list"))
    examples = spec.prompt.examples
    grouped = {"": examples} if isinstance(examples, list) else examples
    validator = jsonschema.Draft202012Validator(spec.output.schema_)
    for language, items in grouped.items():
        if language and language not in languages:
            problems.append((("prompt", "examples", language), f"'{language}' is not in languages"))
        problems += _check_examples(spec, language, items, validator)
    return problems


def _check_examples(
    spec: TaskSpec, language: str, items: list[Example], validator: jsonschema.Draft202012Validator
) -> list[Problem]:
    problems: list[Problem] = []
    for index, example in enumerate(items):
        where = ("prompt", "examples", *([language] if language else []), str(index))
        missing = set(spec.input.fields) - example.input.keys()
        if missing:
            problems.append(((*where, "input"), f"lacks {', '.join(sorted(missing))}"))
        error = jsonschema.exceptions.best_match(validator.iter_errors(example.output))
        if error is not None:
            problems.append(((*where, "output"), f"is not valid against output.schema ({error.message})"))
    return problems


def field_specs(spec: TaskSpec) -> dict[str, FieldSpec]:
    """The output fields with their kind, labels and metrics (the task file's, or what the kind implies)."""
    properties = spec.output.schema_["properties"]
    chosen = spec.gold.metrics if spec.gold is not None else {}
    fields: dict[str, FieldSpec] = {}
    for name, prop in properties.items():
        kind_text = _kind(prop)
        if kind_text.startswith("!"):
            continue
        kind: FieldKind = kind_text  # type: ignore[assignment]
        metrics = _metric_specs(chosen[name]) if name in chosen else tuple(
            MetricSpec(metric=metric) for metric in DEFAULT_METRICS[kind]
        )
        fields[name] = FieldSpec(name, kind, _labels(_concrete(prop), kind), metrics)
    return fields


def parse_gates(spec: TaskSpec, fields: dict[str, FieldSpec]) -> tuple[Gate, ...]:
    gates = []
    for expression in spec.gates:
        parsed = parse_gate(expression)
        assert parsed is not None  # check_task refused the file otherwise
        scope, field, metric, op, threshold = parsed
        gates.append(Gate(expression.strip(), scope, field, metric, op, threshold))  # type: ignore[arg-type]
    return tuple(gates)
