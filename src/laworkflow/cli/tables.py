"""The text of the questions across cases (`due`, `upcoming`, `register`) as tables a person can act on.

On a national store a line such as "letter_sent ofsted-laassi@3" appears once
per authority, so every row names the authority, the case (a prefix of its id,
which every command accepts as it accepts the whole id), the workflow, what is
due and how late it is. The tables are rich tables (rich comes with Typer):
they are laid out to the terminal's width, or $COLUMNS when the output is not a
terminal (80 if unset), and a cell too long for its column folds onto the next
line instead of pushing the line past the edge. `--json` is unaffected.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from rich import box
from rich.console import Console
from rich.table import Table

from laworkflow.calendar.clock import LONDON, uk_date
from laworkflow.engine import Engine

PREFIX = 8  # hex digits of a case id shown; any unique prefix of 4 or more is accepted back


def console() -> Console:
    """Standard output as rich sees it: no colour or markup read into the cells, width from the terminal or $COLUMNS."""
    return Console(highlight=False, soft_wrap=False, emoji=False)


# Columns kept whole while the line allows it: a date, a case prefix; the others fold first.
MIN_WIDTHS = {"due": 10, "since": 10, "case": PREFIX, "late": 7}


def table(*columns: str) -> Table:
    """A table whose every column folds a long cell rather than overflow the line."""
    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, expand=False, collapse_padding=True)
    for name in columns:
        grid.add_column(name, overflow="fold", min_width=MIN_WIDTHS.get(name), ratio=None)
    return grid


def print_table(grid: Table, empty: str) -> None:
    """The table, or one line saying there is nothing to show."""
    out = console()
    if grid.row_count:
        out.print(grid, markup=False)
    else:
        out.print(empty, markup=False)


def authorities(engine: Engine, case_ids: Iterable[UUID | str]) -> dict[str, str]:
    """The authority each case was started for (its `authority` field), by case id as text."""
    found: dict[str, str] = {}
    for case_id in {str(c) for c in case_ids}:
        found[case_id] = str(engine.get(case_id).data.get("authority", "-"))
    return found


def due_day(item: dict[str, Any]) -> date:
    """The UK day an item falls due: a deadline's `due_at` is the moment its day is over, so its day is the one before."""
    moment = datetime.fromisoformat(item["due_at"])
    if item["kind"] == "deadline":
        moment -= timedelta(microseconds=1)
    return uk_date(moment)


def lateness(item: dict[str, Any], now: datetime) -> str:
    """How late an item is at `now` ("3 days late"), or how soon it falls due ("in 5 days", "today")."""
    moment = datetime.fromisoformat(item["due_at"])
    days = (uk_date(now) - due_day(item)).days
    if moment <= now:
        return f"{max(days, 0)} day{'s' if days != 1 else ''} late" if days > 0 else "due today"
    if days == 0:
        return "today"
    return f"in {-days} day{'s' if days != -1 else ''}"


def case_prefix(case_id: str) -> str:
    return case_id[:PREFIX]


def due_table(items: list[dict[str, Any]], names: dict[str, str], now: datetime, *, with_time: bool) -> Table:
    """One row per item: when, how late, authority, case, workflow, what (kind and name), what it does."""
    grid = table("due", "late", "authority", "case", "workflow", "what", "detail")
    for item in items:
        moment = datetime.fromisoformat(item["due_at"]).astimezone(LONDON)
        when = f"{moment:%Y-%m-%d %H:%M}" if with_time and item["kind"] != "deadline" else due_day(item).isoformat()
        grid.add_row(
            when,
            lateness(item, now),
            names.get(item["case_id"], "-"),
            case_prefix(item["case_id"]),
            item["workflow"],
            f"{item['kind']} {item['name']}",
            item["detail"],
        )
    return grid


def register_table(entries: list[dict[str, Any]], now: datetime) -> Table:
    """One row per authority and status: nation, since, its cases, what is next and how late."""
    grid = table("authority", "nation", "status", "since", "cases", "next", "late", "findings")
    for entry in entries:
        cases = "\n".join(f"{case_prefix(c['id'])} {c['workflow']} {c['state']}" for c in entry["cases"])
        nxt = entry["next_due"]
        grid.add_row(
            entry["authority"],
            entry["nation"],
            entry["status"],
            entry["since"][:10],
            cases,
            f"{nxt['kind']} {nxt['name']} {due_day(nxt).isoformat()} (case {case_prefix(nxt['case_id'])})" if nxt else "-",
            lateness(nxt, now) if nxt else "",
            str(entry["findings"]) if entry["findings"] else "",
        )
    return grid


def findings_lines(entries: list[dict[str, Any]]) -> list[str]:
    """Below the register: each authority's latest finding, whole (an id is read, not folded)."""
    return [
        f"{e['authority']}: findings: {e['findings']}, latest {e['latest_finding']['id']} {e['latest_finding']['effective_at'][:10]}"
        for e in entries
        if e["findings"] and e.get("latest_finding")
    ]


__all__ = ["authorities", "console", "due_day", "due_table", "findings_lines", "lateness", "print_table", "register_table", "table"]
