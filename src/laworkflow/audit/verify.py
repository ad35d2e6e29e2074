"""`verify`: everything the store reads back, checked against what it claims.

Plain `verify` needs nothing but the store. It reads the whole log once and checks:

- each case's chain: every event's digest recomputed from its fields, every
  `prev_hash` equal to the digest before it, versions without gaps from 1 — so an
  edited or deleted event is caught unless the forger recomputed the chain after it;
- every stored event, of any aggregate (cases, the key ring, authorities), for
  fields its type does not have: the mapper would restore them onto the event,
  and no digest covers them (`cases.case.unexpected_fields`);
- every stored snapshot against the events (`audit.snapshots`; the engine no
  longer reads snapshots, so a forged one changes nothing, but it is tampering);
- with `index=True`, the timer index against one rebuilt from the log (`audit.index`).

What a per-store check cannot see is a rewrite that stays self-consistent: the
last events of a case deleted, a whole case deleted, the log emptied or rolled
back, an event edited or added with the chain recomputed, the key ring's events
edited (they carry no chain). A checkpoint kept elsewhere catches all of those
(`verify --checkpoint`), and conformance replay (`audit replay`) catches a forged
event that extends the log validly but that no definition would have produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from laworkflow.audit.index import check_index
from laworkflow.audit.snapshots import check_snapshots
from laworkflow.cases.case import GENESIS, Case, stored_digest, unexpected_fields
from laworkflow.cases.views import CaseCheck, VerifyReport
from laworkflow.engine import Engine
from laworkflow.errors import UnknownCase
from laworkflow.projections.follower import pages


@dataclass
class _Chain:
    """One case's chain as it is read, event by event."""

    case_id: UUID
    events: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    def check(self, event: Any) -> None:
        version = event.originator_version
        expected = self.events + 1
        if self.events == 0 and not isinstance(event, Case.Started):
            self.problems.append(f"event {version}: the case has no Started event (its first stored event is a {type(event).__name__})")
        elif version != expected:
            gap = f"event {expected} is missing" if version == expected + 1 else f"events {expected} to {version - 1} are missing"
            self.problems.append(f"event {version}: {gap}" if version > expected else f"event {version}: stored out of order (expected {expected})")
        self.events += 1
        if event.prev_hash != self.head:
            self.problems.append(f"event {version}: chain broken (prev_hash does not match event {version - 1})")
        if stored_digest(event) != event.digest:
            self.problems.append(f"event {version}: content altered (digest does not match its fields)")
        extra = unexpected_fields(event)
        if extra:
            self.problems.append(f"event {version}: fields its type {type(event).__name__} does not have: {', '.join(extra)}")
        self.head = event.digest

    def result(self) -> CaseCheck:
        return CaseCheck(self.case_id, self.events, not self.problems, self.head, self.problems)


def _case_id(value: UUID | str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise UnknownCase(f"{value!r} is not a case id (a UUID such as 4f1c…)") from None


def _one_case(engine: Engine, case_id: UUID) -> CaseCheck:
    chain = _Chain(case_id)
    stored = engine.recorder.select_events(case_id)
    for record in stored:
        try:
            event = engine.mapper.to_domain_event(record)
        except Exception as error:  # a stored event that no longer decodes is itself a finding
            chain.problems.append(f"event {record.originator_version}: cannot be read ({type(error).__name__})")
            continue
        if not isinstance(event, Case.Event):
            raise UnknownCase(f"no case {case_id} (that id belongs to a {type(event).__name__})")
        chain.check(event)
    if not stored:
        raise UnknownCase(f"no case {case_id}")
    return chain.result()


def _whole_log(engine: Engine) -> tuple[list[CaseCheck], list[str]]:
    """Every case's chain, in the order the cases appear in the log, and what is wrong with the other events."""
    chains: dict[UUID, _Chain] = {}
    others: list[str] = []
    versions: dict[Any, int] = {}  # the last version seen of every aggregate that is not a case
    for page in pages(engine.recorder, 0):
        for notification in page:
            where = f"log position {notification.id} ({notification.topic} of {notification.originator_id}, version {notification.originator_version})"
            try:
                event = engine.mapper.to_domain_event(notification)
            except Exception as error:  # a stored event that no longer decodes is itself a finding
                others.append(f"{where}: cannot be read ({type(error).__name__})")
                continue
            if isinstance(event, Case.Event):
                chain = chains.setdefault(event.originator_id, _Chain(event.originator_id))
                chain.check(event)
                continue
            last = versions.get(notification.originator_id, 0)
            if notification.originator_version != last + 1:
                others.append(f"{where}: follows version {last} of its aggregate (events missing or out of order)")
            versions[notification.originator_id] = notification.originator_version
            extra = unexpected_fields(event)
            if extra:
                others.append(f"{where}: fields its type {type(event).__name__} does not have: {', '.join(extra)}")
    return [chain.result() for chain in chains.values()], others


def verify(engine: Engine, case_id: UUID | str | None = None, *, index: bool = False) -> VerifyReport:
    """Check every case (or one), the rest of the log, the snapshots, and with `index` the timer index; `ok` when nothing is wrong."""
    if case_id is not None:
        cid = _case_id(case_id)
        cases, others = [_one_case(engine, cid)], list[str]()
        snapshots = check_snapshots(engine, only=cid)
    else:
        cases, others = _whole_log(engine)
        snapshots = check_snapshots(engine)
    index_check = check_index(engine) if index else None
    ok = all(c.ok for c in cases) and not others and not snapshots and (index_check is None or index_check.ok)
    return VerifyReport(ok, cases, others, snapshots, index_check)


__all__ = ["verify"]
