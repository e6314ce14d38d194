"""Helpers of the write-path tests: a service whose tasks have an upsert key, and call recorders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from localspot.crm.service import CrmService
from localspot.store.sql import SqlStore


class Recorder:
    """Which calls of a function happened while a write transaction was open."""

    def __init__(self) -> None:
        self.in_transaction = False
        self.calls: list[bool] = []

    def wrap(self, function: Any) -> Any:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(self.in_transaction)
            return function(*args, **kwargs)

        return recorded


def keyed_tasks_service(database_url: str, portal_id: int, validate_ahead: bool) -> Iterator[CrmService]:
    """A service whose tasks have a unique `ext_id` to upsert by; `validate_ahead` as with `--workers 2`."""
    store = SqlStore(database_url)
    store.migrate()
    service = CrmService(store, validate_ahead=validate_ahead)
    service.ensure_portal(portal_id)
    key = {"name": "ext_id", "label": "Key", "type": "string", "fieldType": "text", "groupName": "taskinformation"}
    service.create_property(portal_id, "tasks", {**key, "hasUniqueValue": True})
    yield service
    store.dispose()


def upsert_body(keys: list[str], subject: str) -> dict[str, Any]:
    properties = {"hs_task_subject": subject, "hs_timestamp": "2024-01-01T00:00:00Z", "hs_task_status": "WAITING"}
    return {"inputs": [{"id": k, "idProperty": "ext_id", "properties": properties} for k in keys]}
