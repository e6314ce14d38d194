"""Merge (contacts, companies, deals, tickets) and GDPR delete (contacts) (issue 5, point 3)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from localspot.store import tables as t
from tests.conftest import make_unique_property
from tests.http.support import DATED, FAMILIES, V3, assert_error, create_contact, read, task
from tests.http.test_schemas import create_schema

TASK_TO_CONTACT = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}


def merge(client, object_type: str, primary: str, merged: str, family: str = V3):
    body = {"primaryObjectId": primary, "objectIdToMerge": merged}
    return client.post(f"{family}/{object_type}/merge", json=body)


def create(client, object_type: str, **props) -> str:
    response = client.post(f"{V3}/{object_type}", json={"properties": props})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def task_for(client, *contacts: str) -> str:
    associations = [{"to": {"id": c}, "types": [TASK_TO_CONTACT]} for c in contacts]
    response = client.post(f"{V3}/tasks", json={"properties": task("linked"), "associations": associations})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def associated(client, object_type: str, object_id: str, to: str) -> list[str]:
    found = read(client, object_type, object_id, associations=to).json().get("associations", {})
    return sorted((a["id"] for a in found.get(to, {}).get("results", [])), key=int)


def rows_naming(app, portal_id: int, table: sa.Table, object_id: str, *columns: str) -> int:
    """Rows of `table` in this portal whose given id columns hold `object_id` (what a GDPR delete must clear)."""
    condition = sa.or_(*(table.c[name] == int(object_id) for name in columns))
    query = sa.select(sa.func.count()).select_from(table).where(table.c.portal_id == portal_id, condition)
    with app.state.service.store.engine.connect() as conn:
        return conn.execute(query).scalar_one()


# --- merge -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_merge_keeps_the_primary_whose_values_win_and_fills_the_gaps(client, family):
    primary = create_contact(client, "primary@example.com", firstname="Ada", lastname="")
    merged = create_contact(client, "merged@example.com", firstname="Bea", lastname="Lovelace", jobtitle="Countess")
    response = merge(client, "contacts", primary, merged, family)
    assert response.status_code == 200, response.text
    survivor = response.json()
    assert survivor["id"] == primary
    assert survivor["archived"] is False
    props = survivor["properties"]
    assert (props["email"], props["firstname"]) == ("primary@example.com", "Ada")  # the primary's values win
    assert (props["lastname"], props["jobtitle"]) == ("Lovelace", "Countess")  # the merged record fills gaps
    assert props["hs_merged_object_ids"] == merged
    assert props["hs_additional_emails"] == "merged@example.com"
    stored = read(client, "contacts", primary, properties="lastname,hs_merged_object_ids").json()
    assert stored["properties"] == {"lastname": "Lovelace", "hs_merged_object_ids": merged}


def test_the_merged_away_id_reads_as_the_surviving_record(client):
    primary = create_contact(client, firstname="Survivor")
    merged = create_contact(client, firstname="Gone")
    merge(client, "contacts", primary, merged)
    found = read(client, "contacts", merged, properties="firstname").json()
    assert (found["id"], found["properties"]) == (primary, {"firstname": "Survivor"})
    batch = client.post(f"{DATED}/contacts/batch/read", json={"inputs": [{"id": merged}], "properties": []})
    assert batch.status_code == 200, batch.text
    assert [r["id"] for r in batch.json()["results"]] == [primary]
    patched = client.patch(f"{V3}/contacts/{merged}", json={"properties": {"lastname": "Via old id"}})
    assert patched.json()["id"] == primary
    assert read(client, "contacts", primary, properties="lastname").json()["properties"]["lastname"] == "Via old id"


def test_the_merged_away_record_stays_readable_as_archived(client):
    primary, merged = create_contact(client), create_contact(client, firstname="Gone")
    merge(client, "contacts", primary, merged)
    archived = read(client, "contacts", merged, archived="true", properties="firstname").json()
    assert (archived["id"], archived["archived"], archived["properties"]) == (merged, True, {"firstname": "Gone"})
    assert [r["id"] for r in client.get(f"{V3}/contacts").json()["results"]] == [primary]


def test_merges_chain_to_the_last_survivor(client):
    first, second, third = (create_contact(client) for _ in range(3))
    assert merge(client, "contacts", second, first).status_code == 200
    final = merge(client, "contacts", third, second).json()
    assert final["properties"]["hs_merged_object_ids"] == f"{second};{first}"
    assert read(client, "contacts", first).json()["id"] == third


def test_associations_move_to_the_survivor_from_both_ends_once(client):
    primary, merged = create_contact(client), create_contact(client)
    shared, only_merged = task_for(client, primary, merged), task_for(client, merged)
    merge(client, "contacts", primary, merged)
    assert associated(client, "contacts", primary, "tasks") == sorted([shared, only_merged], key=int)
    assert associated(client, "tasks", shared, "contacts") == [primary]
    assert associated(client, "tasks", only_merged, "contacts") == [primary]


def test_a_link_between_the_two_merged_records_disappears(client):
    parent, child = create(client, "companies", name="Parent"), create(client, "companies", name="Child")
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 13}
    linked = client.post(
        f"{V3}/companies", json={"properties": {"name": "x"}, "associations": [{"to": {"id": child}, "types": [spec]}]}
    ).json()["id"]
    assert merge(client, "companies", parent, linked).status_code == 200
    assert associated(client, "companies", parent, "companies") == [child]
    assert merge(client, "companies", parent, child).status_code == 200
    assert associated(client, "companies", parent, "companies") == []


def test_the_merged_records_unique_values_are_freed_or_adopted(client):
    make_unique_property(client, "contacts", "ext_key", "contactinformation")
    primary = create_contact(client, "keep@example.com")
    merged = create_contact(client, "free@example.com", ext_key="K-1")
    merge(client, "contacts", primary, merged)
    # The primary had no ext_key: it adopts the merged record's value, and answers to it.
    assert read(client, "contacts", "K-1", idProperty="ext_key").json()["id"] == primary
    # The merged record's email is free again: a new contact may take it.
    assert create_contact(client, "free@example.com") not in (primary, merged)
    taken = client.post(f"{V3}/contacts", json={"properties": {"email": "keep@example.com"}})
    assert_error(taken, 409, "CONFLICT")


@pytest.mark.parametrize(
    ("object_type", "path_type", "props"),
    [
        ("companies", "companies", {"name": "Acme"}),
        ("deals", "0-3", {"dealname": "Big deal"}),
        ("tickets", "tickets", {"subject": "Broken", "hs_pipeline": "0", "hs_pipeline_stage": "1"}),
    ],
)
def test_companies_deals_and_tickets_merge(client, object_type, path_type, props):
    primary = create(client, object_type, **props)
    merged = create(client, object_type, **props)
    response = merge(client, path_type, primary, merged)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == primary
    assert read(client, object_type, merged).json()["id"] == primary


def test_custom_objects_and_projects_merge(client):
    cars = create_schema(client)["objectTypeId"]
    primary = create(client, cars, model="T", vin="V-1")
    merged = create(client, cars, model="S", make="Ford", vin="V-2")
    survivor = merge(client, "p_cars", primary, merged, DATED).json()
    assert (survivor["id"], survivor["properties"]["model"], survivor["properties"]["make"]) == (primary, "T", "Ford")
    assert read(client, cars, merged).json()["id"] == primary
    projects = [create(client, "projects", hs_name=n) for n in ("a", "b")]
    assert merge(client, "0-970", *projects).json()["id"] == projects[0]


def test_merging_a_record_into_itself_is_rejected(client):
    contact = create_contact(client)
    error = assert_error(merge(client, "contacts", contact, contact), 400, "VALIDATION_ERROR")
    assert "itself" in error["message"]


def test_merging_an_unknown_or_archived_record_is_404(client):
    live, archived = create_contact(client), create_contact(client)
    client.delete(f"{V3}/contacts/{archived}")
    for primary, other in ((live, "99999999"), ("99999999", live), (live, archived), (live, "not-an-id")):
        assert_error(merge(client, "contacts", primary, other), 404, "OBJECT_NOT_FOUND")
    assert read(client, "contacts", live).status_code == 200


def test_an_id_merged_away_before_cannot_be_merged_again(client):
    primary, merged, other = (create_contact(client) for _ in range(3))
    merge(client, "contacts", primary, merged)
    for pair in ((other, merged), (merged, other)):
        error = assert_error(merge(client, "contacts", *pair), 400, "VALIDATION_ERROR")
        assert f"already merged into {primary}" in error["message"]


@pytest.mark.parametrize(
    "body", [{}, {"primaryObjectId": "1"}, {"objectIdToMerge": "1"}, [], {"primaryObjectId": True}]
)
def test_merge_needs_both_ids(client, body):
    assert_error(client.post(f"{V3}/contacts/merge", json=body), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("object_type", ["tasks", "calls", "products"])
def test_types_without_merge_have_no_merge_endpoint(client, object_type):
    error = assert_error(merge(client, object_type, "1", "2"), 404, "OBJECT_NOT_FOUND")
    assert "contacts, companies, deals, tickets" in error["message"]


def test_get_of_a_record_named_merge_still_reads_a_record(client):
    assert_error(
        client.get(f"{V3}/contacts/merge"), 404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric."
    )


# --- GDPR delete -------------------------------------------------------------------------------------


def gdpr_delete(client, body: dict, family: str = V3, object_type: str = "contacts"):
    return client.post(f"{family}/{object_type}/gdpr-delete", json=body)


def assert_gone_for_good(client, app, portal_id: int, contact: str) -> None:
    assert_error(read(client, "contacts", contact), 404, "OBJECT_NOT_FOUND")
    assert_error(read(client, "contacts", contact, archived="true"), 404, "OBJECT_NOT_FOUND")
    assert rows_naming(app, portal_id, t.objects, contact, "id") == 0
    assert rows_naming(app, portal_id, t.property_history, contact, "object_id") == 0
    assert rows_naming(app, portal_id, t.unique_values, contact, "object_id") == 0
    assert rows_naming(app, portal_id, t.associations, contact, "from_id", "to_id") == 0


@pytest.mark.parametrize("family", FAMILIES)
def test_gdpr_delete_by_id_removes_the_contact_its_history_and_associations(client, app, portal_id, family):
    contact = create_contact(client, "person@example.com", firstname="P")
    client.patch(f"{V3}/contacts/{contact}", json={"properties": {"firstname": "Q"}})
    linked = task_for(client, contact)
    response = gdpr_delete(client, {"objectId": contact}, family)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_gone_for_good(client, app, portal_id, contact)
    assert associated(client, "tasks", linked, "contacts") == []
    assert create_contact(client, "person@example.com") != contact  # the email is free again


def test_gdpr_delete_by_email(client, app, portal_id):
    contact = create_contact(client, "by-email@example.com")
    assert gdpr_delete(client, {"objectId": "BY-EMAIL@example.com", "idProperty": "email"}).status_code == 204
    assert_gone_for_good(client, app, portal_id, contact)


def test_gdpr_delete_of_an_archived_contact(client, app, portal_id):
    contact = create_contact(client)
    client.delete(f"{V3}/contacts/{contact}")
    assert gdpr_delete(client, {"objectId": contact}).status_code == 204
    assert_gone_for_good(client, app, portal_id, contact)


def test_gdpr_delete_of_a_survivor_removes_what_was_merged_into_it(client, app, portal_id):
    primary, merged = create_contact(client), create_contact(client)
    merge(client, "contacts", primary, merged)
    assert gdpr_delete(client, {"objectId": primary}).status_code == 204
    assert_gone_for_good(client, app, portal_id, primary)
    assert_gone_for_good(client, app, portal_id, merged)
    assert rows_naming(app, portal_id, t.merged_objects, primary, "merged_id", "surviving_id") == 0


def test_gdpr_delete_of_an_unknown_email_is_204_and_of_an_unknown_id_404(client):
    other = create_contact(client)
    assert gdpr_delete(client, {"objectId": "nobody@example.com", "idProperty": "email"}).status_code == 204
    assert_error(gdpr_delete(client, {"objectId": "99999999"}), 404, "OBJECT_NOT_FOUND")
    assert read(client, "contacts", other).status_code == 200


@pytest.mark.parametrize("body", [{}, {"objectId": ""}, {"objectId": None}, {"id": "1"}])
def test_gdpr_delete_needs_an_object_id(client, body):
    assert_error(gdpr_delete(client, body), 400, "VALIDATION_ERROR")


def test_gdpr_delete_by_a_non_unique_property_is_rejected(client):
    contact = create_contact(client, firstname="Same")
    response = gdpr_delete(client, {"objectId": "Same", "idProperty": "firstname"})
    assert_error(response, 400, "VALIDATION_ERROR")
    assert read(client, "contacts", contact).status_code == 200


@pytest.mark.parametrize("object_type", ["companies", "tasks"])
def test_only_contacts_have_gdpr_delete(client, object_type):
    error = assert_error(gdpr_delete(client, {"objectId": "1"}, object_type=object_type), 404, "OBJECT_NOT_FOUND")
    assert "contacts only" in error["message"]
