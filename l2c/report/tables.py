"""HTML tables for the report: typed columns, locale-formatted cells, escaped text, sortable headings.

A :class:`Column` says how to show one column (count, share, duration, ...);
:func:`render_table` writes the ``<table>`` with a ``data-sort`` value on every
cell so the page's small sorting script orders numbers as numbers. Columns not
present in a frame are skipped, so a section keeps working while an analysis
table gains or loses columns.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Any

import polars as pl

from l2c.report.i18n import Formatter

#: Text cells up to this many characters never wrap (names, stages, picklist values).
SHORT_TEXT = 28
#: Items of a list cell shown (the rest are counted, and listed in the cell's tooltip).
LIST_ITEMS_SHOWN = 1


@dataclass(frozen=True)
class Column:
    """How to show a column: ``kind`` is one of text, count, number, share, ratio, days, duration,
    pvalue, bool, list, date, sequence."""

    name: str
    kind: str = "text"
    label: str | None = None  # an explicit heading; else Formatter.column(name)


def infer_kind(name: str, dtype: pl.DataType, duration_columns: frozenset[str] = frozenset()) -> str:
    """A sensible display kind for a column nobody described."""
    if name in duration_columns:
        return "duration"
    if dtype == pl.Boolean:
        return "bool"
    if isinstance(dtype, pl.List):
        return "list"
    if dtype.is_temporal():
        return "date"
    if dtype.is_integer():
        return "count"
    if dtype.is_float():
        if name.endswith("_days") or name.startswith("days_"):
            return "days"
        if name.startswith("p_") or name.endswith("p_value"):
            return "pvalue"
        if "rate" in name or "share" in name:
            return "share"
        if name in ("lift",) or name.endswith("_vs_team") or name.endswith("_ratio"):
            return "ratio"
        return "number"
    return "text"


def format_cell(value: Any, kind: str, fmt: Formatter) -> tuple[str, str]:
    """(display text, sort key) of one value; the display text is not escaped yet."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return fmt.none, ""
    if kind == "count":
        return fmt.integer(value), str(value)
    if kind == "number":
        return fmt.number(value, 2 if abs(value) < 100 else 0), str(value)
    if kind == "share":
        return fmt.percent(value), str(value)
    if kind == "ratio":
        return fmt.ratio(value), str(value)
    if kind == "days":
        return fmt.days(value), str(value)
    if kind == "duration":
        return fmt.duration(value), str(value)
    if kind == "pvalue":
        return (f"< {fmt.number(0.001, 3)}" if value < 0.001 else fmt.number(value, 3)), str(value)
    if kind == "bool":
        return fmt.yes_no(bool(value)), "1" if value else "0"
    if kind == "sequence":
        text = " → ".join(str(v) for v in value)
        return text, text
    if kind == "list":  # a list, or the marts' text joined with ", "; long lists show their first items
        items = value.split(", ") if isinstance(value, str) else [str(v) for v in value]
        more = len(items) - LIST_ITEMS_SHOWN
        text = ", ".join(items[:LIST_ITEMS_SHOWN]) + (f" (+{more})" if more > 0 else "")
        return text, ", ".join(items)
    if kind == "date":
        if isinstance(value, datetime):
            return fmt.datetime(value), value.isoformat()
        if isinstance(value, date):
            return fmt.date(value), value.isoformat()
    return str(value), str(value)


def resolve_columns(frame: pl.DataFrame, wanted: Sequence[Column] | None,
                    duration_columns: frozenset[str] = frozenset()) -> list[Column]:
    """The wanted columns that exist (durations stored as INTERVAL are shown as durations), or all columns."""
    if wanted is None:
        return [Column(c, infer_kind(c, frame.schema[c], duration_columns)) for c in frame.columns]
    resolved = []
    for column in wanted:
        if column.name not in frame.columns:
            continue
        if column.name in duration_columns and column.kind in ("number", "text"):
            column = Column(column.name, "duration", column.label)
        resolved.append(column)
    return resolved


def render_table(
    frame: pl.DataFrame,
    columns: Sequence[Column] | None,
    fmt: Formatter,
    *,
    duration_columns: frozenset[str] = frozenset(),
    max_rows: int | None = None,
    row_class: Callable[[dict[str, Any]], str | None] | None = None,
    caption: str | None = None,
    bars: dict[str, float] | None = None,
    table_id: str | None = None,
) -> str:
    """A sortable table of ``frame``. ``bars`` maps a share column to its maximum to draw in-cell bars."""
    if frame.height == 0:
        return f'<p class="empty">{escape(fmt.t("no_rows"))}</p>'
    shown = resolve_columns(frame, columns, duration_columns)
    total = frame.height
    rows = frame.head(max_rows) if max_rows else frame
    out = [f'<div class="table-wrap"><table class="sortable"{_id(table_id)}>']
    if caption:
        out.append(f"<caption>{escape(caption)}</caption>")
    out.append("<thead><tr>")
    for column in shown:
        label = column.label or fmt.column(column.name)
        numeric = column.kind not in ("text", "list", "sequence", "bool", "date")
        out.append(f'<th scope="col" tabindex="0"{" class=num" if numeric else ""} data-column="'
                   f'{escape(column.name)}">{escape(label)}</th>')
    out.append("</tr></thead><tbody>")
    for record in rows.iter_rows(named=True):
        css = row_class(record) if row_class else None
        out.append(f'<tr class="{escape(css)}">' if css else "<tr>")
        for column in shown:
            value = record[column.name]
            text, key = format_cell(value, column.kind, fmt)
            numeric = column.kind not in ("text", "list", "sequence", "bool", "date")
            cell = escape(text)
            if bars and column.name in bars and value is not None and bars[column.name]:
                cell = mini_bar(float(value) / bars[column.name]) + cell
            css = (" class=num" if numeric else " class=list" if column.kind == "list"
                   else " class=short" if len(text) <= SHORT_TEXT else "")
            title = f' title="{escape(key)}"' if column.kind == "list" and key != text else ""
            out.append(f'<td{css}{title} data-sort="{escape(key)}">{cell}</td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    if max_rows and total > max_rows:
        out.append(f'<p class="note">{escape(fmt.t("more_rows", shown=fmt.integer(max_rows), total=fmt.integer(total)))}</p>')
    return "".join(out)


def mini_bar(fraction: float) -> str:
    """A small in-cell bar, ``fraction`` (0..1) of its track filled."""
    width = max(0.0, min(100.0, 100.0 * fraction))
    return f'<span class="mini-bar" aria-hidden="true"><span style="width:{width:.1f}%"></span></span>'


def _id(table_id: str | None) -> str:
    return f' id="{escape(table_id)}"' if table_id else ""
