"""A layered (Sugiyama-style) layout for process maps, in pure Python.

The report draws the process map itself instead of asking users to install
Graphviz. The layout follows the classic four steps, tuned for process maps:

1. **Direction.** Activities are ranked by their mean position in the cases
   (the artificial start first, the end last), then each is moved to the
   place in that order where the arrows pointing back weigh least. An arrow
   from an earlier- to a later-ranked activity points forward (down the page).
2. **Layers** by longest path over the forward arrows, so every forward arrow
   goes strictly down; the start node is alone on top, the end alone at the
   bottom. Arrows that end up pointing up are *back edges* (rework), routed
   upwards beside the boxes and drawn differently.
3. **Order within layers**: arrows spanning several layers get one invisible
   waypoint per layer they cross, then alternating barycentre sweeps (weighted
   by arrow frequency) reduce crossings; the ordering with the fewest
   crossings wins.
4. **Coordinates**: each node moves towards the weighted mean of its
   neighbours, and the order-preserving, non-overlapping placement closest to
   those wishes is found exactly by isotonic regression (pool-adjacent-
   violators); a few sweeps straighten the main flow and long arrows.

Everything here is geometry: :mod:`l2c.report.process_map` turns the
:class:`Layout` into SVG.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

Point = tuple[float, float]


@dataclass
class PlacedNode:
    """A node's box: ``x``/``y`` are its centre."""

    id: str
    x: float
    y: float
    width: float
    height: float
    layer: int

    @property
    def top(self) -> float:
        return self.y - self.height / 2

    @property
    def bottom(self) -> float:
        return self.y + self.height / 2

    @property
    def left(self) -> float:
        return self.x - self.width / 2

    @property
    def right(self) -> float:
        return self.x + self.width / 2


@dataclass
class RoutedEdge:
    """An arrow's route from ``source`` to ``target`` as a list of points.

    ``kind`` is ``forward`` (points go down, from the source's bottom to the
    target's top), ``back`` (to an earlier step; points go up, from the
    ``side`` (``left``/``right``) of the source to the same side of the target), ``flat`` (between two nodes of one layer: the first and last
    point are the nodes' top centres) or ``self`` (a repeat of one activity:
    no points; drawn as a loop beside the node).
    """

    source: str
    target: str
    weight: float
    kind: str
    points: list[Point] = field(default_factory=list)
    start_direction: Point = (0.0, 1.0)
    end_direction: Point = (0.0, 1.0)


@dataclass
class Layout:
    nodes: dict[str, PlacedNode]
    edges: list[RoutedEdge]
    width: float
    height: float
    crossings: int


@dataclass
class _Chain:
    """An arrow made proper: consecutive-layer segments from its upper to its lower end."""

    index: int
    upper: str
    lower: str
    members: list[str]  # upper, waypoints..., lower
    reversed: bool


