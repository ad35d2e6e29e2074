"""Finding cases: the case index behind `Engine.cases`, `laworkflow cases` and GET /v1/cases.

Four real cases on memory and SQLite stores — Norfolk on site with a deadline
missed, Kent not inspected, Norfolk again on the next version, Cardiff in
Welsh follow-up — are found by each filter, sorted, paged with a cursor, and
named by a unique prefix of their id; every bad filter is refused, writing
nothing, as a typed exception, one CLI error line, or a 4xx JSON envelope.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from fastapi.testclient import TestClient

from laworkflow.engine import Engine
from laworkflow.errors import CalendarError, InvalidData, UnknownCase
from laworkflow.http.app import create_app
from laworkflow.keys import Keys
from laworkflow.projections.case_search import CaseQuery

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
CONCERNS = ["attainment_below_national"]
NORFOLK_ID = UUID("3a000000-0000-4000-8000-000000000003")
KENT_ID = UUID("2b000000-0000-4000-8000-000000000004")  # ids fixed so that ties in a sort (broken by id) are known
CARDIFF_ID = UUID("7c1e0000-0000-4000-8000-000000000001")
NORFOLK_V2_ID = UUID("7c1e1111-0000-4000-8000-000000000002")  # shares "7c1e" with Cardiff's: an ambiguous prefix


@dataclass(frozen=True)
class Cases:
    norfolk: UUID  # ofsted-laassi@1, on site since 10 June 2013, its on-site deadline recorded missed
    kent: UUID  # ofsted-laassi@1, not inspected (ended) on 4 June 2013
    norfolk_v2: UUID  # ofsted-laassi@2, concern raised on 2 June 2014
    cardiff: UUID  # estyn-follow-up@1, in follow-up since 1 March 2023


def populate(engine: Engine) -> Cases:
    norfolk = engine.start("ofsted-laassi", {"authority": "Norfolk", "concerns": CONCERNS}, version=1, actor="t", at="2013-06-03T09:00", case_id=NORFOLK_ID)
    engine.fire(norfolk, "give_notice", {"on_site_start": "2013-06-10", "lead_inspector": "Lead HMI", "inspectors": ["HMI"]}, actor="t", at="2013-06-05T10:00")
    engine.run_due(until="2013-06-20T09:00")  # on site on 10 June; the on-site deadline of 14 June is recorded missed
    kent = engine.start("ofsted-laassi", {"authority": "Kent", "concerns": CONCERNS}, version=1, actor="t", at="2013-06-04T09:00", case_id=KENT_ID)
    engine.fire(kent, "decide_not_to_inspect", {"reason": "no longer a concern"}, actor="t", at="2013-06-04T12:00")
    v2 = engine.start("ofsted-laassi", {"authority": "Norfolk", "concerns": CONCERNS}, version=2, actor="t", at="2014-06-02T09:00", case_id=NORFOLK_V2_ID)
    data = {"authority": "Cardiff", "inspection_end": "2023-02-10", "progress_conferences": 0}
    cardiff = engine.start("estyn-follow-up", data, actor="t", at="2023-03-01T09:00", case_id=CARDIFF_ID)
    return Cases(norfolk, kent, v2, cardiff)


def stored(engine: Engine) -> list[tuple[Any, ...]]:
    return [(n.id, n.originator_id, n.originator_version, n.topic) for n in engine.recorder.select_notifications(1, 10**6)]


@pytest.fixture(params=["memory", "sqlite"])
def found(request: pytest.FixtureRequest, make_engine, tmp_path: Path) -> tuple[Engine, Cases]:
    engine = make_engine("memory:" if request.param == "memory" else f"sqlite:///{tmp_path / 'events.sqlite'}")
    return engine, populate(engine)


def ids(engine: Engine, **filters: Any) -> list[UUID]:
    return [row.case_id for row in engine.cases(CaseQuery(**filters)).cases]


# ---------------------------------------------------------------------- Python


def test_each_case_is_one_row_with_what_the_back_office_asks_of_it(found: tuple[Engine, Cases]) -> None:
    engine, cases = found
    row = next(r for r in engine.cases().cases if r.case_id == cases.norfolk).to_dict()
    assert {k: v for k, v in row.items() if k != "data"} == {
        "id": str(cases.norfolk),
        "workflow": "ofsted-laassi",
        "version": 1,
        "authority": "Norfolk",
        "nation": "england",
        "state": "on_site",
        "status": "inspection",
        "ended": False,
        "started_at": "2013-06-03T09:00:00+01:00",  # UK time, as every view gives moments
        "moved_at": "2013-06-10T00:00:00+01:00",  # the notice period's timer, at midnight
        "missed_deadlines": ["on_site_normal_length"],
        "parent": None,
    }
    assert row["data"]["lead_inspector"] == "Lead HMI"  # the start data and every trigger's data since
    cardiff = next(r for r in engine.cases().cases if r.case_id == cases.cardiff)
    assert (cardiff.nation, cardiff.status, cardiff.missed) == ("wales", "in follow-up", [])


def test_the_default_order_is_the_last_moved_first(found: tuple[Engine, Cases]) -> None:
    engine, c = found
    page = engine.cases()
    assert [r.case_id for r in page.cases] == [c.cardiff, c.norfolk_v2, c.norfolk, c.kent]
    assert (page.total, page.next) == (4, None)


@pytest.mark.parametrize(
    "sort,expected",
    [
        ("started", ["norfolk", "kent", "norfolk_v2", "cardiff"]),
        ("-started", ["cardiff", "norfolk_v2", "kent", "norfolk"]),
        ("moved", ["kent", "norfolk", "norfolk_v2", "cardiff"]),
        ("authority", ["cardiff", "kent", "norfolk", "norfolk_v2"]),  # Norfolk's two tie: by id, 3a… before 7c1e…
        ("-authority", ["norfolk_v2", "norfolk", "kent", "cardiff"]),
        ("state", ["cardiff", "norfolk_v2", "kent", "norfolk"]),  # awaiting_…, concern_raised, not_inspected, on_site
        ("workflow", ["cardiff", "kent", "norfolk", "norfolk_v2"]),  # estyn first; the two ofsted-laassi@1 tie: by id, 2b… before 3a…
        ("status", ["kent", "norfolk_v2", "cardiff", "norfolk"]),  # none (2b…, 7c1e1111…), in follow-up, inspection
        ("id", ["kent", "norfolk", "cardiff", "norfolk_v2"]),
    ],
)
def test_sorted_by_each_key(found: tuple[Engine, Cases], sort: str, expected: list[str]) -> None:
    engine, c = found
    names = {getattr(c, name): name for name in ("norfolk", "kent", "norfolk_v2", "cardiff")}
    assert [names[cid] for cid in ids(engine, sort=sort)] == expected


def test_each_filter_finds_its_cases(found: tuple[Engine, Cases]) -> None:
    engine, c = found
    assert set(ids(engine, workflow="ofsted-laassi")) == {c.norfolk, c.kent, c.norfolk_v2}
    assert ids(engine, workflow="ofsted-laassi", version=2) == [c.norfolk_v2]
    assert set(ids(engine, authority="norfolk")) == {c.norfolk, c.norfolk_v2}  # any case of letters
    assert ids(engine, nation="Wales") == [c.cardiff]
    assert ids(engine, state="not_inspected") == [c.kent]
    assert ids(engine, status="in follow-up") == [c.cardiff]
    assert ids(engine, missed=True) == [c.norfolk]
    assert set(ids(engine, missed=False)) == {c.kent, c.norfolk_v2, c.cardiff}
    assert ids(engine, workflow="ofsted-laassi", authority="Norfolk", state="on_site", missed=True) == [c.norfolk]  # filters combine


def test_where_matches_a_data_field_as_text_json_or_list_item(found: tuple[Engine, Cases]) -> None:
    engine, c = found
    assert ids(engine, where=("lead_inspector=Lead HMI",)) == [c.norfolk]
    assert set(ids(engine, where=("concerns=attainment_below_national",))) == {c.norfolk, c.kent, c.norfolk_v2}  # an item of a list
    assert ids(engine, where=("concerns=attainment_below_national", "authority=Kent")) == [c.kent]  # all must hold
    assert ids(engine, where=("progress_conferences=0",)) == [c.cardiff]  # a number
    assert ids(engine, where=("progress_conferences=1",)) == []
    assert ids(engine, where=("reason=no longer a concern",)) == [c.kent]  # data a trigger recorded


def test_dates_started_and_last_moved_bound_the_list(found: tuple[Engine, Cases]) -> None:
    engine, c = found
    assert set(ids(engine, started_from="2013-06-04", started_to="2014-06-02")) == {c.kent, c.norfolk_v2}  # a `to` date takes in its whole day
    assert ids(engine, started_to="2014-06-02T08:59") == ids(engine, started_to="2013-12-31")
    assert ids(engine, started_from="2023-03-01T09:00") == [c.cardiff]  # a moment is inclusive
    assert ids(engine, moved_from="2013-06-05", moved_to="2013-06-30") == [c.norfolk]  # on site from 10 June
    assert ids(engine, moved_to="2013-06-04") == [c.kent]  # not inspected at noon on 4 June


def test_pages_follow_on_from_the_cursor_without_repeating_or_skipping(found: tuple[Engine, Cases]) -> None:
    engine, c = found
    for sort in ("-moved", "started", "authority", "-workflow"):
        seen: list[UUID] = []
        after = None
        for _ in range(10):
            page = engine.cases(CaseQuery(sort=sort, limit=1, after=after))
            assert page.total == 4
            seen += [row.case_id for row in page.cases]
            after = page.next
            if after is None:
                break
        assert seen == ids(engine, sort=sort), sort
    first = engine.cases(CaseQuery(limit=3))
    assert len(first.cases) == 3 and first.next is not None
    assert [r.case_id for r in engine.cases(CaseQuery(limit=3, after=first.next)).cases] == [c.kent]


def test_a_page_goes_on_from_its_case_whatever_starts_meanwhile(found: tuple[Engine, Cases]) -> None:
    engine, c = found
    first = engine.cases(CaseQuery(sort="started", limit=2))
    assert [r.case_id for r in first.cases] == [c.norfolk, c.kent]
    later = engine.start("ofsted-laassi", {"authority": "Essex", "concerns": CONCERNS}, version=1, actor="t", at="2013-06-03T08:00")  # before both
    rest = engine.cases(CaseQuery(sort="started", limit=2, after=first.next))
    assert [r.case_id for r in rest.cases] == [c.norfolk_v2, c.cardiff]
    assert ids(engine, sort="started")[0] == later  # the index followed the new case


@pytest.mark.parametrize(
    "filters,words",
    [
        ({"where": ("no_such_field=1",)}, "no_such_field"),
        ({"where": ("authority",)}, "FIELD=VALUE"),
        ({"started_from": "2013-13-01"}, "started_from"),
        ({"moved_to": "yesterday"}, "moved_to"),
        ({"sort": "colour"}, "cannot sort by 'colour'"),
        ({"limit": 0}, "limit"),
        ({"workflow": "ofsted-nothing"}, "no workflow 'ofsted-nothing'"),
        ({"after": "not-a-cursor"}, "not a cursor"),
        ({"after": "eyJzIjoxfQ"}, "not a cursor"),  # base64 JSON, but not a cursor's
    ],
)
def test_a_bad_filter_is_refused_and_writes_nothing(found: tuple[Engine, Cases], filters: dict[str, Any], words: str) -> None:
    engine, _ = found
    before = stored(engine)
    with pytest.raises(InvalidData, match=words):
        engine.cases(CaseQuery(**filters))
    assert stored(engine) == before


def test_an_unknown_nation_is_refused(found: tuple[Engine, Cases]) -> None:
    with pytest.raises(CalendarError, match="france"):
        found[0].cases(CaseQuery(nation="france"))


def test_a_cursor_belongs_to_its_search(found: tuple[Engine, Cases]) -> None:
    engine, _ = found
    cursor = engine.cases(CaseQuery(workflow="ofsted-laassi", limit=1)).next
    assert engine.cases(CaseQuery(workflow="ofsted-laassi", limit=2, after=cursor)).total == 3  # another page size is the same search
    for other in (CaseQuery(limit=1, after=cursor), CaseQuery(workflow="ofsted-laassi", sort="started", limit=1, after=cursor)):
        with pytest.raises(InvalidData, match="another search"):
            engine.cases(other)


def test_a_unique_prefix_names_a_case_for_every_query_and_command(found: tuple[Engine, Cases]) -> None:
    engine, c = found
    prefix = str(c.kent)[:8]
    assert engine.get(prefix).id == c.kent
    assert engine.history(prefix.upper())[0].type == "Started"
    assert engine.case_id("7c1e0000") == c.cardiff
    assert engine.case_id("7c1e00000000") == c.cardiff  # without dashes, past the first group
    assert engine.fire("7c1e1111", "decide_not_to_inspect", {"reason": "resolved"}, actor="t", at="2014-06-03").state == "not_inspected"


def test_an_ambiguous_or_unknown_prefix_is_refused_naming_the_matches(found: tuple[Engine, Cases]) -> None:
    engine, c = found
    before = stored(engine)
    with pytest.raises(UnknownCase, match=f"ambiguous: it matches {c.cardiff}, {c.norfolk_v2}"):
        engine.fire("7c1e", "decide_not_to_inspect", {"reason": "x"}, actor="t")
    with pytest.raises(UnknownCase, match="no case id starts with"):
        engine.get("0000ffff")
    with pytest.raises(UnknownCase, match="at least 4"):
        engine.get("7c1")
    assert stored(engine) == before


def test_the_index_is_rebuilt_from_the_log_by_another_engine(make_engine, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'events.sqlite'}"
    first = make_engine(store)
    populate(first)
    expected = [row.to_dict() for row in first.cases().cases]
    again = make_engine(store)
    assert [row.to_dict() for row in again.cases().cases] == expected


# ------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Cases]]:
    from laworkflow import Catalog
    from laworkflow.calendar.clock import SimulatedClock
    from laworkflow.store import store_env

    path = tmp_path_factory.mktemp("cases") / "events.sqlite"
    engine = Engine(Catalog.from_directory(WORKFLOWS), clock=SimulatedClock("2013-06-03T09:00:00+01:00"), env=store_env(f"sqlite:///{path}"))
    try:
        cases = populate(engine)
    finally:
        engine.close()
    yield path, cases


def cli(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LAWORKFLOW_LOG", "LAWORKFLOW_STORE", "LAWORKFLOW_WORKFLOWS")}
    command = [sys.executable, "-m", "laworkflow.cli", "--store", str(path), "--workflows", str(WORKFLOWS), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=path.parent, timeout=120)


def test_cli_lists_filters_and_pages(db: tuple[Path, Cases]) -> None:
    path, c = db
    run = cli(path, "cases", "--json")
    assert run.returncode == 0, run.stderr
    assert [row["id"] for row in json.loads(run.stdout)["cases"]] == [str(c.cardiff), str(c.norfolk_v2), str(c.norfolk), str(c.kent)]
    args = ["cases", "--workflow", "ofsted-laassi", "--where", "concerns=attainment_below_national", "--moved-to", "2013-12-31", "--sort", "started"]
    first = json.loads(cli(path, *args, "--limit", "1", "--json").stdout)
    assert ([row["id"] for row in first["cases"]], first["total"]) == ([str(c.norfolk)], 2)
    second = json.loads(cli(path, *args, "--limit", "1", "--after", first["next"], "--json").stdout)
    assert ([row["id"] for row in second["cases"]], second["next"]) == ([str(c.kent)], None)
    missed = json.loads(cli(path, "cases", "--missed", "--json").stdout)["cases"]
    assert [(row["id"], row["missed_deadlines"]) for row in missed] == [(str(c.norfolk), ["on_site_normal_length"])]
    assert [row["id"] for row in json.loads(cli(path, "cases", "--nation", "wales", "--status", "in follow-up", "--json").stdout)["cases"]] == [str(c.cardiff)]


def test_cli_text_names_each_case_by_prefix_and_gives_the_next_cursor(db: tuple[Path, Cases]) -> None:
    path, c = db
    run = cli(path, "cases", "--authority", "Norfolk", "--limit", "1")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split()[:4] == [str(c.norfolk_v2)[:8], "ofsted-laassi@2", "concern_raised", "Norfolk"]
    assert lines[-1].startswith("1 of 2 shown; next page: --after ")
    cursor = lines[-1].split("--after ")[1]
    rest = cli(path, "cases", "--authority", "Norfolk", "--limit", "1", "--after", cursor).stdout.splitlines()
    assert rest[0].startswith(str(c.norfolk)[:8]) and "missed: on_site_normal_length" in rest[0] and rest[-1] == "1 of 2 shown"
    assert cli(path, "cases", "--state", "closed").stdout.splitlines() == ["no case found", "0 of 0 shown"]


@pytest.mark.parametrize(
    "args,words",
    [
        (["--where", "colour=blue"], "no workflow has a data field 'colour'"),
        (["--started-from", "2013-02-30"], "started_from"),
        (["--after", "garbage"], "not a cursor"),
        (["--sort", "size"], "cannot sort by 'size'"),
        (["--nation", "scotland"], "scotland"),
    ],
)
def test_cli_refuses_a_bad_filter_in_one_line(db: tuple[Path, Cases], args: list[str], words: str) -> None:
    run = cli(db[0], "cases", *args)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("error: ") and words in run.stderr, run.stderr


def test_cli_takes_a_prefix_and_refuses_an_ambiguous_one_naming_the_matches(db: tuple[Path, Cases]) -> None:
    path, c = db
    assert json.loads(cli(path, "show", "7c1e0000", "--json").stdout)["id"] == str(c.cardiff)
    run = cli(path, "show", "7c1e")
    assert run.returncode == 1 and str(c.cardiff) in run.stderr and str(c.norfolk_v2) in run.stderr and "ambiguous" in run.stderr


# ------------------------------------------------------------------------ HTTP


@pytest.fixture
def client(found: tuple[Engine, Cases]) -> Iterator[tuple[TestClient, dict[str, str], Cases]]:
    engine, cases = found
    key = Keys(engine).issue("auditor-1", "auditor", by="setup")
    with TestClient(create_app(engine)) as http:
        yield http, {"Authorization": f"Bearer {key}"}, cases


def test_http_lists_filters_and_pages(client: tuple[TestClient, dict[str, str], Cases]) -> None:
    http, auth, c = client
    body = http.get("/v1/cases", headers=auth).json()
    assert [row["id"] for row in body["cases"]] == [str(c.cardiff), str(c.norfolk_v2), str(c.norfolk), str(c.kent)] and body["next"] is None
    params: dict[str, Any] = {"where": ["concerns=attainment_below_national", "authority=Norfolk"], "sort": "-started", "limit": 1}
    first = http.get("/v1/cases", headers=auth, params=params).json()
    assert ([row["id"] for row in first["cases"]], first["total"]) == ([str(c.norfolk_v2)], 2)
    second = http.get("/v1/cases", headers=auth, params={**params, "after": first["next"]}).json()
    assert ([row["id"] for row in second["cases"]], second["next"]) == ([str(c.norfolk)], None)
    found = http.get("/v1/cases", headers=auth, params={"missed": "true", "started_from": "2013-06-01", "moved_to": "2013-06-10"}).json()
    assert [row["id"] for row in found["cases"]] == [str(c.norfolk)]


@pytest.mark.parametrize(
    "params,status,code",
    [
        ({"where": "colour=blue"}, 422, "invalid_data"),
        ({"moved_from": "2013-99-01"}, 422, "invalid_data"),
        ({"after": "garbage"}, 422, "invalid_data"),
        ({"sort": "size"}, 422, "invalid_data"),
        ({"nation": "scotland"}, 422, "bad_calendar"),
        ({"limit": 0}, 422, "invalid_request"),
    ],
)
def test_http_refuses_a_bad_filter_with_a_4xx_envelope(
    client: tuple[TestClient, dict[str, str], Cases], params: dict[str, Any], status: int, code: str
) -> None:
    http, auth, _ = client
    response = http.get("/v1/cases", headers=auth, params=params)
    assert response.status_code == status and response.json()["error"]["code"] == code, response.text


def test_http_needs_a_key_to_list(client: tuple[TestClient, dict[str, str], Cases]) -> None:
    assert client[0].get("/v1/cases").status_code == 401


def test_http_takes_a_prefix_wherever_a_case_id_goes(client: tuple[TestClient, dict[str, str], Cases]) -> None:
    http, auth, c = client
    prefix = str(c.kent)[:8]
    assert http.get(f"/v1/cases/{prefix}", headers=auth).json()["id"] == str(c.kent)
    assert http.get(f"/v1/cases/{prefix}/history", headers=auth).json()["case_id"] == str(c.kent)
    assert http.get(f"/v1/cases/{prefix}/allowed", headers=auth).json()["case_id"] == str(c.kent)
    assert [case["case_id"] for case in http.get("/v1/verify", headers=auth, params={"case": prefix}).json()["cases"]] == [str(c.kent)]
    ambiguous = http.get("/v1/cases/7c1e", headers=auth)
    assert ambiguous.status_code == 404 and ambiguous.json()["error"]["code"] == "unknown_case"
    assert str(c.cardiff) in ambiguous.json()["error"]["message"] and str(c.norfolk_v2) in ambiguous.json()["error"]["message"]
    assert http.get("/v1/cases/zzzz-not-hex", headers=auth).json()["error"]["code"] == "invalid_request"  # not even a prefix: 422
    assert http.get("/v1/cases/7c1e/history", headers=auth).status_code == 404
