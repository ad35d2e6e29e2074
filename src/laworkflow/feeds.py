"""The calendar feed: every case's deadlines and milestones as iCalendar (RFC 5545), for Outlook or Google Calendar.

The people who run inspections live in their calendars, so the dates the engine
works out — a letter due twenty working days after the on-site week, an
on-site week that begins when the notice runs out — are offered as a feed a
calendar subscribes to (`GET /v1/calendar.ics`) or a file (`laworkflow
calendar`). The document is built with the `icalendar` package, not by hand.

What a feed holds, for all cases, one authority's or one case's:

- each deadline of a case, as an all-day event on its due day, whatever its
  status (pending, met, met late, missed, withdrawn: the status is in the
  title and the categories), so the calendar keeps a record of what was met;
- each timer armed now (a step the engine takes itself on a known day, such
  as the start of the on-site week), as a moment;
- each milestone reached: the start of the case and every transition, as a
  moment at its effective time.

A subscribed calendar fetches the feed again and again. Each item's UID is
derived from what it is — the case, the deadline's or timer's name, an event's
number in the case — never from when the feed was made, so a deadline that
moves or is met updates its one entry instead of adding a second. DTSTAMP is
the time the case last changed (recorded), and SEQUENCE the number of events
in the case, so a calendar sees an entry change when the case does and a feed
of an unchanged store is the same bytes every time.

Times are written in UTC (the `Z` form), which needs no VTIMEZONE and which
every calendar shows in its own zone; due days are dates (VALUE=DATE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from icalendar import Calendar, Event, vDuration

from laworkflow.cases.views import CaseView, HistoryEntry
from laworkflow.engine import Engine
from laworkflow.errors import InvalidData

PRODID = "-//laworkflow//deadlines and milestones//EN"
UID_DOMAIN = "laworkflow"
REFRESH = timedelta(hours=1)  # how often a subscribed calendar is asked to fetch the feed again (RFC 7986)
MILESTONES = frozenset({"Started", "Transitioned"})


@dataclass(frozen=True)
class Scope:
    """Which cases a feed covers: all of them (both None), one authority's (by name, any case), or one case."""

    authority: str | None = None
    case: UUID | None = None

    def title(self) -> str:
        if self.case is not None:
            return f"laworkflow: case {self.case}"
        return f"laworkflow: {self.authority}" if self.authority else "laworkflow: all cases"


def uid(case_id: UUID, kind: str, name: str) -> str:
    """The stable identity of one item of a case: the same item has the same UID in every fetch of the feed."""
    return f"{case_id}.{kind}.{name}@{UID_DOMAIN}"


@dataclass(frozen=True)
class Built:
    """A feed as built: the iCalendar document, the calendar's title (the authority as its cases spell it) and how many events it holds."""

    document: bytes
    title: str
    events: int


def feed(engine: Engine, scope: Scope = Scope()) -> bytes:
    """The iCalendar document of the deadlines and milestones of the cases in `scope`."""
    return build(engine, scope).document


def build(engine: Engine, scope: Scope = Scope()) -> Built:
    """The feed of the cases in `scope`, with its title and its number of events."""
    cases, scope = _cases(engine, scope)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", scope.title())  # RFC 7986
    calendar.add("x-wr-calname", scope.title())  # the name Outlook and Google Calendar show
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    count = 0
    for case_id in cases:
        view = engine.get(case_id)
        for event in case_events(view, engine.history(case_id)):
            calendar.add_component(event)
            count += 1
    document: bytes = calendar.to_ical()
    return Built(document, scope.title(), count)


