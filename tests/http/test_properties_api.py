"""The Properties API on both path families: definitions, groups, and the rules HubSpot enforces."""

from __future__ import annotations

import pytest

from tests.http.support import PROPS_DATED, PROPS_V3, V3, assert_error, task, upsert, upsert_input

FAMILIES = [PROPS_V3, PROPS_DATED]


def definition(name: str, **more: object) -> dict:
    return {
        "name": name,
        "label": name.title(),
        "type": "string",
        "fieldType": "text",
        "groupName": "taskinformation",
        **more,
    }


def names(response) -> set[str]:  # noqa: ANN001
    assert response.status_code == 200, response.text
    return {p["name"] for p in response.json()["results"]}


@pytest.mark.parametrize("family", FAMILIES)
def test_create_get_update_archive(client, family):
    created = client.post(f"{family}/tasks", json=definition("my_prop", description="why"))
    assert created.status_code == 201, created.text
    wire = created.json()
    assert (wire["name"], wire["type"], wire["fieldType"], wire["groupName"]) == (
        "my_prop",
        "string",
        "text",
        "taskinformation",
    )
    assert wire["hasUniqueValue"] is False
    assert wire["archived"] is False
    assert wire["modificationMetadata"] == {"archivable": True, "readOnlyDefinition": False, "readOnlyValue": False}
    assert "hubspotDefined" not in wire
    assert "my_prop" in names(client.get(f"{family}/tasks"))
    assert client.get(f"{family}/0-27/my_prop").json() == wire

    updated = client.patch(f"{family}/tasks/my_prop", json={"label": "Renamed", "description": "new"})
    assert updated.status_code == 200, updated.text
    assert (updated.json()["label"], updated.json()["description"]) == ("Renamed", "new")
    assert client.get(f"{family}/tasks/my_prop").json()["label"] == "Renamed"

    archived = client.delete(f"{family}/tasks/my_prop")
    assert archived.status_code == 204
    assert archived.content == b""
    assert "my_prop" not in names(client.get(f"{family}/tasks"))
    assert_error(client.get(f"{family}/tasks/my_prop"), 404, "OBJECT_NOT_FOUND")
    assert "my_prop" in names(client.get(f"{family}/tasks", params={"archived": "true"}))
    again = client.get(f"{family}/tasks/my_prop", params={"archived": "true"}).json()
    assert again["archived"] is True
    assert "archivedAt" in again


def test_archived_property_no_longer_takes_values(client):
    client.post(f"{PROPS_V3}/tasks", json=definition("gone"))
    client.delete(f"{PROPS_V3}/tasks/gone")
    response = client.post(f"{V3}/tasks", json={"properties": task("s", gone="x")})
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"


def test_existing_name_is_a_conflict_even_when_archived(client):
    assert client.post(f"{PROPS_V3}/tasks", json=definition("twice")).status_code == 201
    assert_error(client.post(f"{PROPS_V3}/tasks", json=definition("twice")), 409, "OBJECT_ALREADY_EXISTS")
    client.delete(f"{PROPS_V3}/tasks/twice")
    assert_error(client.post(f"{PROPS_V3}/tasks", json=definition("twice")), 409, "OBJECT_ALREADY_EXISTS")
    assert_error(client.post(f"{PROPS_V3}/tasks", json=definition("hs_task_subject")), 409, "OBJECT_ALREADY_EXISTS")


def test_the_same_name_on_another_type_is_fine(client):
    assert client.post(f"{PROPS_V3}/tasks", json=definition("shared")).status_code == 201
    calls = client.post(f"{PROPS_V3}/calls", json=definition("shared", groupName="callinformation"))
    assert calls.status_code == 201, calls.text


@pytest.mark.parametrize(
    ("type_", "field_type"),
    [("string", "select"), ("number", "text"), ("bool", "text"), ("datetime", "number"), ("blob", "text")],
)
def test_bad_type_and_field_type_pairs_are_rejected(client, type_, field_type):
    body = definition("p", type=type_, fieldType=field_type)
    assert_error(client.post(f"{PROPS_V3}/tasks", json=body), 400, "VALIDATION_ERROR")
    assert_error(client.get(f"{PROPS_V3}/tasks/p"), 404, "OBJECT_NOT_FOUND")


