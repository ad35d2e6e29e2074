"""Pictures of definitions and cases for people: SVG state diagrams and timelines, and PNG copies for reports."""

from laworkflow.pictures.history import DeadlineRow, Milestone, Step, Timeline, steps_from_history, timeline_from_history
from laworkflow.pictures.png import svg_to_png
from laworkflow.pictures.state_diagram import state_diagram_svg
from laworkflow.pictures.timeline import timeline_svg

__all__ = [
    "DeadlineRow",
    "Milestone",
    "Step",
    "Timeline",
    "state_diagram_svg",
    "steps_from_history",
    "svg_to_png",
    "timeline_from_history",
    "timeline_svg",
]
