"""Every HTTP refusal is a 4xx JSON envelope that writes nothing; no input at all is a 5xx.

Each defect found in use has its own test, written against a real app over a
real SQLite file: a lone surrogate in JSON data (was a 500, the connection
dropped), `/v1/due` with a reminder pending (was a 500), dates outside
`laworkflow.bounds` in query strings (was a 500 for 0001-01-01 on SQLite),
an out-of-range date derived by the domain (OutOfRange, a 422), bodies over
the size limit (413, before parsing, with or without Content-Length) and JSON
nested 100,000 deep. Then a hypothesis property over the whole API: bodies and
query strings of arbitrary text (surrogates included) and dates over the whole
range Python's types allow; never a 5xx, and after every refusal the database
reads exactly as before.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from fastapi.testclient import TestClient

from laworkflow.errors import OutOfRange
from laworkflow.http.app import create_app
from laworkflow.http.bodies import MAX_BODY_ENV, MAX_JSON_DEPTH
from laworkflow.http.errors import envelope as _envelope
from laworkflow.keys import Keys

OFSTED = "ofsted-laassi"
MONITORING = "ofsted-monitoring"
START = {"authority": "Norfolk", "concerns": ["attainment_below_national"]}
NOTICE = {"on_site_start": "2013-06-10", "lead_inspector": "Lead HMI", "inspectors": ["HMI"]}
FEEDBACK = {"strengths": ["a"], "weaknesses": ["b"]}
MONITORING_START = {"authority": "Anytown", "inadequate_areas": ["help_and_protection"]}
LIMIT = 64 * 1024


def database(path: Path) -> str:
    """A digest of everything the SQLite file holds, read through sqlite3 (so WAL pages count, as committed)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        digest = hashlib.sha256()
        for line in connection.iterdump():
            digest.update(line.encode("utf-8", "surrogatepass") + b"\n")
        return digest.hexdigest()
    finally:
        connection.close()


@dataclass
class Served:
    engine: Any
    client: TestClient
    path: Path
    key: str  # admin: every endpoint, so refusals are about the input, not the role
    cases: dict[str, str]

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", **extra}

    def post(self, path: str, body: Any):
        return self.client.post(path, json=body, headers=self.headers())

    def raw(self, method: str, path: str, content: bytes | None = None, **headers: str):
        return self.client.request(method, path, content=content, headers=self.headers(**headers))

    def get(self, path: str, **params: Any):
        return self.client.get(path, params=params, headers=self.headers())


@pytest.fixture
def served(make_engine, tmp_path: Path) -> Iterator[Served]:
    """An app over an SQLite file with cases in the states whose triggers take dates."""
    path = tmp_path / "events.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    key = Keys(engine).issue("root", "admin", by="setup")
    concern = engine.start(OFSTED, START, version=1, actor="setup", at="2013-06-03T09:00")
    on_site = engine.start(OFSTED, START, version=1, actor="setup", at="2013-06-03T09:00")
    engine.fire(on_site, "give_notice", NOTICE, actor="setup", at="2013-06-05T10:00")
    engine.run_due(until="2013-06-10T09:00")
    inadequate = engine.start(MONITORING, MONITORING_START, actor="setup", at="2016-03-01")
    monitoring = engine.start(MONITORING, MONITORING_START, actor="setup", at="2016-03-01")
    engine.fire(monitoring, "submit_action_plan", {"action_plan_date": "2016-03-10"}, actor="setup", at="2016-03-10")
    cases = {"concern": str(concern), "on_site": str(on_site), "inadequate": str(inadequate), "monitoring": str(monitoring)}
    with TestClient(create_app(engine, max_body_bytes=LIMIT), raise_server_exceptions=False) as client:
        yield Served(engine, client, path, key, cases)


def assert_refused(served: Served, response, before: str, status: int | None = None, codes: set[str] | None = None) -> dict:
    """A 4xx, valid UTF-8 JSON in the envelope, and the database exactly as it was."""
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
    if status is not None:
        assert response.status_code == status, response.content[:500]
    body = json.loads(response.content.decode("utf-8"))  # strict: a lone surrogate cannot be encoded
    assert set(body) == {"error"} and isinstance(body["error"]["message"], str) and body["error"]["message"], body
    if codes is not None:
        assert body["error"]["code"] in codes, body
    assert database(served.path) == before, "a refused request wrote something"
    return body["error"]


