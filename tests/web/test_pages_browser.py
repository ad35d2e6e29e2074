"""The web view in a real browser: Debian's Chromium, driven by Playwright, against a real `serve` on an SQLite file.

The store holds the public Norfolk case (June 2013, run end to end by `demo`) and
a Suffolk case just started. An inspector signs in, filters the cases, opens one
and fires a trigger with its form; an auditor finds no form, and a POST forged
from the auditor's own session is refused. Every page is checked by axe-core at
WCAG 2.2 AA and photographed into test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_harness import SCREENSHOTS, WORKFLOWS, WebServer, assert_accessible, screenshot, start_server

SUFFOLK = {"authority": "Suffolk", "concerns": ["attainment_below_national"]}


def cli(store: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "laworkflow.cli", "--store", str(store), "--workflows", str(WORKFLOWS), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=store.parent,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from web_harness import require_assets

    require_assets()
    folder = tmp_path_factory.mktemp("pages")
    store = folder / "web.sqlite"
    cli(store, "demo")
    suffolk = json.loads(
        cli(store, "start", "ofsted-laassi", "--version", "1", "--at", "2013-06-03", "--actor", "ofsted", "--data", json.dumps(SUFFOLK), "--json")
    )["id"]
    with start_server(folder) as server:
        cases = httpx.get(server.url("/v1/cases"), params={"authority": "Norfolk", "sort": "started"}, headers={"X-API-Key": server.auditor_key}).json()[
            "cases"
        ]
        yield {"server": server, "suffolk": suffolk, "norfolk": cases[0]["id"]}


def sign_in(page: Any, server: WebServer, key: str, path: str) -> None:
    page.goto(server.url(path))
    assert "/sign-in" in page.url
    page.fill("#key", key)
    page.click("#sign-in")
    page.wait_for_url(server.url(path))


def history(server: WebServer, case: str) -> list[dict[str, Any]]:
    response = httpx.get(server.url(f"/v1/cases/{case}/history"), headers={"X-API-Key": server.auditor_key})
    assert response.status_code == 200
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def test_an_inspector_finds_a_case_and_fires_a_trigger_with_its_form(site, page):
    server: WebServer = site["server"]
    page.goto(server.url("/cases"))
    assert_accessible(page)
    screenshot(page, "sign-in")
    sign_in(page, server, server.inspector_key, "/cases")
    page.select_option("#f-workflow", "ofsted-laassi")
    page.fill("#f-authority", "Suffolk")
    page.click("#apply-filters")
    page.wait_for_url("**/cases?*authority=Suffolk*")
    rows = page.locator("#case-list tbody tr")
    assert rows.count() == 1 and "Suffolk" in rows.first.inner_text()
    rows.first.locator("a").click()
    page.wait_for_url(server.url(f"/cases/{site['suffolk']}"))
    assert page.locator("#case-state").get_attribute("data-state") == "concern_raised"
    form = page.locator("#trigger-give_notice form")
    form.locator("#field-give_notice-on_site_start").fill("2013-06-10")
    form.locator("#field-give_notice-lead_inspector").fill("Lead HMI")
    form.locator("#field-give_notice-inspectors").fill("HMI one\nHMI two")
    form.locator("#field-give_notice-at").fill("2013-06-05T10:00")
    form.locator("#fire-give_notice").click()
    page.wait_for_url("**?fired=give_notice")
    assert page.locator("#case-state").get_attribute("data-state") == "notice_given"
    assert "give notice was recorded" in page.locator(".govuk-notification-banner").inner_text()
    last = history(server, site["suffolk"])[-1]
    assert last["actor"] == "web-inspector"
    screenshot(page, "case-after-firing")


def test_a_refused_form_says_why_and_nothing_is_written(site, page):
    server: WebServer = site["server"]
    case = site["suffolk"]
    sign_in(page, server, server.inspector_key, f"/cases/{case}")
    before = history(server, case)
    assert page.locator("section[data-trigger] form").count() > 0
    first = page.locator("section[data-trigger]").first
    name = first.get_attribute("data-trigger")
    first.locator(f"#field-{name}-at").fill("2001-01-01")  # before the case's last event: refused
    first.locator(f"#fire-{name}").click()
    page.wait_for_load_state()
    assert "There is a problem" in page.locator(".govuk-error-summary").inner_text()
    assert history(server, case) == before
    assert_accessible(page)
    screenshot(page, "case-refused")


def test_an_auditor_reads_but_finds_no_form_and_a_forged_post_is_refused(site, page):
    server: WebServer = site["server"]
    case = site["norfolk"]
    sign_in(page, server, server.auditor_key, f"/cases/{case}")
    assert page.locator("form.lw-fire").count() == 0
    assert "You may read this case but not change it" in page.locator("body").inner_text()
    token = page.locator("input[name=csrf]").first.get_attribute("value")  # the sign-out form's: a real token of this session
    before = history(server, case)
    response = page.request.post(server.url(f"/cases/{case}/fire"), form={"csrf": token, "trigger": "arrange_reinspection"}, max_redirects=0)
    assert response.status == 403
    assert history(server, case) == before


def test_the_csrf_token_is_enforced(site, page):
    server: WebServer = site["server"]
    case = site["suffolk"]
    sign_in(page, server, server.inspector_key, f"/cases/{case}")
    before = history(server, case)
    for form in ({"trigger": "withdraw"}, {"trigger": "withdraw", "csrf": "not-the-token"}):
        response = page.request.post(server.url(f"/cases/{case}/fire"), form=form, max_redirects=0)
        assert response.status == 403
    assert history(server, case) == before


@pytest.mark.parametrize(
    "name, path",
    [
        ("attention", "/attention"),
        ("register", "/register"),
        ("cases", "/cases"),
        ("case", "/cases/{norfolk}"),
        ("workflows", "/workflows"),
        ("workflow", "/workflows/ofsted-laassi/1"),
        ("workflow-estyn", "/workflows/estyn-lges/1"),
        ("migrations", "/migrations"),
        ("migration-plan", "/migrations?from=ofsted-laassi@1&to=ofsted-laassi@2&at=2014-06-01"),
    ],
)
def test_every_page_passes_wcag_22_aa(site, page, name, path):
    server: WebServer = site["server"]
    target = path.format(norfolk=site["norfolk"])
    sign_in(page, server, server.auditor_key if name != "case" else server.inspector_key, target)
    assert_accessible(page)
    screenshot(page, name)
    if name == "case":  # the README's picture of the case page: its top, as a screen shows it
        page.set_viewport_size({"width": 1280, "height": 1600})
        page.screenshot(path=str(SCREENSHOTS / "case-top.png"), clip={"x": 0, "y": 0, "width": 1280, "height": 1600})