def layered_layout(
    sizes: Mapping[str, tuple[float, float]],
    edges: Sequence[tuple[str, str, float]],
    mean_position: Mapping[str, float],
    *,
    first: str | None = None,
    last: str | None = None,
    layer_gap: float = 64.0,
    node_gap: float = 28.0,
    margin: float = 24.0,
    waypoint_width: float = 16.0,
    sweeps: int = 24,
) -> Layout:
    """Lay out a directed graph top to bottom.

    Args:
        sizes: every node's (width, height).
        edges: (source, target, weight) triples; weight (e.g. frequency) pulls
            heavily connected nodes into line. Unknown nodes are an error.
        mean_position: each node's mean position in the cases; decides which
            arrows point forward. Missing nodes rank after all known ones.
        first / last: nodes forced alone onto the top / bottom layer (the
            artificial start and end).
        layer_gap / node_gap / margin / waypoint_width: spacing in pixels.
        sweeps: barycentre sweeps for crossing reduction.

    >>> lay = layered_layout({"a": (80, 30), "b": (80, 30), "c": (80, 30)},
    ...                      [("a", "b", 5), ("b", "c", 5), ("c", "b", 1)], {"a": 0, "b": 1, "c": 2})
    >>> [lay.nodes[n].layer for n in "abc"], [e.kind for e in lay.edges]
    ([0, 1, 2], ['forward', 'forward', 'back'])
    """
    for source, target, _ in edges:
        for node in (source, target):
            if node not in sizes:
                raise ValueError(f"process map edge {source!r} → {target!r}: node {node!r} has no size")
    rank = _ranks(sizes, mean_position, first, last, edges)
    kinds = [_kind(rank, s, t) for s, t, _ in edges]
    layer = _layers(sizes, edges, kinds, rank, first, last)
    # Once layered, the drawing decides: an arrow pointing down is forward even when its target
    # usually comes earlier; one between nodes of the same layer is flat.
    kinds = [
        kind if kind == "self" else _drawn_kind(layer[s], layer[t])
        for kind, (s, t, _) in zip(kinds, edges, strict=True)
    ]

    chains, widths, is_waypoint = _proper_chains(edges, kinds, layer, sizes, waypoint_width)
    n_layers = max(layer.values(), default=-1) + 1
    members_of_layer: list[list[str]] = [[] for _ in range(n_layers)]
    for node in sorted(sizes, key=rank.__getitem__):
        members_of_layer[layer[node]].append(node)
    for chain in chains:
        for depth, member in enumerate(chain.members[1:-1], start=layer[chain.upper] + 1):
            members_of_layer[depth].append(member)
            layer[member] = depth

    up, down = _neighbours(chains, edges)
    order, crossings = _order(members_of_layer, up, down, rank, sweeps)
    x = _coordinates(order, up, down, widths, is_waypoint, node_gap)

    row_height = max((h for _, h in sizes.values()), default=0.0)
    min_x = min((x[n] - widths[n] / 2 for layer_nodes in order for n in layer_nodes), default=0.0)
    shift = margin - min_x
    placed = {
        node: PlacedNode(node, x[node] + shift, margin + layer[node] * (row_height + layer_gap) + row_height / 2,
                         w, h, layer[node])
        for node, (w, h) in sizes.items()
    }
    waypoint_at = {
        m: (x[m] + shift, margin + layer[m] * (row_height + layer_gap) + row_height / 2)
        for m in is_waypoint if is_waypoint[m]
    }
    routed = _routes(edges, kinds, chains, placed, waypoint_at)
    # Everything drawn must fit: boxes, arrows through waypoints, and the loops and C-shaped back
    # arrows that bulge out to the right of their boxes (with room for their labels).
    extents = [n.right for n in placed.values()] + [x + waypoint_width for x, _ in waypoint_at.values()]
    for edge in routed:
        if edge.kind == "self":
            extents.append(placed[edge.source].right + 36.0 + 40.0)
        elif edge.kind == "back" and len(edge.points) == 2:
            (x0, y0), (x1, y1) = edge.points
            extents.append(max(x0, x1) + 0.75 * turn_depth(x0, y0, x1, y1) + 40.0)
    width = max(extents, default=0.0) + margin
    height = margin * 2 + n_layers * row_height + max(n_layers - 1, 0) * layer_gap
    return Layout(placed, routed, width, height, crossings)


def turn_depth(x0: float, y0: float, x1: float, y1: float) -> float:
    """How far an arrow that must turn around (a C-shaped back arrow, an arc over a layer) bulges out."""
    return 30.0 + abs(y1 - y0) * 0.08 + abs(x1 - x0) * 0.06


def _ranks(sizes, mean_position, first, last, edges=()) -> dict[str, int]:
    """The top-to-bottom order: by mean position, then each node moved to where the arrows pointing
    backwards weigh least.

    Mean position alone misplaces activities that happen all along a case (an amount change early
    in some cases and just before Closed Won in most): the busy arrows through them would point
    back up. Moving one node at a time to the place that minimises the total weight of backward
    arrows (ties: the place nearest its mean-position rank) keeps the heavy flow pointing down.
    """
    unknown = max(mean_position.values(), default=0.0) + 1.0

    def key(node: str) -> tuple[int, float, str]:
        bucket = 0 if node == first else 2 if node == last else 1
        return bucket, float(mean_position.get(node, unknown)), node

    order = sorted(sizes, key=key)
    initial = {node: i for i, node in enumerate(order)}
    incoming: dict[str, list[tuple[str, float]]] = defaultdict(list)
    outgoing: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for source, target, weight in edges:
        if source != target:
            outgoing[source].append((target, float(weight)))
            incoming[target].append((source, float(weight)))
    movable = [n for n in order if n not in (first, last)]
    for _ in range(4):
        before = list(order)
        for node in movable:
            order.remove(node)
            low = 1 if first in initial else 0
            high = len(order) - (1 if last in initial else 0)
            position = {n: i for i, n in enumerate(order)}
            best, best_cost = None, None
            for slot in range(low, high + 1):
                # Inserted before order[slot]: predecessors at >= slot and successors at < slot point back.
                cost = sum(w for u, w in incoming[node] if position[u] >= slot)
                cost += sum(w for v, w in outgoing[node] if position[v] < slot)
                tie = abs(slot - initial[node])
                if best_cost is None or (cost, tie) < best_cost:
                    best, best_cost = slot, (cost, tie)
            order.insert(best, node)
        if order == before:
            break
    return {node: i for i, node in enumerate(order)}


