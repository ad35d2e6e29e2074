"""Read models folded from the event log, each rebuildable: the timer index, the register, the follow-up manager."""

from laworkflow.projections.authority_register import AuthorityRegister
from laworkflow.projections.backends import DueStore, due_store_for
from laworkflow.projections.follower import Follower, Projection
from laworkflow.projections.followup import ChildFollower, PendingReaction
from laworkflow.projections.timer_index import DueIndex

__all__ = [
    "AuthorityRegister",
    "ChildFollower",
    "DueIndex",
    "DueStore",
    "Follower",
    "PendingReaction",
    "Projection",
    "due_store_for",
]
