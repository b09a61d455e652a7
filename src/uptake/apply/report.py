"""report.html for a task run: one self-contained page (inline CSS, no scripts, nothing fetched).

It renders what summary.json and the results journal hold and tolerates optional keys that are missing.
Model output and the task's data are untrusted: every value from them goes through `html.escape`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from uptake.reports.html import STYLE, Markup, esc, format_bytes, page, percent, table, truncate

RAW_CHARS = 300  # raw model output of invalid and error rows is cut to this many characters
INPUT_CHARS = 600  # each input field in the review queue is cut to this many characters
LISTED_ROWS = 200  # at most this many rows in the review queue and in the error list; the journal has all
DASH = "—"
NONE_LABEL = "(none)"

APPLY_STYLE = """
.notice { border: 2px solid #b45309; background: #fff7ed; color: #7c2d12; padding: 0.6rem 0.9rem;
          border-radius: 4px; font-weight: 600; }
.verdict { font-size: 1.1rem; font-weight: 700; padding: 0.4rem 0.8rem; border-radius: 4px; display: inline-block; }
.verdict.pass { background: #dcfce7; color: #166534; } .verdict.fail { background: #fee2e2; color: #991b1b; }
span.pass { color: #166534; font-weight: 600; } span.fail { color: #b91c1c; font-weight: 600; }
table.confusion td.diag { font-weight: 700; } table.confusion th.gold { background: #f4f4f4; }
pre.raw { white-space: pre-wrap; word-break: break-word; background: #fafafa; margin: 0; max-width: 40rem;
          font-family: ui-monospace, monospace; font-size: 0.8rem; }
footer { margin-top: 2.5rem; border-top: 1px solid #ddd; padding-top: 0.5rem; }
"""


def render_report(summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    """The whole report.html of a task run, from its summary (summary.json) and its journal rows."""
    task = summary.get("task") or {}
    title = f"Task run: {task.get('name', 'unnamed task')}"
    sections = [
        _header_section(summary, title),
        _gates_section(summary),
        _counts_section(summary),
        _metrics_section(summary),
        _confusion_section(summary),
        _abstention_section(summary),
        _review_section(summary, rows),
        _problems_section(rows),
        _speed_section(summary),
        _footer(summary),
    ]
    return page(title, "\n".join(section for section in sections if section), STYLE + APPLY_STYLE)


# Formats


def number(value: object, digits: int = 3) -> str:
    """A metric value: floats to `digits` decimals, ints as they are, None as a dash."""
    if value is None:
        return DASH
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def threshold_text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else number(value)


def with_interval(record: Mapping[str, Any] | None) -> str:
    """{"value", "low", "high"} as "0.780 (0.740–0.820)"; the value alone when there is no interval."""
    if not record or record.get("value") is None:
        return DASH
    if record.get("low") is None or record.get("high") is None:
        return number(record["value"])
    return f"{number(record['value'])} ({number(record['low'])}–{number(record['high'])})"


def as_json(value: object) -> str:
    return DASH if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def status_mark(passed: bool) -> Markup:
    return Markup('<span class="pass">pass</span>' if passed else '<span class="fail">fail</span>')


def lines(pairs: Mapping[str, Any], limit: int | None = None) -> Markup:
    """Key: value lines, each escaped (and cut to `limit` characters), as one table cell."""
    shown = [f"{key}: {value}" for key, value in pairs.items()]
    return Markup("<br>".join(esc(truncate(text, limit) if limit else text) for text in shown) or DASH)


def verdict(summary: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether the run passed, and the sentence that says so."""
    gates = summary.get("gates") or []
    failed = sum(1 for gate in gates if not gate.get("passed"))
    passed = bool(summary.get("passed", failed == 0)) and failed == 0
    if not gates:
        return passed, "No gates set"
    if failed == 0 and not passed:
        return False, f"FAIL: the run did not pass, though its {len(gates)} gate(s) did"
    if failed == 0:
        return True, f"PASS: all {len(gates)} gates passed" if len(gates) > 1 else "PASS: the gate passed"
    return False, f"FAIL: {failed} of {len(gates)} gates failed"


# Sections


def _header_section(summary: Mapping[str, Any], title: str) -> str:
    task = summary.get("task") or {}
    model = summary.get("model") or {}
    backend = summary.get("backend") or {}
    passed, sentence = verdict(summary)
    notice = f'<p class="notice">{esc(task["notice"])}</p>' if task.get("notice") else ""
    sha = str(model.get("sha256") or "")
    backend_text = ", ".join(f"{key} {value}" for key, value in backend.items() if value is not None)
    facts = [
        ("sector", task.get("sector", DASH)),
        ("description", task.get("description", DASH)),
        ("synthetic data", "yes" if task.get("synthetic") else "no"),
        ("languages", ", ".join(map(str, task.get("languages") or [])) or DASH),
        ("model", model.get("name", DASH)),
        ("model sha256", Markup(f'<span class="mono" title="{esc(sha)}">{esc(sha[:12] or DASH)}</span>')),
        ("backend", backend_text or DASH),
        ("run id", Markup(f'<span class="mono">{esc(summary.get("run_id", DASH))}</span>')),
        ("started", summary.get("started_at") or DASH),
        ("finished", summary.get("finished_at") or DASH),
    ]
    return (
        f'<header id="header"><h1>{esc(title)}</h1>{notice}'
        f'<p><span class="verdict {"pass" if passed else "fail"}">{esc(sentence)}</span></p>'
        + table(["run", ""], facts, numeric_from=2)
        + "</header>"
    )


def _gates_section(summary: Mapping[str, Any]) -> str:
    gates = summary.get("gates") or []
    if not gates:
        return '<section id="gates"><h2>Gates</h2><p class="note">The task sets no gates.</p></section>'
    body = [
        (gate.get("expression", DASH), gate.get("scope", DASH), with_interval(gate),
         threshold_text(gate.get("threshold")), status_mark(bool(gate.get("passed"))))
        for gate in gates
    ]
    return (
        '<section id="gates"><h2>Gates</h2>'
        '<p class="note">Each gate compares a metric (value and 95% interval) with its threshold.</p>'
        + table(["gate", "scope", "value (95% interval)", "threshold", "result"], body, numeric_from=2)
        + "</section>"
    )


def _counts_section(summary: Mapping[str, Any]) -> str:
    counts = summary.get("counts") or {}
    validity = summary.get("validity") or {}
    names = ("rows", "done", "ok", "review", "invalid", "error", "missing")
    body = [(name, counts[name]) for name in names if name in counts]
    rate = validity.get("rate")
    if rate is not None:
        checked = f" ({validity.get('schema_valid', DASH)} of {validity.get('checked', DASH)})"
        body.append(("schema-valid rate", percent(rate, 1) + checked))
    return (
        '<section id="counts"><h2>Rows</h2>'
        '<p class="note">ok: answered; review: abstained, sent to a person; invalid: output not valid against '
        "the task's schema; error: no usable output.</p>"
        + table(["rows", "count"], body)
        + "</section>"
    )


def _metrics_section(summary: Mapping[str, Any]) -> str:
    metrics = summary.get("metrics") or {}
    parts = ['<section id="metrics"><h2>Metrics</h2>']
    scopes = (
        ("all", "All rows (invalid and error rows count as wrong)"),
        ("answered", "Answered rows (not sent to review)"),
    )
    for scope, heading in scopes:
        if metrics.get(scope):
            parts.append(f"<h3>{esc(heading)}</h3>" + metrics_table(metrics[scope]))
    by_language = metrics.get("by_language") or {}
    if by_language:
        body = [(lang, *row) for lang, fields in by_language.items() for row in metric_rows(fields)]
        parts.append("<h3>By language (all rows)</h3>")
        parts.append(table(["language", "field", "type", "metric", "value (95% interval)", "n"], body, numeric_from=4))
    if len(parts) == 1:
        parts.append('<p class="note">No metrics: the task has no gold labels.</p>')
    parts.append("</section>")
    return "".join(parts)


def metric_rows(fields: Mapping[str, Any]) -> list[tuple[object, ...]]:
    """(field, type, metric, value with interval, n) for every metric of every field."""
    found: list[tuple[object, ...]] = []
    for field, entry in fields.items():
        field_metrics = (entry or {}).get("metrics") or {}
        kind = (entry or {}).get("type", DASH)
        if not field_metrics:
            found.append((field, kind, "no gold labels", DASH, DASH))
        for name, record in field_metrics.items():
            found.append((field, kind, name, with_interval(record), (record or {}).get("n", DASH)))
    return found


def metrics_table(fields: Mapping[str, Any]) -> str:
    return table(["field", "type", "metric", "value (95% interval)", "n"], metric_rows(fields), numeric_from=3)


def _confusion_section(summary: Mapping[str, Any]) -> str:
    confusion = summary.get("confusion") or {}
    if not confusion:
        return ""
    tables = "".join(f"<h3>{esc(field)}</h3>" + confusion_table(field, entry) for field, entry in confusion.items())
    return (
        '<section id="confusion"><h2>Confusion matrices</h2>'
        '<p class="note">Rows are the gold label, columns the prediction; "(none)" counts rows with no valid '
        "prediction. Darker cells hold more rows.</p>" + tables + "</section>"
    )


def confusion_table(field: str, entry: Mapping[str, Any]) -> str:
    """One field's matrix; each count cell carries data-gold and data-pred, shaded by its count."""
    labels = [str(label) for label in entry.get("labels") or []]
    matrix: list[list[int]] = [list(row) for row in entry.get("matrix") or []]
    largest = max((count for row in matrix for count in row), default=0)
    head = '<th class="gold">gold \\ predicted</th>' + "".join(f"<th>{esc(label)}</th>" for label in labels)
    body = []
    for gold, counts in zip(labels, matrix, strict=False):
        if gold == NONE_LABEL and not any(counts):
            continue
        cells = "".join(
            confusion_cell(gold, predicted, count, largest) for predicted, count in zip(labels, counts, strict=False)
        )
        body.append(f'<tr><th class="gold">{esc(gold)}</th>{cells}<td class="num">{sum(counts)}</td></tr>')
    return (
        f'<table class="confusion" data-field="{esc(field)}"><thead><tr>{head}<th>total</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def confusion_cell(gold: str, predicted: str, count: int, largest: int) -> str:
    alpha = 0.08 + 0.6 * count / largest if count and largest else 0.0
    style = f' style="background: rgba(37, 99, 235, {alpha:.2f})"' if alpha else ""
    kind = "num diag" if gold == predicted else "num"
    return f'<td class="{kind}" data-gold="{esc(gold)}" data-pred="{esc(predicted)}"{style}>{int(count)}</td>'


def _abstention_section(summary: Mapping[str, Any]) -> str:
    abstention = summary.get("abstention")
    if not abstention:
        return (
            '<section id="abstention"><h2>Abstention</h2>'
            '<p class="note">This task does not abstain: every row is answered.</p></section>'
        )
    coverage = abstention.get("coverage")
    answered = abstention.get("accuracy_answered") or {}
    abstained = abstention.get("accuracy_abstained") or {}
    body = [
        ("confidence threshold", threshold_text(abstention.get("threshold"))),
        ("fields", ", ".join(map(str, abstention.get("fields") or [])) or DASH),
        ("rows sent to review", abstention.get("review", DASH)),
        ("coverage (share answered)", DASH if coverage is None else percent(coverage, 1)),
        ("accuracy on answered rows", f"{with_interval(answered)}, n = {answered.get('n', DASH)}"),
        ("accuracy on abstained rows", f"{with_interval(abstained)}, n = {abstained.get('n', DASH)}"),
    ]
    return (
        '<section id="abstention"><h2>Abstention</h2>'
        '<p class="note">A row goes to review when the confidence of any listed field is below the threshold. '
        "Accuracy on abstained rows is how the model would have done on them; low is good.</p>"
        + table(["abstention", ""], body, numeric_from=2)
        + "</section>"
    )


def _review_section(summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    queue = [row for row in rows if row.get("status") == "review"]
    if not queue:
        return ""
    input_fields = list((summary.get("task") or {}).get("input_fields") or [])
    body = [review_row(row, input_fields) for row in queue[:LISTED_ROWS]]
    return (
        '<section id="review"><h2>Review queue</h2>'
        f'<p class="note">{len(queue)} row(s) abstained{listing_note(len(queue))}.</p>'
        + table(["id", "lang", "input", "model output", "confidence", "gold"], body, numeric_from=6)
        + "</section>"
    )


def review_row(row: Mapping[str, Any], input_fields: Sequence[str]) -> tuple[object, ...]:
    given = row.get("input") or {}
    ordered = {name: given[name] for name in input_fields if name in given} | dict(given)
    confidence = row.get("confidence") or {}
    return (
        Markup(f'<span class="mono">{esc(row.get("id", DASH))}</span>'),
        row.get("lang", DASH),
        lines(ordered, INPUT_CHARS),
        as_json(row.get("output")),
        lines({field: number(value, 2) for field, value in confidence.items()}),
        as_json(row.get("gold")),
    )


def listing_note(total: int) -> str:
    return f"; the first {LISTED_ROWS} are listed, the journal holds all" if total > LISTED_ROWS else ""


def _problems_section(rows: Sequence[Mapping[str, Any]]) -> str:
    problems = [row for row in rows if row.get("status") in ("invalid", "error")]
    if not problems:
        return ""
    body = [
        (
            Markup(f'<span class="mono">{esc(row.get("id", DASH))}</span>'),
            row.get("lang", DASH),
            row.get("status", DASH),
            row.get("reason") or DASH,
            Markup(f'<pre class="raw">{esc(truncate(str(row.get("raw") or ""), RAW_CHARS))}</pre>'),
        )
        for row in problems[:LISTED_ROWS]
    ]
    return (
        '<section id="errors"><h2>Errors and invalid rows</h2>'
        f'<p class="note">{len(problems)} row(s){listing_note(len(problems))}; raw output cut to '
        f"{RAW_CHARS} characters.</p>"
        + table(["id", "lang", "status", "reason", "raw output"], body, numeric_from=5)
        + "</section>"
    )


def _speed_section(summary: Mapping[str, Any]) -> str:
    speed = summary.get("speed") or {}
    if not speed:
        return ""
    peak = speed.get("peak_rss_bytes")
    body = [
        ("rows per minute", number(speed.get("rows_per_minute"), 1)),
        ("wall time", DASH if speed.get("wall_s") is None else f"{number(speed['wall_s'], 1)} s"),
        ("prompt tokens", tokens(speed.get("prompt_tokens"))),
        ("completion tokens", tokens(speed.get("completion_tokens"))),
        ("peak memory (RSS)", DASH if peak is None else format_bytes(peak)),
    ]
    return '<section id="speed"><h2>Speed</h2>' + table(["speed", ""], body) + "</section>"


def tokens(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else number(value)


def _footer(summary: Mapping[str, Any]) -> str:
    packages = summary.get("packages") or {}
    listed = ", ".join(f"{name} {version}" for name, version in packages.items()) or DASH
    task_sha = (summary.get("task") or {}).get("sha256")
    task_line = f" · task sha256 {esc(task_sha)}" if task_sha else ""
    return (
        f'<footer id="footer" class="note">uptake {esc(summary.get("uptake_version", DASH))}{task_line}'
        f" · packages: {esc(listed)}</footer>"
    )
