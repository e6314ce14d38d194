"""Every non-2xx answer is HubSpot's error envelope: routes, methods, bodies, auth, limits, real failures."""

from __future__ import annotations

import dataclasses
import logging

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from localspot.app import create_app
from localspot.crm.errors import AUTH_MESSAGE
from localspot.settings import Settings
from localspot.store import tables
from tests.http.support import DATED, V3, assert_error, create_task, task

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/crm/v3/nothing/here"),
        ("POST", "/crm/v4/objects/tasks/batch/upsert"),
        ("GET", f"{V3}/tasks/1/x"),
    ],
)
def test_unknown_route_is_404(client, method, path):
    body = assert_error(client.request(method, path), 404, "OBJECT_NOT_FOUND")
    assert path in body["message"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", f"{V3}/tasks/batch/upsert", "POST"),
        ("PUT", f"{DATED}/tasks/batch/create", "POST"),
        ("PATCH", "/crm/v3/properties/tasks", "GET, HEAD, POST"),
        ("PUT", f"{V3}/tasks/batch/read", "POST"),
    ],
)
def test_wrong_method_is_405_with_allow(client, method, path, allowed):
    response = client.request(method, path)
    assert_error(response, 405, "VALIDATION_ERROR")
    assert response.headers["allow"] == allowed


@pytest.mark.parametrize(
    "path",
    [
        f"{V3}/tasks/batch/upsert",
        f"{V3}/tasks/batch/create",
        f"{V3}/tasks/batch/read",
        f"{V3}/tasks",
        "/crm/v3/properties/tasks",
    ],
)
def test_malformed_json_is_400(client, path):
    response = client.post(path, content=b'{"inputs": [\n  {"id": 1,}\n]}', headers=JSON)
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["message"].startswith("Invalid input JSON on line 2, column ")


def test_empty_body_is_400(client):
    body = assert_error(client.post(f"{V3}/tasks/batch/upsert", content=b"", headers=JSON), 400, "VALIDATION_ERROR")
    assert body["message"].startswith("Invalid input JSON")
    assert_error(client.post(f"{V3}/tasks", content=b"  \n", headers=JSON), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"{V3}/tasks/batch/upsert", [1, 2]),
        (f"{V3}/tasks/batch/create", "inputs"),
        (f"{V3}/tasks/batch/read", 17),
        (f"{V3}/tasks/batch/create", {"inputs": {"a": 1}}),
        (f"{V3}/tasks/batch/read", {"inputs": None}),
        (f"{V3}/tasks/batch/upsert", {"inputs": ["x"]}),
        (f"{V3}/tasks", [{"properties": {}}]),
        (f"{V3}/tasks", {"properties": "x"}),
        ("/crm/v3/properties/tasks", ["name"]),
        ("/crm/v3/properties/tasks/groups", "x"),
    ],
)
def test_wrong_body_shape_is_400(client, path, body):
    assert_error(client.post(path, json=body), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", f"{V3}/tasks/1"), ("POST", f"{DATED}/tasks/batch/upsert"), ("GET", "/crm/v3/properties/tasks")],
)
def test_missing_token_is_401(anonymous, method, path):
    assert_error(anonymous.request(method, path, json={"inputs": []}), 401, "INVALID_AUTHENTICATION", AUTH_MESSAGE)


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "not-a-token"])
def test_unknown_or_malformed_token_is_401(anonymous, header):
    response = anonymous.get(f"{V3}/tasks/1", headers={"Authorization": header})
    assert_error(response, 401, "INVALID_AUTHENTICATION")


def test_auth_comes_before_body_parsing(anonymous):
    response = anonymous.post(f"{V3}/tasks/batch/upsert", content=b"{oops", headers=JSON)
    assert_error(response, 401, "INVALID_AUTHENTICATION")


def test_token_scheme_is_case_insensitive(anonymous, token):
    response = anonymous.post(
        f"{V3}/tasks", json={"properties": task("s")}, headers={"Authorization": f"bearer {token}"}
    )
    assert response.status_code == 201, response.text


def test_a_token_sees_only_its_own_portal(app, client, token):
    record = create_task(client, "mine")
    other = dataclasses.replace(
        app.state.settings, portal_id=app.state.settings.portal_id + 7_000_000, tokens=(f"{token}-x",)
    )
    other_app = create_app(other)
    try:
        with TestClient(other_app, headers={"Authorization": f"Bearer {token}-x"}) as stranger:
            assert_error(stranger.get(f"{V3}/tasks/{record['id']}"), 404, "OBJECT_NOT_FOUND")
    finally:
        other_app.state.service.store.dispose()


