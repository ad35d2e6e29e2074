"""The definition a case pinned: from the catalog while its file is unchanged, else from the record kept in the store.

Reads and commands want different things of a case whose YAML file was
edited or removed after it started. A read (show, --as-of, history, allowed
triggers, the register, follow-up decisions) must go on working on the exact
content the case ran on, so it falls back to the `DefinitionRecord` saved in
the event store. A new command must not run on content that is no longer the
catalog's: it is refused with DefinitionChanged, which points to migration.

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
MIGRATION = "moving a case onto new content is a migration (a later feature: laworkflow migrate)"


class PinnedDefinitions:
    """Compiled definitions by (id, version, content hash), and the records still to be saved with the cases that pin them."""

    def __init__(self, app: Application[UUID], catalog: Callable[[], Catalog]):
        self.app = app
        self._catalog = catalog  # asked each time: the engine's catalog may be replaced (a reload, a test)
        self._stored: set[str] = set()  # content hashes whose record the store is known to hold
        self._compiled: dict[str, CompiledWorkflow] = {}  # compiled from stored records, by content hash

    def current(self, definition_id: str, version: int, content_hash: str) -> CompiledWorkflow | None:
        """The catalog's compiled workflow if it is still this content, else None."""
        try:
            workflow = self._catalog().get(definition_id, version)
        except UnknownDefinition:
            return None
        return workflow if workflow.content_hash == content_hash else None

    def pinned(self, definition_id: str, version: int, content_hash: str) -> CompiledWorkflow:
        """For reading: the catalog's workflow when its hash matches, else the stored record compiled (cached), else UnknownDefinition."""
        workflow = self.current(definition_id, version, content_hash)
        if workflow is not None:
            return workflow
        if content_hash not in self._compiled:
            self._compiled[content_hash] = self._from_record(definition_id, version, content_hash)
        return self._compiled[content_hash]

    def for_command(self, definition_id: str, version: int, content_hash: str) -> CompiledWorkflow:
        """For a new command: the catalog's workflow, only while it is the content the case pinned; else DefinitionChanged."""
        workflow = self.current(definition_id, version, content_hash)
        if workflow is not None:
            return workflow
        key = f"{definition_id}@{version}"
        try:
            now = f"the catalog's file now has {self._catalog().get(definition_id, version).content_hash[:12]}"
            what = f"{key} has changed since this case started on it"
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
        it are refused before they save, so only a new case or one whose file
        still matches ever reaches a save.
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
            if workflow is not None:
                records[content_hash] = DefinitionRecord.of(workflow)
        return list(records.values())

    def saved(self, records: Iterable[DefinitionRecord]) -> None:
        """Remember that these records are now in the store."""
        for record in records:
            self._stored.add(record.content_hash)
            log.info("definition.kept", workflow=f"{record.definition_id}@{record.definition_version}", content_hash=record.content_hash)


__all__ = ["MIGRATION", "PinnedDefinitions"]
