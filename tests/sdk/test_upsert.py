"""Tasks batch upsert through both Python SDKs: create, then update the same records.

hubspot-api-client speaks /crm/v3/objects/tasks/batch/upsert; hubspot-sdk speaks
/crm/objects/2026-03/tasks/batch/upsert, and its generic objects resource takes an objectTypeId (`0-27`).
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest

pytestmark = pytest.mark.sdk

WHEN = "2024-01-01T00:00:00Z"


def _v3_upsert(v3_client, inputs: list[dict]):  # noqa: ANN001, ANN202
    from hubspot.crm.objects.tasks import (
        BatchInputSimplePublicObjectBatchInputUpsert,
        SimplePublicObjectBatchInputUpsert,
    )

    result = v3_client.crm.objects.tasks.batch_api.upsert(
        batch_input_simple_public_object_batch_input_upsert=BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[SimplePublicObjectBatchInputUpsert(**i) for i in inputs]
        )
    )
    assert result is not None, "batch upsert must answer 200 (hubspot-api-client returns None on any other 2xx)"
    return result


def _assert_aware(*moments: datetime) -> None:
    for moment in moments:
        assert isinstance(moment, datetime) and moment.tzinfo is not None


def test_v3_tasks_upsert_creates_then_updates(v3_client, task_key, unique):
    from hubspot.crm.objects.tasks import BatchResponseSimplePublicUpsertObject

    keys = [f"{unique}-a", f"{unique}-b"]
    created = _v3_upsert(
        v3_client,
        [
            {"id": k, "id_property": task_key, "properties": {"hs_task_subject": f"first {k}", "hs_timestamp": WHEN}}
            for k in keys
        ],
    )
    assert isinstance(created, BatchResponseSimplePublicUpsertObject)
    assert created.status == "COMPLETE"
    _assert_aware(created.started_at, created.completed_at)
    assert [r.new for r in created.results] == [True, True]
    assert [r.properties[task_key] for r in created.results] == keys
    assert [r.properties["hs_task_subject"] for r in created.results] == [f"first {k}" for k in keys]
    assert all(r.id.isdigit() and r.archived is False for r in created.results)
    assert len({r.id for r in created.results}) == 2
    for r in created.results:
        _assert_aware(r.created_at, r.updated_at)
        assert r.properties["hs_object_id"] == r.id

    time.sleep(0.01)  # timestamps have millisecond resolution
    updated = _v3_upsert(
        v3_client,
        [{"id": k, "id_property": task_key, "properties": {"hs_task_subject": f"second {k}"}} for k in keys],
    )
    assert isinstance(updated, BatchResponseSimplePublicUpsertObject)
    assert [r.new for r in updated.results] == [False, False]
    assert [r.id for r in updated.results] == [r.id for r in created.results]
    for before, after in zip(created.results, updated.results, strict=True):
        assert after.created_at == before.created_at
        assert after.updated_at > before.updated_at
        assert after.properties["hs_task_subject"] == f"second {before.properties[task_key]}"
        assert after.properties["hs_timestamp"] == "2024-01-01T00:00:00.000Z"  # kept from the create

    # one existing key and one new key in the same batch
    mixed = _v3_upsert(
        v3_client,
        [
            {"id": keys[0], "id_property": task_key, "properties": {"hs_task_priority": "HIGH"}},
            {"id": f"{unique}-c", "id_property": task_key, "properties": {"hs_timestamp": WHEN}},
        ],
    )
    assert [r.new for r in mixed.results] == [False, True]
    assert mixed.results[0].id == created.results[0].id
    assert mixed.results[1].id not in {r.id for r in created.results}


def test_sdk_tasks_upsert_creates_then_updates(sdk_client, task_key, unique):
    from hubspot_sdk.types.crm import BatchResponseSimplePublicUpsertObject

    keys = [f"{unique}-a", f"{unique}-b"]
    created = sdk_client.crm.objects.tasks.batch.upsert(
        inputs=[
            {"id": k, "id_property": task_key, "properties": {"hs_task_subject": f"first {k}", "hs_timestamp": WHEN}}
            for k in keys
        ]
    )
    assert isinstance(created, BatchResponseSimplePublicUpsertObject)
    assert created.status == "COMPLETE"
    _assert_aware(created.started_at, created.completed_at)
    assert [r.new for r in created.results] == [True, True]
    assert [r.properties[task_key] for r in created.results] == keys
    for r in created.results:
        _assert_aware(r.created_at, r.updated_at)
        assert r.url is not None and r.url.endswith(f"/record/0-27/{r.id}")

    time.sleep(0.01)
    updated = sdk_client.crm.objects.tasks.batch.upsert(
        inputs=[{"id": k, "id_property": task_key, "properties": {"hs_task_subject": f"second {k}"}} for k in keys]
    )
    assert [r.new for r in updated.results] == [False, False]
    assert [r.id for r in updated.results] == [r.id for r in created.results]
    for before, after in zip(created.results, updated.results, strict=True):
        assert after.created_at == before.created_at
        assert after.updated_at > before.updated_at
        assert after.properties["hs_task_subject"] == f"second {before.properties[task_key]}"

    # the 2026-03 write is visible to the v3 read path: one store behind both path families
    fetched = sdk_client.crm.objects.tasks.get(created.results[0].id, properties=["hs_task_subject"])
    assert fetched.properties["hs_task_subject"] == f"second {keys[0]}"


def test_both_sdks_upsert_the_same_record(v3_client, sdk_client, task_key, unique):
    first = _v3_upsert(
        v3_client,
        [{"id": unique, "id_property": task_key, "properties": {"hs_task_subject": "v3", "hs_timestamp": WHEN}}],
    )
    assert first.results[0].new is True
    second = sdk_client.crm.objects.tasks.batch.upsert(
        inputs=[{"id": unique, "id_property": task_key, "properties": {"hs_task_subject": "sdk"}}]
    )
    assert second.results[0].new is False
    assert second.results[0].id == first.results[0].id
    assert second.results[0].properties["hs_task_subject"] == "sdk"


def test_sdk_generic_objects_upsert_by_object_type_id(sdk_client, v3_client, task_key, unique):
    """`0-27` (tasks' objectTypeId) on the 2026-03 path: POST /crm/objects/2026-03/0-27/batch/upsert."""
    created = sdk_client.crm.objects.generic_objects.batch.upsert(
        "0-27",
        inputs=[
            {"id": unique, "id_property": task_key, "properties": {"hs_task_subject": "one", "hs_timestamp": WHEN}}
        ],
    )
    assert created.status == "COMPLETE"
    assert created.results[0].new is True
    task_id = created.results[0].id
    assert created.results[0].url.endswith(f"/record/0-27/{task_id}")

    time.sleep(0.01)
    updated = sdk_client.crm.objects.generic_objects.batch.upsert(
        "0-27", inputs=[{"id": unique, "id_property": task_key, "properties": {"hs_task_subject": "two"}}]
    )
    assert updated.results[0].new is False
    assert updated.results[0].id == task_id
    assert updated.results[0].created_at == created.results[0].created_at
    assert updated.results[0].updated_at > created.results[0].updated_at

    # the same record by plural name on the 2026-03 path, and on the v3 path via the generic objects API
    by_name = sdk_client.crm.objects.generic_objects.get(task_id, object_type="tasks", properties=["hs_task_subject"])
    assert by_name.properties["hs_task_subject"] == "two"
    via_v3 = v3_client.crm.objects.basic_api.get_by_id(
        object_type="0-27", object_id=unique, id_property=task_key, properties=["hs_task_subject"]
    )
    assert via_v3 is not None
    assert via_v3.id == task_id
    assert via_v3.properties["hs_task_subject"] == "two"


def test_contacts_upsert_by_email_is_case_insensitive(v3_client, sdk_client, unique):
    from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInputUpsert, SimplePublicObjectBatchInputUpsert

    created = v3_client.crm.contacts.batch_api.upsert(
        batch_input_simple_public_object_batch_input_upsert=BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id=f"Mixed.{unique}@Example.COM", id_property="email", properties={"firstname": "Mixed"}
                )
            ]
        )
    )
    assert created is not None
    assert created.results[0].new is True
    assert created.results[0].properties["email"] == f"mixed.{unique}@example.com"

    again = sdk_client.crm.objects.contacts.batch.upsert(
        inputs=[{"id": f"mixed.{unique}@example.com", "id_property": "email", "properties": {"lastname": "Case"}}]
    )
    assert again.results[0].new is False
    assert again.results[0].id == created.results[0].id
    assert again.results[0].properties["firstname"] == "Mixed"


