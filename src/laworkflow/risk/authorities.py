"""The local authorities an assessment may name (`reference/authorities.csv`, 2015), found by code or name."""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from uuid import UUID, uuid5

from laworkflow.risk.criteria import UnknownAuthority


@dataclass(frozen=True)
class AuthorityRef:
    code: str
    name: str
    nation: str


def _normal(text: str) -> str:
    text = text.lower().replace("&", " and ").replace(".", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


_FILLER = {"council", "county", "city", "of", "the", "borough", "metropolitan", "london", "royal", "district"}


def _loose(text: str) -> str:
    return " ".join(w for w in _normal(text).split() if w not in _FILLER)


class AuthorityIndex:
    """The authorities an assessment may name, found by code or name (case and punctuation ignored)."""

    def __init__(self, rows: Iterable[AuthorityRef]):
        self.rows = list(rows)
        self._exact: dict[str, AuthorityRef] = {}
        loose: dict[str, list[AuthorityRef]] = {}
        for ref in self.rows:
            for key in (_normal(ref.code), _normal(ref.name)):
                self._exact.setdefault(key, ref)
            if _loose(ref.name):
                loose.setdefault(_loose(ref.name), []).append(ref)
        self._loose = {k: v[0] for k, v in loose.items() if len(v) == 1}

    @classmethod
    def from_csv(cls, text: str) -> AuthorityIndex:
        return cls(AuthorityRef(r["code"].strip(), r["name"].strip(), r["nation"].strip()) for r in csv.DictReader(io.StringIO(text)))

    @classmethod
    def shipped(cls) -> AuthorityIndex:
        """The 22 Welsh and 152 English authorities responsible for education in 2015 (reference/authorities.csv)."""
        return _shipped()

    def __iter__(self) -> Iterator[AuthorityRef]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def find(self, text: str) -> AuthorityRef | None:
        return self._exact.get(_normal(text)) or self._loose.get(_loose(text))

    def resolve(self, text: str) -> AuthorityRef:
        ref = self.find(text)
        if ref is None:
            names = {row.name: row for row in self.rows}
            close = difflib.get_close_matches(text, list(names), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(f'{n!r} ({names[n].code})' for n in close)}?" if close else ""
            raise UnknownAuthority(f"unknown authority {text!r}: give a code (e.g. 931) or name (e.g. Oxfordshire) of the reference list{hint}")
        return ref


@lru_cache(maxsize=1)
def _shipped() -> AuthorityIndex:
    text = resources.files("laworkflow").joinpath("reference/authorities.csv").read_text(encoding="utf-8")
    return AuthorityIndex.from_csv(text)


AUTHORITY_NAMESPACE = UUID("5d6f3c1e-7a0b-4c53-9a1e-2b8f0e4d7c61")


def authority_id(code: str) -> UUID:
    """The aggregate id of an authority: uuid5 of a fixed namespace and its code, lower-cased."""
    return uuid5(AUTHORITY_NAMESPACE, code.strip().lower())
