"""Pictures of definitions and cases for people: SVG state diagrams and timelines, and PNG copies for reports."""

__all__ = []  # filled as the pictures are added
