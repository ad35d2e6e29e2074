"""API keys: who may call the HTTP API, in which role, recorded in the engine's own event store.

The keys live in one event-sourced aggregate, the `KeyRing`, saved in the same
store as the cases (SQLite, PostgreSQL or memory), so there is no extra table
to create or migrate, and issuing or revoking a key is itself an audited
event: who issued it, when, in which role, who revoked it.

A key reads `lw_<name>_<secret>`: the name says whose it is (and is the actor
every write made with it records), the secret is 32 random bytes
(`secrets.token_urlsafe(32)`). The key is shown once, when it is issued; the
ring stores only its SHA-256 digest.

Why a fast hash is enough here: slow password hashes (bcrypt, scrypt, argon2)
exist because people choose guessable passwords, and a slow hash makes a
dictionary attack on a stolen digest expensive. A key here is not chosen by a
person: its secret has 256 bits of entropy, so a stolen digest cannot be
reversed by guessing however fast the hash is, and no salt is needed because
no two keys share a secret. A fast hash also keeps checking a key on every
request cheap. The digests are compared with `hmac.compare_digest`, in
constant time, so response timing tells an attacker nothing about how much of
a digest matched.

Roles (`ROLES`): `admin` may do everything, key management included;
`inspector` may read and send commands (start cases, fire triggers);
`auditor` may only read; `calendar` may only read the calendar feed — the one
key that may travel in a URL (`?token=`), which calendars subscribe to and
which gets written down and logged, so it grants nothing else.

Names are never reused, not even after a revocation, so an actor name in a
case's history always means one key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from laworkflow.errors import LaworkflowError
from laworkflow.store import retrying, save_or_conflict

T = TypeVar("T")

NAMESPACE = uuid5(NAMESPACE_URL, "https://laworkflow/")
KEYRING_ID = uuid5(NAMESPACE, "keyring")
"""The one KeyRing of a store; never a case id."""

PREFIX = "lw"
ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "write", "keys"}),
    "inspector": frozenset({"read", "write"}),
    "auditor": frozenset({"read"}),
    "calendar": frozenset({"calendar"}),
}
RESERVED_NAMES = frozenset({"system", "cli"})
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.@-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
_KEY = re.compile(rf"^{PREFIX}_([A-Za-z0-9][A-Za-z0-9.@-]{{0,63}})_([A-Za-z0-9_-]{{20,100}})$")


# ---------------------------------------------------------------------- errors


class KeyProblem(LaworkflowError):
    """Base class of the errors of key management and authentication."""

    code = "key_error"


class Unauthenticated(KeyProblem):
    """No key, a malformed key, or a key that is unknown or revoked."""

    code = "unauthenticated"


class Forbidden(KeyProblem):
    """A valid key whose role may not do what was asked."""

    code = "forbidden"


class UnknownRole(KeyProblem, ValueError):
    code = "unknown_role"


class InvalidKeyName(KeyProblem, ValueError):
    code = "invalid_key_name"


class DuplicateKey(KeyProblem):
    """A key of that name exists or existed (names are never reused)."""

    code = "duplicate_key"


class UnknownKey(KeyProblem, LookupError):
    code = "unknown_key"


class AlreadyRevoked(KeyProblem):
    code = "already_revoked"


# ------------------------------------------------------------------- aggregate


class KeyRing(Aggregate):
    """Every API key ever issued in a store: role, digest, who issued it, whether it is revoked."""

    class Created(Aggregate.Created):
        pass

    class KeyIssued(Aggregate.Event):
        name: str
        role: str
        digest: str
        issued_by: str

        def apply(self, ring: KeyRing) -> None:
            ring.keys[self.name] = {
                "role": self.role,
                "digest": self.digest,
                "issued_by": self.issued_by,
                "issued_at": self.timestamp,
                "revoked": False,
            }

    class KeyRevoked(Aggregate.Event):
        name: str
        revoked_by: str

        def apply(self, ring: KeyRing) -> None:
            ring.keys[self.name] = {**ring.keys[self.name], "revoked": True, "revoked_by": self.revoked_by, "revoked_at": self.timestamp}

    def __init__(self) -> None:
        self.keys: dict[str, dict[str, Any]] = {}

    @classmethod
    def open(cls) -> KeyRing:
        return cls._create(cls.Created, id=KEYRING_ID)

    def issue(self, name: str, role: str, digest: str, *, issued_by: str) -> None:
        if name in self.keys:
            state = "revoked" if self.keys[name]["revoked"] else "active"
            raise DuplicateKey(f"a key named {name!r} already exists ({state}); names are never reused, choose another")
        self.trigger_event(self.KeyIssued, name=name, role=role, digest=digest, issued_by=issued_by)

    def revoke(self, name: str, *, revoked_by: str) -> None:
        if name not in self.keys:
            raise UnknownKey(f"no key named {name!r}; keys: {', '.join(sorted(self.keys)) or '(none)'}")
        if self.keys[name]["revoked"]:
            raise AlreadyRevoked(f"the key {name!r} is already revoked")
        self.trigger_event(self.KeyRevoked, name=name, revoked_by=revoked_by)


# --------------------------------------------------------------------- service


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: the key's name (the actor of every write) and its role."""

    name: str
    role: str

    def may(self, permission: str) -> bool:
        return permission in ROLES.get(self.role, frozenset())

    def require(self, permission: str) -> None:
        if not self.may(permission):
            allowed = ", ".join(role for role, grants in ROLES.items() if permission in grants)
            raise Forbidden(f"the key {self.name!r} has role {self.role!r}, which may not {_VERBS.get(permission, permission)}; roles that may: {allowed}")