def test_sdk_duplicate_unique_value_on_create_raises_conflict(sdk_client, v3_client, task_key, unique):
    import hubspot_sdk
    from hubspot.crm.objects.tasks import SimplePublicObjectInputForCreate
    from hubspot.crm.objects.tasks.exceptions import ApiException

    first = sdk_client.crm.objects.tasks.batch.create(
        inputs=[{"properties": {task_key: unique, "hs_timestamp": WHEN}}]
    ).results[0]

    # hubspot-sdk retries 409 by default; the fixture's max_retries=0 surfaces it at once
    with pytest.raises(hubspot_sdk.ConflictError) as raised:
        sdk_client.crm.objects.tasks.batch.create(inputs=[{"properties": {task_key: unique, "hs_timestamp": WHEN}}])
    assert raised.value.body["category"] == "CONFLICT"
    assert raised.value.body["message"].endswith(f"Existing ID: {first.id}")

    with pytest.raises(ApiException) as raised_v3:
        v3_client.crm.objects.tasks.basic_api.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                properties={task_key: unique, "hs_timestamp": WHEN}, associations=[]
            )
        )
    assert raised_v3.value.status == 409

    # an upsert of that key updates the one record instead
    upserted = sdk_client.crm.objects.tasks.batch.upsert(
        inputs=[{"id": unique, "id_property": task_key, "properties": {"hs_task_subject": "s"}}]
    )
    assert (upserted.results[0].id, upserted.results[0].new) == (first.id, False)


def test_concurrent_upserts_of_one_new_key_make_one_record(live_server, task_key, unique):
    """Eight clients upsert the same new key at once: one creates it, the others update that record."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from hubspot_sdk import HubSpot

    clients = [HubSpot(access_token=live_server.token, base_url=live_server.base_url, max_retries=0) for _ in range(8)]
    start = threading.Barrier(len(clients))

    def upsert(n: int):  # noqa: ANN202
        start.wait()
        return clients[n].crm.objects.tasks.batch.upsert(
            inputs=[
                {
                    "id": unique,
                    "id_property": task_key,
                    "properties": {"hs_task_subject": f"n{n}", "hs_timestamp": WHEN},
                }
            ]
        )

    try:
        with ThreadPoolExecutor(len(clients)) as pool:
            results = [r.results[0] for r in pool.map(upsert, range(len(clients)))]
    finally:
        for client in clients:
            client.close()
    assert len({r.id for r in results}) == 1
    assert sorted(r.new for r in results) == [False] * (len(clients) - 1) + [True]
