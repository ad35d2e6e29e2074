"""The pictures (`laworkflow.pictures`): state diagrams and timelines as SVG, and their PNG copies.

Every SVG is parsed with xml.etree (so it is well formed) and read through its
hooks (`g.state[data-state]`, `g.edge[data-source][data-target]`,
`g.deadline[data-deadline]`, `g.milestone`). Expected values are written by
hand: the states and self-loops from `workflows/ofsted-laassi-2013.yaml`, the
path and dates of the Norfolk case from its published dates (on site 10 to 14
June 2013, letter due Friday 12 July and sent that day, publication due Friday
19 July and done Thursday 18 July, framework para 42), as `laworkflow show`
prints them. The PNG is decoded here (zlib and the five PNG filters) to count
its dark pixels, so a PNG with no text in it fails.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
import zlib
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from laworkflow.calendar.clock import SimulatedClock
from laworkflow.cases.views import HistoryEntry
from laworkflow.definitions.catalog import Catalog
from laworkflow.definitions.diagram import mermaid
from laworkflow.definitions.loader import load_file
from laworkflow.engine import Engine
from laworkflow.errors import InvalidData
from laworkflow.pictures import Step, state_diagram_svg, steps_from_history, svg_to_png, timeline_from_history, timeline_svg
from laworkflow.simulation import demo
from laworkflow.store import store_env

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
SHIPPED = sorted(WORKFLOWS.glob("*.yaml"))
SVG = "{http://www.w3.org/2000/svg}"

# ofsted-laassi-2013.yaml, read by hand: raise_concern and resolve_concern keep a case in nine states (notice_given,
# deferred, on_site, feedback_return_due, quality_assurance, further_visit_required, told_incomplete, letter_drafted,
# letter_sent), lodge_complaint adds published and statement_of_action_received, and record_evidence, extend_on_site,
# give_feedback and receive_factual_accuracy_comments stay in states already counted: eleven states with self-loops.
LAASSI_SELF_LOOP_STATES = {
    "notice_given",
    "deferred",
    "on_site",
    "feedback_return_due",
    "quality_assurance",
    "further_visit_required",
    "told_incomplete",
    "letter_drafted",
    "letter_sent",
    "published",
    "statement_of_action_received",
}
assert len(LAASSI_SELF_LOOP_STATES) == 11

# The Norfolk case (laworkflow.simulation.demo): every transition it took, in order, from its published dates.
NORFOLK_STEPS = [
    ("concern_raised", "give_notice", "notice_given"),  # 5 June: notice of the inspection
    ("notice_given", "begin_on_site", "on_site"),  # 10 June: the timer, on the first day on site
    ("on_site", "record_evidence", "on_site"),  # 11 June
    ("on_site", "record_evidence", "on_site"),  # 13 June
    ("on_site", "give_feedback", "on_site"),  # 14 June, noon
    ("on_site", "leave_site", "quality_assurance"),  # 14 June, end of the week on site
    ("quality_assurance", "make_judgement", "letter_drafted"),  # 28 June
    ("letter_drafted", "receive_factual_accuracy_comments", "letter_drafted"),  # 3 July
    ("letter_drafted", "send_letter", "letter_sent"),  # 12 July
    ("letter_sent", "publish_letter", "published"),  # 18 July
    ("published", "receive_statement_of_action", "statement_of_action_received"),  # 6 September
    ("statement_of_action_received", "arrange_reinspection", "reinspection_arranged"),  # 20 September
]
NORFOLK_TAKEN = {(source, target) for source, _, target in NORFOLK_STEPS}
NORFOLK_VISITED = {
    "concern_raised",
    "notice_given",
    "on_site",
    "quality_assurance",
    "letter_drafted",
    "letter_sent",
    "published",
    "statement_of_action_received",
    "reinspection_arranged",
}
NORFOLK_MILESTONES = [
    (date(2013, 6, 3), "concern_raised"),
    (date(2013, 6, 5), "notice_given"),
    (date(2013, 6, 10), "on_site"),
    (date(2013, 6, 14), "quality_assurance"),
    (date(2013, 6, 28), "letter_drafted"),
    (date(2013, 7, 12), "letter_sent"),
    (date(2013, 7, 18), "published"),
    (date(2013, 9, 6), "statement_of_action_received"),
    (date(2013, 9, 20), "reinspection_arranged"),
]


def parse(svg: str) -> ET.Element:
    assert svg.startswith("<svg"), svg[:80]
    return ET.fromstring(svg)


def groups(root: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if kind in (g.get("class") or "").split()]


def classes(element: ET.Element) -> set[str]:
    return set((element.get("class") or "").split())


def words(element: ET.Element) -> list[str]:
    """The lines of real <text> inside an element."""
    return ["".join(t.itertext()) for t in element.iter(f"{SVG}text")]


def edge(root: ET.Element, source: str, target: str) -> ET.Element:
    found = [g for g in groups(root, "edge") if (g.get("data-source"), g.get("data-target")) == (source, target)]
    assert len(found) == 1, (source, target, len(found))
    return found[0]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_directory(WORKFLOWS)


@pytest.fixture(scope="module")
def norfolk(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory):
    """The public Norfolk case, run on a real SQLite file; its definition, view and history."""
    store = f"sqlite:///{tmp_path_factory.mktemp('norfolk') / 'events.sqlite'}"
    engine = Engine(catalog, clock=SimulatedClock(demo.START), env=store_env(store))
    try:
        case_id = demo.run(engine)
        view = engine.get(case_id)
        definition = engine.pinned(view.workflow, view.version, view.definition_hash).definition
        yield definition, view, engine.history(case_id)
    finally:
        engine.close()


# ------------------------------------------------------------------ state diagrams of every shipped workflow


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_state_is_drawn_once_and_every_self_loop_is_one_group(path: Path) -> None:
    """Each state of the YAML is one box; each state with triggers that keep it there has exactly one loop, naming all of them."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))  # read apart from the model, for the expectation
    root = parse(state_diagram_svg(load_file(path)))
    drawn = [g.get("data-state") for g in groups(root, "state")]
    assert sorted(drawn) == sorted(raw["states"])
    loops: dict[str, set[str]] = {}
    for transition in raw["transitions"]:
        sources = transition["from"] if isinstance(transition["from"], list) else [transition["from"]]
        for source in sources:
            if transition.get("to", source) == source:
                loops.setdefault(source, set()).add(transition["trigger"])
    drawn_loops = groups(root, "self-loop")
    assert sorted(g.get("data-source") for g in drawn_loops) == sorted(loops)
    for g in drawn_loops:
        assert g.get("data-source") == g.get("data-target")
        assert set(g.get("data-triggers", "").split()) == loops[g.get("data-source", "")]
    initial = [g.get("data-state") for g in groups(root, "initial")]
    assert initial == [raw["initial"]]
    assert {g.get("data-state") for g in groups(root, "terminal")} == {name for name, s in raw["states"].items() if s.get("terminal")}


