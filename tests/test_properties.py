"""Property: random trigger sequences never reach a state the definition forbids,
refused commands write nothing, and a case rebuilt from its events equals the live one."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from laworkflow import Catalog, LaworkflowError
from laworkflow.audit.verify import verify
from laworkflow.calendar.clock import SimulatedClock, aware
from laworkflow.definitions.model import DataField
from laworkflow.engine import Engine
from laworkflow.store import store_env

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"
CATALOG = Catalog.from_directory(WORKFLOWS)
WORDS = st.text(alphabet="abcdefghij", min_size=1, max_size=6)


def value_for(spec: DataField, today: date) -> st.SearchStrategy:
    """Mostly valid values for a field; dates near the case's own today so guards sometimes pass."""
    if spec.type == "enum":
        return st.sampled_from(spec.choices or [""])
    if spec.type == "list":
        items = st.sampled_from(spec.choices) if spec.choices else WORDS
        return st.lists(items, min_size=spec.min_items or 0, max_size=5, unique=True)
    if spec.type == "date":
        return st.integers(-2, 12).map(lambda n: (today + timedelta(days=n)).isoformat())
    return {"string": WORDS, "integer": st.integers(0, 100), "number": st.floats(0, 100), "boolean": st.booleans()}.get(spec.type, WORDS)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_trigger_sequences_stay_inside_the_definition(data):
    workflow = CATALOG.get("ofsted-laassi", 1)
    definition = workflow.definition
    edges = {(s, t.trigger, t.target(s)) for t in definition.transitions for s in t.source}
    triggers = sorted({t.trigger for t in definition.transitions})
    engine = Engine(CATALOG, clock=SimulatedClock("2013-06-03T09:00:00+01:00"), env=store_env("memory:"))
    start = {"authority": "X", "concerns": data.draw(value_for(definition.data["concerns"], date(2013, 6, 3)))}
    case = engine.start(definition.id, start, actor="test")
    for _ in range(data.draw(st.integers(1, 40))):
        engine.clock.advance_to(engine.clock.now() + timedelta(days=data.draw(st.integers(0, 6))))
        engine.run_due(until=engine.clock.now())
        before = engine.get(case)
        allowed = workflow.triggers_from(before.state)
        # Mostly triggers the state allows (to get deep into the process), sometimes any trigger at all.
        pool = allowed if allowed and data.draw(st.integers(0, 4)) else triggers
        trigger = data.draw(st.sampled_from(pool))
        specs: dict[str, DataField] = {}
        for transition in definition.transitions:
            if transition.trigger == trigger:
                specs.update(transition.data)
        today = engine.clock.now().date()
        payload = {name: data.draw(value_for(spec, today)) for name, spec in specs.items()}
        events_before = len(engine.history(case))
        try:
            after = engine.fire(case, trigger, payload, actor="test")
        except LaworkflowError:
            assert len(engine.history(case)) == events_before, "a refused command wrote an event"
            continue
        assert after.state in definition.states
        assert (before.state, trigger, after.state) in edges
        assert all(t["state"] == after.state for t in after.timers.values())
    event(f"final state {engine.get(case).state}")
    live = engine.repository.get(case)
    rebuilt = None
    for stored_event in engine.events.get(case):
        rebuilt = stored_event.mutate(rebuilt)
    assert vars(rebuilt) == vars(live)
    assert verify(engine, case).ok
    assert aware(engine.get(case).last_effective_at) <= engine.clock.now()
    engine.close()
