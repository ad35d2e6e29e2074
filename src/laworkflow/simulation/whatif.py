"""What-if runs: a persistent store's events copied into an in-memory engine.

`simulate --what-if` moves a simulated clock over a copy, so a person can see
what the coming months hold (timers fired, deadlines missed, states reached)
without recording any of it: events dated in the future would make the next
real command on those cases look like it happened before them. The store is
only read (its notification log, in order); the copy rebuilds its own timer
index from the copied events.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import StoredEvent

from laworkflow.calendar.clock import Clock
from laworkflow.encryption import same_cipher
from laworkflow.engine import Engine
from laworkflow.projections.follower import pages
from laworkflow.store import store_env

_BATCH = 1000


def _uuid(value: UUID | str) -> UUID | str:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        return value


def copy_to_memory(source: Engine, *, clock: Clock | None = None) -> Engine:
    """A fresh in-memory engine on the same catalog holding every event of `source`, in the same order."""
    copy = Engine(source.catalog, clock=clock, env=store_env("memory:") | same_cipher(source.env))  # the events are copied as stored
    for notifications in pages(source.recorder, 0, _BATCH):
        copy.recorder.insert_events(
            [StoredEvent(originator_id=_uuid(n.originator_id), originator_version=n.originator_version, topic=n.topic, state=n.state) for n in notifications]
        )
    return copy
