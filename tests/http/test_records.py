"""Single create and single read, and how paths name object types on both path families."""

from __future__ import annotations

import time

import pytest

from tests.http.support import (
    DATED,
    FAMILIES,
    TASK_KEY,
    V3,
    assert_error,
    create_task,
    read,
    task,
    task_key_property,
    upsert,
    upsert_input,
)


@pytest.mark.parametrize("family", FAMILIES)
def test_create_answers_201_and_the_record_reads_back(client, family):
    response = client.post(f"{family}/tasks", json={"properties": task("single", hs_task_priority="HIGH")})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"].isdigit()
    assert created["archived"] is False
    assert created["createdAt"] == created["updatedAt"]
    assert created["properties"]["hs_task_priority"] == "HIGH"
    assert created["properties"]["hs_createdate"] == created["createdAt"]
    assert created["url"].endswith(f"/record/0-27/{created['id']}")
    stored = client.get(f"{family}/tasks/{created['id']}", params={"properties": "hs_task_priority"}).json()
    assert stored["properties"] == {"hs_task_priority": "HIGH"}


def test_create_with_a_bad_value_is_rejected_and_writes_nothing(client):
    body = {"properties": task("bad", hs_task_priority="SOMETIMES")}
    response = client.post(f"{V3}/tasks", json=body)
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["errors"][0]["code"] == "INVALID_OPTION"
    assert read(client, "tasks", "1").status_code == 404


def test_create_with_association(client):
    contact = client.post(f"{V3}/contacts", json={"properties": {"email": "c@example.com"}}).json()
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}
    body = {"properties": task("s"), "associations": [{"to": {"id": contact["id"]}, "types": [spec]}]}
    created = client.post(f"{V3}/tasks", json=body).json()
    found = read(client, "contacts", contact["id"], associations="tasks").json()["associations"]
    assert found == {"tasks": {"results": [{"id": created["id"], "type": "contact_to_task"}]}}


def test_create_needs_a_properties_object(client):
    assert_error(client.post(f"{V3}/tasks", json={"props": {}}), 400, "VALIDATION_ERROR")


def test_read_by_id_property(client):
    task_key_property(client)
    written = upsert(client, "tasks", [upsert_input("abc", task("keyed"))]).json()["results"][0]
    found = read(client, "tasks", "abc", idProperty=TASK_KEY, properties="hs_task_subject").json()
    assert found["id"] == written["id"]
    assert found["properties"] == {"hs_task_subject": "keyed"}


def test_properties_repeated_and_comma_joined_read_the_same(client):
    record = create_task(client, "s", hs_task_status="WAITING")
    repeated = client.get(f"{V3}/tasks/{record['id']}?properties=hs_task_subject&properties=hs_task_status")
    joined = client.get(f"{V3}/tasks/{record['id']}?properties=hs_task_subject,hs_task_status")
    expected = {"hs_task_subject": "s", "hs_task_status": "WAITING"}
    assert repeated.json()["properties"] == expected
    assert joined.json()["properties"] == expected


def test_default_properties_when_none_are_named(client):
    record = create_task(client, "s")
    stored = read(client, "tasks", record["id"]).json()
    assert stored["properties"] == {
        "hs_createdate": record["createdAt"],
        "hs_lastmodifieddate": record["updatedAt"],
        "hs_object_id": record["id"],
    }


def test_contact_default_properties(client):
    contact = client.post(f"{V3}/contacts", json={"properties": {"email": "d@example.com", "firstname": "D"}}).json()
    stored = read(client, "contacts", contact["id"]).json()["properties"]
    assert set(stored) == {"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"}
    assert (stored["email"], stored["firstname"], stored["lastname"]) == ("d@example.com", "D", None)


def test_unknown_names_are_ignored_and_empty_known_ones_are_null(client):
    record = create_task(client, "s")
    stored = client.get(f"{V3}/tasks/{record['id']}?properties=hs_task_subject,no_such_thing,hs_task_body").json()
    assert stored["properties"] == {"hs_task_subject": "s", "hs_task_body": None}


def test_properties_with_history_after_an_update(client):
    task_key_property(client)
    created = upsert(client, "tasks", [upsert_input("k", task("v1", hs_task_status="NOT_STARTED"))]).json()
    time.sleep(0.01)
    upsert(client, "tasks", [upsert_input("k", {"hs_task_status": "COMPLETED"})])
    record_id = created["results"][0]["id"]
    params = "propertiesWithHistory=hs_task_status&propertiesWithHistory=hs_task_subject"
    stored = client.get(f"{V3}/tasks/{record_id}?{params}").json()
    history = stored["propertiesWithHistory"]
    assert [v["value"] for v in history["hs_task_status"]] == ["COMPLETED", "NOT_STARTED"]
    assert [v["value"] for v in history["hs_task_subject"]] == ["v1"]
    newest, oldest = history["hs_task_status"]
    assert newest["timestamp"] > oldest["timestamp"]
    assert newest["timestamp"] == stored["updatedAt"]
    assert newest["sourceType"] == "INTEGRATION"
    joined = client.get(f"{V3}/tasks/{record_id}?propertiesWithHistory=hs_task_status,hs_task_subject").json()
    assert joined["propertiesWithHistory"] == history


