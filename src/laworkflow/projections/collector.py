"""The garbage collector paused while the log is folded in bulk.

Folding a page of the log allocates tens of thousands of containers (SQL rows,
decoded events, their dicts, due items) and leaves no reference cycles behind:
they are freed by reference counting the moment they are done with. CPython's
cyclic collector does not know that. It runs a young collection every 700
allocations and full ones as the heap grows, walking objects that are never
garbage: about a fifth of an index rebuild on the reference machine, most of
it inside the SQLite driver's `fetchall` while a page is read.

So a catch-up pauses the collector, as the standard library's `timeit` does
while it times. The pause is counted: with several threads catching up, the
collector comes back when the last one leaves, and only if it was on when the
first one came (a process that switched it off keeps it off).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block (reference counting goes on); the collector as it was after the last block ends."""
    global _holders, _resume
    with _lock:
        if _holders == 0:
            _resume = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _resume:
                gc.enable()


__all__ = ["collector_paused"]
