"""The process map as inline SVG: a frequency view and a performance view over one layout.

Both views share the node positions from :func:`l2c.report.layout.layered_layout`
and differ only in the arrows: in the frequency view an arrow's width and
colour show how often one activity directly followed the other; in the
performance view they show the median waiting time. Each view is an SVG group
(``view-frequency`` / ``view-performance``) that the page's CSS shows or hides,
so switching needs no script. Arrows back to an earlier step are dashed.
Every text from the data is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from l2c.report.i18n import Formatter
from l2c.report.layout import Layout, PlacedNode, Point, RoutedEdge, layered_layout, turn_depth

#: One cubic Bézier piece of an arrow: start, first control, second control, end.
Segment = tuple[Point, Point, Point, Point]

NODE_WIDTH = 168.0
NODE_HEIGHT = 50.0
TERMINAL_SIZE = 34.0
ARROW_LENGTH = 8.0
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
# Average glyph width of a 12px sans-serif font, to wrap activity names without measuring text.
_CHAR_WIDTH = 6.4
_FREQUENCY_COLOURS = ("#c3d0e2", "#6f8fbf", "#1d3f72")
_PERFORMANCE_COLOURS = ("#f0d9a8", "#e8853d", "#b2182b")
NODE_FILLS = ("#eef3fa", "#c9d8ee")


@dataclass(frozen=True)
class MapNode:
    activity: str
    frequency: int
    cases: int
    mean_position: float


@dataclass(frozen=True)
class MapEdge:
    source: str
    target: str
    frequency: int
    cases: int
    median_wait_days: float | None
    mean_wait_days: float | None


def layout_process_map(nodes: Sequence[MapNode], edges: Sequence[MapEdge], start: str, end: str) -> Layout:
    sizes = {
        n.activity: (TERMINAL_SIZE, TERMINAL_SIZE) if n.activity in (start, end) else (NODE_WIDTH, NODE_HEIGHT)
        for n in nodes
    }
    for e in edges:
        for name in (e.source, e.target):
            sizes.setdefault(
                name, (TERMINAL_SIZE, TERMINAL_SIZE) if name in (start, end) else (NODE_WIDTH, NODE_HEIGHT)
            )
    positions = {n.activity: n.mean_position for n in nodes}
    weighted = [(e.source, e.target, float(e.frequency)) for e in edges]
    return layered_layout(sizes, weighted, positions, first=start, last=end)


#: In the main-paths view, arrows followed by at least this share of cases are kept (besides each
#: activity's busiest incoming and outgoing arrow).
MAIN_PATH_SHARE = 0.1


def main_paths(edges: Sequence[MapEdge], start: str, share: float = MAIN_PATH_SHARE) -> list[MapEdge]:
    """The arrows that carry the process: each activity's busiest incoming and outgoing arrow (so every
    activity stays connected) plus every arrow followed by at least ``share`` of all cases."""
    cases = sum(e.frequency for e in edges if e.source == start)
    keep: set[tuple[str, str]] = set()
    for key in ("source", "target"):
        busiest: dict[str, MapEdge] = {}
        for e in edges:
            node = getattr(e, key)
            if node not in busiest or (e.frequency, e.cases) > (busiest[node].frequency, busiest[node].cases):
                busiest[node] = e
        keep |= {(e.source, e.target) for e in busiest.values()}
    keep |= {(e.source, e.target) for e in edges if e.frequency >= share * cases}
    return [e for e in edges if (e.source, e.target) in keep]


def render_process_map(
    nodes: Sequence[MapNode],
    edges: Sequence[MapEdge],
    fmt: Formatter,
    *,
    start: str,
    end: str,
    views: Sequence[str] = ("frequency", "performance"),
    standalone: bool = False,
) -> str:
    """The process map as an ``<svg>`` element (or a standalone SVG document with ``standalone=True``)."""
    layout = layout_process_map(nodes, edges, start, end)
    node_info = {n.activity: n for n in nodes}
    edge_info = {(e.source, e.target): e for e in edges}
    width, height = math.ceil(layout.width), math.ceil(layout.height)
    parts = []
    if standalone:
        parts.append('<?xml version="1.0" encoding="UTF-8"?>\n')
    parts.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="process-map" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(fmt.t("process_map"))}" '
        f'font-family="{escape(FONT)}">'
    )
    if standalone:
        parts.append(f'<rect width="{width}" height="{height}" fill="#ffffff"/>')
    parts.append(f"<title>{escape(fmt.t('process_map'))}</title>")
    terminals = {start: fmt.t("start"), end: fmt.t("end")}
    for view in views:
        parts.append(_edges_group(layout, edge_info, view, fmt, terminals))
    parts.append(_nodes_group(layout, node_info, fmt, start, end))
    for view in views:
        parts.append(_edge_labels_group(layout, edge_info, view, fmt))
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------- arrows


def _edge_value(edge: MapEdge, view: str) -> float:
    if view == "frequency":
        return float(edge.frequency)
    return float(edge.median_wait_days) if edge.median_wait_days is not None else 0.0


def _edge_label(edge: MapEdge, view: str, fmt: Formatter) -> str:
    return fmt.integer(edge.frequency) if view == "frequency" else fmt.duration(edge.median_wait_days)


def _scale(values: Sequence[float]):
    top = max(values, default=0.0)

    def share(value: float) -> float:
        return math.sqrt(value / top) if top > 0 and value > 0 else 0.0

    return share


@dataclass(frozen=True)
class StyledEdge:
    """One arrow ready to draw in one view: route, data, colour, width, dash, curve and arrowhead."""

    routed: RoutedEdge
    info: MapEdge
    colour: str
    width: float
    dashed: bool
    segments: list[Segment]
    tip: Point
    direction: Point


def styled_edges(layout: Layout, edge_info, view: str) -> list[StyledEdge]:
    """The arrows of one view, thin ones first so the heavy main flow is drawn on top."""
    colours = _FREQUENCY_COLOURS if view == "frequency" else _PERFORMANCE_COLOURS
    share = _scale([_edge_value(edge_info[(e.source, e.target)], view) for e in layout.edges])
    styled = []
    for routed in sorted(layout.edges, key=lambda e: _edge_value(edge_info[(e.source, e.target)], view)):
        info = edge_info[(routed.source, routed.target)]
        t = share(_edge_value(info, view))
        segments, tip, direction = edge_curve(routed, layout.nodes)
        styled.append(StyledEdge(routed, info, mix_colour(colours, t), 1.2 + 7.0 * t,
                                 routed.kind in ("back", "flat", "self"), segments, tip, direction))
    return styled


def _edges_group(layout: Layout, edge_info, view: str, fmt: Formatter, terminals: dict[str, str]) -> str:
    out = [f'<g class="view view-{view} edges">']
    for edge in styled_edges(layout, edge_info, view):
        routed, info = edge.routed, edge.info
        dash = ' stroke-dasharray="6 4"' if edge.dashed else ""
        title = fmt.t(
            "edge_title",
            source=terminals.get(routed.source, routed.source),
            target=terminals.get(routed.target, routed.target),
            frequency=fmt.integer(info.frequency),
            cases=fmt.integer(info.cases),
            median=fmt.duration(info.median_wait_days),
            mean=fmt.duration(info.mean_wait_days),
        )
        out.append(
            f'<g class="edge edge-{routed.kind}"><title>{escape(title)}</title>'
            f'<path d="{_svg_path(edge.segments)}" fill="none" stroke="{edge.colour}" '
            f'stroke-width="{edge.width:.1f}" stroke-linecap="round"{dash}/>'
            f'<polygon points="{_points(arrowhead(edge.tip, edge.direction, edge.width))}" fill="{edge.colour}"/></g>'
        )
    out.append("</g>")
    return "".join(out)


def _svg_path(segments: list[Segment]) -> str:
    (x, y), *_ = segments[0]
    return f"M{x:.1f},{y:.1f} " + " ".join(
        f"C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {p1[0]:.1f},{p1[1]:.1f}" for _, c1, c2, p1 in segments
    )


def _points(points: Sequence[Point]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def edge_curve(edge: RoutedEdge, nodes: dict[str, PlacedNode]) -> tuple[list[Segment], Point, Point]:
    """The arrow as cubic Bézier segments (start, control, control, end), its tip and the direction at the tip."""
    if edge.kind == "self":
        box = nodes[edge.source]
        x, y = box.right, box.y
        return [((x, y - 10), (x + 34, y - 26), (x + 34, y + 26), (x + ARROW_LENGTH, y + 10))], (x, y + 10), (-1.0, 0.0)
    return _route_curve(edge)


def _turn_depth(edge: RoutedEdge) -> float:
    (x0, y0), (x1, y1) = edge.points[0], edge.points[-1]
    return turn_depth(x0, y0, x1, y1)


def _route_curve(edge: RoutedEdge) -> tuple[list[Segment], Point, Point]:
    """A smooth curve through the route's points: ends follow their directions, waypoints are passed vertically."""
    points = list(edge.points)
    tip = points[-1]
    ex, ey = edge.end_direction
    points[-1] = (tip[0] - ex * ARROW_LENGTH, tip[1] - ey * ARROW_LENGTH)
    last = len(points) - 2
    segments = []
    for i, ((ax, ay), (bx, by)) in enumerate(zip(points, points[1:], strict=False)):
        vertical = (0.0, 1.0 if by >= ay else -1.0)
        da = edge.start_direction if i == 0 else vertical
        db = edge.end_direction if i == last else vertical
        ka, kb = _reach((ax, ay), (bx, by), da, db, edge)
        segments.append(((ax, ay), (ax + da[0] * ka, ay + da[1] * ka), (bx - db[0] * kb, by - db[1] * kb), (bx, by)))
    return segments, tip, edge.end_direction


