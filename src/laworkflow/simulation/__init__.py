"""Running the engine forwards on purpose: the Norfolk demo, the national simulation and what-if copies of a store."""

from laworkflow.simulation.national import simulate_nation
from laworkflow.simulation.whatif import copy_to_memory

__all__ = ["copy_to_memory", "simulate_nation"]
