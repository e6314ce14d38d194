"""Paging, update and archive through both Python SDKs, each with its own pager and models (issue 5).

The live server is shared, so other tests' tasks appear in the pages too: each test marks its own
records with a subject no other test uses, and checks that every one of them was seen exactly once.
"""

from __future__ import annotations

from collections import Counter

import pytest

pytestmark = pytest.mark.sdk

WHEN = "2024-01-01T00:00:00Z"
RECORDS = 250


def create_tasks(v3_client, subject: str, count: int) -> list[str]:
    from hubspot.crm.objects.tasks import BatchInputSimplePublicObjectBatchInputForCreate as Batch
    from hubspot.crm.objects.tasks import SimplePublicObjectBatchInputForCreate as Input

    ids: list[str] = []
    for start in range(0, count, 100):
        inputs = [
            Input(properties={"hs_task_subject": subject, "hs_timestamp": WHEN}, associations=[])
            for _ in range(min(100, count - start))
        ]
        created = v3_client.crm.objects.tasks.batch_api.create(
            batch_input_simple_public_object_batch_input_for_create=Batch(inputs=inputs)
        )
        ids += [r.id for r in created.results]
    assert len(set(ids)) == count
    return ids


def seen_once(records, subject: str, expected: list[str]) -> None:
    seen = Counter(r.id for r in records if r.properties.get("hs_task_subject") == subject)
    assert set(seen) == set(expected)
    assert set(seen.values()) == {1}, "a record appeared on two pages"


def test_v3_get_all_pages_through_250_records(v3_client, unique):
    subject = f"paging {unique}"
    created = create_tasks(v3_client, subject, RECORDS)
    records = v3_client.crm.objects.get_all("tasks", properties=["hs_task_subject"])
    seen_once(records, subject, created)
    ids = [int(r.id) for r in records]
    assert ids == sorted(ids), "list pages come in id order"


def test_v3_get_page_loop_follows_after_until_paging_is_gone(v3_client, unique):
    subject = f"page loop {unique}"
    created = create_tasks(v3_client, subject, RECORDS)
    records, after, pages = [], None, 0
    while True:
        page = v3_client.crm.objects.tasks.basic_api.get_page(limit=100, after=after, properties=["hs_task_subject"])
        records += page.results
        pages += 1
        if page.paging is None:
            break
        after = page.paging.next.after
    seen_once(records, subject, created)
    assert pages >= 3


def test_v3_get_all_with_history_uses_pages_of_fifty(v3_client, unique):
    subject = f"history {unique}"
    created = create_tasks(v3_client, subject, 60)
    records = v3_client.crm.objects.get_all(
        "tasks", properties=["hs_task_subject"], properties_with_history=["hs_task_subject"]
    )
    seen_once(records, subject, created)
    mine = [r for r in records if r.id in set(created)]
    assert all(r.properties_with_history["hs_task_subject"][0].value == subject for r in mine)


def test_sdk_auto_pagination_visits_250_records(sdk_client, v3_client, unique):
    subject = f"stainless paging {unique}"
    created = create_tasks(v3_client, subject, RECORDS)
    records = list(sdk_client.crm.objects.tasks.list(limit=100, properties=["hs_task_subject"]))
    seen_once(records, subject, created)
    first = sdk_client.crm.objects.tasks.list(limit=100)
    assert first.has_next_page()
    assert len(first.results) == 100


def test_v3_update_and_archive_round_trip(v3_client, unique):
    from hubspot.crm.objects.tasks import SimplePublicObject, SimplePublicObjectInput

    [task_id] = create_tasks(v3_client, f"single {unique}", 1)
    updated = v3_client.crm.objects.tasks.basic_api.update(
        task_id, SimplePublicObjectInput(properties={"hs_task_subject": "updated", "hs_task_priority": "HIGH"})
    )
    assert isinstance(updated, SimplePublicObject), "PATCH must answer 200 for hubspot-api-client to parse it"
    assert updated.id == task_id
    assert updated.properties["hs_task_priority"] == "HIGH"

    data, status, _ = v3_client.crm.objects.tasks.basic_api.archive_with_http_info(task_id)
    assert (data, status) == (None, 204)
    archived = v3_client.crm.objects.tasks.basic_api.get_by_id(task_id, archived=True)
    assert archived.archived is True
    assert archived.archived_at is not None


def test_v3_batch_update_and_batch_archive(v3_client, unique):
    from hubspot.crm.objects.tasks import (
        BatchInputSimplePublicObjectBatchInput,
        BatchInputSimplePublicObjectId,
        BatchResponseSimplePublicObject,
        BatchResponseSimplePublicObjectWithErrors,
        SimplePublicObjectBatchInput,
        SimplePublicObjectId,
    )

    ids = create_tasks(v3_client, f"batch {unique}", 2)
    batch = v3_client.crm.objects.tasks.batch_api
    inputs = [SimplePublicObjectBatchInput(id=i, properties={"hs_task_subject": f"new {i}"}) for i in ids]
    updated = batch.update(batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(inputs))
    assert isinstance(updated, BatchResponseSimplePublicObject), "batch update must answer 200"
    assert sorted(r.properties["hs_task_subject"] for r in updated.results) == sorted(f"new {i}" for i in ids)

    partial = batch.update(
        batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
            [
                SimplePublicObjectBatchInput(id=ids[0], properties={"hs_task_subject": "x"}, object_write_trace_id="a"),
                SimplePublicObjectBatchInput(id="987654321", properties={}, object_write_trace_id="b"),
            ]
        )
    )
    assert isinstance(partial, BatchResponseSimplePublicObjectWithErrors), "a partial batch update must answer 207"
    assert partial.num_errors == 1
    assert partial.errors[0].context["objectWriteTraceId"] == ["b"]

    archive_input = BatchInputSimplePublicObjectId([SimplePublicObjectId(id=i) for i in ids])
    data, status, _ = batch.archive_with_http_info(batch_input_simple_public_object_id=archive_input)
    assert (data, status) == (None, 204)
    assert all(v3_client.crm.objects.tasks.basic_api.get_by_id(i, archived=True).archived for i in ids)


def test_sdk_update_delete_and_batch_round_trip(sdk_client, v3_client, unique):
    from hubspot_sdk.types.crm import BatchResponseSimplePublicObject, SimplePublicObject

    ids = create_tasks(v3_client, f"stainless {unique}", 3)
    tasks = sdk_client.crm.objects.tasks
    updated = tasks.update(ids[0], properties={"hs_task_subject": "patched"})
    assert isinstance(updated, SimplePublicObject)
    assert updated.properties["hs_task_subject"] == "patched"

    assert tasks.delete(ids[0]) is None
    assert tasks.get(ids[0], archived=True).archived is True

    batch = tasks.batch.update(inputs=[{"id": i, "properties": {"hs_task_priority": "LOW"}} for i in ids[1:]])
    assert isinstance(batch, BatchResponseSimplePublicObject)
    assert {r.properties["hs_task_priority"] for r in batch.results} == {"LOW"}

    raw = tasks.batch.with_raw_response.delete(inputs=[{"id": i} for i in ids[1:]])
    assert raw.status_code == 204
    assert [t.archived for t in (tasks.get(i, archived=True) for i in ids[1:])] == [True, True]