def _kind(rank: Mapping[str, int], source: str, target: str) -> str:
    if source == target:
        return "self"
    return "forward" if rank[source] < rank[target] else "back"


def _drawn_kind(source_layer: int, target_layer: int) -> str:
    if source_layer < target_layer:
        return "forward"
    return "back" if source_layer > target_layer else "flat"


def _layers(sizes, edges, kinds, rank, first, last) -> dict[str, int]:
    """Longest path over forward arrows, visiting nodes in rank order (a topological order for them).

    A node reached only by back arrows (it usually comes early, but here only later steps lead to
    it) joins the layer of the node ranked just before it rather than floating up to the top.
    """
    incoming: dict[str, list[str]] = defaultdict(list)
    for (source, target, _), kind in zip(edges, kinds, strict=True):
        if kind == "forward":
            incoming[target].append(source)
    floor = 1 if first is not None and first in sizes else 0
    layer: dict[str, int] = {}
    previous: str | None = None
    for node in sorted(sizes, key=rank.__getitem__):
        if node == first:
            layer[node] = 0
        elif incoming[node] or previous is None:
            layer[node] = max([layer[s] + 1 for s in incoming[node]] + [floor])
        else:
            layer[node] = max(layer[previous], floor)
        previous = node
    if last is not None and last in sizes:
        layer[last] = max([v + 1 for n, v in layer.items() if n != last] + [0])
    return layer


def _proper_chains(edges, kinds, layer, sizes, waypoint_width):
    chains: list[_Chain] = []
    widths = {node: w for node, (w, _) in sizes.items()}
    is_waypoint = dict.fromkeys(sizes, False)
    for index, ((source, target, _), kind) in enumerate(zip(edges, kinds, strict=True)):
        if kind not in ("forward", "back"):
            continue
        upper, lower = (source, target) if kind == "forward" else (target, source)
        waypoints = [f"\0waypoint {index} {depth}" for depth in range(layer[upper] + 1, layer[lower])]
        for w in waypoints:
            widths[w] = waypoint_width
            is_waypoint[w] = True
        chains.append(_Chain(index, upper, lower, [upper, *waypoints, lower], kind == "back"))
    return chains, widths, is_waypoint


def _neighbours(chains, edges):
    """Weighted neighbours of every node in the layer above (``up``) and below (``down``)."""
    up: dict[str, list[tuple[str, float]]] = defaultdict(list)
    down: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for chain in chains:
        weight = math.sqrt(max(float(edges[chain.index][2]), 0.0)) + 0.1
        for a, b in zip(chain.members, chain.members[1:], strict=False):
            down[a].append((b, weight))
            up[b].append((a, weight))
    return up, down


def _order(layers: list[list[str]], up, down, rank, sweeps) -> tuple[list[list[str]], int]:
    order = [list(nodes) for nodes in layers]
    # First pass: place every layer by its upper neighbours so waypoints start near their chain.
    _sweep(order, up, range(1, len(order)), -1)
    best = [list(nodes) for nodes in order]
    best_crossings = _crossings(order, down)
    for i in range(sweeps):
        if i % 2 == 0:
            _sweep(order, up, range(1, len(order)), -1)
        else:
            _sweep(order, down, range(len(order) - 2, -1, -1), +1)
        crossings = _crossings(order, down)
        if crossings < best_crossings:
            best, best_crossings = [list(nodes) for nodes in order], crossings
        if best_crossings == 0:
            break
    return best, best_crossings


def _sweep(order, neighbours, layer_indices, direction) -> None:
    for i in layer_indices:
        position = {node: p for p, node in enumerate(order[i + direction])}
        current = {node: p for p, node in enumerate(order[i])}

        def barycentre(node: str, position=position, current=current) -> tuple[float, float]:
            linked = [(position[n], w) for n, w in neighbours.get(node, ()) if n in position]
            if not linked:
                return current[node], current[node]
            total = sum(w for _, w in linked)
            return sum(p * w for p, w in linked) / total, current[node]

        order[i].sort(key=barycentre)


