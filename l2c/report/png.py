"""The process map as a PNG, for places that show images but not SVG (Dagster asset metadata, chat, slides).

Drawn with Pillow from the very same layout and curves as the SVG (frequency
view), at twice the size and scaled down for smooth lines. Pillow is not a
dependency of l2c's core: it comes with the pm4py extra (through matplotlib),
which ``make demo`` installs; without it :func:`write_process_map_png` returns
None and the SVG is the only picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from l2c.report.i18n import Formatter
from l2c.report.layout import Point
from l2c.report.process_map import (
    NODE_FILLS,
    NODE_HEIGHT,
    MapEdge,
    MapNode,
    Segment,
    arrowhead,
    edge_labels,
    layout_process_map,
    mix_colour,
    styled_edges,
    wrap_label,
)

_SUPERSAMPLE = 2
_MAX_SIDE = 8000  # pixels before supersampling; larger maps are drawn smaller


def write_process_map_png(
    nodes: Sequence[MapNode], edges: Sequence[MapEdge], fmt: Formatter, path: Path, *, start: str, end: str
) -> Path | None:
    """Draw the frequency view of the map into ``path``; None (and no file) when Pillow is not installed."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        return None
    layout = layout_process_map(nodes, edges, start, end)
    scale = _SUPERSAMPLE * min(1.0, _MAX_SIDE / max(layout.width, layout.height, 1.0))
    size = (math.ceil(layout.width * scale), math.ceil(layout.height * scale))
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=12 * scale)
    small = ImageFont.load_default(size=11 * scale)

    def at(point: Point) -> tuple[float, float]:
        return point[0] * scale, point[1] * scale

    edge_info = {(e.source, e.target): e for e in edges}
    for edge in styled_edges(layout, edge_info, "frequency"):
        line = [at(p) for p in _sample(edge.segments)]
        width = max(1, round(edge.width * scale))
        if edge.dashed:
            for piece in _dashes(line, 6 * scale, 4 * scale):
                draw.line(piece, fill=edge.colour, width=width)
        else:
            draw.line(line, fill=edge.colour, width=width, joint="curve")
        draw.polygon([at(p) for p in arrowhead(edge.tip, edge.direction, edge.width)], fill=edge.colour)

    top = max((n.frequency for n in nodes if n.activity not in (start, end)), default=0)
    info = {n.activity: n for n in nodes}
    for name, box in layout.nodes.items():
        left, upper, right, lower = (at((box.left, box.top)) + at((box.right, box.bottom)))
        if name in (start, end):
            draw.ellipse((left, upper, right, lower), fill="#2e7d32" if name == start else "#37474f")
            if name == start:
                draw.polygon([at((box.x - 5, box.y - 7)), at((box.x - 5, box.y + 7)), at((box.x + 8, box.y))],
                             fill="white")
            else:
                draw.rectangle(at((box.x - 6, box.y - 6)) + at((box.x + 6, box.y + 6)), fill="white")
            label = fmt.t("start") if name == start else fmt.t("end")
            draw.text((right + 6 * scale, (upper + lower) / 2), label, font=small, fill="#444444", anchor="lm")
            continue
        frequency = info[name].frequency if name in info else 0
        fill = mix_colour(NODE_FILLS, math.sqrt(frequency / top) if top else 0.0)
        draw.rounded_rectangle((left, upper, right, lower), radius=7 * scale, fill=fill, outline="#4a6592",
                               width=max(1, round(1.2 * scale)))
        lines = wrap_label(name, box.width - 16)
        first_y = box.y - (6 if len(lines) == 1 else 12)
        for i, text in enumerate(lines):
            draw.text(at((box.x, first_y + 13 * i)), text, font=font, fill="#102040", anchor="ms")
        draw.text(at((box.x, box.top + NODE_HEIGHT - 7)), fmt.integer(frequency), font=small, fill="#35507d",
                  anchor="ms")

    for text, x, y in edge_labels(layout, edge_info, "frequency", fmt):
        draw.text(at((x, y)), text, font=small, fill="#333333", anchor="ls", stroke_width=max(1, round(1.5 * scale)),
                  stroke_fill="white")

    final = image.resize((math.ceil(size[0] / _SUPERSAMPLE), math.ceil(size[1] / _SUPERSAMPLE)),
                         Image.Resampling.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    final.save(path, format="PNG")
    return path


def _sample(segments: list[Segment], steps: int = 20) -> list[Point]:
    """Points along the cubic Bézier segments."""
    points: list[Point] = [segments[0][0]]
    for p0, c1, c2, p1 in segments:
        for k in range(1, steps + 1):
            t = k / steps
            u = 1 - t
            points.append((
                u**3 * p0[0] + 3 * u * u * t * c1[0] + 3 * u * t * t * c2[0] + t**3 * p1[0],
                u**3 * p0[1] + 3 * u * u * t * c1[1] + 3 * u * t * t * c2[1] + t**3 * p1[1],
            ))
    return points


def _dashes(line: list[tuple[float, float]], on: float, off: float) -> list[list[tuple[float, float]]]:
    """Split a polyline into the drawn pieces of an on/off dash pattern."""
    pieces: list[list[tuple[float, float]]] = []
    drawing, left = True, on
    current = [line[0]]
    for (x0, y0), (x1, y1) in zip(line, line[1:], strict=False):
        length = math.hypot(x1 - x0, y1 - y0)
        done = 0.0
        while length - done > left:
            done += left
            t = done / length
            point = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)
            if drawing:
                current.append(point)
                pieces.append(current)
            else:
                current = [point]
            drawing = not drawing
            left = on if drawing else off
        left -= length - done
        if drawing:
            current.append((x1, y1))
    if drawing and len(current) > 1:
        pieces.append(current)
    return pieces
