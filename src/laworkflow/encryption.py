"""Encryption at rest: eventsourcing's AES-GCM cipher, switched on by one setting, checked when a store is opened.

With `LAWORKFLOW_CIPHER_KEY` set (a base64 AES key of 16, 24 or 32 bytes;
`laworkflow encryption keygen` prints one), every event and snapshot the engine
stores is encrypted by eventsourcing's own `eventsourcing.cryptography:AESCipher`
(AES-GCM, a random 96-bit nonce per event, the tag authenticating it; the
`cryptography` package is already a runtime dependency). We take eventsourcing's
cipher rather than our own: it sits in the mapper every read and write goes
through, snapshots included, so nothing can bypass it. The key ring and the risk
register are stored through the engine's repository, and what-if copies are
engines too, so one setting covers every application on the store.

The name: eventsourcing reads an application's settings under its upper-cased
name first, so for the application named `laworkflow` `LAWORKFLOW_CIPHER_KEY` is
the very `CIPHER_KEY` it would read anyway; we validate it first (eventsourcing
would quietly drop characters that are not base64) and name the cipher for it.
`LAWORKFLOW_CIPHER_KEY_FILE` names a file holding the key instead, for secrets
mounted as files (systemd credentials, container secrets) and to keep it out of
the process environment, which child processes inherit.

A store is all encrypted or all plaintext: eventsourcing cannot re-encrypt
stored events. So on opening, the first and the last stored events are read
back through the mapper, and a store that does not match the setting is refused
with one line before anything is written: an encrypted store without a key or
with another key, a plaintext store with a key. No message ever holds the key.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from laworkflow.errors import LaworkflowError

KEY_ENV = "LAWORKFLOW_CIPHER_KEY"
KEY_FILE_ENV = "LAWORKFLOW_CIPHER_KEY_FILE"
TOPIC = "eventsourcing.cryptography:AESCipher"
KEY_SIZES = (16, 24, 32)
_SETTINGS = ("CIPHER_TOPIC", "CIPHER_KEY")


class CipherKeyError(LaworkflowError, ValueError):
    """The configured key cannot be a key: not base64, the wrong length, both settings at once, an unreadable file."""

    code = "bad_cipher_key"


class CipherMismatch(LaworkflowError):
    """The store and the key do not go together: encrypted without a key or with another one, or plaintext with a key."""

    code = "cipher_mismatch"


def new_key(size: int = 32) -> str:
    """A new random AES key of `size` bytes, base64: the value for LAWORKFLOW_CIPHER_KEY."""
    if size not in KEY_SIZES:
        raise CipherKeyError(f"an AES key is 16, 24 or 32 bytes; got {size}")
    return base64.b64encode(os.urandom(size)).decode("ascii")


def _configured(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(where the key came from, the key text) from the environment, or None when encryption is off."""
    text, path = environ.get(KEY_ENV) or "", environ.get(KEY_FILE_ENV) or ""
    if text and path:
        raise CipherKeyError(f"both {KEY_ENV} and {KEY_FILE_ENV} are set; set one of them")
    if path:
        try:
            return f"{KEY_FILE_ENV} ({Path(path).name!r})", Path(path).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "it is not ASCII text"
            raise CipherKeyError(f"cannot read the cipher key file named by {KEY_FILE_ENV} ({Path(path).name!r}): {reason}") from None
    return (KEY_ENV, text.strip()) if text else None


def checked_key(text: str, source: str = KEY_ENV) -> str:
    """The key text when it is strict base64 of 16, 24 or 32 bytes; otherwise CipherKeyError (never quoting the key)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CipherKeyError(f"{source} is not a base64 AES key (laworkflow encryption keygen prints one)") from None
    if len(raw) not in KEY_SIZES:
        raise CipherKeyError(f"{source} decodes to {len(raw)} bytes; an AES key is 16, 24 or 32 bytes (laworkflow encryption keygen prints one)")
    return text


def cipher_env(env: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`env` with the cipher settings of the configured key added (eventsourcing's names), unless `env` names a cipher itself."""
    settings = dict(env or {})
    if any(settings.get(name) for name in _SETTINGS):
        return settings
    found = _configured(os.environ if environ is None else environ)
    if found is None:
        return settings
    key = checked_key(found[1], found[0])
    # KEY_ENV too: eventsourcing reads it before CIPHER_KEY, and a key from a file must win over an empty variable.
    return {**settings, "CIPHER_TOPIC": TOPIC, "CIPHER_KEY": key, KEY_ENV: key}


def same_cipher(env: Mapping[str, str]) -> dict[str, str]:
    """The cipher settings an application was opened with (an eventsourcing Environment), for a copy that must read its events."""
    found = {name: env.get(name) for name in _SETTINGS}
    return {name: value for name, value in found.items() if value} | ({KEY_ENV: found["CIPHER_KEY"]} if found["CIPHER_KEY"] else {})


def _readable(mapper: Any, state: bytes, *, decrypt: bool) -> bool:
    """True when `state` reads back as an event's JSON through the mapper (with or without its cipher)."""
    try:
        if decrypt:
            state = mapper.cipher.decrypt(state)
        if getattr(mapper, "compressor", None) is not None:
            state = mapper.compressor.decompress(state)
        mapper.transcoder.decode(state)
    except Exception:  # a failed tag, bytes that are not JSON, a damaged compression: not readable this way
        return False
    return True


def check_store(recorder: Any, mapper: Any) -> None:
    """Refuse a store whose stored events the mapper cannot read: the wrong key, a missing key, or a key for a plaintext store."""
    last = recorder.max_notification_id() or 0
    if last == 0:
        return  # a new store: what is written from now on follows the setting
    encrypted = getattr(mapper, "cipher", None) is not None
    for position in sorted({1, last}):
        page = recorder.select_notifications(position, 1)
        if not page:
            continue
        state = page[0].state
        if _readable(mapper, state, decrypt=encrypted):
            continue
        if not encrypted:
            raise CipherMismatch(
                f"the store's events are encrypted (or damaged): set {KEY_ENV} (or {KEY_FILE_ENV}) to the key it was encrypted with; nothing was written"
            )
        if _readable(mapper, state, decrypt=False):
            raise CipherMismatch(
                "the store is not encrypted but a cipher key is set: eventsourcing cannot encrypt stored events, "
                "so unset it for this store (or copy the cases into a new, encrypted store); nothing was written"
            )
        raise CipherMismatch(
            "the configured cipher key does not decrypt the store's events: it is not the key they were encrypted with (or they were altered); nothing was written"
        )


def check_opened(application: Any) -> None:
    """`check_store` on a freshly opened eventsourcing application; on refusal its connections are closed first."""
    try:
        check_store(application.recorder, application.mapper)
    except CipherMismatch:
        application.factory.close()
        raise


__all__ = ["KEY_ENV", "KEY_FILE_ENV", "TOPIC", "CipherKeyError", "CipherMismatch", "check_opened", "check_store", "cipher_env", "new_key", "same_cipher"]
