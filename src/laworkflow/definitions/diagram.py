"""Mermaid state diagrams, drawn from the definition model alone."""

from __future__ import annotations

from laworkflow.definitions.model import Definition


def mermaid(definition: Definition) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {definition.initial}"]
    for transition in definition.transitions:
        guard = " [guarded]" if transition.guards else ""
        for source in transition.source:
            lines.append(f"    {source} --> {transition.target(source)}: {transition.trigger}{guard}")
    for timer in definition.timers:
        lines.append(f"    note right of {timer.state}: timer {timer.id} fires {timer.fires} ({timer.due})")
    for name, state in definition.states.items():
        if state.terminal:
            lines.append(f"    {name} --> [*]")
    return "\n".join(lines) + "\n"