def _crossings(order, down) -> int:
    """Crossings between consecutive layers, counted as inversions (O(E log E) per layer pair)."""
    total = 0
    for upper, lower in zip(order, order[1:], strict=False):
        position = {node: p for p, node in enumerate(lower)}
        ends = [position[n] for node in upper for n, _ in sorted(down.get(node, ()), key=lambda nw: position[nw[0]])]
        total += _inversions(ends)
    return total


def _inversions(values: list[int]) -> int:
    if len(values) < 2:
        return 0
    size = max(values) + 1
    tree = [0] * (size + 1)
    inversions = 0
    for seen, v in enumerate(values):
        # Earlier segments ending to the right of this one cross it.
        i, not_greater = v + 1, 0
        while i > 0:
            not_greater += tree[i]
            i -= i & -i
        inversions += seen - not_greater
        i = v + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
    return inversions


def _coordinates(order, up, down, widths, is_waypoint, node_gap) -> dict[str, float]:
    def gap(a: str, b: str) -> float:
        spacing = node_gap / 3 if is_waypoint[a] and is_waypoint[b] else node_gap
        return (widths[a] + widths[b]) / 2 + spacing

    x: dict[str, float] = {}
    for nodes in order:
        position = 0.0
        for i, node in enumerate(nodes):
            if i:
                position += gap(nodes[i - 1], node)
            x[node] = position
        centre = position / 2
        for node in nodes:
            x[node] -= centre

    def place(nodes: list[str], linked) -> None:
        wished = []
        for node in nodes:
            neighbours = [(x[n], w) for n, w in linked(node)]
            total = sum(w for _, w in neighbours)
            wished.append(sum(p * w for p, w in neighbours) / total if total else x[node])
        # Real nodes hold their place more firmly than waypoints, so arrows bend rather than boxes.
        weights = [1.0 if is_waypoint[n] else 2.0 for n in nodes]
        separations = [0.0] + [gap(a, b) for a, b in zip(nodes, nodes[1:], strict=False)]
        for node, value in zip(nodes, _closest_ordered(wished, weights, separations), strict=True):
            x[node] = value

    def above(node):
        return up.get(node, ())

    def below(node):
        return down.get(node, ())

    def both(node):
        return [*up.get(node, ()), *down.get(node, ())]

    for _ in range(4):
        for nodes in order[1:]:
            place(nodes, above)
        for nodes in reversed(order[:-1]):
            place(nodes, below)
    for _ in range(4):
        for nodes in order:
            place(nodes, both)
    return x


