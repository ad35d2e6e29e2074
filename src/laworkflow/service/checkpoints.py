"""Signed checkpoints recorded by a running service: at start, every so often, and at a clean stop.

`laworkflow checkpoint` signs on demand; a service signs by itself as long as
it runs, so there is always a recent checkpoint to prove the log against. With
the operator's key configured (`LAWORKFLOW_CHECKPOINT_KEY`, as for the command),
each checkpoint is

- a file in the checkpoint folder (`--checkpoint-dir`, `LAWORKFLOW_CHECKPOINT_DIR`,
  default `./checkpoints`), named `laworkflow-<tree size, 20 digits>.checkpoint`
  so names sort by size, written to a temporary file in the folder and renamed
  into place (a reader never sees half a checkpoint, a crash leaves none);
- and one structured log event, `checkpoint.recorded`, with origin, size, root
  and the signed note itself, so a log shipper keeps a copy away from the store
  and its folder (a copy kept beside the store can be rolled back with it).

Every `--checkpoint-every` seconds (`LAWORKFLOW_CHECKPOINT_EVERY`, default one
hour: at most an hour of events not yet anchored, at most 24 small files a day,
none while nothing happens), and only when the log has grown. Each round reads
only the events since the last (`audit.frontier`), so the cost does not grow
with the store. A file of the same size that is already there is left alone:
the same text is nothing to do, other text is reported (the log was rewritten or
rolled back and regrown, or another key signs) and never overwritten.

At start the newest checkpoint already in the folder is checked as the log is
read: a log that no longer extends it (truncated, rolled back, rewritten) is
logged as the error `checkpoint.log_not_extended`, for the operator to look into
with `verify --checkpoint`; the service serves on.

A checkpoint that cannot be made (a folder that cannot be written, a store that
cannot be read for a moment) is logged as `checkpoint.failed` and tried again at
the next round; it never stops the service. Without a key the service says once,
at start, that it records none and what that leaves unprovable; a key that
cannot be loaded is logged as an error and the service runs without checkpoints.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from laworkflow.audit.checkpoint import KEY_ENV, ORIGIN, Checkpoint, CheckpointError, parse, sign, signer_from_file
from laworkflow.audit.frontier import Frontier
from laworkflow.audit.leaves import log_entries
from laworkflow.engine import Engine
from laworkflow.logs import get_logger

log = get_logger("laworkflow.checkpoints")

EVERY_ENV = "LAWORKFLOW_CHECKPOINT_EVERY"
DIR_ENV = "LAWORKFLOW_CHECKPOINT_DIR"
DEFAULT_EVERY = 3600.0
DEFAULT_DIR = "checkpoints"
UNPROVABLE = (
    "without kept checkpoints, deleting the last events, a whole case or the key ring's changes, a rolled-back store, "
    "or an event rewritten with its chain recomputed cannot be detected"
)


class CheckpointConflict(CheckpointError):
    """The folder already holds a different checkpoint of the same size: the log was rewritten, or another key signs."""


@dataclass(frozen=True)
class CheckpointSettings:
    folder: Path = Path(DEFAULT_DIR)
    every: float = DEFAULT_EVERY


def file_name(size: int, origin: str = ORIGIN) -> str:
    """`<origin>-<size, 20 digits>.checkpoint`: 20 digits hold any 64-bit size, so names sort as sizes do."""
    return f"{origin}-{size:020d}.checkpoint"


def write_checkpoint(folder: Path, name: str, note: str) -> bool:
    """Write `note` as folder/name atomically (temporary file, fsync, rename); False when that very text is already there."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists():
        if target.read_text(encoding="utf-8") == note:
            return False
        raise CheckpointConflict(
            f"{name} already holds another checkpoint of this size: the log was rewritten or rolled back and regrown, "
            f"or another key signs; it is kept as it is (run verify --checkpoint with it)"
        )
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(note)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    try:  # the rename itself survives a crash once the folder is synced (not possible everywhere)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError:
        pass
    return True