@pytest.mark.parametrize(
    "body",
    [
        definition("p", groupName="no_such_group"),
        definition("p", groupName="callinformation"),
        definition("Bad Name"),
        definition("1starts_with_digit"),
        {"name": "p", "type": "string", "fieldType": "text", "groupName": "taskinformation"},
        definition("p", type="enumeration", fieldType="select"),
        definition(
            "p",
            type="enumeration",
            fieldType="select",
            options=[{"label": "A", "value": "a"}, {"label": "A", "value": "a"}],
        ),
        definition("p", type="bool", fieldType="booleancheckbox", hasUniqueValue=True),
        definition("a" * 201),
        definition("trailing_newline\n"),
        definition("p", label="a\u0000"),
        definition("p", type="enumeration", fieldType="select", options=[{"label": "A", "value": {"a": 1}}]),
        definition("p", type="enumeration", fieldType="select", options=[{"label": "A", "value": "a\u0000"}]),
        definition("p", type=["string"]),
    ],
)
def test_invalid_definitions_are_rejected(client, body):
    assert_error(client.post(f"{PROPS_V3}/tasks", json=body), 400, "VALIDATION_ERROR")


def test_names_up_to_200_characters(client):
    assert client.post(f"{PROPS_V3}/tasks", json=definition("a" * 200)).status_code == 201
    assert client.get(f"{PROPS_V3}/tasks/{'a' * 200}").status_code == 200
    assert client.post(f"{PROPS_V3}/tasks/groups", json={"name": "g" * 200, "label": "G"}).status_code == 201
    long_group = client.post(f"{PROPS_V3}/tasks/groups", json={"name": "g" * 201, "label": "G"})
    assert_error(long_group, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "change",
    [
        {"type": ["number"]},
        {"groupName": ["x"]},
        {"label": None},
        {"label": 5},
        {"fieldType": ""},
        {"label": "a\u0000"},
    ],
)
def test_invalid_updates_are_rejected(client, change):
    client.post(f"{PROPS_V3}/tasks", json=definition("editable"))
    assert_error(client.patch(f"{PROPS_V3}/tasks/editable", json=change), 400, "VALIDATION_ERROR")
    assert client.get(f"{PROPS_V3}/tasks/editable").json()["label"] == "Editable"


def test_at_most_10_custom_unique_properties_per_type(client):
    for i in range(10):
        response = client.post(f"{PROPS_V3}/tasks", json=definition(f"key_{i}", hasUniqueValue=True))
        assert response.status_code == 201, response.text
    assert_error(
        client.post(f"{PROPS_V3}/tasks", json=definition("key_10", hasUniqueValue=True)), 400, "VALIDATION_ERROR"
    )
    assert client.post(f"{PROPS_V3}/tasks", json=definition("not_unique")).status_code == 201
    calls = client.post(f"{PROPS_V3}/calls", json=definition("key_0", groupName="callinformation", hasUniqueValue=True))
    assert calls.status_code == 201, calls.text


def test_has_unique_value_cannot_change(client):
    client.post(f"{PROPS_V3}/tasks", json=definition("plain"))
    client.post(f"{PROPS_V3}/tasks", json=definition("unique", hasUniqueValue=True))
    assert_error(client.patch(f"{PROPS_V3}/tasks/plain", json={"hasUniqueValue": True}), 400, "VALIDATION_ERROR")
    assert_error(client.patch(f"{PROPS_V3}/tasks/unique", json={"hasUniqueValue": False}), 400, "VALIDATION_ERROR")
    assert client.get(f"{PROPS_V3}/tasks/plain").json()["hasUniqueValue"] is False
    assert client.get(f"{PROPS_V3}/tasks/unique").json()["hasUniqueValue"] is True
    same = client.patch(f"{PROPS_V3}/tasks/unique", json={"hasUniqueValue": True, "label": "Still unique"})
    assert same.status_code == 200, same.text


def test_hubspot_defined_properties_cannot_be_archived_or_changed(client):
    assert_error(client.delete(f"{PROPS_V3}/tasks/hs_task_subject"), 400, "VALIDATION_ERROR")
    assert_error(client.patch(f"{PROPS_V3}/tasks/hs_task_status", json={"label": "x"}), 400, "VALIDATION_ERROR")
    assert "hs_task_subject" in names(client.get(f"{PROPS_V3}/tasks"))


def test_unknown_property_is_not_found(client):
    for response in (
        client.get(f"{PROPS_V3}/tasks/nope"),
        client.patch(f"{PROPS_V3}/tasks/nope", json={"label": "x"}),
        client.delete(f"{PROPS_V3}/tasks/nope"),
    ):
        assert_error(response, 404, "OBJECT_NOT_FOUND", "Unable to find property nope for object type 0-27")


