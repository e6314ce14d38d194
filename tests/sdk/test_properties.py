"""The properties API through both Python SDKs: create (201), get (200), update (200), archive (204), groups.

hubspot-api-client returns None for any 2xx other than the one its spec lists, so a non-None result
proves the exact success code.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.sdk

WHEN = "2024-01-01T00:00:00Z"


def test_v3_property_lifecycle(v3_client, unique):
    from hubspot.crm.properties import (
        ApiException,
        CollectionResponsePropertyNoPaging,
        ModelProperty,
        OptionInput,
        PropertyCreate,
        PropertyGroup,
        PropertyGroupCreate,
        PropertyUpdate,
    )
    from hubspot.crm.properties.exceptions import NotFoundException

    api = v3_client.crm.properties
    group = api.groups_api.create(
        object_type="tasks",
        property_group_create=PropertyGroupCreate(name=f"grp_{unique}", label="Integration", display_order=-1),
    )
    assert isinstance(group, PropertyGroup), "group create must answer 201"
    assert group.name == f"grp_{unique}"

    name = f"tier_{unique}"
    created = api.core_api.create(
        object_type="tasks",
        property_create=PropertyCreate(
            name=name,
            label="Tier",
            type="enumeration",
            field_type="select",
            group_name=group.name,
            options=[OptionInput(label="Gold", value="gold", display_order=0, hidden=False)],
        ),
    )
    assert isinstance(created, ModelProperty), "property create must answer 201"
    assert (created.name, created.type, created.field_type, created.group_name) == (
        name,
        "enumeration",
        "select",
        group.name,
    )
    assert [o.value for o in created.options] == ["gold"]
    assert created.has_unique_value is False

    fetched = api.core_api.get_by_name(object_type="0-27", property_name=name)
    assert isinstance(fetched, ModelProperty)
    assert fetched.label == "Tier"

    updated = api.core_api.update(
        object_type="task",
        property_name=name,
        property_update=PropertyUpdate(
            label="Customer tier",
            options=[
                OptionInput(label="Gold", value="gold", display_order=0, hidden=False),
                OptionInput(label="Silver", value="silver", display_order=1, hidden=False),
            ],
        ),
    )
    assert isinstance(updated, ModelProperty), "property update must answer 200"
    assert updated.label == "Customer tier"
    assert [o.value for o in updated.options] == ["gold", "silver"]

    listed = api.core_api.get_all(object_type="tasks")
    assert isinstance(listed, CollectionResponsePropertyNoPaging)
    assert name in {p.name for p in listed.results}
    assert "hs_task_subject" in {p.name for p in listed.results}

    with pytest.raises(ApiException) as duplicate:
        api.core_api.create(
            object_type="tasks",
            property_create=PropertyCreate(
                name=name, label="Again", type="string", field_type="text", group_name=group.name
            ),
        )
    assert duplicate.value.status == 409

    # the new option is usable on records, and an unknown one is refused naming the options
    from hubspot.crm.objects.tasks import SimplePublicObjectInputForCreate
    from hubspot.crm.objects.tasks.exceptions import ApiException as TasksApiException

    task = v3_client.crm.objects.tasks.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={name: "silver", "hs_timestamp": WHEN}, associations=[]
        )
    )
    assert task is not None and task.properties[name] == "silver"
    with pytest.raises(TasksApiException) as invalid:
        v3_client.crm.objects.tasks.basic_api.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                properties={name: "bronze", "hs_timestamp": WHEN}, associations=[]
            )
        )
    assert invalid.value.status == 400
    assert "INVALID_OPTION" in invalid.value.body

    assert api.core_api.archive(object_type="tasks", property_name=name) is None  # 204, no body
    with pytest.raises(NotFoundException):
        api.core_api.get_by_name(object_type="tasks", property_name=name)
    archived = api.core_api.get_by_name(object_type="tasks", property_name=name, archived=True)
    assert archived is not None and archived.archived is True
    assert name not in {p.name for p in api.core_api.get_all(object_type="tasks").results}


def test_v3_hubspot_defined_property_cannot_be_archived(v3_client):
    from hubspot.crm.properties import ApiException

    with pytest.raises(ApiException) as raised:
        v3_client.crm.properties.core_api.archive(object_type="tasks", property_name="hs_task_subject")
    assert raised.value.status == 400
    assert "cannot be archived" in raised.value.body
    assert v3_client.crm.properties.core_api.get_by_name(object_type="tasks", property_name="hs_task_subject")


def test_sdk_property_lifecycle(sdk_client, unique):
    import hubspot_sdk
    from hubspot_sdk.types.shared import Property

    name = f"score_{unique}"
    created = sdk_client.crm.properties.create(
        "contacts",
        name=name,
        label="Score",
        type="number",
        field_type="number",
        group_name="contactinformation",
        has_unique_value=True,
    )
    assert isinstance(created, Property)
    assert (created.name, created.type, created.has_unique_value) == (name, "number", True)

    fetched = sdk_client.crm.properties.get(name, object_type="0-1")
    assert fetched.name == name
    assert fetched.group_name == "contactinformation"

    updated = sdk_client.crm.properties.update(name, object_type="contacts", label="Lead score", description="0-100")
    assert (updated.label, updated.description, updated.has_unique_value) == ("Lead score", "0-100", True)
    with pytest.raises(hubspot_sdk.BadRequestError):
        sdk_client.crm.properties.update(name, object_type="contacts", extra_body={"hasUniqueValue": False})

    groups = sdk_client.crm.properties.groups.list("contacts")
    assert "contactinformation" in {g.name for g in groups.results}
    listed = sdk_client.crm.properties.list("contacts")
    assert name in {p.name for p in listed.results}

    with pytest.raises(hubspot_sdk.ConflictError) as duplicate:  # max_retries=0: a 409 is not retried
        sdk_client.crm.properties.create(
            "contacts", name=name, label="Again", type="string", field_type="text", group_name="contactinformation"
        )
    assert duplicate.value.body["category"] == "OBJECT_ALREADY_EXISTS"

    # the unique number property works as a key: a contact upserted by it, then read back by it
    contact = sdk_client.crm.objects.contacts.batch.upsert(
        inputs=[{"id": "42", "id_property": name, "properties": {"email": f"score.{unique}@example.com"}}]
    ).results[0]
    assert contact.new is True
    by_key = sdk_client.crm.objects.contacts.get("42", id_property=name, properties=["email", name])
    assert by_key.id == contact.id
    assert by_key.properties[name] == "42"

    raw = sdk_client.crm.properties.with_raw_response.delete(name, object_type="contacts")
    assert raw.status_code == 204
    with pytest.raises(hubspot_sdk.NotFoundError):
        sdk_client.crm.properties.get(name, object_type="contacts")
    assert sdk_client.crm.properties.get(name, object_type="contacts", archived=True).archived is True
