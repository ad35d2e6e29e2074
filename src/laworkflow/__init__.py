"""laworkflow: an event-sourced workflow engine for inspections of local authorities' education services."""

from .catalog import Catalog
from .clock import Clock, SimulatedClock, SystemClock
from .definition import Definition
from .engine import Engine
from .errors import (
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
from .guards import register as register_guard
from .store import StoreError, masked, store_env

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