# ---------------------------------------------------------------- named defects


SURROGATE_BODIES = [
    b'{"workflow":"ofsted-laassi","version":1,"data":{"authority":"\\ud800","concerns":["attainment_below_national"]}}',
    b'{"workflow":"ofsted-laassi","version":1,"data":{"authority":"Nor\\udc00folk","concerns":["attainment_below_national"]}}',
    b'{"workflow":"ofsted-laassi","version":1,"data":{"\\ud800":1,"authority":"x","concerns":["attainment_below_national"]}}',
    b'{"workflow":"ofsted-laassi","version":1,"data":{"authority":"x","concerns":["attainment_below_national"],"previous_case":["\\udfff"]}}',
    b'{"workflow":"\\ud800"}',
    b'{"workflow":"ofsted-laassi","data":{"authority":"\xed\xa0\x80","concerns":[]}}',  # a surrogate as raw (CESU-8) bytes
]


@pytest.mark.parametrize("content", SURROGATE_BODIES, ids=[f"body-{i}" for i in range(len(SURROGATE_BODIES))])
def test_a_lone_surrogate_in_a_body_is_a_422_not_a_500(served, content):
    """JSON's \\ud800 escape is no character: it can be neither stored nor sent back, so it is refused on reading."""
    before = database(served.path)
    response = served.raw("POST", "/v1/cases", content, **{"Content-Type": "application/json"})
    error = assert_refused(served, response, before, 422, {"invalid_request"})
    assert "surrogate" in error["message"] or "unicode" in error["message"]


def test_a_lone_surrogate_in_fired_data_is_a_422(served):
    before = database(served.path)
    content = b'{"trigger":"record_evidence","data":{"notebook":"evidence","entry":"\\ud83d"}}'
    response = served.raw("POST", f"/v1/cases/{served.cases['on_site']}/fire", content, **{"Content-Type": "application/json"})
    assert_refused(served, response, before, 422, {"invalid_request"})
    paired = b'{"trigger":"record_evidence","data":{"notebook":"evidence","entry":"\\ud83d\\ude00"}}'  # a pair is a character
    response = served.raw("POST", f"/v1/cases/{served.cases['on_site']}/fire", paired, **{"Content-Type": "application/json"})
    assert response.status_code == 200, response.text


def test_every_error_message_is_valid_utf8_whatever_it_quotes():
    """The envelope escapes what UTF-8 cannot hold, so an error about bad text is never itself a crash."""
    response = _envelope(422, "invalid_data", "cannot read '\ud800'", details=[{"loc": ["body", "\udc00"], "msg": "x\ud800"}])
    body = json.loads(response.body.decode("utf-8"))
    assert body["error"]["message"] == "cannot read '\\ud800'"
    assert body["error"]["details"] == [{"loc": ["body", "\\udc00"], "msg": "x\\ud800"}]


def test_due_upcoming_and_register_answer_with_a_reminder_pending(served):
    """The letter deadlines have `remind_before`: once the case leaves site, a reminder is armed beside them."""
    case = served.cases["on_site"]
    assert served.post(f"/v1/cases/{case}/fire", {"trigger": "give_feedback", "data": FEEDBACK, "at": "2013-06-12T12:00"}).status_code == 200
    assert served.post(f"/v1/cases/{case}/fire", {"trigger": "leave_site", "at": "2013-06-13T16:00"}).status_code == 200
    response = served.get("/v1/due")
    assert response.status_code == 200, response.text
    kinds = {item["kind"] for item in response.json()["items"]}
    assert "reminder" in kinds and "deadline" in kinds
    assert served.get("/v1/upcoming", weeks=8, **{"from": "2013-06-14"}).status_code == 200
    assert served.get("/v1/register").status_code == 200
    document = served.client.get("/openapi.json").json()
    assert "reminder" in document["components"]["schemas"]["DueItemOut"]["properties"]["kind"]["enum"]


