"""Small helpers the in-process API tests share: paths of both families, and record builders."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import make_unique_property

V3 = "/crm/v3/objects"
DATED = "/crm/objects/2026-03"
FAMILIES = [V3, DATED]
PROPS_V3 = "/crm/v3/properties"
PROPS_DATED = "/crm/properties/2026-03"
WHEN = "2024-01-01T00:00:00Z"
TASK_KEY = "ext_id"


def task(subject: str, **more: Any) -> dict[str, Any]:
    """A valid task's properties: tasks need `hs_timestamp`."""
    return {"hs_task_subject": subject, "hs_timestamp": WHEN, **more}


def call_props(title: str, **more: Any) -> dict[str, Any]:
    return {"hs_call_title": title, "hs_timestamp": WHEN, **more}


def task_key_property(client: TestClient, name: str = TASK_KEY) -> str:
    make_unique_property(client, "tasks", name, "taskinformation")
    return name


def upsert_input(key: str, props: dict[str, Any], id_property: str = TASK_KEY, trace: str | None = None) -> dict:
    item: dict[str, Any] = {"id": key, "idProperty": id_property, "properties": props}
    if trace is not None:
        item["objectWriteTraceId"] = trace
    return item


def upsert(client: TestClient, object_type: str, inputs: list[dict], family: str = V3) -> Any:
    return client.post(f"{family}/{object_type}/batch/upsert", json={"inputs": inputs})


def create_contact(client: TestClient, email: str | None = None, **props: Any) -> str:
    email = email or f"{uuid.uuid4().hex[:10]}@example.com"
    response = client.post(f"{V3}/contacts", json={"properties": {"email": email, **props}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def create_task(client: TestClient, subject: str = "a task", **props: Any) -> dict[str, Any]:
    response = client.post(f"{V3}/tasks", json={"properties": task(subject, **props)})
    assert response.status_code == 201, response.text
    return response.json()


def read(client: TestClient, object_type: str, object_id: str, **params: Any) -> Any:
    return client.get(f"{V3}/{object_type}/{object_id}", params=params)


def read_by_key(client: TestClient, key: str, properties: str = TASK_KEY, id_property: str = TASK_KEY) -> Any:
    return read(client, "tasks", key, idProperty=id_property, properties=properties)


def assert_error(response: Any, status: int, category: str, message: str | None = None) -> dict[str, Any]:
    """HubSpot's error envelope with the given status and category (and exact message when given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    body = response.json()
    assert body["status"] == "error"
    assert body["category"] == category
    uuid.UUID(body["correlationId"])
    assert response.headers["x-hubspot-correlation-id"] == body["correlationId"]
    if message is not None:
        assert body["message"] == message
    return body
