"""What a case may do now: each allowed trigger's fields and whether its guards pass on a day (Engine.allowed_triggers).

Two real cases, checked in Python, through a CLI subprocess and over HTTP:
- Norfolk (ofsted-laassi@1, the README's case): notice given on Wed 5 June 2013
  for an on-site visit from Mon 10 June. `begin_on_site` is refused before the
  day notified (2013 para 12), so on Fri 7 June its guard fails, and from
  Mon 10 June it passes; the early-start override's guard reads the reason the
  trigger is given, so it depends on the data.
- Ceredigion (estyn-lges, tests/scenarios): the draft report sent on Mon 17
  October 2022; `finalise_report` waits five working days (Part 1, After the
  inspection): Tue 18, Wed 19, Thu 20, Fri 21, Mon 24 October. Refused on
  Fri 21 October, allowed from Mon 24 October.
Every date below is worked out by hand in the comment beside it. Asking writes nothing.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from laworkflow import GuardFailed
from laworkflow.http.app import create_app
from laworkflow.keys import Keys
from scenarios.test_estyn_lges import FINAL, draft, fed_back
from test_api import NOTICE, OFSTED, START, bearer, stored
from test_cli import cli

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from fastapi.testclient import TestClient


def noticed(engine) -> str:
    """Norfolk started Mon 3 June 2013, notice given Wed 5 June for an on-site visit from Mon 10 June."""
    case = str(engine.start(OFSTED, START, version=1, actor="hmi", at="2013-06-03T09:00"))
    engine.fire(case, "give_notice", NOTICE, actor="hmi", at="2013-06-05T10:00")
    return case


def draft_sent(engine) -> str:
    """Ceredigion's draft report sent Mon 17 October 2022, the authority's comments on Fri 21 October."""
    case = fed_back(engine)
    engine.fire(case, "send_draft_report", draft(engine, case), actor="ri", at="2022-10-17T10:00")
    engine.fire(case, "receive_factual_accuracy_comments", {"factual_errors": ["school count"]}, actor="la", at="2022-10-21T12:00")
    return str(case)


def one(triggers, trigger: str, **match):
    found = [t for t in triggers if t.trigger == trigger and all(getattr(t, k) == v for k, v in match.items())]
    assert len(found) == 1, [t.to_dict() for t in triggers]
    return found[0]


class TestInPython:
    def test_begin_on_site_fails_before_the_notified_day_and_passes_on_it(self, make_engine):
        engine = make_engine()
        case = noticed(engine)
        before = stored(engine)
        friday = engine.allowed_triggers(case, at="2013-06-07T09:00")  # Fri 7 June: the visit is notified for Mon 10 June
        assert engine.get(case).state == "notice_given"
        plain = one(friday, "begin_on_site", fields={})
        assert plain.on.isoformat() == "2013-06-07"
        assert plain.status == "fails"
        [check] = plain.checks
        assert (check.status, check.reads, check.passes_from.isoformat()) == ("fails", ["on_site_start"], "2013-06-10")
        assert check.cites == "laassi2013 12"
        assert "2013-06-10" in check.explanation and "2013-06-07" in check.explanation
        # The refusal it announces is the one firing gives, word for word; firing writes nothing either.
        with pytest.raises(GuardFailed) as refused:
            engine.fire(case, "begin_on_site", {}, actor="hmi", at="2013-06-07T09:00")
        assert str(refused.value) == plain.refusal
        # The override: its guard reads the reason it is given, so only the data decides.
        override = one(friday, "begin_on_site", status="depends_on_data")
        assert override.fields["early_start_reason"] == {
            "type": "string",
            "required": True,
            "description": "Why the first day is earlier than the day notified.",
            "choices": None,
            "min_items": None,
            "max_items": None,
            "unique_items": False,
            "non_empty": True,
        }
        assert [c.status for c in override.checks] == ["depends_on_data"] and override.refusal is None
        assert stored(engine) == before, "asking what is allowed wrote something"
        monday = one(engine.allowed_triggers(case, at="2013-06-10T08:00"), "begin_on_site", fields={})
        assert (monday.status, monday.checks[0].status, monday.checks[0].passes_from, monday.refusal) == ("passes", "passes", None, None)
        assert stored(engine) == before
        assert engine.fire(case, "begin_on_site", {}, actor="hmi", at="2013-06-10T08:00").state == "on_site"

    def test_the_engine_clock_gives_today_when_no_day_is_asked_about(self, make_engine):
        engine = make_engine(start="2013-06-07T09:00:00+01:00")  # the clock: Fri 7 June 2013
        case = noticed(engine)
        assert engine.today().isoformat() == "2013-06-07"
        assert one(engine.allowed_triggers(case), "begin_on_site", fields={}).status == "fails"

    def test_choices_are_shown_with_each_field(self, make_engine):
        engine = make_engine()
        case = noticed(engine)
        engine.fire(case, "begin_on_site", {}, actor="hmi", at="2013-06-10T09:00")
        evidence = one(engine.allowed_triggers(case, at="2013-06-10T10:00"), "record_evidence")
        assert evidence.fields["notebook"]["choices"] == ["evidence", "summary"] and evidence.fields["notebook"]["type"] == "enum"
        assert evidence.status == "passes" and evidence.checks == []

    def test_finalise_report_waits_five_working_days_after_the_draft(self, make_engine):
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = draft_sent(engine)
        before = stored(engine)
        friday = one(engine.allowed_triggers(case, at="2022-10-21T13:00"), "finalise_report")  # Fri 21 Oct: the fourth working day
        assert friday.status == "fails"
        assert friday.checks[0].explanation == "draft_sent_on passed '5 working days' (is '2022-10-17', on 2022-10-21)"
        assert friday.checks[0].passes_from.isoformat() == "2022-10-24"  # 18, 19, 20, 21, Mon 24 October
        assert set(friday.fields) == {"publication_date", "about_the_local_authority_agreed"}
        assert friday.fields["publication_date"]["type"] == "date" and friday.fields["publication_date"]["required"] is True
        with pytest.raises(GuardFailed) as refused:
            engine.fire(case, "finalise_report", FINAL, actor="ri", at="2022-10-21T13:00")
        assert str(refused.value) == friday.refusal
        monday = one(engine.allowed_triggers(case, at="2022-10-24T09:00"), "finalise_report")
        assert monday.status == "passes"
        assert stored(engine) == before
        assert engine.fire(case, "finalise_report", FINAL, actor="ri", at="2022-10-24T09:00").state == "report_final"


class TestOnTheCommandLine:
    def test_json_and_text_on_the_day_before_and_the_day_itself(self, make_engine, tmp_path: Path):
        db = tmp_path / "events.sqlite"
        engine = make_engine(f"sqlite:///{db}", start="2022-06-01T09:00:00+01:00")
        case = draft_sent(engine)
        before = stored(engine)
        run = cli(db, "allowed", case[:8], "--at", "2022-10-21", "--json")
        assert run.code == 0, str(run)
        document = json.loads(run.out)
        assert (document["case_id"], document["state"], document["on"]) == (case, "factual_accuracy_check", "2022-10-21")
        [final] = [t for t in document["triggers"] if t["trigger"] == "finalise_report"]
        assert final["status"] == "fails" and final["checks"][0]["passes_from"] == "2022-10-24"
        assert final["data"]["publication_date"] == {"type": "date"}  # the keys it always had are kept
        assert final["guards"] == ["draft_sent_on passed '$factual_accuracy_period'"]
        text = cli(db, "allowed", case, "--at", "2022-10-21")
        assert text.code == 0, str(text)
        assert "factual_accuracy_check: guards checked on 2022-10-21" in text.out
        assert "✗ finalise_report -> report_final" in text.out
        assert "    publication_date: date, required" in text.out
        assert "    ✗ draft_sent_on passed '5 working days' (is '2022-10-17', on 2022-10-21); passes from 2022-10-24" in text.out
        later = cli(db, "allowed", case, "--at", "2022-10-24")
        assert "✓ finalise_report -> report_final" in later.out and "    ✓ draft_sent_on passed" in later.out
        bad = cli(db, "allowed", case, "--at", "next tuesday")
        assert bad.code != 0 and bad.err.startswith("error: ") and "Traceback" not in bad.err
        assert stored(engine) == before


class TestOverHttp:
    def test_allowed_with_at_over_http(self, make_engine):
        engine = make_engine()
        case = noticed(engine)
        auditor = Keys(engine).issue("auditor-1", "auditor", by="setup")
        before = stored(engine)
        with TestClient(create_app(engine)) as client:
            friday = client.get(f"/v1/cases/{case}/allowed", params={"at": "2013-06-07"}, headers=bearer(auditor))
            assert friday.status_code == 200, friday.text
            body = friday.json()
            assert body["on"] == "2013-06-07" and body["state"] == "notice_given"
            plain = [t for t in body["triggers"] if t["trigger"] == "begin_on_site" and not t["fields"]]
            assert [(t["status"], t["checks"][0]["passes_from"]) for t in plain] == [("fails", "2013-06-10")]
            override = [t for t in body["triggers"] if t["trigger"] == "begin_on_site" and t["fields"]]
            assert [t["status"] for t in override] == ["depends_on_data"]
            monday = client.get(f"/v1/cases/{case}/allowed", params={"at": "2013-06-10T08:00"}, headers=bearer(auditor)).json()
            assert [t["status"] for t in monday["triggers"] if t["trigger"] == "begin_on_site" and not t["fields"]] == ["passes"]
            wrong = client.get(f"/v1/cases/{case}/allowed", params={"at": "soon"}, headers=bearer(auditor))
            assert wrong.status_code == 422 and set(wrong.json()) == {"error"}
        assert stored(engine) == before
