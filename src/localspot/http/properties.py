"""Properties API endpoints, mounted once per path family (`/crm/v3/properties`, `/crm/properties/2026-03`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from localspot.http.context import body_of, call, portal_of, service
from localspot.http.wire import json_response, no_content, query_bool


async def properties(request: Request) -> Response:
    portal = await portal_of(request)
    object_type = request.path_params["object_type"]
    if request.method == "POST":
        body = await body_of(request)
        return json_response(await call(service(request).create_property, portal, object_type, body), 201)
    archived = query_bool(request, "archived")
    return json_response(await call(service(request).list_properties, portal, object_type, archived))


async def one_property(request: Request) -> Response:
    portal = await portal_of(request)
    object_type, name = request.path_params["object_type"], request.path_params["property_name"]
    if request.method == "PATCH":
        body = await body_of(request)
        return json_response(await call(service(request).update_property, portal, object_type, name, body))
    if request.method == "DELETE":
        await call(service(request).archive_property, portal, object_type, name)
        return no_content()
    archived = query_bool(request, "archived")
    return json_response(await call(service(request).get_property, portal, object_type, name, archived))


async def groups(request: Request) -> Response:
    portal = await portal_of(request)
    object_type = request.path_params["object_type"]
    if request.method == "POST":
        body = await body_of(request)
        return json_response(await call(service(request).create_group, portal, object_type, body), 201)
    return json_response(await call(service(request).list_groups, portal, object_type))


ROUTES = [
    Route("/{object_type}/groups", groups, methods=["GET", "POST"]),
    Route("/{object_type}", properties, methods=["GET", "POST"]),
    Route("/{object_type}/{property_name}", one_property, methods=["GET", "PATCH", "DELETE"]),
]
