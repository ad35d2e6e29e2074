"""The audit record: one Merkle tree over the whole log, and signed checkpoints that prove it only grew."""

from laworkflow.audit.checkpoint import Checkpoint, CheckpointError, LogNotExtended, check_extends, sign, signer_from_file
from laworkflow.audit.leaves import LogEntry, leaf_data, log_entries, log_leaves

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "LogEntry",
    "LogNotExtended",
    "check_extends",
    "leaf_data",
    "log_entries",
    "log_leaves",
    "sign",
    "signer_from_file",
]
