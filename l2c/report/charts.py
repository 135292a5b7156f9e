"""Small inline-SVG charts: histogram, horizontal bars, funnel and percentile bands.

Each function returns an ``<svg>`` element sized by its viewBox (the page
scales it to the column width) and never embeds unescaped data text. The
numbers behind every chart are shown by the renderer in a table next to it;
:func:`histogram_bins` is exposed so that table and chart use the same bins.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 720
_AXIS = "#8a94a6"
_BAR = "#4a6fa5"
_TEXT = "#243047"
_LABEL_WIDTH = 300


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    open_ended: bool = False  # the last bin collects everything from ``low`` up


def _nice_step(span: float, target_bins: int) -> float:
    raw = max(span, 1e-9) / target_bins
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def histogram_bins(values: Sequence[float], target_bins: int = 20) -> list[Bin]:
    """Equal-width bins with a round width; values beyond the 99th percentile share one open-ended last bin."""
    data = sorted(v for v in values if v is not None and not math.isnan(v))
    if not data:
        return []
    low = math.floor(data[0]) if data[0] < 0 else 0.0
    # A few extreme values would squeeze everything else into the first bars: past 1.5 × the 95th
    # percentile they share one open-ended last bin.
    p95 = data[min(len(data) - 1, max(0, math.ceil(0.95 * len(data)) - 1))]
    cap = data[-1] if data[-1] <= low + 1.5 * (p95 - low) else p95
    step = _nice_step(max(cap - low, 1.0), target_bins)
    n_bins = max(1, math.ceil((cap - low) / step + 1e-9))
    counts = [0] * n_bins
    overflow = 0
    top = low + n_bins * step
    for v in data:
        if v >= top:
            overflow += 1
        else:
            counts[min(int((v - low) // step), n_bins - 1)] += 1
    bins = [Bin(low + i * step, low + (i + 1) * step, c) for i, c in enumerate(counts)]
    if overflow:
        bins.append(Bin(top, data[-1], overflow, open_ended=True))
    return bins


def histogram(bins: Sequence[Bin], label: Callable[[float], str], *, title: str, x_label: str) -> str:
    """Bars of the bins' counts; ``label`` formats a bin edge (e.g. days)."""
    if not bins:
        return ""
    height, left, right, top, bottom = 260, 48, 16, 28, 44
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    peak = max(b.count for b in bins) or 1
    y_step = _nice_step(peak, 4)
    y_max = math.ceil(peak / y_step) * y_step
    bar_w = plot_w / len(bins)
    out = [_open(height, title)]
    for k in range(int(y_max / y_step) + 1):
        value = k * y_step
        y = top + plot_h - plot_h * value / y_max
        out.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7ee"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{_AXIS}">'
                   f'{int(value)}</text>')
    every = max(1, math.ceil(len(bins) / 10))
    for i, b in enumerate(bins):
        h = plot_h * b.count / y_max
        x = left + i * bar_w
        fill = "#9aa9c2" if b.open_ended else _BAR
        out.append(
            f'<rect x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" '
            f'fill="{fill}"><title>{escape(bin_label(b, label))}: {b.count}</title></rect>'
        )
        if i % every == 0:
            out.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11" '
                       f'fill="{_AXIS}">{escape(label(b.low))}</text>')
    if bins[-1].open_ended:
        out.append(f'<text x="{left + (len(bins) - 0.5) * bar_w:.1f}" y="{top + plot_h + 16}" '
                   f'text-anchor="middle" font-size="11" fill="{_AXIS}">≥</text>')
    out.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{_AXIS}"/>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" font-size="12" '
               f'fill="{_TEXT}">{escape(x_label)}</text>')
    out.append("</svg>")
    return "".join(out)


def bin_label(b: Bin, label: Callable[[float], str]) -> str:
    """The range a bin covers, as shown in its tooltip and numbers table."""
    return f"≥ {label(b.low)}" if b.open_ended else f"{label(b.low)} – {label(b.high)}"


def bars(
    items: Sequence[tuple[str, float | None]],
    value_label: Callable[[float | None], str],
    *,
    title: str,
    colour: str = _BAR,
    reference: float | None = None,
    reference_label: str = "",
) -> str:
    """Horizontal bars, one per (label, value), in the given order; an optional dashed reference line."""
    if not items:
        return ""
    row, label_w, value_w, top = 24, _LABEL_WIDTH, 90, 8
    height = top * 2 + row * len(items) + (18 if reference is not None else 0)
    plot_w = WIDTH - label_w - value_w
    peak = max([v for _, v in items if v is not None] + [reference or 0, 1e-9])
    out = [_open(height, title)]
    for i, (name, value) in enumerate(items):
        y = top + i * row
        w = plot_w * (value or 0) / peak if value and value > 0 else 0
        out.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12" fill="{_TEXT}">'
                   f'{escape(_fit(name, label_w))}<title>{escape(name)}</title></text>')
        out.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" rx="2" fill="{colour}"/>')
        out.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" font-size="12" fill="{_TEXT}">'
                   f'{escape(value_label(value))}</text>')
    if reference is not None:
        x = label_w + plot_w * reference / peak
        bottom = top + row * len(items)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" stroke="#c0392b" '
                   f'stroke-dasharray="4 3"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle" font-size="11" fill="#c0392b">'
                   f'{escape(reference_label)}</text>')
    out.append("</svg>")
    return "".join(out)


