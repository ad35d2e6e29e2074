"""Findings, in-force windows, and rules decided by the date they apply (issue 10, item 3).

- A "normally"/"usually" of the documents is not a refusal but a finding: a
  `FindingRecorded` event written by the command that did it, which `show`,
  GET /v1/cases/{id} and the authority register show. Here: a first day of an
  Estyn core week on a Saturday or a Welsh bank holiday (estyn-lges, finding
  `first_day_not_a_working_day`).
- Each version has a window (`in_force_from`, `in_force_until`): a case started
  on a day no version of its workflow is in force is refused, through the
  engine, the CLI and HTTP, with the store unchanged (ofsted-laassi before
  1 June 2013, ofsted-monitoring after 2017, estyn-lges before 2022). A version
  named explicitly runs all the same, with the finding `out_of_force`.
- The guard ops behind them: `working_day`, `before`, `on_or_after` (without a
  field: the day the trigger takes effect). The May 2014 version judged after
  November 2014 is in tests/scenarios/test_ofsted_laassi_2014.py
  (TestJudgedAfterNovember2014), with its CLI and HTTP refusals below.

Days worked out by hand: 10 September 2022 is a Saturday; 19 September 2022
(the Queen's state funeral) a bank holiday in England and Wales; 1 March
(St David's Day) is no bank holiday in Wales; 5 September 2022 a Monday.
"""

from __future__ import annotations

import json
import warnings
from datetime import date
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from laworkflow import Catalog
from laworkflow.audit.replay import replay
from laworkflow.calendar.working_days import calendar_for
from laworkflow.definitions.guards import GuardContext, check_condition, describe
from laworkflow.definitions.model import Condition
from laworkflow.errors import DefinitionError, GuardFailed, NotInForce
from laworkflow.http.app import create_app
from laworkflow.keys import Keys
from scenarios.test_estyn_lges import AUTHORITY, LGES, QUESTIONS, TEAM
from scenarios.test_ofsted_laassi_2014 import FINDINGS, phase2_on_site, reported
from test_api import stored
from test_cli import cli, ok_json, stored_rows

OFSTED = "ofsted-laassi"
OFSTED_START = {"authority": "Norfolk", "concerns": ["attainment_below_national"]}
MONITORING = "ofsted-monitoring"
MONITORING_START = {"authority": "Anytown", "inadequate_areas": ["help_and_protection"]}
SATURDAY_WEEK = {"core_week_start": "2022-09-10", "core_week_end": "2022-09-16"}
FUNERAL_WEEK = {"core_week_start": "2022-09-19", "core_week_end": "2022-09-23"}
MONDAY_WEEK = {"core_week_start": "2022-09-05", "core_week_end": "2022-09-09"}


def context(day: str, data: dict | None = None, nation: str = "wales") -> GuardContext:
    return GuardContext(data or {}, date.fromisoformat(day), calendar_for(nation), {"cutover": "2014-11-01"})


# ------------------------------------------------------------------ guard ops


class TestDayOps:
    def test_working_day_looks_at_the_calendar_of_the_case(self):
        """A Saturday and a bank holiday are not working days; St David's Day is one in Wales."""
        on = Condition(field="first", op="working_day", value=False)
        assert check_condition(on, context("2022-01-01", {"first": "2022-09-03"}))  # Saturday
        assert check_condition(on, context("2022-01-01", {"first": "2022-09-19"}))  # the state funeral
        assert not check_condition(on, context("2022-01-01", {"first": "2022-03-01"}))  # St David's Day, a Tuesday
        assert check_condition(Condition(field="first", op="working_day"), context("2022-01-01", {"first": "2022-09-05"}))
        assert not check_condition(Condition(field="first", op="working_day"), context("2022-01-01", {}))  # missing: never holds

    def test_before_and_on_or_after_without_a_field_look_at_the_day_the_trigger_takes_effect(self):
        before, after = Condition(op="before", value="$cutover"), Condition(op="on_or_after", value="$cutover")
        assert check_condition(before, context("2014-10-31")) and not check_condition(after, context("2014-10-31"))
        assert check_condition(after, context("2014-11-01")) and not check_condition(before, context("2014-11-01"))
        assert describe(before, context("2014-12-03")) == "the day it takes effect before '2014-11-01' (is '2014-12-03', on 2014-12-03)"

    def test_with_a_field_they_compare_its_date(self):
        assert check_condition(Condition(field="day", op="before", value="=other"), context("2030-01-01", {"day": "2014-10-31", "other": "2014-11-01"}))
        assert not check_condition(Condition(field="day", op="on_or_after", value="2014-11-01"), context("2030-01-01", {"day": "2014-10-31"}))

    def test_only_the_day_ops_may_omit_the_field(self):
        with pytest.raises(ValueError, match="needs a 'field'"):
            Condition(op="eq", value=1)