def test_laassi_2013_has_eleven_self_loop_groups_written_by_hand() -> None:
    root = parse(state_diagram_svg(load_file(WORKFLOWS / "ofsted-laassi-2013.yaml")))
    loops = groups(root, "self-loop")
    assert len(loops) == 11
    assert {g.get("data-source") for g in loops} == LAASSI_SELF_LOOP_STATES
    on_site = edge(root, "on_site", "on_site")
    assert on_site.get("data-triggers", "").split() == [
        "record_evidence",
        "extend_on_site",
        "give_feedback",
        "raise_concern",
        "resolve_concern",
        "lodge_complaint",
    ]
    # One arrow per pair: leave_site's two transitions from on_site go to two states, so two arrows, each with its guard.
    assert "leave_site [if strengths given]" in words(edge(root, "on_site", "quality_assurance"))
    assert "leave_site [if feedback_return_reason given]" in words(edge(root, "on_site", "feedback_return_due"))


def test_guards_are_summarised_on_their_arrows() -> None:
    """The guards of the YAML, in words: $notice_period read as its value, four recipients cut to one and "3 more"."""
    root = parse(state_diagram_svg(load_file(WORKFLOWS / "ofsted-laassi-2013.yaml")))
    assert "give_notice [if on_site_start within 5 working days]" in words(edge(root, "concern_raised", "notice_given"))
    assert "send_letter [if recipients has chief_executive and 3 more]" in words(edge(root, "letter_drafted", "letter_sent"))
    assert "arrange_reinspection [if effective = false]" in words(edge(root, "statement_of_action_received", "reinspection_arranged"))
    assert "decide_not_to_inspect [if concerns lacks secretary_of_state_request]" in words(edge(root, "concern_raised", "not_inspected"))
    # The full guards are the arrow's tooltip.
    title = "".join(edge(root, "letter_drafted", "letter_sent").find(f"{SVG}title").itertext())  # type: ignore[union-attr]
    assert "recipients has secretary_of_state" in title


