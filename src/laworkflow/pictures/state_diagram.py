"""The state diagram of a workflow definition as SVG, and of one case: the path it took and where it is now.

States are boxes, laid out in layers by `laworkflow.pictures.layout`; a dot
with an arrow points at the initial state and end states have a double border.
Each (source, target) pair is one arrow whose label lists its triggers with a
summary of their guards (`laworkflow.definitions.diagram.edge_groups`); the
label is itself a box of the layout, so labels never sit on one another. All
the triggers that keep a case in its state are one loop beside the box, labelled
once. An arrow whose trigger a timer fires is dashed and names the timer.

Given a case's steps, the arrows it took are thick and blue and their triggers
numbered by step ("step 2: give_notice"), the states it passed through thick
and filled, and its current state double-bordered, yellow and labelled
"current state": each highlight has a sign besides its colour.

Tests and the web pages find the parts by stable hooks:
`<g class="state [initial] [terminal] [visited] [current]" data-state="NAME">` and
`<g class="edge [self-loop] [timer] [taken]" data-source=… data-target=… data-triggers="a b">`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from laworkflow.definitions.diagram import EdgeGroup, edge_groups
from laworkflow.definitions.model import Definition
from laworkflow.pictures.history import Step
from laworkflow.pictures.layout import Point, layered
from laworkflow.pictures.svg import (
    BLUE,
    CURRENT_FILL,
    GREY,
    INK,
    SIZE,
    SMALL,
    VISITED_FILL,
    WHITE,
    arrow_marker,
    attr,
    block_size,
    document,
    lines_block,
    prefix_for,
    text,
    text_width,
)

START = "\x00start"  # the layout's name for the dot before the initial state: no state can be called this
MARGIN = 16.0
LOOP = 30.0  # how far a self-loop reaches out of its box
HEADING = 30.0


@dataclass(frozen=True)
class _Box:
    """A state's box inside the room the layout gave it (wider when a self-loop and its label sit beside it)."""

    name: str
    width: float
    height: float
    room: tuple[float, float]
    loop_lines: tuple[str, ...] = ()
    loop_bold: tuple[bool, ...] = ()

    def centre(self, room_centre: Point) -> Point:
        return (room_centre[0] - self.room[0] / 2 + self.width / 2, room_centre[1])


def _markers(name: str, definition: Definition, current: str | None) -> list[str]:
    words = []
    if name == current:
        words.append("current state")
    if definition.states[name].terminal:
        words.append("end state")
    return [" · ".join(words)] if words else []


def _step_numbers(group: EdgeGroup, steps: Sequence[Step]) -> dict[str, list[int]]:
    numbers: dict[str, list[int]] = {}
    for index, step in enumerate(steps, start=1):
        if (step.source, step.target) == (group.source, group.target):
            numbers.setdefault(step.trigger, []).append(index)
    return numbers


def _label(group: EdgeGroup, numbers: dict[str, list[int]]) -> tuple[list[str], list[bool]]:
    """The label's lines, and which are bold (the triggers the case took, with their step numbers)."""
    lines = [f"timer {timer_id}: {when}" for timer_id, when in group.timers]
    bold = [False] * len(lines)
    for label in group.triggers:
        taken = numbers.get(label.trigger, [])
        prefix = f"step{'s' if len(taken) > 1 else ''} {', '.join(map(str, taken))}: " if taken else ""
        lines.append(prefix + label.text())
        bold.append(bool(taken))
    return lines, bold


def _clip(centre: Point, size: tuple[float, float], toward: Point) -> Point:
    """Where the line from a box's centre toward a point leaves the box."""
    (cx, cy), (w, h) = centre, size
    dx, dy = toward[0] - cx, toward[1] - cy
    if dx == 0 and dy == 0:
        return centre
    scale = min((w / 2) / abs(dx) if dx else float("inf"), (h / 2) / abs(dy) if dy else float("inf"))
    return (cx + dx * scale, cy + dy * scale)


