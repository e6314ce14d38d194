"""Shared fixtures: real databases (SQLite files; PostgreSQL when LOCALSPOT_TEST_POSTGRES_URL is set),
an in-process client per test, and a live `localspot serve` for the SDK tests.

Each test gets a portal of its own, so tests share one database per backend yet never see each
other's records. With LOCALSPOT_TEST_POSTGRES_URL set, every backend-parametrized test runs on both
backends, and an unreachable PostgreSQL fails the run instead of skipping it.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from localspot.app import create_app
from localspot.settings import Settings

POSTGRES_URL = os.environ.get("LOCALSPOT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
_portal_ids = itertools.count(1000 + os.getpid() % 1000 * 100_000)


def _admin_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def postgresql_database() -> Iterator[str]:
    """A database of this test session's own on the PostgreSQL server, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("LOCALSPOT_TEST_POSTGRES_URL is not set")
    name = f"localspot_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(_admin_dsn(POSTGRES_URL), autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"LOCALSPOT_TEST_POSTGRES_URL is set but PostgreSQL is not reachable: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'localspot.db'}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_database")


@pytest.fixture(params=BACKENDS)
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of the test's own, for tests that count every row or start whole servers."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"localspot_fresh_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_dsn(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(_admin_dsn(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def portal_id() -> int:
    return next(_portal_ids)


@pytest.fixture
def token(portal_id: int) -> str:
    return f"pat-test-{portal_id}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def settings(database_url: str, portal_id: int, token: str) -> Settings:
    return Settings(database_url=database_url, portal_id=portal_id, tokens=(token,))


@pytest.fixture
def app(settings: Settings):  # noqa: ANN201
    application = create_app(settings)
    yield application
    application.state.service.store.dispose()


@pytest.fixture
def client(app, token: str) -> Iterator[TestClient]:  # noqa: ANN001
    """An in-process client that authenticates as the test's portal."""
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def anonymous(app) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def make_unique_property(client: Any, object_type: str, name: str, group: str) -> None:
    """Create a `hasUniqueValue` string property, the key batch upserts match on (through an in-process
    TestClient or an httpx client of a live server)."""
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


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
