"""HubSpot's wire format: JSON in and out (orjson, pre-encoded), and query parameters as SDKs send them."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from localspot.crm.definitions import ascii_int
from localspot.crm.errors import HubSpotError, validation_error

JSON_TYPE = "application/json;charset=utf-8"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Encode once with orjson; no framework encoder walks the (possibly large) body again."""
    return Response(orjson.dumps(body), status_code=status, media_type=JSON_TYPE, headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


async def json_body(request: Request, max_bytes: int) -> Any:
    raw = await _read_capped(request, max_bytes)
    if not raw.strip():
        raise validation_error("Invalid input JSON: the request body is empty; send a JSON object.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise validation_error(f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


async def _read_capped(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise body_too_large(max_bytes)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise body_too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def body_too_large(max_bytes: int) -> HubSpotError:
    return HubSpotError(
        f"The request body is larger than {max_bytes} bytes; split it into smaller batches.",
        status=413,
        category="VALIDATION_ERROR",
    )


def query_list(request: Request, name: str) -> tuple[str, ...]:
    """Arrays arrive repeated (`p=a&p=b`, hubspot-api-client) or comma-joined (`p=a,b`, hubspot-sdk)."""
    values: list[str] = []
    for item in request.query_params.getlist(name):
        values.extend(v.strip() for v in item.split(",") if v.strip())
    return tuple(dict.fromkeys(values))


def query_bool(request: Request, name: str, default: bool = False) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise validation_error(f"Query parameter {name} must be true or false, not {raw!r}.", context={name: [raw]})
    return lowered == "true"


def query_int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = ascii_int(raw)
    if value is None:
        raise validation_error(f"Query parameter {name} must be a whole number, not {raw!r}.", context={name: [raw]})
    return value
