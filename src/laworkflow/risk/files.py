"""Assessments from files: CSV (a row per authority, term and criterion) or JSON, every problem reported with its line."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from laworkflow.calendar.bounds import RANGE_TEXT, within
from laworkflow.errors import InvalidData, Problem
from laworkflow.risk.authorities import AuthorityIndex, AuthorityRef
from laworkflow.risk.criteria import BY_ID, CRITERION_IDS, TERM_PATTERN, AssessmentDataError, CriterionRating, RiskAssessment, UnknownAuthority


def _pydantic_problems(error: ValidationError, source: str, line: int | None, where: str) -> list[Problem]:
    found = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"])
        got = f" (got {item['input']!r})" if item["type"] not in ("missing", "value_error") and not isinstance(item["input"], dict) else ""
        location = f"{where}, {loc}" if loc else where
        found.append(Problem(source, location, f"{item['msg']}{got}", line))
    return found


def _check_authority(index: AuthorityIndex, text: str, source: str, line: int | None, where: str, problems: list[Problem]) -> AuthorityRef | None:
    try:
        return index.resolve(text)
    except UnknownAuthority as error:
        problems.append(Problem(source, where, str(error), line))
        return None


def _iso_date(text: str) -> date | None:
    """A date YYYY-MM-DD inside `laworkflow.calendar.bounds`, or None."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if within(day) else None


CSV_COLUMNS = ("authority", "term", "assessed_on", "criterion", "rag", "trend", "comment")


def parse_csv(text: str, source: str = "<csv>", *, authorities: AuthorityIndex | None = None) -> list[RiskAssessment]:
    """Assessments from CSV, one row per authority, term and criterion; every problem reported with its line."""
    index = authorities or AuthorityIndex.shipped()
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise AssessmentDataError([Problem(source, "", f"empty file; expected a header {','.join(CSV_COLUMNS)}", 1)]) from None
    missing = [c for c in CSV_COLUMNS if c not in header]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if missing or unknown:
        parts = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + ([f"unknown column(s) {', '.join(unknown)}"] if unknown else [])
        raise AssessmentDataError([Problem(source, "header", f"{'; '.join(parts)}; expected {','.join(CSV_COLUMNS)}", 1)])

    groups: dict[tuple[str, str], dict[str, Any]] = {}
    last_line, rows = reader.line_num, 0
    for raw in reader:
        line, last_line = last_line + 1, reader.line_num
        if not any(cell.strip() for cell in raw):
            continue
        rows += 1
        if len(raw) != len(header):
            problems.append(Problem(source, f"row {rows}", f"{len(raw)} field(s), expected {len(header)} ({','.join(header)})", line))
            continue
        row = {name: cell.strip() for name, cell in zip(header, raw, strict=True)}
        where, before = f"row {rows}", len(problems)
        ref = _check_authority(index, row["authority"], source, line, where, problems) if row["authority"] else None
        day = _iso_date(row["assessed_on"])
        for wrong, message in (
            (not row["authority"], "authority is empty"),
            (not re.match(TERM_PATTERN, row["term"]), f"term {row['term']!r} is not YYYY-spring, YYYY-summer or YYYY-autumn (e.g. 2015-spring)"),
            (day is None, f"assessed_on {row['assessed_on']!r} is not a date YYYY-MM-DD from {RANGE_TEXT}"),
            (row["criterion"] not in BY_ID, f"unknown criterion {row['criterion']!r}; one of {', '.join(CRITERION_IDS)}"),
        ):
            if wrong:
                problems.append(Problem(source, where, message, line))
        try:
            rating = CriterionRating.model_validate({"rag": row["rag"], "trend": row["trend"] or None, "comment": row["comment"]})
        except ValidationError as error:
            problems.extend(_pydantic_problems(error, source, line, where))
        if len(problems) > before or ref is None:
            continue
        group = groups.setdefault((ref.code, row["term"]), {"assessed_on": day, "line": line, "ratings": {}, "lines": {}})
        where_group = f"{where} ({ref.name} {row['term']})"
        if day != group["assessed_on"]:
            problems.append(Problem(source, where_group, f"assessed_on {day} differs from {group['assessed_on']} on line {group['line']}", line))
        if row["criterion"] in group["ratings"]:
            first = group["lines"][row["criterion"]]
            problems.append(Problem(source, where_group, f"criterion {row['criterion']} rated twice (first on line {first})", line))
            continue
        group["ratings"][row["criterion"]] = rating
        group["lines"][row["criterion"]] = line
    if rows == 0 and not problems:
        problems.append(Problem(source, "", "no assessments: the file has a header but no rows", 1))

    found = []
    for (code, term), group in groups.items():
        missing = [c for c in CRITERION_IDS if c not in group["ratings"]]
        if missing:
            problems.append(Problem(source, f"{code} {term}", f"not rated on {', '.join(missing)} (all eight criteria are needed)", group["line"]))
            continue
        found.append(RiskAssessment(authority=code, term=term, assessed_on=group["assessed_on"], ratings=group["ratings"]))
    if problems:
        raise AssessmentDataError(sorted(problems, key=lambda p: p.line or 0))
    return found