@pytest.mark.parametrize(
    "path,name",
    [("/v1/due", "before"), ("/v1/upcoming", "from"), ("/v1/cases/{on_site}", "as_of")],
)
@pytest.mark.parametrize(
    "value",
    ["9999-12-31", "0001-01-01", "1899-12-31", "2200-01-02", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "2199-12-31T23:30:00-12:00"],
)
def test_a_date_outside_the_range_in_a_query_is_a_clean_422(served, path, name, value):
    before = database(served.path)
    response = served.get(path.format(**served.cases), **{name: value})
    error = assert_refused(served, response, before, 422, {"out_of_range", "invalid_request"})
    assert "1900-01-01 to 2199-12-31" in error["message"]


@pytest.mark.parametrize("value", ["1900-01-01", "2199-12-31", "2199-12-31T23:00:00+00:00"])
def test_the_first_and_last_days_of_the_range_are_read(served, value):
    assert served.get("/v1/due", before=value).status_code == 200
    assert served.get("/v1/upcoming", weeks=0, **{"from": value}).status_code == 200  # 8 weeks on from 2199-12-31 is out of range
    assert served.get(f"/v1/cases/{served.cases['on_site']}", as_of=value).status_code in (200, 404)  # 404: not started by then


def test_out_of_range_from_the_domain_is_a_422(served, monkeypatch):
    """OutOfRange, whatever raises it, is a 422 `out_of_range`."""
    before = database(served.path)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OutOfRange("a deadline 2201-03-10 is outside the dates the engine accepts (1900-01-01 to 2199-12-31)")

    monkeypatch.setattr(served.engine, "fire", refuse)
    response = served.post(f"/v1/cases/{served.cases['monitoring']}/fire", {"trigger": "record_progress_concern", "data": {}})
    assert_refused(served, response, before, 422, {"out_of_range"})


def test_a_derived_deadline_past_the_range_is_refused_before_anything_is_written(served):
    """An action plan in 2199 puts the 24-month re-inspection deadline in 2201: refused, not stored (issue 7)."""
    before = database(served.path)
    body = {"trigger": "submit_action_plan", "data": {"action_plan_date": "2199-06-01"}, "at": "2016-03-10"}
    response = served.post(f"/v1/cases/{served.cases['inadequate']}/fire", body)
    assert_refused(served, response, before, 422, {"out_of_range", "invalid_data"})


# ------------------------------------------------------------------ body limits


def test_a_body_over_the_limit_is_a_413_before_it_is_read(served, monkeypatch):
    """Declared too long (Content-Length) or counted too long as it arrives (chunked): 413 JSON, nothing parsed."""
    parsed: list[bytes] = []
    from laworkflow.http import bodies as api

    reader = api.read_json
    monkeypatch.setattr(api, "read_json", lambda body: parsed.append(body) or reader(body))
    before = database(served.path)
    big = json.dumps({"workflow": OFSTED, "data": {**START, "authority": "x" * LIMIT}}).encode()
    response = served.raw("POST", "/v1/cases", big, **{"Content-Type": "application/json"})
    error = assert_refused(served, response, before, 413, {"body_too_large"})
    assert str(LIMIT) in error["message"] and MAX_BODY_ENV in error["message"]

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    response = served.client.post("/v1/cases", content=chunks(), headers=served.headers(**{"Content-Type": "application/json"}))
    assert response.request.headers.get("transfer-encoding") == "chunked" and "content-length" not in response.request.headers
    assert_refused(served, response, before, 413, {"body_too_large"})
    assert parsed == [], "a body over the limit was parsed"
    small = json.dumps({"workflow": OFSTED, "version": 1, "data": START}).encode()
    response = served.client.post("/v1/cases", content=iter([small[:10], small[10:]]), headers=served.headers(**{"Content-Type": "application/json"}))
    assert response.status_code == 201, response.text


