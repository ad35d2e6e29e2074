"""The HTTP API in process (FastAPI's TestClient) on a simulated clock, memory and SQLite stores.

Every endpoint's happy path, keys and roles, the actor recorded from the key,
and every kind of refusal: its status, its JSON code, and nothing written.
"""

from __future__ import annotations

import threading
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from threads import held_elsewhere

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from fastapi.testclient import TestClient

import typer
from typer.testing import CliRunner

from laworkflow import cli as cli_module
from laworkflow.audit.verify import verify
from laworkflow.cli.keys import keys_app
from laworkflow.errors import ConcurrentChange, UnknownCase
from laworkflow.http.app import create_app
from laworkflow.http.auth import case_id
from laworkflow.http.errors import STATUS
from laworkflow.http.schemas import CaseOut
from laworkflow.keys import (
    KEYRING_ID,
    AlreadyRevoked,
    DuplicateKey,
    InvalidKeyName,
    Keys,
    Principal,
    Unauthenticated,
    UnknownKey,
    UnknownRole,
    digest,
)

OFSTED = "ofsted-laassi"
START = {"authority": "Norfolk", "concerns": ["attainment_below_national"]}
NOTICE = {"on_site_start": "2013-06-10", "lead_inspector": "Lead HMI", "inspectors": ["HMI"]}
EVIDENCE = {"notebook": "evidence", "entry": "met the head of school improvement"}


def stored(engine) -> list[tuple]:
    """Every notification in the store: what 'unchanged' is measured against."""
    return [(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state)) for n in engine.recorder.select_notifications(1, 10**6)]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class Api:
    """An app over one engine, with one key per role (named after the role's usual holder)."""

    def __init__(self, engine, client: TestClient):
        self.engine = engine
        self.client = client
        keys = Keys(engine)
        self.admin = keys.issue("root", "admin", by="setup")
        self.inspector = keys.issue("backoffice", "inspector", by="setup")
        self.auditor = keys.issue("auditor-1", "auditor", by="setup")

    def get(self, path: str, key: str | None = None, **kwargs: Any):
        return self.client.get(path, headers=bearer(key or self.auditor), **kwargs)

    def post(self, path: str, body: Any, key: str | None = None, **kwargs: Any):
        return self.client.post(path, json=body, headers=bearer(key or self.inspector), **kwargs)

    def start(self, data: dict[str, Any] | None = None, **extra: Any) -> str:
        response = self.post("/v1/cases", {"workflow": OFSTED, "version": 1, "data": data or START, "at": "2013-06-03T09:00", **extra})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def fire(self, case: str, trigger: str, data: dict[str, Any] | None = None, **extra: Any):
        return self.post(f"/v1/cases/{case}/fire", {"trigger": trigger, "data": data or {}, **extra})

    def on_site(self) -> str:
        """A case given notice over HTTP, moved on site by its timer (the scheduler's job, here in Python)."""
        case = self.start()
        assert self.fire(case, "give_notice", NOTICE, at="2013-06-05T10:00").status_code == 200
        self.engine.run_due(until="2013-06-10T09:00")
        assert self.engine.get(case).state == "on_site"
        return case


@pytest.fixture(params=["memory", "sqlite"])
def api(request: pytest.FixtureRequest, make_engine, tmp_path: Path) -> Iterator[Api]:
    store = "memory:" if request.param == "memory" else f"sqlite:///{tmp_path / 'events.sqlite'}"
    engine = make_engine(store)
    with TestClient(create_app(engine)) as client:
        yield Api(engine, client)


def assert_refused(api: Api, response, status: int, code: str, before: list[tuple]) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert stored(api.engine) == before, "a refused request wrote something"


# ------------------------------------------------------------------ happy paths


class TestDefinitions:
    def test_lists_every_definition_the_catalog_knows(self, api):
        """GET /v1/definitions: id, version, title, hash and sizes of each, as the CLI's `definitions list`."""
        response = api.get("/v1/definitions")
        assert response.status_code == 200
        rows = response.json()["definitions"]
        assert [(r["id"], r["version"]) for r in rows] == [(w.definition.id, w.definition.version) for w in api.engine.catalog]
        first = next(r for r in rows if (r["id"], r["version"]) == (OFSTED, 1))
        assert first["content_hash"] == api.engine.catalog.get(OFSTED, 1).content_hash

    def test_shows_one_definition_in_full_with_its_hash(self, api):
        """GET /v1/definitions/{id}?version=: the definition as in its file (aliases included) and its content hash."""
        response = api.get(f"/v1/definitions/{OFSTED}", params={"version": 1})
        assert response.status_code == 200
        compiled = api.engine.catalog.get(OFSTED, 1)
        assert response.json() == {"content_hash": compiled.content_hash, "definition": compiled.definition.model_dump(mode="json", by_alias=True)}