def _reach(a, b, da, db, edge: RoutedEdge) -> tuple[float, float]:
    """Control-point distances for one cubic segment from ``a`` (leaving along ``da``) to ``b`` (arriving along ``db``)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    turns = da[0] * db[0] + da[1] * db[1] < 0  # leaves and arrives in opposite directions: a C or an arc
    if turns:
        depth = _turn_depth(edge)
        if da[0]:  # sideways C: reach past the further of the two points
            return depth + max(0.0, dx * da[0]), depth + max(0.0, dx * db[0])
        return depth, depth
    ka = abs(dy) / 2 if da[0] == 0 else max(20.0, dx * da[0] if da[0] * db[0] == 0 else abs(dx) / 3)
    kb = abs(dy) / 2 if db[0] == 0 else max(20.0, dx * db[0] if da[0] * db[0] == 0 else abs(dx) / 3)
    return ka, kb


def arrowhead(tip: Point, direction: Point, stroke_width: float) -> list[Point]:
    """The triangle at an arrow's tip, wide enough to show on the thickest arrows."""
    half_width = max(4.0, stroke_width * 0.9)
    length = ARROW_LENGTH + 1.0
    dx, dy = direction
    bx, by = tip[0] - dx * length, tip[1] - dy * length
    px, py = -dy, dx  # perpendicular to the direction
    return [tip, (bx + px * half_width, by + py * half_width), (bx - px * half_width, by - py * half_width)]


