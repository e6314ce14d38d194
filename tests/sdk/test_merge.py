"""Merge followed by a read of the old id, and GDPR delete, through both Python SDKs (issue 5)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.sdk


def v3_contact(v3_client, email: str, **props: str) -> str:
    from hubspot.crm.contacts import SimplePublicObjectInputForCreate

    created = v3_client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={"email": email, **props}, associations=[]
        )
    )
    return created.id


def test_v3_contact_merge_then_read_of_the_old_id(v3_client, unique):
    from hubspot.crm.contacts import PublicMergeInput, SimplePublicObject, SimplePublicObjectWithAssociations

    primary = v3_contact(v3_client, f"keep-{unique}@example.com", firstname="Ada")
    merged = v3_contact(v3_client, f"gone-{unique}@example.com", firstname="Bea", lastname="Lovelace")
    survivor = v3_client.crm.contacts.basic_api.merge(
        public_merge_input=PublicMergeInput(primary_object_id=primary, object_id_to_merge=merged)
    )
    assert isinstance(survivor, SimplePublicObject), "merge must answer 200 for hubspot-api-client to parse it"
    assert survivor.id == primary
    assert survivor.properties["firstname"] == "Ada"
    assert survivor.properties["lastname"] == "Lovelace"

    old = v3_client.crm.contacts.basic_api.get_by_id(merged, properties=["firstname", "lastname", "email"])
    assert isinstance(old, SimplePublicObjectWithAssociations)
    assert old.id == primary
    assert old.properties["email"] == f"keep-{unique}@example.com"


def test_v3_company_merge_then_read_of_the_old_id(v3_client, unique):
    from hubspot.crm.companies import PublicMergeInput, SimplePublicObjectInputForCreate

    api = v3_client.crm.companies.basic_api
    ids = [
        api.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                properties={"name": f"{name} {unique}"}, associations=[]
            )
        ).id
        for name in ("Primary", "Merged")
    ]
    survivor = api.merge(public_merge_input=PublicMergeInput(primary_object_id=ids[0], object_id_to_merge=ids[1]))
    assert survivor.id == ids[0]
    assert survivor.properties["hs_merged_object_ids"] == ids[1]
    assert api.get_by_id(ids[1]).id == ids[0]


def test_v3_gdpr_delete_by_email(v3_client, unique):
    from hubspot.crm.contacts import PublicGdprDeleteInput
    from hubspot.crm.contacts.exceptions import NotFoundException

    email = f"forget-{unique}@example.com"
    contact = v3_contact(v3_client, email)
    data, status, _ = v3_client.crm.contacts.basic_api.purge_with_http_info(
        public_gdpr_delete_input=PublicGdprDeleteInput(object_id=email, id_property="email")
    )
    assert (data, status) == (None, 204)
    with pytest.raises(NotFoundException):
        v3_client.crm.contacts.basic_api.get_by_id(contact, archived=True)


def test_sdk_merge_then_read_of_the_old_id(sdk_client, unique):
    from hubspot_sdk.types.crm import SimplePublicObject

    contacts = sdk_client.crm.objects.contacts
    primary = contacts.create(properties={"email": f"sdk-keep-{unique}@example.com"}, associations=[]).id
    merged = contacts.create(
        properties={"email": f"sdk-gone-{unique}@example.com", "jobtitle": "Engineer"}, associations=[]
    ).id
    survivor = contacts.merge(primary_object_id=primary, object_id_to_merge=merged)
    assert isinstance(survivor, SimplePublicObject)
    assert survivor.id == primary
    assert survivor.properties["jobtitle"] == "Engineer"
    old = contacts.get(merged, properties=["jobtitle"])
    assert (old.id, old.properties["jobtitle"]) == (primary, "Engineer")


def test_sdk_deal_and_ticket_merge(sdk_client, unique):
    deals = sdk_client.crm.objects.deals
    ids = [deals.create(properties={"dealname": f"{n} {unique}"}, associations=[]).id for n in "ab"]
    assert deals.merge(primary_object_id=ids[0], object_id_to_merge=ids[1]).id == ids[0]  # POST .../0-3/merge
    assert deals.get(ids[1]).id == ids[0]
    tickets = sdk_client.crm.objects.tickets
    ticket_props = {"subject": unique, "hs_pipeline": "0", "hs_pipeline_stage": "1"}
    ids = [tickets.create(properties=ticket_props, associations=[]).id for _ in "ab"]
    assert tickets.merge(primary_object_id=ids[0], object_id_to_merge=ids[1]).id == ids[0]


def test_sdk_gdpr_delete_by_id(sdk_client, unique):
    import hubspot_sdk

    contacts = sdk_client.crm.objects.contacts
    contact = contacts.create(properties={"email": f"sdk-forget-{unique}@example.com"}, associations=[]).id
    raw = contacts.with_raw_response.gdpr_delete(object_id=contact)
    assert raw.status_code == 204
    assert raw.parse() is None
    with pytest.raises(hubspot_sdk.NotFoundError):
        contacts.get(contact, archived=True)
