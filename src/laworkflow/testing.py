"""For embedders' own tests: an engine on a simulated clock and an in-memory store.

from laworkflow.testing import simulated_engine
engine = simulated_engine(start="2013-06-03")
case = engine.start("ofsted-laassi", {...}, actor="test")
engine.run_due(until="2015-06-01")   # years of process in milliseconds
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from laworkflow.calendar.clock import SimulatedClock
from laworkflow.definitions.catalog import Catalog
from laworkflow.engine import Engine
from laworkflow.store import store_env


def simulated_engine(
    *,
    start: datetime | date | str,
    workflows: str | Path | None = None,
    store: str = "memory:",
    catalog: Catalog | None = None,
) -> Engine:
    """An Engine whose clock only moves when the test (or `run_due`) moves it."""
    return Engine(
        catalog or Catalog.from_directory(workflows),
        clock=SimulatedClock(start),
        env=store_env(store),
    )
