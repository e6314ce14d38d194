"""Single create (201) and read by `idProperty`, and batch read by `idProperty`, through both Python SDKs.

hubspot-api-client sends query arrays repeated (`properties=a&properties=b`); hubspot-sdk sends them
comma-joined (`properties=a,b`). Both must select the same properties.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.sdk

WHEN = "2024-01-01T00:00:00Z"


def test_v3_single_create_then_read_by_id_property(v3_client, task_key, unique):
    from hubspot.crm.objects.tasks import (
        BatchReadInputSimplePublicObjectId,
        BatchResponseSimplePublicObject,
        SimplePublicObject,
        SimplePublicObjectId,
        SimplePublicObjectInputForCreate,
        SimplePublicObjectWithAssociations,
    )

    created = v3_client.crm.objects.tasks.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={
                task_key: unique,
                "hs_task_subject": "Renewal",
                "hs_task_priority": "HIGH",
                "hs_timestamp": "1704067200000",  # epoch milliseconds
            },
            associations=[],
        )
    )
    assert isinstance(created, SimplePublicObject), "single create must answer 201"
    assert created.properties["hs_timestamp"] == "2024-01-01T00:00:00.000Z"
    assert created.properties["hs_object_id"] == created.id

    by_key = v3_client.crm.objects.tasks.basic_api.get_by_id(
        unique, id_property=task_key, properties=["hs_task_subject", "hs_task_priority", "no_such_property"]
    )
    assert isinstance(by_key, SimplePublicObjectWithAssociations)
    assert by_key.id == created.id
    assert by_key.created_at == created.created_at
    assert by_key.properties["hs_task_subject"] == "Renewal"
    assert by_key.properties["hs_task_priority"] == "HIGH"
    assert "no_such_property" not in by_key.properties

    defaults = v3_client.crm.objects.tasks.basic_api.get_by_id(created.id)
    assert {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"} <= set(defaults.properties)

    read = v3_client.crm.objects.tasks.batch_api.read(
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            id_property=task_key,
            inputs=[SimplePublicObjectId(id=unique)],
            properties=["hs_task_subject", task_key],
            properties_with_history=[],
        )
    )
    assert isinstance(read, BatchResponseSimplePublicObject), "a batch read with every id found must answer 200"
    [record] = read.results
    assert record.id == created.id
    assert record.properties["hs_task_subject"] == "Renewal"
    assert record.properties[task_key] == unique


def test_sdk_single_create_then_read_by_id_property(sdk_client, task_key, unique):
    from hubspot_sdk.types.crm import SimplePublicObject

    created = sdk_client.crm.objects.tasks.create(
        properties={task_key: unique, "hs_task_subject": "Renewal", "hs_timestamp": WHEN}, associations=[]
    )
    assert isinstance(created, SimplePublicObject)
    assert created.url.endswith(f"/record/0-27/{created.id}")

    by_key = sdk_client.crm.objects.tasks.get(unique, id_property=task_key, properties=["hs_task_subject", task_key])
    assert by_key.id == created.id
    assert by_key.properties["hs_task_subject"] == "Renewal"
    assert by_key.properties[task_key] == unique

    other = sdk_client.crm.objects.tasks.create(properties={"hs_timestamp": WHEN}, associations=[])
    read = sdk_client.crm.objects.tasks.batch.get(
        inputs=[{"id": unique}], id_property=task_key, properties=["hs_task_subject"], properties_with_history=[]
    )
    assert [r.id for r in read.results] == [created.id]
    assert read.results[0].properties["hs_task_subject"] == "Renewal"
    assert "numErrors" not in (read.model_extra or {})

    # by record id (no idProperty), one found and one missing: 207 with an OBJECT_NOT_FOUND error
    raw = sdk_client.crm.objects.tasks.batch.with_raw_response.get(
        inputs=[{"id": other.id}, {"id": "987654321"}], properties=[], properties_with_history=[]
    )
    assert raw.status_code == 207
    mixed = raw.parse()
    assert [r.id for r in mixed.results] == [other.id]
    assert mixed.model_extra["errors"][0]["context"]["ids"] == ["987654321"]
