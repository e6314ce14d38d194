"""Batch request rules shared by every batch endpoint: body shape, input limits, duplicate ids, and the
`BatchResponse` envelope (200/201 when all went well, 207 with `numErrors` and `errors` otherwise).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from localspot.crm.errors import HubSpotError, validation_error
from localspot.crm.timestamps import iso_from_ms


@dataclass(frozen=True)
class SearchLimits:
    """HubSpot's search caps. Sources disagree on filters per group and in total (6/18 vs 10/25), so
    those are settings; the defaults are the current search page's 5 groups x 6 filters, 18 in all."""

    max_filter_groups: int = 5
    max_filters_per_group: int = 6
    max_filters: int = 18
    max_query_length: int = 3000
    max_page: int = 200
    max_results: int = 10_000  # `after` + `limit` may not reach past this many results


@dataclass(frozen=True)
class BatchLimits:
    max_inputs: int = 100
    max_history_inputs: int = 50
    # Associations v4 batches (HubSpot's documented sizes): read, create/default/labels archive, archive.
    max_association_reads: int = 1000
    max_association_writes: int = 2000
    max_association_archives: int = 100
    search: SearchLimits = field(default_factory=SearchLimits)


def require_object(body: Any, what: str = "The request body") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise validation_error(f"{what} must be a JSON object.")
    return body


def batch_inputs(body: Any, limits: BatchLimits) -> list[dict[str, Any]]:
    """`inputs` of a batch body, checked for shape and HubSpot's 100-input limit."""
    body = require_object(body)
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise validation_error("Batch requests need an `inputs` list.", context={"inputs": ["missing"]})
    if len(inputs) > limits.max_inputs:
        raise validation_error(
            f"Too many inputs: {len(inputs)}. The maximum number of inputs supported in a batch request is "
            f"{limits.max_inputs}. Please reduce the number of items and try again.",
            context={"inputs": [str(len(inputs))], "max": [str(limits.max_inputs)]},
        )
    for index, item in enumerate(inputs):
        if not isinstance(item, dict):
            raise validation_error(f"inputs[{index}] must be a JSON object.")
    return inputs


def input_properties(item: dict[str, Any], index: int) -> dict[str, Any]:
    props = item.get("properties")
    if not isinstance(props, dict):
        raise validation_error(
            f"inputs[{index}].properties must be an object of property names to values.",
            context={"properties": [f"inputs[{index}]"]},
        )
    return props


def input_id(item: dict[str, Any], index: int) -> str:
    raw = item.get("id")
    if isinstance(raw, bool) or not isinstance(raw, str | int) or str(raw) == "":
        raise validation_error(f"inputs[{index}].id is required: a record id, or a value of idProperty.")
    return str(raw)


def trace_ids(inputs: list[dict[str, Any]]) -> list[str | None]:
    return [i.get("objectWriteTraceId") if isinstance(i.get("objectWriteTraceId"), str) else None for i in inputs]


def multi_status_enabled(traces: list[str | None]) -> bool:
    """HubSpot answers 207 with per-input errors only when every input carries an objectWriteTraceId."""
    return bool(traces) and all(traces)


def reject_duplicate_ids(keys: list[Hashable], shown: list[str] | None = None) -> None:
    """HubSpot rejects a whole batch that names one record twice, with or without trace ids."""
    shown = shown or [str(k) for k in keys]
    seen: set[Hashable] = set()
    dupes: list[str] = []
    for key, label in zip(keys, shown, strict=True):
        if key in seen and label not in dupes:
            dupes.append(label)
        seen.add(key)
    if dupes:
        raise validation_error(
            f"Duplicate IDs found in batch input: [{', '.join(dupes)}]. IDs must be unique",
            context={"ids": dupes},
        )


def batch_response(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], started_ms: int, completed_ms: int
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "requestedAt": None,
        "startedAt": iso_from_ms(started_ms),
        "completedAt": iso_from_ms(completed_ms),
        "links": {},
    }
    if errors:
        out["numErrors"] = len(errors)
        out["errors"] = errors
    return out


def batch_status(success: int, errors: list[dict[str, Any]]) -> int:
    return 207 if errors else success


def item_error(error: HubSpotError, trace_id: str | None) -> dict[str, Any]:
    return error.batch_item({"objectWriteTraceId": [trace_id]} if trace_id else {})
