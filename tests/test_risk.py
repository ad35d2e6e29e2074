"""Risk triggers: termly RAG assessments per authority, the concern rule, and the inspections it starts.

Expected values come from the source documents — the eight triggers and the
February 2015 ratings of Oxfordshire (seed 002, para 5), the triggers of the
2013 framework (seed 000, para 11) and the workflow file — or are worked out
by hand in the tests, never read back from the code under test.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from laworkflow import Catalog, InvalidData, LaworkflowError, UnknownDefinition
from laworkflow.audit.verify import verify
from laworkflow.risk import (
    AUTHORITY_NAMESPACE,
    CRITERIA,
    CRITERION_IDS,
    AlreadyAssessed,
    AssessmentDataError,
    Authority,
    AuthorityIndex,
    ConcernRule,
    CriterionRating,
    RiskAssessment,
    RiskRegister,
    UnknownAuthority,
    authority_id,
    load_assessments,
    parse_csv,
    parse_json,
    term_key,
    term_of,
)

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
LAASSI_2013 = WORKFLOWS / "ofsted-laassi-2013.yaml"
DEFINITION = yaml.safe_load(LAASSI_2013.read_text(encoding="utf-8"))
WORKFLOW_CONCERNS = DEFINITION["data"]["concerns"]["choices"]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Catalog:
    """The Python API tests run on the 2013 framework alone (ofsted-laassi@1), whose concerns do not list
    pupil_premium_gap; `catalog_with_pupil_premium` adds a version that does. The CLI tests use the shipped folder."""
    folder = tmp_path_factory.mktemp("laassi2013")
    (folder / LAASSI_2013.name).write_text(yaml.safe_dump(without_end(LAASSI_2013), sort_keys=False), encoding="utf-8")
    return Catalog.from_directory(folder)


def without_end(path: Path) -> dict:
    """The 2013 framework with no end to its window: alone in a catalog, it stands for every version in 2015."""
    definition = yaml.safe_load(path.read_text(encoding="utf-8"))
    for finding in definition.get("findings", []):  # PyYAML reads the key `on` as true (YAML 1.1); the dump quotes it back
        finding["on"] = finding.pop(True)
    definition.pop("in_force_until", None)
    return definition


@pytest.fixture(scope="module")
def catalog_with_pupil_premium(tmp_path_factory) -> Catalog:
    folder = tmp_path_factory.mktemp("laassi-pp")
    (folder / LAASSI_2013.name).write_text(LAASSI_2013.read_text(encoding="utf-8"), encoding="utf-8")
    revised = without_end(LAASSI_2013)
    revised["version"] = 2
    revised["data"]["concerns"]["choices"].append("pupil_premium_gap")
    (folder / "ofsted-laassi-test-v2.yaml").write_text(yaml.safe_dump(revised, sort_keys=False), encoding="utf-8")
    return Catalog.from_directory(folder)


def laassi_in_force(day: str, folder: Path = WORKFLOWS) -> dict:
    """The ofsted-laassi definition in force on a day, read from the YAML files: the highest version in force by then."""
    found = [yaml.safe_load(f.read_text(encoding="utf-8")) for f in sorted(folder.glob("*.yaml"))]
    versions = [d for d in found if isinstance(d, dict) and d.get("id") == "ofsted-laassi"]
    in_force = [d for d in versions if str(d.get("in_force_from") or "0001-01-01") <= day]
    return max(in_force or versions, key=lambda d: d["version"])


EIGHT = [
    "good_school_access_below_national",
    "schools_causing_concern_above_average",
    "not_good_schools_above_average",
    "attainment_below_national",
    "progress_below_national",
    "pupil_premium_gap",
    "qualifying_complaints",
    "secretary_of_state_request",
]

# Seed 002, para 5: "February 2015 Risk Assessment" (RAG, trend direction, comment), criteria 1-8.
# The report gives the month only; the assessment is dated Monday 2 February 2015.
OXFORDSHIRE = {
    "good_school_access_below_national": ("green", None, "Broadly in line with at Primary. Above at Secondary"),
    "schools_causing_concern_above_average": ("amber", None, "Broadly in line with at Primary. Slightly below at Secondary"),
    "not_good_schools_above_average": ("amber", None, "Better at secondary than Primary. % Outstanding schools lower than nationally."),
    "attainment_below_national": ("amber", "mixed", "EYFSP/ KS1 in line with; KS2 - relative position falling; KS4 - above national"),
    "progress_below_national": ("green", None, "KS 1-2 above national; KS 2-4 strongly above national"),
    "pupil_premium_gap": ("red", None, "Pupil premium gaps at both KS2 and KS4 wider than national"),
    "qualifying_complaints": ("green", None, ""),
    "secretary_of_state_request": ("amber", None, ""),
}
# Red or amber, the Secretary of State's criterion first, then in the table's order.
OXFORDSHIRE_CRITERIA = [
    "secretary_of_state_request",
    "schools_causing_concern_above_average",
    "not_good_schools_above_average",
    "attainment_below_national",
    "pupil_premium_gap",
]


def case_concerns(criteria: list[str], choices: list[str] = WORKFLOW_CONCERNS) -> list[str]:
    """What the inspection case carries: rated criteria the workflow lists; the rest as other_concern.

    A rated criterion 8 is a risk, not a request by the Secretary of State, so a
    case started from ratings never carries it (the workflow forbids declining
    such a case, framework para 8).
    """
    rated = [c for c in criteria if c != "secretary_of_state_request"]
    listed = [c for c in rated if c in choices]
    return listed + (["other_concern"] if len(listed) < len(rated) or not rated else [])


def oxfordshire(term: str = "2015-spring", on: str = "2015-02-02", authority: str = "Oxfordshire") -> RiskAssessment:
    ratings = {c: {"rag": rag, "trend": trend, "comment": comment} for c, (rag, trend, comment) in OXFORDSHIRE.items()}
    return RiskAssessment(authority=authority, term=term, assessed_on=on, ratings=ratings)


def assessment(authority: str, term: str = "2015-spring", on: str = "2015-02-02", *, red=(), amber=()) -> RiskAssessment:
    ratings = {c: {"rag": "red" if c in red else "amber" if c in amber else "green"} for c in EIGHT}
    return RiskAssessment(authority=authority, term=term, assessed_on=on, ratings=ratings)


def to_csv(*assessments: RiskAssessment) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["authority", "term", "assessed_on", "criterion", "rag", "trend", "comment"])
    for a in assessments:
        for c in EIGHT:
            r = a.ratings[c]
            writer.writerow([a.authority, a.term, a.assessed_on.isoformat(), c, r.rag, r.trend or "", r.comment])
    return out.getvalue()


def to_json(*assessments: RiskAssessment) -> str:
    return json.dumps([a.model_dump(mode="json") for a in assessments], indent=2)


def stored(engine):
    """Every notification in the store: what 'unchanged' is measured against."""
    return [(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state)) for n in engine.recorder.select_notifications(1, 1_000_000)]


def lines_of(error: AssessmentDataError) -> list[int | None]:
    return [p.line for p in error.problems]


# ------------------------------------------------------------------- criteria


class TestCriteria:
    def test_the_eight_criteria_in_the_order_of_the_oxfordshire_table(self):
        """Seed 002, para 5: eight main triggers, numbered 1-8."""
        assert list(CRITERION_IDS) == EIGHT
        assert [c.number for c in CRITERIA] == list(range(1, 9))

    def test_each_criterion_cites_its_row_and_the_framework_bullet_it_comes_from(self):
        """Seven come from the 2013 framework (para 11); the pupil premium gap only from the 2015 table (row 6)."""
        for criterion in CRITERIA:
            sources = [c.source for c in criterion.cites]
            assert any(c.source == "002_20ef7c825cf54e5b.txt" and c.para.endswith(f"row {criterion.number}") for c in criterion.cites)
            if criterion.id == "pupil_premium_gap":
                assert sources == ["002_20ef7c825cf54e5b.txt"]
            else:
                assert any(c.source == "000_2d0a1f759528b76a.txt" and c.para.startswith("para 11") for c in criterion.cites)
                assert criterion.text

    def test_the_criteria_of_the_2013_framework_are_concerns_the_workflow_accepts(self):
        """The ids are the `concerns` choices of ofsted-laassi (workflow file, data.concerns)."""
        assert set(EIGHT) - {"pupil_premium_gap"} <= set(WORKFLOW_CONCERNS)

    def test_terms_order_in_time_and_days_fall_in_terms(self):
        assert sorted(["2015-autumn", "2015-spring", "2014-autumn", "2015-summer"], key=term_key) == [
            "2014-autumn",
            "2015-spring",
            "2015-summer",
            "2015-autumn",
        ]
        assert term_of(date(2015, 2, 2)) == "2015-spring"
        assert term_of(date(2015, 6, 1)) == "2015-summer"
        assert term_of(date(2015, 10, 1)) == "2015-autumn"


# ------------------------------------------------------------------ reference


class TestReference:
    def test_22_welsh_and_152_english_authorities(self):
        """Wales: 22 principal councils. England, 2015: 32 London boroughs, the City of London, 36 metropolitan
        districts, 27 counties, 55 unitaries and the Isles of Scilly = 152 (the issue's 153 over-counts by one)."""
        index = AuthorityIndex.shipped()
        nations = [ref.nation for ref in index]
        assert nations.count("wales") == 22
        assert nations.count("england") == 152
        assert set(nations) == {"england", "wales"}

    def test_codes_and_names_are_unique_and_english_codes_are_dfe_numbers(self):
        index = AuthorityIndex.shipped()
        assert len({r.code for r in index}) == len(index)
        assert len({r.name for r in index}) == len(index)
        for ref in index:
            if ref.nation == "england":
                assert ref.code.isdigit() and len(ref.code) == 3, ref
            else:
                assert ref.code == ref.name.lower().replace(" ", "-"), ref
        codes = {r.name: r.code for r in index}
        assert (codes["Oxfordshire"], codes["Norfolk"], codes["City of London"], codes["Isles of Scilly"]) == ("931", "926", "201", "420")

    def test_an_authority_is_found_by_code_or_name_whatever_the_case(self):
        index = AuthorityIndex.shipped()
        for text in ("931", "Oxfordshire", "OXFORDSHIRE", " oxfordshire ", "Oxfordshire County Council"):
            assert index.resolve(text).code == "931", text
        assert index.resolve("County Durham").name == "Durham"
        assert index.resolve("Brighton & Hove").code == "846"
        assert index.resolve("vale-of-glamorgan").name == "Vale of Glamorgan"

    def test_an_unknown_authority_is_refused_with_suggestions(self):
        with pytest.raises(UnknownAuthority, match=r"'Oxfordhsire'.*did you mean 'Oxfordshire' \(931\)"):
            AuthorityIndex.shipped().resolve("Oxfordhsire")

    def test_the_aggregate_id_is_uuid5_of_the_namespace_and_the_lower_case_code(self):
        assert authority_id("931") == uuid.uuid5(AUTHORITY_NAMESPACE, "931")
        assert authority_id("Cardiff") == authority_id("cardiff") == uuid.uuid5(AUTHORITY_NAMESPACE, "cardiff")


# --------------------------------------------------------------------- models


class TestModels:
    def test_an_assessment_needs_all_eight_criteria(self):
        ratings = {c: {"rag": "green"} for c in EIGHT[:-1]}
        with pytest.raises(ValidationError, match="missing: secretary_of_state_request"):
            RiskAssessment(authority="931", term="2015-spring", assessed_on="2015-02-02", ratings=ratings)

    def test_unknown_fields_and_criteria_are_refused(self):
        base = oxfordshire().model_dump(mode="json")
        with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
            RiskAssessment.model_validate({**base, "region": "South East"})
        with pytest.raises(ValidationError):
            RiskAssessment.model_validate({**base, "ratings": {**base["ratings"], "ofsted_mood": {"rag": "red"}}})

    @pytest.mark.parametrize("term", ["2015-winter", "15-spring", "2015 spring", "spring-2015", ""])
    def test_a_term_is_a_year_and_a_season(self, term):
        with pytest.raises(ValidationError, match="term"):
            oxfordshire(term=term)

    def test_an_empty_authority_is_refused(self):
        with pytest.raises(ValidationError, match="authority"):
            oxfordshire(authority="  ")

    def test_ratings_read_as_the_seed_writes_them(self):
        """The seed writes 'Amber' and 'Mixed'; an empty trend is no trend."""
        assert CriterionRating(rag="Amber", trend="Mixed") == CriterionRating(rag="amber", trend="mixed")
        assert CriterionRating(rag="Red", trend="").trend is None
        with pytest.raises(ValidationError, match="'red', 'amber' or 'green'"):
            CriterionRating(rag="purple")
        with pytest.raises(ValidationError, match="improving"):
            CriterionRating(rag="red", trend="sideways")


# ----------------------------------------------------------------------- rule


class TestRule:
    def test_oxfordshire_february_2015_raises_a_concern_by_the_default_rule(self):
        """One red (criterion 6) and four ambers (2, 3, 4, 8): any red, or three ambers."""
        verdict = ConcernRule().evaluate(oxfordshire().ratings)
        assert verdict.raised
        assert verdict.criteria == OXFORDSHIRE_CRITERIA
        assert "pupil_premium_gap" in verdict.reason

    def test_any_red_raises_a_concern(self):
        assert ConcernRule().evaluate(assessment("931", red=["qualifying_complaints"]).ratings).raised

    def test_three_ambers_raise_a_concern(self):
        verdict = ConcernRule().evaluate(assessment("931", amber=EIGHT[:3]).ratings)
        assert verdict.raised and verdict.criteria == EIGHT[:3]

    def test_two_ambers_raise_none(self):
        verdict = ConcernRule().evaluate(assessment("931", amber=EIGHT[:2]).ratings)
        assert not verdict.raised
        assert verdict.criteria == EIGHT[:2]

    def test_all_green_raises_none(self):
        verdict = ConcernRule().evaluate(assessment("931").ratings)
        assert not verdict.raised and verdict.criteria == []

    def test_custom_thresholds(self):
        two_reds = ConcernRule(red_at_least=2, amber_at_least=4)
        assert not two_reds.evaluate(assessment("931", red=EIGHT[:1], amber=EIGHT[1:3]).ratings).raised
        assert two_reds.evaluate(assessment("931", red=EIGHT[:2]).ratings).raised
        # A red counts towards the ambers: one red and three ambers are four ambers or worse.
        assert two_reds.evaluate(assessment("931", red=EIGHT[:1], amber=EIGHT[1:4]).ratings).raised
        assert ConcernRule(amber_at_least=2).evaluate(assessment("931", amber=EIGHT[:2]).ratings).raised
        lenient = ConcernRule(red_at_least=2, amber_at_least=6)
        assert not lenient.evaluate(oxfordshire().ratings).raised

    def test_thresholds_below_one_are_refused(self):
        with pytest.raises(ValidationError):
            ConcernRule(red_at_least=0)
        with pytest.raises(ValidationError):
            ConcernRule(amber_at_least=0)


# -------------------------------------------------------------------- loading


class TestLoading:
    def test_a_valid_csv_gives_one_assessment_per_authority_and_term(self):
        text = to_csv(oxfordshire(), oxfordshire(term="2015-summer", on="2015-06-01"), assessment("Norfolk"))
        found = parse_csv(text, "file.csv")
        assert [(a.authority, a.term) for a in found] == [("931", "2015-spring"), ("931", "2015-summer"), ("926", "2015-spring")]
        assert found[0] == oxfordshire(authority="931")

    def test_a_valid_json_list_gives_the_same_assessments(self):
        text = to_json(oxfordshire(), assessment("norfolk", "2014-autumn", "2014-11-03"))
        found = parse_json(text, "file.json")
        assert found == [oxfordshire(authority="931"), assessment("926", "2014-autumn", "2014-11-03")]

    def test_every_problem_in_a_csv_is_reported_with_its_line(self):
        rows = to_csv(oxfordshire()).splitlines()
        bad = [
            rows[0],  # line 1: header
            "Oxfordhsire,2015-spring,2015-02-02,pupil_premium_gap,red,,",  # 2: unknown authority
            "Norfolk,2015-winter,2015-02-02,pupil_premium_gap,red,,",  # 3: bad term
            "Norfolk,2015-spring,2015-02-30,pupil_premium_gap,red,,",  # 4: bad date
            "Norfolk,2015-spring,2015-02-02,ofsted_mood,red,,",  # 5: unknown criterion
            "Norfolk,2015-spring,2015-02-02,pupil_premium_gap,purple,,",  # 6: bad rag
            "Norfolk,2015-spring,2015-02-02,pupil_premium_gap,red,sideways,",  # 7: bad trend
            "Norfolk,2015-spring,2015-02-02,pupil_premium_gap",  # 8: too few fields
            ",2015-spring,2015-02-02,pupil_premium_gap,red,,",  # 9: empty authority
            *rows[1:],  # 10-17: Oxfordshire, complete
            rows[1],  # 18: criterion rated twice
            "Oxfordshire,2015-spring,2015-02-03,pupil_premium_gap,red,,",  # 19: twice, and another date
            "Norfolk,2015-summer,2015-06-01,pupil_premium_gap,red,,",  # 20: Norfolk summer, 7 missing
        ]
        with pytest.raises(AssessmentDataError) as caught:
            parse_csv("\n".join(bad) + "\n", "bad.csv")
        problems = caught.value.problems
        text = [str(p) for p in problems]
        assert lines_of(caught.value) == [2, 3, 4, 5, 6, 7, 8, 9, 18, 19, 19, 20]
        assert "did you mean 'Oxfordshire' (931)" in text[0]
        assert "2015-winter" in text[1]
        assert "'2015-02-30' is not a date" in text[2]
        assert "unknown criterion 'ofsted_mood'; one of good_school_access_below_national" in text[3]
        assert "'red', 'amber' or 'green'" in text[4] and "purple" in text[4]
        assert "sideways" in text[5]
        assert "4 field(s), expected 7" in text[6]
        assert "authority is empty" in text[7]
        assert "good_school_access_below_national rated twice (first on line 10)" in text[8]
        assert "differs from 2015-02-02 on line 10" in text[9]
        assert "pupil_premium_gap rated twice (first on line 15)" in text[10]
        assert "926 2015-summer" in text[11] and "not rated on good_school_access_below_national" in text[11]
        assert all(t.startswith("bad.csv:") for t in text)
        assert str(caught.value).startswith("12 problem(s) in assessment data: bad.csv:2")
        assert isinstance(caught.value, InvalidData) and caught.value.code == "invalid_assessment_data"

    def test_a_csv_header_must_name_the_columns(self):
        with pytest.raises(AssessmentDataError, match=r"bad.csv:1 at header: missing column\(s\) trend, comment; unknown column\(s\) rating"):
            parse_csv("authority,term,assessed_on,criterion,rag,rating\n", "bad.csv")

    def test_an_empty_csv_or_one_without_rows_is_refused(self):
        with pytest.raises(AssessmentDataError, match="empty file"):
            parse_csv("", "empty.csv")
        with pytest.raises(AssessmentDataError, match="header but no rows"):
            parse_csv("authority,term,assessed_on,criterion,rag,trend,comment\n\n", "head.csv")

    def test_every_problem_in_a_json_list_is_reported_with_its_item_and_line(self):
        good = oxfordshire().model_dump(mode="json")
        items = [
            {**good, "ratings": {c: r for c, r in good["ratings"].items() if c != "qualifying_complaints"}},  # 0: missing one
            {**good, "ratings": {**good["ratings"], "pupil_premium_gap": {"rag": "purple"}}},  # 1: bad rag
            {**good, "region": "South East"},  # 2: extra field
            {**good, "authority": "Oxfordhsire"},  # 3: unknown authority
            good,  # 4: fine
            {**good, "authority": "931"},  # 5: same term again
            "Oxfordshire",  # 6: not an object
        ]
        text = "[\n" + ",\n".join(json.dumps(i) for i in items) + "\n]\n"  # item n on line n + 2
        with pytest.raises(AssessmentDataError) as caught:
            parse_json(text, "bad.json")
        text = [str(p) for p in caught.value.problems]
        assert lines_of(caught.value) == [2, 3, 4, 5, 7, 8]
        assert "item 0" in text[0] and "missing: qualifying_complaints" in text[0]
        assert "item 1, ratings.pupil_premium_gap.rag" in text[1] and "purple" in text[1]
        assert "item 2, region: Extra inputs are not permitted" in text[2]
        assert "item 3, authority" in text[3] and "did you mean 'Oxfordshire'" in text[3]
        assert "Oxfordshire 2015-spring is assessed twice (first on line 6)" in text[4]
        assert "item 6: expected an object, got str" in text[5]

    def test_json_that_does_not_parse_is_located(self):
        with pytest.raises(AssessmentDataError, match=r"bad.json:3 at column 12: not valid JSON: Expecting ':' delimiter"):
            parse_json('[\n  {"authority": "931",\n    "term" "2015-spring"}\n]', "bad.json")

    def test_json_must_be_a_non_empty_list(self):
        with pytest.raises(AssessmentDataError, match="expected a JSON list"):
            parse_json(json.dumps(oxfordshire().model_dump(mode="json")), "one.json")
        with pytest.raises(AssessmentDataError, match="the list is empty"):
            parse_json("[]", "none.json")

    def test_files_are_read_by_suffix_or_content(self, tmp_path):
        (tmp_path / "a.csv").write_text(to_csv(oxfordshire()), encoding="utf-8")
        (tmp_path / "a.json").write_text(to_json(oxfordshire()), encoding="utf-8")
        (tmp_path / "a.txt").write_text(to_json(oxfordshire()), encoding="utf-8")
        expected = [oxfordshire(authority="931")]
        assert load_assessments(tmp_path / "a.csv") == load_assessments(tmp_path / "a.json") == load_assessments(tmp_path / "a.txt") == expected
        with pytest.raises(InvalidData, match="cannot read assessments file"):
            load_assessments(tmp_path / "missing.csv")


# ------------------------------------------------------------------- register


class TestRegister:
    def test_oxfordshire_starts_an_inspection_carrying_the_authority_and_its_concerns(self, store, make_engine):
        """Seed 002 para 5 ratings, default rule: a concern, and a case in concern_raised from 2 February 2015."""
        engine = make_engine(store)
        register = RiskRegister(engine)
        outcome = register.assess(oxfordshire(), actor="ofsted-region", start_inspection=True)
        assert (outcome.authority, outcome.name, outcome.term, outcome.concern) == ("931", "Oxfordshire", "2015-spring", True)
        assert outcome.criteria == OXFORDSHIRE_CRITERIA
        case = engine.get(outcome.case_id)
        assert case.workflow == "ofsted-laassi" and case.state == "concern_raised"
        assert case.data == {"authority": "Oxfordshire", "concerns": case_concerns(OXFORDSHIRE_CRITERIA)}
        assert case.last_effective_at.isoformat() == "2015-02-02T00:00:00+00:00"  # midnight UK time (GMT in February)
        assert engine.history(outcome.case_id)[0].actor == "ofsted-region"

        view = register.authority("Oxfordshire")
        assert view.case_ids == [str(outcome.case_id)]
        assert [c["criteria"] for c in view.concerns] == [OXFORDSHIRE_CRITERIA]
        assert view.concerns[0]["case_id"] == str(outcome.case_id)
        assert view.latest["term"] == "2015-spring" and view.latest["assessed_on"] == "2015-02-02"
        assert {c: view.latest["ratings"][c]["rag"] for c in EIGHT} == {c: OXFORDSHIRE[c][0] for c in EIGHT}
        assert view.trend["attainment_below_national"] == {"rag": "amber", "reported": "mixed", "previous_rag": None, "since_previous": None}
        assert verify(engine).ok

    def test_a_workflow_that_lists_the_pupil_premium_gap_carries_it(self, catalog_with_pupil_premium, store):
        """The case starts on the latest version in force, and carries every rated criterion it lists."""
        from laworkflow.calendar.clock import SimulatedClock
        from laworkflow.engine import Engine
        from laworkflow.store import store_env

        engine = Engine(catalog_with_pupil_premium, clock=SimulatedClock("2015-02-01T09:00:00+00:00"), env=store_env(store))
        try:
            outcome = RiskRegister(engine).assess(oxfordshire(), actor="o", start_inspection=True)
            case = engine.get(outcome.case_id)
            assert (case.workflow, case.version) == ("ofsted-laassi", 2)
            assert case.data["concerns"] == OXFORDSHIRE_CRITERIA[1:]  # all but the rated criterion 8
            assert "other_concern" not in case.data["concerns"]
            assert "secretary_of_state_request is rated, not requested" in outcome.reason
        finally:
            engine.close()

    def test_the_authority_keeps_its_events_in_the_same_store_as_cases(self, store, make_engine):
        engine = make_engine(store)
        outcome = RiskRegister(engine).assess(oxfordshire(), actor="ofsted", start_inspection=True)
        events = list(engine.events.get(authority_id("931")))
        assert [type(e).__name__ for e in events] == ["Registered", "Assessed", "ConcernRaised"]
        assert events[2].case_id == str(outcome.case_id) and events[2].term == "2015-spring"
        assert isinstance(engine.repository.get(authority_id("931")), Authority)
        assert engine.case_ids() == [outcome.case_id]  # authorities are not cases

    def test_a_concern_without_start_inspection_is_recorded_and_starts_nothing(self, store, make_engine):
        engine = make_engine(store)
        register = RiskRegister(engine)
        outcome = register.assess(oxfordshire(), actor="ofsted")
        assert outcome.concern and outcome.case_id is None
        assert register.authority("931").concerns[0]["case_id"] is None
        assert engine.case_ids() == []

    def test_two_ambers_record_the_assessment_and_no_concern(self, store, make_engine):
        engine = make_engine(store)
        register = RiskRegister(engine)
        outcome = register.assess(assessment("Norfolk", amber=EIGHT[:2]), actor="ofsted", start_inspection=True)
        assert not outcome.concern and outcome.case_id is None
        view = register.authority("926")
        assert view.concerns == [] and view.case_ids == [] and view.latest["term"] == "2015-spring"
        assert engine.case_ids() == []

    def test_a_custom_rule_decides(self, store, make_engine):
        engine = make_engine(store)
        outcome = RiskRegister(engine).assess(oxfordshire(), rule=ConcernRule(red_at_least=2, amber_at_least=6), actor="o", start_inspection=True)
        assert not outcome.concern and engine.case_ids() == []

    def test_the_same_term_twice_is_refused_and_nothing_is_written(self, store, make_engine):
        engine = make_engine(store)
        register = RiskRegister(engine)
        register.assess(oxfordshire(), actor="ofsted", start_inspection=True)
        before = stored(engine)
        with pytest.raises(AlreadyAssessed, match=r"Oxfordshire \(931\) was already assessed for 2015-spring"):
            register.assess(oxfordshire(on="2015-03-02"), actor="ofsted", start_inspection=True)
        assert stored(engine) == before
        assert AlreadyAssessed.code == "already_assessed" and issubclass(AlreadyAssessed, LaworkflowError)

    def test_a_batch_is_written_whole_or_not_at_all(self, store, make_engine):
        engine = make_engine(store)
        register = RiskRegister(engine)
        register.assess(oxfordshire(), actor="ofsted")
        before = stored(engine)
        with pytest.raises(AlreadyAssessed):
            register.assess_all([assessment("Norfolk", red=EIGHT[:1]), oxfordshire()], actor="ofsted", start_inspection=True)
        assert stored(engine) == before
        assert register.authority("Norfolk").assessments == []

    def test_refusals_before_writing(self, store, make_engine):
        """An unknown authority, an unknown workflow, an invalid assessment: refused, nothing written."""
        engine = make_engine(store)
        register = RiskRegister(engine)
        before = stored(engine)
        with pytest.raises(UnknownAuthority):
            register.assess(oxfordshire(authority="Narnia"), actor="o")
        with pytest.raises(UnknownDefinition):
            register.assess(oxfordshire(), actor="o", start_inspection=True, workflow="ofsted-nope")
        with pytest.raises(AssessmentDataError, match="missing: "):
            register.assess({"authority": "931", "term": "2015-spring", "assessed_on": "2015-02-02", "ratings": {}}, actor="o")
        assert stored(engine) == before

    def test_a_welsh_authority_is_not_put_on_an_ofsted_inspection(self, store, make_engine):
        engine = make_engine(store)
        register = RiskRegister(engine)
        before = stored(engine)
        with pytest.raises(InvalidData, match=r"ofsted-laassi@1 inspects authorities in England; Cardiff \(cardiff\) is in Wales"):
            register.assess(assessment("Cardiff", red=EIGHT[:1]), actor="o", start_inspection=True)
        assert stored(engine) == before
        assert register.assess(assessment("Cardiff", red=EIGHT[:1]), actor="o").concern

    def test_a_request_by_the_secretary_of_state_always_starts_a_case(self, store, make_engine):
        """Framework para 8 (s136(3)) and 11: whatever the ratings, and even with an inspection already open."""
        engine = make_engine(store)
        register = RiskRegister(engine)
        register.assess(assessment("Norfolk"), actor="ofsted")  # all green: no concern
        first = register.request_by_secretary_of_state("Norfolk", actor="dfe", at="2015-03-02T10:00")
        second = register.request_by_secretary_of_state("926", actor="dfe", at="2015-03-09")
        for case_id in (first, second):
            case = engine.get(case_id)
            assert case.data == {"authority": "Norfolk", "concerns": ["secretary_of_state_request"]}
            assert case.state == "concern_raised"
        view = register.authority("Norfolk")
        assert view.case_ids == [str(first), str(second)]
        assert [c["criteria"] for c in view.concerns] == [["secretary_of_state_request"]] * 2
        assert view.concerns[0]["term"] == "2015-spring" and view.concerns[0]["actor"] == "dfe"
        assert "Secretary of State" in view.concerns[0]["reason"]
        # The workflow then refuses to decline it (para 8).
        with pytest.raises(LaworkflowError):
            engine.fire(first, "decide_not_to_inspect", {"reason": "no"}, actor="hmci", at="2015-03-10")

    def test_a_request_for_an_authority_never_assessed_registers_it(self, store, make_engine):
        engine = make_engine(store)
        register = RiskRegister(engine)
        case_id = register.request_by_secretary_of_state("Isles of Scilly", actor="dfe", at="2015-10-01")
        view = register.authority("420")
        assert view.latest is None and view.case_ids == [str(case_id)] and view.concerns[0]["term"] == "2015-autumn"

    def test_a_concern_while_an_inspection_is_open_starts_no_second_case(self, store, make_engine):
        engine = make_engine(store)
        register = RiskRegister(engine)
        norfolk = lambda term, on: assessment("Norfolk", term, on, red=["attainment_below_national"])  # noqa: E731
        first = register.assess(norfolk("2015-spring", "2015-02-02"), actor="o", start_inspection=True)
        again = register.assess(norfolk("2015-summer", "2015-06-01"), actor="o", start_inspection=True)
        assert again.concern and again.case_id is None
        assert f"inspection case {first.case_id} is still open" in again.reason
        engine.fire(first.case_id, "decide_not_to_inspect", {"reason": "improving"}, actor="hmci", at="2015-06-02")
        later = register.assess(norfolk("2015-autumn", "2015-10-01"), actor="o", start_inspection=True)
        assert later.case_id is not None and later.case_id != first.case_id
        assert register.authority("Norfolk").case_ids == [str(first.case_id), str(later.case_id)]

    def test_a_batch_with_two_terms_of_one_authority_starts_one_case(self, store, make_engine):
        engine = make_engine(store)
        outcomes = RiskRegister(engine).assess_all([oxfordshire("2014-autumn", "2014-11-03"), oxfordshire()], actor="o", start_inspection=True)
        assert outcomes[0].case_id is not None and outcomes[1].case_id is None
        assert engine.case_ids() == [outcomes[0].case_id]

    def test_history_latest_and_trend_across_terms(self, store, make_engine):
        """Terms may arrive out of order; the latest is the latest term, and each RAG is compared with the term before."""
        engine = make_engine(store)
        register = RiskRegister(engine)
        register.assess(oxfordshire(), actor="o")
        earlier = assessment("931", "2014-autumn", "2014-11-03", amber=["pupil_premium_gap", "attainment_below_national"], red=["progress_below_national"])
        register.assess(earlier, actor="o")
        view = register.authority("oxfordshire")
        assert [a["term"] for a in view.assessments] == ["2014-autumn", "2015-spring"]
        assert view.latest["term"] == "2015-spring"
        assert view.trend["pupil_premium_gap"]["since_previous"] == "worse"  # amber -> red
        assert view.trend["progress_below_national"]["since_previous"] == "better"  # red -> green
        assert view.trend["attainment_below_national"]["since_previous"] == "unchanged"
        assert view.trend["schools_causing_concern_above_average"] == {"rag": "amber", "reported": None, "previous_rag": "green", "since_previous": "worse"}
        assert [c["term"] for c in view.concerns] == ["2015-spring", "2014-autumn"]  # in the order they were raised

    def test_an_authority_never_assessed_has_an_empty_view(self, store, make_engine):
        view = RiskRegister(make_engine(store)).authority("Kent")
        assert (view.code, view.latest, view.assessments, view.concerns, view.case_ids) == ("886", None, [], [], [])
        with pytest.raises(UnknownAuthority):
            RiskRegister(make_engine(store)).authority("Atlantis")

    def test_the_register_reads_back_after_a_restart(self, sqlite_store, make_engine):
        first = RiskRegister(make_engine(sqlite_store)).assess(oxfordshire(), actor="o", start_inspection=True)
        view = RiskRegister(make_engine(sqlite_store)).authority("931")
        assert view.case_ids == [str(first.case_id)] and view.latest["term"] == "2015-spring"

    def test_views_are_json_ready(self, make_engine):
        register = RiskRegister(make_engine())
        outcome = register.assess(oxfordshire(), actor="o", start_inspection=True)
        json.dumps(outcome.to_dict())
        document = json.loads(json.dumps(register.authority("931").to_dict()))
        assert document["concerns"][0]["effective_at"] == "2015-02-02T00:00:00+00:00"


# ------------------------------------------------------------------------ CLI


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("LAWORKFLOW_LOG", "LAWORKFLOW_STORE", "LAWORKFLOW_WORKFLOWS"):
        env.pop(name, None)
    return env


ENV = _env()


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "laworkflow.cli", "--store", str(db), "--workflows", str(WORKFLOWS), *args]
    return subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=60, cwd=db.parent)


