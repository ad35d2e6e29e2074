"""The web view over HTTP, in process (FastAPI's TestClient) on a real SQLite file: sign-in, sessions, roles, CSRF, forms, pages.

The browser itself (rendering, accessibility, the forms as a person uses them) is
tested in tests/web/ against a real `serve`; here every rule the server keeps is
tried directly, including the requests no browser would send: a forged POST, a
form without its token, a session cookie altered by hand. Every refusal leaves the
store as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous.encoding import base64_decode, base64_encode

from laworkflow.http.app import create_app
from laworkflow.http.web.session import COOKIE
from laworkflow.keys import KEYRING_ID, Keys

OFSTED = "ofsted-laassi"
START = {"authority": "Norfolk", "concerns": ["attainment_below_national"]}
NOTICE = {"on_site_start": "2013-06-10", "lead_inspector": "Lead HMI", "inspectors": ["HMI"]}


def stored(engine) -> list[tuple]:
    return [(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state)) for n in engine.recorder.select_notifications(1, 10**6)]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class Site:
    """An app over an engine on an SQLite file, with an inspector's, an auditor's and a calendar key."""

    def __init__(self, engine, app) -> None:
        self.engine = engine
        self.app = app
        keys = Keys(engine)
        self.inspector = keys.issue("backoffice", "inspector", by="setup")
        self.auditor = keys.issue("auditor-1", "auditor", by="setup")
        self.calendar = keys.issue("outlook", "calendar", by="setup")
        self.keys = keys

    def browser(self) -> TestClient:
        """A client of its own: its own cookie jar, as a second browser would have. Redirects are not followed."""
        return TestClient(self.app, follow_redirects=False)

    def signed_in(self, key: str) -> TestClient:
        client = self.browser()
        response = client.post("/sign-in", data={"key": key, "next": "/cases"})
        assert response.status_code == 303, response.text
        return client

    def start(self) -> str:
        case = self.engine.start(OFSTED, START, version=1, actor="setup", at="2013-06-03T09:00")
        return str(case)


@pytest.fixture
def site(make_engine, tmp_path: Path) -> Iterator[Site]:
    engine = make_engine(f"sqlite:///{tmp_path / 'web.sqlite'}")
    app = create_app(engine)
    with TestClient(app):
        yield Site(engine, app)


# ----------------------------------------------------------------- signing in


class TestSignIn:
    def test_every_page_asks_for_a_session_and_comes_back_after_it(self, site):
        client = site.browser()
        for path in ("/attention", "/register", "/cases?workflow=ofsted-laassi", "/workflows", f"/workflows/{OFSTED}/1"):
            response = client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/sign-in?next="), path
        response = client.post("/sign-in", data={"key": site.auditor, "next": "/cases?workflow=ofsted-laassi"})
        assert response.status_code == 303
        assert response.headers["location"] == "/cases?workflow=ofsted-laassi"

    def test_the_cookie_names_the_key_never_holds_it_and_is_httponly_and_samesite(self, site):
        client = site.browser()
        response = client.post("/sign-in", data={"key": site.inspector})
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        secret = site.inspector.split("_", 2)[2]
        assert secret not in cookie and site.inspector not in cookie

    @pytest.mark.parametrize(
        "key, status, words",
        [
            ("", 401, "Enter your API key"),
            ("not-a-key", 401, "Malformed API key"),
            ("lw_backoffice_" + "x" * 43, 401, "Invalid API key"),
        ],
    )
    def test_a_bad_key_is_refused_with_why_and_no_session(self, site, key, status, words):
        before = stored(site.engine)
        response = site.browser().post("/sign-in", data={"key": key})
        assert response.status_code == status
        assert words in response.text
        assert COOKIE not in response.headers.get("set-cookie", "")
        if key:
            assert key not in response.text, "the refusal quotes the key"
        assert stored(site.engine) == before

    def test_a_calendar_key_opens_no_session(self, site):
        """A calendar token travels in URLs; it grants the feed only, never the pages."""
        response = site.browser().post("/sign-in", data={"key": site.calendar})
        assert response.status_code == 403
        assert COOKIE not in response.headers.get("set-cookie", "")

    def test_next_never_leads_to_another_site(self, site):
        for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
            response = site.browser().post("/sign-in", data={"key": site.auditor, "next": target})
            assert response.headers["location"] == "/attention", target

    def test_revoking_the_key_ends_its_sessions_at_once(self, site):
        client = site.signed_in(site.auditor)
        assert client.get("/cases").status_code == 200
        site.keys.revoke("auditor-1", by="setup")
        assert client.get("/cases").status_code == 303

    def test_a_cookie_altered_by_hand_opens_nothing(self, site):
        client = site.signed_in(site.auditor)
        value = client.cookies.get(COOKIE)
        payload, stamp, signature = value.split(".")
        assert json.loads(base64_decode(payload))["name"] == "auditor-1"
        promoted = base64_encode(json.dumps({**json.loads(base64_decode(payload)), "name": "backoffice"}).encode()).decode()
        forged = site.browser()
        forged.cookies.set(COOKIE, f"{promoted}.{stamp}.{signature}")
        assert forged.get("/cases").status_code == 303
        forged.cookies.set(COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
        assert forged.get("/cases").status_code == 303

    def test_a_session_signed_by_another_service_opens_nothing(self, site, make_engine, tmp_path):
        """The secret signs; without $LAWORKFLOW_SESSION_SECRET each process draws its own."""
        client = site.signed_in(site.auditor)
        other = create_app(site.engine)
        with TestClient(other, follow_redirects=False) as stranger:
            stranger.cookies.set(COOKIE, client.cookies.get(COOKIE))
            assert stranger.get("/cases").status_code == 303

    def test_sign_out_needs_the_token_and_clears_the_cookie(self, site):
        client = site.signed_in(site.auditor)
        assert client.post("/sign-out", data={}).status_code == 403
        page = client.get("/cases").text
        response = client.post("/sign-out", data={"csrf": csrf_of(page)})
        assert response.status_code == 303 and response.headers["location"] == "/sign-in"
        assert client.get("/cases").status_code == 303


# ----------------------------------------------------------------- acting on a case


class TestFiring:
    def form(self, client: TestClient, case: str) -> dict[str, Any]:
        page = client.get(f"/cases/{case}")
        assert page.status_code == 200, page.text
        return {"csrf": csrf_of(page.text)}

    def test_an_inspector_fires_a_trigger_with_the_form_and_the_case_moves(self, site):
        case = site.start()
        client = site.signed_in(site.inspector)
        form = self.form(client, case) | {"trigger": "give_notice", "at": "2013-06-05T10:00"}
        form |= {"data.on_site_start": "2013-06-10", "data.lead_inspector": "Lead HMI", "data.inspectors": "HMI one\nHMI two\n"}
        response = client.post(f"/cases/{case[:8]}/fire", data=form)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == f"/cases/{case}?fired=give_notice"
        view = site.engine.get(case)
        assert view.state == "notice_given"
        assert view.data["inspectors"] == ["HMI one", "HMI two"]
        last = site.engine.history(case)[-1]
        assert last.actor == "backoffice"
        page = client.get(response.headers["location"]).text
        assert 'data-state="notice_given"' in page and "give notice was recorded" in page

    def test_an_auditor_sees_no_form_and_a_forged_post_is_403(self, site):
        case = site.start()
        client = site.signed_in(site.auditor)
        page = client.get(f"/cases/{case}").text
        assert 'action="/cases/' not in page and "may read this case but not change it" in page
        before = stored(site.engine)
        token = csrf_of(page)  # the sign-out form's token: a real one, of this very session
        form = {"csrf": token, "trigger": "give_notice", "data.on_site_start": "2013-06-10", "data.lead_inspector": "L", "data.inspectors": "H"}
        response = client.post(f"/cases/{case}/fire", data=form)
        assert response.status_code == 403
        assert "may read cases but not change them" in response.text
        assert stored(site.engine) == before

    @pytest.mark.parametrize("token", [None, "", "wrong-token"])
    def test_a_form_without_its_sessions_token_changes_nothing(self, site, token):
        case = site.start()
        client = site.signed_in(site.inspector)
        self.form(client, case)
        before = stored(site.engine)
        form = {"trigger": "give_notice", "data.on_site_start": "2013-06-10", "data.lead_inspector": "L", "data.inspectors": "H"}
        if token is not None:
            form["csrf"] = token
        response = client.post(f"/cases/{case}/fire", data=form)
        assert response.status_code == 403
        assert stored(site.engine) == before

    def test_another_sessions_token_is_refused(self, site):
        case = site.start()
        mine, theirs = site.signed_in(site.inspector), site.signed_in(site.inspector)
        token = self.form(theirs, case)["csrf"]
        self.form(mine, case)
        before = stored(site.engine)
        response = mine.post(f"/cases/{case}/fire", data={"csrf": token, "trigger": "give_notice"})
        assert response.status_code == 403
        assert stored(site.engine) == before

    def test_no_session_no_command(self, site):
        case = site.start()
        before = stored(site.engine)
        response = site.browser().post(f"/cases/{case}/fire", data={"trigger": "give_notice"})
        assert response.status_code == 303 and response.headers["location"].startswith("/sign-in")
        assert stored(site.engine) == before

    @pytest.mark.parametrize(
        "trigger, fields, status, words",
        [
            ("give_notice", {"data.lead_inspector": "L", "data.inspectors": "H"}, 422, "on_site_start"),  # a required field left empty
            ("give_notice", {"data.on_site_start": "10 June", "data.lead_inspector": "L", "data.inspectors": "H"}, 422, "on_site_start"),
            ("leave_site", {}, 409, "leave_site"),  # not allowed in this state
            ("not_a_trigger", {}, 409, "not_a_trigger"),
        ],
    )
    def test_a_refused_form_shows_why_on_the_page_and_writes_nothing(self, site, trigger, fields, status, words):
        case = site.start()
        client = site.signed_in(site.inspector)
        form = self.form(client, case) | {"trigger": trigger, "at": "2013-06-05T10:00"} | fields
        before = stored(site.engine)
        response = client.post(f"/cases/{case}/fire", data=form)
        assert response.status_code == status, response.text
        assert "There is a problem" in response.text and words in response.text
        assert stored(site.engine) == before

    def test_a_word_for_a_number_is_refused_before_the_engine(self, site):
        """forms.read_data: a field the definition types as a whole number takes only one."""
        from starlette.datastructures import FormData

        from laworkflow.errors import InvalidData
        from laworkflow.http.web.forms import read_data

        fields = {
            "days": {"type": "integer"},
            "ok": {"type": "boolean"},
            "items": {"type": "list", "choices": None},
            "pick": {"type": "list", "choices": ["a", "b"]},
        }
        assert read_data(FormData([("data.days", " 5 "), ("data.ok", "false"), ("data.items", "x\n\ny "), ("data.pick", "a"), ("data.pick", "b")]), fields) == {
            "days": 5,
            "ok": False,
            "items": ["x", "y"],
            "pick": ["a", "b"],
        }
        assert read_data(FormData([("data.days", "")]), fields) == {}
        with pytest.raises(InvalidData, match="days: enter a whole number"):
            read_data(FormData([("data.days", "five")]), fields)
        with pytest.raises(InvalidData, match="ok: choose yes or no"):
            read_data(FormData([("data.ok", "maybe")]), fields)


# ----------------------------------------------------------------- reading


class TestPages:
    def test_the_case_page_shows_diagram_timeline_history_chain_and_allowed(self, site):
        case = site.start()
        site.engine.fire(case, "give_notice", NOTICE, actor="backoffice", at="2013-06-05T10:00")
        page = site.signed_in(site.auditor).get(f"/cases/{case[:6]}")
        assert page.status_code == 200
        html = page.text
        assert "<svg" in html and 'data-state="notice_given"' in html
        assert 'id="timeline"' in html and 'id="history"' in html
        assert "chain intact" in html
        assert 'data-trigger="' in html  # what the case may do now
        assert "Norfolk" in html

    def test_a_case_page_for_no_case_is_a_404_page(self, site):
        client = site.signed_in(site.auditor)
        assert client.get("/cases/ffffffff").status_code == 404
        assert client.get("/cases/not-hex!").status_code in (404, 422)

    def test_the_case_list_filters(self, site):
        norfolk = site.start()
        other = site.engine.start(OFSTED, {"authority": "Suffolk", "concerns": ["attainment_below_national"]}, version=1, actor="setup", at="2013-06-03T09:00")
        client = site.signed_in(site.auditor)
        html = client.get("/cases", params={"authority": "Suffolk"}).text
        assert str(other)[:8] in html and norfolk[:8] not in html
        assert "1 case found" in html
        html = client.get("/cases", params={"where": "authority=Norfolk"}).text
        assert norfolk[:8] in html and str(other)[:8] not in html
        bad = client.get("/cases", params={"sort": "colour"})
        assert bad.status_code == 422 and "cannot sort by" in bad.text

    def test_the_workflow_page_quotes_the_sentence_behind_a_citation(self, site):
        html = site.signed_in(site.auditor).get(f"/workflows/{OFSTED}/1").text
        quote = site.engine.catalog.quotes.quote(site.engine.catalog.get(OFSTED, 1).definition.sources["laassi2013"].file, "42")
        assert quote and quote[:40].replace("'", "&#39;") in html
        assert site.signed_in(site.auditor).get(f"/workflows/{OFSTED}/99").status_code == 404

    def test_attention_and_register_render(self, site):
        site.start()
        client = site.signed_in(site.auditor)
        assert client.get("/attention").status_code == 200
        assert client.get("/attention", params={"weeks": "soon"}).status_code == 200
        assert client.get("/register").status_code == 200
        assert client.get("/register", params={"nation": "narnia"}).status_code == 422


def test_every_page_of_a_whole_inspection_renders(site):
    """The public Norfolk case run end to end (`demo`'s own steps): each of its cases, and every workflow, has a page."""
    from laworkflow.simulation import demo

    demo.run(site.engine)
    client = site.signed_in(site.inspector)
    for case in site.engine.case_ids():
        if str(case) == str(KEYRING_ID):
            continue
        response = client.get(f"/cases/{case}")
        assert response.status_code == 200, (case, response.text[:500])
    for compiled in site.engine.catalog:
        definition = compiled.definition
        assert client.get(f"/workflows/{definition.id}/{definition.version}").status_code == 200, definition.key
    for path in ("/attention", "/register", "/cases", "/workflows"):
        assert client.get(path).status_code == 200, path