def test_a_timer_arrow_is_dashed_and_says_when_it_fires() -> None:
    """notice_ends (in notice_given, due 'on on_site_start') fires begin_on_site: that arrow alone is dashed."""
    root = parse(state_diagram_svg(load_file(WORKFLOWS / "ofsted-laassi-2013.yaml")))
    timer = edge(root, "notice_given", "on_site")
    assert "timer" in classes(timer) and timer.get("data-timers") == "notice_ends"
    assert "timer notice_ends: on on_site_start" in words(timer)
    assert timer.find(f"{SVG}path").get("stroke-dasharray")  # type: ignore[union-attr]
    assert [g.get("data-source") for g in groups(root, "timer")] == ["notice_given"]
    assert edge(root, "told_incomplete", "on_site").find(f"{SVG}path").get("stroke-dasharray") is None  # type: ignore[union-attr]


def test_a_diagram_is_accessible() -> None:
    """role=img, labelled by its <title> and <desc>; the names are real text; no colour-only highlight without a case."""
    svg = state_diagram_svg(load_file(WORKFLOWS / "ofsted-laassi-2013.yaml"))
    root = parse(svg)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    ids = {element.get("id"): element for element in root.iter() if element.get("id")}
    assert ids[title_id].tag == f"{SVG}title" and ids[desc_id].tag == f"{SVG}desc"
    assert "15 states" in "".join(ids[desc_id].itertext())
    assert "reinspection_arranged" in [w for g in groups(root, "state") for w in words(g)]
    assert not groups(root, "taken") and not groups(root, "visited") and not groups(root, "current")


def test_text_is_escaped() -> None:
    """A title and descriptions holding markup stay text: the document is still well formed and says them as written."""
    definition = load_file(WORKFLOWS / "ofsted-laassi-2013.yaml")
    states = dict(definition.states)
    states["closed"] = states["closed"].model_copy(update={"description": 'Closed <b>"done"</b> & filed'})
    odd = definition.model_copy(update={"states": states})
    root = parse(state_diagram_svg(odd, title="Norfolk <script>alert(1)</script> & co"))
    assert root.find(f"{SVG}title").text == "Norfolk <script>alert(1)</script> & co"  # type: ignore[union-attr]
    closed = [g for g in groups(root, "state") if g.get("data-state") == "closed"][0]
    assert closed.find(f"{SVG}title").text == 'closed: Closed <b>"done"</b> & filed'  # type: ignore[union-attr]
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))


def test_mermaid_has_one_arrow_per_pair_with_guards() -> None:
    text = mermaid(load_file(WORKFLOWS / "ofsted-laassi-2013.yaml"))
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert sum(1 for line in lines if line.strip().startswith("on_site --> on_site:")) == 1
    on_site = next(line for line in lines if line.strip().startswith("on_site --> on_site:"))
    assert on_site.split(": ", 1)[1].split("<br/>") == [
        "record_evidence",
        "extend_on_site",
        "give_feedback",
        "raise_concern",
        "resolve_concern",
        "lodge_complaint",
    ]
    assert "    letter_drafted --> letter_sent: send_letter [if recipients has chief_executive and 3 more]" in lines
    assert (
        "    notice_given --> on_site: timer notice_ends: on on_site_start<br/>begin_on_site [if on or after on_site_start, or if early_start_reason given]"
        in lines
    )
    arrows = [line.split(":")[0].strip() for line in lines[2:] if "-->" in line and "[*]" not in line]
    assert len(arrows) == len(set(arrows)) == 29  # 18 arrows between states and the 11 loops


# ------------------------------------------------------------------ the Norfolk case


def test_steps_are_the_transitions_norfolk_took(norfolk) -> None:
    _, _, history = norfolk
    steps = steps_from_history(history)
    assert [(s.source, s.trigger, s.target) for s in steps] == NORFOLK_STEPS
    assert all(isinstance(s, Step) for s in steps)
    assert steps[0].effective_at.date() == date(2013, 6, 5)


