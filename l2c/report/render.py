"""The Lead-to-Cash report: one self-contained HTML file (plus the process map as SVG) from the marts.

:func:`write_report` reads the DuckDB file read-only (:mod:`l2c.report.data`),
builds every section and writes ``index.html`` (all styles and the tiny
table-sorting script inline; no fonts, images or scripts from anywhere else,
enforced by a Content-Security-Policy) and ``process_map.svg`` for Dagster
metadata and slides. Every text that comes from the data goes through
:func:`html.escape`; the script only reorders existing table rows.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import polars as pl

# The marts name the process map's artificial start and end like the analysis library does, and
# payment statuses are shown in the library's order.
from analysis import END, START
from analysis.payments import AGING_BUCKETS
from l2c.config import ANALYSIS_SCHEMA
from l2c.report import charts
from l2c.report.data import ANALYSIS_TABLES, ReportData, load_report_data
from l2c.report.i18n import BAND_WORDS, DEFAULT_LANGUAGE, VALUE_LABELS, Formatter, check_language
from l2c.report.png import write_process_map_png
from l2c.report.process_map import MapEdge, MapNode, main_paths, render_process_map
from l2c.report.tables import Column, format_cell, mini_bar, render_table

REPORT_FILE = "index.html"
#: How the analysis marts join an activity sequence into text (``analysis.marts.SEQUENCE_SEPARATOR``).
SEQUENCE_SEPARATOR = " → "
PROCESS_MAP_FILE = "process_map.svg"
#: Written only when Pillow is installed (it comes with the pm4py extra).
PROCESS_MAP_PNG_FILE = "process_map.png"


TOP_VARIANTS = 10
TOP_ROWS = 15


def write_report(db_path: str | os.PathLike, out_dir: str | os.PathLike, language: str = DEFAULT_LANGUAGE) -> Path:
    """Write ``index.html``, ``process_map.svg`` (and ``process_map.png`` with Pillow) into ``out_dir``.

    Returns the HTML file's path. The two pictures show the main paths of the
    process map in the frequency view.

    The DuckDB file is opened read-only, so the report can be written while a
    BI tool reads the marts (but not while a pipeline run writes them).

    >>> write_report("data/warehouse.duckdb", "data/report", language="it")  # doctest: +SKIP
    PosixPath('data/report/index.html')
    """
    check_language(language)
    data = load_report_data(db_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fmt = Formatter(language)
    nodes, edges = process_map_graph(data)
    if edges:  # the main paths, frequency view: the picture for Dagster metadata, slides and chat
        main = main_paths(edges, START)
        (out / PROCESS_MAP_FILE).write_text(
            render_process_map(nodes, main, fmt, start=START, end=END, views=("frequency",), standalone=True),
            encoding="utf-8",
        )
        write_process_map_png(nodes, main, fmt, out / PROCESS_MAP_PNG_FILE, start=START, end=END)
    html_path = out / REPORT_FILE
    html_path.write_text(render_report(data, fmt, nodes, edges), encoding="utf-8")
    return html_path


# --------------------------------------------------------------------------- page


_SCRIPT = """
(function () {
  function key(row, index) { return row.cells[index].getAttribute('data-sort'); }
  function sortBy(th) {
    var table = th.closest('table'), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var ascending = th.getAttribute('aria-sort') !== 'ascending';
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, index), y = key(b, index), nx = parseFloat(x), ny = parseFloat(y), c;
      if (x === '' || y === '') { c = (x === '') - (y === ''); return c; }
      c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return ascending ? c : -c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll('table.sortable th').forEach(function (th) {
    th.addEventListener('click', function () { sortBy(th); });
    th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(th); } });
  });
})();
"""

_STYLE = """
:root { --ink: #1b2638; --muted: #5b6578; --line: #dfe4ec; --accent: #2c4f86; --bg: #f6f8fb; --bad: #b2182b; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); background: var(--bg); }
header.top { background: #1d3f72; color: #fff; padding: 28px 40px 22px; }
header.top h1 { margin: 0 0 4px; font-size: 26px; }
header.top p { margin: 2px 0; color: #d6e0f0; }
nav.toc { background: #fff; border-bottom: 1px solid var(--line); padding: 8px 40px; position: sticky; top: 0; z-index: 2; }
nav.toc a { color: var(--accent); margin-right: 16px; text-decoration: none; font-size: 14px; white-space: nowrap; }
nav.toc a:hover { text-decoration: underline; }
main { max-width: 1400px; margin: 0 auto; padding: 12px 24px 60px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 18px 24px 22px; margin: 18px 0; }
section h2 { margin: 0 0 6px; font-size: 20px; }
section h3 { margin: 18px 0 6px; font-size: 16px; }
p.intro { margin: 0 0 12px; color: var(--muted); }
p.note, p.empty, p.missing { color: var(--muted); font-size: 13px; }
p.missing { background: #fff8e6; border: 1px solid #f0dca8; padding: 8px 12px; border-radius: 6px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 12px; }
.kpi { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: #fbfcfe; }
.kpi .label { font-size: 13px; color: var(--muted); }
.kpi .value { font-size: 24px; font-weight: 650; color: var(--accent); margin: 2px 0; white-space: nowrap; }
.kpi .help { font-size: 12px; color: var(--muted); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin: 6px 0; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #f1f4f9; cursor: pointer; user-select: none; white-space: nowrap; position: relative; }
th[aria-sort=ascending]::after { content: " ▲"; font-size: 10px; }
th[aria-sort=descending]::after { content: " ▼"; font-size: 10px; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num, td.list, td.short { white-space: nowrap; }
.mini-bar { display: inline-block; width: 48px; height: 8px; background: #e8edf5; margin-right: 6px;
            vertical-align: middle; border-radius: 2px; overflow: hidden; }
.mini-bar span { display: block; height: 100%; background: #6f8fbf; }
tr.outlier td { background: #fff4f2; }
tr.flagged td:first-child { border-left: 3px solid var(--bad); }
details { margin: 8px 0; }
details summary { cursor: pointer; color: var(--accent); font-size: 14px; }
svg.chart { width: 100%; max-width: 760px; height: auto; display: block; margin: 6px 0; }
.sequence { font-size: 12.5px; }
.sequence .step { display: inline-block; background: #eef3fa; border: 1px solid #d3deee; border-radius: 4px;
                  padding: 0 5px; margin: 1px 0; }
.sequence .arrow { color: var(--muted); margin: 0 2px; }
.pm-controls { display: flex; gap: 6px; align-items: center; margin: 8px 0; flex-wrap: wrap; }
.pm-controls input { position: absolute; opacity: 0; pointer-events: none; }
.pm-controls label { border: 1px solid var(--accent); color: var(--accent); padding: 4px 14px; border-radius: 16px;
                     cursor: pointer; font-size: 14px; }
.pm-controls .spacer { width: 18px; }
#pm-frequency:checked ~ .pm-controls label[for=pm-frequency],
#pm-performance:checked ~ .pm-controls label[for=pm-performance],
#pm-main:checked ~ .pm-controls label[for=pm-main],
#pm-all:checked ~ .pm-controls label[for=pm-all] { background: var(--accent); color: #fff; }
#pm-frequency:focus-visible ~ .pm-controls label[for=pm-frequency],
#pm-performance:focus-visible ~ .pm-controls label[for=pm-performance],
#pm-main:focus-visible ~ .pm-controls label[for=pm-main],
#pm-all:focus-visible ~ .pm-controls label[for=pm-all] { outline: 2px solid #f0a020; }
#pm-main:checked ~ .pm-detail-all, #pm-all:checked ~ .pm-detail-main { display: none; }
.view-radio { position: absolute; opacity: 0; pointer-events: none; }
.pm-canvas { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
.pm-canvas svg { display: block; margin: 0 auto; }
.legend { font-size: 13px; color: var(--muted); }
.view-performance, .legend .performance { display: none; }
#pm-performance:checked ~ .pm-canvas .view-frequency,
#pm-performance:checked ~ .legend .frequency { display: none; }
#pm-performance:checked ~ .pm-canvas .view-performance { display: inline; }
#pm-performance:checked ~ .legend .performance { display: inline; }
.legend .dash { display: inline-block; width: 28px; border-top: 2px dashed #6f8fbf; vertical-align: middle; margin: 0 4px 0 12px; }
.outcome { margin-top: 10px; }
.flag { display: inline-block; font-size: 11.5px; background: #fde8e6; color: var(--bad); border-radius: 3px; padding: 0 5px; margin: 1px 2px 1px 0; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 20px; }
@media print { nav.toc { position: static; } .pm-canvas { overflow: visible; } }
"""


def render_report(data: ReportData, fmt: Formatter, nodes: list[MapNode] | None = None,
                  edges: list[MapEdge] | None = None) -> str:
    """The whole report as one HTML document."""
    if nodes is None or edges is None:
        nodes, edges = process_map_graph(data)
    sections = [
        ("kpis", fmt.t("kpis"), _kpis_section(data, fmt)),
        ("process-map", fmt.t("process_map"), _process_map_section(nodes, edges, fmt)),
        ("throughput", fmt.t("throughput"), _throughput_section(data, fmt)),
        ("variants", fmt.t("variants"), _variants_section(data, fmt)),
        ("bottlenecks", fmt.t("bottlenecks"), _bottlenecks_section(data, fmt)),
        ("rework", fmt.t("rework"), _rework_section(data, fmt)),
        ("conformance", fmt.t("conformance"), _conformance_section(data, fmt)),
        ("root-causes", fmt.t("root_causes"), _root_causes_section(data, fmt)),
        ("reps", fmt.t("reps"), _reps_section(data, fmt)),
        ("discounts", fmt.t("discounts"), _discounts_section(data, fmt)),
        ("lead-funnel", fmt.t("lead_funnel"), _lead_funnel_section(data, fmt)),
        ("days-to-pay", fmt.t("days_to_pay"), _days_to_pay_section(data, fmt)),
    ]
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
    csp = (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
           f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'")
    generated = fmt.datetime(datetime.now(UTC).replace(microsecond=0)) + " UTC"
    period = ""
    if data.first_event and data.last_event:
        period = fmt.t("data_period", first=fmt.date(data.first_event), last=fmt.date(data.last_event))
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(fmt.language)}"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(csp, quote=False)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(fmt.t('title'))}</title><style>{_STYLE}</style></head><body>",
        f'<header class="top"><h1>{escape(fmt.t("title"))}</h1><p>{escape(fmt.t("subtitle"))}</p>',
        f'<p class="meta">{escape(period)}</p>' if period else "",
        f'<p class="meta">{escape(fmt.t("generated", when=generated, db=data.db_path.name))}</p></header>',
        f'<nav class="toc" aria-label="{escape(fmt.t("contents"))}">',
        " ".join(f'<a href="#{sid}">{escape(title)}</a>' for sid, title, _ in sections),
        "</nav><main>",
    ]
    for sid, title, body in sections:
        parts.append(f'<section id="{sid}"><h2>{escape(title)}</h2>{body}</section>')
    parts.append(f"</main><footer>l2c · {escape(fmt.t('title'))}</footer>")
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "".join(parts)


def _missing(fmt: Formatter, key: str) -> str:
    """The note shown instead of a section whose analysis mart (``ANALYSIS_TABLES[key]``) is missing."""
    what = f"{ANALYSIS_SCHEMA}.{ANALYSIS_TABLES[key]}"
    return f'<p class="missing">{escape(fmt.t("not_available", what=what))}</p>'


def _intro(fmt: Formatter, key: str) -> str:
    return f'<p class="intro">{escape(fmt.t(key))}</p>'


def _numbers(fmt: Formatter, table_html: str) -> str:
    return f"<details><summary>{escape(fmt.t('numbers'))}</summary>{table_html}</details>"


def _translated(column: pl.Expr, fmt: Formatter) -> pl.Expr:
    """The analysis vocabulary in a text column (payment statuses, flags, bands, groups) in the report's
    language; see :meth:`Formatter.value`. Lists are translated item by item."""
    labels = VALUE_LABELS.get(fmt.language, {})
    translated = column.replace(labels) if labels else column
    for english, local in BAND_WORDS.get(fmt.language, ()):
        translated = translated.str.replace(f"^{english}(\\d)", f"{local}${{1}}")
    return translated


def _translated_list(frame: pl.DataFrame, name: str, fmt: Formatter) -> pl.Expr:
    """A list column (or the marts' ", "-joined text) with each item translated, joined with ", "."""
    items = pl.col(name) if isinstance(frame.schema[name], pl.List) else pl.col(name).str.split(", ")
    return items.list.eval(_translated(pl.element(), fmt)).list.join(", ").alias(name)


def _days_label(fmt: Formatter) -> Callable[[float | None], str]:
    return lambda v: fmt.number(v, 0 if v is None or abs(v) >= 10 or float(v).is_integer() else 1)


# --------------------------------------------------------------------------- KPIs


def kpi_display(kind: str, value: float | int | None, fmt: Formatter) -> str:
    """How a key figure is shown: the test of the report checks this text against the marts."""
    if kind == "count":
        return fmt.integer(value)
    if kind == "share":
        return fmt.percent(value)
    return fmt.days(value)


def _kpis_section(data: ReportData, fmt: Formatter) -> str:
    cards = []
    for kpi in data.kpis:
        raw = "" if kpi.value is None else repr(float(kpi.value)) if kpi.kind != "count" else str(int(kpi.value))
        cards.append(
            f'<div class="kpi" data-kpi="{escape(kpi.key)}" data-value="{escape(raw)}" title="{escape(kpi.definition)}">'
            f'<div class="label">{escape(fmt.t("kpi_" + kpi.key))}</div>'
            f'<div class="value">{escape(kpi_display(kpi.kind, kpi.value, fmt))}</div>'
            f'<div class="help">{escape(fmt.t("kpi_" + kpi.key + "_help"))}</div></div>'
        )
    return f'<div class="kpis">{"".join(cards)}</div>'


# --------------------------------------------------------------------------- process map


def process_map_graph(data: ReportData) -> tuple[list[MapNode], list[MapEdge]]:
    """Nodes and edges of the process map: edges from ``l2c_analysis.process_map_edges``, activity
    counts and mean positions from the event log."""
    table = data.table("process_map")
    if table is None or table.frame.height == 0:
        return [], []
    frame = table.frame
    median = _first_column(frame, "median_days", "median")
    mean = _first_column(frame, "mean_days", "mean")
    edges = [
        MapEdge(
            source=str(r["source"]), target=str(r["target"]), frequency=int(r["frequency"]),
            cases=int(r.get("cases") or 0),
            median_wait_days=r[median] if median else None, mean_wait_days=r[mean] if mean else None,
        )
        for r in frame.iter_rows(named=True)
    ]
    names = {e.source for e in edges} | {e.target for e in edges}
    incoming: dict[str, int] = {}
    for e in edges:  # every event has exactly one incoming edge: from START or from its predecessor
        incoming[e.target] = incoming.get(e.target, 0) + e.frequency
    nodes = []
    for name in sorted(names):
        stats = data.activities.get(name)
        position = -1.0 if name == START else 1e9 if name == END else stats.mean_position if stats else 1e6
        nodes.append(MapNode(activity=name, frequency=stats.frequency if stats else incoming.get(name, 0),
                             cases=stats.cases if stats else 0, mean_position=position))
    return nodes, edges


def _first_column(frame: pl.DataFrame, *names: str) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def _process_map_section(nodes: list[MapNode], edges: list[MapEdge], fmt: Formatter) -> str:
    if not edges:
        return _missing(fmt, "process_map")
    main = main_paths(edges, START)
    main_svg = render_process_map(nodes, main, fmt, start=START, end=END)
    all_svg = render_process_map(nodes, edges, fmt, start=START, end=END)
    labels = {START: fmt.t("start"), END: fmt.t("end")}
    edge_frame = pl.DataFrame(
        {
            "source": [labels.get(e.source, e.source) for e in edges],
            "target": [labels.get(e.target, e.target) for e in edges],
            "frequency": [e.frequency for e in edges],
            "cases": [e.cases for e in edges],
            "median_wait": [e.median_wait_days for e in edges],
            "mean_wait": [e.mean_wait_days for e in edges],
        },
        schema={"source": pl.String, "target": pl.String, "frequency": pl.Int64, "cases": pl.Int64,
                "median_wait": pl.Float64, "mean_wait": pl.Float64},
    )
    table = render_table(edge_frame, [
        Column("source"), Column("target"), Column("frequency", "count"), Column("cases", "count"),
        Column("median_wait", "duration"), Column("mean_wait", "duration"),
    ], fmt, table_id="process-map-edges")
    return (
        _intro(fmt, "process_map_intro")
        + '<input type="radio" class="view-radio" name="pm-view" id="pm-frequency" checked>'
        + '<input type="radio" class="view-radio" name="pm-view" id="pm-performance">'
        + '<input type="radio" class="view-radio" name="pm-detail" id="pm-main" checked>'
        + '<input type="radio" class="view-radio" name="pm-detail" id="pm-all">'
        + '<div class="pm-controls">'
        + f'<label for="pm-frequency">{escape(fmt.t("view_frequency"))}</label>'
        + f'<label for="pm-performance">{escape(fmt.t("view_performance"))}</label>'
        + '<span class="spacer"></span>'
        + f'<label for="pm-main">{escape(fmt.t("detail_main", shown=fmt.integer(len(main)), total=fmt.integer(len(edges))))}</label>'
        + f'<label for="pm-all">{escape(fmt.t("detail_all", total=fmt.integer(len(edges))))}</label></div>'
        + f'<p class="legend"><span class="frequency">{escape(fmt.t("legend_frequency"))}</span>'
        + f'<span class="performance">{escape(fmt.t("legend_performance"))}</span>'
        + f'<span class="dash"></span>{escape(fmt.t("legend_back_edge"))}</p>'
        + f'<div class="pm-canvas pm-detail-main" data-arrows="{len(main)}">{main_svg}</div>'
        + f'<div class="pm-canvas pm-detail-all" data-arrows="{len(edges)}">{all_svg}</div>'
        + _numbers(fmt, table)
    )


# --------------------------------------------------------------------------- throughput


def _histogram_block(values: list[float], fmt: Formatter, title: str) -> str:
    bins = charts.histogram_bins(values)
    if not bins:
        return f'<p class="empty">{escape(fmt.t("no_rows"))}</p>'
    label = _days_label(fmt)
    svg = charts.histogram(bins, label, title=title, x_label=fmt.t("days"))
    frame = pl.DataFrame({"range": [charts.bin_label(b, label) for b in bins], "count": [b.count for b in bins]},
                         schema={"range": pl.String, "count": pl.Int64})
    table = render_table(frame, [Column("range", label=fmt.t("histogram_bin")),
                                 Column("count", "count", fmt.t("histogram_count"))], fmt)
    return f"<h3>{escape(title)}</h3>{svg}{_numbers(fmt, table)}"


def _throughput_section(data: ReportData, fmt: Formatter) -> str:
    out = [_intro(fmt, "throughput_intro"),
           _histogram_block(data.sales_cycle_days, fmt, fmt.t("sales_cycle_distribution"))]
    if data.milestones is not None and data.milestones.height:
        frame = data.milestones.with_columns(
            pl.concat_str([pl.col("from_activity"), pl.lit(" → "), pl.col("to_activity")]).alias("label"))
        rows = [r for r in frame.iter_rows(named=True) if r["cases"]]
        title = fmt.t("milestones_bands")
        out.append(f"<h3>{escape(title)}</h3>")
        out.append(charts.bands(rows, fmt.duration, _days_label(fmt), title=title, x_label=fmt.t("days")))
        out.append(_numbers(fmt, render_table(frame, [
            Column("milestone"), Column("label", label=fmt.t("chart_label")), Column("cases", "count"),
            Column("p10", "days"), Column("p25", "days"), Column("median", "days"),
            Column("p75", "days"), Column("p90", "days"),
        ], fmt)))
    return "".join(out)


# --------------------------------------------------------------------------- variants


def _sequence_html(activities: list[str]) -> str:
    steps = '<span class="arrow">→</span>'.join(f'<span class="step">{escape(str(a))}</span>' for a in activities)
    return f'<div class="sequence">{steps}</div>'


def _variants_section(data: ReportData, fmt: Formatter) -> str:
    table = data.table("variants")
    if table is None:
        return _missing(fmt, "variants")
    frame = table.frame.sort("rank") if "rank" in table.frame.columns else table.frame
    top = frame.head(TOP_VARIANTS)
    median = _first_column(frame, "duration_median_days", "duration_median")
    columns = [("rank", "count", "#"), ("cases", "count", None), ("share", "share", None),
               ("cumulative_share", "share", None)]
    if median:
        columns.append((median, "duration", fmt.column("duration_median")))
    columns = [c for c in columns if c[0] in frame.columns]
    top_share = max(top.get_column("share").to_list() or [0]) if "share" in top.columns else 0
    out = [_intro(fmt, "variants_intro"), '<div class="table-wrap"><table class="sortable"><thead><tr>']
    for name, _, label in columns:
        out.append(f'<th scope="col" tabindex="0" class="num">{escape(label or fmt.column(name))}</th>')
    out.append(f'<th scope="col" tabindex="0">{escape(fmt.column("activities"))}</th></tr></thead><tbody>')
    for r in top.iter_rows(named=True):
        out.append("<tr>")
        for name, kind, _ in columns:
            text, key = format_cell(r[name], kind, fmt)
            cell = escape(text)
            if name == "share" and top_share and r[name] is not None:
                cell = mini_bar(r[name] / top_share) + cell
            out.append(f'<td class="num" data-sort="{escape(key)}">{cell}</td>')
        activities = _activity_list(r.get("activities"))
        out.append(f'<td data-sort="{escape(SEQUENCE_SEPARATOR.join(activities))}">{_sequence_html(activities)}'
                   "</td></tr>")
    out.append("</tbody></table></div>")
    total = table.total_rows or frame.height
    if total > top.height:
        out.append(f'<p class="note">{escape(fmt.t("more_rows", shown=fmt.integer(top.height), total=fmt.integer(total)))}</p>')
    return "".join(out)


def _activity_list(value: object) -> list[str]:
    """A variant's activities: a list, or the marts' text joined with `` → ``."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split(SEQUENCE_SEPARATOR) if value else []
    return [str(v) for v in value]


# --------------------------------------------------------------------------- bottlenecks and rework


def _bottlenecks_section(data: ReportData, fmt: Formatter) -> str:
    table = data.table("bottlenecks")
    if table is None:
        return _missing(fmt, "bottlenecks")
    frame = table.frame
    if "rank_by_total" in frame.columns:
        frame = frame.sort("rank_by_total")
    top = frame.head(TOP_ROWS)
    out = [_intro(fmt, "bottlenecks_intro")]
    total = _first_column(top, "total_days", "total")
    if total and {"source", "target"} <= set(top.columns) and top.height:
        items = [(f"{r['source']} → {r['target']}", r[total]) for r in top.head(10).iter_rows(named=True)]
        out.append(charts.bars(items, fmt.duration, title=fmt.t("bottlenecks"), colour="#c0603a"))
    out.append(render_table(top, [
        Column("rank_by_total", "count", "#"), Column("source"), Column("target"), Column("frequency", "count"),
        Column("cases", "count"), *_wait_columns(top, ("median", "p90", "total")),
        Column("share_of_waiting", "share"), Column("cases_delayed", "count"), Column("example_case_ids", "list"),
    ], fmt, duration_columns=table.duration_columns))
    return "".join(out)


def _wait_columns(frame: pl.DataFrame, names: tuple[str, ...]) -> list[Column]:
    """Waiting-time columns shown as durations, whether stored as ``<name>_days`` or as an interval."""
    found = (_first_column(frame, f"{name}_days", name) for name in names)
    return [Column(column, "duration") for column in found if column]


def _rework_section(data: ReportData, fmt: Formatter) -> str:
    table = data.table("rework")
    if table is None:
        return _missing(fmt, "rework")
    frame = table.frame
    if "rework_cases" in frame.columns:  # activities nobody repeats are not rework
        frame = frame.filter(pl.col("rework_cases") > 0).sort(["rework_cases", "activity"], descending=[True, False])
    top = frame.head(TOP_ROWS)
    out = [_intro(fmt, "rework_intro")]
    if {"activity", "rework_rate"} <= set(top.columns) and top.height:
        ranked = top.sort("rework_rate", descending=True).head(10)
        items = [(r["activity"], r["rework_rate"]) for r in ranked.iter_rows(named=True)]
        out.append(charts.bars(items, fmt.percent, title=fmt.t("rework")))
    out.append(render_table(top, [
        Column("activity"), Column("cases", "count"), Column("rework_cases", "count"),
        Column("rework_rate", "share"), Column("repeated_events", "count"), Column("max_occurrences", "count"),
    ], fmt, duration_columns=table.duration_columns))
    moves = data.table("rework_stage_moves")
    if moves is not None:
        out.append(f"<h3>{escape(fmt.t('backward_stage_moves'))}</h3>")
        out.append(render_table(moves.frame.head(TOP_ROWS), [
            Column("from_stage"), Column("to_stage"), Column("moves", "count"), Column("cases", "count"),
        ], fmt))
    return "".join(out)


# --------------------------------------------------------------------------- conformance


def _conformance_section(data: ReportData, fmt: Formatter) -> str:
    rules = data.table("conformance_rules")
    if rules is None:
        return _missing(fmt, "conformance_rules")
    out = [_intro(fmt, "conformance_intro")]
    frame = rules.frame
    if {"rule", "violation_rate"} <= set(frame.columns) and frame.height:
        ranked = frame.sort("violation_rate", descending=True, nulls_last=True)
        items = [(r.get("description") or r["rule"], r["violation_rate"]) for r in ranked.iter_rows(named=True)]
        out.append(charts.bars(items, fmt.percent, title=fmt.t("conformance"), colour="#b2182b"))
    out.append(render_table(frame, [
        Column("rule"), Column("description"), Column("template"), Column("cases_checked", "count"),
        Column("violations", "count"), Column("violation_rate", "share"),
    ], fmt))
    examples = data.conformance_examples
    if examples is not None:
        order = {rule: i for i, rule in enumerate(frame.get_column("rule").to_list())}
        examples = examples.with_columns(
            pl.col("rule").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("__order")
        ).sort("__order", "case_id").drop("__order")
        out.append(f"<h3>{escape(fmt.t('example_cases'))}</h3>")
        out.append(render_table(examples, [
            Column("rule"), Column("case_id"), Column("name", label=fmt.column("opportunity")),
            Column("explanation"),
        ], fmt))
    out.append(_fitness_block(data, fmt))
    return "".join(out)


def _fitness_block(data: ReportData, fmt: Formatter) -> str:
    """Fitness against the reference happy path: weighted by cases over variants, and deviations per activity."""
    fitness = data.table("fitness")
    if fitness is None or not {"cases", "fitness"} <= set(fitness.frame.columns) or fitness.frame.height == 0:
        return ""
    frame = fitness.frame
    cases = frame.get_column("cases").sum()
    average = (frame.get_column("cases") * frame.get_column("fitness")).sum() / cases if cases else None
    fitting = frame.filter(pl.col("is_fit")).get_column("cases").sum() / cases if cases and "is_fit" in frame.columns \
        else None
    out = [f"<h3>{escape(fmt.t('fitness'))}</h3>",
           f'<p class="fitness" data-average-fitness="{average!r}">'
           f'{escape(fmt.t("fitness_summary", fitness=fmt.number(average, 3), fitting=fmt.percent(fitting)))}</p>']
    deviations = data.table("deviations")
    if deviations is not None and deviations.frame.height:
        out.append(render_table(deviations.frame.head(TOP_ROWS), [
            Column("activity"), Column("log_moves", "count"), Column("cases_with_log_moves", "count"),
            Column("model_moves", "count"), Column("cases_with_model_moves", "count"),
        ], fmt))
    return "".join(out)


# --------------------------------------------------------------------------- root causes


_OUTCOMES = (("long_cycle", "outcome_slow"), ("lost", "outcome_lost"),
             ("non_conformant", "outcome_non_conformant"), ("late_payment", "outcome_late_payment"))


def _root_causes_section(data: ReportData, fmt: Formatter) -> str:
    table = data.table("root_causes")
    if table is None:
        return _missing(fmt, "root_causes")
    frame = table.frame
    out = [_intro(fmt, "root_causes_intro")]
    outcomes = frame.get_column("outcome").unique(maintain_order=True).to_list() if "outcome" in frame.columns else []
    known = {key: label for key, label in _OUTCOMES}
    ordered = [o for o, _ in _OUTCOMES if o in outcomes] + [o for o in outcomes if o not in known]
    columns = [
        Column("attribute"), Column("value"), Column("cases", "count"), Column("outcome_cases", "count"),
        Column("outcome_rate", "share"), Column("rest_outcome_rate", "share"), Column("lift", "ratio"),
        Column("impact", "number"), Column("p_adjusted", "pvalue"), Column("significant", "bool"),
    ]
    if "attribute" in frame.columns:  # case attributes by their headings: "Sales rep", not owner_name
        names = {a: fmt.column(a) for a in frame.get_column("attribute").unique().to_list() if a is not None}
        frame = frame.with_columns(pl.col("attribute").replace(names))
    if "value" in frame.columns:  # band names and "(missing)"; the values themselves are data
        frame = frame.with_columns(_translated(pl.col("value"), fmt))
    for outcome in ordered:
        part = frame.filter(pl.col("outcome") == outcome)
        if "lift" in part.columns:
            part = part.filter(pl.col("lift").is_null() | (pl.col("lift") > 1))
        if "rank" in part.columns:
            part = part.sort("rank")
        title = fmt.t(known[outcome]) if outcome in known else str(outcome)
        out.append(f'<div class="outcome"><h3>{escape(title)}</h3>')
        out.append(render_table(part.head(8), columns, fmt,
                                row_class=lambda r: "flagged" if r.get("significant") else None))
        out.append("</div>")
    if not ordered:
        out.append(render_table(frame.head(TOP_ROWS), None, fmt, duration_columns=table.duration_columns))
    return "".join(out)


# --------------------------------------------------------------------------- reps, discounts, funnel, payment


def _reps_section(data: ReportData, fmt: Formatter) -> str:
    table = data.table("rep_performance")
    if table is None:
        return _missing(fmt, "rep_performance")
    frame = table.frame
    if "flags" in frame.columns:
        frame = frame.with_columns(_translated_list(frame, "flags", fmt))
    out = [_intro(fmt, "reps_intro")]
    out.append(render_table(frame, [
        Column("owner_name"), Column("team"), Column("cases", "count"), Column("closed_cases", "count"),
        Column("win_rate", "share"), Column("team_win_rate", "share"),
        Column("median_cycle_days", "duration"), Column("team_median_cycle_days", "duration"),
        Column("cycle_vs_team", "ratio"), Column("conformance_rate", "share"), Column("rework_rate", "share"),
        Column("flags"),
    ], fmt, duration_columns=table.duration_columns,
        row_class=lambda r: "outlier flagged" if r.get("is_outlier") else None))
    return "".join(out)


def _discounts_section(data: ReportData, fmt: Formatter) -> str:
    table = data.table("discounts")
    if table is None:
        return _missing(fmt, "discounts")
    frame = table.frame
    if "band_order" in frame.columns:
        frame = frame.sort("band_order", nulls_last=True)
    if "discount_band" in frame.columns:
        frame = frame.with_columns(_translated(pl.col("discount_band"), fmt))
    out = [_intro(fmt, "discounts_intro")]
    if {"discount_band", "win_rate"} <= set(frame.columns) and frame.height:
        items = [(r["discount_band"], r["win_rate"]) for r in frame.iter_rows(named=True)]
        out.append(charts.bars(items, fmt.percent, title=fmt.column("win_rate")))
    out.append(render_table(frame, [
        Column("discount_band"), Column("cases", "count"), Column("closed_cases", "count"),
        Column("won_cases", "count"), Column("win_rate", "share"), Column("mean_discount_pct", "number"),
        Column("median_amount", "number"), Column("median_won_amount", "number"), Column("invoices", "count"),
        Column("median_days_to_pay", "days"), Column("late_payment_rate", "share"),
    ], fmt, duration_columns=table.duration_columns))
    return "".join(out)


def _lead_funnel_section(data: ReportData, fmt: Formatter) -> str:
    table = data.table("lead_funnel")
    if table is None:
        return _missing(fmt, "lead_funnel")
    group_column = next((c for c in table.frame.columns if c not in _FUNNEL_COLUMNS), None)
    frame = table.frame.with_columns(
        *[_translated(pl.col(c), fmt) for c in (group_column, "step") if c and c in table.frame.columns])
    out = [_intro(fmt, "lead_funnel_intro")]
    overall = frame
    if group_column is not None:
        totals = frame.filter(pl.col(group_column) == fmt.value("(all)"))
        overall = totals if totals.height else frame.group_by("step_order", "step").agg(
            pl.col("reached").sum())
    if {"step", "reached"} <= set(overall.columns) and overall.height:
        overall = overall.sort("step_order") if "step_order" in overall.columns else overall
        steps = [(str(r["step"]), int(r["reached"] or 0)) for r in overall.iter_rows(named=True)]
        out.append(charts.funnel(steps, fmt.integer, fmt.percent, title=fmt.t("lead_funnel")))
    columns = [Column(group_column)] if group_column else []
    columns += [
        Column("step"), Column("leads", "count"), Column("reached", "count"), Column("reached_share", "share"),
        Column("continued", "count"), Column("dropped", "count"), Column("step_conversion", "share"),
        Column("converted", "count"), Column("won", "count"), Column("is_biggest_drop", "bool"),
    ]
    out.append(_numbers(fmt, render_table(frame, columns, fmt,
                                          row_class=lambda r: "flagged" if r.get("is_biggest_drop") else None)))
    return "".join(out)


_FUNNEL_COLUMNS = {"step_order", "step", "leads", "reached", "reached_share", "continued", "dropped",
                   "step_conversion", "converted", "won", "is_biggest_drop"}


def _days_to_pay_section(data: ReportData, fmt: Formatter) -> str:
    out = [_intro(fmt, "days_to_pay_intro"),
           _histogram_block(data.days_to_pay_values, fmt, fmt.t("days_to_pay"))]
    table = data.table("days_to_pay")
    if table is not None and "aging_bucket" in table.frame.columns:
        order = {bucket: i for i, bucket in enumerate(AGING_BUCKETS)}
        buckets = table.frame.group_by("aging_bucket").agg(pl.len().alias("invoices")).with_columns(
            pl.col("aging_bucket").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("order")
        ).sort("order", "aging_bucket").with_columns(_translated(pl.col("aging_bucket"), fmt))
        out.append(charts.bars([(r["aging_bucket"], r["invoices"]) for r in buckets.iter_rows(named=True)],
                               fmt.integer, title=fmt.column("aging_bucket")))
        out.append(_numbers(fmt, render_table(buckets, [Column("aging_bucket"), Column("invoices", "count")], fmt)))
    return "".join(out)
