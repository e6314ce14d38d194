"""The one error renderer: every non-2xx answer, ours or the framework's, leaves as HubSpot's envelope."""

from __future__ import annotations

import logging
import uuid

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from localspot.crm.errors import HubSpotError
from localspot.http.wire import json_response
from localspot.store.base import StoreUnavailable

log = logging.getLogger("localspot")


def render(error: HubSpotError) -> Response:
    correlation_id = str(uuid.uuid4())
    headers = {"x-hubspot-correlation-id": correlation_id, **error.headers}
    return json_response(error.body(correlation_id), error.status, headers)


def from_http_exception(request: Request, exc: HTTPException) -> HubSpotError:
    """Starlette's own 404/405 (no such route, wrong method), in HubSpot's words."""
    if exc.status_code == 405:
        # Starlette builds Allow from a set, so its order changes between processes; answer a stable one.
        methods = (exc.headers or {}).get("Allow", "").split(",")
        allowed = ", ".join(sorted(m.strip() for m in methods if m.strip()))
        return HubSpotError(
            f"Method {request.method} is not allowed on {request.url.path}; allowed: {allowed}.",
            status=405,
            category="VALIDATION_ERROR",
            headers={"Allow": allowed} if allowed else {},
        )
    if exc.status_code == 404:
        return HubSpotError(
            f"No endpoint at {request.method} {request.url.path}. See the README for the supported endpoints.",
            status=404,
            category="OBJECT_NOT_FOUND",
        )
    return HubSpotError(str(exc.detail), status=exc.status_code, category="VALIDATION_ERROR")


async def hubspot_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubSpotError)
    return render(exc)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return render(from_http_exception(request, exc))


def unavailable() -> HubSpotError:
    return HubSpotError(
        "LocalSpot's database is unavailable right now; retry shortly.",
        status=503,
        category="SERVICE_UNAVAILABLE",
        headers={"Retry-After": "1"},
    )


def internal_error() -> HubSpotError:
    return HubSpotError(
        "internal error: LocalSpot could not complete the request. The correlationId is in the server log.",
        status=500,
        category="INTERNAL_ERROR",
    )


class UnexpectedErrorMiddleware:
    """Turns anything unhandled into a 500 (or 503 when the database is away) with no stack trace
    in the answer; the trace goes to the server log under the answer's correlationId."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - this is the last line of defence
            if started:
                raise
            error = unavailable() if isinstance(exc, StoreUnavailable) else internal_error()
            response = render(error)
            correlation_id = response.headers["x-hubspot-correlation-id"]
            log.error(
                "%s %s failed [correlationId=%s]",
                scope["method"],
                scope["path"],
                correlation_id,
                exc_info=exc,
            )
            await response(scope, receive, send)