def test_norfolk_diagram_highlights_exactly_its_path(norfolk) -> None:
    definition, view, history = norfolk
    assert view.state == "reinspection_arranged"
    root = parse(state_diagram_svg(definition, steps=steps_from_history(history), current=view.state))
    assert {(g.get("data-source"), g.get("data-target")) for g in groups(root, "taken")} == NORFOLK_TAKEN
    assert {g.get("data-state") for g in groups(root, "visited")} == NORFOLK_VISITED
    assert [g.get("data-state") for g in groups(root, "current")] == ["reinspection_arranged"]
    # Not by colour alone: the current state says so in words, taken arrows are thicker and their triggers numbered.
    current = groups(root, "current")[0]
    assert "current state · end state" in words(current)
    taken_width = {float(g.find(f"{SVG}path").get("stroke-width", 0)) for g in groups(root, "taken")}  # type: ignore[union-attr]
    other_width = {float(g.find(f"{SVG}path").get("stroke-width", 0)) for g in groups(root, "edge") if "taken" not in classes(g)}  # type: ignore[union-attr]
    assert min(taken_width) >= 2 * max(other_width)
    assert "step 1: give_notice [if on_site_start within 5 working days]" in words(edge(root, "concern_raised", "notice_given"))
    loop = words(edge(root, "on_site", "on_site"))
    assert "steps 3, 4: record_evidence" in loop and "step 5: give_feedback" in loop and "extend_on_site" in loop
    desc = "".join(root.find(f"{SVG}desc").itertext())  # type: ignore[union-attr]
    assert "This case took 12 steps" in desc and "now in reinspection_arranged" in desc


def test_norfolk_timeline_rows_have_the_published_dates(norfolk) -> None:
    _, view, history = norfolk
    timeline = timeline_from_history(history)
    rows = {row.id: row for row in timeline.deadlines}
    assert set(rows) == {"on_site_normal_length", "letter_sent", "letter_published"}
    expected = {  # (due, met on), as `laworkflow show` prints them
        "on_site_normal_length": (date(2013, 6, 14), date(2013, 6, 14)),
        "letter_sent": (date(2013, 7, 12), date(2013, 7, 12)),
        "letter_published": (date(2013, 7, 19), date(2013, 7, 18)),
    }
    for deadline_id, (due, met_on) in expected.items():
        assert (rows[deadline_id].due, rows[deadline_id].met_on, rows[deadline_id].status, rows[deadline_id].timing) == (due, met_on, "met", "on_time")
        assert view.deadlines[deadline_id]["due_date"] == due.isoformat()
    assert rows["letter_sent"].set_on == date(2013, 6, 14)
    assert [(m.on, m.state) for m in timeline.milestones] == NORFOLK_MILESTONES

    root = parse(timeline_svg(timeline, title="Norfolk"))
    drawn = {g.get("data-deadline"): g for g in groups(root, "deadline")}
    for deadline_id, (due, met_on) in expected.items():
        assert (drawn[deadline_id].get("data-due"), drawn[deadline_id].get("data-met-on")) == (due.isoformat(), met_on.isoformat())
        assert {"met", "on-time"} <= classes(drawn[deadline_id])
    assert "met 18 Jul" in words(drawn["letter_published"]) and "due 19 Jul" in words(drawn["letter_published"])
    assert [(g.get("data-date"), g.get("data-state")) for g in groups(root, "milestone")] == [(d.isoformat(), s) for d, s in NORFOLK_MILESTONES]
    assert root.get("role") == "img" and len(root.get("aria-labelledby", "").split()) == 2
    assert not groups(root, "today")


def test_today_long_after_an_ended_case_does_not_stretch_its_axis(norfolk) -> None:
    """Nothing waits on a day in 2026: the axis keeps the case's months (June to September 2013) and says so in words."""
    _, _, history = norfolk
    root = parse(timeline_svg(timeline_from_history(history), today=date(2026, 12, 6)))
    assert not groups(root, "today")
    assert "Today, 2026-12-06, is outside the dates shown." in [w for g in groups(root, "today-outside") for w in words(g)]
    assert [w for g in groups(root, "axis") for w in words(g)] == ["Jun 2013", "Jul 2013", "Aug 2013", "Sep 2013"]


