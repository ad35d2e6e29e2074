"""A case's timeline as SVG: each deadline's window on a date axis against the day it was met, and the milestones.

One row per deadline (as `laworkflow.pictures.history.timeline_from_history`
reads them): a bar from the day it was set to the day it is due, the window
(earliest to due) filled, ticks at the earliest, target and due dates, and a
marker for what became of it, each shape saying it as well as its colour: a
green circle met on time (or early), a red diamond met late, a red cross missed,
a grey square withdrawn, a hollow circle still pending (at `today`). Every
marker has its words beside it and every row its dates in full on the left.
Below, one line per milestone: a diamond on the day the case entered a state,
with the state's name.

`today` stretches the axis only while something waits on it (a deadline
pending, or missed and not yet met): a case that ended years ago keeps its own
span, and the picture says in words that today lies beyond it.

Hooks: `<g class="deadline STATUS [TIMING]" data-deadline=… data-due=… data-status=…
[data-met-on=…]>` and `<g class="milestone" data-state=… data-date=…>`.
"""

from __future__ import annotations

from datetime import date, timedelta
from xml.sax.saxutils import escape

from laworkflow.pictures.history import DeadlineRow, Milestone, Timeline
from laworkflow.pictures.svg import (
    BLUE,
    GREEN,
    GREY,
    INK,
    LIGHT_GREY,
    RED,
    SIZE,
    SMALL,
    VISITED_FILL,
    WHITE,
    attr,
    document,
    prefix_for,
    text,
    text_width,
)

MARGIN = 16.0
PLOT = 760.0  # width of the date axis
ROW = 58.0
MILESTONE_ROW = 18.0
HALO = f' stroke="{WHITE}" stroke-width="3" stroke-linejoin="round" paint-order="stroke"'  # keeps words readable where a line crosses them
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _short(day: date, with_year: bool) -> str:
    """ "12 Jul" (or "12 Jul 2013" when the picture spans years), in English whatever the machine's locale."""
    return f"{day.day} {MONTHS[day.month - 1]}" + (f" {day.year}" if with_year else "")


