"""The garbage collector: `serve` settles its process's; a catch-up pauses it while it folds pages of the log.

`serve`'s (`service.collector.settle`): start-up frozen, young collections
rarer, cycles still collected. Each check runs in a Python process of its own:
the collector is the process's, and the test process must keep Python's
defaults for every other test. A catch-up's (`projections.collector`): paused
inside, back after, counted across threads; these put the collector back as
they found it.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from laworkflow.projections.collector import collector_paused
from laworkflow.projections.follower import pages
from threads import held_elsewhere


def _in_a_process(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_settle_freezes_start_up_and_raises_the_young_threshold() -> None:
    found = _in_a_process(
        """
        import gc, json
        from laworkflow.service.collector import settle
        default = gc.get_threshold()
        before = settle(20_000)
        print(json.dumps({"default": default, "before": before, "after": gc.get_threshold(), "frozen": gc.get_freeze_count()}))
        """
    )
    assert found["before"] == found["default"]  # given back, to be put back by a caller that is not a process
    assert found["after"] == [20_000, *found["default"][1:]]  # only the young generation's threshold moves
    assert found["frozen"] > 10_000  # the modules imported so far, laworkflow's among them


def test_cycles_made_after_settling_are_still_collected() -> None:
    """Rarer, not never: a cycle of garbage made after `settle` goes once enough is allocated."""
    found = _in_a_process(
        """
        import gc, json, weakref
        from laworkflow.service.collector import settle
        settle(5_000)
        class Node:
            pass
        a, b = Node(), Node()
        a.other, b.other = b, a
        alive = weakref.ref(a)
        del a, b
        still = alive() is not None  # no collection yet
        kept = [[] for _ in range(20_000)]  # allocations: past the threshold, a young collection runs
        print(json.dumps({"before": still, "after": alive() is not None}))
        """
    )
    assert found == {"before": True, "after": False}


def test_a_negative_threshold_is_refused_and_changes_nothing() -> None:
    found = _in_a_process(
        """
        import gc, json
        from laworkflow.service.collector import settle
        default = gc.get_threshold()
        try:
            settle(-1)
        except ValueError as error:
            message = str(error)
        print(json.dumps({"message": message, "same": gc.get_threshold() == default, "frozen": gc.get_freeze_count()}))
        """
    )
    assert found == {"message": "the collector's threshold is a count of allocations, 0 or more, not -1", "same": True, "frozen": 0}


# ------------------------------------------------------------------- a catch-up's pause (projections.collector)


def test_the_collector_is_paused_inside_the_block_and_back_after_it() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a fold that fails")
    assert gc.isenabled()  # back after a failure too


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_with_two_threads_it_comes_back_when_the_last_one_leaves() -> None:
    with held_elsewhere(collector_paused()):
        with collector_paused():
            pass
        assert not gc.isenabled()  # the other thread is still folding
    assert gc.isenabled()


class _Watched:
    """eventsourcing's recorder (or mapper), noting whether the collector was on at each page read (or event decoded)."""

    def __init__(self, inner: Any):
        self.inner, self.collector_on = inner, []

    def select_notifications(self, *args: Any, **kwargs: Any) -> Any:
        self.collector_on.append(gc.isenabled())
        return self.inner.select_notifications(*args, **kwargs)

    def to_domain_event(self, stored: Any) -> Any:
        self.collector_on.append(gc.isenabled())
        return self.inner.to_domain_event(stored)


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_an_index_rebuild_reads_and_folds_its_pages_with_the_collector_paused(tmp_path: Path, make_engine, kind: str) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'events.sqlite'}" if kind == "sqlite" else "memory:", start="2013-06-03T09:00:00+01:00")
    for c in range(3):
        engine.start("ofsted-laassi@1", {"authority": f"LA {c}", "concerns": ["other_concern"]}, actor="tester")
    before = engine.due()
    read, decoded = _Watched(engine.recorder), _Watched(engine.mapper)
    engine.due_store.reset()
    assert engine.due_store.catch_up(read, decoded) == engine.recorder.max_notification_id()
    assert read.collector_on and not any(read.collector_on)
    assert len(decoded.collector_on) == engine.recorder.max_notification_id() and not any(decoded.collector_on)  # folded paused too
    assert gc.isenabled() and engine.due() == before


def test_the_log_is_read_a_page_at_a_time_with_the_collector_paused_and_not_between_pages(make_engine) -> None:
    """`pages` (followers, verify, the Merkle leaves): each read paused; the reader's own work between pages is not."""
    engine = make_engine()
    for c in range(3):
        engine.start("ofsted-laassi@1", {"authority": f"LA {c}", "concerns": ["other_concern"]}, actor="tester")
    watched = _Watched(engine.recorder)
    between = [gc.isenabled() for _ in pages(watched, 0, size=2)]
    assert len(between) >= 2 and all(between)  # the pause never spans a yield
    assert watched.collector_on and not any(watched.collector_on)