def _path(points: list[Point]) -> str:
    """A smooth path through every point (a Catmull-Rom spline as cubic Béziers), so an arrow passes through its label."""
    parts = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    if len(points) == 2:
        return parts[0] + f" L{points[1][0]:.1f},{points[1][1]:.1f}"
    padded = [points[0], *points, points[-1]]
    for index in range(1, len(padded) - 2):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = padded[index - 1 : index + 3]
        c1 = (x1 + (x2 - x0) / 6, y1 + (y2 - y0) / 6)
        c2 = (x2 - (x3 - x1) / 6, y2 - (y3 - y1) / 6)
        parts.append(f"C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {x2:.1f},{y2:.1f}")
    return " ".join(parts)


def _description(definition: Definition, groups: list[EdgeGroup], steps: Sequence[Step], current: str | None) -> str:
    ends = [name for name, state in definition.states.items() if state.terminal]
    loops = sum(1 for group in groups if group.self_loop)
    text_ = (
        f"State diagram of {definition.key}, {definition.title}: {len(definition.states)} states and {len(groups) - loops} arrows between them, "
        f"{loops} states with triggers that keep a case in them (drawn as one loop each). It starts in {definition.initial}"
        + (f" and ends in {', '.join(ends)}." if ends else ".")
    )
    if steps:
        path = [steps[0].source] + [step.target for step in steps if step.target != step.source]
        text_ += f" This case took {len(steps)} steps: {' → '.join(path)}."
    if current is not None:
        text_ += f" It is now in {current}."
    return text_


def _legend(x: float, top: float, has_case: bool, has_timers: bool) -> tuple[list[str], float]:
    """What the lines and boxes mean, in words beside a sample of each."""
    rows: list[tuple[str, str]] = [
        (f'<line x1="0" y1="0" x2="34" y2="0" stroke="{GREY}" stroke-width="1.5"/>', "a trigger: name [if its guards]"),
    ]
    if has_timers:
        rows.append((f'<line x1="0" y1="0" x2="34" y2="0" stroke="{GREY}" stroke-width="1.5" stroke-dasharray="6 4"/>', "fired by a timer (dashed)"))
    rows.append((f'<rect x="4" y="-7" width="26" height="14" rx="4" fill="{WHITE}" stroke="{INK}" stroke-width="1"/>', "a state"))
    if has_case:
        rows += [
            (f'<line x1="0" y1="0" x2="34" y2="0" stroke="{BLUE}" stroke-width="3.5"/>', "taken by this case (thick, triggers numbered by step)"),
            (f'<rect x="4" y="-7" width="26" height="14" rx="4" fill="{VISITED_FILL}" stroke="{BLUE}" stroke-width="3"/>', "visited (thick border)"),
            (
                f'<rect x="4" y="-7" width="26" height="14" rx="4" fill="{CURRENT_FILL}" stroke="{INK}" stroke-width="3.5"/>',
                "current state (double border, marked in words)",
            ),
        ]
    body = [f'<g class="legend" transform="translate({x:.1f},{top:.1f})">', text(0, SMALL, "Key", size=SMALL, bold=True)]
    for index, (sample, words) in enumerate(rows):
        y = SMALL * 1.6 * (index + 1) + SMALL
        body += [f'<g transform="translate(0,{y - 4:.1f})">{sample}</g>', text(44, y, words, size=SMALL)]
    body.append("</g>")
    return body, SMALL * 1.6 * (len(rows) + 1) + SMALL


