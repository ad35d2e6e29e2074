"""The calendar feed: a real Ofsted case's deadlines and milestones as iCalendar, read back with the icalendar package.

The case is the README's worked example: Norfolk, concern raised Monday 3 June
2013, notice given Wednesday 5 June for an on-site week from Monday 10 June,
feedback and leaving the site on Friday 14 June. The dates the feed must show
are worked out here by hand from the framework's periods, not by the engine:

- on-site normally 4 working days from Monday 10 June: 10, 11, 12, 13 June, so the
  deadline is the 4th working day after the start, Friday 14 June (met that day);
- the letter within 20 working days of Friday 14 June: 17-21 June (5), 24-28 June
  (10), 1-5 July (15), 8-12 July (20), so Friday 12 July (no bank holiday between);
- published within 25 working days: 15-19 July, so Friday 19 July;
- the on-site week starts at midnight UK time on 10 June, which is 23:00 UTC on
  9 June (British Summer Time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from laworkflow.engine import Engine
from laworkflow.errors import InvalidData, UnknownCase
from laworkflow.feeds import Scope, feed
from laworkflow.http.app import create_app
from laworkflow.keys import KEYRING_ID, Keys

REPO = Path(__file__).resolve().parents[1]
NORFOLK = {"authority": "Norfolk", "concerns": ["attainment_below_national"]}
KENT = {"authority": "Kent", "concerns": ["attainment_below_national"]}
NOTICE = {"on_site_start": "2013-06-10", "lead_inspector": "Lead HMI", "inspectors": ["HMI"]}


def noticed(engine: Engine, data: dict[str, Any] = NORFOLK) -> str:
    case = engine.start("ofsted-laassi", data, actor="ofsted", at="2013-06-03")
    engine.fire(case, "give_notice", NOTICE, actor="ofsted", at="2013-06-05")
    return str(case)


def left_site(engine: Engine, data: dict[str, Any] = NORFOLK) -> str:
    case = noticed(engine, data)
    engine.run_due(until="2013-06-14T12:00")  # the notice timer fires: on site from 10 June
    engine.fire(case, "give_feedback", {"strengths": ["a"], "weaknesses": ["b"]}, actor="ofsted", at="2013-06-14T12:00")
    engine.fire(case, "leave_site", {}, actor="ofsted", at="2013-06-14T17:00")
    return case


def events(document: bytes) -> dict[str, Any]:
    """The feed's events by UID; a UID twice would be a duplicate in a subscribed calendar."""
    calendar = Calendar.from_ical(document)
    found = calendar.walk("VEVENT")
    uids = [str(e["UID"]) for e in found]
    assert len(uids) == len(set(uids)), "every item once"
    return {str(e["UID"]): e for e in found}


def start(event: Any) -> Any:
    return event.decoded("DTSTART")


