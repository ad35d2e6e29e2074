"""The public example, run end to end on a simulated clock: Norfolk, June 2013.

On site Monday 10 to Friday 14 June 2013 and judged not effective; the letter
is due Friday 12 July and publication Friday 19 July 2013 (20 and 25 working
days, framework para 42). The authority's statement of action follows and a
re-inspection is arranged as a new case linked to the first (para 20, 41).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from laworkflow.calendar.clock import LONDON
from laworkflow.cases.views import HistoryEntry
from laworkflow.engine import Engine

WORKFLOW = "ofsted-laassi"
START = "2013-06-03T09:00:00+01:00"

RECIPIENTS = ["chief_executive", "director_of_childrens_services", "lead_member_for_childrens_services", "secretary_of_state"]

# (when it takes effect, trigger, data, actor) — the steps people take; timers do the rest.
STEPS: list[tuple[str, str, dict[str, Any], str]] = [
    ("2013-06-05T10:00", "give_notice", {"on_site_start": "2013-06-10", "lead_inspector": "Lead HMI", "inspectors": ["HMI"]}, "ofsted"),
    ("2013-06-11T16:00", "record_evidence", {"notebook": "evidence", "entry": "Meetings with headteachers and governors"}, "lead-hmi"),
    ("2013-06-13T17:00", "record_evidence", {"notebook": "summary", "entry": "Emerging judgement: challenge to schools is weak"}, "lead-hmi"),
    ("2013-06-14T12:00", "give_feedback", {"strengths": ["early years"], "weaknesses": ["challenge to underperforming schools"]}, "lead-hmi"),
    ("2013-06-14T17:00", "leave_site", {}, "lead-hmi"),
    (
        "2013-06-28T10:00",
        "make_judgement",
        {
            "effective": False,
            "strengths": ["early years"],
            "weaknesses": ["challenge to underperforming schools"],
            "recommendations": ["Intervene earlier in schools causing concern"],
        },
        "ofsted-qa",
    ),
    ("2013-07-03T10:00", "receive_factual_accuracy_comments", {"comments": "Two dates corrected"}, "norfolk"),
    ("2013-07-12T10:00", "send_letter", {"recipients": RECIPIENTS}, "ofsted"),
    ("2013-07-18T10:00", "publish_letter", {}, "ofsted"),
    ("2013-09-06T10:00", "receive_statement_of_action", {"actions": ["School improvement strategy revised"], "timetable": "By January 2014"}, "norfolk"),
    ("2013-09-20T10:00", "arrange_reinspection", {}, "hmci"),
]


def run(engine: Engine) -> UUID:
    """Drive the example; timers and deadlines fire from the engine's own due list."""
    case_id = engine.start(
        WORKFLOW,
        {"authority": "Norfolk", "concerns": ["attainment_below_national", "not_good_schools_above_average"]},
        actor="ofsted-regional-director",
        at=START,
    )
    for at, trigger, data, actor in STEPS:
        engine.run_due(until=at)
        engine.clock.advance_to(at)  # type: ignore[attr-defined]
        engine.fire(case_id, trigger, data, actor=actor, at=at)
    return case_id


def describe(entry: HistoryEntry) -> str:
    d = entry.details
    kind = entry.type
    if kind == "Started":
        return f"started {d['definition_id']}@{d['definition_version']} in {d['state']}"
    if kind == "Transitioned":
        move = d["target"] if d["source"] == d["target"] else f"{d['source']} -> {d['target']}"
        return f"{d['trigger']}: {move}"
    if kind in ("TimerArmed",):
        return f"timer {d['timer_id']} armed for {d['due_at'].astimezone(LONDON):%Y-%m-%d}, fires {d['trigger']}"
    if kind in ("TimerFired", "TimerCancelled"):
        return f"timer {d['timer_id']} {'fired' if kind == 'TimerFired' else 'cancelled: ' + d['reason']}"
    if kind == "DeadlineSet":
        return f"deadline {d['deadline_id']} due {d['due_date']}"
    if kind == "DeadlineMet":
        late = d["late_by_working_days"]
        return f"deadline {d['deadline_id']} met on {d['met_on']}" + (f", {late} working day(s) late" if late else "")
    if kind == "DeadlineMissed":
        return f"deadline {d['deadline_id']} MISSED (was due {d['due_date']})"
    if kind == "DeadlineWithdrawn":
        return f"deadline {d['deadline_id']} withdrawn: {d['reason']}"
    if kind == "ChildLinked":
        return f"started linked case {d['child_id']} ({d['workflow']})"
    if kind == "Migrated":
        move = d["target_state"] if d["source_state"] == d["target_state"] else f"{d['source_state']} -> {d['target_state']}"
        return f"migrated from version {d['from_version']} to {d['to_version']} in {move}: {d['reason']}"
    return kind
