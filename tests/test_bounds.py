"""One range of dates everywhere: typed-in dates and derived deadlines outside it are refused before anything is written."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from laworkflow import InvalidData
from laworkflow.calendar.bounds import EARLIEST_DAY, LATEST_DAY, check_day
from laworkflow.calendar.durations import parse_duration
from laworkflow.calendar.working_days import calendar_for
from laworkflow.definitions.guards import _as_date
from laworkflow.definitions.machine import _parameter_value, payload_model, validate_payload
from laworkflow.definitions.model import DataField
from laworkflow.errors import OutOfRange
from laworkflow.projections.backends.sql import _stamp
from laworkflow.risk import AssessmentDataError, RiskAssessment, parse_csv

MONITORING = "ofsted-monitoring"
SOME_AREAS = {"authority": "Barsetshire", "inadequate_areas": ["help_and_protection"]}
BAD_DAYS = ["9999-12-31", "0001-01-01", "1899-12-31", "2200-01-01"]


def stored(engine):
    """Every notification in the store, bytes included: what "unchanged" is measured against."""
    return [(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state)) for n in engine.recorder.select_notifications(1, 1_000_000)]


def monitoring(engine, **parameters):
    """An Ofsted monitoring case whose action plan is in: bring_forward_reinspection is allowed."""
    case = engine.start(MONITORING, SOME_AREAS, actor="ofsted", at="2016-07-04T09:00", parameters=parameters or None)
    engine.fire(case, "submit_action_plan", {"action_plan_date": "2016-10-03"}, actor="la", at="2016-10-03T10:00")
    return case


class TestTypedInDates:
    @pytest.mark.parametrize("day", BAD_DAYS)
    def test_a_reinspection_planned_outside_the_range_is_refused_and_nothing_is_written(self, make_engine, store, day):
        """The reproduction of the issue: year 9999 (OverflowError in the index) and year 1 (an unreadable stamp)."""
        engine = make_engine(store, start="2016-07-04T09:00")
        case = monitoring(engine)
        before = stored(engine)
        with pytest.raises(InvalidData, match=f"reinspection_planned_for: the date {day} is outside"):
            engine.fire(
                case, "bring_forward_reinspection", {"rapid_improvement_evidence": "x", "reinspection_planned_for": day}, actor="shmi", at="2017-11-13T09:00"
            )
        assert stored(engine) == before
        assert engine.due() and engine.quarantined() == []  # the index still reads, nothing set aside

    def test_the_first_and_last_days_of_the_range_are_accepted(self, make_engine):
        engine = make_engine(start="2016-07-04T09:00")
        case = monitoring(engine)
        view = engine.fire(
            case,
            "bring_forward_reinspection",
            {"rapid_improvement_evidence": "x", "reinspection_planned_for": "2199-12-31"},
            actor="shmi",
            at="2017-11-13T09:00",
        )
        assert view.deadlines["reinspection_brought_forward"]["due_date"] == "2199-12-31"
        assert any(item.name == "reinspection_brought_forward" for item in engine.due())

    @pytest.mark.parametrize("moment", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+00:00", "2200-01-02T00:00:00+00:00"])
    def test_a_datetime_field_outside_the_range_is_refused_naming_it(self, moment):
        model = payload_model("x_data", {"when": DataField(type="datetime")})
        with pytest.raises(InvalidData, match="when: the moment"):
            validate_payload(model, {"when": moment}, "trigger 'x'")
        assert validate_payload(model, {"when": "2013-06-14T09:00:00+01:00"}, "trigger 'x'")["when"].startswith("2013-06-14")

    @pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", date(1899, 12, 31)])
    def test_a_date_parameter_outside_the_range_is_refused(self, value):
        with pytest.raises(InvalidData, match="parameter 'opens'"):
            _parameter_value("opens", date(2014, 4, 1), value)
        assert _parameter_value("opens", date(2014, 4, 1), "2015-04-01") == "2015-04-01"

    def test_a_guard_never_treats_a_date_outside_the_range_as_a_date(self):
        assert _as_date("9999-12-31") is None and _as_date(date(1, 1, 1)) is None
        assert _as_date("2013-06-14") == date(2013, 6, 14)

    @pytest.mark.parametrize("day", BAD_DAYS)
    def test_a_risk_assessment_dated_outside_the_range_is_refused(self, day):
        with pytest.raises(ValidationError, match="outside the dates"):
            RiskAssessment.model_validate({"authority": "931", "term": "2015-spring", "assessed_on": day, "ratings": {}})
        with pytest.raises(AssessmentDataError, match="is not a date YYYY-MM-DD from 1900-01-01 to 2199-12-31"):
            parse_csv(f"authority,term,assessed_on,criterion,rag,trend,comment\n931,2015-spring,{day},x,red,,\n")


class TestDerivedDates:
    def test_a_deadline_derived_past_the_range_refuses_the_whole_command_before_anything_is_written(self, make_engine, store):
        """600 months after an action plan in 2160 is 2210: the command is refused, not half recorded."""
        engine = make_engine(store, start="2016-07-04T09:00")
        case = engine.start(
            MONITORING, SOME_AREAS, actor="ofsted", at="2016-07-04T09:00", parameters={"reinspection_within": "600 months after action_plan_date"}
        )
        before = stored(engine)
        with pytest.raises(OutOfRange, match="reinspection_within_24_months.*would fall due on 2210-06-01"):
            engine.fire(case, "submit_action_plan", {"action_plan_date": "2160-06-01"}, actor="la", at="2016-10-03T10:00")
        assert stored(engine) == before
        assert engine.get(case).state == "judged_inadequate"

    @pytest.mark.parametrize("text", ["1 month", "1 day", "1 week", "1 working day"])
    def test_arithmetic_past_pythons_dates_is_out_of_range_never_overflow(self, text):
        calendar = calendar_for("england")
        with pytest.raises(OutOfRange):
            parse_duration(text).after(date(9999, 12, 31), calendar)
        with pytest.raises(OutOfRange):
            parse_duration(text).before(date(1, 1, 1), calendar)

    def test_a_command_time_outside_the_range_is_refused(self, make_engine):
        engine = make_engine()
        with pytest.raises(OutOfRange):
            engine.start("ofsted-laassi", {"authority": "Norfolk", "concerns": ["attainment_below_national"]}, actor="x", at="9999-12-31")

    @pytest.mark.parametrize(("weeks", "error"), [(99_999_999, OutOfRange), (-1, InvalidData), (20_000, OutOfRange)])
    def test_upcoming_refuses_a_window_it_cannot_count(self, make_engine, weeks, error):
        with pytest.raises(error):
            make_engine().upcoming(weeks)


class TestStamps:
    @pytest.mark.parametrize("year", [1, 999, 1900, 2199, 9999])
    def test_a_stamp_is_fixed_width_reads_back_and_sorts_as_text(self, year):
        moment = datetime(year, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) if year == 9999 else datetime(year, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
        text = _stamp(moment)
        assert len(text) == len("2013-06-14T09:00:00.000000Z")
        assert datetime.fromisoformat(text) == moment
        assert (text < _stamp(datetime(2013, 6, 14, tzinfo=UTC))) == (year < 2013)

    def test_the_range_is_the_one_in_bounds(self):
        assert check_day(EARLIEST_DAY) == EARLIEST_DAY and check_day(LATEST_DAY) == LATEST_DAY
