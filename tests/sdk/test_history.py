"""`propertiesWithHistory` after an update, on single and batch reads, through each Python SDK.

Every write is recorded; versions come back newest first.
"""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.sdk

WHEN = "2024-01-01T00:00:00Z"


def _assert_newest_first(versions, values: list[str]) -> None:  # noqa: ANN001
    assert [v.value for v in versions] == values
    stamps = [v.timestamp for v in versions]
    assert stamps == sorted(stamps, reverse=True)
    assert all(v.source_type for v in versions)


def test_v3_properties_with_history_after_an_update(v3_client, task_key, unique):
    from hubspot.crm.objects.tasks import (
        BatchInputSimplePublicObjectBatchInputUpsert,
        BatchReadInputSimplePublicObjectId,
        SimplePublicObjectBatchInputUpsert,
        SimplePublicObjectId,
    )

    def upsert(subject: str):  # noqa: ANN202
        props = {"hs_task_subject": subject, "hs_timestamp": WHEN}
        return v3_client.crm.objects.tasks.batch_api.upsert(
            batch_input_simple_public_object_batch_input_upsert=BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[SimplePublicObjectBatchInputUpsert(id=unique, id_property=task_key, properties=props)]
            )
        )

    task_id = upsert("first").results[0].id
    time.sleep(0.01)
    upsert("second")
    time.sleep(0.01)
    upsert("third")

    task = v3_client.crm.objects.tasks.basic_api.get_by_id(
        task_id, properties=["hs_task_subject"], properties_with_history=["hs_task_subject", "hs_timestamp"]
    )
    assert task is not None
    assert task.properties["hs_task_subject"] == "third"
    _assert_newest_first(task.properties_with_history["hs_task_subject"], ["third", "second", "first"])
    assert task.properties_with_history["hs_task_subject"][0].source_type == "INTEGRATION"
    # a datetime's versions are normalized like its value (ISO-8601 UTC with milliseconds)
    assert task.properties_with_history["hs_timestamp"][-1].value == "2024-01-01T00:00:00.000Z"

    read = v3_client.crm.objects.tasks.batch_api.read(
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            id_property=task_key,
            inputs=[SimplePublicObjectId(id=unique)],
            properties=["hs_task_subject"],
            properties_with_history=["hs_task_subject"],
        )
    )
    assert read is not None
    [record] = read.results
    assert record.id == task_id
    _assert_newest_first(record.properties_with_history["hs_task_subject"], ["third", "second", "first"])


def test_sdk_properties_with_history_after_an_update(sdk_client, task_key, unique):
    first = sdk_client.crm.objects.tasks.batch.upsert(
        inputs=[{"id": unique, "id_property": task_key, "properties": {"hs_task_subject": "a", "hs_timestamp": WHEN}}]
    )
    task_id = first.results[0].id
    time.sleep(0.01)
    sdk_client.crm.objects.tasks.batch.upsert(
        inputs=[{"id": unique, "id_property": task_key, "properties": {"hs_task_subject": "b"}}]
    )

    task = sdk_client.crm.objects.tasks.get(task_id, properties_with_history=["hs_task_subject"])
    _assert_newest_first(task.properties_with_history["hs_task_subject"], ["b", "a"])
    newest = task.properties_with_history["hs_task_subject"][0]
    assert newest.timestamp == task.updated_at

    by_key = sdk_client.crm.objects.tasks.get(
        unique, id_property=task_key, properties_with_history=["hs_task_subject", "no_such_property"]
    )
    assert by_key.id == task_id
    assert set(by_key.properties_with_history) == {"hs_task_subject"}  # unknown names are ignored

    read = sdk_client.crm.objects.tasks.batch.get(
        inputs=[{"id": task_id}], properties=["hs_task_subject"], properties_with_history=["hs_task_subject"]
    )
    [record] = read.results
    _assert_newest_first(record.properties_with_history["hs_task_subject"], ["b", "a"])
