"""The audit record: one Merkle tree over the whole log, and signed checkpoints that prove it only grew."""

from laworkflow.audit.checkpoint import Checkpoint, CheckpointError, LogNotExtended, check_extends, sign, signer_from_file
from laworkflow.audit.leaves import leaf_data, log_leaves

__all__ = ["Checkpoint", "CheckpointError", "LogNotExtended", "check_extends", "leaf_data", "log_leaves", "sign", "signer_from_file"]