class TestTheFeed:
    def test_the_deadlines_fall_on_the_days_worked_out_by_hand(self, make_engine):
        engine = make_engine()
        case = left_site(engine)
        calendar = Calendar.from_ical(feed(engine))
        assert str(calendar["VERSION"]) == "2.0" and "laworkflow" in str(calendar["PRODID"])
        found = events(feed(engine))
        deadlines = {uid.split("@")[0].split(".")[2]: e for uid, e in found.items() if ".deadline." in uid}
        assert {name: start(e) for name, e in deadlines.items()} == {
            "on_site_normal_length": date(2013, 6, 14),
            "letter_sent": date(2013, 7, 12),
            "letter_published": date(2013, 7, 19),
        }
        assert all(e.decoded("DTEND") == start(e).fromordinal(start(e).toordinal() + 1) for e in deadlines.values()), "one whole day"
        assert "met 2013-06-14" in str(deadlines["on_site_normal_length"]["SUMMARY"])
        assert "pending" in str(deadlines["letter_sent"]["SUMMARY"]) and str(deadlines["letter_sent"]["SUMMARY"]).startswith("Norfolk: letter_sent")
        assert all(str(uid).startswith(case) for uid in found)

    def test_the_milestones_reached_are_moments_in_utc(self, make_engine):
        engine = make_engine()
        left_site(engine)
        found = events(feed(engine))
        milestones = {str(e["SUMMARY"]): start(e) for uid, e in found.items() if ".event." in uid}
        assert milestones == {
            "Norfolk: started ofsted-laassi@1 in concern_raised": datetime(2013, 6, 2, 23, 0, tzinfo=UTC),
            "Norfolk: give_notice (concern_raised -> notice_given)": datetime(2013, 6, 4, 23, 0, tzinfo=UTC),
            "Norfolk: begin_on_site (notice_given -> on_site)": datetime(2013, 6, 9, 23, 0, tzinfo=UTC),
            "Norfolk: give_feedback (on_site -> on_site)": datetime(2013, 6, 14, 11, 0, tzinfo=UTC),
            "Norfolk: leave_site (on_site -> quality_assurance)": datetime(2013, 6, 14, 16, 0, tzinfo=UTC),
        }

    def test_an_armed_timer_is_a_milestone_to_come(self, make_engine):
        engine = make_engine()
        case = noticed(engine)
        found = events(feed(engine))
        timer = found[f"{case}.timer.notice_ends@laworkflow"]
        assert start(timer) == datetime(2013, 6, 9, 23, 0, tzinfo=UTC)  # midnight UK time, 10 June
        assert str(timer["SUMMARY"]) == "Norfolk: begin_on_site (ofsted-laassi@1)"

    def test_a_refetched_feed_updates_each_item_in_place(self, make_engine):
        engine = make_engine()
        case = left_site(engine)
        before = feed(engine)
        assert feed(engine) == before, "an unchanged store gives the same bytes"
        engine.run_due(until="2013-07-13T12:00")  # 12 July is over: the letter deadline is missed
        after = events(feed(engine))
        first = events(before)
        assert set(first) <= set(after), "nothing already shown gets a new identity"
        uid = f"{case}.deadline.letter_sent@laworkflow"
        assert "pending" in str(first[uid]["SUMMARY"]) and "missed" in str(after[uid]["SUMMARY"])
        assert start(after[uid]) == date(2013, 7, 12)
        assert int(after[uid]["SEQUENCE"]) > int(first[uid]["SEQUENCE"])

    def test_one_authority_or_one_case(self, make_engine):
        engine = make_engine()
        norfolk, kent = left_site(engine), noticed(engine, KENT)
        mine = events(feed(engine, Scope(authority="norfolk")))  # as the cases spell it or not
        assert mine and all(uid.startswith(norfolk) for uid in mine)
        assert "laworkflow: Norfolk" == str(Calendar.from_ical(feed(engine, Scope(authority="norfolk")))["X-WR-CALNAME"])
        one = events(feed(engine, Scope(case=engine.get(kent).id)))
        assert one and all(uid.startswith(kent) for uid in one)
        both = events(feed(engine))
        assert set(mine) | set(one) == set(both)

    def test_an_authority_with_no_case_or_an_unknown_case_is_refused(self, make_engine):
        engine = make_engine()
        left_site(engine)
        with pytest.raises(InvalidData, match="authorities with cases: Norfolk"):
            feed(engine, Scope(authority="Kent"))
        with pytest.raises(UnknownCase):
            feed(engine, Scope(case=UUID(int=1)))


@pytest.fixture
def served(make_engine):
    engine = make_engine()
    case = left_site(engine)
    keys = Keys(engine)
    with TestClient(create_app(engine)) as client:
        yield client, keys, case


