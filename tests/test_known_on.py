"""Two kinds of time: --as-of (what had taken effect by then) and --known-on (what the record said at the end of a UK day).

A back-dated entry is the auditor's case: recorded on the 8th, taking effect on
the 5th. As of the 6th the case had moved; known on the 7th, the record did not
say so yet. Recording times are the events' timestamps: in Python the test sets
the recording clock (the domain's `create_timestamp`); the CLI and HTTP run on
real time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from laworkflow import Catalog, Engine, SimulatedClock, store_env
from laworkflow.cases.case import Case
from laworkflow.errors import BadTime, OutOfRange, UnknownCase
from laworkflow.http.app import create_app
from laworkflow.keys import Keys

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
OFSTED = "ofsted-laassi@1"  # named in 2024, outside its window (to April 2014): each case's start also records the finding out_of_force
START = {"authority": "Kent", "concerns": ["attainment_below_national"]}
NOTICE = {"on_site_start": "2024-03-11", "lead_inspector": "HMI Lead", "inspectors": ["HMI Second"]}


class RecordingClock:
    """When events are recorded (their timestamps), set by the test."""

    def __init__(self) -> None:
        self.now = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> RecordingClock:
    clock = RecordingClock()
    monkeypatch.setattr(Case.Event, "create_timestamp", staticmethod(clock))
    return clock


@pytest.fixture
def engine(tmp_path: Path):
    engine = Engine(Catalog.from_directory(WORKFLOWS), clock=SimulatedClock("2024-03-04T09:00:00+00:00"), env=store_env(str(tmp_path / "events.sqlite")))
    yield engine
    engine.close()


@pytest.fixture
def backdated(engine: Engine, recorded: RecordingClock) -> str:
    """Started on the 4th (recorded that day); notice recorded on the 8th, back-dated to the 5th."""
    case = engine.start(OFSTED, START, actor="hmci", at="2024-03-04T09:00")
    recorded.now = datetime(2024, 3, 8, 15, 0, tzinfo=UTC)
    engine.fire(case, "give_notice", NOTICE, actor="lead", at="2024-03-05T10:00")
    return str(case)


def test_as_of_shows_a_backdated_entry_and_known_on_the_day_before_it_was_recorded_does_not(engine, backdated):
    assert engine.get(backdated, as_of="2024-03-06").state == "notice_given"
    before = engine.get(backdated, known_on="2024-03-07")
    assert (before.state, before.events, before.known_on, before.as_of) == ("concern_raised", 2, date(2024, 3, 7), None)
    assert before.to_dict()["known_on"] == "2024-03-07"
    after = engine.get(backdated, known_on="2024-03-08")
    assert (after.state, after.events) == ("notice_given", 4)
    history = engine.history(backdated)
    assert history[1].effective_at < history[1].recorded_at  # the entry is back-dated, as the record itself says


def test_both_times_together_are_what_the_record_said_that_day_of_the_case_at_that_moment(engine, backdated):
    assert engine.get(backdated, as_of="2024-03-06", known_on="2024-03-07").state == "concern_raised"
    assert engine.get(backdated, as_of="2024-03-06", known_on="2024-03-08").state == "notice_given"
    assert engine.get(backdated, as_of="2024-03-04T12:00", known_on="2024-03-08").state == "concern_raised"


def test_known_on_ends_at_uk_midnight_not_utc(engine, recorded):
    recorded.now = datetime(2024, 6, 10, 22, 30, tzinfo=UTC)  # 23:30 on the 10th in London (BST)
    case = engine.start(OFSTED, START, actor="hmci", at="2024-06-10T09:00")
    recorded.now = datetime(2024, 6, 10, 23, 30, tzinfo=UTC)  # 00:30 on the 11th in London
    engine.fire(case, "give_notice", {**NOTICE, "on_site_start": "2024-06-14"}, actor="lead", at="2024-06-10T10:00")
    assert engine.get(case, known_on="2024-06-10").events == 2
    assert engine.get(case, known_on="2024-06-11").events == 4


def test_known_on_before_the_case_was_recorded_or_out_of_bounds_is_refused(engine, backdated):
    with pytest.raises(UnknownCase, match="recorded by the end of 2024-03-03"):
        engine.get(backdated, known_on="2024-03-03")
    with pytest.raises(UnknownCase, match="started by"):
        engine.get(backdated, as_of="2024-03-01", known_on="2024-03-08")
    with pytest.raises(OutOfRange):
        engine.get(backdated, known_on="1500-01-01")
    with pytest.raises(BadTime):
        engine.get(backdated, known_on="last tuesday")


# ------------------------------------------------------------------ the faces, on real time


def uk_today() -> date:
    return datetime.now(ZoneInfo("Europe/London")).date()


def test_show_known_on_on_the_cli(tmp_path):
    db = tmp_path / "events.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAWORKFLOW_")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "laworkflow.cli", "--store", str(db), "--workflows", str(WORKFLOWS), *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)

    started = cli("start", OFSTED, "--data", json.dumps(START), "--at", "2024-03-04T09:00", "--json")
    assert started.returncode == 0, started.stderr
    case = json.loads(started.stdout)["id"]
    today, yesterday = uk_today(), uk_today() - timedelta(days=1)
    shown = cli("show", case, "--known-on", today.isoformat(), "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["known_on"] == today.isoformat() and json.loads(shown.stdout)["state"] == "concern_raised"
    text = cli("show", case, "--known-on", today.isoformat(), "--as-of", "2024-03-05")
    assert text.returncode == 0 and f"as recorded by the end of: {today.isoformat()}" in text.stdout and "as of:" in text.stdout
    for day, says in ((yesterday.isoformat(), "had not been recorded by the end of"), ("1500-01-01", "outside"), ("someday", "cannot read")):
        refused = cli("show", case, "--known-on", day)
        lines = refused.stderr.strip().splitlines()
        assert refused.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], refused.stderr


def test_get_case_known_on_over_http(engine):
    with TestClient(create_app(engine)) as client:
        keys = Keys(engine)
        headers = {"Authorization": f"Bearer {keys.issue('auditor-1', 'auditor', by='setup')}"}
        case = str(engine.start(OFSTED, START, actor="hmci", at="2024-03-04T09:00"))
        today, yesterday = uk_today(), uk_today() - timedelta(days=1)
        shown = client.get(f"/v1/cases/{case}", params={"known_on": today.isoformat()}, headers=headers)
        assert shown.status_code == 200 and shown.json()["known_on"] == today.isoformat(), shown.text
        both = client.get(f"/v1/cases/{case}", params={"known_on": today.isoformat(), "as_of": "2024-03-05"}, headers=headers)
        assert both.status_code == 200 and both.json()["as_of"].startswith("2024-03-05")
        before = client.get(f"/v1/cases/{case}", params={"known_on": yesterday.isoformat()}, headers=headers)
        assert before.status_code == 404 and before.json()["error"]["code"] == "unknown_case"
        bad = client.get(f"/v1/cases/{case}", params={"known_on": "1500-01-01"}, headers=headers)
        assert bad.status_code == 422, bad.text
        plain = client.get(f"/v1/cases/{case}", headers=headers)
        assert plain.status_code == 200 and plain.json().get("known_on") is None