def rows(db: Path) -> list[tuple]:
    if not db.exists():
        return []
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT * FROM stored_events ORDER BY rowid").fetchall()


class TestCli:
    def test_assess_starts_inspections_and_show_reads_them_back(self, tmp_path):
        db = tmp_path / "events.sqlite"
        data = tmp_path / "spring.csv"
        data.write_text(to_csv(oxfordshire(), assessment("Norfolk", amber=EIGHT[:2])), encoding="utf-8")
        run = cli(db, "risk", "assess", str(data), "--start-inspections", "--actor", "region", "--json")
        assert run.returncode == 0, run.stderr
        document = json.loads(run.stdout)
        assert (document["count"], document["concerns"], len(document["cases"])) == (2, 1, 1)
        assert document["rule"] == {"red_at_least": 1, "amber_at_least": 3, "description": "any red, or 3 ambers or worse"}
        oxon, norfolk = document["assessments"]
        assert (oxon["authority"], oxon["concern"], oxon["criteria"], oxon["assessed_on"]) == ("931", True, OXFORDSHIRE_CRITERIA, "2015-02-02")
        assert (norfolk["authority"], norfolk["concern"], norfolk["case_id"]) == ("926", False, None)

        case = json.loads(cli(db, "show", oxon["case_id"], "--json").stdout)
        assert case["state"] == "concern_raised"
        in_force = laassi_in_force("2015-02-02")
        assert (case["workflow"], case["version"]) == ("ofsted-laassi", in_force["version"])
        assert case["data"] == {"authority": "Oxfordshire", "concerns": case_concerns(OXFORDSHIRE_CRITERIA, in_force["data"]["concerns"]["choices"])}
        history = json.loads(cli(db, "history", oxon["case_id"], "--json").stdout)
        assert history["events"][0]["actor"] == "region"

        shown = cli(db, "risk", "show", "Oxfordshire", "--json")
        assert shown.returncode == 0, shown.stderr
        view = json.loads(shown.stdout)
        assert view["case_ids"] == [oxon["case_id"]] and view["latest"]["term"] == "2015-spring"
        text = cli(db, "risk", "show", "931")
        assert text.returncode == 0 and "pupil_premium_gap" in text.stdout and oxon["case_id"] in text.stdout
        assert json.loads(cli(db, "verify", "--json").stdout)["ok"] is True

    def test_the_same_file_twice_is_refused_and_nothing_is_written(self, tmp_path):
        db = tmp_path / "events.sqlite"
        data = tmp_path / "spring.json"
        data.write_text(to_json(oxfordshire()), encoding="utf-8")
        assert cli(db, "risk", "assess", str(data), "--start-inspections").returncode == 0
        before = rows(db)
        again = cli(db, "risk", "assess", str(data), "--start-inspections")
        assert again.returncode == 1
        assert again.stderr.startswith("error: Oxfordshire (931) was already assessed for 2015-spring") and again.stderr.count("\n") == 1
        assert rows(db) == before

    def test_an_invalid_file_reports_every_problem_on_one_line_and_writes_nothing(self, tmp_path):
        db = tmp_path / "events.sqlite"
        good = tmp_path / "good.csv"
        good.write_text(to_csv(assessment("Kent")), encoding="utf-8")
        assert cli(db, "risk", "assess", str(good)).returncode == 0
        before = rows(db)
        bad = tmp_path / "bad.csv"
        bad.write_text(to_csv(oxfordshire()) + "Oxfordhsire,2015-spring,2015-02-02,pupil_premium_gap,purple,,\n", encoding="utf-8")
        run = cli(db, "risk", "assess", str(bad), "--start-inspections", "--json")
        assert run.returncode == 1 and run.stdout == ""
        assert run.stderr.startswith("error: 2 problem(s) in assessment data:") and run.stderr.count("\n") == 1
        assert f"{bad}:10 at row 9: unknown authority 'Oxfordhsire'" in run.stderr and "purple" in run.stderr
        assert rows(db) == before

    def test_thresholds_come_from_the_options(self, tmp_path):
        db = tmp_path / "events.sqlite"
        data = tmp_path / "spring.csv"
        data.write_text(to_csv(oxfordshire()), encoding="utf-8")
        run = cli(db, "risk", "assess", str(data), "--red", "2", "--ambers", "6", "--start-inspections", "--json")
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["cases"] == []
        refused = cli(db, "risk", "assess", str(data), "--ambers", "0")
        assert refused.returncode == 1 and refused.stderr.startswith("error: --red and --ambers must be at least 1")

    def test_show_refuses_an_unknown_authority(self, tmp_path):
        run = cli(tmp_path / "events.sqlite", "risk", "show", "Oxfordhsire")
        assert run.returncode == 1 and "did you mean 'Oxfordshire' (931)" in run.stderr
