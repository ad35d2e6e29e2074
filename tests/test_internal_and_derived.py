"""Rules that cannot be bypassed (issue 10, items 1 and 2): internal triggers, derived data, non-empty reasons.

Each bypass the issue lists is refused through Python, the CLI (the real
program, as a subprocess, on a real SQLite file that must stay byte for byte
the same) and HTTP (the app over the same engine; nothing may be stored):

- `visit_completed` fired by hand four times while the monitoring visit is
  still `arranged` (seed 003, "a minimum of four monitoring visits");
- the Estyn follow-up's conference and monitoring-visit reactions fired by
  hand (seed 004 Part 3), which removed an authority ten days after
  publication;
- `all_key_areas_inadequate: false` sent beside all three key judgement areas
  listed as inadequate (seed 003, footnote 3): the flag is derived now;
- an override reason (or any reason) of "" or whitespace.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from laworkflow import Catalog, InvalidData
from laworkflow.calendar.clock import SimulatedClock
from laworkflow.definitions.loader import load_text
from laworkflow.engine import Engine
from laworkflow.errors import DefinitionError, GuardFailed, InternalTrigger, TriggerNotAllowed
from laworkflow.http.app import create_app
from laworkflow.keys import Keys
from laworkflow.store import store_env
from scenarios.test_estyn_follow_up import improvement_conference
from scenarios.test_ofsted_monitoring import ALL_AREAS, SOME_AREAS, judged

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
MONITORING = "ofsted-monitoring"
FOLLOW_UP = "estyn-follow-up"
COMPLETED = {"progress_concern": False}


# ------------------------------------------------------------------ helpers


def stored(engine: Engine) -> list[tuple[Any, ...]]:
    """Every notification in the store: what 'unchanged' is measured against."""
    return [(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state)) for n in engine.recorder.select_notifications(1, 10**6)]


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAWORKFLOW_", "POSTGRES_"))}
    command = [sys.executable, "-m", "laworkflow.cli", "--workflows", str(WORKFLOWS), "--store", str(db), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=db.parent, timeout=120)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli_refused(db: Path, *args: str) -> str:
    """Exit 1, one `error:` line, nothing on stdout, and the store file byte for byte as it was; returns the line."""
    before = digest(db)
    run = cli(db, *args)
    shown = f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    assert run.returncode == 1 and run.stdout == "" and "Traceback" not in run.stderr, shown
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), shown
    assert digest(db) == before, f"the store changed: {lines[0]}"
    return lines[0]


class Http:
    """The app over an engine, with an inspector's and an admin's key (issued before the 'unchanged' snapshot)."""

    def __init__(self, engine: Engine, client: TestClient):
        self.engine, self.client = engine, client
        keys = Keys(engine)
        self.inspector = keys.issue("backoffice", "inspector", by="setup")
        self.admin = keys.issue("root", "admin", by="setup")

    def post(self, path: str, body: dict[str, Any], key: str | None = None) -> Any:
        return self.client.post(path, json=body, headers={"Authorization": f"Bearer {key or self.inspector}"})

    def get(self, path: str) -> Any:
        return self.client.get(path, headers={"Authorization": f"Bearer {self.inspector}"})

    def refused(self, path: str, body: dict[str, Any], status: int, code: str, key: str | None = None) -> str:
        before = stored(self.engine)
        response = self.post(path, body, key)
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == code, error
        assert stored(self.engine) == before, "a refused request wrote something"
        message: str = error["message"]
        return message


@pytest.fixture
def on_file(make_engine, tmp_path: Path):
    """An engine on a real SQLite file, and the file (for the CLI, once the engine is closed)."""
    db = tmp_path / "events.sqlite"
    return make_engine(f"sqlite:///{db}", start="2016-07-04T09:00"), db


def visit_arranged(engine: Engine) -> tuple[Any, str]:
    """A monitoring case (action plan in) whose first quarterly visit is arranged, its child case still `arranged`."""
    parent = judged(engine)
    child = engine.fire(parent, "schedule_visit", actor="shmi", at="2017-01-04T09:00").children[-1]["id"]
    assert (engine.get(parent).state, engine.get(child).state) == ("visit_under_way", "arranged")
    return parent, child


def follow_up(engine: Engine, *, arranged: bool = True) -> Any:
    """The Estyn follow-up of an authority causing significant concern, published Mon 14 Nov 2022, its improvement conference arranged.

    Started directly, as the publication of the inspection starts it (tests/scenarios/test_estyn_follow_up.py runs that path).
    """
    case = engine.start(FOLLOW_UP, {"authority": "Ceredigion", "inspection_end": "2022-09-09"}, actor="estyn", at="2022-11-14T09:00")
    if arranged:
        engine.fire(case, "arrange_improvement_conference", actor="estyn", at="2022-11-14T12:00")
        assert engine.get(case).state == "improvement_conference"
    return case


# The follow-up's reactions typed in by hand ten days after publication: the conference "held", its letter "sent", the
# monitoring visit "begun" and its report "published" with sufficient progress (removal from follow-up).
BY_HAND = [
    ("record_improvement_conference", {"improvement_conference_on": "2022-11-24", "last_milestone_on": "2022-11-24"}),
    ("record_improvement_letter", {}),
    ("record_progress_conference", {"last_progress_conference_on": "2022-11-24", "last_milestone_on": "2022-11-24"}),
    ("record_progress_letter", {}),
    ("record_monitoring_visit", {"monitoring_visit_on": "2022-11-24"}),
    ("record_monitoring_report", {"sufficient_progress": True, "last_milestone_on": "2022-11-24"}),
]


# ------------------------------------------------------------ internal triggers


class TestInternalTriggers:
    def test_visit_completed_fired_by_hand_four_times_is_refused_and_names_the_reaction(self, make_engine):
        """Seed 003 (Next steps ¶2, item 4): four visits counted only when the visits' letters are done, never by hand."""
        engine = make_engine(start="2016-07-04T09:00")
        parent, _ = visit_arranged(engine)
        before = stored(engine)
        for n in range(4):
            with pytest.raises(InternalTrigger) as refused:
                engine.fire(parent, "visit_completed", COMPLETED, actor="shmi", at=f"2017-01-0{5 + n}T10:00")
            assert refused.value.code == "internal_trigger"
        message = str(refused.value)
        assert "taken only by the engine" in message
        assert "reaction 'visit_reported' when a ofsted-monitoring-visit child case reaches 'letter_unpublished' or 'letter_published'" in message
        assert stored(engine) == before
        assert (engine.get(parent).state, engine.get(parent).data.get("visits_completed")) == ("visit_under_way", None)  # no visit counted

    def test_a_refusal_never_offers_an_internal_trigger(self, make_engine):
        """The refusal's list of allowed triggers is what a person may fire: the reactions' triggers are not offered."""
        engine = make_engine(start="2016-07-04T09:00")
        parent, _ = visit_arranged(engine)
        before = stored(engine)
        with pytest.raises(TriggerNotAllowed) as refused:
            engine.fire(parent, "submit_action_plan", {"action_plan_date": "2016-08-01"}, actor="la", at="2017-01-05T10:00")
        allowed = str(refused.value).partition("allowed: ")[2].split(", ")
        assert allowed and "visit_began" not in allowed and "visit_completed" not in allowed
        assert allowed == [t.trigger for t in engine.allowed_triggers(parent)] or allowed == ["(none: the case has ended, or only the engine moves it on)"]
        assert stored(engine) == before

    def test_the_reaction_still_takes_it_as_the_engine(self, make_engine):
        """The trigger is internal, not gone: the visit's letter reaches the parent, recorded with the child as actor."""
        engine = make_engine(start="2016-07-04T09:00")
        parent, child = visit_arranged(engine)
        engine.fire(child, "give_notice", {"visit_start": "2017-01-11", "lead_inspector": "HMI"}, actor="ofsted", at="2017-01-04T10:00")
        engine.run_due(until="2017-01-11T09:00")
        engine.fire(child, "record_evidence", {"entry": "a case audit", "audited_case": True}, actor="hmi", at="2017-01-11T14:00")
        engine.fire(child, "end_visit", actor="hmi", at="2017-01-12T16:00")
        engine.fire(child, "send_letter", {"narrative": "progress", "progress_concern": False}, actor="ofsted", at="2017-02-02T10:00")
        engine.fire(child, "keep_unpublished", actor="ofsted", at="2017-02-02T10:05")
        assert engine.get(parent).data["visits_completed"] == 1
        taken = [h for h in engine.history(parent) if h.type == "Transitioned" and h.details["trigger"] in ("visit_began", "visit_completed")]
        assert [h.actor for h in taken] == [f"child:{child}", f"child:{child}"]

    def test_the_monitoring_bypass_is_refused_through_the_cli_and_http(self, on_file):
        engine, db = on_file
        parent, _ = visit_arranged(engine)
        with TestClient(create_app(engine)) as client:
            http = Http(engine, client)
            for _ in range(4):
                message = http.refused(f"/v1/cases/{parent}/fire", {"trigger": "visit_completed", "data": COMPLETED}, 403, "internal_trigger")
            assert "reaction 'visit_reported'" in message
            assert http.refused(f"/v1/cases/{parent}/fire", {"trigger": "visit_completed", "data": COMPLETED}, 403, "internal_trigger", key=http.admin)
            allowed = http.get(f"/v1/cases/{parent}/allowed").json()["triggers"]
            assert {t["trigger"] for t in allowed} & {"visit_began", "visit_completed"} == set()
        engine.close()
        for n in range(4):
            line = cli_refused(
                db, "fire", str(parent), "visit_completed", "--data", json.dumps(COMPLETED), "--actor", "shmi", "--at", f"2017-01-0{5 + n}T10:00"
            )
        assert line.startswith("error: trigger 'visit_completed' of ofsted-monitoring@1 is taken only by the engine")
        shown = cli(db, "allowed", str(parent), "--json")
        assert shown.returncode == 0, shown.stderr
        assert {t["trigger"] for t in json.loads(shown.stdout)["triggers"]} & {"visit_began", "visit_completed"} == set()

    def test_every_estyn_follow_up_reaction_fired_by_hand_is_refused(self, make_engine):
        """Seed 004 Part 3: the conferences, the visit and its report are the child cases' to report."""
        engine = make_engine(start="2022-11-14T09:00")
        case = follow_up(engine, arranged=False)
        before = stored(engine)
        for trigger, data in BY_HAND:
            with pytest.raises(InternalTrigger, match=f"trigger '{trigger}' of estyn-follow-up@1 is taken only by the engine"):
                engine.fire(case, trigger, data, actor="estyn", at="2022-11-14T10:00")
        assert stored(engine) == before
        assert engine.get(case).state == "awaiting_improvement_conference"
        conference = improvement_conference(engine, case)  # the real path: the child case reports, the parent reacts
        assert engine.get(case).state == "awaiting_progress_conference"
        reacted = [h.actor for h in engine.history(case) if h.type == "Transitioned" and h.details["trigger"].startswith("record_improvement")]
        assert reacted == [f"child:{conference}", f"child:{conference}"]

    def test_the_estyn_bypass_is_refused_through_the_cli_and_http(self, on_file):
        engine, db = on_file
        case = follow_up(engine)
        with TestClient(create_app(engine)) as client:
            http = Http(engine, client)
            for trigger, data in BY_HAND:
                message = http.refused(f"/v1/cases/{case}/fire", {"trigger": trigger, "data": data, "at": "2022-11-24T10:00"}, 403, "internal_trigger")
                assert f"trigger '{trigger}'" in message
        engine.close()
        for trigger, data in (BY_HAND[0], BY_HAND[1], BY_HAND[-1]):
            line = cli_refused(db, "fire", str(case), trigger, "--data", json.dumps(data), "--actor", "estyn", "--at", "2022-11-24T10:00")
            assert "is taken only by the engine" in line and "reaction '" in line

    def test_a_timer_takes_an_internal_trigger_a_person_cannot(self, make_engine):
        catalog = Catalog([load_text(TIMED)])
        engine = Engine(catalog, clock=SimulatedClock("2024-03-04T09:00"), env=store_env("memory:"))
        try:
            case = engine.start("timed", {}, actor="x", at="2024-03-04T09:00")
            with pytest.raises(InternalTrigger, match="timer 'closes' when it falls due in state 'open'"):
                engine.fire(case, "close", actor="x", at="2024-03-05T09:00")
            assert [t.trigger for t in engine.allowed_triggers(case)] == ["note"]
            engine.run_due(until="2024-03-12T09:00")
            assert engine.get(case).state == "closed"
        finally:
            engine.close()


