"""The national picture: every English and Welsh authority run through years of process.

A demonstration and a soak test of the engine, not a forecast. English
authorities are risk-assessed each term with seeded random ratings; a concern
starts an inspection. Welsh authorities are each inspected once in a cycle.
From then on people's decisions are played by a seeded random walk over the
triggers the definitions allow (data drawn from each trigger's field types,
retried until the guards pass), while timers, deadlines and the reactions
between parent and child cases run as they would in service. Nothing here
knows a workflow by heart beyond which one starts an inspection in each nation.
"""

from __future__ import annotations

import csv
import heapq
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any
from uuid import UUID

from laworkflow.calendar.clock import aware, uk_date
from laworkflow.definitions.guards import GuardContext
from laworkflow.definitions.model import Condition, DataField
from laworkflow.engine import Engine
from laworkflow.errors import LaworkflowError, NotInForce

INSPECTIONS = {"england": "ofsted-laassi", "wales": "estyn-lges"}  # which workflow starts an inspection in each nation
TERMS = ((9, 1), (1, 6), (4, 20))  # month, day an English risk assessment is made: autumn, spring, summer
RAG_WEIGHTS = {"red": 0.005, "amber": 0.06}  # per criterion per term; the rest green


@dataclass(frozen=True)
class Authority:
    code: str
    name: str
    nation: str


def authorities() -> list[Authority]:
    """The 152 English local authorities with education functions (DfE list, 2015) and the 22 Welsh principal councils."""
    text = resources.files("laworkflow").joinpath("reference/authorities.csv").read_text(encoding="utf-8")
    return [Authority(row["code"], row["name"], row["nation"]) for row in csv.DictReader(text.splitlines())]


@dataclass
class Summary:
    """What ten years looked like: counts a reader can check against the event log."""

    start: date
    end: date
    seed: int
    authorities: dict[str, int]
    cases_started: dict[str, int] = field(default_factory=dict)
    final_states: dict[str, dict[str, int]] = field(default_factory=dict)
    register: dict[str, int] = field(default_factory=dict)
    deadlines: dict[str, int] = field(default_factory=dict)
    commands: int = 0
    refusals: int = 0
    events: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in vars(self).items()}