def state_diagram_svg(definition: Definition, *, steps: Sequence[Step] = (), current: str | None = None, title: str | None = None) -> str:
    """An SVG state diagram of a definition; with a case's `steps` and `current` state, its path highlighted (see the module)."""
    groups = edge_groups(definition)
    loops = {group.source: group for group in groups if group.self_loop}
    arrows = [group for group in groups if not group.self_loop]
    taken_pairs = {(step.source, step.target) for step in steps}
    visited = {step.source for step in steps} | {step.target for step in steps}
    if steps or current is not None:
        visited |= {definition.initial} | ({current} if current is not None else set())

    boxes: dict[str, _Box] = {}
    sizes: dict[str, tuple[float, float]] = {START: (14.0, 14.0)}
    for name in definition.states:
        markers = _markers(name, definition, current)
        width = max([text_width(name, SIZE, bold=True)] + [text_width(m, SMALL) for m in markers]) + 24
        height = 30.0 + (SMALL * 1.3 if markers else 0)
        room = (width, height)
        lines, bold = _label(loops[name], _step_numbers(loops[name], steps)) if name in loops else ([], [])
        if lines:
            label_w, label_h = block_size(lines)
            room = (width + LOOP + 8 + label_w, max(height, label_h + 4))
        boxes[name] = _Box(name, width, height, room, tuple(lines), tuple(bold))
        sizes[name] = room
    edges: list[tuple[str, str]] = [(START, definition.initial)]
    labels: list[tuple[list[str], list[bool]]] = []
    for index, group in enumerate(arrows):
        lines, bold = _label(group, _step_numbers(group, steps))
        labels.append((lines, bold))
        label_w, label_h = block_size(lines)
        sizes[f"\x00label{index}"] = (label_w + 8, label_h + 4)
        edges += [(group.source, f"\x00label{index}"), (f"\x00label{index}", group.target)]
    layout = layered(sizes, edges, roots=[START])

    prefix = prefix_for("state", definition.key, definition.content_hash(), repr(steps), str(current), str(title))
    top = MARGIN + HEADING
    legend_top = top + layout.height + 20

    def at(point: Point) -> Point:
        return (point[0] + MARGIN, point[1] + top)

    def box_centre(name: str) -> Point:
        return at(boxes[name].centre(layout.centres[name]))

    heading = title or f"{definition.title} ({definition.key})"
    body = [text(MARGIN, MARGIN + SIZE + 2, heading, size=SIZE + 2, bold=True)]
    # Arrows first, so boxes and labels are drawn over their ends.
    start_x, start_y = at(layout.centres[START])
    initial_centre = box_centre(definition.initial)
    initial_end = _clip(initial_centre, (boxes[definition.initial].width, boxes[definition.initial].height), (start_x, start_y))
    body.append(
        f'<g class="start" aria-hidden="true"><circle cx="{start_x:.1f}" cy="{start_y:.1f}" r="7" fill="{INK}"/>'
        f'<path d="{_path([(start_x, start_y + 7), initial_end])}" stroke="{INK}" stroke-width="1.5" fill="none" marker-end="url(#{prefix}-arrow)"/></g>'
    )
    for index, group in enumerate(arrows):
        taken = (group.source, group.target) in taken_pairs
        route = layout.routes[1 + 2 * index] + layout.routes[2 + 2 * index][1:]
        points = [at(p) for p in route]
        source_box, target_box = boxes[group.source], boxes[group.target]
        points[0] = _clip(box_centre(group.source), (source_box.width, source_box.height), points[1])
        points[-1] = _clip(box_centre(group.target), (target_box.width, target_box.height), points[-2])
        body += _edge(group, points, labels[index], at(layout.centres[f"\x00label{index}"]), taken, prefix)
    for name, group in loops.items():
        body += _loop(group, boxes[name], box_centre(name), (name, name) in taken_pairs, prefix)
    for name in definition.states:
        body += _state(name, boxes[name], box_centre(name), definition, visited, current)
    legend, legend_height = _legend(MARGIN, legend_top, bool(steps) or current is not None, any(group.timers for group in groups))
    body += legend
    width = max(layout.width, text_width(heading, SIZE + 2, bold=True), 360.0) + 2 * MARGIN
    height = legend_top + legend_height + MARGIN
    defs = [arrow_marker(f"{prefix}-arrow", GREY), arrow_marker(f"{prefix}-arrow-taken", BLUE, 11.0)]
    return document(width, height, heading, _description(definition, groups, steps, current), body, prefix=prefix, kind="state-diagram", defs=defs)


def _edge_attrs(group: EdgeGroup, taken: bool) -> str:
    classes = ["edge"] + (["self-loop"] if group.self_loop else []) + (["timer"] if group.timers else []) + (["taken"] if taken else [])
    timers = f" data-timers={attr(' '.join(t for t, _ in group.timers))}" if group.timers else ""
    return (
        f"<g class={attr(' '.join(classes))} data-source={attr(group.source)} data-target={attr(group.target)} "
        f"data-triggers={attr(' '.join(group.trigger_names))}{timers}>"
    )