TIMED = """
id: timed
version: 1
title: A case a timer closes
inspectorate: Test
calendar: england
sources: {guide: {file: guide.txt, title: A guide}}
initial: open
states:
  open: {cites: {source: guide, para: "1"}}
  closed: {terminal: true, cites: {source: guide, para: "1"}}
transitions:
  - {trigger: close, from: open, to: closed, internal: true, cites: {source: guide, para: "1"}}
  - {trigger: note, from: open, cites: {source: guide, para: "1"}}
timers:
  - {id: closes, state: open, fires: close, due: 5 working days, cites: {source: guide, para: "1"}}
"""


class TestDefinitionChecks:
    def test_a_reaction_whose_trigger_is_not_internal_is_a_load_error_with_its_line(self):
        text = (WORKFLOWS / "ofsted-monitoring-2016.yaml").read_text(encoding="utf-8")
        marked = "  - trigger: visit_completed\n    internal: true"
        assert marked in text
        with pytest.raises(DefinitionError) as error:
            load_text(text.replace(marked, "  - trigger: visit_completed"))
        (problem,) = error.value.problems
        assert problem.line == text.splitlines().index("  - trigger: visit_completed") + 1
        assert "fired by reaction 'visit_reported'" in problem.message and "mark it `internal: true`" in problem.message

    def test_an_internal_trigger_nothing_fires_is_a_load_error(self):
        with pytest.raises(DefinitionError, match="no reaction or timer fires it"):
            load_text(TIMED.replace("fires: close", "fires: note"))

    @pytest.mark.parametrize(
        ("change", "says"),
        [
            ("  flagged: {type: integer, derived: {all: [{field: areas, op: contains, value: a}]}}", "is a boolean, not a integer"),
            ("  flagged: {type: boolean, derived: {all: [{field: counted, op: ge, value: 1}]}}", "reads derived field 'counted'"),
            ("  flagged: {type: boolean, derived: {any: [{field: nowhere, op: eq, value: 1}]}}", "unknown field 'nowhere'"),
            (
                "  flagged: {type: boolean, derived: {all: [{field: areas, op: contains, value: a}], any: [{field: areas, op: contains, value: b}]}}",
                "exactly one of count, all, any",
            ),
            ("  flagged: {type: integer, derived: {count: title}}", "counts field 'title', which is a string, not a list"),
            ("  flagged: {type: integer, non_empty: true}", "'non_empty' applies to string fields"),
        ],
    )
    def test_a_derived_or_non_empty_field_that_cannot_work_is_a_load_error(self, change, says):
        with pytest.raises(DefinitionError, match=says):
            load_text(DERIVED.replace("  # more start data\n", change + "\n"))

    def test_a_trigger_or_reaction_that_would_set_a_derived_field_is_a_load_error(self):
        with pytest.raises(DefinitionError, match="field 'counted' is derived by the engine: a trigger cannot carry it"):
            load_text(DERIVED.replace("      areas: {type: list}\n", "      areas: {type: list}\n      counted: {type: integer}\n"))

    @pytest.mark.parametrize(
        ("given", "says"),
        [
            ("all_key_areas_inadequate: =all_key_areas_inadequate", "sets 'all_key_areas_inadequate', which ofsted-reinspection@1 derives"),
            ("no_such_field: =authority", "ofsted-reinspection@1 has no start field 'no_such_field'"),
        ],
    )
    def test_a_parent_that_gives_its_child_a_derived_or_unknown_field_is_a_load_error(self, tmp_path, given, says):
        """The parent's copy into the child's start data is checked when the catalog loads, not when a case first gets there."""
        folder = tmp_path / "workflows"
        shutil.copytree(WORKFLOWS, folder)
        path = folder / "ofsted-monitoring-2016.yaml"
        text = path.read_text(encoding="utf-8")
        start = "        inspection_type: full\n"  # the full re-inspection the monitoring case starts
        assert text.count(start) == 1
        path.write_text(text.replace(start, f"{start}        {given}\n"), encoding="utf-8")
        with pytest.raises(DefinitionError, match=says):
            Catalog.from_directory(folder)


