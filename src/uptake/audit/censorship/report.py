"""report.html: one self-contained page per run (inline SVG charts, inline CSS, nothing fetched).

Model output is untrusted: every piece of text from a run goes through `html.escape`, and no
model text reaches a chart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from uptake.audit.censorship import charts
from uptake.audit.censorship.labels import LABELS
from uptake.audit.censorship.probes import ProbeSet
from uptake.reports.html import STYLE as STYLE  # re-exported: compare.py uses these
from uptake.reports.html import esc as esc
from uptake.reports.html import interval as interval
from uptake.reports.html import page
from uptake.reports.html import percent as percent
from uptake.reports.html import signed as signed
from uptake.reports.html import table as table

EXAMPLES_PER_LABEL = 3
EXAMPLE_CHARS = 1500  # longer responses are cut in the page; results.jsonl keeps them whole


def render_report(summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], probe_set: ProbeSet) -> str:
    model = summary["model"]
    run = summary["run"]
    title = f"Censorship audit of {model['name']}"
    sections = [
        f"<h1>{esc(title)}</h1>",
        f'<p class="note">Run <span class="mono">{esc(run["id"])}</span>, status {esc(run["status"])}, '
        f"started {esc(run['created_at'])}; {summary['counts']['completed']} of {summary['counts']['planned']} "
        "generations.</p>",
        _headline_section(summary),
        _accuracy_section(summary),
        _label_mix_section(summary),
        _baselines_section(summary),
        _topics_section(summary),
        _coverage_section(summary),
        _consistency_section(summary),
        _examples_section(rows, probe_set),
        _provenance_section(summary),
    ]
    body = "\n".join(section for section in sections if section)
    return page(title, body)


def _headline_section(summary: Mapping[str, Any]) -> str:
    headline = summary["headline"]
    rows = [
        (
            gap["lang"],
            signed(gap["gap"]),
            f"{signed(gap['low'])} to {signed(gap['high'])}",
            f"{gap['mcnemar_p']:.3g}",
            interval(gap["target_non_answer"]),
            interval(gap["control_non_answer"]),
            gap["pairs"]["both"] + gap["pairs"]["target_only"] + gap["pairs"]["control_only"] + gap["pairs"]["neither"],
            gap["method"],
        )
        for gap in headline
    ]
    return (
        '<section id="headline"><h2>Censorship gap</h2>'
        '<p class="note">The gap is the share of PRC-sensitive questions the model did not answer (refused, '
        "deflected or answered with the state narrative) minus the share of their matched control questions "
        "(same kind of question about a subject that is not sensitive in China). Zero means no political "
        "censorship beyond the model's general reluctance; the interval is 95%.</p>"
        + table(
            ["language", "gap", "95% interval", "McNemar p", "targets not answered", "controls not answered",
             "pairs", "interval method"],
            rows,
        )
        + charts.gap_chart(headline)
        + "</section>"
    )


def _accuracy_section(summary: Mapping[str, Any]) -> str:
    cells = summary.get("accuracy") or []
    if not cells:
        return ""
    rows = [
        (
            cell["lang"],
            cell["arm"],
            cell["responses"],
            cell["answered"],
            interval(cell["accurate_of_answered"]) if cell["answered"] else "-",
            interval(cell["informative"]),
            "-" if cell["mean_fact_coverage_answered"] is None else percent(cell["mean_fact_coverage_answered"]),
        )
        for cell in cells
    ]
    threshold = percent(cells[0]["accurate_threshold"])
    return (
        '<section id="accuracy"><h2>Did it answer, and was the answer right?</h2>'
        '<p class="note">Answering is not informing: an answer counts as accurate when it mentions at least '
        f"{esc(threshold)} of the question's key facts. A model that answers sensitive questions with "
        "confabulations has many answered targets but few accurate ones; compare accurate targets with "
        "accurate controls before calling it uncensored and informative. 95% Wilson intervals.</p>"
        + table(
            ["language", "questions", "responses", "answered", "accurate of answered", "accurate of all",
             "mean fact coverage of answered"],
            rows,
            numeric_from=2,
        )
        + "</section>"
    )


def _label_mix_section(summary: Mapping[str, Any]) -> str:
    rates = summary["rates"]
    rows = [
        (rate["lang"], rate["arm"], rate["n"], *(interval(rate["labels"][label]) for label in LABELS),
         interval(rate["language_switch"]))
        for rate in rates
    ]
    return (
        '<section id="labels"><h2>Label mix, targets against controls</h2>'
        '<p class="note">Shares of each label with 95% Wilson intervals, for every language and kind of '
        "question.</p>"
        + charts.label_mix_chart(rates)
        + table(["language", "questions", "n", *(label.replace("_", " ") for label in LABELS), "language switch"],
                rows, numeric_from=2)
        + "</section>"
    )


def _baselines_section(summary: Mapping[str, Any]) -> str:
    rows = [
        (arm, record["lang"], record["n"], interval(record["refused"]), interval(record["non_answer"]))
        for arm in ("neutral", "harm")
        for record in summary["baselines"][arm]
    ]
    if not rows:
        return ""
    return (
        '<section id="baselines"><h2>Safety refusals, kept apart</h2>'
        '<p class="note">Neutral questions show how often the model refuses harmless questions; harmful requests '
        "show its safety refusals. Neither counts towards the censorship gap.</p>"
        + table(["questions", "language", "n", "refused", "not answered"], rows, numeric_from=2)
        + "</section>"
    )


def _topics_section(summary: Mapping[str, Any]) -> str:
    topics = summary["topics"]
    langs = summary["audit"]["langs"]
    if not topics:
        return ""
    rows = []
    for topic in topics:
        for result in topic["results"]:
            rows.append(
                (
                    topic["topic"],
                    topic["title"],
                    result["lang"],
                    _arm_cell(result.get("target")),
                    _arm_cell(result.get("control")),
                    "" if result["difference"] is None else signed(result["difference"]),
                )
            )
    return (
        '<section id="topics"><h2>Topics</h2>'
        '<p class="note">Non-answer rate per topic; darker is less answered.</p>'
        + charts.topic_heatmap(topics, langs)
        + table(["topic", "title", "language", "target", "control", "difference"], rows, numeric_from=3)
        + "</section>"
    )


def _arm_cell(arm: Mapping[str, Any] | None) -> str:
    if arm is None:
        return ""
    if arm["n"] == 1:
        label: str = next(label for label, count in arm["labels"].items() if count)
        return label.replace("_", " ")
    return f"{percent(arm['non_answer_rate'])} not answered of {arm['n']}"


def _coverage_section(summary: Mapping[str, Any]) -> str:
    cells = [cell for cell in summary["fact_coverage"] if cell["arm"] in ("target", "control")]
    if not cells:
        return ""
    totals: dict[tuple[str, str], list[float]] = {}
    for cell in cells:
        totals.setdefault((cell["lang"], cell["arm"]), []).append(cell["mean"])
    means = {key: sum(values) / len(values) for key, values in totals.items()}
    rows = [(cell["topic"], cell["lang"], cell["arm"], percent(cell["mean"]), cell["n"]) for cell in cells]
    return (
        '<section id="coverage"><h2>Fact coverage</h2>'
        '<p class="note">The share of each question\'s key facts a response mentions (synonyms in every '
        "language count), averaged over topics. A refusal covers none.</p>"
        + charts.coverage_chart(means, summary["audit"]["langs"])
        + table(["topic", "language", "questions", "mean coverage", "responses"], rows, numeric_from=3)
        + "</section>"
    )


def _consistency_section(summary: Mapping[str, Any]) -> str:
    consistency = summary.get("consistency")
    if not consistency:
        return ""
    rows = [(g["lang"], g["arm"], g["always"], g["sometimes"], g["never"]) for g in consistency["by_group"]]
    return (
        '<section id="consistency"><h2>Answer consistency</h2>'
        f'<p class="note">Each question was asked {esc(summary["audit"]["samples"])} times; how many questions '
        "were always, sometimes or never answered.</p>"
        + table(["language", "questions", "always", "sometimes", "never"], rows, numeric_from=2)
        + "</section>"
    )


def pick_examples(rows: Sequence[Mapping[str, Any]], per_label: int = EXAMPLES_PER_LABEL) -> dict[str, list[Any]]:
    """A few responses per label: targets first, one per topic, languages taken in turn."""
    arm_order = {"target": 0, "control": 1, "harm": 2, "neutral": 3}
    picked: dict[str, list[Any]] = {label: [] for label in LABELS}
    ordered = sorted(rows, key=lambda r: (arm_order.get(r["arm"], 9), r["sample"], r["probe_id"], r["lang"]))
    for label in LABELS:
        candidates = [row for row in ordered if row["label"] == label]
        langs = list(dict.fromkeys(row["lang"] for row in candidates))
        topics: set[str] = set()
        for turn in range(len(candidates)):
            if len(picked[label]) >= per_label or not langs:
                break
            lang = langs[turn % len(langs)]
            row = next((r for r in candidates if r["lang"] == lang and r["topic"] not in topics), None)
            if row is not None:
                topics.add(row["topic"])
                picked[label].append(row)
    return picked


def _examples_section(rows: Sequence[Mapping[str, Any]], probe_set: ProbeSet) -> str:
    parts = [
        '<section id="examples"><h2>Example responses</h2>'
        '<p class="note">Shown as the model wrote them. Chinese responses are not translated; the English '
        "text of the question is given beside them.</p>"
    ]
    for label, examples in pick_examples(rows).items():
        parts.append(f"<h3>{esc(label.replace('_', ' '))}</h3>")
        if not examples:
            parts.append('<p class="note">No response got this label.</p>')
        for row in examples:
            parts.append(_example(row, probe_set))
    parts.append("</section>")
    return "".join(parts)


def _example(row: Mapping[str, Any], probe_set: ProbeSet) -> str:
    probe = probe_set.find(str(row["probe_id"]))
    response = str(row["response"])
    cut = len(response) > EXAMPLE_CHARS
    shown = response[:EXAMPLE_CHARS] + (" […]" if cut else "")
    lines = [
        f'<div class="example"><div><span class="label">{esc(row["label"].replace("_", " "))}</span> '
        f"({esc(row['confidence'])}) · {esc(row['probe_id'])} · {esc(row['lang'])} · sample {esc(row['sample'])}</div>",
        f"<div>Question: {esc(row['prompt'])}</div>",
    ]
    if row["lang"] != "en" and probe is not None:
        lines.append(f'<div class="note">In English: {esc(probe.prompt("en"))}</div>')
    lines.append(f"<pre>{esc(shown)}</pre>")
    notes = []
    if str(row.get("response_lang", "")).startswith("zh"):
        notes.append("response in Chinese, untranslated")
    if row.get("lang_switch"):
        notes.append(f"answered in {row.get('response_lang')} (language switch)")
    if row.get("facts_total"):
        notes.append(f"key facts covered: {len(row.get('facts_covered') or [])} of {row['facts_total']}")
    if row.get("finish_reason") == "length":
        notes.append("cut at the token limit")
    if notes:
        lines.append(f'<div class="note">{esc("; ".join(notes))}</div>')
    lines.append("</div>")
    return "".join(lines)


def _provenance_section(summary: Mapping[str, Any]) -> str:
    reproduce = summary["reproduce"]
    model = summary["model"]
    model_rows = [
        ("name", model["name"]),
        ("sha256", model["sha256"]),
        ("quantization", model["quantization"]),
        ("architecture", model["architecture"]),
        ("parameters", model["parameters"]),
        ("chat template sha256 (file)", model["chat_template_sha256"]),
        ("chat template sha256 (used)", reproduce["model"]["chat_template_used_sha256"]),
        ("trust", model["trust"]),
    ]
    settings_rows = [
        ("command", reproduce["command"]),
        ("uptake", reproduce["uptake_version"]),
        ("probe set", reproduce["probe_set"]["version"]),
        ("sampling", json.dumps(reproduce["sampling"], ensure_ascii=False)),
        ("engine", json.dumps(reproduce["engine"], ensure_ascii=False)),
        ("classifier", json.dumps(reproduce["classifier"], ensure_ascii=False)),
        ("statistics", json.dumps(reproduce["statistics"], ensure_ascii=False)),
        ("packages", ", ".join(f"{name} {version}" for name, version in reproduce["packages"].items())),
        ("resumed", str(len(reproduce["resumes"])) + " time(s)"),
    ]
    return (
        '<section id="provenance"><h2>Model and reproduction</h2>'
        + table(["model", ""], model_rows, numeric_from=9)
        + table(["setting", ""], settings_rows, numeric_from=9)
        + '<p class="note">To reproduce: install the package versions above, check the model file has this sha256, '
        "and run the command. The full record is in summary.json under \"reproduce\".</p>"
        + "</section>"
    )
