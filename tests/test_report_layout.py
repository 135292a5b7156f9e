"""The process-map layout and its SVG: geometry a reader relies on, on tiny graphs and on a real 27-activity log."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest

import analysis
from l2c.report.i18n import Formatter
from l2c.report.layout import layered_layout
from l2c.report.process_map import MapEdge, MapNode, main_paths, render_process_map

SHARED = Path(__file__).parents[1].parent / "shared" / "data" / "eventlogs"
SVG = "{http://www.w3.org/2000/svg}"


def _sizes(*names: str) -> dict[str, tuple[float, float]]:
    return {n: (100.0, 40.0) for n in names}


def test_a_chain_is_one_node_per_layer_top_to_bottom_with_no_crossings():
    lay = layered_layout(_sizes("s", "a", "b", "e"), [("s", "a", 3), ("a", "b", 3), ("b", "e", 3)],
                         {"a": 0, "b": 1}, first="s", last="e")
    assert [lay.nodes[n].layer for n in ("s", "a", "b", "e")] == [0, 1, 2, 3]
    assert lay.crossings == 0
    # Straight down: every node under the previous one.
    assert len({round(lay.nodes[n].x) for n in ("s", "a", "b", "e")}) == 1


def test_rework_is_a_back_edge_routed_upwards_beside_the_boxes():
    lay = layered_layout(_sizes("a", "b", "c"), [("a", "b", 5), ("b", "c", 5), ("c", "a", 2)],
                         {"a": 0, "b": 1, "c": 2})
    back = next(e for e in lay.edges if (e.source, e.target) == ("c", "a"))
    assert back.kind == "back"
    start, *waypoints, end = back.points
    assert start[1] > end[1]  # goes up the page
    assert start[0] in (lay.nodes["c"].left, lay.nodes["c"].right)  # leaves from a side, not the bottom
    assert all(lay.nodes["b"].top <= y <= lay.nodes["b"].bottom for _, y in waypoints)
    # The waypoint in b's layer keeps clear of b's box.
    assert all(x < lay.nodes["b"].left or x > lay.nodes["b"].right for x, _ in waypoints)


def test_an_activity_happening_all_along_is_placed_where_its_busy_arrows_point_down():
    # "m" (think Amount Changed) sometimes comes early (mean position 0.5), but mostly right before the end.
    lay = layered_layout(_sizes("s", "a", "b", "c", "m", "e"),
                         [("s", "a", 9), ("a", "b", 9), ("b", "c", 9), ("c", "e", 1), ("a", "m", 1), ("m", "b", 1),
                          ("c", "m", 8), ("m", "e", 9)],
                         {"a": 0, "m": 0.5, "b": 1, "c": 2}, first="s", last="e")
    kinds = {(e.source, e.target): e.kind for e in lay.edges}
    assert lay.nodes["m"].layer == lay.nodes["c"].layer + 1
    assert kinds[("c", "m")] == "forward" and kinds[("m", "e")] == "forward"
    assert kinds[("m", "b")] == "back"  # the rare early visit is the one drawn going back


def test_boxes_never_overlap_and_barycentres_untangle_a_crossing():
    # Two parallel lanes given in crossing order must come out uncrossed.
    edges = [("s", "a1", 5), ("s", "b1", 5), ("a1", "b2", 1), ("a1", "a2", 5), ("b1", "b2", 5), ("a2", "e", 5),
             ("b2", "e", 5)]
    lay = layered_layout(_sizes("s", "a1", "b1", "a2", "b2", "e"), edges,
                         {"a1": 1, "b1": 1, "b2": 2, "a2": 2}, first="s", last="e")
    assert lay.crossings == 0
    for one, other in itertools.combinations(lay.nodes.values(), 2):
        if one.layer == other.layer:
            assert one.right <= other.left or other.right <= one.left


@pytest.mark.skipif(not (SHARED / "receipt.csv").exists(), reason="../shared/data/eventlogs/receipt.csv not found")
def test_the_receipt_log_with_27_activities_is_drawn_without_overlaps():
    log = analysis.read_event_log(pl.read_csv(SHARED / "receipt.csv"), case="case:concept:name",
                                  activity="concept:name", timestamp="time:timestamp")
    edges_frame = analysis.process_map(log)
    first = (log.events.with_columns(pl.int_range(pl.len()).over("case_id").alias("pos"))
             .group_by("case_id", "activity").agg(pl.col("pos").min(), pl.len().alias("n"))
             .group_by("activity").agg(pl.col("pos").mean(), pl.col("n").sum(), pl.len().alias("cases")))
    nodes = [MapNode(a, n, c, p) for a, p, n, c in first.iter_rows()]
    nodes += [MapNode(analysis.START, 0, 0, -1), MapNode(analysis.END, 0, 0, 1e9)]
    day = 86_400_000_000
    edges = [MapEdge(r["source"], r["target"], r["frequency"], r["cases"],
                     r["median"].total_seconds() * 1e6 / day if r["median"] is not None else None,
                     r["mean"].total_seconds() * 1e6 / day if r["mean"] is not None else None)
             for r in edges_frame.iter_rows(named=True)]
    assert len(nodes) == 29 and len(edges) == edges_frame.height

    svg = ET.fromstring(render_process_map(nodes, edges, Formatter("en"), start=analysis.START, end=analysis.END))
    boxes = [(float(r.get("x")), float(r.get("y")), float(r.get("width")), float(r.get("height")))
             for r in svg.iter(f"{SVG}rect") if r.get("rx")]  # activity boxes (the end glyph is a square)
    assert len(boxes) == 27
    for (x1, y1, w1, h1), (x2, y2, w2, h2) in itertools.combinations(boxes, 2):
        assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1
    width = float(svg.get("width"))
    assert all(x >= 0 and x + w <= width for x, _, w, _ in boxes)
    frequency_group = next(g for g in svg.iter(f"{SVG}g") if "view-frequency" in g.get("class", "") and
                           "edges" in g.get("class", ""))
    assert len(frequency_group.findall(f"{SVG}g")) == len(edges)
    # The main-paths view keeps every activity connected with far fewer arrows.
    main = main_paths(edges, analysis.START)
    assert len(main) < len(edges) / 2
    assert {e.target for e in main} | {e.source for e in main} == {n.activity for n in nodes}


def test_activity_names_are_escaped_and_wrapped_in_the_svg():
    name = "<script>alert(1)</script> & a rather long activity name that needs two lines"
    nodes = [MapNode("S", 0, 0, -1), MapNode(name, 3, 3, 0), MapNode("E", 0, 0, 9)]
    edges = [MapEdge("S", name, 3, 3, None, None), MapEdge(name, "E", 3, 3, None, None)]
    text = render_process_map(nodes, edges, Formatter("en"), start="S", end="E", standalone=True)
    assert "<script>" not in text
    svg = ET.fromstring(text.split("\n", 1)[1])  # parses: the escaping kept it well-formed
    lines = [t.text for t in svg.iter(f"{SVG}tspan")]
    assert len(lines) == 2 and "".join(lines).startswith("<script>alert(1)</script> & a") and lines[1].endswith("…")
    titles = [t.text for t in svg.iter(f"{SVG}title")]
    assert any(t and t.startswith(name) for t in titles)  # the full name on hover