def test_history_records_a_cleared_value_as_empty(client):
    task_key_property(client)
    upsert(client, "tasks", [upsert_input("k", task("v1", hs_task_body="text"))])
    upsert(client, "tasks", [upsert_input("k", {"hs_task_body": ""})])
    stored = read(
        client, "tasks", "k", idProperty=TASK_KEY, propertiesWithHistory="hs_task_body", properties="hs_task_body"
    )
    body = stored.json()
    assert body["properties"] == {"hs_task_body": None}
    assert [v["value"] for v in body["propertiesWithHistory"]["hs_task_body"]] == ["", "text"]


def test_read_with_associations(client):
    contact = client.post(f"{V3}/contacts", json={"properties": {"email": "e@example.com"}}).json()
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}
    body = {"inputs": [{"properties": task("s"), "associations": [{"to": {"id": contact["id"]}, "types": [spec]}]}]}
    task_id = client.post(f"{V3}/tasks/batch/create", json=body).json()["results"][0]["id"]
    for family in FAMILIES:
        stored = client.get(f"{family}/tasks/{task_id}?associations=contacts,companies").json()
        assert stored["associations"] == {"contacts": {"results": [{"id": contact["id"], "type": "task_to_contact"}]}}


def test_non_numeric_id_is_not_found_with_hubspots_message(client):
    body = assert_error(
        read(client, "tasks", "abc"), 404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric."
    )
    assert body["context"] == {"id": ["abc"]}


@pytest.mark.parametrize("object_id", ["424242", "99999999999999999999999", "²", "١٢", "-1", "1.0"])
def test_ids_naming_no_record_are_not_found(client, object_id):
    body = assert_error(read(client, "tasks", object_id), 404, "OBJECT_NOT_FOUND")
    assert body["context"] == {"id": [object_id]}


def test_batch_read_of_ids_naming_no_record_is_207(client):
    ids = ["99999999999999999999999", "²"]
    response = client.post(f"{V3}/tasks/batch/read", json={"inputs": [{"id": i} for i in ids]})
    assert response.status_code == 207, response.text
    assert response.json()["errors"][0]["context"] == {"ids": ids}


def test_keys_no_record_can_hold_are_not_found(client):
    task_key_property(client)
    for key in ("x" * 1001, "a%00b"):
        assert_error(read(client, "tasks", key, idProperty=TASK_KEY), 404, "OBJECT_NOT_FOUND")
    body = {"inputs": [{"id": "a\u0000b"}], "idProperty": TASK_KEY}
    assert client.post(f"{V3}/tasks/batch/read", json=body).status_code == 207


def test_records_of_one_type_are_not_found_as_another(client):
    record = create_task(client, "s")
    assert_error(read(client, "calls", record["id"]), 404, "OBJECT_NOT_FOUND")


def test_archived_true_does_not_return_live_records(client):
    record = create_task(client, "s")
    assert_error(read(client, "tasks", record["id"], archived="true"), 404, "OBJECT_NOT_FOUND")
    assert read(client, "tasks", record["id"], archived="false").status_code == 200


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("name", ["tasks", "task", "0-27", "TASKS", "Task"])
def test_object_type_by_plural_singular_and_id(client, family, name):
    created = client.post(f"{family}/{name}", json={"properties": task(f"via {name}")})
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    for other in ("tasks", "task", "0-27"):
        stored = client.get(f"{family}/{other}/{record_id}", params={"properties": "hs_task_subject"})
        assert stored.json()["properties"]["hs_task_subject"] == f"via {name}"


@pytest.mark.parametrize("name", ["contacts", "contact", "0-1", "calls", "0-48", "deals", "0-3", "notes", "0-46"])
def test_other_standard_types_resolve(client, name):
    assert_error(client.get(f"{DATED}/{name}/999999"), 404, "OBJECT_NOT_FOUND")


@pytest.mark.parametrize("family", FAMILIES)
def test_unknown_object_type_is_rejected(client, family):
    body = assert_error(
        client.get(f"{family}/widgets/1"), 400, "VALIDATION_ERROR", "Unable to infer object type from: widgets"
    )
    assert body["context"] == {"objectType": ["widgets"]}
    for path in ("widgets", "widgets/batch/upsert", "widgets/batch/create", "widgets/batch/read"):
        response = client.post(f"{family}/{path}", json={"inputs": []})
        assert_error(response, 400, "VALIDATION_ERROR", "Unable to infer object type from: widgets")


def test_empty_batch_is_accepted(client):
    response = client.post(f"{V3}/tasks/batch/create", json={"inputs": []})
    assert response.status_code == 201, response.text
    assert response.json()["results"] == []


def test_ids_that_name_no_record_never_fail_the_write_routes(client):
    huge = "99999999999999999999999"
    assert client.delete(f"{V3}/tasks/{huge}").status_code == 204
    assert client.delete(f"{V3}/tasks/²").status_code == 204
    archive = client.post(f"{V3}/tasks/batch/archive", json={"inputs": [{"id": huge}, {"id": "²"}]})
    assert archive.status_code == 204, archive.text
    patch = client.patch(f"{V3}/tasks/{huge}", json={"properties": {"hs_task_subject": "x"}})
    assert_error(patch, 404, "OBJECT_NOT_FOUND")
    for query in (f"after={huge}", "after=%C2%B2", "limit=%C2%B2"):
        assert_error(client.get(f"{V3}/tasks?{query}"), 400, "VALIDATION_ERROR")
