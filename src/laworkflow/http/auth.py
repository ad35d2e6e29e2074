"""Who is asking: the engine an app serves, behind its lock, and the API key of each request with its role."""

import threading
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Depends, Path, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from laworkflow.engine import Engine
from laworkflow.errors import UnknownCase
from laworkflow.keys import KEYRING_ID, Keys, Principal, Unauthenticated

T = TypeVar("T")


@dataclass
class Served:
    """What one app serves: an engine, its key ring, the lock every engine call holds, and what /readyz asks besides."""

    engine: Engine
    keys: Keys
    lock: AbstractContextManager[Any] = field(default_factory=threading.Lock)
    ready: Callable[[], bool] | None = None

    def locked(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.lock:
            return function(*args, **kwargs)


def served(request: Request) -> Served:
    """The dependency every route asks for: the app's engine, from `app.state`."""
    service: Served = request.app.state.served
    return service


async def _served(request: Request) -> Served:
    """`served` as a dependency: a coroutine, so FastAPI runs it on the event loop rather than sending it to a thread."""
    return served(request)


Service = Annotated[Served, Depends(_served)]

bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer lw_<name>_<secret>")
api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same key in X-API-Key.")


def principal_for(permission: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the key's principal, refused (401/403) unless its role grants `permission`."""

    async def authenticate(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
        header: Annotated[str | None, Security(api_key)] = None,
    ) -> Principal:
        key = credentials.credentials if credentials is not None else header
        if not key:
            raise Unauthenticated("no API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
        # Not under the engine's lock: the ring is read from the repository, safe from any thread, by one indexed read
        # (`Keys._ring`). From a local file that read takes microseconds, less than a trip to a worker thread, so it is
        # made on the event loop; across a network (a store several nodes share) it is sent to a worker thread.
        service = served(request)
        if service.engine.due_store.shared:
            principal = await run_in_threadpool(service.keys.authenticate, key)
        else:
            principal = service.keys.authenticate(key)
        principal.require(permission)
        return principal

    return authenticate


Reader = Annotated[Principal, Depends(principal_for("read"))]
Writer = Annotated[Principal, Depends(principal_for("write"))]
Admin = Annotated[Principal, Depends(principal_for("keys"))]
CASE_ID_PATTERN = r"^-*(?:[0-9A-Fa-f]-*){4,32}$"  # a UUID or a prefix of one: at least 4 hex digits, dashes anywhere; anything else is a 422
CaseId = Annotated[str, Path(max_length=36, pattern=CASE_ID_PATTERN, description="A case id (UUID), or a unique prefix of one (at least 4 hex digits).")]


def case_id(service: Served, value: str | UUID) -> UUID:
    """The case a full id or a unique prefix names. A prefix is looked up in the engine's case index, under the lock;
    a full id is a case id as it is (whether that case exists is for the engine to say), so it takes no lock."""
    try:
        full = value if isinstance(value, UUID) else UUID(value)
    except ValueError:
        return service.locked(case_id_held, service.engine, value)
    return case_id_held(service.engine, full)


def case_id_held(engine: Engine, value: str | UUID) -> UUID:
    """`case_id` for a caller that holds the lock already; the key ring shares the store but is not a case."""
    found = engine.case_id(value)
    if found == KEYRING_ID:
        raise UnknownCase(f"no case {found}")
    return found


__all__ = ["CASE_ID_PATTERN", "Admin", "CaseId", "Reader", "Served", "Service", "Writer", "case_id", "case_id_held", "principal_for", "served"]