FINDING = "    on: schedule_inspection\n    when: {field: core_week_start, op: working_day, value: false}\n"


def definition_problems(tmp_path: Path, old: str, new: str) -> str:
    """Load the shipped estyn-lges with one text changed in it; the problems reported, as text."""
    text = (Path(__file__).resolve().parents[1] / "workflows" / "estyn-lges-2022.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1
    (tmp_path / "changed.yaml").write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(DefinitionError) as error:
        Catalog.from_directory(tmp_path)
    return str(error.value)


class TestValidation:
    def test_a_finding_on_an_unknown_trigger_or_field_is_a_load_error(self, tmp_path):
        problems = definition_problems(tmp_path, FINDING, "    on: no_such_trigger\n    when: {field: no_such_field, op: working_day, value: false}\n")
        assert "unknown trigger 'no_such_trigger'" in problems and "unknown field 'no_such_field'" in problems

    def test_a_day_op_on_a_field_that_is_no_date_is_a_load_error(self, tmp_path):
        problems = definition_problems(tmp_path, FINDING, FINDING.replace("field: core_week_start", "field: authority"))
        assert "'working_day' looks at a day, but field 'authority' is a string" in problems

    def test_a_window_that_ends_before_it_starts_is_a_load_error(self, tmp_path):
        problems = definition_problems(tmp_path, 'in_force_from: "2022-01-01"\n', 'in_force_from: "2022-01-01"\nin_force_until: "2021-12-31"\n')
        assert "the window ends (2021-12-31) before it starts (2022-01-01)" in problems


# ------------------------------------------------------------------ findings


def scheduled_on(engine, week: dict) -> str:
    case = engine.start(LGES, AUTHORITY, actor="estyn", at="2022-06-01T09:00")
    engine.fire(case, "schedule_inspection", week, actor="estyn", at="2022-06-01T10:00")
    return str(case)


def notified(engine, case: str) -> None:
    """Notice given: the authority is listed in the register (status "inspection"; a scheduled case is not listed yet)."""
    engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS}, actor="ic", at="2022-06-27T10:00")