class NationalSimulation:
    def __init__(self, engine: Engine, *, seed: int, start: date, years: int):
        self.engine = engine
        self.random = random.Random(seed)
        self.seed, self.start, self.end = seed, start, start.replace(year=start.year + years)
        self.queue: list[tuple[datetime, int, str, Any]] = []
        self.sequence = 0
        self.commands = self.refusals = 0
        self.known = len(engine.case_ids())

    # ------------------------------------------------------------- scheduling

    def _at(self, day: date, hour: int = 10) -> datetime:
        return aware(datetime(day.year, day.month, day.day, hour))

    def _push(self, moment: datetime, kind: str, payload: Any) -> None:
        self.sequence += 1
        heapq.heappush(self.queue, (moment, self.sequence, kind, payload))

    def _later(self, moment: datetime, low: int, high: int) -> datetime:
        """A working day `low`..`high` working days on: when a person gets round to it."""
        calendar = self.engine.catalog.get(INSPECTIONS["england"]).calendar
        day = calendar.add_working_days(moment.date(), self.random.randint(low, high))
        return self._at(day, self.random.randint(9, 16))

    def run(self, population: list[Authority]) -> Summary:
        for year in range(self.start.year, self.end.year + 1):
            for month, day in TERMS:
                moment = self._at(date(year, month, day), 9)
                if self._at(self.start) <= moment < self._at(self.end):
                    self._push(moment, "term", None)
        welsh = [a for a in population if a.nation == "wales"]
        cycle_days = min((self.end - self.start).days, 7 * 365)
        for authority in welsh:
            self._push(self._at(self.start + timedelta(days=self.random.randrange(cycle_days))), "start", authority)
        english = [a for a in population if a.nation == "england"]
        limit = self._at(self.end)
        while self.queue and self.queue[0][0] < limit:
            moment, _, kind, payload = heapq.heappop(self.queue)
            self.engine.run_due(until=moment)
            self.engine.clock.advance_to(moment)  # type: ignore[attr-defined]
            if kind == "term":
                self._assess(english, moment)
            elif kind == "start":
                self._start(payload, moment)
            else:
                self._act(payload, moment)
            self._schedule_new_cases(moment)
        self.engine.run_due(until=limit)
        return self._summary(population)

    # --------------------------------------------------------------- decisions

    def _assess(self, english: list[Authority], moment: datetime) -> None:
        """Each term a random assessment per authority; any red or three ambers raises a concern (the default rule)."""
        for authority in english:
            ratings = [self._rag() for _ in range(8)]
            if ratings.count("red") >= 1 or ratings.count("amber") >= 3:
                self._start(authority, moment)

    def _rag(self) -> str:
        roll = self.random.random()
        if roll < RAG_WEIGHTS["red"]:
            return "red"
        return "amber" if roll < RAG_WEIGHTS["red"] + RAG_WEIGHTS["amber"] else "green"

    def _start(self, authority: Authority, moment: datetime) -> None:
        name = INSPECTIONS[authority.nation]
        try:  # the version in force that day
            workflow, version = self.engine.catalog.get(name, on=uk_date(moment)), None
        except NotInForce:  # none yet (Welsh inspections simulated before the 2022 guidance): the latest, named, so recorded out_of_force
            workflow = self.engine.catalog.get(name)
            version = workflow.definition.version
        data: dict[str, Any] = {"authority": authority.name}
        if "concerns" in workflow.definition.data:
            data["concerns"] = ["attainment_below_national"]
        for name, spec in workflow.definition.data.items():
            if name not in data and spec.required:
                data[name] = self._value(spec, moment.date())
        try:
            self.engine.start(workflow.definition.id, data, version=version, actor="national-simulation", at=moment)
            self.commands += 1
        except LaworkflowError:
            self.refusals += 1

    def _schedule_new_cases(self, moment: datetime) -> None:
        """Cases started since the last look (by people or by parents) get their first decision scheduled."""
        ids = self.engine.case_ids()  # in the order they started
        for case_id in ids[self.known :]:
            self._push(self._later(moment, 1, 5), "act", case_id)
        self.known = len(ids)

    def _act(self, case_id: UUID, moment: datetime) -> None:
        """Take one decision on a case: a random trigger its state allows, with data its guards accept."""
        view = self.engine.get(case_id)
        if view.ended:
            return
        options = self.engine.allowed_triggers(case_id)
        if view.timers:  # a timer will move it on; meanwhile only steps that stay in the state
            options = [o for o in options if o.to == view.state]
            due = min(aware(t["due_at"]) for t in view.timers.values())
            if not options or self.random.random() < 0.5:
                self._push(max(due, moment) + timedelta(hours=12), "act", case_id)
                return
        for _ in range(12):
            if not options:
                break
            option = self.random.choices(options, weights=[o.weight for o in options])[0]
            data = {
                name: self._value(DataField(**spec), moment.date())
                for name, spec in option.data.items()
                if spec.get("required", True) or self.random.random() < 0.5
            }
            if self.random.random() < 0.5:
                data = self._heed_guards(view, option.trigger, option.to, data, moment.date())
            try:
                self.engine.fire(case_id, option.trigger, data, actor="national-simulation", at=max(moment, aware(view.last_effective_at or moment)))
                self.commands += 1
                break
            except LaworkflowError:
                self.refusals += 1
        self._push(self._later(moment, 1, 8), "act", case_id)

    def _heed_guards(self, view: Any, trigger: str, to: str, data: dict[str, Any], today: date) -> dict[str, Any]:
        """Half the time, bend the random data towards the guards on the trigger's own fields.

        A person reads the rules before acting; a walk that never does stalls where a form asks
        for every section of a report and one answer per question at once. Only what the guard
        states outright is followed (`contains`, `eq`, a list as long as another field, the day
        of the command); nothing here names a workflow, field or trigger.
        """
        workflow = self.engine.pinned(view.workflow, view.version, view.definition_hash)
        transitions = [t for t in workflow.transitions_from(view.state, trigger) if t.target(view.state) == to]
        for condition in (g for t in transitions[:1] for g in t.guards if isinstance(g, Condition)):
            name = condition.field
            if name is None or name not in data:
                continue
            value = GuardContext({**view.data, **data}, today, workflow.calendar, view.parameters).resolve(condition.value)  # `$name`, `=field`
            if condition.op == "contains" and isinstance(data[name], list) and value not in data[name]:
                data[name] = [*data[name], value]
            elif condition.op == "eq" and value is not None:
                data[name] = value
            elif condition.op in ("min_items", "max_items") and isinstance(data[name], list) and isinstance(value, list):
                data[name] = [f"item {n}" for n in range(1, len(value) + 1)]
            elif condition.op == "within" and isinstance(data[name], str):
                data[name] = today.isoformat()
        return data

    def _value(self, spec: DataField, today: date) -> Any:
        kind = spec.type
        if kind == "enum":
            return self.random.choice(spec.choices or [""])
        if kind == "list":
            size = self.random.randint(max(spec.min_items or 1, 1), 8)
            if not spec.choices:
                return [f"item {n}" for n in range(1, size + 1)]
            if self.random.random() < 0.5:  # everything: what guards asking for "all of these" need
                return list(spec.choices)
            return self.random.sample(spec.choices, k=min(len(spec.choices), size))
        if kind == "boolean":
            return self.random.random() < 0.5
        if kind in ("integer", "number"):
            return self.random.randint(1, 8)
        if kind in ("date", "datetime"):
            # Today as well: a guard may ask for the day the command takes effect (the day a draft went).
            ahead = self.random.choice([0, self.random.randint(1, 7), self.random.randint(7, 90)])
            return (today + timedelta(days=ahead)).isoformat()
        return "simulated"

    # ------------------------------------------------------------------ summary

    def _summary(self, population: list[Authority]) -> Summary:
        summary = Summary(self.start, self.end, self.seed, dict(Counter(a.nation for a in population)))
        started: Counter[str] = Counter()
        finals: dict[str, Counter[str]] = {}
        deadlines: Counter[str] = Counter()
        for case_id in self.engine.case_ids():
            view = self.engine.get(case_id)
            started[view.workflow] += 1
            finals.setdefault(view.workflow, Counter())[view.state] += 1
            for deadline in view.deadlines.values():
                deadlines[deadline["status"]] += 1
        summary.cases_started = dict(sorted(started.items()))
        summary.final_states = {k: dict(sorted(v.items())) for k, v in sorted(finals.items())}
        summary.register = dict(Counter(entry.status for entry in self.engine.register()))
        summary.deadlines = dict(sorted(deadlines.items()))
        summary.commands, summary.refusals = self.commands, self.refusals
        summary.events = self.engine.recorder.max_notification_id() or 0
        return summary


def simulate_nation(engine: Engine, *, seed: int = 1, start: date = date(2013, 6, 3), years: int = 10) -> Summary:
    return NationalSimulation(engine, seed=seed, start=start, years=years).run(authorities())