def test_a_timeline_part_way_shows_pending_deadlines_at_today(norfolk) -> None:
    """The history up to 1 July 2013: both letter deadlines pending, their markers on the day marked today."""
    _, _, history = norfolk
    before = [entry for entry in history if entry.effective_at.date() <= date(2013, 6, 30)]
    root = parse(timeline_svg(timeline_from_history(before), today=date(2013, 7, 1)))
    drawn = {g.get("data-deadline"): g for g in groups(root, "deadline")}
    assert classes(drawn["letter_sent"]) == {"deadline", "pending"} and drawn["letter_sent"].get("data-met-on") is None
    assert "pending on 1 Jul" in words(drawn["letter_sent"])
    assert [g.get("data-date") for g in groups(root, "today")] == ["2013-07-01"]


def test_a_missed_deadline_met_late_is_drawn_late(catalog: Catalog, tmp_path: Path) -> None:
    """Letter due Friday 12 July 2013, missed, sent Monday 22 July: late by 6 working days (15-19 and 22 July)."""
    engine = Engine(catalog, clock=SimulatedClock(demo.START), env=store_env(f"sqlite:///{tmp_path / 'late.sqlite'}"))
    try:
        case = engine.start("ofsted-laassi", {"authority": "Norfolk", "concerns": ["attainment_below_national"]}, version=1, actor="hmci", at=demo.START)
        engine.fire(case, "give_notice", {"on_site_start": "2013-06-10", "lead_inspector": "L", "inspectors": ["H"]}, actor="o", at="2013-06-05T10:00")
        engine.run_due(until="2013-06-10T09:00")
        engine.fire(case, "give_feedback", {"strengths": ["a"], "weaknesses": ["b"]}, actor="l", at="2013-06-14T12:00")
        engine.fire(case, "leave_site", actor="l", at="2013-06-14T17:00")
        engine.fire(case, "make_judgement", {"effective": True, "strengths": ["a"], "weaknesses": ["b"], "recommendations": ["c"]}, actor="q", at="2013-06-28")
        engine.run_due(until="2013-07-15T09:00")
        engine.fire(case, "send_letter", {"recipients": demo.RECIPIENTS}, actor="o", at="2013-07-22T10:00")
        history = engine.history(case)
    finally:
        engine.close()
    row = {r.id: r for r in timeline_from_history(history).deadlines}["letter_sent"]
    assert (row.status, row.missed_on, row.met_on, row.timing, row.late_by_working_days) == ("met", date(2013, 7, 12), date(2013, 7, 22), "late", 6)
    assert row.outcome() == "met 2013-07-22, 6 working days late"
    root = parse(timeline_svg(timeline_from_history(history)))
    drawn = {g.get("data-deadline"): g for g in groups(root, "deadline")}["letter_sent"]
    assert {"met", "late"} <= classes(drawn) and drawn.get("data-missed-on") == "2013-07-12"
    assert "met 22 Jul (late)" in words(drawn)


def test_an_empty_timeline_says_so() -> None:
    empty = timeline_from_history([])
    assert (empty.deadlines, empty.milestones) == ([], [])
    root = parse(timeline_svg(empty))
    assert any("Nothing to show yet" in w for w in words(root))


# ------------------------------------------------------------------ PNG


