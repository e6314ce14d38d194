"""A batch runs a bounded number of SQL statements whatever its size (executemany counts once)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event

from tests.conftest import make_unique_property

V3 = "/crm/v3/objects"
WHEN = "2024-01-01T00:00:00Z"


@contextmanager
def counting(engine) -> Iterator[list[str]]:  # noqa: ANN001
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_for(app, send: Callable[[], object]) -> list[str]:  # noqa: ANN001
    with counting(app.state.service.store.engine) as statements:
        response = send()
    assert response.status_code in (200, 201), response.text
    return statements


def upsert_body(prefix: str, keys: range) -> dict:
    inputs = [
        {
            "id": f"{prefix}-{k}",
            "idProperty": "ext_id",
            "properties": {"hs_task_subject": f"s{k}", "hs_timestamp": WHEN},
        }
        for k in keys
    ]
    return {"inputs": inputs}


def mixed_upsert(app, client, size: int) -> list[str]:  # noqa: ANN001
    """Upsert `size` inputs of which half update existing records and half create new ones."""
    prefix = f"n{size}"
    existing = client.post(f"{V3}/tasks/batch/upsert", json=upsert_body(prefix, range(size // 2)))
    assert existing.status_code == 200, existing.text
    body = upsert_body(prefix, range(size))
    return statements_for(app, lambda: client.post(f"{V3}/tasks/batch/upsert", json=body))


def test_batch_upsert_statement_count_does_not_grow_with_the_batch(app, client):
    make_unique_property(client, "tasks", "ext_id", "taskinformation")
    small = mixed_upsert(app, client, 10)
    large = mixed_upsert(app, client, 100)
    assert len(small) == len(large), (small, large)
    assert len(large) <= 20, large


def test_upsert_that_moves_unique_values_is_bounded_too(app, client):
    make_unique_property(client, "tasks", "ext_id", "taskinformation")
    make_unique_property(client, "tasks", "other_key", "taskinformation")

    def moving(size: int) -> list[str]:
        first = upsert_body(f"m{size}", range(size))
        for item in first["inputs"]:
            item["properties"]["other_key"] = f"{item['id']}-a"
        assert client.post(f"{V3}/tasks/batch/upsert", json=first).status_code == 200
        for item in first["inputs"]:
            item["properties"]["other_key"] = f"{item['id']}-b"
        return statements_for(app, lambda: client.post(f"{V3}/tasks/batch/upsert", json=first))

    assert len(moving(10)) == len(moving(100))


def test_batch_create_with_associations_statement_count_does_not_grow(app, client):
    contact = client.post(f"{V3}/contacts", json={"properties": {"email": "s@example.com"}}).json()["id"]
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}

    def create(size: int) -> list[str]:
        inputs = [
            {"properties": {"hs_timestamp": WHEN}, "associations": [{"to": {"id": contact}, "types": [spec]}]}
            for _ in range(size)
        ]
        return statements_for(app, lambda: client.post(f"{V3}/tasks/batch/create", json={"inputs": inputs}))

    create(1)  # warm the portal's catalog cache
    assert len(create(10)) == len(create(100))


def test_batch_read_with_history_statement_count_does_not_grow(app, client):
    created = client.post(
        f"{V3}/tasks/batch/create", json={"inputs": [{"properties": {"hs_timestamp": WHEN}} for _ in range(50)]}
    )
    ids = [r["id"] for r in created.json()["results"]]

    def read(size: int) -> list[str]:
        body = {"inputs": [{"id": i} for i in ids[:size]], "propertiesWithHistory": ["hs_timestamp"]}
        return statements_for(app, lambda: client.post(f"{V3}/tasks/batch/read", json=body))

    assert len(read(5)) == len(read(50))
