"""The definition a case pinned: from the catalog while its behaviour is unchanged, else from the record kept in the store.

A case pins the content hash of its definition when it starts. While the
catalog's file still has that content, or differs from the content kept in
the store for that hash only in words (`Definition.behaviour_hash`:
descriptions, titles, citations, a finding's message), the case runs on the
catalog's workflow: commands go on and reads show the new words, since no
rule that decided its history has changed. Otherwise reads and commands want
different things. A read (show, --as-of, history, allowed triggers, the
register, follow-up decisions) must go on working on the exact content the
case ran on, so it falls back to the `DefinitionRecord` saved in the event
store. A new command must not run on behaviour that is no longer the
catalog's: it is refused with DefinitionChanged, which points to migration.
A store written before records existed has nothing to compare the catalog's
words with, so any edit there still refuses commands.

What must hash to the pin itself (an export's definitions, the `Started`
event conformance replay recomputes) asks for `exact`: the content as the
case pinned it, whatever words the catalog now has.

Records are written by `Engine.save`: any case saved whose content hash the
store does not hold yet brings its record into the same atomic save. That
covers cases started (by the engine, a spawning transition or the risk
register) and, for stores written before records existed, the first command
that writes to such a case while its catalog file still matches. Which hashes
the store holds is remembered per process; another node that wrote the same
record first makes the save fail on the record's id, and the command's retry
finds the record and saves without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application

from laworkflow.cases.case import Case
from laworkflow.cases.definition_record import DefinitionRecord, record_id
from laworkflow.definitions.catalog import Catalog
from laworkflow.definitions.machine import CompiledWorkflow, compile_definition
from laworkflow.errors import DefinitionChanged, UnknownDefinition
from laworkflow.logs import get_logger

log = get_logger("laworkflow")
MIGRATION = "moving a case onto another version is a migration: laworkflow migrate plan --from WORKFLOW@N --to WORKFLOW@M, then migrate apply"


class PinnedDefinitions:
    """Compiled definitions by (id, version, content hash), and the records still to be saved with the cases that pin them."""

    def __init__(self, app: Application[UUID], catalog: Callable[[], Catalog]):
        self.app = app
        self._catalog = catalog  # asked each time: the engine's catalog may be replaced (a reload, a test)
        self._stored: set[str] = set()  # content hashes whose record the store is known to hold
        self._compiled: dict[str, CompiledWorkflow] = {}  # compiled from stored records, by content hash
        self._behaviour: dict[str, str] = {}  # content hash -> behaviour hash (content is immutable, so is the pair)

    def current(self, definition_id: str, version: int, content_hash: str) -> CompiledWorkflow | None:
        """The catalog's compiled workflow if it is this content, or differs from the content kept for it only in words; else None."""
        try:
            workflow = self._catalog().get(definition_id, version)
        except UnknownDefinition:
            return None
        if workflow.content_hash == content_hash:
            return workflow
        kept = self._kept_behaviour(definition_id, version, content_hash)
        return workflow if kept is not None and kept == self._behaviour_of(workflow) else None

    def pinned(self, definition_id: str, version: int, content_hash: str) -> CompiledWorkflow:
        """For reading: the catalog's workflow while its behaviour is the pinned one (its words may be newer), else `exact`."""
        workflow = self.current(definition_id, version, content_hash)
        return workflow if workflow is not None else self.exact(definition_id, version, content_hash)

    def exact(self, definition_id: str, version: int, content_hash: str) -> CompiledWorkflow:
        """The content the case pinned, word for word: the catalog's when its hash matches, else the stored record compiled
        (cached), else UnknownDefinition. For what must hash to the pin: an export's definitions, a replayed `Started`."""
        try:
            workflow = self._catalog().get(definition_id, version)
        except UnknownDefinition:
            workflow = None
        if workflow is not None and workflow.content_hash == content_hash:
            return workflow
        if content_hash not in self._compiled:
            self._compiled[content_hash] = self._from_record(definition_id, version, content_hash)
        return self._compiled[content_hash]

    def _behaviour_of(self, workflow: CompiledWorkflow) -> str:
        if workflow.content_hash not in self._behaviour:
            self._behaviour[workflow.content_hash] = workflow.definition.behaviour_hash()
        return self._behaviour[workflow.content_hash]

    def _kept_behaviour(self, definition_id: str, version: int, content_hash: str) -> str | None:
        """The behaviour hash of the content kept in the store for this pin; None when none is kept (or it is unusable)."""
        if content_hash not in self._behaviour:
            try:
                kept = self.exact(definition_id, version, content_hash)
            except UnknownDefinition:  # not kept (an old store), or altered: a read says why; a command is refused
                return None
            self._behaviour[content_hash] = self._behaviour_of(kept)
        return self._behaviour[content_hash]

    def for_command(self, definition_id: str, version: int, content_hash: str) -> CompiledWorkflow:
        """For a new command: the catalog's workflow, only while its behaviour is the one the case pinned; else DefinitionChanged."""
        workflow = self.current(definition_id, version, content_hash)
        if workflow is not None:
            return workflow
        key = f"{definition_id}@{version}"
        try:
            now = f"the catalog's file now has {self._catalog().get(definition_id, version).content_hash[:12]}"
            if self._kept_behaviour(definition_id, version, content_hash) is None:
                what = f"{key} has changed since this case started on it (this store keeps no copy of the pinned content to tell words from rules)"
            else:
                what = f"{key} has changed since this case started on it, not only in words"
        except UnknownDefinition:
            now, what = "the catalog has no such file now", f"{key} is no longer in the catalog"
        raise DefinitionChanged(
            f"{what} (the case pinned content {content_hash[:12]}, {now}): the case can still be read, "
            f"but takes no new command on content that is no longer the catalog's; {MIGRATION}"
        )

    def _from_record(self, definition_id: str, version: int, content_hash: str) -> CompiledWorkflow:
        key = f"{definition_id}@{version}"
        try:
            record: object = self.app.repository.get(record_id(content_hash))
        except AggregateNotFoundError:
            raise UnknownDefinition(
                f"{key} with content {content_hash[:12]} is not in the catalog and not kept in the store "
                "(the store was written before definitions were kept; restore that version's file to read the case)"
            ) from None
        if not isinstance(record, DefinitionRecord):
            raise UnknownDefinition(f"{key} with content {content_hash[:12]}: the id of its record belongs to a {type(record).__name__}")
        problem = record.problem(definition_id, version, content_hash)
        if problem is not None:
            raise UnknownDefinition(problem)
        workflow = compile_definition(record.definition(), self._catalog().guards)
        if workflow.content_hash != content_hash:  # the model no longer reads the content as it did
            raise UnknownDefinition(f"the stored content of {key} ({content_hash[:12]}) now compiles to {workflow.content_hash[:12]}")
        self._stored.add(content_hash)
        log.info("definition.from_store", workflow=key, content_hash=content_hash)
        return workflow

    def records_for(self, objs: Iterable[Any]) -> list[DefinitionRecord]:
        """The records to save with these aggregates: one per content hash a case pins that the store does not hold yet.

        A case on content the catalog no longer has gets none here: commands on
        it are refused before they save, and one whose file changed only in
        words runs on because its record is already kept (that is what the
        words were compared with). So only a new case, which pins the file's
        content as it is now, or one whose file still matches brings a record.
        """
        records: dict[str, DefinitionRecord] = {}
        for obj in objs:
            if not isinstance(obj, Case) or obj.definition_hash in self._stored or obj.definition_hash in records:
                continue
            content_hash = obj.definition_hash
            if self.app.recorder.select_events(record_id(content_hash), limit=1):
                self._stored.add(content_hash)
                continue
            workflow = self.current(obj.definition_id, obj.definition_version, content_hash)
            if workflow is not None and workflow.content_hash == content_hash:  # a record holds the very content its id names
                records[content_hash] = DefinitionRecord.of(workflow)
        return list(records.values())

    def saved(self, records: Iterable[DefinitionRecord]) -> None:
        """Remember that these records are now in the store."""
        for record in records:
            self._stored.add(record.content_hash)
            log.info("definition.kept", workflow=f"{record.definition_id}@{record.definition_version}", content_hash=record.content_hash)


__all__ = ["MIGRATION", "PinnedDefinitions"]
