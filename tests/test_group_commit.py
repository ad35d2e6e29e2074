"""Group commit: commands from several threads on different cases share one transaction, each answered after it.

Real SQLite files (and PostgreSQL where two engines share a store), real
threads. A spy around `Engine.save` records what each transaction held and when
it ended (the real save runs); where the test needs commands to arrive while a
commit is under way, the spy holds the first save until the others are waiting.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from laworkflow.audit.verify import verify
from laworkflow.cases.case import Case
from laworkflow.commits import DecidingLock, InFlight
from laworkflow.engine import Engine
from laworkflow.errors import TriggerNotAllowed
from threads import eventually, held_elsewhere

OFSTED = "ofsted-laassi"
START = {"authority": "Norfolk", "concerns": ["attainment_below_national"]}
NOTICE = {"on_site_start": "2013-06-10", "lead_inspector": "Lead HMI", "inspectors": ["HMI"]}


class Saves:
    """Each save of an engine: the cases it held and when it ended; `hold` keeps the first save waiting until released."""

    def __init__(self) -> None:
        self.cases: list[list[object]] = []
        self.ended: list[float] = []
        self.hold = threading.Event()
        self.holding = False
        self.entered = threading.Event()


@pytest.fixture
def saves(monkeypatch):
    spy = Saves()
    spy.hold.set()
    real = Engine.save

    def save(self, *objs, **kwargs):
        first = not spy.cases
        spy.cases.append([o.id for o in objs if isinstance(o, Case)])
        if first:
            spy.entered.set()
            assert spy.hold.wait(30)
        try:
            return real(self, *objs, **kwargs)
        finally:
            spy.ended.append(time.monotonic())

    monkeypatch.setattr(Engine, "save", save)
    return spy


def started(engine, count):
    return [engine.start(OFSTED, START, actor="hmci", at="2013-06-03T09:00") for _ in range(count)]


def run_threads(targets):
    errors: list[BaseException] = []
    returned: dict[int, float] = {}

    def run(index, target):
        try:
            target()
            returned[index] = time.monotonic()
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    return threads, errors, returned


def join(threads):
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)


def transitions(engine, case):
    return [h for h in engine.history(case) if h.type == "Transitioned"]


def test_commands_arriving_during_a_commit_are_committed_together_each_answered_after_it(make_engine, sqlite_store, saves):
    engine = make_engine(sqlite_store)
    cases = started(engine, 6)
    saves.cases.clear()
    saves.hold.clear()

    def fire(case):
        return lambda: engine.fire(case, "give_notice", NOTICE, actor="ofsted", at="2013-06-05T10:00")

    first, errors, returned = run_threads([fire(cases[0])])
    assert saves.entered.wait(30)  # the first command is committing (held in its save) ...
    rest, more_errors, more_returned = run_threads([fire(case) for case in cases[1:]])
    eventually(lambda: len(engine._commits._waiting) >= 5, 30)  # ... while the five others decide and wait
    assert not more_returned  # none is answered before a commit holds its events
    saves.hold.set()
    join(first + rest)

    assert not errors and not more_errors
    assert [sorted(map(str, held)) for held in saves.cases] == [[str(cases[0])], sorted(map(str, cases[1:]))]  # two transactions
    assert all(at >= saves.ended[1] for at in more_returned.values())  # each answered after the commit that holds its events
    assert all(engine.get(case).state == "notice_given" for case in cases)
    assert verify(engine).ok


def test_one_command_alone_commits_at_once_in_a_group_of_one(make_engine, sqlite_store, saves):
    engine = make_engine(sqlite_store)
    (case,) = started(engine, 1)

    assert engine._commits.commit  # the engine's group, used by every command
    engine.fire(case, "give_notice", NOTICE, actor="ofsted", at="2013-06-05T10:00")

    assert engine._commits.sizes[-1] == 1
    assert saves.cases[-1] == [case]


@pytest.fixture
def shared_store(store):
    if store == "memory:":
        pytest.skip("two engines share no memory store")
    return store


def test_a_command_another_writer_beat_fails_no_other_command_of_its_group(make_engine, shared_store, saves):
    ours = make_engine(shared_store)
    theirs = make_engine(shared_store)  # another node on the same store
    cases = started(ours, 4)
    contested = cases[2]
    for case in cases:
        ours.get(case)  # cached by ours, as a busy node would have them
    saves.cases.clear()
    saves.hold.clear()

    def fire(case):
        return lambda: ours.fire(case, "give_notice", NOTICE, actor="ofsted", at="2013-06-05T10:00")

    first, errors, _ = run_threads([fire(cases[0])])
    assert saves.entered.wait(30)
    rest, more_errors, _ = run_threads([fire(case) for case in cases[1:]])
    eventually(lambda: len(ours._commits._waiting) >= 3, 30)
    # The three have decided on the versions they loaded; now another node moves one of them first.
    theirs.fire(contested, "give_notice", NOTICE, actor="other node", at="2013-06-05T09:00")
    saves.hold.set()
    join(first + rest)

    assert errors == []
    (refused,) = more_errors  # only the command the other node beat fails: its retry finds the notice given
    assert isinstance(refused, TriggerNotAllowed)
    # Ours' first; theirs; ours' group of three, refused whole by the store; then each of the three alone (one refused again).
    assert [len(held) for held in saves.cases] == [1, 1, 3, 1, 1, 1]
    assert [len(transitions(ours, case)) for case in cases] == [1, 1, 1, 1]
    assert transitions(ours, contested)[0].actor == "other node"
    assert verify(ours).ok


def test_commands_on_one_case_from_many_threads_wait_for_each_other_and_none_is_refused(make_engine, sqlite_store):
    engine = make_engine(sqlite_store)
    (case,) = started(engine, 1)
    engine.fire(case, "give_notice", NOTICE, actor="ofsted", at="2013-06-05T10:00")
    engine.fire_timer(case, "notice_ends", at="2013-06-10T09:00")
    retries: list[int] = []
    real = Engine.retrying

    def retrying(self, attempt):
        calls = Counter()

        def counted():
            calls["attempts"] += 1
            return attempt()

        try:
            return real(self, counted)
        finally:
            retries.append(calls["attempts"] - 1)

    Engine.retrying = retrying
    try:
        evidence = {"notebook": "evidence", "entry": "seen"}
        threads, errors, _ = run_threads([lambda: engine.fire(case, "record_evidence", evidence, actor="hmi", at="2013-06-10T12:00")] * 12)
        join(threads)
    finally:
        Engine.retrying = real

    assert errors == []
    assert retries == [0] * 12  # in one process, one command at a time per case: no lost race, no retry
    assert len([h for h in engine.history(case) if h.type == "Transitioned" and h.details.get("trigger") == "record_evidence"]) == 12
    assert verify(engine).ok


def test_the_deciding_lock_counts_who_waits_for_it_and_gives_way_to_them():
    """The engine's lock is re-entrant, counts the threads blocked on it, and `let_waiters_in` lets them have it first."""
    lock = DecidingLock()
    had_it = threading.Event()

    def waiter() -> None:
        with lock:
            had_it.set()

    with lock, lock:  # re-entrant
        thread = threading.Thread(target=waiter)
        thread.start()
        eventually(lambda: lock.waiting > 0)
        assert lock.waiting == 1 and not had_it.is_set()
    lock.let_waiters_in(10.0)  # returns once no thread waits: the waiter has the lock
    assert lock.waiting == 0
    assert had_it.wait(10)
    thread.join()
    assert lock.acquire(blocking=False)
    lock.release()