class TestCases:
    def test_start_returns_201_the_case_and_where_it_lives(self, api):
        """POST /v1/cases: 201, a Location header, and the case exactly as `show --json` prints it."""
        response = api.post("/v1/cases", {"workflow": OFSTED, "version": 1, "data": START, "at": "2013-06-03T09:00"})
        assert response.status_code == 201
        body = response.json()
        assert response.headers["location"] == f"/v1/cases/{body['id']}"
        assert body == api.engine.get(body["id"]).to_dict()
        assert body["state"] == "concern_raised"

    def test_start_takes_parameter_overrides_and_records_them(self, api):
        case = api.start(parameters={"notice_period": "5 days"})
        assert api.engine.get(case).parameters["notice_period"] == "5 days"

    def test_fire_returns_the_case_after_the_trigger(self, api):
        """POST /v1/cases/{id}/fire: the case after it, with the timer the notice armed."""
        case = api.start()
        response = api.fire(case, "give_notice", NOTICE, at="2013-06-05T10:00")
        assert response.status_code == 200
        body = response.json()
        assert body == api.engine.get(case).to_dict()
        assert body["state"] == "notice_given"
        assert body["timers"]["notice_ends"]["due_at"] == "2013-06-10T00:00:00+01:00"

    def test_a_case_is_answered_exactly_as_its_documented_model_makes_it(self, api):
        """fire and show answer the view's `to_dict` without validating it again: it must be what `CaseOut` makes of it."""
        case = api.on_site()
        answers = [
            api.fire(case, "record_evidence", EVIDENCE),
            api.get(f"/v1/cases/{case}"),
            api.get(f"/v1/cases/{case}", params={"as_of": "2013-06-09"}),
        ]
        for answer in answers:
            assert answer.status_code == 200
            body = answer.json()
            assert CaseOut.model_validate(body).model_dump(mode="json", exclude_unset=True) == body

    def test_every_write_records_the_keys_name_as_actor(self, api):
        """The actor of each event is the key's name; nothing in a request says who acts."""
        case = api.on_site()
        api.fire(case, "record_evidence", EVIDENCE)
        admin_case = api.post("/v1/cases", {"workflow": OFSTED, "version": 1, "data": START}, key=api.admin).json()["id"]
        actors = {(h.type, h.actor) for h in api.engine.history(case)}
        assert ("Started", "backoffice") in actors
        assert ("Transitioned", "backoffice") in actors  # give_notice, record_evidence
        assert ("TimerFired", "timer:notice_ends") in actors  # the scheduler, not a key
        assert api.engine.history(admin_case)[0].actor == "root"

    def test_show_now_and_as_it_stood_on_a_past_date(self, api):
        """GET /v1/cases/{id} and ?as_of=: on 9 June the case was still in its notice period."""
        case = api.on_site()
        assert api.get(f"/v1/cases/{case}").json() == api.engine.get(case).to_dict()
        then = api.get(f"/v1/cases/{case}", params={"as_of": "2013-06-09"})
        assert then.status_code == 200
        assert then.json()["state"] == "notice_given"
        assert then.json()["as_of"] == "2013-06-09T00:00:00+01:00"
        assert then.json() == api.engine.get(case, as_of="2013-06-09").to_dict()

    def test_history_lists_every_event_with_its_chain(self, api):
        """GET /v1/cases/{id}/history: the shape of `history --json`."""
        case = api.on_site()
        body = api.get(f"/v1/cases/{case}/history").json()
        assert body == {"case_id": case, "events": [h.to_dict() for h in api.engine.history(case)]}
        assert [e["version"] for e in body["events"]] == list(range(1, len(body["events"]) + 1))

    def test_allowed_lists_the_triggers_from_the_current_state(self, api):
        """GET /v1/cases/{id}/allowed: triggers with the data they need."""
        case = api.on_site()
        body = api.get(f"/v1/cases/{case}/allowed").json()
        assert body["case_id"] == case and body["state"] == "on_site"
        assert body["triggers"] == [t.to_dict() for t in api.engine.allowed_triggers(case)]
        assert "record_evidence" in {t["trigger"] for t in body["triggers"]}


