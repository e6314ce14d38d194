"""Concurrent overlapping batch upserts against a multi-worker server: one record per unique value.

Clients race on the same keys from several processes' worth of workers. Afterwards each key names
exactly one record, every input appears in exactly one result, nothing failed with a 5xx, and the
number of `new: true` results equals the number of records.
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import httpx
import pytest

from tests.conftest import make_unique_property
from tests.live import Server
from tests.resilience.conftest import scalar_rows

CLIENTS = 8
REQUESTS_PER_CLIENT = 12
INPUTS_PER_BATCH = 40
KEYS = 150  # far fewer keys than inputs, so batches from different clients overlap heavily


def _batch(rng: random.Random, key_property: str, client_no: int, request_no: int) -> dict:
    keys = rng.sample(range(KEYS), INPUTS_PER_BATCH)
    inputs = [
        {
            "id": f"key-{k}",
            "idProperty": key_property,
            "properties": {
                "hs_task_subject": f"client {client_no} request {request_no}",
                "hs_timestamp": "2024-01-01T00:00:00Z",
            },
        }
        for k in keys
    ]
    return {"inputs": inputs}


def _run_client(server: Server, key_property: str, client_no: int, outcomes: list) -> None:
    rng = random.Random(client_no)
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=60) as http:
        for request_no in range(REQUESTS_PER_CLIENT):
            body = _batch(rng, key_property, client_no, request_no)
            response = http.post("/crm/v3/objects/tasks/batch/upsert", json=body)
            outcomes.append((body, response.status_code, response.json()))


@pytest.mark.parametrize("workers", [3])
def test_overlapping_upserts_make_one_record_per_key(fresh_database, tmp_path, workers):  # noqa: ANN001
    server = Server(fresh_database, tmp_path / "server.log", workers=workers).start()
    try:
        with httpx.Client(base_url=server.base_url, headers=server.headers) as http:
            make_unique_property(http, "tasks", "race_key", "taskinformation")
        outcomes: list = []
        threads = [threading.Thread(target=_run_client, args=(server, "race_key", n, outcomes)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.stop()

    assert len(outcomes) == CLIENTS * REQUESTS_PER_CLIENT
    statuses = Counter(status for _, status, _ in outcomes)
    failed = [answer for _, status, answer in outcomes if status != 200][:2]
    assert statuses == {200: CLIENTS * REQUESTS_PER_CLIENT}, (statuses, failed)

    new_count = 0
    for body, _, answer in outcomes:
        sent = sorted(i["id"] for i in body["inputs"])
        answered = sorted(r["properties"]["race_key"] for r in answer["results"])
        assert answered == sent  # every input appears in exactly one result
        new_count += sum(r["new"] for r in answer["results"])

    per_key = scalar_rows(
        fresh_database,
        "SELECT value, COUNT(*) FROM unique_values WHERE property_name = 'race_key' GROUP BY value",
    )
    records = scalar_rows(fresh_database, "SELECT COUNT(*) FROM objects WHERE object_type_id = '0-27'")[0][0]
    assert all(count == 1 for _, count in per_key)
    assert len(per_key) == records  # each key names one record, and every record has its key
    assert new_count == records
    print(
        f"\nconcurrency: {CLIENTS} clients, {len(outcomes)} requests, "
        f"{len(outcomes) * INPUTS_PER_BATCH} inputs, {records} records, duplicates 0, new={new_count}"
    )


def _keep_setting(server: Server, key_property: str, prop: str, rounds: int, keys: list[str]) -> None:
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=60) as http:
        for n in range(rounds):
            inputs = [{"id": k, "idProperty": key_property, "properties": {prop: f"{prop}-{n}"}} for k in keys]
            response = http.post("/crm/v3/objects/tasks/batch/upsert", json={"inputs": inputs})
            assert response.status_code == 200, response.text


def test_concurrent_updates_of_different_properties_lose_nothing(fresh_database, tmp_path):  # noqa: ANN001
    """Two writers update different properties of the same records: neither write may undo the other."""
    server = Server(fresh_database, tmp_path / "server.log", workers=2).start()
    keys = [f"k{n}" for n in range(60)]
    rounds = 40  # enough rounds that, without row locks, some read-modify-writes interleave
    try:
        with httpx.Client(base_url=server.base_url, headers=server.headers) as http:
            make_unique_property(http, "tasks", "upd_key", "taskinformation")
            seed = [{"id": k, "idProperty": "upd_key", "properties": {"hs_timestamp": "1700000000000"}} for k in keys]
            assert http.post("/crm/v3/objects/tasks/batch/upsert", json={"inputs": seed}).status_code == 200
            writers = [
                threading.Thread(target=_keep_setting, args=(server, "upd_key", prop, rounds, keys))
                for prop in ("hs_task_subject", "hs_task_body")
            ]
            for w in writers:
                w.start()
            for w in writers:
                w.join()
            read = http.post(
                "/crm/v3/objects/tasks/batch/read",
                json={
                    "idProperty": "upd_key",
                    "inputs": [{"id": k} for k in keys],
                    "properties": ["hs_task_subject", "hs_task_body"],
                },
            ).json()
    finally:
        server.stop()
    last = rounds - 1
    for record in read["results"]:
        assert record["properties"]["hs_task_subject"] == f"hs_task_subject-{last}"
        assert record["properties"]["hs_task_body"] == f"hs_task_body-{last}"