def _json_items(text: str, source: str) -> list[tuple[int, Any]]:
    """The items of a top-level JSON array, each with the line it starts on."""
    decoder = json.JSONDecoder()
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise AssessmentDataError([Problem(source, f"column {error.colno}", f"not valid JSON: {error.msg}", error.lineno)]) from None
    pos = len(text) - len(text.lstrip())
    if not text[pos:].startswith("["):
        raise AssessmentDataError([Problem(source, "", "expected a JSON list of assessments, [{...}, ...]", text.count("\n", 0, pos) + 1)])
    items: list[tuple[int, Any]] = []
    pos += 1
    while True:
        while text[pos] in " \t\r\n,":
            pos += 1
        if text[pos] == "]":
            return items
        value, end = decoder.raw_decode(text, pos)
        items.append((text.count("\n", 0, pos) + 1, value))
        pos = end


def parse_json(text: str, source: str = "<json>", *, authorities: AuthorityIndex | None = None) -> list[RiskAssessment]:
    """Assessments from a JSON list of RiskAssessment objects; every problem reported with its item and line."""
    index = authorities or AuthorityIndex.shipped()
    problems: list[Problem] = []
    found: list[RiskAssessment] = []
    seen: dict[tuple[str, str], int] = {}
    items = _json_items(text.lstrip("\ufeff"), source)
    if not items:
        raise AssessmentDataError([Problem(source, "", "no assessments: the list is empty", 1)])
    for number, (line, item) in enumerate(items):
        where = f"item {number}"
        if not isinstance(item, dict):
            problems.append(Problem(source, where, f"expected an object, got {type(item).__name__}", line))
            continue
        try:
            assessment = RiskAssessment.model_validate(item)
        except ValidationError as error:
            problems.extend(_pydantic_problems(error, source, line, where))
            if isinstance(item.get("authority"), str) and item["authority"].strip():
                _check_authority(index, item["authority"], source, line, f"{where}, authority", problems)
            continue
        ref = _check_authority(index, assessment.authority, source, line, f"{where}, authority", problems)
        if ref is None:
            continue
        key = (ref.code, assessment.term)
        if key in seen:
            problems.append(Problem(source, where, f"{ref.name} {assessment.term} is assessed twice (first on line {seen[key]})", line))
            continue
        seen[key] = line
        found.append(assessment.model_copy(update={"authority": ref.code}))
    if problems:
        raise AssessmentDataError(problems)
    return found


def load_assessments(path: str | Path, *, authorities: AuthorityIndex | None = None) -> list[RiskAssessment]:
    """Read a CSV or JSON file of assessments (by suffix; otherwise JSON if it starts with '[')."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidData(f"cannot read assessments file {str(path)!r}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise AssessmentDataError([Problem(str(path), "", "not UTF-8 text")]) from None
    is_json = path.suffix.lower() == ".json" or (path.suffix.lower() != ".csv" and text.lstrip("\ufeff \t\r\n").startswith("["))
    parse = parse_json if is_json else parse_csv
    return parse(text, str(path), authorities=authorities)