DERIVED = """
id: derived
version: 1
title: Derived values
inspectorate: Test
calendar: england
sources: {guide: {file: guide.txt, title: A guide}}
data:
  title: {type: string}
  areas: {type: list, required: false}
  counted: {type: integer, derived: {count: areas}}
  all_three: {type: boolean, derived: {all: [{field: areas, op: contains, value: a}, {field: areas, op: contains, value: b}, {field: areas, op: contains, value: c}]}}
  any_listed: {type: boolean, derived: {any: [{field: areas, op: min_items, value: 1}]}}
  # more start data
initial: open
states:
  open: {cites: {source: guide, para: "1"}}
  closed: {terminal: true, cites: {source: guide, para: "1"}}
transitions:
  - trigger: list_areas
    from: open
    data:
      areas: {type: list}
    cites: {source: guide, para: "1"}
  - trigger: rename
    from: open
    data:
      title: {type: string}
    cites: {source: guide, para: "1"}
  - trigger: close
    from: open
    to: closed
    guards: [{field: all_three, op: eq, value: false}]
    cites: {source: guide, para: "1"}
"""


# ------------------------------------------------------------------ derived data


class TestDerivedData:
    def test_computed_at_start_recorded_when_it_changes_and_seen_by_guards(self):
        engine = Engine(Catalog([load_text(DERIVED)]), clock=SimulatedClock("2024-03-04T09:00"), env=store_env("memory:"))
        try:
            case = engine.start("derived", {"title": "t"}, actor="x", at="2024-03-04T09:00")
            assert engine.history(case)[0].details["data"] == {"title": "t", "counted": 0, "all_three": False, "any_listed": False}
            engine.fire(case, "rename", {"title": "u"}, actor="x", at="2024-03-04T10:00")
            assert engine.history(case)[-1].details["data"] == {"title": "u"}  # nothing it reads changed: nothing recorded
            engine.fire(case, "list_areas", {"areas": ["a", "b", "c"]}, actor="x", at="2024-03-04T11:00")
            changed = engine.history(case)[-1].details["data"]
            assert changed == {"areas": ["a", "b", "c"], "counted": 3, "all_three": True, "any_listed": True}
            with pytest.raises(GuardFailed, match="all_three eq False"):  # the guard reads the derived value
                engine.fire(case, "close", actor="x", at="2024-03-04T12:00")
            engine.fire(case, "list_areas", {"areas": ["a", "a", "a"]}, actor="x", at="2024-03-04T13:00")  # three items, not all three areas
            assert engine.history(case)[-1].details["data"] == {"areas": ["a", "a", "a"], "all_three": False}
            assert engine.fire(case, "close", actor="x", at="2024-03-04T14:00").state == "closed"
        finally:
            engine.close()

    def test_all_key_areas_inadequate_follows_the_areas_listed(self, make_engine):
        """Seed 003, footnote 3: all three areas inadequate → a full inspection; the flag is the list's, not the caller's."""
        engine = make_engine(start="2016-07-04T09:00")
        every = judged(engine, ALL_AREAS)
        some = judged(engine, SOME_AREAS)
        assert engine.get(every).data["all_key_areas_inadequate"] is True
        assert engine.get(some).data["all_key_areas_inadequate"] is False
        engine.fire(every, "decide_reinspection", {"override_reason": "serious decline"}, actor="hmci", at="2016-11-01T10:00")
        with pytest.raises(GuardFailed, match="all_key_areas_inadequate eq False"):
            engine.fire(every, "arrange_post_monitoring_inspection", actor="shmi", at="2016-11-01T11:00")

    def test_a_caller_cannot_set_it_in_python(self, make_engine):
        engine = make_engine(start="2016-07-04T09:00")
        before = stored(engine)
        with pytest.raises(InvalidData, match=r"all_key_areas_inadequate is derived by the engine \(true when inadequate_areas contains"):
            engine.start(MONITORING, {**ALL_AREAS, "all_key_areas_inadequate": False}, actor="ofsted", at="2016-07-04T09:00")
        assert stored(engine) == before
        case = judged(engine)
        before = stored(engine)
        with pytest.raises(InvalidData, match="all_key_areas_inadequate is derived by the engine"):
            engine.fire(case, "decide_reinspection", {"override_reason": "x", "all_key_areas_inadequate": False}, actor="hmci", at="2016-11-01T10:00")
        assert stored(engine) == before

    def test_a_caller_cannot_set_it_through_the_cli_and_http(self, on_file):
        engine, db = on_file
        forged = {**ALL_AREAS, "all_key_areas_inadequate": False}
        with TestClient(create_app(engine)) as client:
            http = Http(engine, client)
            body = {"workflow": MONITORING, "data": forged, "at": "2016-07-04T09:00"}
            assert "all_key_areas_inadequate is derived by the engine" in http.refused("/v1/cases", body, 422, "invalid_data")
        engine.close()
        line = cli_refused(db, "start", MONITORING, "--data", json.dumps(forged), "--at", "2016-07-04T09:00")
        assert "all_key_areas_inadequate is derived by the engine" in line


