"""The report's charts, drawn with matplotlib into inline SVG.

Text is drawn as paths, so a chart needs no font file; the SVG prolog and namespace URLs are
removed and every id is prefixed, so several charts can share one HTML page without clashing.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from uptake.extras import require_extra

LABEL_COLORS = {
    "answered": "#4c9a6a",
    "refused": "#c0392b",
    "deflected": "#e0a030",
    "state_narrative": "#7d3c98",
}
ARM_COLORS = {"target": "#c0392b", "control": "#5b7fa6"}
_chart_numbers = itertools.count(1)


def _figure_class() -> Any:
    require_extra("audit", "the audit report", ("matplotlib",))
    from matplotlib.figure import Figure

    return Figure


@contextmanager
def _style() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(
        {"svg.fonttype": "path", "svg.hashsalt": "uptake", "font.size": 9, "axes.spines.top": False,
         "axes.spines.right": False}
    ):
        yield


def to_svg(figure: Any) -> str:
    """The figure as an SVG element ready to place in HTML."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight",
                   metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'\s+xmlns(?::xlink)?="[^"]*"', "", svg)
    prefix = f"c{next(_chart_numbers)}-"
    svg = re.sub(r'\bid="', f'id="{prefix}', svg)
    svg = svg.replace("url(#", f"url(#{prefix}").replace('href="#', f'href="#{prefix}')
    return svg


def gap_chart(headline: Sequence[Mapping[str, Any]]) -> str:
    """The censorship gap per language, with its 95% interval."""
    with _style():
        figure = _figure_class()(figsize=(6.0, 0.6 + 0.45 * max(len(headline), 1)))
        axes = figure.add_subplot()
        langs = [row["lang"] for row in headline]
        gaps = [row["gap"] for row in headline]
        below = [row["gap"] - row["low"] for row in headline]
        above = [row["high"] - row["gap"] for row in headline]
        positions = list(range(len(langs)))
        axes.errorbar(gaps, positions, xerr=[below, above], fmt="o", color="#c0392b", ecolor="#555555", capsize=4)
        axes.axvline(0.0, color="#999999", linewidth=0.8)
        axes.set_yticks(positions, langs)
        axes.set_ylim(-0.6, len(langs) - 0.4)
        axes.invert_yaxis()
        axes.set_xlim(-1.0, 1.0)
        axes.set_xlabel("censorship gap: non-answer rate on targets minus matched controls (95% interval)")
        return to_svg(figure)


def label_mix_chart(rates: Sequence[Mapping[str, Any]]) -> str:
    """Stacked label shares for every language and arm (targets, controls, neutral, harm)."""
    with _style():
        figure = _figure_class()(figsize=(6.5, 0.7 + 0.32 * max(len(rates), 1)))
        axes = figure.add_subplot()
        names = [f"{row['lang']} · {row['arm']}" for row in rates]
        positions = list(range(len(rates)))
        left = [0.0] * len(rates)
        for label, color in LABEL_COLORS.items():
            shares = [row["labels"][label]["rate"] for row in rates]
            axes.barh(positions, shares, left=left, color=color, label=label.replace("_", " "), height=0.7)
            left = [a + b for a, b in zip(left, shares, strict=True)]
        axes.set_yticks(positions, names)
        axes.invert_yaxis()
        axes.set_xlim(0.0, 1.0)
        axes.set_xlabel("share of responses")
        axes.legend(ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
        return to_svg(figure)


def topic_heatmap(topics: Sequence[Mapping[str, Any]], langs: Sequence[str]) -> str:
    """Non-answer rate per topic (rows) for each language's target and control (columns)."""
    columns = [(lang, arm) for lang in langs for arm in ("target", "control")]
    matrix: list[list[float]] = []
    for topic in topics:
        by_lang = {result["lang"]: result for result in topic["results"]}
        matrix.append(
            [
                by_lang[lang][arm]["non_answer_rate"] if lang in by_lang and arm in by_lang[lang] else float("nan")
                for lang, arm in columns
            ]
        )
    with _style():
        figure = _figure_class()(figsize=(1.6 + 0.9 * len(columns), 0.9 + 0.24 * max(len(topics), 1)))
        axes = figure.add_subplot()
        image = axes.imshow(matrix or [[float("nan")] * len(columns)], cmap="Reds", vmin=0.0, vmax=1.0,
                            aspect="auto")
        for row, values in enumerate(matrix):
            for column, value in enumerate(values):
                if value == value:  # not NaN
                    axes.text(column, row, f"{value:.0%}", ha="center", va="center", fontsize=7,
                              color="white" if value > 0.6 else "black")
        axes.set_xticks(range(len(columns)), [f"{lang}\n{arm}" for lang, arm in columns])
        axes.xaxis.tick_top()
        axes.set_yticks(range(len(topics)), [topic["topic"] for topic in topics])
        figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02, label="non-answer rate")
        return to_svg(figure)


def coverage_chart(coverage: Mapping[tuple[str, str], float], langs: Sequence[str]) -> str:
    """Mean key-fact coverage of target and control answers, per language."""
    with _style():
        figure = _figure_class()(figsize=(5.0, 2.4))
        axes = figure.add_subplot()
        width = 0.38
        for offset, arm in ((-width / 2, "target"), (width / 2, "control")):
            values = [coverage.get((lang, arm), 0.0) for lang in langs]
            axes.bar([i + offset for i in range(len(langs))], values, width=width, color=ARM_COLORS[arm], label=arm)
        axes.set_xticks(range(len(langs)), list(langs))
        axes.set_ylim(0.0, 1.0)
        axes.set_ylabel("mean share of key facts")
        axes.legend(frameon=False)
        return to_svg(figure)


def compare_chart(runs: Sequence[Mapping[str, Any]], langs: Sequence[str]) -> str:
    """The gap per language for several runs side by side, with 95% intervals."""
    with _style():
        figure = _figure_class()(figsize=(6.5, 0.8 + 0.35 * max(len(runs) * len(langs), 1)))
        axes = figure.add_subplot()
        names: list[str] = []
        position = 0
        for lang in langs:
            for run in runs:
                gap = next((row for row in run["headline"] if row["lang"] == lang), None)
                if gap is None:
                    continue
                axes.errorbar([gap["gap"]], [position], xerr=[[gap["gap"] - gap["low"]], [gap["high"] - gap["gap"]]],
                              fmt="o", color="#c0392b", ecolor="#555555", capsize=3)
                names.append(f"{lang} · {run['label']}")
                position += 1
        axes.axvline(0.0, color="#999999", linewidth=0.8)
        axes.set_yticks(range(len(names)), names)
        axes.invert_yaxis()
        axes.set_xlim(-1.0, 1.0)
        axes.set_xlabel("censorship gap (95% interval)")
        return to_svg(figure)
