"""The timer index rebuilt from the log in large pages and bulk writes equals the one built event by event, on real stores."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from laworkflow.audit.index import check_index, rebuild_index
from laworkflow.cases.views import DueItem
from laworkflow.projections.backends import postgres, sql

NOTICE = {"on_site_start": "2013-06-10", "lead_inspector": "L", "inspectors": ["I"]}
# ofsted-laassi-2013: notice_ends is due "on on_site_start" (UK midnight, 23:00 UTC in June); on site, on_site_normal_length is due
# after on_site_length, 4 working days from Monday 10 June: Friday 14 June, missed once that UK day is over.
NOTICE_ENDS = datetime(2013, 6, 9, 23, 0, tzinfo=UTC)
ON_SITE_ENDS = datetime(2013, 6, 14, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize("page, chunk, copy_from", [(7, 3, 1_000), (10_000, 500, 1)])
def test_rebuilt_index_equals_the_one_followed_event_by_event(store, make_engine, monkeypatch, page: int, chunk: int, copy_from: int) -> None:
    if store.startswith("memory"):
        pytest.skip("the bulk write path is the SQL stores'")
    monkeypatch.setattr(sql, "_BATCH", page)  # small pages: the log spans many, and case ids are looked up a few at a time
    monkeypatch.setattr(sql, "_IN_CHUNK", chunk)
    monkeypatch.setattr(postgres, "COPY_FROM", copy_from)  # 1: on PostgreSQL every upsert, followed or rebuilt, goes by COPY
    engine = make_engine(store, start="2013-06-03T09:00:00+01:00")
    waiting, on_site = [], []
    for c in range(12):
        cid = engine.start("ofsted-laassi@1", {"authority": f"LA {c}", "concerns": ["other_concern"]}, actor="tester")
        engine.fire(cid, "give_notice", NOTICE, actor="tester")
        engine.due()  # each command's events folded in as they come
        (on_site if c % 2 else waiting).append(cid)
    for cid in on_site:
        engine.fire_timer(cid, "notice_ends", at="2013-06-10T00:00:00+01:00")
        engine.due()
    followed = engine.due()
    expected = sorted(
        [(NOTICE_ENDS, "timer", cid, "notice_ends") for cid in waiting] + [(ON_SITE_ENDS, "deadline", cid, "on_site_normal_length") for cid in on_site]
    )
    assert sorted((i.due_at, i.kind, i.case_id, i.name) for i in followed) == expected
    assert check_index(engine).ok

    assert rebuild_index(engine) == 12
    assert engine.due() == followed
    assert check_index(engine).ok
    assert engine.due_store.position() == engine.recorder.max_notification_id()


def test_rows_streamed_by_copy_replace_those_of_the_same_key(postgres_database, make_engine, monkeypatch) -> None:
    """The COPY path is an upsert: a row whose key is already there takes the new due time and detail, the others are added."""
    monkeypatch.setattr(postgres, "COPY_FROM", 1)
    due_store = make_engine(postgres_database).due_store
    case = uuid4()
    first = [DueItem(NOTICE_ENDS, "timer", case, "notice_ends", "ofsted-laassi@1", "fires 'begin_on_site'")]
    again = [DueItem(ON_SITE_ENDS, "timer", case, "notice_ends", "ofsted-laassi@1", "moved"), DueItem(ON_SITE_ENDS, "deadline", case, "d", "w", "x")]
    for items in (first, again):
        with due_store._transaction() as cursor:
            due_store._upsert(cursor, "lw_due", [due_store._values(item) for item in items])
            due_store._upsert(cursor, "lw_cases", [(case, "ofsted-laassi@2")])
    assert sorted(due_store.due()) == sorted(again)
    with due_store._transaction() as cursor:
        cursor.execute("SELECT workflow FROM lw_cases WHERE case_id = %s", (case,))
        assert cursor.fetchall() == [("ofsted-laassi@2",)]