def test_the_limit_is_configurable(make_engine, monkeypatch):
    engine = make_engine()
    key = Keys(engine).issue("root", "admin", by="setup")
    body = json.dumps({"workflow": OFSTED, "version": 1, "data": START}).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    monkeypatch.setenv(MAX_BODY_ENV, str(len(body) - 1))
    with TestClient(create_app(engine)) as client:
        assert client.post("/v1/cases", content=body, headers=headers).status_code == 413
    with TestClient(create_app(engine, max_body_bytes=len(body))) as client:  # the argument wins over the variable
        assert client.post("/v1/cases", content=body, headers=headers).status_code == 201
    monkeypatch.delenv(MAX_BODY_ENV)
    with TestClient(create_app(engine)) as client:  # default 1 MB
        assert client.post("/v1/cases", content=b" " * (1024 * 1024 + 1), headers=headers).status_code == 413
        assert client.post("/v1/cases", content=body + b" " * (1024 * 1024 - len(body)), headers=headers).status_code == 201
    monkeypatch.setenv(MAX_BODY_ENV, "1MB")
    with pytest.raises(ValueError, match=MAX_BODY_ENV):
        create_app(engine)


@pytest.mark.parametrize("where", ["body", "data"])
def test_json_nested_100000_deep_is_a_422(served, where):
    deep = b"[" * 100_000 + b"]" * 100_000
    content = deep if where == "body" else b'{"workflow":"ofsted-laassi","data":{"authority":' + deep + b"}}"
    before = database(served.path)
    with TestClient(create_app(served.engine)) as client:  # 200 kB: within the default limit, over the fixture's
        response = client.post("/v1/cases", content=content, headers=served.headers(**{"Content-Type": "application/json"}))
    assert_refused(served, response, before, 422, {"invalid_request"})


def test_nesting_is_bounded_at_the_documented_depth(served):
    def nested(depth: int) -> Any:
        value: Any = "x"
        for _ in range(depth - 2):  # the body and `data` are two levels
            value = [value]
        return value

    before = database(served.path)
    too_deep = served.post("/v1/cases", {"workflow": OFSTED, "data": {"authority": nested(MAX_JSON_DEPTH + 1)}})
    error = assert_refused(served, too_deep, before, 422, {"invalid_request"})
    assert f"deeper than {MAX_JSON_DEPTH}" in error["message"]
    deep_enough = served.post("/v1/cases", {"workflow": OFSTED, "data": {"authority": nested(MAX_JSON_DEPTH)}})
    assert_refused(served, deep_enough, before, 422, {"invalid_data"})  # read, then refused by the workflow's data rules


@pytest.mark.parametrize(
    "content", [b"NaN", b'{"workflow":"ofsted-laassi","data":{"authority":Infinity}}', b'{"workflow":"ofsted-laassi","data":{"authority":1e400}}']
)
def test_numbers_json_cannot_hold_are_refused(served, content):
    before = database(served.path)
    response = served.raw("POST", "/v1/cases", content, **{"Content-Type": "application/json"})
    assert_refused(served, response, before, 422, {"invalid_request"})


# ------------------------------------------------------------ a real server