def _closest_ordered(wished: list[float], weights: list[float], separations: list[float]) -> list[float]:
    """Positions minimising Σ weight·(x − wished)² with x[i+1] − x[i] ≥ separations[i+1] (exact, O(n))."""
    offsets = []
    running = 0.0
    for s in separations:
        running += s
        offsets.append(running)
    # Subtracting the cumulative separations turns the constraint into "non-decreasing": pool adjacent violators.
    blocks: list[list[float]] = []  # [mean, weight, count]
    for target, weight, offset in zip(wished, weights, offsets, strict=True):
        blocks.append([target - offset, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean_b, weight_b, count_b = blocks.pop()
            mean_a, weight_a, count_a = blocks[-1]
            total = weight_a + weight_b
            blocks[-1] = [(mean_a * weight_a + mean_b * weight_b) / total, total, count_a + count_b]
    values = [mean for mean, _, count in blocks for _ in range(count)]
    return [v + o for v, o in zip(values, offsets, strict=True)]


def _routes(edges, kinds, chains, placed, waypoint_at) -> list[RoutedEdge]:
    """Points and end directions of every arrow; arrows sharing one side of a node get separate ports.

    Forward arrows leave their source's bottom and enter their target's top.
    Back arrows leave and enter on the left or right side (whichever their
    route lies on), so they never share ports or labels with the forward flow
    between the same two layers; when the route starts or ends right above /
    below the node they use its top / bottom instead of turning around a corner.
    Flat arrows join facing sides when no other box sits between the two nodes,
    else they arc over the layer from top to top.
    """
    chain_of = {chain.index: chain for chain in chains}
    # (node, side) -> [(sort key, edge index, "out"/"in")]
    ports: dict[tuple[str, str], list[tuple[float, int, str]]] = defaultdict(list)
    directions: dict[int, tuple[Point, Point]] = {}

    def centre(member: str) -> Point:
        return waypoint_at[member] if member in waypoint_at else (placed[member].x, placed[member].y)

    def beside(box: PlacedNode, x: float) -> str | None:
        if box.left + 8 <= x <= box.right - 8:
            return None
        return "right" if x > box.x else "left"

    for chain in chains:
        if not chain.reversed:
            ports[(chain.upper, "bottom")].append((centre(chain.members[1])[0], chain.index, "out"))
            ports[(chain.lower, "top")].append((centre(chain.members[-2])[0], chain.index, "in"))
            directions[chain.index] = ((0.0, 1.0), (0.0, 1.0))
            continue
        # A back arrow runs from the lower node (its source) up to the upper node (its target).
        source, target = placed[chain.lower], placed[chain.upper]
        if len(chain.members) > 2:
            first_x, last_x = centre(chain.members[-2])[0], centre(chain.members[1])[0]
            leave, enter = beside(source, first_x) or "top", beside(target, last_x) or "bottom"
        else:
            leave = enter = "right"
        ports[(chain.lower, leave)].append((_port_key(leave, source, placed[chain.upper]), chain.index, "out"))
        ports[(chain.upper, enter)].append((_port_key(enter, target, source), chain.index, "in"))
        directions[chain.index] = (_SIDE_OUT[leave], _SIDE_IN[enter])

    for index, ((source, target, _), kind) in enumerate(zip(edges, kinds, strict=True)):
        if kind != "flat":
            continue
        a, b = placed[source], placed[target]
        between = any(
            n.layer == a.layer and min(a.x, b.x) < n.x < max(a.x, b.x) for n in placed.values()
        )
        if between:
            ports[(source, "top")].append((b.x, index, "out"))
            ports[(target, "top")].append((a.x, index, "in"))
            directions[index] = ((0.0, -1.0), (0.0, 1.0))
        else:
            leave, enter = ("right", "left") if a.x < b.x else ("left", "right")
            ports[(source, leave)].append((float(index), index, "out"))
            ports[(target, enter)].append((float(index), index, "in"))
            directions[index] = (_SIDE_OUT[leave], _SIDE_IN[enter])

    port_at: dict[tuple[int, str], Point] = {}
    for (node, side), items in ports.items():
        box = placed[node]
        items.sort()
        n = len(items)
        if side in ("top", "bottom"):
            spacing = min(14.0, box.width * 0.7 / (n - 1)) if n > 1 else 0.0
            y = box.bottom if side == "bottom" else box.top
            for k, (_, index, end) in enumerate(items):
                port_at[(index, end)] = (box.x + (k - (n - 1) / 2) * spacing, y)
        else:
            spacing = min(10.0, box.height * 0.6 / (n - 1)) if n > 1 else 0.0
            x = box.right if side == "right" else box.left
            for k, (_, index, end) in enumerate(items):
                port_at[(index, end)] = (x, box.y + (k - (n - 1) / 2) * spacing)

    routed = []
    for index, ((source, target, weight), kind) in enumerate(zip(edges, kinds, strict=True)):
        edge = RoutedEdge(source, target, float(weight), kind)
        if kind in ("forward", "back"):
            chain = chain_of[index]
            waypoints = [waypoint_at[m] for m in chain.members[1:-1]]
            if chain.reversed:
                waypoints.reverse()
            edge.points = [port_at[(index, "out")], *waypoints, port_at[(index, "in")]]
        elif kind == "flat":
            edge.points = [port_at[(index, "out")], port_at[(index, "in")]]
        if index in directions:
            edge.start_direction, edge.end_direction = directions[index]
        routed.append(edge)
    return routed


# Travel direction when leaving through / entering through each side of a box.
_SIDE_OUT: dict[str, Point] = {"top": (0.0, -1.0), "bottom": (0.0, 1.0), "left": (-1.0, 0.0), "right": (1.0, 0.0)}
_SIDE_IN: dict[str, Point] = {"top": (0.0, 1.0), "bottom": (0.0, -1.0), "left": (1.0, 0.0), "right": (-1.0, 0.0)}


def _port_key(side: str, box: PlacedNode, other: PlacedNode) -> float:
    """Order ports along a side so arrows heading further away sit further out and do not cross."""
    if side in ("top", "bottom"):
        return other.x
    return -other.y