def _stroke(taken: bool, timer: bool, prefix: str) -> str:
    colour, width = (BLUE, 3.5) if taken else (GREY, 1.5)
    dash = ' stroke-dasharray="6 4"' if timer else ""
    marker = f"{prefix}-arrow-taken" if taken else f"{prefix}-arrow"
    return f'stroke="{colour}" stroke-width="{width}" fill="none"{dash} marker-end="url(#{marker})"'


def _edge(group: EdgeGroup, points: list[Point], label: tuple[list[str], list[bool]], label_centre: Point, taken: bool, prefix: str) -> list[str]:
    lines, bold = label
    label_w, label_h = block_size(lines)
    x, y = label_centre
    return [
        _edge_attrs(group, taken),
        f"<title>{_escape_title(group)}</title>",
        f'<path d="{_path(points)}" {_stroke(taken, bool(group.timers), prefix)}/>',
        f'<rect x="{x - label_w / 2 - 3:.1f}" y="{y - label_h / 2 - 2:.1f}" width="{label_w + 6:.1f}" height="{label_h + 4:.1f}" fill="{WHITE}" fill-opacity="0.92"/>',
        *lines_block(x, y - label_h / 2, lines, anchor="middle", bold_lines=bold),
        "</g>",
    ]


def _escape_title(group: EdgeGroup) -> str:
    return escape(f"{group.source} → {group.target}: " + "; ".join(group.lines(short=False)))


def _state(name: str, box: _Box, centre: Point, definition: Definition, visited: set[str], current: str | None) -> list[str]:
    state = definition.states[name]
    classes = ["state"] + [c for c, on in (("initial", name == definition.initial), ("terminal", state.terminal)) if on]
    classes += [c for c, on in (("visited", name in visited), ("current", name == current)) if on]
    cx, cy = centre
    left, top = cx - box.width / 2, cy - box.height / 2
    fill, stroke, width = WHITE, INK, 1.2
    if name in visited:
        fill, stroke, width = VISITED_FILL, BLUE, 3.0
    if name == current:
        fill, stroke, width = CURRENT_FILL, INK, 3.5
    out = [
        f"<g class={attr(' '.join(classes))} data-state={attr(name)}>",
        f"<title>{escape(name + (': ' + state.description if state.description else ''))}</title>",
    ]
    out.append(
        f'<rect x="{left:.1f}" y="{top:.1f}" width="{box.width:.1f}" height="{box.height:.1f}" rx="6" fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>'
    )
    if state.terminal or name == current:  # a second border inside the first
        out.append(
            f'<rect x="{left + 4:.1f}" y="{top + 4:.1f}" width="{box.width - 8:.1f}" height="{box.height - 8:.1f}" rx="3" fill="none" stroke="{stroke}" stroke-width="1.2"/>'
        )
    markers = _markers(name, definition, current)
    name_y = cy + SIZE / 2 - 2 - (SMALL * 0.65 if markers else 0)
    out.append(text(cx, name_y, name, size=SIZE, anchor="middle", bold=name in visited))
    if markers:
        out.append(text(cx, name_y + SMALL * 1.35, markers[0], size=SMALL, anchor="middle"))
    out.append("</g>")
    return out


def _loop(group: EdgeGroup, box: _Box, centre: Point, taken: bool, prefix: str) -> list[str]:
    """One loop out of the box's right side and back, its label to the right of it."""
    cx, cy = centre
    right = cx + box.width / 2
    d = f"M{right:.1f},{cy - 7:.1f} C{right + LOOP:.1f},{cy - 22:.1f} {right + LOOP:.1f},{cy + 22:.1f} {right + 1:.1f},{cy + 7:.1f}"
    lines = list(box.loop_lines)
    label_w, label_h = block_size(lines)
    return [
        _edge_attrs(group, taken),
        f"<title>{_escape_title(group)}</title>",
        f'<path d="{d}" {_stroke(taken, bool(group.timers), prefix)}/>',
        f'<rect x="{right + LOOP + 3:.1f}" y="{cy - label_h / 2 - 2:.1f}" width="{label_w + 6:.1f}" height="{label_h + 4:.1f}" fill="{WHITE}" fill-opacity="0.92"/>',
        *lines_block(right + LOOP + 6, cy - label_h / 2, lines, bold_lines=box.loop_bold),
        "</g>",
    ]


__all__ = ["state_diagram_svg"]