# ------------------------------------------------------------------ non-empty reasons


class TestNonEmptyReasons:
    @pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
    def test_an_override_of_the_four_visits_needs_a_real_reason(self, make_engine, reason):
        """Seed 003 (Next steps ¶2, item 4): an earlier re-inspection is an explicit override whose reason is recorded."""
        engine = make_engine(start="2016-07-04T09:00")
        case = judged(engine)
        before = stored(engine)
        with pytest.raises(InvalidData, match="override_reason: must not be empty or only whitespace"):
            engine.fire(case, "decide_reinspection", {"override_reason": reason}, actor="hmci", at="2016-11-01T10:00")
        assert stored(engine) == before
        assert engine.fire(case, "decide_reinspection", {"override_reason": "serious decline"}, actor="hmci", at="2016-11-01T10:00").state == "reinspection_due"

    def test_an_empty_reason_is_refused_through_the_cli_and_http(self, on_file):
        engine, db = on_file
        case = judged(engine)
        with TestClient(create_app(engine)) as client:
            http = Http(engine, client)
            body = {"trigger": "decide_reinspection", "data": {"override_reason": ""}, "at": "2016-11-01T10:00"}
            assert "override_reason: must not be empty" in http.refused(f"/v1/cases/{case}/fire", body, 422, "invalid_data")
        engine.close()
        line = cli_refused(db, "fire", str(case), "decide_reinspection", "--data", '{"override_reason": " "}', "--at", "2016-11-01T10:00")
        assert "override_reason: must not be empty or only whitespace" in line

    def test_every_shipped_justification_is_non_empty(self, catalog):
        """Reasons, override reasons and the evidence of rapid improvement, in every shipped workflow."""
        justifications = {"reason", "reasons", "override_reason", "rapid_improvement_evidence"}
        found = [
            (workflow.key, transition.trigger, name, spec.non_empty)
            for workflow in catalog
            for transition in workflow.definition.transitions
            for name, spec in transition.data.items()
            if name in justifications or name.endswith("_override_reason")
        ]
        assert found and [f for f in found if not f[3]] == []