class TestQueries:
    def test_due_lists_the_armed_timer(self, api):
        """GET /v1/due?before=: the notice timer of a case given notice."""
        case = api.start()
        api.fire(case, "give_notice", NOTICE, at="2013-06-05T10:00")
        body = api.get("/v1/due", params={"before": "2013-06-11"}).json()
        assert body["before"] == "2013-06-11T00:00:00+01:00"
        assert [(i["case_id"], i["kind"], i["name"]) for i in body["items"]] == [(case, "timer", "notice_ends")]
        assert api.get("/v1/due", params={"before": "2013-06-09"}).json()["items"] == []
        assert api.get("/v1/due").json() == {"before": None, "items": [i.to_dict() for i in api.engine.due()]}

    def test_upcoming_counts_weeks_from_a_date(self, api):
        """GET /v1/upcoming?weeks=&from=: the same items as Engine.upcoming."""
        case = api.start()
        api.fire(case, "give_notice", NOTICE, at="2013-06-05T10:00")
        body = api.get("/v1/upcoming", params={"weeks": 1, "from": "2013-06-05"}).json()
        assert body == {"weeks": 1, "items": [i.to_dict() for i in api.engine.upcoming(1, now="2013-06-05")]}
        assert [i["name"] for i in body["items"]] == ["notice_ends"]

    def test_register_lists_authorities_by_status(self, api):
        """GET /v1/register?nation=&status=: Norfolk under inspection."""
        api.on_site()
        body = api.get("/v1/register", params={"nation": "england"}).json()
        assert body["nation"] == "england"
        assert body["entries"] == [e.to_dict() for e in api.engine.register(nation="england")]
        assert {e["authority"] for e in body["entries"]} == {"Norfolk"}
        assert api.get("/v1/register", params={"nation": "wales"}).json()["entries"] == []

    def test_verify_checks_every_case_or_one(self, api):
        """GET /v1/verify[?case=]: digests and chain recomputed; the key ring is not a case."""
        first, second = api.on_site(), api.start()
        body = api.get("/v1/verify").json()
        assert body["ok"] is True
        assert {c["case_id"] for c in body["cases"]} == {first, second}
        one = api.get("/v1/verify", params={"case": first}).json()
        assert one == verify(api.engine, first).to_dict()


class TestProbes:
    def test_health_and_readiness_need_no_key(self, api):
        assert api.client.get("/healthz").json() == {"status": "ok"}
        assert api.client.get("/readyz").json() == {"status": "ready"}

    def test_not_ready_when_the_store_cannot_be_read(self, api, monkeypatch):
        """/readyz is 503 with a JSON error when the notification log cannot be read; /healthz stays up."""

        def unreachable(*args: Any, **kwargs: Any) -> Any:
            raise OSError("connection refused")

        monkeypatch.setattr(api.engine.recorder, "max_notification_id", unreachable)
        response = api.client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "store_unavailable"
        assert api.client.get("/healthz").status_code == 200