class TestFindings:
    @pytest.mark.parametrize("week", [SATURDAY_WEEK, FUNERAL_WEEK], ids=["saturday", "bank-holiday"])
    def test_a_core_week_starting_on_a_non_working_day_is_accepted_and_recorded_as_a_finding(self, make_engine, week):
        engine = make_engine(start="2022-06-01T08:00:00+01:00")
        case = scheduled_on(engine, week)
        view = engine.get(case)
        assert view.state == "scheduled" and view.data["core_week_start"] == week["core_week_start"]
        assert [(f["id"], f["trigger"]) for f in view.findings] == [("first_day_not_a_working_day", "schedule_inspection")]
        assert "lges2022" in view.findings[0]["cites"] and week["core_week_start"] in view.findings[0]["details"]
        history = engine.history(case)
        transition = max(h.version for h in history if h.type == "Transitioned")
        assert history[-1].type == "FindingRecorded" and history[-1].version > transition, "recorded by the command, after its transition"
        assert history[-1].effective_at == next(h for h in history if h.version == transition).effective_at
        assert replay(engine).ok, "a finding is what the command records: the case replays clean"

    @pytest.mark.parametrize(("first", "found"), [("2023-05-08", True), ("2023-05-09", False)], ids=["coronation-bank-holiday", "tuesday"])
    def test_an_estyn_monitoring_visit_starting_on_a_bank_holiday_is_a_finding(self, make_engine, first, found):
        """Monday 8 May 2023 (the coronation) was a bank holiday in Wales."""
        engine = make_engine(start="2023-03-01T08:00:00+00:00")
        case = engine.start("estyn-monitoring-visit", AUTHORITY, actor="estyn", at="2023-03-01T09:00")
        engine.fire(case, "agree_dates", {"visit_start": first, "visit_end": "2023-05-12"}, actor="estyn", at="2023-03-01T10:00")
        assert [f["id"] for f in engine.get(case).findings] == (["first_day_not_a_working_day"] if found else [])

    def test_a_core_week_starting_on_a_monday_records_none(self, make_engine):
        engine = make_engine(start="2022-06-01T08:00:00+01:00")
        case = scheduled_on(engine, MONDAY_WEEK)
        assert engine.get(case).findings == []
        assert "FindingRecorded" not in [h.type for h in engine.history(case)]

    def test_the_register_counts_an_authoritys_findings_and_shows_the_latest(self, make_engine):
        engine = make_engine(start="2022-06-01T08:00:00+01:00")
        case = scheduled_on(engine, SATURDAY_WEEK)
        engine.fire(case, "schedule_inspection", FUNERAL_WEEK, actor="estyn", at="2022-06-02T10:00")  # moved, before notice
        notified(engine, case)
        (entry,) = [e for e in engine.register(nation="wales") if e.authority == AUTHORITY["authority"]]
        assert entry.findings == 2
        assert entry.latest_finding is not None and entry.latest_finding["id"] == "first_day_not_a_working_day"
        assert entry.latest_finding["case_id"] == case and entry.to_dict()["latest_finding"]["effective_at"].startswith("2022-06-02")

    def test_the_register_counts_the_findings_of_the_authoritys_cases_that_are_not_listed(self, make_engine):
        """A monitoring visit has no status label; its finding (a first day on the coronation bank holiday) still concerns the authority."""
        engine = make_engine(start="2022-06-01T08:00:00+01:00")
        notified(engine, scheduled_on(engine, MONDAY_WEEK))
        visit = engine.start("estyn-monitoring-visit", AUTHORITY, actor="estyn", at="2023-03-01T09:00")
        engine.fire(visit, "agree_dates", {"visit_start": "2023-05-08", "visit_end": "2023-05-12"}, actor="estyn", at="2023-03-01T10:00")
        (entry,) = [e for e in engine.register(nation="wales") if e.authority == AUTHORITY["authority"]]
        assert [c["workflow"] for c in entry.cases] == ["estyn-lges@1"]
        assert entry.findings == 1 and entry.latest_finding is not None and entry.latest_finding["case_id"] == str(visit)

    def test_show_and_register_on_the_cli_list_the_findings(self, make_engine, tmp_path):
        db = tmp_path / "events.sqlite"
        engine = make_engine(f"sqlite:///{db}", start="2022-06-01T08:00:00+01:00")
        case = scheduled_on(engine, SATURDAY_WEEK)
        notified(engine, case)
        engine.close()
        shown = ok_json(db, "show", case)
        assert [f["id"] for f in shown["findings"]] == ["first_day_not_a_working_day"]
        text = cli(db, "show", case)
        assert text.code == 0 and "finding first_day_not_a_working_day (2022-06-01, schedule_inspection)" in text.out
        register = ok_json(db, "register", "--nation", "wales")
        assert [(e["authority"], e["findings"]) for e in register["entries"]] == [("Ceredigion", 1)]
        assert "findings: 1, latest first_day_not_a_working_day 2022-06-01" in cli(db, "register").out

    def test_get_case_and_the_register_over_http_list_the_findings(self, make_engine):
        engine = make_engine(start="2022-06-01T08:00:00+01:00")
        case = scheduled_on(engine, SATURDAY_WEEK)
        notified(engine, case)
        key = Keys(engine).issue("auditor-1", "auditor", by="setup")
        with TestClient(create_app(engine)) as client:
            body = client.get(f"/v1/cases/{case}", headers={"Authorization": f"Bearer {key}"}).json()
            register = client.get("/v1/register", params={"nation": "wales"}, headers={"Authorization": f"Bearer {key}"}).json()
        assert [(f["id"], f["trigger"], f["effective_at"][:10]) for f in body["findings"]] == [
            ("first_day_not_a_working_day", "schedule_inspection", "2022-06-01")
        ]
        assert register["entries"][0]["findings"] == 1 and register["entries"][0]["latest_finding"]["case_id"] == case


