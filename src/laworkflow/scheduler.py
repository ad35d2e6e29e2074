"""The scheduler of a running service: fires due timers and records missed deadlines.

The timer index (kept beside the events) is the truth; APScheduler only wakes
the loop when the next item falls due. Its memory job store drops a one-off
job whose time passed while the process slept, so the loop also wakes every
`poll_seconds` to pick up what another writer (the HTTP API, another node)
armed, anything overdue after downtime, and notifications due a retry. Each item is handled through the
engine's idempotent commands, so a crash between firing and forgetting an item
costs a second, harmless look — never a second event.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import structlog
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from .engine import Engine
from .errors import LaworkflowError
from .notify import LogSink, Sink, deliver_pending

log = structlog.get_logger("laworkflow.scheduler")
FAR = datetime(9000, 1, 1, tzinfo=timezone.utc)


class Scheduler:
    def __init__(
        self,
        engine: Engine,
        lock: threading.RLock,
        *,
        poll_seconds: float = 5.0,
        batch: int = 50,
        sinks: list[Sink] | None = None,
    ):
        self.engine = engine
        self.sinks = sinks if sinks is not None else [LogSink()]
        self.lock = lock
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.ready = threading.Event()
        self.fired = 0
        self._alarm = BackgroundScheduler(jobstores={"default": MemoryJobStore()}, timezone=timezone.utc)

    def tick(self) -> int:
        """Catch the index up with the log, then handle every item due now (a batch at a time)."""
        handled = 0
        with self.lock:
            self.engine.follow_up()  # reactions another node or a crash left undone
        while not self.stopping.is_set():
            with self.lock:
                self.engine.due_store.catch_up(self.engine.recorder, self.engine.mapper)
                now = self.engine.clock.now()
                failed = []
                with self.engine.due_store.claim(now, self.batch) as items:
                    for item in items:
                        try:
                            self.engine.handle(item, at=now)
                        except LaworkflowError as error:  # e.g. its definition file was edited: keep it, say so, go on
                            failed.append(item)
                            log.warning("scheduler.item_failed", case_id=str(item.case_id), item=item.name, error=str(error))
                for item in failed:
                    self.engine.due_store.restore(item)
            handled += len(items) - len(failed)
            if len(items) < self.batch or failed:
                break
        self.fired += handled
        return handled

    def _next(self) -> datetime | None:
        with self.lock:
            item = self.engine.due_store.first(FAR)
        return item.due_at if item else None

    def run(self) -> None:
        """Loop until stopped: handle what is due, set the alarm for the next, sleep."""
        self._alarm.start()
        try:
            while not self.stopping.is_set():
                handled = self.tick()
                if handled:
                    log.info("scheduler.handled", count=handled)
                deliver_pending(self.engine.due_store, self.sinks, self.engine.clock.now())
                self.ready.set()
                upcoming = self._next()
                if upcoming is not None:
                    self._alarm.add_job(self.wake.set, "date", run_date=upcoming, id="wake", replace_existing=True, misfire_grace_time=None)
                self.wake.wait(timeout=self.poll_seconds)
                self.wake.clear()
        finally:
            self._alarm.shutdown(wait=False)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="laworkflow-scheduler", daemon=True)
        thread.start()
        return thread