_VERBS = {"read": "read", "write": "start cases or fire triggers", "keys": "manage API keys", "calendar": "read the calendar feed"}


def digest(key: str) -> str:
    """The SHA-256 of a whole key, as stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Keys:
    """Issue, revoke, list and check API keys, in the event store of an engine (any eventsourcing Application)."""

    def __init__(self, engine: Application[Any]):
        self.engine = engine

    def issue(self, name: str, role: str, *, by: str) -> str:
        """Issue a key and return it: the only time it is ever shown."""
        if role not in ROLES:
            raise UnknownRole(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidKeyName(f"a key name is 1-64 letters, digits, '.', '@' or '-', starting with a letter or digit (no '_'); got {name!r}")
        if name in RESERVED_NAMES:
            raise InvalidKeyName(f"{name!r} is reserved for the engine's own actors; choose another name")
        key = f"{PREFIX}_{name}_{secrets.token_urlsafe(32)}"
        self._change(lambda ring: ring.issue(name, role, digest(key), issued_by=by))
        return key

    def revoke(self, name: str, *, by: str) -> None:
        """Revoke a key at once: the next request made with it is refused."""
        self._change(lambda ring: ring.revoke(name, revoked_by=by))

    def list(self) -> list[dict[str, Any]]:
        """Every key ever issued, by name; never the key or its digest."""
        ring = self._ring(copy=True)
        if ring is None:
            return []
        return [
            {"name": name, "role": entry["role"], "issued_at": entry["issued_at"], "revoked": entry["revoked"]} for name, entry in sorted(ring.keys.items())
        ]

    def authenticate(self, key: str | None) -> Principal:
        """The principal a key stands for; raises Unauthenticated for a missing, malformed, unknown or revoked key."""
        if not key:
            raise Unauthenticated("no API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
        match = _KEY.match(key)
        if match is None:
            raise Unauthenticated("malformed API key: a key reads lw_<name>_<secret>, exactly as it was issued")
        ring = self._ring()
        entry = ring.keys.get(match.group(1)) if ring is not None else None
        stored = entry["digest"] if entry is not None else "0" * 64
        matches = hmac.compare_digest(stored, digest(key))
        if entry is None or not matches or entry["revoked"]:
            raise Unauthenticated("invalid API key: unknown, revoked or mistyped")
        return Principal(match.group(1), entry["role"])

    def active(self, name: str) -> Principal:
        """The principal of a key by its name, while the key stands: a signed-in session re-checks it on every page,
        so revoking the key ends its sessions at once. Raises Unauthenticated for an unknown or revoked name."""
        ring = self._ring()
        entry = ring.keys.get(name) if ring is not None else None
        if entry is None or entry["revoked"]:
            raise Unauthenticated("the key this session was opened with is unknown or revoked: sign in again")
        return Principal(name, entry["role"])

    # ----------------------------------------------------------------- helpers

    def _ring(self, *, copy: bool = False) -> KeyRing | None:
        """The ring, fast-forwarded from the store (one indexed read), so a key another process revoked is refused at once.

        A `copy` for a caller that changes the ring or walks its keys; looking one key up needs none (and the cache's ring
        may grow under a walk, fast-forwarded by another thread: the repository is safe to read from any thread)."""
        try:
            ring: object = self.engine.repository.get(KEYRING_ID, deepcopy_from_cache=copy)
        except AggregateNotFoundError:
            return None
        if not isinstance(ring, KeyRing):
            raise LaworkflowError(f"aggregate {KEYRING_ID} in this store is a {type(ring).__name__}, not the key ring")
        return ring

    def _change(self, change: Callable[[KeyRing], None]) -> None:
        """Load (or open) the ring, change it and save; reload and retry when another writer saved first."""

        def attempt() -> None:
            ring = self._ring(copy=True) or KeyRing.open()
            change(ring)
            save_or_conflict(self.engine.save, ring, says="the key ring kept changing under us; try again")

        retrying(attempt)


__all__ = [
    "KEYRING_ID",
    "ROLES",
    "AlreadyRevoked",
    "DuplicateKey",
    "Forbidden",
    "InvalidKeyName",
    "KeyProblem",
    "KeyRing",
    "Keys",
    "Principal",
    "Unauthenticated",
    "UnknownKey",
    "UnknownRole",
]