# ------------------------------------------------------------------ windows


class TestWindows:
    @pytest.mark.parametrize(
        ("day", "version"), [("2013-06-01", 1), ("2014-04-30", 1), ("2014-05-01", 2), ("2014-10-31", 2), ("2014-11-01", 3), ("2026-12-06", 3)]
    )
    def test_a_case_naming_no_version_runs_on_the_one_in_force_on_its_first_day(self, catalog, day, version):
        assert catalog.get(OFSTED, on=date.fromisoformat(day)).definition.version == version

    @pytest.mark.parametrize(
        ("workflow", "data", "day", "windows"),
        [
            (OFSTED, OFSTED_START, "2013-05-31T09:00", "ofsted-laassi@1: 2013-06-01 to 2014-04-30"),
            (MONITORING, MONITORING_START, "2018-01-01T09:00", "ofsted-monitoring@1: until 2017-12-31"),
            (LGES, AUTHORITY, "2021-12-31T09:00", "estyn-lges@1: from 2022-01-01"),
        ],
        ids=["laassi-before-june-2013", "monitoring-after-2017", "estyn-before-2022"],
    )
    def test_a_case_started_when_no_version_is_in_force_is_refused_and_nothing_is_written(self, make_engine, workflow, data, day, windows):
        engine = make_engine("memory:", start=day)
        before = stored(engine)
        with pytest.raises(NotInForce, match="is in force on") as refusal:
            engine.start(workflow, data, actor="x", at=day)
        assert windows in str(refusal.value) and refusal.value.code == "not_in_force"
        assert stored(engine) == before and engine.case_ids() == []

    @pytest.mark.parametrize(
        "workflow", ["estyn-lges", "estyn-follow-up", "estyn-improvement-conference", "estyn-progress-conference", "estyn-monitoring-visit"]
    )
    def test_every_estyn_workflow_is_in_force_from_2022(self, catalog, workflow):
        assert catalog.get(workflow, on=date(2022, 1, 1)).definition.version == 1
        with pytest.raises(NotInForce, match=f"{workflow}@1: from 2022-01-01"):
            catalog.get(workflow, on=date(2021, 12, 31))

    @pytest.mark.parametrize(
        ("version", "day", "outside"),
        [
            (1, "2013-06-01", False),
            (1, "2014-05-01", True),
            (2, "2014-10-31", False),
            (2, "2014-11-03", True),
            (2, "2014-04-30", True),
            (3, "2014-10-31", True),
        ],
    )
    def test_each_ofsted_laassi_window_has_both_ends(self, make_engine, version, day, outside):
        """A version named on a day: out_of_force exactly when the day is outside its window."""
        engine = make_engine("memory:", start=f"{day}T09:00")
        case = engine.start(f"{OFSTED}@{version}", OFSTED_START, actor="x", at=f"{day}T09:00")
        assert [f["id"] for f in engine.get(case).findings] == (["out_of_force"] if outside else [])

    def test_the_last_day_of_a_window_is_in_it(self, make_engine):
        engine = make_engine("memory:", start="2017-12-31T09:00")
        case = engine.start(MONITORING, MONITORING_START, actor="x", at="2017-12-31T09:00")
        assert engine.get(case).findings == []

    def test_a_version_named_outside_its_window_runs_with_the_finding_out_of_force(self, make_engine):
        engine = make_engine("memory:", start="2015-03-02T09:00")
        case = engine.start(f"{OFSTED}@1", OFSTED_START, actor="x", at="2015-03-02T09:00")
        view = engine.get(case)
        assert (view.version, view.state) == (1, "concern_raised")
        (finding,) = view.findings
        assert finding["id"] == "out_of_force" and finding["trigger"] == "start"
        assert "ofsted-laassi@1 is in force 2013-06-01 to 2014-04-30; this case started on 2015-03-02" in finding["message"]
        assert finding["cites"].startswith("laassi2013 Preface")
        assert [h.type for h in engine.history(case)] == ["Started", "FindingRecorded"]
        assert replay(engine).ok

    def test_the_cli_refuses_a_case_before_june_2013_in_one_line_and_writes_nothing(self, tmp_path):
        db = tmp_path / "events.sqlite"
        ok_json(db, "start", f"{OFSTED}@1", "--at", "2013-06-03", "--actor", "ofsted", "--data", '{"authority": "Kent", "concerns": ["qualifying_complaints"]}')
        before = stored_rows(db)
        run = cli(db, "start", OFSTED, "--at", "2013-05-31", "--actor", "ofsted", "--data", '{"authority": "Norfolk", "concerns": ["qualifying_complaints"]}')
        assert run.code == 1 and run.out == ""
        assert run.err.count("\n") == 1 and run.err.startswith("error: no version of 'ofsted-laassi' is in force on 2013-05-31")
        assert "ofsted-laassi@1: 2013-06-01 to 2014-04-30" in run.err
        assert stored_rows(db) == before

    def test_http_refuses_a_case_before_june_2013_with_422_and_writes_nothing(self, make_engine):
        engine = make_engine("memory:", start="2013-05-31T09:00")
        key = Keys(engine).issue("backoffice", "inspector", by="setup")
        before = stored(engine)
        with TestClient(create_app(engine)) as client:
            response = client.post(
                "/v1/cases", json={"workflow": OFSTED, "data": OFSTED_START, "at": "2013-05-31T09:00"}, headers={"Authorization": f"Bearer {key}"}
            )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "not_in_force" and "2013-06-01 to 2014-04-30" in response.json()["error"]["message"]
        assert stored(engine) == before