def test_a_new_enumeration_validates_values_in_a_batch_upsert(client):
    client.post(f"{PROPS_V3}/tasks", json=definition("ext_id", hasUniqueValue=True))
    options = [{"label": "Red", "value": "red"}, {"label": "Blue", "value": "blue"}]
    body = definition("colour", type="enumeration", fieldType="select", options=options)
    assert client.post(f"{PROPS_V3}/tasks", json=body).status_code == 201
    ok = upsert(client, "tasks", [upsert_input("a", task("s", colour="red"))])
    assert ok.status_code == 200, ok.text
    assert ok.json()["results"][0]["properties"]["colour"] == "red"
    bad = upsert(client, "tasks", [upsert_input("b", task("s", colour="green"))])
    error = assert_error(bad, 400, "VALIDATION_ERROR")
    assert error["errors"] == [
        {
            "message": "green was not one of the allowed options: [blue, red]",
            "code": "INVALID_OPTION",
            "context": {"propertyName": ["colour"]},
        }
    ]
    client.patch(f"{PROPS_V3}/tasks/colour", json={"options": [*options, {"label": "Green", "value": "green"}]})
    assert upsert(client, "tasks", [upsert_input("b", task("s", colour="green"))]).status_code == 200


def test_changing_a_property_type_changes_validation(client):
    client.post(f"{PROPS_V3}/tasks", json=definition("amount"))
    assert client.post(f"{V3}/tasks", json={"properties": task("s", amount="abc")}).status_code == 201
    changed = client.patch(f"{PROPS_V3}/tasks/amount", json={"type": "number", "fieldType": "number"})
    assert changed.status_code == 200, changed.text
    body = assert_error(
        client.post(f"{V3}/tasks", json={"properties": task("s", amount="abc")}), 400, "VALIDATION_ERROR"
    )
    assert body["errors"][0]["code"] == "INVALID_LONG"


def test_standard_properties_are_present(client):
    props = {p["name"]: p for p in client.get(f"{PROPS_V3}/tasks").json()["results"]}
    status = props["hs_task_status"]
    assert (status["type"], status["fieldType"]) == ("enumeration", "select")
    assert {o["value"] for o in status["options"]} == {"NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"}
    assert {"label", "value", "displayOrder", "hidden"} <= status["options"][0].keys()
    assert (props["hs_timestamp"]["type"], props["hs_timestamp"]["fieldType"]) == ("datetime", "date")
    assert {"hs_task_priority", "hs_task_type", "hs_task_subject", "hubspot_owner_id"} <= props.keys()
    object_id = props["hs_object_id"]
    assert object_id["modificationMetadata"]["readOnlyValue"] is True
    assert object_id["hubspotDefined"] is True
    assert props["hs_task_subject"]["modificationMetadata"]["readOnlyValue"] is False

    calls = {p["name"]: p for p in client.get(f"{PROPS_DATED}/calls").json()["results"]}
    call_status = {o["value"] for o in calls["hs_call_status"]["options"]}
    assert {"COMPLETED", "BUSY", "NO_ANSWER", "FAILED", "CANCELED"} <= call_status
    assert {o["value"] for o in calls["hs_call_direction"]["options"]} == {"INBOUND", "OUTBOUND"}


def test_every_property_has_the_wire_fields_sdks_read(client):
    for prop in client.get(f"{PROPS_V3}/contacts").json()["results"]:
        assert {"name", "label", "type", "fieldType", "groupName", "options", "description"} <= prop.keys()


def test_groups_list_and_create(client):
    listed = client.get(f"{PROPS_V3}/tasks/groups")
    assert listed.status_code == 200, listed.text
    assert {"taskinformation"} <= {g["name"] for g in listed.json()["results"]}
    created = client.post(f"{PROPS_DATED}/tasks/groups", json={"name": "sync_fields", "label": "Sync fields"})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "sync_fields"
    assert "sync_fields" in {g["name"] for g in client.get(f"{PROPS_V3}/tasks/groups").json()["results"]}
    assert "sync_fields" not in {g["name"] for g in client.get(f"{PROPS_V3}/calls/groups").json()["results"]}
    assert client.post(f"{PROPS_V3}/tasks", json=definition("grouped", groupName="sync_fields")).status_code == 201
    assert_error(
        client.post(f"{PROPS_V3}/tasks/groups", json={"name": "sync_fields", "label": "x"}),
        409,
        "OBJECT_ALREADY_EXISTS",
    )
    assert_error(client.post(f"{PROPS_V3}/tasks/groups", json={"name": "no label"}), 400, "VALIDATION_ERROR")


def test_unknown_object_type_on_properties(client):
    assert_error(
        client.get(f"{PROPS_V3}/widgets"), 400, "VALIDATION_ERROR", "Unable to infer object type from: widgets"
    )
