"""The service under faults and load: timers fire once, after crashes and across nodes; the index rebuilds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from uuid import uuid4

import pytest

from laworkflow.audit.verify import verify
from laworkflow.calendar.clock import SimulatedClock, aware
from laworkflow.cases.case import Case
from laworkflow.engine import Engine
from laworkflow.startup import open_engine
from laworkflow.store import store_env

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = "ofsted-laassi@1"
START = {"authority": "Anytown", "concerns": ["other_concern"]}
TEAM = {"lead_inspector": "Lead HMI", "inspectors": ["HMI"]}


def arm_timers(engine: Engine, count: int) -> list:
    """`count` cases given notice in June 2013: each arms one timer, long overdue by now.

    Built with the Case aggregate itself and saved two hundred at a time, so a
    test can afford thousands; the events are exactly those the commands record.
    """
    workflow = engine.catalog.get(WORKFLOW)
    cases, batch = [], []
    for _ in range(count):
        case = Case.begin(workflow, data=START, parameters=None, actor="setup", at=aware("2013-06-03T09:00"), case_id=uuid4())
        case.fire(workflow, "give_notice", {"on_site_start": "2013-06-10", **TEAM}, actor="setup", at=aware("2013-06-05T10:00"))
        batch.append(case)
        if len(batch) == 200:
            engine.save(*batch)
            cases += [c.id for c in batch]
            batch = []
    if batch:
        engine.save(*batch)
        cases += [c.id for c in batch]
    return cases


def fired_events(engine: Engine) -> Counter:
    """TimerFired events per case, read straight from the notification log."""
    counts: Counter = Counter()
    for notification in engine.recorder.select_notifications(1, 10_000_000, topics=[_topic("TimerFired")]):
        counts[notification.originator_id] += 1
    return counts


def _topic(name: str) -> str:
    from eventsourcing.utils import get_topic

    from laworkflow.cases.case import Case

    return get_topic(getattr(Case, name))


def serve(store: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "laworkflow.cli", "--store", store, "--workflows", str(REPO / "workflows"), "serve", "--no-http", "--poll", "0.2", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "LAWORKFLOW_LOG": "warning"},
    )


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_kill_9_while_a_thousand_timers_are_due_then_each_fires_exactly_once(tmp_path, catalog):
    store = f"sqlite:///{tmp_path / 'events.sqlite'}"
    engine = Engine(catalog, clock=SimulatedClock("2013-06-03"), env=store_env(store))
    cases = arm_timers(engine, 1000)
    engine.close()
    observer = Engine(catalog, env=store_env(store))
    first = serve(store)
    try:
        wait_for(lambda: sum(fired_events(observer).values()) >= 50, 120, "the first node to start firing")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    partly = sum(fired_events(observer).values())
    second = serve(store)
    try:
        wait_for(lambda: sum(fired_events(observer).values()) >= 1000, 180, "every timer to fire after the restart")
        time.sleep(1.0)  # a moment for any duplicate to show itself
    finally:
        stop(second)
    counts = fired_events(observer)
    assert partly < 1000, "the kill should land while timers are still due"
    assert set(counts) == set(cases) and set(counts.values()) == {1}
    lateness = [h.details["lateness_seconds"] for h in observer.history(cases[-1]) if h.type == "TimerFired"]
    assert lateness and lateness[0] > 365 * 24 * 3600, "fired years after it was due, and says so"
    assert verify(observer).ok
    assert observer.due(before="2013-06-11") == []
    observer.close()


def test_three_nodes_on_postgresql_fire_three_thousand_timers_exactly_once(postgres_store, catalog):
    engine = open_engine(catalog, postgres_store, clock=SimulatedClock("2013-06-03"))
    cases = arm_timers(engine, 3000)
    nodes = [serve(postgres_store) for _ in range(3)]
    try:
        wait_for(lambda: sum(fired_events(engine).values()) >= 3000, 300, "3,000 timers to fire")
        time.sleep(1.5)
    finally:
        for node in nodes:
            stop(node)
    counts = fired_events(engine)
    assert sum(counts.values()) == 3000
    assert set(counts) == set(cases) and set(counts.values()) == {1}
    assert all(node.returncode == 0 for node in nodes), [node.stderr.read() for node in nodes]
    engine.close()


@pytest.fixture
def postgres_store(store):
    if not store.startswith("postgresql://"):
        pytest.skip("this test is about several nodes on PostgreSQL")
    return store


def test_the_index_deleted_and_rebuilt_is_identical(store, catalog):
    engine = Engine(catalog, clock=SimulatedClock("2013-06-03"), env=store_env(store))
    cases = arm_timers(engine, 20)
    for case in cases[:5]:
        engine.fire(case, "begin_on_site", {"early_start_reason": "agreed"}, actor="lead", at="2013-06-07")  # cancels 5 timers, sets 5 deadlines
    engine.run_due(until="2013-06-10T12:00")  # fires the other 15
    before = engine.due()
    assert before, "something must be standing to compare"
    engine.due_store.reset()
    assert engine.due_store.due() == []
    engine.due_store.catch_up(engine.recorder, engine.mapper)
    assert engine.due() == before
    engine.close()


def test_a_restarted_engine_reads_the_index_not_the_history(tmp_path, catalog):
    """Restart cost follows the pending timers: the saved position means no event is folded again."""
    store = f"sqlite:///{tmp_path / 'events.sqlite'}"
    engine = Engine(catalog, clock=SimulatedClock("2013-06-03"), env=store_env(store))
    arm_timers(engine, 10)
    pending = engine.due()
    engine.close()
    again = Engine(catalog, env=store_env(store))
    assert again.due_store.catch_up(again.recorder, again.mapper) == 0
    assert again.due_store.due() == pending
    again.close()


def test_sigterm_stops_the_service_cleanly(tmp_path):
    """SIGTERM once the service says it runs (the line comes after its handlers are in place) ends it with status 0.

    Not after a fixed sleep: a signal that arrives while the interpreter is still
    importing, before any handler of ours exists, kills the process by the
    default action (-15) on a loaded machine, which is not what this tests.
    """
    store = f"sqlite:///{tmp_path / 'events.sqlite'}"
    process = serve(store)
    assert process.stderr is not None
    seen = []
    while not (seen and "laworkflow scheduling without HTTP" in seen[-1]):  # blocks until serve writes its start line
        line = process.stderr.readline().decode("utf-8", "replace")
        assert line, f"serve exited before its start line: {seen}"
        seen.append(line)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