class TestOverHttp:
    def test_a_calendar_token_in_the_url_reads_the_feed(self, served):
        client, keys, case = served
        token = keys.issue("outlook", "calendar", by="setup")
        response = client.get("/v1/calendar.ics", params={"token": token})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
        found = events(response.content)
        assert start(found[f"{case}.deadline.letter_sent@laworkflow"]) == date(2013, 7, 12)
        per_case = events(client.get("/v1/calendar.ics", params={"token": token, "case": case}).content)
        assert set(per_case) == set(found)
        assert events(client.get("/v1/calendar.ics", params={"token": token, "authority": "Norfolk"}).content).keys() == found.keys()

    def test_no_token_an_api_key_or_a_revoked_token_is_refused(self, served):
        client, keys, _ = served
        assert client.get("/v1/calendar.ics").status_code == 401
        for role in ("admin", "auditor"):
            key = keys.issue(f"{role}-1", role, by="setup")
            refused = client.get("/v1/calendar.ics", params={"token": key})
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden", "no API key travels in a URL"
        token = keys.issue("google", "calendar", by="setup")
        assert client.get("/v1/due", headers={"Authorization": f"Bearer {token}"}).status_code == 403, "the token reads the calendar alone"
        keys.revoke("google", by="setup")
        assert client.get("/v1/calendar.ics", params={"token": token}).status_code == 401
        assert client.get("/v1/calendar.ics", params={"token": token[:-1] + "x"}).status_code == 401

    def test_bad_scopes_are_4xx(self, served):
        client, keys, _ = served
        token = keys.issue("ical", "calendar", by="setup")
        assert client.get("/v1/calendar.ics", params={"token": token, "authority": "Atlantis"}).status_code == 422
        assert client.get("/v1/calendar.ics", params={"token": token, "case": "not-a-uuid"}).status_code == 422
        for case in (str(KEYRING_ID), "00000000-0000-4000-8000-000000000000"):
            assert client.get("/v1/calendar.ics", params={"token": token, "case": case}).status_code == 404
        for query in (f"token={token}&authority=%ED%A0%80", f"token={token}&authority={'x' * 201}", "token=%FF%FE", "token=" + "lw_a_" + "b" * 5000):
            refused = client.get(f"/v1/calendar.ics?{query}")
            assert 400 <= refused.status_code < 500 and refused.json()["error"]["code"], query


ENV = {name: value for name, value in os.environ.items() if name not in ("LAWORKFLOW_LOG", "LAWORKFLOW_STORE", "LAWORKFLOW_WORKFLOWS")}


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "laworkflow.cli", "--store", str(db), "--workflows", str(REPO / "workflows"), *args],
        capture_output=True,
        text=True,
        cwd=db.parent,
        env=ENV,
        timeout=120,
    )


def test_the_calendar_command_writes_the_same_feed(make_engine, tmp_path):
    db = tmp_path / "events.sqlite"
    engine = make_engine(f"sqlite:///{db}")
    case = left_site(engine)
    expected = feed(engine, Scope(authority="Norfolk"))
    engine.close()
    out = tmp_path / "norfolk.ics"
    run = cli(db, "calendar", "--authority", "norfolk", "--out", str(out), "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"out": str(out), "title": "laworkflow: Norfolk", "events": len(events(expected))}
    assert out.read_bytes() == expected
    one = tmp_path / "one.ics"
    assert cli(db, "calendar", "--case", case[:8], "--out", str(one)).returncode == 0
    assert start(events(one.read_bytes())[f"{case}.deadline.letter_published@laworkflow"]) == date(2013, 7, 19)
    issued = cli(db, "keys", "issue", "outlook", "--role", "calendar")
    assert issued.returncode == 0 and issued.stdout.startswith("lw_outlook_")
    assert cli(db, "keys", "revoke", "outlook").stdout.strip() == "revoked outlook (calendar)"


@pytest.mark.parametrize("args", [["--authority", "Atlantis"], ["--case", "ffff"], ["--authority", "Norfolk", "--case", "ffff"]])
def test_a_refused_calendar_command_is_one_line_and_writes_nothing(make_engine, tmp_path, args):
    db = tmp_path / "events.sqlite"
    left_site(make_engine(f"sqlite:///{db}"))
    out = tmp_path / "refused.ics"
    run = cli(db, "calendar", *args, "--out", str(out))
    assert run.returncode == 1 and run.stderr.startswith("error: ") and run.stderr.count("\n") == 1, run.stderr
    assert not out.exists()
