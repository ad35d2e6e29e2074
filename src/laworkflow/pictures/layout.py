"""Where each box of a layered drawing goes: grandalf's Sugiyama layout, the one `dot` uses.

Sugiyama puts a directed graph in layers, from its roots down, orders each layer
to cross as few edges as it can and routes long edges through the layers they
pass. grandalf is a small pure-Python implementation of it, so the pictures need
no Graphviz binary on the machine that draws them. Each connected part is laid
out on its own and the parts are set side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from grandalf.graphs import Edge, Graph, Vertex  # type: ignore[import-untyped]  # grandalf ships no type information
from grandalf.layouts import SugiyamaLayout  # type: ignore[import-untyped]

Point = tuple[float, float]
GAP_X = 28.0  # between boxes of one layer, and between parts
GAP_Y = 34.0  # between layers


class _View:
    """What grandalf reads and writes on a vertex: its size, and the centre it is given."""

    def __init__(self, w: float, h: float) -> None:
        self.w, self.h = w, h
        self.xy: Point = (0.0, 0.0)


class _Route:
    """What grandalf writes on an edge: the points it passes, one per layer."""

    def __init__(self) -> None:
        self.points: list[Point] = []

    def setpath(self, points: list[Point]) -> None:
        self.points = [(float(x), float(y)) for x, y in points]


@dataclass
class Layout:
    """Centres of the boxes, the points of each edge (source centre to target centre), and the size of the whole."""

    centres: dict[str, Point] = field(default_factory=dict)
    routes: list[list[Point]] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


def layered(sizes: dict[str, tuple[float, float]], edges: Sequence[tuple[str, str]], roots: Sequence[str] = ()) -> Layout:
    """Lay out boxes of the given (width, height) joined by directed `edges` (no self-loops), `roots` on top where given."""
    vertices = {name: Vertex(name) for name in sizes}
    for name, (w, h) in sizes.items():
        vertices[name].view = _View(w, h)
    grand_edges = []
    for source, target in edges:
        edge = Edge(vertices[source], vertices[target])
        edge.view = _Route()
        grand_edges.append(edge)
    graph = Graph(list(vertices.values()), grand_edges)
    layout = Layout(routes=[[] for _ in edges])
    left = 0.0
    for part in graph.C:
        sugiyama = SugiyamaLayout(part)
        sugiyama.xspace, sugiyama.yspace = GAP_X, GAP_Y
        top = [v for v in part.sV if v.data in roots] or None
        sugiyama.init_all(roots=top)
        sugiyama.draw()
        boxes = list(part.sV)
        low_x = min(v.view.xy[0] - v.view.w / 2 for v in boxes)
        low_y = min(v.view.xy[1] - v.view.h / 2 for v in boxes)
        high_x = max(v.view.xy[0] + v.view.w / 2 for v in boxes)
        high_y = max(v.view.xy[1] + v.view.h / 2 for v in boxes)
        for v in boxes:
            layout.centres[v.data] = (v.view.xy[0] - low_x + left, v.view.xy[1] - low_y)
        for index, edge in enumerate(grand_edges):
            if edge in part.sE:
                layout.routes[index] = [(x - low_x + left, y - low_y) for x, y in edge.view.points]
        left += high_x - low_x + GAP_X
        layout.height = max(layout.height, high_y - low_y)
    layout.width = max(left - GAP_X, 0.0)
    return layout


__all__ = ["Layout", "Point", "layered"]