def test_a_committed_case_is_given_back_without_waiting_for_the_deciding_lock():
    """After its commit a command gives its case back at once, not after whatever holds the lock meanwhile (a batch of
    timers, another command deciding); a caller waiting for that case is still woken."""
    lock = DecidingLock()
    in_flight = InFlight(lock)
    in_flight.take("case")  # the command decided (under the lock) and let the lock go to commit
    with held_elsewhere(lock):
        given_back = threading.Thread(target=in_flight.give_back, args=("case",))
        given_back.start()
        given_back.join(2)
        assert not given_back.is_alive()  # before: it waited for the holder (up to 10 s)

    in_flight.take("case")
    woken = threading.Event()

    def second_command() -> None:
        with lock:
            in_flight.take("case")  # waits: the case is in flight
            woken.set()
            in_flight.give_back("case")

    waiter = threading.Thread(target=second_command)
    waiter.start()
    eventually(lambda: in_flight._waiting > 0)
    assert in_flight._waiting == 1 and not woken.is_set()
    in_flight.give_back("case")
    assert woken.wait(10)
    waiter.join()


def test_a_save_collects_what_eventsourcing_collects_in_the_same_order(make_engine, sqlite_store):
    """`Collected` skips eventsourcing's Protocol checks for Aggregates; what it collects must not differ."""
    from eventsourcing.application import ProcessingEvent

    from laworkflow.commits import Collected

    engine = make_engine(sqlite_store)
    ids = [engine.start("ofsted-laassi@1", {"authority": f"LA {n}", "concerns": ["other_concern"]}, actor="tester") for n in range(2)]
    first, second = (engine.repository.get(cid) for cid in ids)
    first.fire(
        engine.pinned(first.definition_id, first.definition_version, first.definition_hash),
        "give_notice",
        {"on_site_start": "2013-06-10", "lead_inspector": "L", "inspectors": ["I"]},
        actor="tester",
        at=first.effective_at,
    )
    pending = list(first.pending_events)
    assert pending, "the command decided nothing to save"
    loose = pending[-1]  # an event on its own, as eventsourcing's save also takes them
    ours, theirs = Collected(), ProcessingEvent()
    ours.collect_events(first, None, second, loose, note="kept")
    first.pending_events[:] = pending
    theirs.collect_events(first, None, second, loose, note="kept")
    assert ours.events == theirs.events == [*pending, loose]
    assert ours.aggregates == theirs.aggregates == {first.id: first, second.id: second}
    assert ours.saved_kwargs == theirs.saved_kwargs == {"note": "kept"}
