"""Associations v4 endpoints and their 2026-03 twins, one set of handlers mounted per path family.

`RECORD_ROUTES` (a record's associations) are mounted at `/crm/v4/objects` and `/crm/objects/2026-03`;
`pair_routes(...)` (batch and labels) at `/crm/v4/associations`, `/crm/associations/v4` and
`/crm/associations/2026-03`. The one difference between versions, batch archive answering 204 (v4) or
200 with a `BatchResponse` (2026-03), is a parameter of the mount.
"""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from localspot.http.context import body_of, call, portal_of, service
from localspot.http.wire import json_response, no_content, query_int

ARCHIVE_ACTIONS = {"archive", "labels/archive"}


def _record_args(request: Request) -> tuple[str, ...]:
    p = request.path_params
    return p["object_type"], p["object_id"], p["to_object_type"]


async def list_associations(request: Request) -> Response:
    portal = await portal_of(request)
    after = request.query_params.get("after")
    limit = query_int(request, "limit", 500)
    out = await call(service(request).list_associations, portal, *_record_args(request), after, limit)
    return json_response(out)


async def create_default(request: Request) -> Response:
    portal = await portal_of(request)
    args = (*_record_args(request), request.path_params["to_object_id"])
    status, out = await call(service(request).create_default_association, portal, *args)
    return json_response(out, status)


async def association_pair(request: Request) -> Response:
    """`PUT` (labelled create) and `DELETE` (remove every association) of one record pair."""
    portal = await portal_of(request)
    args = (*_record_args(request), request.path_params["to_object_id"])
    if request.method == "DELETE":
        await call(service(request).archive_associations, portal, *args)
        return no_content()
    body = await body_of(request)
    status, out = await call(service(request).create_labelled_association, portal, *args, body)
    return json_response(out, status)


async def batch(request: Request, action: str, archive_answers_body: bool) -> Response:
    portal = await portal_of(request)
    body = await body_of(request)
    types = request.path_params["from_object_type"], request.path_params["to_object_type"]
    status, out = await call(service(request).association_batch, portal, action, *types, body)
    if action in ARCHIVE_ACTIONS and not archive_answers_body:
        return no_content()
    return json_response(out, status)


async def labels(request: Request) -> Response:
    portal = await portal_of(request)
    types = request.path_params["from_object_type"], request.path_params["to_object_type"]
    if request.method == "GET":
        return json_response(await call(service(request).list_association_labels, portal, *types))
    body = await body_of(request)
    if request.method == "PUT":
        await call(service(request).update_association_label, portal, *types, body)
        return no_content()
    return json_response(await call(service(request).create_association_label, portal, *types, body))


async def delete_label(request: Request) -> Response:
    portal = await portal_of(request)
    p = request.path_params
    await call(
        service(request).delete_association_label,
        portal,
        p["from_object_type"],
        p["to_object_type"],
        p["association_type_id"],
    )
    return no_content()


RECORD_ROUTES = [
    Route(
        "/{object_type}/{object_id}/associations/default/{to_object_type}/{to_object_id}",
        create_default,
        methods=["PUT"],
    ),
    Route("/{object_type}/{object_id}/associations/{to_object_type}", list_associations, methods=["GET"]),
    Route(
        "/{object_type}/{object_id}/associations/{to_object_type}/{to_object_id}",
        association_pair,
        methods=["PUT", "DELETE"],
    ),
]


def pair_routes(archive_answers_body: bool) -> list[Route]:
    """Batch and labels routes of `/{fromObjectType}/{toObjectType}/...`."""
    actions = ("create", "associate/default", "read", "archive", "labels/archive")
    return [
        *(
            Route(
                f"/{{from_object_type}}/{{to_object_type}}/batch/{action}",
                partial(batch, action=action, archive_answers_body=archive_answers_body),
                methods=["POST"],
            )
            for action in actions
        ),
        Route("/{from_object_type}/{to_object_type}/labels", labels, methods=["GET", "POST", "PUT"]),
        Route("/{from_object_type}/{to_object_type}/labels/{association_type_id}", delete_label, methods=["DELETE"]),
    ]


V4_PAIR_ROUTES = pair_routes(archive_answers_body=False)
DATED_PAIR_ROUTES = pair_routes(archive_answers_body=True)  # 2026-03: batch archives answer 200 BatchResponse
