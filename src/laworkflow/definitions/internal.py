"""Internal triggers: transitions only the engine takes, never a person's command.

A trigger that stands for a child case's outcome ("the monitoring visit's
letter is done") must be taken when the child gets there, by the follow-up
manager, not typed in by hand: a transition marked `internal: true` is taken
by a reaction (`Case.react`) or a timer (`Case.fire_timer`), and a person's
command (`Case.fire`: the CLI `fire`, HTTP POST /v1/cases/{id}/fire,
`Engine.fire`) is refused with `InternalTrigger`, whose message names the
reactions and timers that fire it. `allowed` does not offer such transitions.
"""

from __future__ import annotations

from laworkflow.definitions.model import Definition, Transition
from laworkflow.errors import InternalTrigger

# Actors the engine records for what it does itself: `child:<id>` for a reaction, `timer:<id>` for a timer.
ENGINE_ACTOR_PREFIXES = ("child:", "timer:")


def is_engine_actor(actor: str) -> bool:
    return actor.startswith(ENGINE_ACTOR_PREFIXES)


def fired_by(definition: Definition, trigger: str) -> str:
    """What takes `trigger` in a definition, in words: its reactions (child workflow, states) and timers."""
    parts = [
        f"reaction {r.id!r} when a {r.child} child case reaches {' or '.join(repr(s) for s in r.reaches)}" for r in definition.reactions if r.fire == trigger
    ]
    parts += [f"timer {t.id!r} when it falls due in state {t.state!r}" for t in definition.timers if t.fires == trigger]
    return "; ".join(parts) or "nothing in this definition (it is marked internal)"


def refusal(definition: Definition, trigger: str) -> InternalTrigger:
    return InternalTrigger(
        f"trigger {trigger!r} of {definition.id}@{definition.version} is taken only by the engine, never by a person's command: "
        f"fired by {fired_by(definition, trigger)}; nothing was recorded"
    )


def refuse_internal(definition: Definition, state: str, trigger: str, transition: Transition | None = None) -> None:
    """Raise InternalTrigger when a person's command would take an internal transition.

    Before a transition is selected (`transition` None): when every transition
    of `trigger` from `state` is internal, or, if none leaves `state`, every
    transition of `trigger` in the definition (a refusal that names what fires
    it says more than "not allowed in this state"). After: when the selected
    one is internal.
    """
    if transition is not None:
        if transition.internal:
            raise refusal(definition, trigger)
        return
    of_trigger = [t for t in definition.transitions if t.trigger == trigger]
    from_state = [t for t in of_trigger if state in t.source] or of_trigger
    if from_state and all(t.internal for t in from_state):
        raise refusal(definition, trigger)


__all__ = ["ENGINE_ACTOR_PREFIXES", "fired_by", "is_engine_actor", "refuse_internal", "refusal"]