def test_unknown_object_type_is_400(client):
    assert_error(client.get(f"{DATED}/gadgets/1"), 400, "VALIDATION_ERROR", "Unable to infer object type from: gadgets")


def test_record_not_found_is_404(client):
    body = assert_error(client.get(f"{V3}/tasks/12345678"), 404, "OBJECT_NOT_FOUND")
    assert body["context"] == {"id": ["12345678"]}


def test_read_only_values_are_rejected(client):
    properties = task("s", hs_object_id="7", hs_createdate="2024-01-01T00:00:00Z", hs_task_is_overdue="true")
    body = assert_error(client.post(f"{V3}/tasks", json={"properties": properties}), 400, "VALIDATION_ERROR")
    assert [(e["context"]["propertyName"][0], e["code"]) for e in body["errors"]] == [
        ("hs_object_id", "READ_ONLY_VALUE"),
        ("hs_createdate", "READ_ONLY_VALUE"),
        ("hs_task_is_overdue", "READ_ONLY_VALUE"),
    ]
    assert body["message"].startswith("Property values were not valid: [")


@pytest.fixture
def small_body_client(settings: Settings, token: str):  # noqa: ANN201
    application = create_app(dataclasses.replace(settings, max_body_bytes=200))
    with TestClient(application, headers={"Authorization": f"Bearer {token}"}, raise_server_exceptions=False) as c:
        yield c
    application.state.service.store.dispose()


def test_body_too_large_is_413(small_body_client):
    inputs = [{"properties": task("x" * 50)} for _ in range(5)]
    body = assert_error(
        small_body_client.post(f"{V3}/tasks/batch/create", json={"inputs": inputs}), 413, "VALIDATION_ERROR"
    )
    assert "200 bytes" in body["message"]
    small = small_body_client.post(f"{V3}/tasks/batch/create", json={"inputs": [{"properties": task("ok")}]})
    assert small.status_code == 201, small.text


def test_body_too_large_without_content_length_is_413(small_body_client):
    def chunks():  # noqa: ANN202 - a streamed (chunked) body has no Content-Length to check up front
        yield b'{"inputs": ['
        for _ in range(10):
            yield b'{"properties": {"hs_task_subject": "xxxxxxxxxxxxxxxxxxxx"}},'
        yield b"]}"

    response = small_body_client.post(f"{V3}/tasks/batch/create", content=chunks(), headers=JSON)
    assert_error(response, 413, "VALIDATION_ERROR")


def test_unexpected_failure_is_500_without_a_trace_and_logged(app, client, portal_id, caplog):
    record = create_task(client, "about to break")
    # Break the stored record under the app: its properties become a JSON list, which no code path
    # expects, so the read fails for real inside LocalSpot.
    objects = tables.objects
    with app.state.service.store.engine.begin() as conn:
        conn.execute(
            objects.update()
            .where(objects.c.portal_id == portal_id, objects.c.id == int(record["id"]))
            .values(properties=["not", "an", "object"])
        )
    with caplog.at_level(logging.ERROR, logger="localspot"):
        response = client.get(f"{V3}/tasks/{record['id']}", params={"properties": "hs_task_subject"})
    body = assert_error(response, 500, "INTERNAL_ERROR")
    assert "Traceback" not in response.text
    assert "AttributeError" not in response.text
    assert set(body) == {"status", "message", "correlationId", "category"}
    logged = [r for r in caplog.records if body["correlationId"] in r.getMessage()]
    assert logged, caplog.text
    assert logged[0].exc_info is not None


def test_missing_table_is_500_and_other_routes_keep_working(tmp_path, token, caplog):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'broken.db'}", portal_id=1, tokens=(token,))
    application = create_app(settings)
    try:
        with TestClient(application, headers={"Authorization": f"Bearer {token}"}, raise_server_exceptions=False) as c:
            record = create_task(c, "kept")
            with application.state.service.store.engine.begin() as conn:
                conn.execute(sa.text("DROP TABLE property_history"))
            with caplog.at_level(logging.ERROR, logger="localspot"):
                response = c.get(f"{V3}/tasks/{record['id']}", params={"propertiesWithHistory": "hs_task_subject"})
            body = assert_error(response, 500, "INTERNAL_ERROR")
            assert "property_history" not in response.text
            assert body["correlationId"] in caplog.text
            assert c.get(f"{V3}/tasks/{record['id']}").status_code == 200
    finally:
        application.state.service.store.dispose()
