"""Every error the engine raises descends from :class:`LaworkflowError`.

Callers catch one base class; the CLI turns any of them into one readable
line and a non-zero exit, the HTTP layer into a 4xx with a stable ``code``.
Messages say what was wrong, the offending value and what would be valid.
"""

from __future__ import annotations

from dataclasses import dataclass


class LaworkflowError(Exception):
    """Base class: a request the engine refused, with nothing written."""

    code = "error"


class DurationError(LaworkflowError, ValueError):
    """A duration or due rule that cannot be read ("20 working days")."""

    code = "bad_duration"


class CalendarError(LaworkflowError, ValueError):
    """A nation the calendar does not know."""

    code = "bad_calendar"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition file, located as precisely as we can."""

    file: str
    location: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        loc = f" at {self.location}" if self.location else ""
        return f"{where}{loc}: {self.message}"


class DefinitionError(LaworkflowError):
    """A workflow definition was rejected; carries every problem found, not just the first."""

    code = "bad_definition"

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = "; ".join(str(p) for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in definition: {lines}")


class UnknownDefinition(LaworkflowError, LookupError):
    code = "unknown_definition"


class UnknownCase(LaworkflowError, LookupError):
    code = "unknown_case"


class TriggerNotAllowed(LaworkflowError):
    """The trigger is not defined from the case's current state."""

    code = "trigger_not_allowed"


class CaseWithdrawn(TriggerNotAllowed):
    """The case was withdrawn (`laworkflow.cases.withdrawal`): it can be read, but takes no further command."""


class InternalTrigger(LaworkflowError):
    """A person's command took a trigger only the engine takes (a reaction to a child case, a timer); the message names what fires it."""

    code = "internal_trigger"


class GuardFailed(LaworkflowError):
    """The trigger exists from this state but its guards reject the data."""

    code = "guard_failed"


class InvalidData(LaworkflowError, ValueError):
    """A command's data does not match what the trigger requires."""

    code = "invalid_data"


class BadTime(LaworkflowError, ValueError):
    """A command's effective time is malformed or earlier than the case's last event."""

    code = "bad_time"


class DefinitionChanged(LaworkflowError):
    """A case pinned to definition content that is no longer the catalog's: it can be read, but takes no new command."""

    code = "definition_changed"


class ConcurrentChange(LaworkflowError):
    """Another writer changed the case first; reload and retry."""

    code = "concurrent_change"


class OutOfRange(LaworkflowError, ValueError):
    """A date or moment, given or derived, outside the range the engine accepts (`laworkflow.calendar.bounds`)."""

    code = "out_of_range"


class NotInForce(LaworkflowError):
    """No version of a workflow is in force on the day a case would start on it; the message names each version's window."""

    code = "not_in_force"


class NotQuarantined(LaworkflowError, LookupError):
    """No quarantined item has that id (`laworkflow quarantine list` shows them)."""

    code = "not_quarantined"


class StillQuarantined(LaworkflowError):
    """A quarantined entry tried again failed again; it stays quarantined."""

    code = "still_quarantined"
