"""Fixtures for tests that start, stop and kill whole servers: a fresh database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from tests.conftest import BACKENDS, POSTGRES_URL, _admin_dsn


@pytest.fixture(params=BACKENDS)
def fresh_database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # noqa: ANN001
    """An empty database of the test's own (these tests count every record in it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'resilience.db'}"
        return
    name = f"localspot_res_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_dsn(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(_admin_dsn(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scalar_rows(database_url: str, sql: str, **params: object) -> list[tuple]:
    """Read the database directly, to check what the server claims against what it stored."""
    from localspot.store.engine import create_engine

    engine = create_engine(database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def create_unique_property(client, name: str, object_type: str = "tasks", group: str = "taskinformation") -> None:  # noqa: ANN001
    body = {
        "name": name,
        "label": name,
        "type": "string",
        "fieldType": "text",
        "groupName": group,
        "hasUniqueValue": True,
    }
    response = client.post(f"/crm/v3/properties/{object_type}", json=body)
    assert response.status_code == 201, response.text
