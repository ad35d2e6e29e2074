"""laworkflow: an event-sourced workflow engine for inspections of local authorities' education services."""

from laworkflow.calendar.clock import Clock, SimulatedClock, SystemClock
from laworkflow.definitions.catalog import Catalog
from laworkflow.definitions.guards import register as register_guard
from laworkflow.definitions.model import Definition
from laworkflow.engine import Engine
from laworkflow.errors import (
    BadTime,
    ConcurrentChange,
    DefinitionError,
    GuardFailed,
    InvalidData,
    LaworkflowError,
    OutOfRange,
    TriggerNotAllowed,
    UnknownCase,
    UnknownDefinition,
)
from laworkflow.store import StoreError, masked, store_env

__all__ = [
    "BadTime",
    "Catalog",
    "Clock",
    "ConcurrentChange",
    "Definition",
    "DefinitionError",
    "Engine",
    "GuardFailed",
    "InvalidData",
    "LaworkflowError",
    "OutOfRange",
    "SimulatedClock",
    "StoreError",
    "SystemClock",
    "TriggerNotAllowed",
    "UnknownCase",
    "UnknownDefinition",
    "masked",
    "register_guard",
    "store_env",
]
