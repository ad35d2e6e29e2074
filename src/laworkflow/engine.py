"""The Engine: an eventsourcing Application that runs cases on compiled workflows.

Commands (`start`, `fire`, `fire_timer`, `record_missed_deadlines`) load a case,
let it decide, and save every event of the command in one atomic write — a
parent and the child it starts included. Queries read the event store; the
due index follows the notification log. Storage is configuration only
(`laworkflow.store`): SQLite file, PostgreSQL, or memory for unit tests.

Threads: `Engine.lock` guards what the engine keeps in memory; callers hold it
around a query; a command takes it to decide and lets it go while its events are
committed, with those of any command committing then (`laworkflow.commits`).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application

from laworkflow.calendar.bounds import RANGE_TEXT
from laworkflow.calendar.clock import Clock, SystemClock, aware, day_over_at, uk_date
from laworkflow.calendar.working_days import calendar_for
from laworkflow.cases.case import SYSTEM_ACTOR, Case, unexpected_fields
from laworkflow.cases.readiness import allowed_now
from laworkflow.cases.topics import topics_of
from laworkflow.cases.viewing import case_view
from laworkflow.cases.views import AllowedTrigger, CaseView, DueItem, HistoryEntry, QuarantinedItem, RegisterEntry
from laworkflow.commits import Collected, CommitGroup, DecidingLock, InFlight
from laworkflow.definitions.catalog import Catalog
from laworkflow.definitions.machine import CompiledWorkflow
from laworkflow.encryption import check_opened, cipher_env
from laworkflow.errors import ConcurrentChange, DefinitionChanged, InvalidData, OutOfRange, StillQuarantined, UnknownCase
from laworkflow.logs import get_logger
from laworkflow.pinning import PinnedDefinitions
from laworkflow.projections.authority_register import AuthorityRegister, CaseRow
from laworkflow.projections.backends import DueStore, due_store_for
from laworkflow.projections.case_index import CaseIndex, CaseSummary, resolve_case_id
from laworkflow.projections.case_search import CasePage, CaseQuery, search
from laworkflow.projections.follower import Follower
from laworkflow.projections.followup import ChildFollower, PendingReaction, copy_data
from laworkflow.projections.notifications import reminder_notification
from laworkflow.store import retrying, save_or_conflict

log = get_logger("laworkflow")
T = TypeVar("T")

_BASE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic", "actor", "effective_at", "prev_hash", "digest"}
# All the follow-up manager reads, under today's topics and those of stores written before the relayout.
_FOLLOWED_TOPICS = [*topics_of(Case.Started), *topics_of(Case.Transitioned)]
REACTIONS = "reactions"
REACTIONS_SAVE_EVERY = 500  # notifications looked at without a reaction before the position is saved anyway
_STORE_KEYS = "PERSISTENCE_MODULE SQLITE_DBNAME POSTGRES_DBNAME POSTGRES_HOST POSTGRES_PORT POSTGRES_USER POSTGRES_PASSWORD POSTGRES_CONNECT_TIMEOUT".split()


class Engine(Application[UUID]):
    """Commands and queries over cases; one instance per process and store."""

    name = "laworkflow"
    # No snapshots are taken or read (laworkflow.audit.snapshots says why: they are outside the audited log).
    # Cached cases are fast-forwarded from the store on every load, so several nodes stay consistent.
    env = {"AGGREGATE_CACHE_MAXSIZE": "10000"}

    def __init__(
        self,
        catalog: Catalog,
        *,
        clock: Clock | None = None,
        env: dict[str, str] | None = None,
        due_store: DueStore | None = None,
    ):
        super().__init__(env=cipher_env(env))  # encryption at rest when configured (laworkflow.encryption)
        check_opened(self)  # a store the key does not fit is refused before anything is written
        self.repository.snapshot_store = None  # not even with IS_SNAPSHOTTING_ENABLED set: every aggregate is folded from its events
        self.catalog = catalog
        self.clock = clock or SystemClock()
        self.due_store = due_store or due_store_for({key: self.env.get(key) or "" for key in _STORE_KEYS})
        self.definitions = PinnedDefinitions(self, lambda: self.catalog)  # catalog first, then the content kept in the store
        self._children = ChildFollower(self.pinned, self._describe)
        self._reactions_position: int | None = None
        self._register = AuthorityRegister(self.pinned)
        self._cases = CaseIndex(self.pinned)  # finding cases, and ids from a prefix (projections.case_index)
        self._register_follower = Follower(self._register, self._cases)
        self._reacting = False
        self._closed = False
        self.lock = DecidingLock()  # see the module's docstring: held to decide, let go to commit
        self._commits = CommitGroup(lambda *objs: self.save(*objs))  # late-bound: `save` may be wrapped
        self._in_flight = InFlight(self.lock)  # one command at a time per case, from its decision to its commit

    # ------------------------------------------------------------------ commands

    def start(
        self,
        workflow: str,
        data: dict[str, Any] | None = None,
        *,
        version: int | None = None,
        actor: str,
        at: datetime | str | None = None,
        parameters: dict[str, Any] | None = None,
        case_id: UUID | None = None,
    ) -> UUID:
        moment = self._moment(at)
        compiled = self.catalog.get(workflow, version, on=uk_date(moment))
        new_id = case_id or uuid4()

        def attempt() -> Case:  # retried: another node may have written the definition's record first
            case = Case.begin(compiled, data=data, parameters=parameters, actor=actor, at=moment, case_id=new_id)
            self._save(case)
            return case

        case = self.retrying(attempt)
        log.info("case.started", case_id=str(case.id), workflow=compiled.key, actor=actor, effective_at=moment.isoformat())
        return case.id

    def fire(
        self,
        case_id: UUID | str,
        trigger: str,
        data: dict[str, Any] | None = None,
        *,
        actor: str,
        at: datetime | str | None = None,
    ) -> CaseView:
        """Take a trigger on a case; a transition that `starts` a child saves both cases together.

        With no `at`, "now" is read on each attempt and never taken as earlier
        than the case's last event, so neither a retry after another node's
        write nor a node whose clock runs a little behind is refused for it.
        """

        def decide(case: Case, workflow: CompiledWorkflow) -> list[Case]:
            moment = self._moment(at) if at is not None else max(self.clock.now(), case.effective_at or self.clock.now())
            transition = case.fire(workflow, trigger, data, actor=actor, at=moment)
            return [case, *self._spawn(case, transition, actor, moment)]

        case, workflow = self.retrying(lambda: self._command(case_id, decide))
        log.info("case.fired", case_id=str(case.id), workflow=case.key, trigger=trigger, state=case.state, actor=actor)
        if case.parent_id is not None:  # only a child's transitions call for a reaction (never to this case itself)
            with self.lock:
                self.follow_up()
        return case_view(case, workflow)  # the workflow the command was decided on: the one the case pins

    def fire_timer(self, case_id: UUID | str, timer_id: str, *, at: datetime | str | None = None) -> bool:
        """Fire a due timer once. Already fired, cancelled, or lost to another node: False, nothing written."""
        moment = self._moment(at)

        fired = False

        def decide(case: Case, workflow: CompiledWorkflow) -> list[Case]:
            nonlocal fired
            fired = case.fire_timer(workflow, timer_id, at=moment)
            return [case]

        case, _ = self.retrying(lambda: self._command(case_id, decide))
        log.info("timer.fired" if fired else "timer.skipped", case_id=str(case_id), workflow=case.key, timer_id=timer_id, at=moment.isoformat())
        if fired and case.parent_id is not None:
            with self.lock:
                self.follow_up()
        return fired

    def record_missed_deadlines(self, case_id: UUID | str, *, at: datetime | str | None = None) -> int:
        moment = self._moment(at)

        count = 0

        def decide(case: Case, workflow: CompiledWorkflow) -> list[Case]:
            nonlocal count
            count = case.record_missed_deadlines(workflow, at=moment)
            return [case]

        case, _ = self.retrying(lambda: self._command(case_id, decide))
        if count:
            log.info("deadline.missed", case_id=str(case.id), workflow=case.key, count=count)
        return count

    def run_due(
        self,
        until: datetime | str | None = None,
        on_fire: Callable[[DueItem], None] | None = None,
        *,
        max_items: int | None = None,
    ) -> int:
        """Fire every timer and record every missed deadline due by `until`, in due order.

        With a SimulatedClock the clock is moved to each item as it is handled, so
        a simulation reads as if the engine had been running all along. An item
        whose handling fails for any reason but a lost race is set aside
        (`quarantined`) and the rest are handled; a lost race, after the retries, is raised.
        """
        limit = self._moment(until)
        handled = 0
        while True:
            self._catch_up()
            item = self.due_store.first(limit)
            if item is None or (max_items is not None and handled >= max_items):
                return handled
            advance = getattr(self.clock, "advance_to", None)
            if advance is not None:
                advance(item.due_at)
            at = max(item.due_at, self.clock.now())
            try:
                self.handle(item, at=at)
            except ConcurrentChange:
                raise
            except Exception as error:  # one item must not stop the rest: set aside, notified, listed
                self.due_store.quarantine_item(item, error)
                continue
            self.due_store.done(item)
            handled += 1
            if on_fire is not None:
                on_fire(item)

    def handle(self, item: DueItem, *, at: datetime | str | None = None) -> None:
        """Act on one due item: fire the timer, send a reminder, or record the deadline missed (the caller drops it from the index)."""
        if item.kind == "timer":
            self.fire_timer(item.case_id, item.name, at=at)
        elif item.kind == "reminder":
            self.due_store.enqueue([reminder_notification(item)])
        else:
            self.record_missed_deadlines(item.case_id, at=at)

    # ------------------------------------------------------------------- queries

    def get(self, case_id: UUID | str, *, as_of: datetime | str | None = None, known_on: date | str | None = None) -> CaseView:
        """The case now; as it stood at `as_of` (events that took effect by then); as the record said it at the end of the
        UK day `known_on` (events recorded by then); with both, what the record said that day of the case at `as_of`."""
        case: Case | None
        if as_of is None and known_on is None:
            case, _ = self._load(case_id, command=False)
            return self._view(case)
        moment = aware(as_of) if as_of is not None else None
        day = uk_date(aware(known_on)) if known_on is not None else None
        recorded_by = day_over_at(day) if day is not None else None
        case = None
        for event in self._events(case_id):  # both times only grow along a case's events: each question is a prefix
            if (moment is not None and event.effective_at > moment) or (recorded_by is not None and event.timestamp >= recorded_by):
                break
            case = event.mutate(case)
        if case is None:
            parts = [f"started by {moment.isoformat()}"] if moment is not None else []
            parts += [f"been recorded by the end of {day} (UK time)"] if day is not None else []
            raise UnknownCase(f"case {case_id} had not {' or '.join(parts)}")
        return self._view(case, as_of=moment, known_on=day)

    def history(self, case_id: UUID | str) -> list[HistoryEntry]:
        return [
            HistoryEntry(
                version=event.originator_version,
                type=type(event).__name__,
                effective_at=event.effective_at,
                recorded_at=event.timestamp,
                actor=event.actor,
                details={f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.name not in _BASE_FIELDS},
                prev_hash=event.prev_hash,
                digest=event.digest,
                unexpected_fields=unexpected_fields(event),
            )
            for event in self._events(case_id)
        ]

    def allowed_triggers(self, case_id: UUID | str, *, at: datetime | str | None = None) -> list[AllowedTrigger]:
        """What a person may fire from the case's state, the fields each takes and its guards on the UK day of `at` (default now).

        Internal transitions (a reaction's, a timer's alone) are not offered; `cases.readiness` says how guards are judged.
        """
        case, workflow = self._load(case_id, command=False)
        return allowed_now(case, workflow, self.today(at))

    def today(self, at: datetime | str | None = None) -> date:
        """The UK day of `at`, or of the engine clock's now: the day a command would take effect on."""
        return uk_date(self._moment(at))

    def due(self, before: datetime | str | None = None) -> list[DueItem]:
        self._catch_up()
        return self.due_store.due(aware(before) if before is not None else None)

    def upcoming(self, weeks: int, *, now: datetime | str | None = None) -> list[DueItem]:
        """Every timer, deadline and milestone due in the next `weeks` weeks (and any overdue), across all cases."""
        if weeks < 0:
            raise InvalidData(f"weeks must be 0 or more, got {weeks}")
        start = self._moment(now)
        try:
            until = start + timedelta(weeks=weeks)
        except OverflowError:
            raise OutOfRange(f"{weeks} weeks from {start.date().isoformat()} is outside the dates the engine accepts ({RANGE_TEXT})") from None
        return self.due(before=aware(until))

    def quarantined(self) -> list[QuarantinedItem]:
        """What the timer index set aside rather than stop for (events it could not fold in, items whose handling failed)."""
        self._catch_up()
        return self.due_store.quarantined()

    def release(self, entry_id: str) -> QuarantinedItem:
        """Try a quarantined entry again (after a fix): an item goes back to be handled when due; an event is folded in now.

        An event is folded in again with every later event of its case, in order,
        so the index ends as if it had never been set aside. If it fails again it
        stays quarantined (recorded anew) and StillQuarantined says why.
        """
        self._catch_up()
        entry = self.due_store.quarantined_entry(entry_id)
        events: list[Any] = []
        if not (entry.source == "item" and entry.due_at is not None) and entry.case_id is not None:
            try:
                events = list(self.events.get(entry.case_id, gt=(entry.version or 1) - 1))
            except Exception as error:  # the stored events still do not decode: nothing changes
                raise StillQuarantined(f"{entry_id} is still quarantined: its events cannot be read ({type(error).__name__}: {error})") from None
        again = self.due_store.release(entry, events)
        if again:
            raise StillQuarantined(f"{entry_id} was tried again and set aside again: {'; '.join(e.error for e in again)}")
        log.info("due_index.item_released", id=entry_id, case_id=str(entry.case_id))
        return entry

    def register(self, *, nation: str | None = None, status: str | None = None) -> list[RegisterEntry]:
        """Authorities listed by status ("in follow-up", "due re-inspection", …): since when, and what is next.

        A nation the calendar does not know is refused (CalendarError names those it knows), not an empty list.
        """
        if nation is not None:
            nation = calendar_for(nation).nation
        self._catch_up()
        self._register_follower.follow(self.recorder, self.mapper)
        grouped: dict[tuple[str, str], list[CaseRow]] = {}
        for row in self._register.listed(nation, status):
            if row.status is None:  # listed() returns only rows with a status label
                continue
            grouped.setdefault((row.authority, row.status), []).append(row)
        entries = []
        pending = self.due_store.due()
        for (authority, label), rows in sorted(grouped.items()):
            open_cases = set(self._register.cases_of(authority))
            upcoming = [item for item in pending if item.case_id in open_cases]
            # every open case of the authority, listed or not: a finding on a case with no status label still concerns the authority
            findings = sorted((f for case_id in open_cases for f in self._register.rows[case_id].findings), key=lambda f: f["effective_at"])
            entries.append(
                RegisterEntry(
                    authority=authority,
                    nation=rows[0].nation,
                    status=label,
                    since=min(row.since for row in rows),
                    cases=[{"id": str(row.case_id), "workflow": row.workflow, "state": row.state} for row in rows],
                    next_due=upcoming[0] if upcoming else None,
                    findings=len(findings),
                    latest_finding=findings[-1] if findings else None,
                )
            )
        return entries

    def cases(self, query: CaseQuery | None = None) -> CasePage:
        """A page of the cases a search finds, filtered and sorted (`projections.case_search`); a bad filter: InvalidData."""
        self._register_follower.follow(self.recorder, self.mapper)
        return search(self._cases, query or CaseQuery(), self.catalog)

    def case_id(self, text: UUID | str) -> UUID:
        """A case id, or the one case whose id starts with `text`; unknown, too short or ambiguous: UnknownCase naming the matches."""
        return text if isinstance(text, UUID) else resolve_case_id(str(text), self.case_ids)

    def summary(self, case_id: UUID) -> CaseSummary | None:
        """The case index's row of a case (authority, state, dates, deadlines missed), without loading it; None for no case."""
        self._register_follower.follow(self.recorder, self.mapper)
        return self._cases.rows.get(case_id)

    def case_ids(self) -> list[UUID]:
        """Every case, in the order they started."""
        self._register_follower.follow(self.recorder, self.mapper)
        return list(self._register.rows)

    def pinned(self, definition_id: str, version: int, content_hash: str) -> CompiledWorkflow:
        """The compiled workflow a case pinned: the catalog's while its hash matches, else the content kept in the store
        (compiled with the catalog's guards, cached per hash), else UnknownDefinition. For reading; commands refuse changed content."""
        return self.definitions.pinned(definition_id, version, content_hash)

    # ------------------------------------------------------------------- helpers

    def _moment(self, at: datetime | str | None) -> datetime:
        return aware(at) if at is not None else self.clock.now()

    def _load(self, case_id: UUID | str, *, command: bool = True) -> tuple[Case, CompiledWorkflow]:
        """A case and its workflow: for a command only the catalog's unchanged content (else DefinitionChanged); for a read, `pinned`."""
        cid = self.case_id(case_id)
        try:
            case: Case = self.repository.get(cid)
        except AggregateNotFoundError:
            raise UnknownCase(f"no case {cid}") from None
        if not isinstance(case, Case):
            raise UnknownCase(f"no case {cid} (that id belongs to a {type(case).__name__})")
        pin = (case.definition_id, case.definition_version, case.definition_hash)
        return case, self.definitions.for_command(*pin) if command else self.pinned(*pin)

    def _events(self, case_id: UUID | str) -> Iterator[Any]:
        cid = self.case_id(case_id)
        events = list(self.events.get(cid))
        if not events or not isinstance(events[0], Case.Started):
            raise UnknownCase(f"no case {cid}")
        return iter(events)

    def _spawn(self, parent: Case, transition: Any, actor: str, at: datetime) -> list[Case]:
        """The child case a transition starts, linked both ways (saved with the parent, atomically)."""
        if transition is None or transition.starts is None:
            return []
        spec = transition.starts
        child = Case.begin(
            self.catalog.get(spec.workflow, on=uk_date(at), strict=False),
            data=copy_data(spec.data, parent.data),
            parameters=None,
            actor=actor,
            at=at,
            case_id=uuid4(),
            parent_id=str(parent.id),
        )
        parent.link_child(child.id, child.key, transition.trigger, actor=actor, at=at)
        return [child]

    def _catch_up(self) -> None:
        self.due_store.catch_up(self.recorder, self.mapper)

    def _describe(self, case_id: UUID) -> tuple[str, int, str, UUID | None]:
        started = next(iter(self.events.get(case_id, lte=1)))
        if not isinstance(started, Case.Started):
            raise UnknownCase(f"no case {case_id} (its first event is a {type(started).__name__})")
        return started.definition_id, started.definition_version, started.definition_hash, UUID(started.parent_id) if started.parent_id else None

    def follow_up(self) -> None:
        """Let parents react to what their children did, from the last position this engine handled.

        Commands on a child case call it; the scheduler calls it on every loop,
        which also picks up what another node or a crash left undone.

        The position is kept beside the timer index, saved after any reaction
        and otherwise every few hundred events; a crash before it is saved means
        some events are looked at again, and the parents' records of what they
        already reported make that harmless.
        """
        if self._reacting:
            return
        self._reacting = True
        try:
            if self._reactions_position is None:
                self._reactions_position = self.due_store.position(REACTIONS)
            saved = self._reactions_position
            while True:
                notifications = self.recorder.select_notifications(self._reactions_position + 1, 500, topics=_FOLLOWED_TOPICS)
                reacted = False
                for notification in notifications:
                    self._children.apply(self.mapper.to_domain_event(notification))
                    pending = self._children.take()
                    for job in pending:
                        self._react(job)
                    reacted = reacted or bool(pending)
                if notifications:
                    self._reactions_position = notifications[-1].id
                if reacted:
                    saved = -1  # save the position before returning; and the reactions' own events may call for more
                elif len(notifications) < 500:
                    break
            if saved == -1 or self._reactions_position - saved >= REACTIONS_SAVE_EVERY:
                self.due_store.set_position(REACTIONS, self._reactions_position)
        finally:
            self._reacting = False

    def close(self) -> None:
        """Save the reactions position and release connections; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._reactions_position is not None:
            self.due_store.set_position(REACTIONS, self._reactions_position)
        self.due_store.close()
        super().close()

    def _react(self, job: PendingReaction) -> None:
        def attempt() -> None:
            parent, workflow = self._load(job.parent_id)
            child: Case = self.repository.get(job.child_id, version=job.child_version)
            transition = parent.react(
                workflow,
                job.reaction,
                copy_data(job.reaction.data, child.data),
                child_id=job.child_id,
                child_version=job.child_version,
                at=job.effective_at,
            )
            if parent.pending_events:
                assert parent.effective_at is not None  # set by the event react() just recorded
                self._save(parent, *self._spawn(parent, transition, f"child:{job.child_id}", parent.effective_at))
                log.info("case.reacted", case_id=str(parent.id), workflow=parent.key, child_id=str(job.child_id), reaction=job.reaction.id, state=parent.state)

        try:
            self.retrying(attempt)
        except DefinitionChanged as error:  # the parent takes no command until migrated; its children go on
            log.warning("reaction.blocked", case_id=str(job.parent_id), child_id=str(job.child_id), reaction=job.reaction.id, error=str(error))

    def save(self, *objs: Any, handed_over: bool = False, **kwargs: Any) -> Any:
        """Save atomically, with the record of any definition content a saved case pins that the store does not hold yet.

        Saved cases are cached as saved (the next command reads no event it wrote): a copy, unless `handed_over` (the caller
        will not touch them again, or they are the cache's own objects) spares it."""
        records = self.definitions.records_for(objs)
        saving = Collected()  # Application.save's steps, with its collecting made cheaper (commits.Collected)
        saving.collect_events(*objs, *records, **kwargs)
        recordings = self._record(saving)
        self._take_snapshots(saving)
        self._notify(recordings)
        self.notify(saving.events)  # eventsourcing's deprecated hook, called as its save calls it
        self.definitions.saved(records)
        if self.repository.cache is not None:
            for case in objs:
                if isinstance(case, Case):
                    self.repository.cache.put(case.id, case if handed_over else copy.deepcopy(case))
        return recordings

    def _command(self, case_id: UUID | str, decide: Callable[[Case, CompiledWorkflow], list[Case]]) -> tuple[Case, CompiledWorkflow]:
        """One attempt of a command: decided under the lock, committed outside it; in flight meanwhile (`commits.InFlight`:
        another command on the case in this process waits rather than decide on the same version and lose at the commit)."""
        with self.lock:
            cid = self.case_id(case_id)
            self._in_flight.take(cid)
            try:
                case, workflow = self._load(cid)
                cases = [c for c in decide(case, workflow) if c.pending_events]
            except BaseException:
                self._in_flight.give_back(cid)
                raise
        try:
            if cases:
                self._save(*cases)
        finally:
            self._in_flight.give_back(cid)
        return case, workflow

    def _save(self, *cases: Case) -> None:  # committed with any other command saving at that moment (`laworkflow.commits`)
        save_or_conflict(self._commits.commit, *cases, says="another writer changed the case first")

    def retrying(self, attempt: Callable[[], T]) -> T:
        """Reload and retry when another writer got to the case first (optimistic concurrency)."""
        return retrying(attempt, on_retry=lambda: log.info("case.retry_after_concurrent_change"))

    def _view(self, case: Case, as_of: datetime | None = None, known_on: date | None = None) -> CaseView:
        return case_view(case, self.pinned(case.definition_id, case.definition_version, case.definition_hash), as_of, known_on)


__all__ = ["Engine", "SYSTEM_ACTOR"]
