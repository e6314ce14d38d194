import pytest

pytestmark = pytest.mark.sdk


def test_tasks_upsert_through_both_sdks(v3_client, sdk_client, unique):
    from hubspot.crm.objects.tasks import (
        BatchInputSimplePublicObjectBatchInputUpsert,
        SimplePublicObjectBatchInputUpsert,
    )
    from hubspot.crm.properties import PropertyCreate

    v3_client.crm.properties.core_api.create(
        object_type="tasks",
        property_create=PropertyCreate(
            name=f"ext_{unique}",
            label="Ext",
            type="string",
            field_type="text",
            group_name="taskinformation",
            has_unique_value=True,
        ),
    )
    props = {"hs_task_subject": "Follow up", "hs_timestamp": "2024-01-01T00:00:00Z"}
    first = v3_client.crm.objects.tasks.batch_api.upsert(
        batch_input_simple_public_object_batch_input_upsert=BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[SimplePublicObjectBatchInputUpsert(id="k1", id_property=f"ext_{unique}", properties=props)]
        )
    )
    assert first.results[0].new is True
    second = sdk_client.crm.objects.tasks.batch.upsert(
        inputs=[{"id": "k1", "id_property": f"ext_{unique}", "properties": {"hs_task_subject": "Again"}}]
    )
    assert second.results[0].new is False
    assert second.results[0].id == first.results[0].id
