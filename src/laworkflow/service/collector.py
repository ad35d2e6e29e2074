"""The garbage collector of a long-running service process, set for a service's heap.

CPython's cyclic collector runs a young collection every 700 net allocations of
container objects and, now and then, a full one over every object the process
holds. A service holds many: the catalogue and its compiled machines, the case
cache, the key ring, FastAPI's and pydantic's models. A command or a timer
allocates a few hundred containers (decoded events, views, SQL rows) and leaves
no cycles behind, so the collector's work there is almost all overhead: on the
reference machine a tenth to a fifth of a burst of timers or of an index rebuild.

`serve` owns its process, so at start it does what long-running Python services
do (the `gc.freeze` recipe of the standard library's documentation):

- collect once, then freeze what start-up built: those objects leave every
  later collection (they live as long as the process anyway);
- raise the young generation's threshold (`--gc-threshold`, default
  `DEFAULT_THRESHOLD`), so collections come every so many thousand allocations
  rather than every 700. Cycles are still collected, later; 0 turns the
  collector off, which only a process that creates no cycles may afford.

An application embedding the engine owns its own process and its collector:
nothing here runs unless `serve` (or the caller) asks.
"""

from __future__ import annotations

import gc

from laworkflow.logs import get_logger

DEFAULT_THRESHOLD = 50_000
"""Allocations between young collections in `serve` (CPython's default is 700)."""

log = get_logger("laworkflow.service")


def settle(threshold: int = DEFAULT_THRESHOLD) -> tuple[int, ...]:
    """Freeze what the process built so far and collect the young generation every `threshold` allocations.

    Returns the thresholds in force before, so a caller that is not a whole
    process (a test, a benchmark) can put them back with `gc.set_threshold`.
    """
    if threshold < 0:
        raise ValueError(f"the collector's threshold is a count of allocations, 0 or more, not {threshold}")
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    _, older, oldest = before
    gc.set_threshold(threshold, older, oldest)
    log.info("service.collector", threshold=threshold, frozen=gc.get_freeze_count())
    return before


__all__ = ["DEFAULT_THRESHOLD", "settle"]