# ------------------------------------------------------------------ the May 2014 version judged in December 2014


def judged_in_december(make_engine, store: str = "memory:") -> tuple:
    """A May 2014 (version 2) case started in October 2014, in quality assurance when the November revision comes."""
    engine = make_engine(store, start="2014-10-06T08:00:00+01:00")
    case = phase2_on_site(engine, version=None, concern="2014-10-06", notice="2014-10-13", phase2="2014-10-20", phase1_end="2014-10-17T17:00")
    assert reported(engine, case, leave="2014-10-24").state == "quality_assurance"
    assert engine.get(case).version == 2
    return engine, str(case)


VERDICT = {"effective": False, **FINDINGS}


def test_the_cli_refuses_a_verdict_on_a_may_2014_case_judged_in_december_and_writes_nothing(make_engine, tmp_path):
    db = tmp_path / "events.sqlite"
    engine, case = judged_in_december(make_engine, f"sqlite:///{db}")
    engine.close()
    before = stored_rows(db)
    run = cli(db, "fire", case, "make_judgement", "--at", "2014-12-03T10:00", "--actor", "qa", "--data", json.dumps(VERDICT))
    assert run.code == 1 and run.err.count("\n") == 1
    assert "refused by guard: the day it takes effect before '2014-11-01' (is '2014-12-03', on 2014-12-03)" in run.err
    assert stored_rows(db) == before
    assert (
        ok_json(db, "fire", case, "make_recommendations", "--at", "2014-12-03T10:00", "--actor", "qa", "--data", json.dumps(FINDINGS))["state"]
        == "letter_drafted"
    )


def test_http_refuses_a_verdict_on_a_may_2014_case_judged_in_december_and_writes_nothing(make_engine):
    engine, case = judged_in_december(make_engine)
    key = Keys(engine).issue("backoffice", "inspector", by="setup")
    before = stored(engine)
    with TestClient(create_app(engine)) as client:
        response = client.post(
            f"/v1/cases/{case}/fire", json={"trigger": "make_judgement", "data": VERDICT, "at": "2014-12-03T10:00"}, headers={"Authorization": f"Bearer {key}"}
        )
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "guard_failed" and "before '2014-11-01'" in response.json()["error"]["message"]
    assert stored(engine) == before
    with pytest.raises(GuardFailed):  # and through Python, the same
        engine.fire(case, "make_judgement", VERDICT, actor="qa", at="2014-12-03T10:00")
