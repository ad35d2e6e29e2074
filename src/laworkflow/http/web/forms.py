"""From an HTML form to a trigger's data: each field read by the type its definition gives it.

A form sends text. The fields of an allowed trigger (`AllowedTrigger.fields`) say
what each is, so the text is turned into what the engine takes: whole numbers,
numbers, yes/no, dates as ISO text, a choice, or a list (ticked choices, or one
item per line). A field left empty is left out, and the engine then says whether
it was required: the one place rules are decided stays the engine. Text that is
not what the field says (a word for a number) is refused here with the field's
name, before the engine is asked, and nothing is written.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from laworkflow.errors import InvalidData

PREFIX = "data."  # form names of the trigger's fields, apart from the form's own (csrf, trigger, at)


def read_data(form: FormData, fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, spec in fields.items():
        key = PREFIX + name
        kind = spec.get("type")
        if kind == "list":
            values = [str(v) for v in form.getlist(key)]
            if not spec.get("choices"):
                values = [line.strip() for text in values for line in text.splitlines() if line.strip()]
            if values:
                data[name] = values
            continue
        text = str(form.get(key) or "").strip()
        if not text:
            continue
        data[name] = _typed(name, kind, text)
    return data


def _typed(name: str, kind: Any, text: str) -> Any:
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise InvalidData(f"{name}: enter a whole number, such as 5 (got {text[:40]!r})") from None
    if kind == "number":
        try:
            value = float(text)
        except ValueError:
            raise InvalidData(f"{name}: enter a number, such as 2.5 (got {text[:40]!r})") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidData(f"{name}: enter a number, such as 2.5")
        return value
    if kind == "boolean":
        if text not in ("true", "false"):
            raise InvalidData(f"{name}: choose yes or no")
        return text == "true"
    return text  # string, enum, date (YYYY-MM-DD), datetime: the engine reads and checks them


__all__ = ["PREFIX", "read_data"]
