"""The copy a command gets of a cached case is as independent as copy.deepcopy's, and a refused command leaves the cache as it was."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from laworkflow import Catalog, Engine, SimulatedClock, store_env
from laworkflow.cases.case import Case
from laworkflow.cases.copying import copy_value
from laworkflow.errors import LaworkflowError

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"


def test_json_shaped_values_are_copied_all_the_way_down() -> None:
    moment = datetime(2013, 6, 10, 9, 0, tzinfo=UTC)
    case_id = UUID("12345678-1234-5678-1234-567812345678")
    original = {"a": [1, {"b": ["x"]}], "at": moment, "id": case_id, "t": (1, [2])}
    clone = copy_value(original, {})
    assert clone == {"a": [1, {"b": ["x"]}], "at": moment, "id": case_id, "t": (1, [2])}
    clone["a"][1]["b"].append("y")
    clone["a"].append(3)
    clone["t"][1].append(9)  # a tuple goes to copy.deepcopy: its list is a copy too
    assert original == {"a": [1, {"b": ["x"]}], "at": moment, "id": case_id, "t": (1, [2])}
    assert clone["at"] is moment  # immutable values are shared, not copied


@pytest.fixture(params=["memory", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    env = {"PERSISTENCE_MODULE": "eventsourcing.popo"} if request.param == "memory" else store_env(f"sqlite:///{tmp_path / 'copy.sqlite'}")
    built = Engine(Catalog.from_directory(WORKFLOWS), clock=SimulatedClock("2013-06-03"), env=env)
    yield built
    built.close()


def test_a_deep_copy_of_a_case_shares_no_mutable_state(engine: Engine) -> None:
    cid = engine.start("ofsted-laassi@1", {"authority": "Anyshire", "concerns": ["other_concern"]}, actor="tester")
    case: Case = engine.repository.get(cid)
    clone = copy.deepcopy(case)
    assert type(clone) is Case and vars(clone) == vars(case)
    clone.data["concerns"].append("changed")
    clone.parameters["notice_period"] = "changed"
    assert case.data["concerns"] == ["other_concern"]
    assert case.parameters["notice_period"] == "5 working days"  # ofsted-laassi's default notice period
    assert clone.id == case.id and clone.version == case.version


def test_a_refused_command_leaves_the_cached_case_as_it_was(engine: Engine) -> None:
    cid = engine.start("ofsted-laassi@1", {"authority": "Anyshire", "concerns": ["other_concern"]}, actor="tester")
    before = engine.get(cid).to_dict()
    with pytest.raises(LaworkflowError):  # give_notice needs lead_inspector and inspectors: refused before anything is recorded
        engine.fire(cid, "give_notice", {"on_site_start": "2013-06-10"}, actor="tester")
    assert engine.get(cid).to_dict() == before
    cached: Case = engine.repository.cache.get(cid)  # type: ignore[union-attr]
    assert cached.version == 1 and cached.state == before["state"]
    assert cached.pending_events == []


def test_the_cache_keeps_a_copy_of_what_a_command_saved(engine: Engine) -> None:
    cid = engine.start("ofsted-laassi@1", {"authority": "Anyshire", "concerns": ["other_concern"]}, actor="tester")
    view = engine.fire(cid, "give_notice", {"on_site_start": "2013-06-10", "lead_inspector": "L", "inspectors": ["I"]}, actor="tester")
    cached: Case = engine.repository.cache.get(cid)  # type: ignore[union-attr]
    assert cached.version == view.events and cached.state == "notice_given" and cached.pending_events == []
    view.data["inspectors"].append("not saved")  # the view a command answers with shares nothing with the cache
    assert engine.get(cid).data["inspectors"] == ["I"]
    assert [e.originator_version for e in engine.events.get(cid)][-1] == view.events
