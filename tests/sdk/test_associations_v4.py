"""A labelled association created and read back through v4 and through a v3 record read
(hubspot-api-client), and the same round trip on the 2026-03 paths (hubspot-sdk)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.sdk


def test_v3_client_labelled_association_through_v4_and_v3_record_reads(v3_client, unique):
    from hubspot.crm.associations.v4 import (
        AssociationSpec,
        CollectionResponseMultiAssociatedObjectWithLabelForwardPaging,
        LabelsBetweenObjectPair,
    )
    from hubspot.crm.associations.v4.schema import (
        CollectionResponseAssociationSpecWithLabelNoPaging,
        PublicAssociationDefinitionCreateRequest,
    )
    from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyInput
    from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactInput

    contact = v3_client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=ContactInput(
            properties={"email": f"m.{unique}@example.com"}, associations=[]
        )
    )
    company = v3_client.crm.companies.basic_api.create(
        simple_public_object_input_for_create=CompanyInput(properties={"name": f"Acme {unique}"}, associations=[])
    )
    name = f"manager_{unique}"
    definitions = v3_client.crm.associations.v4.schema.definitions_api
    defined = definitions.create(
        from_object_type="contacts",
        to_object_type="companies",
        public_association_definition_create_request=PublicAssociationDefinitionCreateRequest(
            label="Manager", name=name, inverse_label="Employer"
        ),
    )
    assert isinstance(defined, CollectionResponseAssociationSpecWithLabelNoPaging), "labels POST must answer 200"
    manager, employer = defined.results
    assert (manager.category, manager.label, employer.label) == ("USER_DEFINED", "Manager", "Employer")
    listed = definitions.get_all(from_object_type="contacts", to_object_type="companies")
    assert manager.type_id in [t.type_id for t in listed.results]

    labelled = v3_client.crm.associations.v4.basic_api.create(
        object_type="contacts",
        object_id=contact.id,
        to_object_type="companies",
        to_object_id=company.id,
        association_spec=[AssociationSpec(association_category="USER_DEFINED", association_type_id=manager.type_id)],
    )
    assert isinstance(labelled, LabelsBetweenObjectPair), "the labelled PUT must answer 201"
    assert (labelled.from_object_id, labelled.to_object_id, labelled.labels) == (contact.id, company.id, ["Manager"])

    page = v3_client.crm.associations.v4.basic_api.get_page(
        object_type="companies", object_id=company.id, to_object_type="contacts"
    )
    assert isinstance(page, CollectionResponseMultiAssociatedObjectWithLabelForwardPaging)
    [linked] = page.results
    assert linked.to_object_id == contact.id
    assert {(t.type_id, t.label) for t in linked.association_types} == {(280, None), (employer.type_id, "Employer")}

    from_contact = v3_client.crm.contacts.basic_api.get_by_id(contact.id, associations=["companies"])
    assert {(a.id, a.type) for a in from_contact.associations["companies"].results} == {
        (company.id, "contact_to_company"),
        (company.id, name),
    }
    from_company = v3_client.crm.objects.basic_api.get_by_id("companies", company.id, associations=["contacts"])
    assert (contact.id, name) in {(a.id, a.type) for a in from_company.associations["contacts"].results}

    removed = v3_client.crm.associations.v4.basic_api.archive(
        object_type="contacts", object_id=contact.id, to_object_type="companies", to_object_id=company.id
    )
    assert removed is None
    after = v3_client.crm.associations.v4.basic_api.get_page(
        object_type="contacts", object_id=contact.id, to_object_type="companies"
    )
    assert after.results == []


def test_sdk_labelled_association_round_trip_on_2026_03_paths(sdk_client, unique):
    contact = sdk_client.crm.objects.contacts.create(properties={"email": f"b.{unique}@example.com"}, associations=[])
    company = sdk_client.crm.objects.companies.create(properties={"name": f"Buyer Co {unique}"}, associations=[])
    name = f"buyer_{unique}"
    created = sdk_client.crm.associations_schema.labels.create_label(
        "companies", from_object_type="contacts", label="Buyer", name=name
    )
    [buyer] = created.results
    assert (buyer.category, buyer.label) == ("USER_DEFINED", "Buyer")

    spec = {"association_category": "USER_DEFINED", "association_type_id": buyer.type_id}
    pair = sdk_client.crm.associations.update_labels(
        company.id, object_type="contacts", object_id=contact.id, to_object_type="companies", body=[spec]
    )
    assert pair.labels == ["Buyer"]
    assert str(pair.to_object_id) == company.id

    [linked] = list(sdk_client.crm.associations.list("companies", object_type="contacts", object_id=contact.id))
    assert str(linked.to_object_id) == company.id
    assert {(t.type_id, t.label) for t in linked.association_types} == {(279, None), (buyer.type_id, "Buyer")}
    read = sdk_client.crm.associations.batch.get("companies", from_object_type="contacts", inputs=[{"id": contact.id}])
    assert [str(t.to_object_id) for t in read.results[0].to] == [company.id]

    record = sdk_client.crm.objects.contacts.get(contact.id, associations=["companies"])
    assert (company.id, name) in {(a.id, a.type) for a in record.associations["companies"].results}

    archived = sdk_client.crm.associations.batch.delete(
        "companies", from_object_type="contacts", inputs=[{"from": {"id": contact.id}, "to": [{"id": company.id}]}]
    )
    assert archived is None
    assert list(sdk_client.crm.associations.list("contacts", object_type="companies", object_id=company.id)) == []
