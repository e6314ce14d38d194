"""`create_app(settings)` builds everything; importing LocalSpot does no I/O."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from localspot.crm.errors import HubSpotError
from localspot.crm.service import CrmService
from localspot.http.errors import UnexpectedErrorMiddleware, http_exception_handler, hubspot_error_handler
from localspot.http.routes import routes
from localspot.settings import Settings
from localspot.store.sql import SqlStore


def create_service(settings: Settings) -> tuple[CrmService, list[str]]:
    """Open the store, migrate it, and make sure the default portal and its tokens exist."""
    store = SqlStore(settings.database_url, pool_size=settings.pool_size)
    service = CrmService(store, settings.limits, validate_ahead=settings.workers > 1)
    if not settings.bootstrap:
        return service, list(settings.tokens)
    store.migrate()
    return service, service.ensure_portal(settings.portal_id, list(settings.tokens))


def create_app(settings: Settings) -> Starlette:
    service, tokens = create_service(settings)
    app = Starlette(
        routes=routes(),
        middleware=[Middleware(UnexpectedErrorMiddleware)],
        exception_handlers={HubSpotError: hubspot_error_handler, HTTPException: http_exception_handler},
    )
    app.state.settings = settings
    app.state.service = service
    app.state.tokens = tokens
    return app
