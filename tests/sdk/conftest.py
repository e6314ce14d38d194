"""A real `localspot serve` on a free port, per backend, for the official SDKs to drive.

The server runs as a separate process, exactly as a user starts it; tests share it for speed, so each
test names its own records (unique keys) rather than expecting an empty portal.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import BACKENDS
from tests.live import Server


@pytest.fixture(scope="session", params=BACKENDS)
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    database_url = request.getfixturevalue(f"{request.param}_database")
    server = Server(database_url, tmp_path_factory.mktemp("live") / "server.log").start()
    yield server
    server.stop()


@pytest.fixture
def v3_client(live_server: Server):  # noqa: ANN201
    """hubspot-api-client 12.x, pointed at LocalSpot (it speaks the /crm/v3 paths)."""
    from hubspot import HubSpot

    return HubSpot(access_token=live_server.token, host=live_server.base_url, base_url=live_server.base_url)


@pytest.fixture
def sdk_client(live_server: Server):  # noqa: ANN201
    """hubspot-sdk (Stainless), pointed at LocalSpot (it speaks the /crm/objects/2026-03 paths)."""
    from hubspot_sdk import HubSpot

    client = HubSpot(access_token=live_server.token, base_url=live_server.base_url, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def unique() -> str:
    """A suffix that keeps this test's records apart from other tests' on the shared server."""
    return uuid.uuid4().hex[:10]


# --- shared keys, raw HTTP and error-envelope checks -------------------------------------------------
#
# HubSpot allows at most 10 `hasUniqueValue` properties per object type, and tests share one server per
# backend (per xdist worker), so each object type gets ONE upsert key property per server. Tests keep
# apart by using their own key values (`f"{unique}-1"`), never by creating key properties of their own.


def create_key_property(server: Server, object_type: str, group_name: str) -> str:
    """Create a unique-valued string property through hubspot-api-client's properties API; return its name."""
    from hubspot import HubSpot
    from hubspot.crm.properties import PropertyCreate

    client = HubSpot(access_token=server.token, host=server.base_url, base_url=server.base_url)
    name = f"key_{uuid.uuid4().hex[:10]}"
    created = client.crm.properties.core_api.create(
        object_type=object_type,
        property_create=PropertyCreate(
            name=name,
            label=f"Key {name}",
            type="string",
            field_type="text",
            group_name=group_name,
            has_unique_value=True,
        ),
    )
    assert created is not None, "POST /crm/v3/properties must answer 201 for hubspot-api-client to parse it"
    assert created.name == name
    assert created.has_unique_value is True
    return name


@pytest.fixture(scope="session")
def task_key(live_server: Server) -> str:
    """A `hasUniqueValue` property on tasks, the `idProperty` of every tasks upsert on this server."""
    return create_key_property(live_server, "tasks", "taskinformation")


@pytest.fixture(scope="session")
def call_key(live_server: Server) -> str:
    """A `hasUniqueValue` property on calls, the `idProperty` of every calls upsert on this server."""
    return create_key_property(live_server, "calls", "callinformation")


@pytest.fixture
def http(live_server: Server) -> Iterator[httpx.Client]:
    """Raw HTTP with a valid token, for what no SDK can express (malformed JSON, oversized bodies)."""
    with httpx.Client(
        base_url=live_server.base_url, headers={"Authorization": f"Bearer {live_server.token}"}, timeout=30
    ) as client:
        yield client


ERROR_CONTENT_TYPE = "application/json;charset=utf-8"


def assert_error_envelope(headers, body: str | bytes | dict, category: str) -> dict:
    """HubSpot's error envelope: status "error", message, correlationId (a UUID, echoed in a header), category."""
    import json

    content_type = headers.get("content-type") or headers.get("Content-Type")
    assert content_type == ERROR_CONTENT_TYPE
    parsed = body if isinstance(body, dict) else json.loads(body)
    assert parsed["status"] == "error"
    assert isinstance(parsed["message"], str) and parsed["message"]
    assert str(uuid.UUID(parsed["correlationId"])) == parsed["correlationId"]
    assert parsed["category"] == category
    assert headers.get("x-hubspot-correlation-id") == parsed["correlationId"]
    return parsed


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    """On a failure, attach the live server's log: a 500's traceback is there, under its correlationId."""
    report = yield
    server = getattr(item, "funcargs", {}).get("live_server")
    if report.failed and isinstance(server, Server):
        report.sections.append(("localspot server log (last 200 lines)", "\n".join(server.log().splitlines()[-200:])))
    return report