@pytest.fixture
def live(make_engine, tmp_path: Path) -> Iterator[tuple[int, str, Path]]:
    """uvicorn in a thread of this process, on a free port, over an SQLite file."""
    import uvicorn

    path = tmp_path / "events.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    key = Keys(engine).issue("root", "admin", by="setup")
    config = uvicorn.Config(create_app(engine, max_body_bytes=LIMIT), host="127.0.0.1", port=0, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield port, key, path
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _exchange(port: int, request: bytes, body: Iterator[bytes] = iter(())) -> tuple[int, bytes]:  # noqa: B008 (an empty iterator: nothing to share)
    """Send a request by hand (headers, then body parts as the server takes them); the status and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(request)
        try:
            for part in body:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):  # the server answered and closed before the rest: fine
            pass
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < _length(answer):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, content = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), content


def _length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def test_a_real_server_refuses_big_bodies_and_surrogates_with_json(live):
    port, key, path = live
    before = database(path)
    head = f"POST /v1/cases HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\n"
    # Declared too long: answered at once, though not a byte of the body is sent.
    status, content = _exchange(port, f"{head}Content-Length: {LIMIT * 100}\r\n\r\n".encode())
    assert status == 413 and json.loads(content)["error"]["code"] == "body_too_large"
    # Chunked, no Content-Length: refused once the bytes pass the limit.
    part = b"x" * 8192
    chunks = (f"{len(part):x}\r\n".encode() + part + b"\r\n" for _ in range(LIMIT // len(part) + 4))
    status, content = _exchange(port, f"{head}Transfer-Encoding: chunked\r\n\r\n".encode(), chunks)
    assert status == 413 and json.loads(content)["error"]["code"] == "body_too_large"
    # A lone surrogate: a 422 in JSON on a connection that stays up.
    body = b'{"workflow":"ofsted-laassi","version":1,"data":{"authority":"\\ud800","concerns":["attainment_below_national"]}}'
    status, content = _exchange(port, f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
    assert status == 422 and json.loads(content.decode("utf-8"))["error"]["code"] == "invalid_request"
    assert database(path) == before


# ------------------------------------------------------------- the property

# Any code point, lone surrogates included: st.text leaves category Cs out (nearly always, even when
# its alphabet holds surrogates), so characters are drawn one by one and joined.
TEXT = st.lists(st.characters(codec=None) | st.integers(0xD800, 0xDFFF).map(chr), max_size=12).map("".join)
DAYS = st.dates(min_value=date.min, max_value=date.max)
MOMENTS = st.datetimes(min_value=datetime.min, max_value=datetime.max, timezones=st.none() | st.timezones() | st.just(UTC))


def _iso(moment: datetime) -> str:
    try:
        return moment.isoformat()
    except (OverflowError, ValueError):  # an offset that takes year 1 or 9999 off the calendar
        return moment.replace(tzinfo=None).isoformat()


DATE_TEXT = st.one_of(DAYS.map(date.isoformat), MOMENTS.map(_iso), TEXT)
# A day a process could use, often near the end of the range, where derived deadlines fall past it.
DAY_FIELD = st.one_of(
    DATE_TEXT,
    st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)).map(date.isoformat),
    st.dates(min_value=date(2195, 1, 1), max_value=date(2199, 12, 31)).map(date.isoformat),
)
# When a command takes effect: usually now (null) or a plausible moment, sometimes anything.
AT = st.one_of(st.none(), st.dates(min_value=date(2016, 4, 1), max_value=date(2199, 12, 31)).map(date.isoformat), DATE_TEXT)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT | DATE_TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)


@st.composite
def _body(draw, fields: dict[str, st.SearchStrategy]) -> dict[str, Any]:
    """Every field with a value of its kind (so most requests get past reading); now and then one field
    missing, replaced by anything at all, or joined by a key nobody asked for."""
    body = {name: draw(value) for name, value in fields.items()}
    change = draw(st.sampled_from([None, None, None, None, "drop", "replace", "extra"]))
    if change is not None and fields:
        name = draw(st.sampled_from(sorted(fields)))
        if change == "drop":
            del body[name]
        elif change == "replace":
            body[name] = draw(JSON)
        else:
            body[draw(TEXT)] = draw(JSON)
    return body


START_BODY = {
    OFSTED: _body({"authority": TEXT, "concerns": st.lists(st.sampled_from(["attainment_below_national", "other_concern"]), min_size=1, max_size=2)}),
    MONITORING: _body({"authority": TEXT, "inadequate_areas": st.just(["help_and_protection"])}),
}
# (case, trigger, its data): each case in a state where the trigger may be taken, the date fields over the whole range.
FIRES = [
    ("{on_site}", "record_evidence", _body({"notebook": st.just("evidence"), "entry": TEXT})),
    ("{concern}", "give_notice", _body({"on_site_start": DAY_FIELD, "lead_inspector": TEXT, "inspectors": st.lists(TEXT, min_size=1, max_size=2)})),
    ("{inadequate}", "submit_action_plan", _body({"action_plan_date": DAY_FIELD})),
    ("{monitoring}", "bring_forward_reinspection", _body({"rapid_improvement_evidence": TEXT, "reinspection_planned_for": DAY_FIELD})),
]
QUERIES = {
    "/v1/due": {"before": DATE_TEXT},
    "/v1/upcoming": {"weeks": st.integers(-10, 10**12).map(str) | TEXT, "from": DATE_TEXT},
    "/v1/cases/{on_site}": {"as_of": DATE_TEXT},
    "/v1/cases/{on_site}/history": {},
    "/v1/cases/{monitoring}/allowed": {},
    "/v1/register": {"nation": st.sampled_from(["england", "wales"]) | TEXT, "status": TEXT},
    "/v1/verify": {"case": st.just("{on_site}") | TEXT},
    "/v1/definitions/ofsted-laassi": {"version": st.integers(-1, 5).map(str) | TEXT},
    "/v1/keys": {},
}


@st.composite
def requests(draw) -> tuple[str, str, dict[str, Any], bytes | None]:
    """(method, path with case placeholders, query parameters, body bytes exactly as sent)."""
    kind = draw(st.sampled_from(["start", "start", "start", "fire", "fire", "fire", "query", "query", "keys", "raw"]))
    if kind == "start":
        workflow = draw(st.sampled_from([OFSTED, MONITORING]))
        body = draw(
            _body(
                {
                    "workflow": st.just(workflow),
                    "version": st.just(1),
                    "data": START_BODY[workflow],
                    "parameters": st.just({}) | st.dictionaries(st.sampled_from(["notice_period", "on_site_length", "reinspection_within"]), TEXT, max_size=1),
                    "at": AT,
                }
            )
        )
        return "POST", "/v1/cases", {}, json.dumps(body).encode()  # ensure_ascii: a lone surrogate travels as \ud800
    if kind == "fire":
        case, trigger, data = draw(st.sampled_from(FIRES))
        body = draw(_body({"trigger": st.just(trigger), "data": data, "at": AT}))
        return "POST", f"/v1/cases/{case}/fire", {}, json.dumps(body).encode()
    if kind == "keys":
        body = draw(_body({"name": st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True) | TEXT, "role": st.sampled_from(["admin", "inspector", "auditor"])}))
        return draw(st.sampled_from([("POST", "/v1/keys", {}, json.dumps(body).encode()), ("DELETE", "/v1/keys/" + draw(TEXT), {}, None)]))
    if kind == "raw":  # bytes that may not be JSON, or not UTF-8
        content = draw(st.binary(max_size=64) | TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
        return "POST", draw(st.sampled_from(["/v1/cases", "/v1/cases/{on_site}/fire", "/v1/keys"])), {}, content
    path = draw(st.sampled_from(sorted(QUERIES)))
    query = {name: draw(value) for name, value in QUERIES[path].items() if draw(st.booleans())}
    if draw(st.integers(0, 3)) == 0:
        query[draw(TEXT)] = draw(TEXT)  # a parameter nobody asked for
    return "GET", path, query, None


def _query(params: dict[str, Any]) -> str:
    """Arbitrary text as a query string: each value's UTF-8 bytes (surrogates as their 3 bytes) percent-encoded."""
    return "&".join(
        f"{quote_from_bytes(str(k).encode('utf-8', 'surrogatepass'))}={quote_from_bytes(str(v).encode('utf-8', 'surrogatepass'))}" for k, v in params.items()
    )


def _fill(text: str, cases: dict[str, str]) -> str:
    for name, case in cases.items():
        text = text.replace("{" + name + "}", case)
    return text


def test_no_input_is_a_5xx_and_no_refusal_writes_anything(served):
    seen: dict[str, int] = {}

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
    @given(request=requests())
    def check(request: tuple[str, str, dict[str, Any], bytes | None]) -> None:
        method, path, query, body = request
        target = quote_from_bytes(_fill(path, served.cases).encode("utf-8", "surrogatepass"), safe="/")
        if query:
            target += "?" + _query({k: _fill(str(v), served.cases) for k, v in query.items()})
        before = database(served.path)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        response = served.raw(method, target, body, **headers)
        key = f"{response.status_code // 100}xx"
        seen[key] = seen.get(key, 0) + 1
        assert response.status_code < 500, (method, target, body, response.content[:500])
        json.loads(response.content.decode("utf-8"))  # every answer is valid UTF-8 JSON
        if response.status_code >= 400:
            assert_refused(served, response, before)

    check()
    print(f"HTTP property: {sum(seen.values())} requests, by status class {seen}")
    assert seen.get("4xx", 0) > 30 and seen.get("2xx", 0) > 10, seen
