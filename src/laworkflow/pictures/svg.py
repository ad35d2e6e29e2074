"""What every picture shares: the colours, the font, escaping, and the accessible `<svg>` around a drawing.

The colours are GOV.UK's, chosen for contrast on white (WCAG 2.2 AA: 4.5:1 for
text, 3:1 for lines and shapes): ink #0b0c0c (19:1), secondary #505a5f (7:1),
blue #1d70b8 (5.2:1), red #d4351c (4.9:1), green #00703c (6.2:1); black text on
the light blue and yellow fills is above 14:1, a blue border on light blue 3.9:1. Colour is never the only sign:
what is highlighted is also thicker, dashed, double-bordered or said in words.

Every picture is an `<svg>` with `role="img"`, a `<title>` and a `<desc>` it is
labelled by, and its words as real `<text>`, so a screen reader reads it and a
search finds it. It has no XML prolog, to be inlined in a web page as it is; the
ids it uses start with a prefix made from its own content, so two pictures on
one page never share an id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

INK = "#0b0c0c"
GREY = "#505a5f"
LIGHT_GREY = "#b1b4b6"  # only for decoration that carries nothing (grid lines)
BLUE = "#1d70b8"
RED = "#d4351c"
GREEN = "#00703c"
VISITED_FILL = "#d2e2f1"
CURRENT_FILL = "#ffdd00"
WHITE = "#ffffff"
# Fonts a browser and resvg both find: Arial where it is installed, else the DejaVu or Liberation families of Linux systems.
FONT = "Arial, Helvetica, 'Liberation Sans', 'DejaVu Sans', sans-serif"
SIZE = 13.0  # font size of names
SMALL = 11.0  # font size of labels and notes


def text_width(text: str, size: float = SIZE, *, bold: bool = False) -> float:
    """How wide a line of text is drawn, erring wide: the widest of the fonts above (DejaVu Sans) averages 0.6 em a character."""
    return len(text) * size * (0.66 if bold else 0.61)


def attr(value: object) -> str:
    """An attribute value, quoted and escaped."""
    return quoteattr(str(value))


def text(x: float, y: float, content: str, *, size: float = SMALL, anchor: str = "start", bold: bool = False, fill: str = INK, extra: str = "") -> str:
    """One line of real, escaped `<text>` with its baseline at `y`."""
    weight = ' font-weight="700"' if bold else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" text-anchor="{anchor}" fill="{fill}"{weight}{extra}>{escape(content)}</text>'


def lines_block(x: float, top: float, lines: Sequence[str], *, size: float = SMALL, anchor: str = "start", bold_lines: Sequence[bool] = ()) -> list[str]:
    """Lines of text one under the other, the first line's top at `top`."""
    height = size * 1.3
    return [
        text(x, top + height * index + size, line, size=size, anchor=anchor, bold=index < len(bold_lines) and bold_lines[index])
        for index, line in enumerate(lines)
    ]


def block_size(lines: Sequence[str], size: float = SMALL) -> tuple[float, float]:
    """Width and height of `lines_block` (bold assumed, to leave room)."""
    return max((text_width(line, size, bold=True) for line in lines), default=0.0), size * 1.3 * len(lines)


def prefix_for(*parts: str) -> str:
    """An id prefix made from a picture's content: the same picture always has the same ids, two different ones never share them."""
    return "lw" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:10]


def document(width: float, height: float, title: str, description: str, body: Sequence[str], *, prefix: str, kind: str, defs: Sequence[str] = ()) -> str:
    """The accessible `<svg>` element around a drawing (a string starting `<svg`)."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="laworkflow-picture {kind}" role="img" '
        f'aria-labelledby="{prefix}-title {prefix}-desc" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family={attr(FONT)}>'
    )
    parts = [head, f'<title id="{prefix}-title">{escape(title)}</title>', f'<desc id="{prefix}-desc">{escape(description)}</desc>']
    if defs:
        parts += ["<defs>", *defs, "</defs>"]
    parts.append(f'<rect width="{width:.0f}" height="{height:.0f}" fill="{WHITE}"/>')
    parts += body
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def arrow_marker(marker_id: str, colour: str, size: float = 8.0) -> str:
    """An arrowhead drawn at the end of a line, in the line's colour."""
    return (
        f'<marker id="{marker_id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="{size:g}" markerHeight="{size:g}" '
        f'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
    )


__all__ = [
    "BLUE",
    "CURRENT_FILL",
    "FONT",
    "GREEN",
    "GREY",
    "INK",
    "LIGHT_GREY",
    "RED",
    "SIZE",
    "SMALL",
    "VISITED_FILL",
    "WHITE",
    "arrow_marker",
    "attr",
    "block_size",
    "document",
    "lines_block",
    "prefix_for",
    "text",
    "text_width",
]