def newest_kept(folder: Path, key: Ed25519PrivateKey) -> Checkpoint | None:
    """The largest checkpoint in the folder signed by this key, to prove at start that the log still extends it."""
    names = sorted(p.name for p in folder.glob(file_name(0).replace("0" * 20, "[0-9]" * 20))) if folder.is_dir() else []
    if not names:
        return None
    try:
        return parse((folder / names[-1]).read_text(encoding="utf-8"), key.public_key())
    except (OSError, UnicodeDecodeError, CheckpointError) as error:
        log.warning("checkpoint.kept_unreadable", file=names[-1], error=str(error))
        return None


class CheckpointKeeper:
    """Signs the log's tree head in a thread of its own: at start, every `every` seconds, and once more at `stop()`."""

    def __init__(self, engine: Engine, key: Ed25519PrivateKey, settings: CheckpointSettings):
        self.engine, self.key, self.settings = engine, key, settings
        self.frontier = Frontier()
        self.position = 0  # the last notification id folded into the frontier
        self.last_size = 0  # the size last recorded (or found already kept); an empty log is not worth signing
        self.recorded = 0
        self.failures = 0
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.newest_kept = newest_kept(settings.folder, key)  # checked once, as the first round folds the log in

    def _check_kept(self) -> None:
        """Once the frontier is as large as the newest kept checkpoint: is its root the kept one?"""
        kept = self.newest_kept
        if kept is not None and self.frontier.size == kept.size:
            self.newest_kept = None
            if self.frontier.root() != kept.root:
                log.error(
                    "checkpoint.log_not_extended",
                    kept_size=kept.size,
                    problem=f"log rewritten: its first {kept.size} events no longer hash to the root kept in {file_name(kept.size)}",
                )

    def record(self, reason: str) -> Path | None:
        """Sign and keep the tree head if the log grew since the last one; the file written, or None."""
        self._check_kept()
        for entry in log_entries(self.engine.recorder, self.engine.mapper, after=self.position):
            self.frontier.append(entry.leaf())
            self.position = entry.notification_id
            self._check_kept()
        size = self.frontier.size
        if self.newest_kept is not None:
            kept, self.newest_kept = self.newest_kept, None
            log.error("checkpoint.log_not_extended", kept_size=kept.size, problem=f"log truncated: {size} events now, {file_name(kept.size)} has {kept.size}")
        if size == self.last_size:
            return None
        checkpoint = Checkpoint(ORIGIN, size, self.frontier.root())
        note = sign(checkpoint, self.key)
        name = file_name(size)
        written = write_checkpoint(self.settings.folder, name, note)
        self.last_size = size
        if not written:
            return None
        self.recorded += 1
        path = self.settings.folder / name
        log.info("checkpoint.recorded", origin=checkpoint.origin, size=size, root=checkpoint.root.hex(), file=str(path), reason=reason, note=note)
        return path

    def attempt(self, reason: str) -> Path | None:
        """`record`, with any failure logged and counted instead of raised: the service goes on."""
        try:
            return self.record(reason)
        except Exception as error:
            self.failures += 1
            log.error("checkpoint.failed", reason=reason, error=f"{type(error).__name__}: {error}", failures=self.failures, folder=str(self.settings.folder))
            return None

    def run(self) -> None:
        self.attempt("start")
        while not self.stopping.wait(self.settings.every):
            self.attempt("interval")

    def start_in_thread(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name="laworkflow-checkpoints", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Stop the rounds, then record the last checkpoint (after the scheduler's last events)."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self.attempt("stop")


def keeper_for(engine: Engine, settings: CheckpointSettings) -> CheckpointKeeper | None:
    """A keeper when the operator configured a usable key; otherwise None, having said why in the log."""
    if not os.environ.get(KEY_ENV):
        log.warning("checkpoint.off", reason=f"{KEY_ENV} is not set, so this service records no checkpoints; {UNPROVABLE}")
        return None
    try:
        key = signer_from_file()
    except CheckpointError as error:
        log.error("checkpoint.key_unusable", error=str(error), consequence=f"this service records no checkpoints; {UNPROVABLE}")
        return None
    log.info("checkpoint.on", folder=str(settings.folder), every_seconds=settings.every)
    return CheckpointKeeper(engine, key, settings)


__all__ = ["DEFAULT_DIR", "DEFAULT_EVERY", "DIR_ENV", "EVERY_ENV", "CheckpointKeeper", "CheckpointSettings", "file_name", "keeper_for", "write_checkpoint"]