def edge_labels(layout: Layout, edge_info, view: str, fmt: Formatter) -> list[tuple[str, float, float]]:
    """(text, x, baseline y) of every arrow's value: beside (not on) the arrow, nudged apart where two
    would overlap; none on the start/end arrows in the performance view (they have no waiting time)."""
    share = _scale([_edge_value(edge_info[(e.source, e.target)], view) for e in layout.edges])
    placed: list[tuple[float, float, float, float]] = []
    labels = []
    for routed in layout.edges:
        info = edge_info[(routed.source, routed.target)]
        if view == "performance" and info.median_wait_days is None:
            continue
        text = _edge_label(info, view, fmt)
        x, y = _label_position(routed, layout.nodes)
        x += (1.2 + 7.0 * share(_edge_value(info, view))) / 2 + 3
        width = len(text) * 6.2 + 2
        for dy in (0, 12, -12, 24, -24, 36):
            box = (x, y + dy - 8, x + width, y + dy + 4)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                break
        placed.append(box)
        labels.append((text, x, box[3]))
    return labels


def _edge_labels_group(layout: Layout, edge_info, view: str, fmt: Formatter) -> str:
    out = [f'<g class="view view-{view} edge-labels" font-size="11">']
    for text, x, y in edge_labels(layout, edge_info, view, fmt):
        out.append(
            f'<text x="{x:.1f}" y="{y:.1f}" fill="#333" stroke="#fff" stroke-width="3" '
            f'paint-order="stroke" stroke-linejoin="round">{escape(text)}</text>'
        )
    out.append("</g>")
    return "".join(out)


