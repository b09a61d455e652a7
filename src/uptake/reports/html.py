"""Helpers for self-contained HTML pages: escaping, number formats, tables and the page shell.

Everything here escapes what it is given with `html.escape`, except `Markup`, which marks HTML a caller
built itself from escaped pieces. Nothing here fetches anything: no URLs, no scripts, CSS inline.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 70rem;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.55rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
svg { max-width: 100%; height: auto; display: block; margin: 0.6rem 0; }
.note { color: #555; font-size: 0.9rem; } .mono { font-family: ui-monospace, monospace; font-size: 0.85rem; }
.example { border: 1px solid #ddd; border-radius: 4px; padding: 0.6rem 0.8rem; margin: 0.8rem 0; }
.example pre { white-space: pre-wrap; word-break: break-word; background: #fafafa; padding: 0.5rem;
               margin: 0.3rem 0; font-family: inherit; }
.label { font-weight: 600; }
"""


class Markup(str):
    """HTML built by the caller from escaped pieces: `table` puts it in a cell as it is."""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def percent(value: float, decimals: int = 0) -> str:
    return f"{value * 100:.{decimals}f}%"


def interval(record: Mapping[str, Any]) -> str:
    """A rate record ({"rate", "low", "high"}) as "40% (31–50%)"."""
    return f"{percent(record['rate'])} ({percent(record['low'])}–{percent(record['high'])})"


def signed(value: float) -> str:
    return f"{value * 100:+.0f} pp"


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters of `text`, with " […]" where it was cut."""
    return text if len(text) <= limit else text[:limit] + " […]"


def format_bytes(size: float) -> str:
    """A byte count in binary units: 812000000 -> "774.4 MiB"."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    value, index = float(size), 0
    while abs(value) >= 1024 and index < len(units) - 1:
        value, index = value / 1024, index + 1
    return f"{value:.0f} B" if index == 0 else f"{value:.1f} {units[index]}"


def cell(value: object, numeric: bool = False) -> str:
    """One <td>: escaped text, or `Markup` as it is."""
    content = value if isinstance(value, Markup) else esc(value)
    return f'<td class="num">{content}</td>' if numeric else f"<td>{content}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], numeric_from: int = 1) -> str:
    """A table with a header row; columns from `numeric_from` on are right-aligned numbers."""
    head = "".join(f"<th>{esc(header)}</th>" for header in headers)
    body = "".join(
        "<tr>" + "".join(cell(value, index >= numeric_from) for index, value in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, body: str, style: str = STYLE) -> str:
    """The whole document: one page, its CSS inline, nothing loaded from anywhere."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{style}</style></head>\n<body>\n{body}\n</body></html>\n"
    )
