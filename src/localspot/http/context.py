"""What every handler needs from a request: the service, the caller's portal, and a thread to run in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from localspot.crm.service import CrmService
from localspot.http.wire import json_body

T = TypeVar("T")


def service(request: Request) -> CrmService:
    return request.app.state.service


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def portal_of(request: Request) -> int:
    """The portal the Bearer token belongs to (401 INVALID_AUTHENTICATION otherwise).

    A token seen before is answered on the event loop; only a first sight asks the database (in the
    thread pool), so a request makes one thread hop, not two."""
    token = bearer_token(request)
    portal = service(request).cached_portal(token)
    if portal is not None:
        return portal
    return await run_in_threadpool(service(request).authenticate, token)


async def body_of(request: Request) -> Any:
    return await json_body(request, request.app.state.settings.max_body_bytes)


async def call(function: Callable[..., T], *args: Any) -> T:
    """Run a `CrmService` method (every caller passes one, bound) where its store is fastest.

    PostgreSQL work mostly waits on the network, so it runs in the thread pool and the waits of several
    requests overlap. SQLite work is CPU work in this process, and runs right here on the event loop,
    one request at a time: in the thread pool, a thread that let go of the GIL for each row SQLite
    stepped through waited up to the 5 ms switch interval to get it back while other request threads
    ran Python (the convoy effect), and 4 concurrent batch reads ran at under half the speed of one.
    `--workers` gives SQLite parallel requests, one process each (docs/benchmarks.md).
    """
    if function.__self__.runs_in_process:
        return function(*args)
    return await run_in_threadpool(function, *args)
