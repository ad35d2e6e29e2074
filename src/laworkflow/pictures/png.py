"""PNG copies of the pictures, for reports and documents that cannot hold SVG: drawn by resvg.

resvg (through resvg-py) is a complete SVG renderer in Rust, shipped as a wheel:
no browser, Cairo or Inkscape on the machine. It finds the system's fonts itself;
the pictures name Arial first and DejaVu Sans or Liberation Sans after it, so
the text is drawn on a Linux server without Arial too. The background is white,
as the pictures are, so a PNG looks the same on a dark page.
"""

from __future__ import annotations

import resvg_py

from laworkflow.errors import InvalidData


def svg_to_png(svg: str, *, scale: float = 2.0) -> bytes:
    """The SVG drawn as PNG, `scale` times its own size (2: sharp on a high-density screen or in print)."""
    if not scale > 0:
        raise InvalidData(f"a PNG's scale must be above 0, not {scale!r}")
    try:
        return bytes(resvg_py.svg_to_bytes(svg_string=svg, zoom=scale, background="#ffffff"))
    except ValueError as error:
        raise InvalidData(f"cannot draw the picture as PNG: {error}") from None


__all__ = ["svg_to_png"]
