"""Group commit: concurrent saves joined into one transaction, each caller answered after the commit that holds its events.

On disk a command's cost is mostly its commit (an fsync on SQLite, a round trip
and the notification table's lock on PostgreSQL). When several threads save at
once — HTTP requests on different cases, a service's worker threads — each
waiting for a commit of its own makes them queue behind one another. Here the
first caller to find no commit under way commits for everyone waiting (the
leader, as in PostgreSQL's own group commit and RocksDB's write groups); those
who arrive meanwhile wait, and the next of them commits the next group. One
caller alone is its own leader at once, so a lone command waits for nothing.

A group is all or nothing in the store, so one caller must not spoil it for the
others: if the group's save raises (another writer saved one of its cases
first, two callers changed the same case, anything else), each caller's
aggregates are saved again on their own and each caller gets its own outcome —
saved, or its own exception, raised in its own thread for it to retry or report.

Commands decide under one lock (`DecidingLock`), which counts who waits for it:
the scheduler decides a batch of up to a few hundred timers under it, and between
two batches lets the waiting commands go first (CPython's locks are not fair: it
would otherwise take the lock straight back, batch after batch, and a burst of
due timers kept commands waiting for seconds).

The leader runs `save` without any lock of its caller's: `save` must be safe to
call from any thread (the engine's is; see `Engine.lock`). The aggregates are
eventsourcing's: a save collects (empties) their `pending_events`, so the
leader notes them first and puts them back before saving each caller alone.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate

GROUP_LIMIT = 256  # the most callers one commit answers; the rest form the next group


@dataclass
class _Waiting:
    """One caller's aggregates and, once a leader has committed them, its outcome."""

    aggregates: tuple[Any, ...]
    done: bool = False
    error: BaseException | None = None


class CommitGroup:
    """Saves from many threads, committed together; `commit` returns once this caller's aggregates are stored (or raises why not)."""

    def __init__(self, save: Callable[..., Any], *, limit: int = GROUP_LIMIT):
        self._save = save
        self._limit = limit
        self._state = threading.Condition()
        self._waiting: list[_Waiting] = []
        self._leading = False
        self.sizes: deque[int] = deque(maxlen=100)  # sizes of the last groups committed, newest last (for measurement)

    def commit(self, *aggregates: Any) -> None:
        """Save `aggregates` atomically, in one transaction with whatever else is waiting."""
        mine = _Waiting(aggregates)
        with self._state:
            self._waiting.append(mine)
            while self._leading and not mine.done:
                self._state.wait()
            if not mine.done:
                self._leading = True
                group, self._waiting = self._waiting[: self._limit], self._waiting[self._limit :]
        if not mine.done:
            try:
                self._commit(group)
            finally:
                with self._state:
                    self._leading = False
                    self._state.notify_all()
        if mine.error is not None:
            raise mine.error

    def _commit(self, group: list[_Waiting]) -> None:
        """Save the group in one transaction; if that fails, each caller's aggregates alone, each with its own outcome."""
        aggregates = [aggregate for waiting in group for aggregate in waiting.aggregates]
        pending = [list(aggregate.pending_events) for aggregate in aggregates]  # a save collects them, even one that fails
        try:
            self._save(*aggregates)
        except BaseException as error:
            if len(group) == 1:
                group[0].error = error
            else:
                for aggregate, events in zip(aggregates, pending, strict=True):
                    aggregate.pending_events[:] = events  # as they were decided, to be saved again alone
                for waiting in group:
                    try:
                        self._save(*waiting.aggregates)
                    except BaseException as own:  # this caller's alone: raised in its thread
                        waiting.error = own
        self.sizes.append(len(group))
        for waiting in group:
            waiting.done = True


class DecidingLock:
    """A re-entrant lock that knows how many threads wait for it, so one that holds it again and again can let them in."""

    POLL = 0.0002  # seconds between two looks at whether the waiting have had the lock

    def __init__(self) -> None:
        self._lock: Any = threading.RLock()
        self._counting = threading.Lock()
        self._waiting = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(False):
            return True
        if not blocking:
            return False
        with self._counting:
            self._waiting += 1
        try:
            return bool(self._lock.acquire(True, timeout))
        finally:
            with self._counting:
                self._waiting -= 1

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()

    @property
    def waiting(self) -> int:
        """Threads blocked on the lock at this moment."""
        return self._waiting

    def let_waiters_in(self, longest: float) -> None:
        """Not holding the lock, give way while threads wait for it: until none waits, or for `longest` seconds at most."""
        deadline = time.monotonic() + longest
        while self._waiting and time.monotonic() < deadline:
            time.sleep(self.POLL)

    # What `threading.Condition` asks of a re-entrant lock to wait on it (`InFlight` waits on this one).
    def _is_owned(self) -> bool:
        return bool(self._lock._is_owned())

    def _release_save(self) -> Any:
        return self._lock._release_save()

    def _acquire_restore(self, state: Any) -> None:
        self._lock._acquire_restore(state)


class InFlight:
    """What is between its decision and its commit: a second command on the same case waits for the first to be committed.

    Commands decide under one lock and commit outside it, so without this two
    commands on one case could both decide on the same version and one of them be
    refused at the commit (and retried, or, after the retries, answered 409) —
    which one process must not do to itself. The wait is on a condition of the
    deciding lock, so a caller that holds that lock (re-entrantly) lets it go
    while it waits, and the command it waits for can finish.

    Giving a case back takes the deciding lock only when somebody waits (rare: two
    commands on one case at once). Otherwise every command would queue for that
    lock a second time after its commit, behind whatever is being decided. No
    wake-up is lost: a caller counts itself waiting under `_guard` and holds the
    deciding lock from that count until `wait` lets it go; a giver that sees the
    count must take the deciding lock to notify, so it notifies after the wait began.
    """

    def __init__(self, lock: Any):
        self._settled = threading.Condition(lock)
        self._guard = threading.Lock()  # the keys in flight and the count of callers waiting for one
        self._keys: set[Hashable] = set()
        self._waiting = 0

    def take(self, key: Hashable) -> None:
        """Mark `key` in flight, first waiting while another caller has it; the caller holds the lock (re-entrantly or not)."""
        with self._settled:
            while True:
                with self._guard:
                    if key not in self._keys:
                        self._keys.add(key)
                        return
                    self._waiting += 1
                try:
                    self._settled.wait()
                finally:
                    with self._guard:
                        self._waiting -= 1

    def give_back(self, key: Hashable) -> None:
        """`key` is committed (or given up): the next caller waiting for it goes on. Needs no lock of the caller's."""
        with self._guard:
            self._keys.discard(key)
            waiting = self._waiting > 0
        if waiting:
            with self._settled:
                self._settled.notify_all()


class Collected(ProcessingEvent[Any]):
    """What one save commits: eventsourcing's `ProcessingEvent`, which takes an `Aggregate`'s events without asking
    first whether it is an event or has events to collect.

    eventsourcing asks both with `isinstance` against runtime-checkable Protocols, which on Python 3.11 walk each
    protocol's classes on every call: a twelfth of the CPU time of a burst of due timers. The engine saves only
    Aggregates; anything else is still collected by eventsourcing's own code, in the order given."""

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if isinstance(obj, Aggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            else:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)


__all__ = ["GROUP_LIMIT", "Collected", "CommitGroup", "DecidingLock", "InFlight"]
