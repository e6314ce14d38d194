"""Several server processes share one database: what one worker changes, every worker sees at once.

Each worker caches the portal's property definitions. A definition change made through one worker
must reach the others before their next request, or they would validate against stale rules.
Requests here go through fresh connections, so they spread over the workers.
"""

from __future__ import annotations

import httpx

from tests.live import Server

ROUNDS = 24  # several requests per worker: each lands on whichever worker accepts the connection


def _upsert_all(server: Server, key: str, properties: dict) -> list[httpx.Response]:
    """ROUNDS upserts, each on a new connection (so the kernel spreads them over the workers)."""
    responses = []
    for n in range(ROUNDS):
        inputs = [{"id": f"{key}-{n}", "idProperty": "w_key", "properties": properties}]
        with httpx.Client(base_url=server.base_url, headers=server.headers) as http:
            responses.append(http.post("/crm/v3/objects/tasks/batch/upsert", json={"inputs": inputs}))
    return responses


def _patch_property(server: Server, method: str, path: str, body: dict | None = None) -> None:
    with httpx.Client(base_url=server.base_url, headers=server.headers) as http:
        response = http.request(method, f"/crm/v3/properties/tasks{path}", json=body)
        assert response.status_code in (200, 201, 204), response.text


def test_definition_changes_reach_every_worker(fresh_database, tmp_path):  # noqa: ANN001
    server = Server(fresh_database, tmp_path / "server.log", workers=3).start()
    base = {"hs_timestamp": "1700000000000"}
    try:
        # Warm every worker's cache before the changes, so a stale cache would show.
        _patch_property(
            server,
            "POST",
            "",
            {
                "name": "w_key",
                "label": "k",
                "type": "string",
                "fieldType": "text",
                "groupName": "taskinformation",
                "hasUniqueValue": True,
            },
        )
        assert {r.status_code for r in _upsert_all(server, "warm", base)} == {200}

        _patch_property(
            server,
            "POST",
            "",
            {
                "name": "w_color",
                "label": "Color",
                "type": "enumeration",
                "fieldType": "select",
                "groupName": "taskinformation",
                "options": [{"label": "Red", "value": "red"}],
            },
        )
        assert {r.status_code for r in _upsert_all(server, "created", {**base, "w_color": "red"})} == {200}

        _patch_property(
            server,
            "PATCH",
            "/w_color",
            {"options": [{"label": "Red", "value": "red"}, {"label": "Blue", "value": "blue"}]},
        )
        assert {r.status_code for r in _upsert_all(server, "patched", {**base, "w_color": "blue"})} == {200}

        _patch_property(server, "DELETE", "/w_color")
        archived = _upsert_all(server, "archived", {**base, "w_color": "blue"})
        assert {r.status_code for r in archived} == {400}
        assert all("PROPERTY_DOESNT_EXIST" in r.text for r in archived)
    finally:
        server.stop()
