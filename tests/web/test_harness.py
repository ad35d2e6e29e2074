"""The harness finds what it must: a check that always found nothing would pass every page.

Two small pages written here by hand, one with faults axe-core's WCAG 2 A/AA rules name (an image
with no text alternative, a field with no label, a page with no language or title), one without;
and a page that asks another host for an image, which the browser context aborts and records.
"""

from __future__ import annotations

import pytest
from web_harness import Traffic, assert_accessible, check_accessibility, local_only_context

FAULTY = """<!DOCTYPE html><html><head></head><body><main>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<form><input type="text" name="authority"></form>
</main></body></html>"""

SOUND = """<!DOCTYPE html><html lang="en-GB"><head><title>Cases</title></head><body><main>
<h1>Cases</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="Norfolk's inspection, on site">
<form><label for="authority">Authority</label><input id="authority" type="text" name="authority"></form>
</main></body></html>"""


def test_axe_names_each_fault_of_a_faulty_page(page):
    page.set_content(FAULTY)
    found = {violation["id"] for violation in check_accessibility(page)}
    assert {"image-alt", "label", "html-has-lang", "document-title"} <= found, found
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page)


def test_axe_finds_nothing_on_a_sound_page(page):
    page.set_content(SOUND)
    assert check_accessibility(page) == []
    assert_accessible(page)


def test_a_request_to_another_host_is_aborted_and_recorded(browser, web_server):
    """What the `page` fixture fails a test on: here the context is used directly, so the attempt can be looked at."""
    traffic = Traffic()
    context = local_only_context(browser, traffic)
    try:
        page = context.new_page()
        page.goto(web_server.url("/readyz"))
        page.set_content('<img src="https://cdn.example.org/logo.svg" alt="logo"><img src="/static/vendor/nothing.png" alt="nothing">')
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert traffic.outside == ["GET https://cdn.example.org/logo.svg"]
    assert traffic.failed_locally == [f"404 GET {web_server.url('/static/vendor/nothing.png')}"]
