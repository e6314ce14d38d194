"""Custom object schema endpoints, mounted once per path family (`/crm-object-schemas/v3`,
`/crm-object-schemas/2026-03`); every route lives under `/schemas`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from localspot.http.context import body_of, call, portal_of, service
from localspot.http.wire import json_response, no_content, query_bool


async def schemas(request: Request) -> Response:
    portal = await portal_of(request)
    if request.method == "POST":
        body = await body_of(request)
        return json_response(await call(service(request).create_schema, portal, body), 201)
    archived = query_bool(request, "archived")
    return json_response(await call(service(request).list_schemas, portal, archived))


async def batch_read(request: Request) -> Response:
    portal = await portal_of(request)
    body = await body_of(request)
    return json_response(await call(service(request).batch_read_schemas, portal, body))


async def one_schema(request: Request) -> Response:
    portal = await portal_of(request)
    object_type = request.path_params["object_type"]
    if request.method == "PATCH":
        body = await body_of(request)
        return json_response(await call(service(request).update_schema, portal, object_type, body))
    if request.method == "DELETE":
        archived = query_bool(request, "archived")
        await call(service(request).delete_schema, portal, object_type, archived)
        return no_content()
    return json_response(await call(service(request).get_schema, portal, object_type))


async def associations(request: Request) -> Response:
    portal = await portal_of(request)
    body = await body_of(request)
    object_type = request.path_params["object_type"]
    return json_response(await call(service(request).create_schema_association, portal, object_type, body), 201)


async def one_association(request: Request) -> Response:
    portal = await portal_of(request)
    params = request.path_params
    args = (portal, params["object_type"], params["association_identifier"])
    await call(service(request).delete_schema_association, *args)
    return no_content()


ROUTES = [
    Route("/schemas", schemas, methods=["GET", "POST"]),
    Route("/schemas/batch/read", batch_read, methods=["POST"]),
    Route("/schemas/{object_type}", one_schema, methods=["GET", "PATCH", "DELETE"]),
    Route("/schemas/{object_type}/associations", associations, methods=["POST"]),
    Route("/schemas/{object_type}/associations/{association_identifier}", one_association, methods=["DELETE"]),
]
