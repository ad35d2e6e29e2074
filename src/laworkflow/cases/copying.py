"""A case copied for a command: as independent as `copy.deepcopy` makes it, at a fraction of the cost.

The repository keeps a cached case per id and hands every command a deep copy,
so a command that fails half-way never leaves its changes in the cache. The
generic `copy.deepcopy` walks each value through its memo and reduce protocol
and was a third of a command's CPU time; a case's state is JSON-shaped (dicts,
lists, strings, numbers) plus immutable moments and ids, which are copied here
by type, directly. Anything else (a pending event, a tuple) still goes to
`copy.deepcopy`, so the copy is never shallower than before.
"""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

_SHARED = frozenset({str, int, float, bool, type(None), datetime, date, timedelta, UUID, Decimal, bytes})  # immutable: the copy may share them
A = TypeVar("A")


def copy_value(value: Any, memo: dict[int, Any]) -> Any:
    """A deep copy of a JSON-shaped value; types it does not know are left to `copy.deepcopy` (with the same memo)."""
    kind = type(value)
    if kind in _SHARED:
        return value
    if kind is dict:
        return {key: copy_value(item, memo) for key, item in value.items()}
    if kind is list:
        return [copy_value(item, memo) for item in value]
    return copy.deepcopy(value, memo)


def copy_aggregate(aggregate: A, memo: dict[int, Any]) -> A:
    """`__deepcopy__` for an aggregate whose attributes all live in its `__dict__`."""
    clone = object.__new__(type(aggregate))
    memo[id(aggregate)] = clone
    clone.__dict__.update({name: copy_value(value, memo) for name, value in vars(aggregate).items()})
    return clone


__all__ = ["copy_aggregate", "copy_value"]
