"""Tasks batch create with an inline association to a contact (HUBSPOT_DEFINED type 204, task → contact),
read back from both ends with `associations=`, through each Python SDK."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.sdk

WHEN = "2024-01-01T00:00:00Z"
TASK_TO_CONTACT = 204


def test_v3_tasks_batch_create_associated_with_a_contact(v3_client, unique):
    from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactInput
    from hubspot.crm.objects.tasks import (
        AssociationSpec,
        BatchInputSimplePublicObjectBatchInputForCreate,
        BatchResponseSimplePublicObject,
        PublicAssociationsForObject,
        PublicObjectId,
        SimplePublicObjectBatchInputForCreate,
    )

    contact = v3_client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=ContactInput(
            properties={"email": f"Ada.{unique}@Example.com", "firstname": "Ada"}, associations=[]
        )
    )
    assert contact is not None, "single create must answer 201"
    assert contact.properties["email"] == f"ada.{unique}@example.com"

    to_contact = PublicAssociationsForObject(
        to=PublicObjectId(id=contact.id),
        types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=TASK_TO_CONTACT)],
    )
    created = v3_client.crm.objects.tasks.batch_api.create(
        batch_input_simple_public_object_batch_input_for_create=BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties={"hs_task_subject": f"call {n}", "hs_timestamp": WHEN}, associations=[to_contact]
                )
                for n in (1, 2)
            ]
        )
    )
    assert isinstance(created, BatchResponseSimplePublicObject), "batch create must answer 201"
    assert created.status == "COMPLETE"
    task_ids = [r.id for r in created.results]
    assert [r.properties["hs_task_subject"] for r in created.results] == ["call 1", "call 2"]
    assert len(set(task_ids)) == 2

    for task_id in task_ids:
        task = v3_client.crm.objects.tasks.basic_api.get_by_id(task_id, associations=["contacts"])
        assert task is not None
        [associated] = task.associations["contacts"].results
        assert associated.id == contact.id
        assert associated.type == "task_to_contact"

    back = v3_client.crm.contacts.basic_api.get_by_id(contact.id, associations=["tasks"])
    assert back is not None
    assert sorted(a.id for a in back.associations["tasks"].results) == sorted(task_ids)
    assert {a.type for a in back.associations["tasks"].results} == {"contact_to_task"}


def test_sdk_tasks_batch_create_associated_with_a_contact(sdk_client, unique):
    contact = sdk_client.crm.objects.contacts.create(
        properties={"email": f"grace.{unique}@example.com", "lastname": "Hopper"}, associations=[]
    )
    created = sdk_client.crm.objects.tasks.batch.create(
        inputs=[
            {
                "properties": {"hs_task_subject": "follow up", "hs_timestamp": WHEN},
                "associations": [
                    {
                        "to": {"id": contact.id},
                        "types": [{"association_category": "HUBSPOT_DEFINED", "association_type_id": TASK_TO_CONTACT}],
                    }
                ],
            }
        ]
    )
    assert created.status == "COMPLETE"
    [task] = created.results
    assert task.url.endswith(f"/record/0-27/{task.id}")

    read = sdk_client.crm.objects.tasks.get(task.id, associations=["contacts"], properties=["hs_task_subject"])
    assert read.properties["hs_task_subject"] == "follow up"
    assert [(a.id, a.type) for a in read.associations["contacts"].results] == [(contact.id, "task_to_contact")]

    back = sdk_client.crm.objects.contacts.get(contact.id, associations=["tasks"])
    assert [(a.id, a.type) for a in back.associations["tasks"].results] == [(task.id, "contact_to_task")]

    # the generic resource takes objectTypeIds: 0-27 (tasks) → 0-1 (contacts)
    generic = sdk_client.crm.objects.generic_objects.get(task.id, object_type="0-27", associations=["0-1"])
    assert generic.associations is not None
    assert [a.id for a in next(iter(generic.associations.values())).results] == [contact.id]


def test_sdk_batch_create_to_a_missing_contact_is_refused(sdk_client):
    import hubspot_sdk

    with pytest.raises(hubspot_sdk.BadRequestError) as raised:
        sdk_client.crm.objects.tasks.batch.create(
            inputs=[
                {
                    "properties": {"hs_task_subject": "orphan", "hs_timestamp": WHEN},
                    "associations": [
                        {
                            "to": {"id": "999999999"},
                            "types": [
                                {"association_category": "HUBSPOT_DEFINED", "association_type_id": TASK_TO_CONTACT}
                            ],
                        }
                    ],
                }
            ]
        )
    assert raised.value.status_code == 400
    assert raised.value.body["status"] == "error"
    assert raised.value.body["category"] == "VALIDATION_ERROR"
    assert "999999999" in raised.value.body["message"]