def decode_png(data: bytes) -> tuple[int, int, list[bytearray]]:
    """Width, height and RGBA rows of an 8-bit RGBA or RGB PNG, read with zlib and the PNG filters (no imaging library)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        header = body if kind == b"IHDR" else header
        chunks += [body] if kind == b"IDAT" else []
        position += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6)
    channels = 4 if colour == 6 else 3
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(line)
        previous = line
    if channels == 3:
        rows = [bytearray(b for x in range(width) for b in (*row[3 * x : 3 * x + 3], 255)) for row in rows]
    return width, height, rows


def dark_pixels(rows: list[bytearray], box: tuple[int, int, int, int]) -> int:
    left, top, right, bottom = box
    return sum(1 for y in range(top, bottom) for x in range(left, right) if max(rows[y][4 * x : 4 * x + 3]) < 100 and rows[y][4 * x + 3] > 200)


def test_png_is_the_svg_drawn_with_its_text() -> None:
    """Magic, twice the SVG's size, and dark pixels where the heading's text is, none there when the heading is taken out."""
    svg = state_diagram_svg(load_file(WORKFLOWS / "ofsted-monitoring-visit-2016.yaml"), title="Monitoring visit")
    root = parse(svg)
    width, height = float(root.get("width", 0)), float(root.get("height", 0))
    png = svg_to_png(svg)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    png_width, png_height, rows = decode_png(png)
    assert (png_width, png_height) == (round(2 * width), round(2 * height))
    heading = (2 * 16, 2 * 14, 2 * 150, 2 * 36)  # "Monitoring visit", 15px bold at (16, 31): nothing else is drawn there
    assert dark_pixels(rows, heading) > 300
    blank = svg.replace(">Monitoring visit</text>", "></text>")
    assert blank != svg
    assert dark_pixels(decode_png(svg_to_png(blank))[2], heading) == 0
    assert decode_png(svg_to_png(svg, scale=1.0))[:2] == (round(width), round(height))


def test_png_refuses_a_bad_scale_and_bad_svg() -> None:
    with pytest.raises(InvalidData):
        svg_to_png("<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>", scale=0)
    with pytest.raises(InvalidData):
        svg_to_png("not svg at all")


def entry(kind: str, day: str, **details: object) -> HistoryEntry:
    """One event as `Engine.history` gives it, with the fields `cases/case.py` records for its type."""
    moment = datetime.fromisoformat(f"{day}T10:00:00+00:00")
    return HistoryEntry(version=0, type=kind, effective_at=moment, recorded_at=moment, actor="test", details=dict(details), prev_hash="", digest="")


def test_windows_replaced_missed_and_withdrawn_deadlines() -> None:
    """A window met early, a deadline set again while open (the first row replaced) then withdrawn, one missed."""
    history = [
        entry("Started", "2023-01-02", state="monitoring", data={}),
        entry(
            "DeadlineSet", "2023-01-10", deadline_id="conference", due_date="2023-06-30", target_date="2023-05-31", earliest_date="2023-04-30", met_by="hold"
        ),
        entry("DeadlineSet", "2023-01-10", deadline_id="visit", due_date="2023-03-01", target_date=None, earliest_date=None, met_by="visit"),
        entry("DeadlineSet", "2023-01-10", deadline_id="reply", due_date="2023-02-10", target_date=None, earliest_date=None, met_by="reply"),
        entry("DeadlineSet", "2023-02-01", deadline_id="visit", due_date="2023-04-01", target_date=None, earliest_date=None, met_by="visit"),
        entry("DeadlineMissed", "2023-02-11", deadline_id="reply", due_date="2023-02-10"),
        entry("Transitioned", "2023-03-15", trigger="stop", source="monitoring", target="stopped", data={}),
        entry("DeadlineWithdrawn", "2023-03-15", deadline_id="visit", reason="case ended before it was met"),
        entry("DeadlineWithdrawn", "2023-03-15", deadline_id="conference", reason="case ended before it was met"),
    ]
    # The conference is withdrawn here; a second history has it met early, on 20 April (before its earliest day, 30 April).
    met_early = [*history[:-1], entry("DeadlineMet", "2023-04-20", deadline_id="conference", met_on="2023-04-20", late_by_working_days=0, timing="early")]
    timeline = timeline_from_history(met_early)
    assert [(r.id, r.status) for r in timeline.deadlines] == [("conference", "met"), ("visit", "replaced"), ("reply", "missed"), ("visit", "withdrawn")]
    assert [r.outcome() for r in timeline.deadlines] == ["met 2023-04-20, early", "replaced (set again)", "missed 2023-02-10", "withdrawn 2023-03-15"]
    assert [(m.on, m.state, m.trigger) for m in timeline.milestones] == [(date(2023, 1, 2), "monitoring", "start"), (date(2023, 3, 15), "stopped", "stop")]
    root = parse(timeline_svg(timeline))
    rows = groups(root, "deadline")
    assert [(g.get("data-deadline"), g.get("data-status")) for g in rows] == [
        ("conference", "met"),
        ("visit", "replaced"),
        ("reply", "missed"),
        ("visit", "withdrawn"),
    ]
    conference = words(rows[0])
    for label in ("earliest 30 Apr", "target 31 May", "due 30 Jun", "met 20 Apr (early)"):
        assert label in conference
    assert (rows[0].get("data-earliest"), rows[0].get("data-target"), rows[0].get("data-due")) == ("2023-04-30", "2023-05-31", "2023-06-30")
    assert "early" in classes(rows[0])
    assert not [w for w in words(rows[1]) if w.startswith(("met", "missed", "withdrawn", "pending"))]  # no marker for a replaced row
    assert "missed 10 Feb" in words(rows[2]) and "withdrawn 15 Mar" in words(rows[3])
    assert timeline_from_history(history).deadlines[0].status == "withdrawn"