def funnel(steps: Sequence[tuple[str, int]], count_label: Callable[[int], str],
           share_label: Callable[[float | None], str], *, title: str) -> str:
    """A centred funnel: each step's bar is proportional to how many reached it; the share of the first step."""
    if not steps:
        return ""
    row, top = 40, 8
    height = top * 2 + row * len(steps)
    first = steps[0][1] or 1
    centre, max_w = WIDTH / 2 + 60, WIDTH - 380
    out = [_open(height, title)]
    for i, (name, count) in enumerate(steps):
        w = max(max_w * count / first, 2)
        y = top + i * row
        shade = _shade(i, len(steps))
        out.append(f'<rect x="{centre - w / 2:.1f}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" rx="3" '
                   f'fill="{shade}"/>')
        out.append(f'<text x="{centre - max_w / 2 - 10:.1f}" y="{y + row / 2 + 4:.1f}" text-anchor="end" '
                   f'font-size="12" fill="{_TEXT}">{escape(_fit(name, centre - max_w / 2 - 10))}<title>{escape(name)}</title>'
                   "</text>")
        out.append(f'<text x="{centre + w / 2 + 8:.1f}" y="{y + row / 2 + 4:.1f}" font-size="12" '
                   f'fill="{_TEXT}"><tspan font-weight="600">{escape(count_label(count))}</tspan> · '
                   f'{escape(share_label(count / first if first else None))}</text>')
    out.append("</svg>")
    return "".join(out)


def bands(rows: Sequence[dict], label: Callable[[float | None], str], tick_label: Callable[[float], str], *,
          title: str, x_label: str) -> str:
    """One horizontal band per row: p10–p90 light, p25–p75 dark, the median as a tick labelled with ``label``;
    the axis ticks are labelled with ``tick_label`` and the axis with ``x_label``."""
    usable = [r for r in rows if r.get("median") is not None]
    if not usable:
        return ""
    row, label_w, right, top = 34, _LABEL_WIDTH, 70, 10
    height = top * 2 + row * len(usable) + 38
    plot_w = WIDTH - label_w - right
    low = min(0.0, min(r["p10"] for r in usable))
    high = max(r["p90"] for r in usable) or 1.0
    step = _nice_step(high - low, 6)
    high = math.ceil(high / step) * step

    def sx(v: float) -> float:
        return label_w + plot_w * (v - low) / (high - low)

    out = [_open(height, title)]
    axis_y = top + row * len(usable)
    tick = low
    while tick <= high + 1e-9:
        out.append(f'<line x1="{sx(tick):.1f}" x2="{sx(tick):.1f}" y1="{top}" y2="{axis_y}" stroke="#e3e7ee"/>')
        out.append(f'<text x="{sx(tick):.1f}" y="{axis_y + 14}" text-anchor="middle" font-size="11" '
                   f'fill="{_AXIS}">{escape(tick_label(tick))}</text>')
        tick += step
    out.append(f'<text x="{label_w + plot_w / 2:.1f}" y="{axis_y + 32}" text-anchor="middle" font-size="12" '
               f'fill="{_TEXT}">{escape(x_label)}</text>')
    for i, r in enumerate(usable):
        y = top + i * row
        out.append(f'<text x="{label_w - 8}" y="{y + row / 2 + 4:.1f}" text-anchor="end" font-size="12" '
                   f'fill="{_TEXT}">{escape(_fit(r["label"], label_w))}<title>{escape(r["label"])}</title></text>')
        out.append(f'<rect x="{sx(r["p10"]):.1f}" y="{y + 9}" width="{max(sx(r["p90"]) - sx(r["p10"]), 1):.1f}" '
                   f'height="{row - 18}" fill="#c9d6ea"/>')
        out.append(f'<rect x="{sx(r["p25"]):.1f}" y="{y + 9}" width="{max(sx(r["p75"]) - sx(r["p25"]), 1):.1f}" '
                   f'height="{row - 18}" fill="#6f8fbf"/>')
        out.append(f'<line x1="{sx(r["median"]):.1f}" x2="{sx(r["median"]):.1f}" y1="{y + 5}" y2="{y + row - 5}" '
                   f'stroke="#102040" stroke-width="2.5"/>')
        out.append(f'<text x="{sx(r["p90"]) + 6:.1f}" y="{y + row / 2 + 4:.1f}" font-size="11" fill="{_TEXT}">'
                   f'{escape(label(r["median"]))}</text>')
    out.append("</svg>")
    return "".join(out)


def _open(height: int, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" '
            f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>')


def _fit(text: str, width: float) -> str:
    """Shorten a 12px label to fit ``width`` pixels (leaving a margin), with an ellipsis."""
    return _truncate(text, int((width - 14) / 6.6))


def _truncate(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _shade(i: int, n: int) -> str:
    t = i / max(n - 1, 1)
    a, b = (0x2c, 0x4f, 0x86), (0x8f, 0xa9, 0xd1)
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))
