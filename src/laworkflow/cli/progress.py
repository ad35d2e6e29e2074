"""Progress on long work: a bar on standard error while a national simulation, an index rebuild, an export or an import runs.

A ten-year national simulation takes seconds with nothing on the screen, which
reads as a hang. So these commands show a rich progress bar — on standard
error, so standard output stays the result — but only for a person: when
standard error is a terminal and `--json` was not asked for. Piped, redirected
to a file or read by a script, they print no bar, no carriage return and no
escape code, exactly as before. The bar is transient: it is wiped when the work
ends, leaving the command's own output.

Where the work has a measure the bar fills by it (the simulated days of the
national simulation, the steps of an import); where it is one call into the
library (an export, a rebuild) the bar pulses with the time elapsed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

from laworkflow.calendar.clock import SimulatedClock, uk_date


def wanted(as_json: bool) -> bool:
    """A bar only for a person at a terminal: not with --json, not when standard error is piped or a file."""
    return not as_json and sys.stderr.isatty()


class Bar:
    """One task of a progress display, or nothing at all when no bar is wanted (every method then does nothing)."""

    def __init__(self, progress: Progress | None = None, task: TaskID | None = None):
        self.progress, self.task = progress, task

    def update(self, *, completed: float | None = None, description: str | None = None) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=completed, description=description)

    def step(self, description: str) -> None:
        """One step of a measured sequence done; the next one named."""
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, advance=1, description=description)


@contextmanager
def bar(description: str, *, as_json: bool, total: float | None = None) -> Iterator[Bar]:
    """A progress bar on standard error for the work inside, when one is wanted; `total` None makes it pulse."""
    if not wanted(as_json):
        yield Bar()
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        yield Bar(progress, progress.add_task(description, total=total))


class ReportingClock(SimulatedClock):
    """A simulated clock that moves a bar as it moves: the days simulated out of the days to simulate."""

    def __init__(self, start: date, bar: Bar):
        super().__init__(start)
        self.first, self.bar = start, bar

    def advance_to(self, moment: datetime | date | str) -> datetime:
        now = super().advance_to(moment)
        self.bar.update(completed=(uk_date(now) - self.first).days)
        return now


__all__ = ["Bar", "ReportingClock", "bar", "wanted"]