def _label_position(edge: RoutedEdge, nodes: dict[str, PlacedNode]) -> tuple[float, float]:
    if edge.kind == "self":
        box = nodes[edge.source]
        return box.right + 30, box.y - 14
    points = edge.points
    if len(points) > 2:
        return points[len(points) // 2]
    (x0, y0), (x1, y1) = points
    (sx, sy), (ex, ey) = edge.start_direction, edge.end_direction
    if sx * ex + sy * ey < 0:  # a C or an arc: label its outermost point
        depth = _turn_depth(edge) * 0.75
        if sx > 0:
            return max(x0, x1) + depth, (y0 + y1) / 2
        if sx < 0:
            return min(x0, x1) - depth, (y0 + y1) / 2
        return (x0 + x1) / 2, min(y0, y1) - depth
    if sx and ex:  # straight across between neighbours
        return (x0 + x1) / 2, (y0 + y1) / 2 - 8
    return (x0 + x1) / 2, (y0 + y1) / 2


# --------------------------------------------------------------------------- activities


def _nodes_group(layout: Layout, node_info, fmt: Formatter, start: str, end: str) -> str:
    top = max((n.frequency for n in node_info.values() if n.activity not in (start, end)), default=0)
    out = ['<g class="nodes">']
    for name, box in layout.nodes.items():
        info = node_info.get(name)
        if name in (start, end):
            out.append(_terminal(box, fmt.t("start") if name == start else fmt.t("end"), name == start))
            continue
        frequency = info.frequency if info else 0
        cases = info.cases if info else 0
        t = math.sqrt(frequency / top) if top else 0.0
        title = fmt.t("node_title", activity=name, frequency=fmt.integer(frequency), cases=fmt.integer(cases))
        lines = wrap_label(name, box.width - 16)
        text_y = box.y - (6 if len(lines) == 1 else 12)
        out.append(
            f'<g class="node"><title>{escape(title)}</title>'
            f'<rect x="{box.left:.1f}" y="{box.top:.1f}" width="{box.width:.1f}" height="{box.height:.1f}" '
            f'rx="7" fill="{mix_colour(NODE_FILLS, t)}" stroke="#4a6592" stroke-width="1.2"/>'
            f'<text x="{box.x:.1f}" y="{text_y:.1f}" text-anchor="middle" font-size="12" fill="#102040">'
        )
        for i, line in enumerate(lines):
            out.append(f'<tspan x="{box.x:.1f}" dy="{0 if i == 0 else 13}">{escape(line)}</tspan>')
        out.append(
            f'</text><text x="{box.x:.1f}" y="{box.bottom - 7:.1f}" text-anchor="middle" font-size="11" '
            f'font-weight="600" fill="#35507d">{escape(fmt.integer(frequency))}</text></g>'
        )
    out.append("</g>")
    return "".join(out)


def _terminal(box: PlacedNode, label: str, is_start: bool) -> str:
    r = box.width / 2
    fill = "#2e7d32" if is_start else "#37474f"
    if is_start:
        glyph = (f'<polygon points="{box.x - 5:.1f},{box.y - 7:.1f} {box.x - 5:.1f},{box.y + 7:.1f} '
                 f'{box.x + 8:.1f},{box.y:.1f}" fill="#fff"/>')
    else:
        glyph = f'<rect x="{box.x - 6:.1f}" y="{box.y - 6:.1f}" width="12" height="12" fill="#fff"/>'
    return (
        f'<g class="node terminal"><title>{escape(label)}</title>'
        f'<circle cx="{box.x:.1f}" cy="{box.y:.1f}" r="{r:.1f}" fill="{fill}"/>{glyph}'
        f'<text x="{box.x + r + 6:.1f}" y="{box.y + 4:.1f}" font-size="11" fill="#444">{escape(label)}</text></g>'
    )


def wrap_label(text: str, width: float, max_lines: int = 2) -> list[str]:
    """Split an activity name into at most two lines that fit the box; an ellipsis marks a cut."""
    per_line = max(4, int(width / _CHAR_WIDTH))
    lines: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > per_line:  # a single over-long word: break it
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:per_line])
            word = word[per_line:]
        candidate = f"{current} {word}".strip()
        if len(candidate) <= per_line:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current or not lines:
        lines.append(current)
    if len(lines) > max_lines:
        kept = lines[: max_lines - 1]
        rest = " ".join(lines[max_lines - 1:])
        kept.append(rest[: per_line - 1] + "…" if len(rest) > per_line else rest)
        lines = kept
    return lines


def mix_colour(stops: Sequence[str], t: float) -> str:
    """A colour ``t`` (0..1) of the way along the gradient through ``stops``."""
    t = min(max(t, 0.0), 1.0)
    segment = min(int(t * (len(stops) - 1)), len(stops) - 2)
    local = t * (len(stops) - 1) - segment
    a, b = stops[segment], stops[segment + 1]
    channels = [
        round(int(a[i:i + 2], 16) + (int(b[i:i + 2], 16) - int(a[i:i + 2], 16)) * local) for i in (1, 3, 5)
    ]
    return "#" + "".join(f"{c:02x}" for c in channels)
