"""Topics the Case aggregate was stored under before the package had subpackages, so old stores keep loading.

Every stored event and snapshot names its class by topic (`module:qualname`).
Until the relayout the aggregate lived in `laworkflow.case`; a store written
then says `laworkflow.case:Case.Started`. Registering the former module and
class with eventsourcing makes those topics resolve to today's classes, and
`topics_of` gives readers that filter the log by topic both spellings.
"""

from __future__ import annotations

import sys

from eventsourcing.utils import get_topic, register_topic

from laworkflow.cases.case import Case

FORMER_MODULE = "laworkflow.case"


def topics_of(event_class: type) -> list[str]:
    """The topic an event class is stored under today, then the one it was stored under before the relayout."""
    return [get_topic(event_class), f"{FORMER_MODULE}:{event_class.__qualname__}"]


register_topic(FORMER_MODULE, sys.modules[Case.__module__])
register_topic(f"{FORMER_MODULE}:Case", Case)

__all__ = ["FORMER_MODULE", "topics_of"]
