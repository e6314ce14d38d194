"""Record endpoints, mounted once per path family (`/crm/v3/objects`, `/crm/objects/2026-03`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from localspot.crm.records import ReadOptions
from localspot.http.context import body_of, call, portal_of, service
from localspot.http.wire import json_response, no_content, query_bool, query_int, query_list


def _read_options(request: Request) -> ReadOptions:
    return ReadOptions(
        properties=query_list(request, "properties"),
        properties_with_history=query_list(request, "propertiesWithHistory"),
        associations=query_list(request, "associations"),
        archived=query_bool(request, "archived"),
    )


def answer(result: Any) -> Response:
    """The domain's answer on the wire: `(status, body)`, a body (200), or None (204, no body)."""
    if result is None:
        return no_content()
    if isinstance(result, tuple):
        status, body = result
        return json_response(body, status)
    return json_response(result)


def body_endpoint(operation: str) -> Callable[[Request], Awaitable[Response]]:
    """A handler for a route whose domain call takes the portal, the path's object type and the JSON body."""

    async def endpoint(request: Request) -> Response:
        portal = await portal_of(request)
        body = await body_of(request)
        run = getattr(service(request), operation)
        return answer(await call(run, portal, request.path_params["object_type"], body))

    endpoint.__name__ = operation
    return endpoint


batch_upsert = body_endpoint("batch_upsert")
batch_create = body_endpoint("batch_create")
batch_update = body_endpoint("batch_update")
batch_archive = body_endpoint("batch_archive")
create = body_endpoint("create")
search = body_endpoint("search")
merge = body_endpoint("merge")
gdpr_delete = body_endpoint("gdpr_delete")


async def batch_read(request: Request) -> Response:
    portal = await portal_of(request)
    body = await body_of(request)
    archived = query_bool(request, "archived")
    object_type = request.path_params["object_type"]
    status, out = await call(service(request).batch_read, portal, object_type, body, archived)
    return json_response(out, status)


async def read(request: Request) -> Response:
    portal = await portal_of(request)
    params = request.path_params
    id_property = request.query_params.get("idProperty") or None
    args = (portal, params["object_type"], params["object_id"], id_property, _read_options(request))
    return json_response(await call(service(request).read, *args))


async def list_records(request: Request) -> Response:
    portal = await portal_of(request)
    limit = query_int(request, "limit", 10)
    after = request.query_params.get("after")
    args = (portal, request.path_params["object_type"], limit, after, _read_options(request))
    return json_response(await call(service(request).list_records, *args))


async def update(request: Request) -> Response:
    portal = await portal_of(request)
    body = await body_of(request)
    params = request.path_params
    id_property = request.query_params.get("idProperty") or None
    args = (portal, params["object_type"], params["object_id"], id_property, body)
    status, out = await call(service(request).update, *args)
    return json_response(out, status)


async def archive(request: Request) -> Response:
    portal = await portal_of(request)
    await call(service(request).archive, portal, request.path_params["object_type"], request.path_params["object_id"])
    return no_content()


async def records(request: Request) -> Response:
    return await (create if request.method == "POST" else list_records)(request)


async def record(request: Request) -> Response:
    handler = {"GET": read, "PATCH": update, "DELETE": archive}[request.method]
    return await handler(request)


ROUTES = [
    Route("/{object_type}/batch/upsert", batch_upsert, methods=["POST"]),
    Route("/{object_type}/batch/create", batch_create, methods=["POST"]),
    Route("/{object_type}/batch/read", batch_read, methods=["POST"]),
    Route("/{object_type}/batch/update", batch_update, methods=["POST"]),
    Route("/{object_type}/batch/archive", batch_archive, methods=["POST"]),
    Route("/{object_type}/search", search, methods=["POST"]),
    Route("/{object_type}", records, methods=["GET", "POST"]),
    Route("/{object_type}/merge", merge, methods=["POST"]),
    Route("/{object_type}/gdpr-delete", gdpr_delete, methods=["POST"]),
    Route("/{object_type}/{object_id}", record, methods=["GET", "PATCH", "DELETE"]),
]
