"""Timers fired in batches: one transaction for the batch, a conflicting or failing case handled alone.

Real SQLite files, and two engines on one file where another writer is needed.
Every case here is an Ofsted inspection with its notice given: one timer,
notice_ends, due on its first day on site, whose firing records TimerFired and
the move to on_site.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest

from laworkflow.cases.case import Case
from laworkflow.engine import Engine
from laworkflow.service.batch import handle_batch
from laworkflow.service.scheduler import Scheduler
from test_service import arm_timers

OFSTED = "ofsted-laassi"
START = {"authority": "Norfolk", "concerns": ["attainment_below_national"]}
TEAM = {"lead_inspector": "Lead HMI", "inspectors": ["HMI"]}
EVIDENCE = {"notebook": "evidence", "entry": "met the head of school improvement"}
DUE = "2013-06-10T09:00"  # every notice_ends below falls due on Monday 10 June 2013 (on_site_start)


def noticed(engine, count):
    cases = []
    for _ in range(count):
        case = engine.start(OFSTED, START, actor="hmci", at="2013-06-03T09:00")
        engine.fire(case, "give_notice", {"on_site_start": "2013-06-10", **TEAM}, actor="ofsted", at="2013-06-05T10:00")
        cases.append(case)
    return cases


def types(engine, case):
    return [type(event).__name__ for event in engine.events.get(case)]


def fired_per_case(engine, cases):
    return {case: types(engine, case).count("TimerFired") for case in cases}


@pytest.fixture
def saves(monkeypatch):
    """How many cases each save of an engine held: one save is one transaction (a spy; the real save runs)."""
    sizes: list[int] = []
    real = Engine.save

    def save(self, *objs, **kwargs):
        sizes.append(sum(isinstance(o, Case) for o in objs))
        return real(self, *objs, **kwargs)

    monkeypatch.setattr(Engine, "save", save)
    return sizes


def test_a_batch_commits_every_case_in_one_transaction(make_engine, sqlite_store, saves):
    engine = make_engine(sqlite_store)
    cases = noticed(engine, 5)
    engine.clock.advance_to(DUE)
    saves.clear()

    assert Scheduler(engine, threading.RLock(), first_batch=8).tick() == 5

    assert saves == [5]
    assert fired_per_case(engine, cases) == dict.fromkeys(cases, 1)
    assert {engine.get(case).state for case in cases} == {"on_site"}
    assert engine.due(DUE) == []


@pytest.fixture
def shared_store(store):
    """A store two engines share: an SQLite file, or a PostgreSQL database when the server is there."""
    if store == "memory:":
        pytest.skip("two engines share no memory store")
    return store


def test_a_case_another_engine_saved_first_is_retried_alone_and_the_others_commit_together(make_engine, shared_store, saves, monkeypatch):
    ours = make_engine(shared_store)
    theirs = make_engine(shared_store)  # another node on the same store
    cases = noticed(ours, 3)
    contested = cases[1]
    ours.clock.advance_to(DUE)
    theirs.clock.advance_to(DUE)
    real = Engine.save
    raced = []

    def save(self, *objs, **kwargs):
        if self is ours and not raced:  # between our load and our commit, the other node fires the same timer
            raced.append(theirs.fire_timer(contested, "notice_ends"))
        return real(self, *objs, **kwargs)

    monkeypatch.setattr(Engine, "save", save)
    saves.clear()

    handled = Scheduler(ours, threading.RLock(), first_batch=8).tick()

    assert raced == [True]
    # Theirs (one case), then ours: the three together, refused whole; the two others together. The contested
    # case, handled alone, found its timer already fired and wrote nothing.
    assert saves == [1, 3, 2]
    assert handled == 3
    assert fired_per_case(ours, cases) == dict.fromkeys(cases, 1)
    assert Counter(types(ours, contested)) == Counter(types(ours, cases[0]))  # the same events as an uncontested case, none twice
    assert {ours.get(case).state for case in cases} == {"on_site"}
    assert ours.quarantined() == [] and ours.due(DUE) == []


def test_a_case_whose_handling_fails_is_quarantined_alone(make_engine, sqlite_store, saves, monkeypatch):
    engine = make_engine(sqlite_store)
    cases = noticed(engine, 3)
    broken = cases[2]
    before = types(engine, broken)
    real = Case.fire_timer

    def fire_timer(case, workflow, timer_id, **kwargs):
        if case.id == broken:
            raise RuntimeError("a bug, not a refusal")
        return real(case, workflow, timer_id, **kwargs)

    monkeypatch.setattr(Case, "fire_timer", fire_timer)
    engine.clock.advance_to(DUE)
    saves.clear()

    assert Scheduler(engine, threading.RLock(), first_batch=8).tick() == 2

    assert saves == [2]  # the two others in one transaction; nothing saved for the broken case
    assert types(engine, broken) == before
    assert fired_per_case(engine, cases) == {cases[0]: 1, cases[1]: 1, broken: 0}
    (entry,) = engine.quarantined()
    assert (entry.source, entry.kind, entry.case_id, entry.name) == ("item", "timer", broken, "notice_ends")
    assert "RuntimeError: a bug, not a refusal" in entry.error


def test_the_batch_grows_while_claims_come_back_full(make_engine, sqlite_store, saves):
    engine = make_engine(sqlite_store)
    cases = noticed(engine, 20)
    engine.clock.advance_to(DUE)
    saves.clear()
    scheduler = Scheduler(engine, threading.RLock(), batch=8, first_batch=2)

    assert scheduler.tick() == 20

    assert saves == [2, 4, 8, 6]  # 2 and 4 full, 8 the most, then what was left
    assert fired_per_case(engine, cases) == dict.fromkeys(cases, 1)
    assert scheduler._size == 2  # the short claim: the next starts small again
    late = noticed(engine, 1)
    assert scheduler.tick() == 1 and saves[-1] == 1
    assert fired_per_case(engine, late) == dict.fromkeys(late, 1)


def test_two_schedulers_on_one_store_fire_each_timer_once(make_engine, shared_store):
    ours = make_engine(shared_store)
    theirs = make_engine(shared_store)
    cases = noticed(ours, 30)
    for engine in (ours, theirs):
        engine.clock.advance_to(DUE)
    schedulers = [Scheduler(engine, threading.RLock(), batch=16, first_batch=4) for engine in (ours, theirs)]
    threads = [threading.Thread(target=s.tick) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert fired_per_case(ours, cases) == dict.fromkeys(cases, 1)
    assert Counter(ours.get(case).state for case in cases) == {"on_site": 30}
    assert ours.quarantined() == []


def test_a_case_whose_cached_copy_is_stale_is_refused_by_the_store_and_handled_alone(make_engine, shared_store, saves):
    ours = make_engine(shared_store)
    theirs = make_engine(shared_store)
    cases = noticed(ours, 3)  # ours caches each case as it saved it
    for engine in (ours, theirs):
        engine.clock.advance_to(DUE)
    items = ours.due(DUE)  # claimed by ours; then another node moves a case ours holds in its cache
    assert theirs.fire_timer(cases[0], "notice_ends")
    saves.clear()

    outcome = handle_batch(ours, items, at=ours.clock.now())

    if shared_store.startswith("sqlite"):
        # One node's store: the batch, decided on the stale copy, was refused whole; the other two together; the stale
        # case alone, read afresh, finds its timer fired: nothing to save.
        assert saves == [3, 2]
    else:
        # Where several nodes write, the batch first asks which cached cases another node moved (one query) and reads
        # those again: the stale case finds its timer fired before anything is saved, the other two commit together.
        assert saves == [2]
    assert sorted(map(str, (i.case_id for i in outcome.handled))) == sorted(map(str, cases)) and not outcome.failed
    assert fired_per_case(ours, cases) == dict.fromkeys(cases, 1)
    assert {ours.get(case).state for case in cases} == {"on_site"}


def test_a_case_that_fails_after_it_changed_is_dropped_from_the_cache(make_engine, sqlite_store, monkeypatch):
    engine = make_engine(sqlite_store)
    cases = noticed(engine, 2)
    broken = cases[1]
    real = Case.fire_timer

    def fire_timer(case, workflow, timer_id, **kwargs):
        fired = real(case, workflow, timer_id, **kwargs)  # the case has changed in memory ...
        if case.id == broken:
            raise RuntimeError("... and then a bug")
        return fired

    monkeypatch.setattr(Case, "fire_timer", fire_timer)
    engine.clock.advance_to(DUE)

    assert Scheduler(engine, threading.RLock(), first_batch=8).tick() == 1

    assert engine.get(broken).state == "notice_given"  # as stored: the changed, unsaved case did not stay in the cache
    monkeypatch.setattr(Case, "fire_timer", real)
    (entry,) = engine.quarantined()
    engine.release(entry.id)
    assert Scheduler(engine, threading.RLock(), first_batch=8).tick() == 1
    assert fired_per_case(engine, cases) == dict.fromkeys(cases, 1)
    assert engine.get(broken).state == "on_site"


def test_the_index_folds_a_batch_s_own_events_without_reading_them_back(make_engine, sqlite_store, monkeypatch):
    engine = make_engine(sqlite_store)
    cases = noticed(engine, 12)
    engine.clock.advance_to(DUE)
    engine.due_store.catch_up(engine.recorder, engine.mapper)
    read: list[int] = []
    real = type(engine.recorder).select_notifications

    def select_notifications(recorder, start, limit, *args, **kwargs):
        notifications = real(recorder, start, limit, *args, **kwargs)
        read.extend(n.id for n in notifications)
        return notifications

    monkeypatch.setattr(type(engine.recorder), "select_notifications", select_notifications)
    before = engine.recorder.max_notification_id()

    assert Scheduler(engine, threading.RLock(), batch=4, first_batch=4).tick() == 12

    after = engine.recorder.max_notification_id()
    # The batches' own events (every id from before+1 on) were folded as saved: only the last batch's are read back,
    # by the next catch-up, which cannot know of them.
    assert [i for i in read if before < i <= after - 8] == []
    outbox = "SELECT id, payload FROM lw_outbox ORDER BY id"
    folded = (engine.due_store.due(), engine.due_store._connection.execute(outbox).fetchall())
    assert {json.loads(payload)["workflow"] for _, payload in folded[1]} == {"ofsted-laassi@1"}
    engine.due_store._connection.execute("DELETE FROM lw_outbox")  # a reset keeps the outbox (sent is sent): empty it to compare
    engine.due_store.reset()  # the same index and notifications as folding the whole log from the start
    engine.due_store.catch_up(engine.recorder, engine.mapper)
    assert (engine.due_store.due(), engine.due_store._connection.execute(outbox).fetchall()) == folded
    assert fired_per_case(engine, cases) == dict.fromkeys(cases, 1)


def test_events_that_do_not_follow_the_index_position_are_read_from_the_log_instead(make_engine, sqlite_store):
    engine = make_engine(sqlite_store)
    cases = noticed(engine, 2)
    engine.due_store.catch_up(engine.recorder, engine.mapper)
    position = engine.recorder.max_notification_id()
    engine.fire_timer(cases[0], "notice_ends", at=DUE)  # events the index has not folded
    stale = [(position + 5, object())]  # not the next notification: must be ignored, not folded

    assert engine.due_store.catch_up(engine.recorder, engine.mapper, stale) == engine.recorder.max_notification_id() - position

    assert [item.case_id for item in engine.due_store.due() if item.name == "notice_ends"] == [cases[1]]


def test_on_sqlite_the_index_commits_without_waiting_for_the_disk_and_the_events_with_it(make_engine, sqlite_store):
    engine = make_engine(sqlite_store)
    with engine.recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA synchronous")
        events_sync = cursor.fetchone()[0]
    index_sync = engine.due_store._connection.execute("PRAGMA synchronous").fetchone()[0]

    assert (events_sync, index_sync) == (2, 1)  # FULL for the log; NORMAL for what is folded again from it after a power cut


def test_on_sqlite_a_claim_reads_the_index_in_order_rather_than_sorting_every_due_row(make_engine, sqlite_store):
    engine = make_engine(sqlite_store)
    plan = engine.due_store._connection.execute(
        "EXPLAIN QUERY PLAN SELECT case_id, kind, name, due_at, workflow, detail FROM lw_due WHERE due_at <= ? ORDER BY due_at, kind, case_id, name LIMIT ?",
        ("2013-06-10", 8),
    ).fetchall()

    details = " ".join(row[-1] for row in plan)
    assert "lw_due_in_order" in details and "TEMP B-TREE" not in details


def test_commands_are_not_kept_waiting_while_a_burst_of_timers_fires(make_engine, sqlite_store):
    """Between two full batches the scheduler lets the commands waiting for the engine go first (`commits.DecidingLock`).

    CPython's locks are not fair: the scheduler used to take the lock straight back after each batch, so a command
    that arrived during a burst of due timers waited for the whole burst (seconds for thousands of timers)."""
    engine = make_engine(sqlite_store, start="2013-06-10T09:00:00+01:00")
    ours = arm_timers(engine, 8)
    for case in ours:  # on site, where record_evidence can be fired again and again
        engine.fire_timer(case, "notice_ends", at="2013-06-10T00:00:00+01:00")
    arm_timers(engine, 8000)
    engine.due()  # the index holds the 8,000 due timers
    scheduler = Scheduler(engine)
    burst = threading.Thread(target=scheduler.tick)
    waits: list[float] = []

    burst.start()
    while burst.is_alive():
        started = time.perf_counter()
        engine.fire(ours[len(waits) % len(ours)], "record_evidence", EVIDENCE, actor="backoffice", at="2013-06-10T12:00")
        waits.append(time.perf_counter() - started)
    burst.join()

    assert scheduler.fired == 8000
    assert len(waits) >= 10 and max(waits) < 1.0, f"{len(waits)} commands during the burst, the longest took {max(waits):.2f} s"
