"""The Ofsted bypasses of issue 10, refused through the CLI (a subprocess) and HTTP, on a real SQLite file, store unchanged.

- The first day on site (2013 framework para 12; the 2014 revisions, seed 002
  ¶15), a monitoring visit's first day and a re-inspection's (seed 003) begun
  by hand before the day given in the notice, or with an empty override
  reason: refused, so the deadlines that count from the first day count from
  the day notified.
- A monitoring case started with `visits_completed: 4` (seed 003, "a minimum
  of four monitoring visits"): refused, the count is not start data.
The same rules in Python, with their dates, are in tests/scenarios/test_ofsted_*.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from fastapi.testclient import TestClient

from laworkflow.http.app import create_app
from laworkflow.keys import Keys

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
TEAM = {"lead_inspector": "Lead HMI", "inspectors": ["HMI"]}
SOME_AREAS = {"authority": "Barsetshire", "inadequate_areas": ["help_and_protection"]}


def stored(engine: Any) -> list[tuple[Any, ...]]:
    return [(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state)) for n in engine.recorder.select_notifications(1, 10**6)]


def cli_refused(db: Path, *args: str) -> str:
    """Exit 1, one `error:` line, nothing on stdout, the store file byte for byte as it was; returns the line."""
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAWORKFLOW_", "POSTGRES_"))}
    command = [sys.executable, "-m", "laworkflow.cli", "--workflows", str(WORKFLOWS), "--store", str(db), *args]
    run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=db.parent, timeout=120)
    shown = f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    assert run.returncode == 1 and run.stdout == "" and "Traceback" not in run.stderr, shown
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), shown
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before, f"the store changed: {lines[0]}"
    return lines[0]


def http_refused(engine: Any, path: str, body: dict[str, Any], status: int, code: str) -> str:
    with TestClient(create_app(engine)) as client:
        key = Keys(engine).issue(f"backoffice-{len(stored(engine))}", "inspector", by="setup")
        before = stored(engine)
        response = client.post(path, json=body, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == code, error
        assert stored(engine) == before, "a refused request wrote something"
        message: str = error["message"]
        return message


def laassi_1(engine: Any) -> tuple[str, str, str]:
    case = engine.start("ofsted-laassi", {"authority": "Norfolk", "concerns": ["attainment_below_national"]}, version=1, actor="hmci", at="2013-06-03T09:00")
    engine.fire(case, "give_notice", {"on_site_start": "2013-06-10", **TEAM}, actor="ofsted", at="2013-06-05T10:00")
    return str(case), "begin_on_site", "2013-06-07T09:00"


def laassi_3(engine: Any) -> tuple[str, str, str]:
    concerns = {"authority": "Barsetshire", "concerns": ["attainment_below_national"]}
    case = engine.start("ofsted-laassi", concerns, version=3, actor="regional-director", at="2015-03-02T09:00")
    engine.fire(case, "give_notice", {"on_site_start": "2015-03-16", "schools": ["a"], **TEAM}, actor="ofsted", at="2015-03-09T10:00")
    engine.fire(case, "complete_phase1", {"schools_inspected": ["a"], "issues_raised": [], "themes_raised": []}, actor="lead", at="2015-03-12T17:00")
    return str(case), "begin_on_site", "2015-03-13T09:00"


def monitoring_visit(engine: Any) -> tuple[str, str, str]:
    parent = engine.start("ofsted-monitoring", SOME_AREAS, actor="ofsted", at="2016-07-04T09:00")
    engine.fire(parent, "submit_action_plan", {"action_plan_date": "2016-10-03"}, actor="la", at="2016-10-03T10:00")
    child = engine.fire(parent, "schedule_visit", actor="shmi", at="2017-01-04T09:00").children[-1]["id"]
    engine.fire(child, "give_notice", {"visit_start": "2017-01-11", "lead_inspector": "HMI"}, actor="ofsted", at="2017-01-04T10:00")
    return str(child), "begin_visit", "2017-01-09T09:00"


def reinspection(engine: Any) -> tuple[str, str, str]:
    parent = engine.start("ofsted-monitoring", SOME_AREAS, actor="ofsted", at="2016-07-04T09:00")
    engine.fire(parent, "submit_action_plan", {"action_plan_date": "2016-10-03"}, actor="la", at="2016-10-03T10:00")
    engine.fire(parent, "decide_reinspection", {"override_reason": "serious decline reported"}, actor="hmci", at="2016-11-01T10:00")
    child = engine.fire(parent, "arrange_post_monitoring_inspection", actor="shmi", at="2016-11-01T11:00").children[-1]["id"]
    engine.fire(child, "give_notice", {"on_site_start": "2016-11-14", "lead_inspector": "HMI"}, actor="ofsted", at="2016-11-07T10:00")
    return str(child), "begin_post_monitoring_inspection", "2016-11-10T09:00"


@pytest.mark.parametrize("build", [laassi_1, laassi_3, monitoring_visit, reinspection])
def test_a_first_day_before_the_day_notified_is_refused_through_the_cli_and_http(make_engine, tmp_path, build):
    db = tmp_path / "events.sqlite"
    engine = make_engine(f"sqlite:///{db}", start="2013-06-03T09:00")
    case, trigger, early = build(engine)
    state = engine.get(case).state

    message = http_refused(engine, f"/v1/cases/{case}/fire", {"trigger": trigger, "at": early}, 409, "guard_failed")
    assert "on_or_after" in message
    message = http_refused(engine, f"/v1/cases/{case}/fire", {"trigger": trigger, "data": {"early_start_reason": " "}, "at": early}, 422, "invalid_data")
    assert "early_start_reason" in message
    assert engine.get(case).state == state
    engine.close()

    assert "on_or_after" in cli_refused(db, "fire", case, trigger, "--actor", "lead", "--at", early)
    assert "early_start_reason" in cli_refused(db, "fire", case, trigger, "--data", json.dumps({"early_start_reason": ""}), "--at", early)


def test_a_monitoring_case_started_with_four_visits_is_refused_through_the_cli_and_http(make_engine, tmp_path):
    db = tmp_path / "events.sqlite"
    engine = make_engine(f"sqlite:///{db}", start="2016-07-04T09:00")
    engine.start("ofsted-monitoring", SOME_AREAS, actor="ofsted", at="2016-07-04T09:00")  # the file exists, with one case
    body = {"workflow": "ofsted-monitoring", "data": {**SOME_AREAS, "visits_completed": 4}, "at": "2016-07-04T10:00"}
    assert "visits_completed" in http_refused(engine, "/v1/cases", body, 422, "invalid_data")
    engine.close()
    line = cli_refused(db, "start", "ofsted-monitoring", "--data", json.dumps(body["data"]), "--at", "2016-07-04T10:00")
    assert "visits_completed" in line