def _cases(engine: Engine, scope: Scope) -> tuple[list[UUID], Scope]:
    """The cases in scope, and the scope with the authority's name as its cases spell it ("norfolk" finds Norfolk)."""
    if scope.case is not None:
        engine.get(scope.case)  # UnknownCase when there is none
        return [scope.case], scope
    ids = engine.case_ids()
    if scope.authority is None:
        return ids, scope
    wanted = scope.authority.casefold()
    names = {case_id: str(engine.get(case_id).data.get("authority", "")) for case_id in ids}
    chosen = [case_id for case_id in ids if names[case_id].casefold() == wanted]
    if not chosen:
        known = sorted({name for name in names.values() if name})
        shown = ", ".join(known[:10]) + (f" and {len(known) - 10} more" if len(known) > 10 else "")
        raise InvalidData(f"no case was started for the authority {scope.authority!r}; authorities with cases: {shown or '(none)'}")
    return chosen, Scope(authority=names[chosen[0]])


def case_events(view: CaseView, history: list[HistoryEntry]) -> list[Event]:
    """A case's deadlines, armed timers and milestones reached, as calendar events."""
    authority = str(view.data.get("authority", "(no authority)"))
    workflow = f"{view.workflow}@{view.version}"
    stamp = max(entry.recorded_at for entry in history).astimezone(UTC)
    about = f"Case {view.id} ({workflow}), {authority}; state now {view.state}{' (ended)' if view.ended else ''}."
    events = []
    for name, deadline in sorted(view.deadlines.items()):
        events.append(_deadline(view, authority, workflow, name, deadline, stamp, about))
    for name, timer in sorted(view.timers.items()):
        at = datetime.fromisoformat(str(timer["due_at"])) if not isinstance(timer["due_at"], datetime) else timer["due_at"]
        event = _event(uid(view.id, "timer", name), f"{authority}: {timer['trigger']} ({workflow})", stamp, view.events, ["milestone", "scheduled"])
        event.add("description", f"{about}\nThe engine fires {timer['trigger']} then (timer {name}).")
        event.add("dtstart", at.astimezone(UTC))
        event.add("duration", timedelta(0))
        events.append(event)
    for entry in history:
        if entry.type not in MILESTONES:
            continue
        what = f"started {workflow} in {entry.details.get('state')}" if entry.type == "Started" else _transition(entry.details)
        event = _event(uid(view.id, "event", str(entry.version)), f"{authority}: {what}", entry.recorded_at.astimezone(UTC), 0, ["milestone"])
        event.add("description", f"{about}\nEvent {entry.version}: {what}, by {entry.actor}; recorded {entry.recorded_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC.")
        event.add("dtstart", entry.effective_at.astimezone(UTC))
        event.add("duration", timedelta(0))
        events.append(event)
    return events


def _transition(details: dict[str, Any]) -> str:
    return f"{details.get('trigger')} ({details.get('source')} -> {details.get('target')})"


def _deadline(view: CaseView, authority: str, workflow: str, name: str, deadline: dict[str, Any], stamp: datetime, about: str) -> Event:
    status = str(deadline["status"])
    due = deadline["due_date"] if isinstance(deadline["due_date"], date) else date.fromisoformat(str(deadline["due_date"]))
    outcome = status if status == "pending" else f"{status} {deadline.get('met_on') or ''}".strip()
    late = deadline.get("late_by_working_days")
    if late:
        outcome += f", {late} working day{'s' if late != 1 else ''} late"
    event = _event(uid(view.id, "deadline", name), f"{authority}: {name} due ({workflow}) — {outcome}", stamp, view.events, ["deadline", status])
    event.add("description", f"{about}\nDeadline {name}: due {due.isoformat()}, met by {deadline.get('met_by')}; {outcome}.")
    event.add("dtstart", due)
    event.add("dtend", due + timedelta(days=1))
    return event


def _event(identity: str, summary: str, stamp: datetime, sequence: int, categories: list[str]) -> Event:
    event = Event()
    event.add("uid", identity)
    event.add("dtstamp", stamp)
    event.add("sequence", sequence)
    event.add("summary", summary)
    event.add("categories", categories)
    event.add("transp", "TRANSPARENT")  # a deadline is not a meeting: it does not make anyone busy
    return event


__all__ = ["MILESTONES", "PRODID", "Built", "Scope", "build", "case_events", "feed", "uid"]