class TestOpenApi:
    def test_the_schema_is_valid_openapi_and_every_operation_is_documented(self, api):
        """/openapi.json validates against the OpenAPI 3.1 schema; errors are the JSON envelope; keys are required."""
        import schemathesis

        response = api.client.get("/openapi.json")
        assert response.status_code == 200
        document = response.json()
        schemathesis.openapi.from_dict(document).validate()
        assert set(document["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyHeader", "CalendarToken"}
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                responses = operation["responses"]
                success = [code for code in responses if code.startswith("2")]
                assert success, f"{method} {path} documents no success"
                if path == "/v1/calendar.ics":  # iCalendar, with its token in the URL (a calendar sends no header)
                    assert set(responses[success[0]]["content"]) == {"text/calendar"} and operation["security"] == [{"CalendarToken": []}]
                else:
                    assert "$ref" in str(responses[success[0]]["content"]["application/json"]["schema"]) or path in ("/healthz", "/readyz")
                if path.startswith("/v1/"):
                    assert operation.get("security"), f"{method} {path} is not protected"
                    for code in ("401", "403"):
                        assert responses[code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
                    if "422" in responses:
                        assert responses["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}

    def test_every_status_the_api_maps_is_a_client_error(self):
        assert all(400 <= status < 500 for status in STATUS.values())


# ------------------------------------------------------------------------- auth

PROTECTED = [
    ("GET", "/v1/definitions", None),
    ("GET", f"/v1/definitions/{OFSTED}", None),
    ("POST", "/v1/cases", {"workflow": OFSTED, "data": START}),
    ("GET", "/v1/cases/{case}", None),
    ("GET", "/v1/cases/{case}/history", None),
    ("GET", "/v1/cases/{case}/allowed", None),
    ("POST", "/v1/cases/{case}/fire", {"trigger": "decide_not_to_inspect", "data": {"reason": "x"}}),
    ("GET", "/v1/due", None),
    ("GET", "/v1/upcoming", None),
    ("GET", "/v1/register", None),
    ("GET", "/v1/verify", None),
    ("GET", "/v1/keys", None),
    ("POST", "/v1/keys", {"name": "newcomer", "role": "auditor"}),
    ("DELETE", "/v1/keys/backoffice", None),
]
WRITES = [(m, p, b) for m, p, b in PROTECTED if m != "GET" and "/keys" not in p]
KEY_ROUTES = [(m, p, b) for m, p, b in PROTECTED if "/keys" in p]


def _call(api: Api, method: str, path: str, body: Any, headers: dict[str, str]):
    return api.client.request(method, path, json=body, headers=headers)


class TestAuthentication:
    @pytest.mark.parametrize("method,path,body", PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
    def test_every_v1_endpoint_needs_a_key(self, api, method, path, body):
        """No key: 401 `unauthenticated` with a WWW-Authenticate challenge, nothing written."""
        path = path.format(case=api.start())
        before = stored(api.engine)
        response = _call(api, method, path, body, {})
        assert_refused(api, response, 401, "unauthenticated", before)
        assert response.headers["www-authenticate"] == "Bearer"

    @pytest.mark.parametrize(
        "headers",
        [
            {"Authorization": "Bearer not-a-key"},
            {"Authorization": "Bearer lw_backoffice_" + "A" * 43},  # right name, wrong secret
            {"Authorization": "Bearer lw_nobody_" + "A" * 43},
            {"Authorization": "Basic dXNlcjpwYXNz"},
            {"X-API-Key": "lw_root_short"},
        ],
        ids=["malformed", "wrong-secret", "unknown-name", "basic-auth", "truncated"],
    )
    def test_a_bad_key_is_401(self, api, headers):
        before = stored(api.engine)
        assert_refused(api, api.client.get("/v1/due", headers=headers), 401, "unauthenticated", before)

    def test_on_a_store_nodes_share_keys_are_checked_in_a_worker_thread_and_revocation_counts_at_once(self, postgres_database, make_engine):
        """PostgreSQL: the key check is a network round trip, made off the event loop; a key works, then revoked, is refused."""
        engine = make_engine(postgres_database)
        assert engine.due_store.shared
        key = Keys(engine).issue("backoffice", "inspector", by="test")
        with TestClient(create_app(engine)) as client:
            assert client.get("/v1/due", headers=bearer(key)).status_code == 200
            Keys(make_engine(postgres_database)).revoke("backoffice", by="another node")
            assert client.get("/v1/due", headers=bearer(key)).status_code == 401

    def test_the_key_may_come_in_x_api_key(self, api):
        response = api.client.get("/v1/due", headers={"X-API-Key": api.auditor})
        assert response.status_code == 200

    def test_a_revoked_key_is_refused_at_once(self, api):
        Keys(api.engine).revoke("backoffice", by="test")
        before = stored(api.engine)
        assert_refused(api, api.post("/v1/cases", {"workflow": OFSTED, "data": START}), 401, "unauthenticated", before)


class TestRoles:
    @pytest.mark.parametrize("method,path,body", WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
    def test_an_auditor_reads_but_cannot_write(self, api, method, path, body):
        """Auditors: 403 `forbidden` on every command, nothing written."""
        path = path.format(case=api.start())
        before = stored(api.engine)
        assert_refused(api, _call(api, method, path, body, bearer(api.auditor)), 403, "forbidden", before)

    @pytest.mark.parametrize("method,path,body", KEY_ROUTES, ids=[f"{m} {p}" for m, p, _ in KEY_ROUTES])
    @pytest.mark.parametrize("role", ["inspector", "auditor"])
    def test_only_an_admin_manages_keys(self, api, method, path, body, role):
        before = stored(api.engine)
        assert_refused(api, _call(api, method, path, body, bearer(getattr(api, role))), 403, "forbidden", before)

    @pytest.mark.parametrize("role", ["admin", "inspector", "auditor"])
    def test_every_role_reads(self, api, role):
        case = api.start()
        key = getattr(api, role)
        for path in ("/v1/definitions", f"/v1/cases/{case}", f"/v1/cases/{case}/history", "/v1/due", "/v1/verify"):
            assert api.get(path, key=key).status_code == 200, path

    def test_an_inspector_starts_and_fires(self, api):
        case = api.start()
        assert api.fire(case, "decide_not_to_inspect", {"reason": "no longer a concern"}, at="2013-06-04").status_code == 200


class TestKeyEndpoints:
    def test_an_admin_issues_lists_and_revokes_keys(self, api):
        """POST /v1/keys shows the key once; it works at once; DELETE revokes it; the list never shows keys."""
        issued = api.client.post("/v1/keys", json={"name": "la-portal", "role": "inspector"}, headers=bearer(api.admin))
        assert issued.status_code == 201
        key = issued.json()["key"]
        assert issued.json() == {"name": "la-portal", "role": "inspector", "key": key}
        assert key.startswith("lw_la-portal_")
        case = api.post("/v1/cases", {"workflow": OFSTED, "version": 1, "data": START}, key=key).json()["id"]
        assert api.engine.history(case)[0].actor == "la-portal"
        listed = api.client.get("/v1/keys", headers=bearer(api.admin)).json()["keys"]
        assert [k["name"] for k in listed] == ["auditor-1", "backoffice", "la-portal", "root"]
        assert key not in str(listed) and digest(key) not in str(listed)
        revoked = api.client.delete("/v1/keys/la-portal", headers=bearer(api.admin))
        assert revoked.status_code == 200
        assert revoked.json()["revoked"] is True
        assert api.get("/v1/due", key=key).status_code == 401

    def test_key_management_refusals(self, api):
        """Duplicate name 409, unknown key 404, revoked twice 409, bad role or name 422; nothing written."""
        admin = bearer(api.admin)
        cases = [
            ("POST", "/v1/keys", {"name": "backoffice", "role": "auditor"}, 409, "duplicate_key"),
            ("POST", "/v1/keys", {"name": "someone", "role": "superuser"}, 422, "invalid_request"),
            ("POST", "/v1/keys", {"name": "has_underscore", "role": "auditor"}, 422, "invalid_request"),
            ("POST", "/v1/keys", {"name": "system", "role": "auditor"}, 422, "invalid_key_name"),
            ("DELETE", "/v1/keys/nobody", None, 404, "unknown_key"),
        ]
        for method, path, body, status, code in cases:
            before = stored(api.engine)
            assert_refused(api, _call(api, method, path, body, admin), status, code, before)
        api.client.delete("/v1/keys/auditor-1", headers=admin)
        before = stored(api.engine)
        assert_refused(api, api.client.delete("/v1/keys/auditor-1", headers=admin), 409, "already_revoked", before)


# ---------------------------------------------------------------------- refusals


class TestRefusals:
    """Each kind of bad request: its status and code, and the store byte for byte as it was."""

    def test_unknown_case(self, api):
        before = stored(api.engine)
        missing = uuid.uuid4()
        for response in (
            api.get(f"/v1/cases/{missing}"),
            api.get(f"/v1/cases/{missing}/history"),
            api.get(f"/v1/cases/{missing}/allowed"),
            api.get("/v1/verify", params={"case": str(missing)}),
            api.fire(str(missing), "give_notice", NOTICE),
        ):
            assert_refused(api, response, 404, "unknown_case", before)

    def test_the_key_ring_is_not_a_case(self, api):
        """The key ring shares the store; asking for it as a case is 404, never its events or a crash."""
        before = stored(api.engine)
        for response in (
            api.get(f"/v1/cases/{KEYRING_ID}"),
            api.get(f"/v1/cases/{KEYRING_ID}", params={"as_of": "2030-01-01"}),
            api.get(f"/v1/cases/{KEYRING_ID}/history"),
            api.get(f"/v1/cases/{KEYRING_ID}/allowed"),
            api.get("/v1/verify", params={"case": str(KEYRING_ID)}),
            api.fire(str(KEYRING_ID), "give_notice", NOTICE),
        ):
            assert_refused(api, response, 404, "unknown_case", before)

    def test_a_malformed_case_id_is_422_not_500(self, api):
        before = stored(api.engine)
        assert_refused(api, api.get("/v1/cases/not-a-uuid"), 422, "invalid_request", before)
        assert_refused(api, api.fire("123", "give_notice", NOTICE), 422, "invalid_request", before)

    def test_a_case_that_had_not_started_by_as_of_is_404(self, api):
        case = api.start()
        before = stored(api.engine)
        assert_refused(api, api.get(f"/v1/cases/{case}", params={"as_of": "2013-06-01"}), 404, "unknown_case", before)

    def test_unknown_definition(self, api):
        before = stored(api.engine)
        assert_refused(api, api.get("/v1/definitions/no-such-workflow"), 404, "unknown_definition", before)
        assert_refused(api, api.get(f"/v1/definitions/{OFSTED}", params={"version": 99}), 404, "unknown_definition", before)
        assert_refused(api, api.post("/v1/cases", {"workflow": "no-such-workflow", "data": START}), 404, "unknown_definition", before)

    def test_trigger_not_allowed(self, api):
        case = api.start()
        before = stored(api.engine)
        assert_refused(api, api.fire(case, "leave_site", at="2013-06-04"), 409, "trigger_not_allowed", before)
        assert_refused(api, api.fire(case, "no_such_trigger", at="2013-06-04"), 409, "trigger_not_allowed", before)

    def test_guard_failed(self, api):
        """Para 12: the first day on site must fall within the notice period."""
        case = api.start()
        before = stored(api.engine)
        late = {**NOTICE, "on_site_start": "2013-07-30"}
        assert_refused(api, api.fire(case, "give_notice", late, at="2013-06-05T10:00"), 409, "guard_failed", before)

    def test_time_before_the_cases_last_event(self, api):
        case = api.start()
        api.fire(case, "give_notice", NOTICE, at="2013-06-05T10:00")
        before = stored(api.engine)
        assert_refused(api, api.fire(case, "begin_on_site", at="2013-06-04"), 409, "bad_time", before)

    def test_concurrent_change(self, api, monkeypatch):
        """Another writer always first (the engine retries, then gives up): 409 `concurrent_change`."""
        case = api.start()
        before = stored(api.engine)

        def lost_race(*cases: Any) -> None:
            raise ConcurrentChange("another writer changed the case first")

        monkeypatch.setattr(api.engine, "_save", lost_race)
        assert_refused(api, api.fire(case, "give_notice", NOTICE, at="2013-06-05T10:00"), 409, "concurrent_change", before)

    def test_a_duration_past_the_end_of_the_calendar_is_invalid_data(self, api):
        """A parameter no process could run to ("99999999999 months") is refused when the case starts: 422, not 500."""
        before = stored(api.engine)
        body = {"workflow": OFSTED, "version": 1, "data": START, "parameters": {"on_site_length": "99999999999 months"}}
        assert_refused(api, api.post("/v1/cases", body), 422, "invalid_data", before)

    def test_invalid_data(self, api):
        case = api.start()
        before = stored(api.engine)
        assert_refused(api, api.fire(case, "give_notice", {"lead_inspector": "x"}, at="2013-06-05"), 422, "invalid_data", before)
        assert_refused(api, api.fire(case, "give_notice", {**NOTICE, "on_site_start": "soon"}, at="2013-06-05"), 422, "invalid_data", before)
        assert_refused(api, api.post("/v1/cases", {"workflow": OFSTED, "version": 1, "data": {"authority": "Norfolk"}}), 422, "invalid_data", before)
        assert_refused(api, api.post("/v1/cases", {"workflow": OFSTED, "version": 1, "data": START, "parameters": {"nope": 1}}), 422, "invalid_data", before)

    @pytest.mark.parametrize(
        "body",
        [
            {"workflow": OFSTED, "data": START, "actor": "someone-else"},  # the actor never comes from the body
            {"workflow": OFSTED, "data": START, "at": "next tuesday"},
            {"workflow": OFSTED, "data": START, "at": "9999-12-31T23:00:00-12:00"},
            {"workflow": OFSTED, "data": START, "at": "0001-01-01"},
            {"workflow": OFSTED, "data": "not an object"},
            {"workflow": OFSTED, "version": 0, "data": START},
            {"data": START},
            ["not", "an", "object"],
        ],
        ids=["actor-in-body", "unreadable-at", "at-overflows", "at-too-early", "data-not-object", "version-0", "no-workflow", "body-not-object"],
    )
    def test_a_request_that_cannot_be_read_is_invalid_request(self, api, body):
        before = stored(api.engine)
        response = api.post("/v1/cases", body)
        assert_refused(api, response, 422, "invalid_request", before)
        assert response.json()["error"]["details"]

    def test_malformed_json_and_bad_query_values(self, api):
        case = api.start()
        before = stored(api.engine)
        raw = api.client.post(f"/v1/cases/{case}/fire", content=b"{not json", headers={**bearer(api.inspector), "Content-Type": "application/json"})
        assert_refused(api, raw, 422, "invalid_request", before)
        for path, params in [
            (f"/v1/cases/{case}", {"as_of": "yesterday"}),
            ("/v1/due", {"before": "2013-13-45"}),
            ("/v1/upcoming", {"weeks": -1}),
            ("/v1/upcoming", {"weeks": 10**9}),
            ("/v1/upcoming", {"from": "x"}),
            ("/v1/register", {"nation": "scotland"}),
            ("/v1/verify", {"case": "nope"}),
            (f"/v1/definitions/{OFSTED}", {"version": "one"}),
        ]:
            assert_refused(api, api.get(path, params=params), 422, "invalid_request", before)

    def test_unknown_route_and_method_are_json_too(self, api):
        before = stored(api.engine)
        assert_refused(api, api.get("/v2/cases"), 404, "not_found", before)
        assert_refused(api, api.client.put("/v1/due", headers=bearer(api.admin)), 405, "method_not_allowed", before)

    def test_an_internal_error_is_a_json_500(self, make_engine, monkeypatch):
        """A bug (never bad input) still answers in the envelope, code `internal_error`."""
        engine = make_engine()
        key = Keys(engine).issue("reader", "auditor", by="test")

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

        monkeypatch.setattr(engine, "due", broken)
        with TestClient(create_app(engine), raise_server_exceptions=False) as client:
            response = client.get("/v1/due", headers=bearer(key))
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"


class TestThreads:
    def test_concurrent_requests_lose_and_duplicate_no_event(self, api):
        """20 threads firing on one case and on their own: one Transitioned event per 200, chains intact."""
        shared = api.on_site()
        own = [api.on_site() for _ in range(3)]
        before = sum(1 for c in [shared, *own] for h in api.engine.history(c) if h.type == "Transitioned")
        statuses: list[int] = []
        errors: list[BaseException] = []

        def client(index: int) -> None:
            try:
                for round_ in range(5):
                    case = shared if (index + round_) % 2 else own[index % 3]
                    statuses.append(api.fire(case, "record_evidence", EVIDENCE).status_code)
            except BaseException as error:  # surfaced below
                errors.append(error)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors and not any(t.is_alive() for t in threads)
        assert statuses == [200] * 100
        after = sum(1 for c in [shared, *own] for h in api.engine.history(c) if h.type == "Transitioned")
        assert after - before == 100
        assert verify(api.engine).ok


# ------------------------------------------------------------ keys, in Python


class TestKeys:
    def test_only_the_digest_is_stored(self, make_engine):
        engine = make_engine()
        key = Keys(engine).issue("backoffice", "inspector", by="admin")
        assert key.startswith("lw_backoffice_") and len(key) > 50
        raw = b"".join(n.state for n in engine.recorder.select_notifications(1, 100))
        assert key.encode() not in raw and key.split("_", 2)[2].encode() not in raw
        assert digest(key).encode() in raw

    def test_authenticate_gives_the_name_and_role(self, make_engine):
        engine = make_engine()
        keys = Keys(engine)
        key = keys.issue("backoffice", "inspector", by="admin")
        assert keys.authenticate(key) == Principal("backoffice", "inspector")
        for bad in (None, "", key + "x", key[:-1] + ("A" if key[-1] != "A" else "B"), "lw_other_" + key.split("_", 2)[2]):
            with pytest.raises(Unauthenticated):
                keys.authenticate(bad)

    def test_refusals_write_nothing(self, make_engine):
        engine = make_engine()
        keys = Keys(engine)
        keys.issue("backoffice", "inspector", by="admin")
        keys.revoke("backoffice", by="admin")
        before = stored(engine)
        for call, error in [
            (lambda: keys.issue("backoffice", "auditor", by="admin"), DuplicateKey),  # names are never reused
            (lambda: keys.issue("someone", "root", by="admin"), UnknownRole),
            (lambda: keys.issue("two words", "auditor", by="admin"), InvalidKeyName),
            (lambda: keys.issue("", "auditor", by="admin"), InvalidKeyName),
            (lambda: keys.revoke("nobody", by="admin"), UnknownKey),
            (lambda: keys.revoke("backoffice", by="admin"), AlreadyRevoked),
        ]:
            with pytest.raises(error):
                call()
        assert stored(engine) == before

    def test_the_ring_is_shared_by_every_engine_on_a_store(self, make_engine, sqlite_store):
        """Keys issued by one process (the CLI) are seen at once by another (the server), revocations too."""
        server, cli = make_engine(sqlite_store), make_engine(sqlite_store)
        key = Keys(cli).issue("backoffice", "inspector", by="cli")
        assert Keys(server).authenticate(key).name == "backoffice"
        Keys(cli).revoke("backoffice", by="cli")
        with pytest.raises(Unauthenticated):
            Keys(server).authenticate(key)
        assert [k["name"] for k in Keys(server).list()] == ["backoffice"]

    def test_a_lost_race_on_the_ring_is_retried(self, make_engine, sqlite_store, monkeypatch):
        """Two processes opening the ring at once: the loser reloads and issues on top of the winner's ring."""
        first, second = Keys(make_engine(sqlite_store)), Keys(make_engine(sqlite_store))
        second.issue("winner", "auditor", by="b")
        looks: list[object] = []
        real = first._ring

        def ring(**options):  # the first look finds no ring, as if read just before the winner saved
            looks.append(None)
            return None if len(looks) == 1 else real(**options)

        monkeypatch.setattr(first, "_ring", ring)
        first.issue("loser", "auditor", by="a")
        assert len(looks) == 2
        assert [k["name"] for k in second.list()] == ["loser", "winner"]

    def test_keys_are_not_cases(self, make_engine):
        engine = make_engine()
        Keys(engine).issue("backoffice", "inspector", by="admin")
        assert engine.case_ids() == [] and engine.due() == [] and verify(engine).ok


# ------------------------------------------------------------------ keys, CLI


@pytest.fixture
def keys_cli():
    """The keys sub-app mounted as the main CLI will mount it (`laworkflow keys …`)."""
    root = typer.Typer()
    root.callback()(cli_module.main)
    root.add_typer(keys_app, name="keys")
    runner = CliRunner()

    def run(store: str, *args: str):
        return runner.invoke(root, ["--store", store, "keys", *args])

    return run


class TestKeysCli:
    def test_issue_list_revoke(self, keys_cli, sqlite_store, make_engine):
        import json

        issued = keys_cli(sqlite_store, "issue", "backoffice", "--role", "inspector", "--json")
        assert issued.exit_code == 0, issued.output
        document = json.loads(issued.stdout)
        assert document["name"] == "backoffice" and document["role"] == "inspector"
        assert Keys(make_engine(sqlite_store)).authenticate(document["key"]).role == "inspector"

        plain = keys_cli(sqlite_store, "issue", "auditor-1", "--role", "auditor")
        assert plain.exit_code == 0
        assert plain.stdout.strip().startswith("lw_auditor-1_")

        listed = json.loads(keys_cli(sqlite_store, "list", "--json").stdout)
        assert [(k["name"], k["role"], k["revoked"]) for k in listed["keys"]] == [("auditor-1", "auditor", False), ("backoffice", "inspector", False)]
        assert document["key"] not in keys_cli(sqlite_store, "list").stdout

        revoked = keys_cli(sqlite_store, "revoke", "backoffice")
        assert revoked.exit_code == 0
        assert json.loads(keys_cli(sqlite_store, "list", "--json").stdout)["keys"][1]["revoked"] is True

    def test_refusals_are_one_line_and_exit_1(self, keys_cli, sqlite_store):
        keys_cli(sqlite_store, "issue", "backoffice", "--role", "inspector")
        for args in (["issue", "backoffice", "--role", "auditor"], ["issue", "x", "--role", "root"], ["revoke", "nobody"]):
            result = keys_cli(sqlite_store, *args)
            assert result.exit_code == 1, result.output
            assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_a_full_case_id_is_not_looked_up_under_the_engine_lock(api: Api) -> None:
    """A request naming its case by full id does not queue for the engine's lock to resolve it (a prefix does: it reads the
    case index); the command itself takes the lock when it decides."""
    case = api.start()
    with held_elsewhere(api.engine.lock):
        served = api.client.app.state.served
        resolved: list[uuid.UUID] = []
        lookup = threading.Thread(target=lambda: resolved.append(case_id(served, case)))
        lookup.start()
        lookup.join(2)
        assert resolved == [uuid.UUID(case)]  # before: it waited for the holder
    assert case_id(api.client.app.state.served, case[:8]) == uuid.UUID(case)  # a prefix still resolves (under the lock)
    with pytest.raises(UnknownCase):
        case_id(api.client.app.state.served, str(KEYRING_ID))