class _Axis:
    """Days to x: each day is a slot of equal width, a date is the middle of its slot."""

    def __init__(self, first: date, last: date, left: float) -> None:
        self.first, self.last, self.left = first, last, left
        self.per_day = PLOT / ((last - first).days + 1)
        self.with_year = first.year != last.year

    def x(self, day: date) -> float:
        return self.left + ((day - self.first).days + 0.5) * self.per_day

    def ticks(self) -> list[tuple[date, str]]:
        """Mondays for a span of two months or less, else the first of every month (or of every few)."""
        span = (self.last - self.first).days
        if span <= 62:
            day = self.first + timedelta(days=(7 - self.first.weekday()) % 7)
            found = []
            while day <= self.last:
                found.append((day, _short(day, self.with_year)))
                day += timedelta(days=7)
            return found
        step = max(1, -(-span // 30 // 12))  # at most about twelve labels
        year, month = (self.first.year, self.first.month + 1) if self.first.day > 1 else (self.first.year, self.first.month)
        found = []
        while True:
            year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
            day = date(year, month, 1)
            if day > self.last:
                return found
            found.append((day, f"{MONTHS[month - 1]} {year}"))
            month += step


def _row_text(row: DeadlineRow) -> list[str]:
    window = [f"set {row.set_on.isoformat()}"]
    window += [f"earliest {row.earliest.isoformat()}"] if row.earliest else []
    window += [f"target {row.target.isoformat()}"] if row.target else []
    window.append(f"due {row.due.isoformat()}")
    return [", ".join(window), row.outcome()]


def _marker(row: DeadlineRow, today: date | None) -> tuple[date | None, str, str]:
    """Where the outcome marker goes, its shape and its colour."""
    if row.status == "met":
        return row.met_on, ("diamond" if row.timing == "late" else "circle"), (RED if row.timing == "late" else GREEN)
    if row.status == "missed":
        return row.missed_on or row.due, "cross", RED
    if row.status == "withdrawn":
        return row.withdrawn_on, "square", GREY
    if row.status == "replaced":
        return None, "", GREY
    return today, "hollow", INK


def _shape(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{colour}" stroke="{WHITE}" stroke-width="1.5"/>'
    if shape == "diamond":
        return f'<path d="M{x:.1f},{y - 8:.1f} L{x + 8:.1f},{y:.1f} L{x:.1f},{y + 8:.1f} L{x - 8:.1f},{y:.1f} z" fill="{colour}" stroke="{WHITE}" stroke-width="1.5"/>'
    if shape == "cross":
        return f'<path d="M{x - 6:.1f},{y - 6:.1f} L{x + 6:.1f},{y + 6:.1f} M{x - 6:.1f},{y + 6:.1f} L{x + 6:.1f},{y - 6:.1f}" stroke="{colour}" stroke-width="3"/>'
    if shape == "square":
        return f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="{WHITE}" stroke="{colour}" stroke-width="2.5"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{WHITE}" stroke="{colour}" stroke-width="2.5"/>'


def _deadline(row: DeadlineRow, top: float, axis: _Axis, label_x: float, today: date | None) -> list[str]:
    classes = ["deadline", row.status] + ([row.timing.replace("_", "-")] if row.timing else [])
    hooks = {"deadline": row.id, "status": row.status, "set-on": row.set_on, "due": row.due, "target": row.target, "earliest": row.earliest}
    hooks |= {"met-on": row.met_on, "missed-on": row.missed_on, "withdrawn-on": row.withdrawn_on, "timing": row.timing}
    data = " ".join(f"data-{key}={attr(value.isoformat() if isinstance(value, date) else value)}" for key, value in hooks.items() if value is not None)
    details = _row_text(row)
    out = [f"<g class={attr(' '.join(classes))} {data}>", f"<title>{escape(row.id + ': ' + '; '.join(details))}</title>"]
    out.append(text(label_x, top + 14, row.id, size=SIZE, bold=True))
    out += [text(label_x, top + 30 + index * SMALL * 1.3, line, size=SMALL) for index, line in enumerate(details)]
    bar_y = top + 26
    start = row.earliest or row.set_on
    out.append(f'<line x1="{axis.x(row.set_on):.1f}" y1="{bar_y:.1f}" x2="{axis.x(row.due):.1f}" y2="{bar_y:.1f}" stroke="{GREY}" stroke-width="2"/>')
    left, right = axis.x(start), axis.x(row.due)
    out.append(
        f'<rect x="{left:.1f}" y="{bar_y - 6:.1f}" width="{max(right - left, 2):.1f}" height="12" fill="{VISITED_FILL}" stroke="{BLUE}" stroke-width="1.5"/>'
    )
    for day, word, anchor in ((row.earliest, "earliest", "end"), (row.target, "target", "middle"), (row.due, "due", "start")):
        if day is not None:
            x = axis.x(day)
            out.append(f'<line x1="{x:.1f}" y1="{bar_y - 10:.1f}" x2="{x:.1f}" y2="{bar_y + 10:.1f}" stroke="{INK}" stroke-width="2"/>')
            shift = {"end": -3.0, "middle": 0.0, "start": 3.0}[anchor]
            out.append(text(x + shift, bar_y - 12, f"{word} {_short(day, axis.with_year)}", size=SMALL, anchor=anchor))
    day, shape, colour = _marker(row, today)
    if day is not None and axis.first <= day <= axis.last:
        x = axis.x(day)
        words = row.outcome().split(",")[0] if row.status != "pending" else f"pending on {_short(day, axis.with_year)}"
        if row.status == "met":
            words = f"met {_short(day, axis.with_year)}" + (" (late)" if row.timing == "late" else " (early)" if row.timing == "early" else "")
        elif row.status in ("missed", "withdrawn"):
            words = f"{row.status} {_short(day, axis.with_year)}"
        out.append(_shape(shape, x, bar_y, colour))
        out.append(text(x, bar_y + 22, words, size=SMALL, anchor="middle", bold=True, extra=HALO))
    out.append("</g>")
    return out


def _milestone(milestone: Milestone, y: float, axis: _Axis, label_x: float) -> list[str]:
    x = axis.x(milestone.on)
    words = f"{milestone.on.isoformat()} {milestone.state}" + (f" ({milestone.trigger})" if milestone.trigger != "start" else " (started)")
    far_right = x > axis.left + PLOT * 0.6
    return [
        f'<g class="milestone" data-state={attr(milestone.state)} data-date="{milestone.on.isoformat()}" data-trigger={attr(milestone.trigger)}>',
        f'<line x1="{label_x:.1f}" y1="{y:.1f}" x2="{axis.left + PLOT:.1f}" y2="{y:.1f}" stroke="{LIGHT_GREY}" stroke-width="0.5" aria-hidden="true"/>',
        f'<path d="M{x:.1f},{y - 6:.1f} L{x + 6:.1f},{y:.1f} L{x:.1f},{y + 6:.1f} L{x - 6:.1f},{y:.1f} z" fill="{INK}"/>',
        text(x - 10 if far_right else x + 10, y + 4, words, size=SMALL, anchor="end" if far_right else "start", extra=HALO),
        "</g>",
    ]


def _description(timeline: Timeline, today: date | None) -> str:
    parts = [f"Timeline of {len(timeline.deadlines)} deadlines and {len(timeline.milestones)} milestones."]
    parts += [f"{row.id}: {'; '.join(_row_text(row))}." for row in timeline.deadlines]
    parts += [f"Entered {m.state} on {m.on.isoformat()}." for m in timeline.milestones]
    if today is not None:
        parts.append(f"Today is {today.isoformat()}.")
    return " ".join(parts)


def timeline_svg(timeline: Timeline, *, today: date | None = None, title: str | None = None) -> str:
    """An SVG timeline of a case's deadlines and milestones (see the module); `today` marks the day and places pending markers."""
    heading = title or "Deadlines and milestones"
    prefix = prefix_for("timeline", repr(timeline), str(today), heading)
    waiting = any(row.status in ("pending", "missed") for row in timeline.deadlines)
    beyond = today is not None and not waiting and bool(timeline.dates()) and not min(timeline.dates()) <= today <= max(timeline.dates())
    note = f"Today, {today.isoformat()}, is outside the dates shown." if today is not None and beyond else None
    today = None if beyond else today
    days = timeline.dates() + ([today] if today else [])
    label_w = max(
        [text_width(row.id, SIZE, bold=True) for row in timeline.deadlines]
        + [text_width(line, SMALL) for row in timeline.deadlines for line in _row_text(row)]
        + [120.0]
    )
    label_x = MARGIN
    plot_left = MARGIN + label_w + 24
    width = plot_left + PLOT + MARGIN + 80  # room for the last date's words
    body = [text(MARGIN, MARGIN + SIZE + 2, heading, size=SIZE + 2, bold=True)]
    if not days:
        body.append(text(MARGIN, MARGIN + 44, "Nothing to show yet: no deadline has been set and no state entered.", size=SIZE))
        return document(width, MARGIN * 2 + 56, heading, "An empty timeline: no deadlines or milestones yet.", body, prefix=prefix, kind="timeline")
    axis = _Axis(min(days) - timedelta(days=2), max(days) + timedelta(days=2), plot_left)
    axis.with_year = min(days).year != max(days).year  # the two days of margin may cross a new year no date is in
    axis_y = MARGIN + 44
    rows_top = axis_y + 16
    milestones_top = rows_top + ROW * len(timeline.deadlines) + 24
    bottom = milestones_top + 20 + MILESTONE_ROW * len(timeline.milestones)
    grid = [
        '<g class="axis" aria-hidden="true">',
        f'<line x1="{plot_left:.1f}" y1="{axis_y:.1f}" x2="{plot_left + PLOT:.1f}" y2="{axis_y:.1f}" stroke="{INK}"/>',
    ]
    for day, label in axis.ticks():
        x = axis.x(day)
        grid.append(f'<line x1="{x:.1f}" y1="{axis_y - 4:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" stroke="{LIGHT_GREY}" stroke-width="0.75"/>')
        grid.append(text(x, axis_y - 8, label, size=SMALL, anchor="middle", fill=GREY))
    grid.append("</g>")
    body += grid
    if today is not None:
        x = axis.x(today)
        body += [
            f'<g class="today" data-date="{today.isoformat()}">',
            f'<line x1="{x:.1f}" y1="{axis_y:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" stroke="{RED}" stroke-width="2" stroke-dasharray="5 3"/>',
            text(x + 4, bottom + 14, f"today {today.isoformat()}", size=SMALL, bold=True),
            "</g>",
        ]
    for index, row in enumerate(timeline.deadlines):
        body += _deadline(row, rows_top + ROW * index, axis, label_x, today)
    if timeline.milestones:
        body.append(text(label_x, milestones_top + SIZE, "Milestones (state entered)", size=SIZE, bold=True))
        for index, milestone in enumerate(timeline.milestones):
            body += _milestone(milestone, milestones_top + 20 + MILESTONE_ROW * index + MILESTONE_ROW / 2, axis, label_x)
    if note is not None:
        body.append(f'<g class="today-outside">{text(label_x, bottom + 14, note, size=SMALL)}</g>')
    height = bottom + (32 if today is not None or note is not None else 16) + MARGIN
    description = _description(timeline, today) + (f" {note}" if note else "")
    return document(width, height, heading, description, body, prefix=prefix, kind="timeline")


__all__ = ["timeline_svg"]
