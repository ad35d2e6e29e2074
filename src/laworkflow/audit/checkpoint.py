"""Signed checkpoints: (origin, tree size, root) as a C2SP signed note, signed with Ed25519.

A checkpoint kept away from the store (printed, mailed, in another system) is
what turns "the chains agree with themselves" into "nobody rewrote the record":
later, a consistency proof shows today's log extends it, so a truncated log, a
deleted, edited or reordered event, or a store rolled back to an older copy, is
reported. The text is the C2SP tlog-checkpoint body (origin line, decimal size
line, base64 root line) followed by a blank line and the C2SP signed-note
signature line `— <name> <base64(key hash || signature)>`, where the key hash
is the first 4 bytes of SHA-256(name || 0x0A || 0x01 || the 32-byte Ed25519
public key) and the signature is Ed25519 over the body, so standard note tools
can check it.

The operator's key is an Ed25519 private key in a PEM file named by
`LAWORKFLOW_CHECKPOINT_KEY` (`laworkflow checkpoint keygen --out FILE` writes one,
mode 0600). Verifying needs only the public key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from laworkflow.audit import merkle
from laworkflow.errors import LaworkflowError

KEY_ENV = "LAWORKFLOW_CHECKPOINT_KEY"
ORIGIN = "laworkflow"
_DASH = "\u2014"


class CheckpointError(LaworkflowError, ValueError):
    """A checkpoint that cannot be read, a key that cannot be loaded, or a signature that does not verify."""

    code = "bad_checkpoint"


class LogNotExtended(LaworkflowError):
    """Today's log does not extend the kept checkpoint: the record was truncated, rolled back or rewritten."""

    code = "log_not_extended"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode('ascii')}\n"

    def to_dict(self) -> dict[str, object]:
        return {"origin": self.origin, "size": self.size, "root": self.root.hex()}


def key_hash(name: str, public: Ed25519PublicKey) -> bytes:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(name.encode("utf-8") + b"\n\x01" + raw).digest()[:4]


def sign(checkpoint: Checkpoint, key: Ed25519PrivateKey) -> str:
    """The signed note: body, blank line, one signature line named after the origin."""
    body = checkpoint.body()
    signature = key_hash(checkpoint.origin, key.public_key()) + key.sign(body.encode("utf-8"))
    return f"{body}\n{_DASH} {checkpoint.origin} {base64.b64encode(signature).decode('ascii')}\n"


def parse(text: str, public: Ed25519PublicKey) -> Checkpoint:
    """Read a signed note and check its signature by `public`; any fault is one CheckpointError."""
    body, sep, signatures = text.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) < 3:
        raise CheckpointError("not a signed checkpoint: expected origin, size and root lines, a blank line, then signatures")
    origin, size_text, root_text = lines[:3]
    try:
        size, root = int(size_text), base64.b64decode(root_text, validate=True)
    except ValueError:
        raise CheckpointError(f"not a checkpoint: size {size_text!r} or root {root_text!r} unreadable") from None
    if size < 0 or len(root) != 32:
        raise CheckpointError(f"not a checkpoint: size {size} or a root of {len(root)} bytes (32 expected)")
    expected = key_hash(origin, public)
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _DASH or parts[1] != origin:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            continue
        if blob[:4] != expected:
            continue
        try:
            public.verify(blob[4:], (body + "\n").encode("utf-8"))
        except InvalidSignature:
            raise CheckpointError(f"checkpoint signature by {origin!r} does not verify: the checkpoint was altered or signed by another key") from None
        return Checkpoint(origin, size, root)
    raise CheckpointError(f"checkpoint has no signature by {origin!r} with this public key")


def signer_from_file(path: str | None = None) -> Ed25519PrivateKey:
    """The operator's private key: the PEM file at `path`, else at $LAWORKFLOW_CHECKPOINT_KEY."""
    chosen = path or os.environ.get(KEY_ENV)
    if not chosen:
        raise CheckpointError(f"no checkpoint key: set {KEY_ENV} to an Ed25519 private key PEM file (laworkflow checkpoint keygen --out FILE)")
    try:
        key = serialization.load_pem_private_key(Path(chosen).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise CheckpointError(f"checkpoint key {Path(chosen).name!r} cannot be loaded: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"checkpoint key {Path(chosen).name!r} is not an Ed25519 private key")
    return key


def public_from_file(path: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as error:
        raise CheckpointError(f"public key {Path(path).name!r} cannot be loaded: {error}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"public key {Path(path).name!r} is not an Ed25519 key")
    return key


def new_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def current(leaves: list[bytes], origin: str = ORIGIN) -> Checkpoint:
    return Checkpoint(origin, len(leaves), merkle.root(leaves))


def check_extends(kept: Checkpoint, leaves: list[bytes]) -> Checkpoint:
    """Prove with a consistency proof that the log of `leaves` extends `kept`; returns today's checkpoint."""
    now = current(leaves, kept.origin)
    if now.size < kept.size:
        raise LogNotExtended(f"log truncated: {now.size} events now, the checkpoint has {kept.size} (events deleted or the store rolled back)")
    if kept.size == 0:
        return now
    proof = merkle.consistency_proof(leaves, kept.size)
    if not merkle.verify_consistency(kept.size, now.size, kept.root, now.root, proof):
        raise LogNotExtended(
            f"log rewritten: its first {kept.size} events no longer hash to the checkpoint's root (an event edited, deleted or reordered, or the store rolled back)"
        )
    return now
