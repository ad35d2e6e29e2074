"""The scheduler of a running service: fires due timers and records missed deadlines.

The timer index (kept beside the events) is the truth; APScheduler only wakes
the loop when the next item falls due. Its memory job store drops a one-off
job whose time passed while the process slept, so the loop also wakes every
`poll_seconds` to pick up what another writer (the HTTP API, another node)
armed, anything overdue after downtime, and notifications due a retry. Each item is handled through the
engine's idempotent commands, so a crash between firing and forgetting an item
costs a second, harmless look — never a second event.

No single item stops it. An item whose handling raises is set aside in the
index's quarantine (recorded, notified, listed by `laworkflow quarantine list`)
and the loop goes on with the others; a tick that raises is logged and counted,
and the loop sleeps a poll interval and goes on. `healthy()` says whether the
loop is running and its last pass went through, for a readiness check.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from laworkflow.calendar.bounds import LATEST_MOMENT
from laworkflow.commits import DecidingLock
from laworkflow.engine import Engine
from laworkflow.logs import get_logger
from laworkflow.migration import offer_notifications
from laworkflow.service.batch import handle_batch
from laworkflow.service.notify import LogSink, Sink, deliver_pending

log = get_logger("laworkflow.scheduler")
FAR = LATEST_MOMENT  # every item of the index is inside `laworkflow.calendar.bounds`
GIVE_WAY_SECONDS = 0.05  # between two full batches, the longest the scheduler lets commands waiting for the engine go first


class Scheduler:
    def __init__(
        self,
        engine: Engine,
        lock: DecidingLock | threading.RLock | None = None,
        *,
        poll_seconds: float = 5.0,
        batch: int = 256,
        first_batch: int = 8,
        sinks: list[Sink] | None = None,
    ):
        self.engine = engine
        self.sinks: list[Sink] = sinks if sinks is not None else [LogSink()]
        self.lock = lock if lock is not None else engine.lock  # what the engine's other callers in this process hold
        self.poll_seconds = poll_seconds
        self.batch = batch  # the most items claimed, decided and committed together (`service.batch`)
        self.first_batch = min(first_batch, batch)  # what a claim asks for after a short one: one item due is not kept waiting
        self._size = self.first_batch
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.ready = threading.Event()
        self.fired = 0
        self.quarantined = 0  # items set aside by this scheduler
        self.errors = 0  # passes of the loop that raised
        self.last_error: str | None = None
        self._running = False
        self._offers_day: date | None = None  # the UK day migration offers were last looked for (`migration.offer_notifications`)
        self._alarm = BackgroundScheduler(jobstores={"default": MemoryJobStore()}, timezone=UTC)

    def tick(self) -> int:
        """Catch the index up with the log, then handle every item due now (a batch at a time, `service.batch`).

        Each batch's events are committed in one transaction; the batch grows
        while claims come back full (8, 16, … up to `batch`), so a backlog is
        drained a few hundred commits' worth at a time and a lone item is not
        held up behind a large claim.

        An item whose handling raises a ConcurrentChange (another writer won the
        race, after the engine's own retries) is transient: it is put back and
        tried on the next tick. Any other exception, a LaworkflowError or not
        (a definition edited under a running case, a bug, a date out of range),
        would fail the same way every time: the item is quarantined, so it is not
        retried for ever, and the ticks go on with the rest, including items due
        after it. `laworkflow quarantine release` puts it back once fixed.

        Reactions are followed up first; if that raises, the due items are still
        handled and then the error is raised, so the loop counts it.
        """
        handled = 0
        follow_up_error: Exception | None = None
        with self.lock:
            try:
                self.engine.follow_up()  # reactions another node or a crash left undone
            except Exception as error:
                follow_up_error = error
                log.exception("scheduler.follow_up_failed", error=str(error))
            if self._offers_day != self.engine.today():  # once a day: versions that now apply to running cases, offered
                try:
                    offer_notifications(self.engine)
                    self._offers_day = self.engine.today()
                except Exception as error:  # never stops the timers; tried again next tick
                    log.exception("scheduler.offers_failed", error=str(error))
        recorded: list[tuple[int, Any]] = []  # the last batch's own events, folded into the index without reading them back
        workflows: dict[UUID, str] = {}  # and the workflows of their cases
        while not self.stopping.is_set():
            with self.lock:
                self.engine.due_store.catch_up(self.engine.recorder, self.engine.mapper, recorded, workflows)
                now = self.engine.clock.now()
                size = self._size
                with self.engine.due_store.claim(now, size) as items:
                    outcome = handle_batch(self.engine, items, at=now)
                recorded, workflows = outcome.recorded, outcome.workflows
                for item in outcome.retry:
                    self.engine.due_store.restore(item)
                for item, failure in outcome.failed:  # any error but a lost race: set aside, say so, go on
                    self.engine.due_store.quarantine_item(item, failure)
            handled += len(outcome.handled)
            self.quarantined += len(outcome.failed)
            # Adapts to how much is due: a full claim doubles the next (up to `batch`), a short one starts small again.
            self._size = min(self.batch, size * 2) if len(items) == size else self.first_batch
            if len(items) < size or outcome.retry:
                break
            if self.lock is self.engine.lock:  # commands waiting to decide (on that lock) go before the next batch, not after the burst
                self.engine.lock.let_waiters_in(GIVE_WAY_SECONDS)
        self.fired += handled
        if follow_up_error is not None:
            raise follow_up_error
        return handled

    def _next(self) -> datetime | None:
        with self.lock:
            item = self.engine.due_store.first(FAR)
        return item.due_at if item else None

    def run(self) -> None:
        """Loop until stopped: handle what is due, set the alarm for the next, sleep.

        A pass that raises (the store unreachable for a moment, a bug) is logged
        and counted, `healthy()` turns false until a pass goes through, and the
        loop sleeps a poll interval and goes on: the thread never dies of it.
        """
        self._alarm.start()
        self._running = True
        try:
            while not self.stopping.is_set():
                try:
                    self._pass()
                    self.last_error = None
                except Exception as error:
                    self.errors += 1
                    self.last_error = f"{type(error).__name__}: {error}"
                    log.exception("scheduler.pass_failed", errors=self.errors, error=str(error))
                self.wake.wait(timeout=self.poll_seconds)
                self.wake.clear()
        finally:
            self._running = False
            self._alarm.shutdown(wait=False)

    def _pass(self) -> None:
        handled = self.tick()
        if handled:
            log.info("scheduler.handled", count=handled)
        deliver_pending(self.engine.due_store, self.sinks, self.engine.clock.now())
        self.ready.set()
        upcoming = self._next()
        if upcoming is not None:
            self._alarm.add_job(self.wake.set, "date", run_date=upcoming, id="wake", replace_existing=True, misfire_grace_time=None)

    def healthy(self) -> bool:
        """True while the loop is running and its last pass did not raise (what `/readyz` should require)."""
        return self._running and self.last_error is None

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="laworkflow-scheduler", daemon=True)
        thread.start()
        return thread
