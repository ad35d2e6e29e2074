"""Claims on PostgreSQL take whole cases: two nodes claiming at once never hold due rows of the same case.

A real PostgreSQL database (skipped, saying why, when there is none), two
engines on it as two nodes would be, and a workflow whose cases arm three
timers at once, all long overdue.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest

from laworkflow import Catalog, Engine, SimulatedClock, store_env
from laworkflow.cases.case import Case
from laworkflow.definitions.loader import load_text
from laworkflow.service.scheduler import Scheduler

THREE_TIMERS = """
id: three-timers
version: 1
title: Three timers armed at once
inspectorate: Test
calendar: england
sources:
  t: {file: t.txt, title: Test}
data:
  name: {type: string}
initial: waiting
states:
  waiting: {status: waiting, cites: {source: t, para: "1"}}
  closed: {terminal: true, cites: {source: t, para: "2"}}
transitions:
  - trigger: tick
    from: waiting
    to: waiting
    cites: {source: t, para: "1"}
  - trigger: close
    from: waiting
    to: closed
    cites: {source: t, para: "2"}
timers:
""" + "".join(f'  - id: t{i}\n    state: waiting\n    due: {i} days\n    fires: tick\n    cites: {{source: t, para: "1"}}\n' for i in (1, 2, 3))
START = datetime(2020, 1, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def nodes(postgres_database):
    catalog = Catalog([load_text(THREE_TIMERS)])
    engines = [Engine(catalog, clock=SimulatedClock(START), env=store_env(postgres_database)) for _ in range(2)]
    workflow = catalog.get("three-timers")
    cases = [Case.begin(workflow, data={"name": f"case {i}"}, parameters=None, actor="setup", at=START, case_id=uuid.uuid4()) for i in range(12)]
    engines[0].save(*cases)
    for engine in engines:
        engine.clock.advance_to("2020-01-20T09:00Z")  # every timer overdue
        engine.due_store.catch_up(engine.recorder, engine.mapper)
    yield engines, [case.id for case in cases]
    for engine in engines:
        engine.close()


def test_two_nodes_claiming_at_once_hold_whole_cases_and_never_the_same_one(nodes):
    ours, theirs = nodes[0]
    now = ours.clock.now()
    with ours.due_store.claim(now, 9) as mine:
        with theirs.due_store.claim(now, 9) as other:
            mine_cases, other_cases = Counter(i.case_id for i in mine), Counter(i.case_id for i in other)

    assert len(mine) == len(other) == 9  # 9 rows: three whole cases each, every timer of each
    assert set(mine_cases.values()) == set(other_cases.values()) == {3}
    assert not set(mine_cases) & set(other_cases)  # no case is held by both


def test_two_schedulers_fire_every_timer_once_each_case_decided_by_one_node_a_claim(nodes):
    (ours, theirs), cases = nodes
    schedulers = [Scheduler(engine, batch=6, first_batch=6) for engine in (ours, theirs)]
    threads = [threading.Thread(target=s.tick) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    counts = {case: sum(isinstance(e, Case.TimerFired) for e in ours.events.get(case)) for case in cases}
    assert counts == dict.fromkeys(cases, 3)
    assert ours.due(before="2020-02-01") == [] and ours.quarantined() == []
