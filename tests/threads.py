"""What the tests of concurrency share: something held by another thread, and waiting for another thread's doing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any


@contextmanager
def held_elsewhere(resource: AbstractContextManager[Any]) -> Iterator[None]:
    """`resource` entered by another thread for the length of the block: to show that something does not wait for it."""
    has_it, may_go = threading.Event(), threading.Event()

    def holder() -> None:
        with resource:
            has_it.set()
            may_go.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert has_it.wait(10)
        yield
    finally:
        may_go.set()
        thread.join(10)


def eventually(condition: Callable[[], bool], seconds: float = 10) -> None:
    """Wait (at most `seconds`) for another thread to make `condition` true; the caller asserts it afterwards."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)
