"""Custom object schemas: the schema API on both path families, and custom types in the records API."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.http.support import DATED, V3, assert_error, create_contact

SCHEMA_FAMILIES = ["/crm-object-schemas/v3/schemas", "/crm-object-schemas/2026-03/schemas"]
V3_SCHEMAS = SCHEMA_FAMILIES[0]


def car_egg(name: str = "cars", **more: Any) -> dict[str, Any]:
    """HubSpot's guide example, trimmed: a unique `vin`, required and display properties."""
    return {
        "name": name,
        "labels": {"singular": "Car", "plural": "Cars"},
        "description": "Cars in our inventory.",
        "primaryDisplayProperty": "model",
        "secondaryDisplayProperties": ["make"],
        "searchableProperties": ["make", "model", "vin"],
        "requiredProperties": ["model"],
        "properties": [
            {"name": "model", "label": "Model", "type": "string", "fieldType": "text"},
            {"name": "make", "label": "Make"},  # type and fieldType default to string/text
            {"name": "vin", "label": "VIN", "type": "string", "fieldType": "text", "hasUniqueValue": True},
            {"name": "year", "label": "Year", "type": "number", "fieldType": "number"},
        ],
        "associatedObjects": ["CONTACT"],
        **more,
    }


def create_schema(client: TestClient, family: str = V3_SCHEMAS, **egg: Any) -> dict[str, Any]:
    response = client.post(family, json=car_egg(**egg))
    assert response.status_code == 201, response.text
    return response.json()


def portal_of(schema: dict[str, Any]) -> str:
    return schema["fullyQualifiedName"].split("_", 1)[0].removeprefix("p")


# --- create, get, list -----------------------------------------------------------------------------


@pytest.mark.parametrize("family", SCHEMA_FAMILIES)
def test_create_answers_201_with_the_object_schema(client: TestClient, family: str) -> None:
    schema = create_schema(client, family)
    number = schema["objectTypeId"].removeprefix("2-")
    assert schema["objectTypeId"] == f"2-{number}" and number.isdigit()
    assert schema["id"] == number
    assert schema["name"] == "cars"
    assert schema["fullyQualifiedName"] == f"p{portal_of(schema)}_cars"
    assert schema["labels"] == {"singular": "Car", "plural": "Cars"}
    assert schema["requiredProperties"] == ["model"]
    assert schema["searchableProperties"] == ["make", "model", "vin"]
    assert schema["primaryDisplayProperty"] == "model"
    assert schema["secondaryDisplayProperties"] == ["make"]
    assert schema["description"] == "Cars in our inventory."
    assert schema["archived"] is False and schema["createdAt"] and schema["updatedAt"]
    by_name = {p["name"]: p for p in schema["properties"]}
    assert {"hs_object_id", "hs_createdate", "hs_lastmodifieddate", "model", "make", "vin", "year"} <= set(by_name)
    assert by_name["vin"]["hasUniqueValue"] is True
    assert by_name["make"]["type"] == "string" and by_name["make"]["fieldType"] == "text"
    assert {p["groupName"] for p in by_name.values()} == {"cars_information"}
    assert by_name["hs_object_id"]["modificationMetadata"]["readOnlyValue"] is True
    [association] = schema["associations"]
    assert association["fromObjectTypeId"] == schema["objectTypeId"]
    assert association["toObjectTypeId"] == "0-1"
    assert association["id"].isdigit() and association["name"] == "cars_to_contact"


@pytest.mark.parametrize("family", SCHEMA_FAMILIES)
def test_get_by_object_type_id_short_name_and_fully_qualified_name(client: TestClient, family: str) -> None:
    schema = create_schema(client, family)
    for name in (schema["objectTypeId"], "p_cars", schema["fullyQualifiedName"], "P_CARS"):
        response = client.get(f"{family}/{name}")
        assert response.status_code == 200, response.text
        assert response.json() == schema
    assert_error(client.get(f"{family}/cars"), 404, "OBJECT_NOT_FOUND")
    assert_error(client.get(f"{family}/2-999999999"), 404, "OBJECT_NOT_FOUND")


@pytest.mark.parametrize("family", SCHEMA_FAMILIES)
def test_list_returns_live_schemas_and_archived_ones_on_request(client: TestClient, family: str) -> None:
    cars = create_schema(client, family)
    boats = create_schema(client, family, name="boats", labels={"singular": "Boat", "plural": "Boats"})
    assert client.delete(f"{family}/{boats['objectTypeId']}").status_code == 204
    live = client.get(family)
    assert live.status_code == 200
    assert [s["objectTypeId"] for s in live.json()["results"]] == [cars["objectTypeId"]]
    archived = client.get(family, params={"archived": "true"}).json()["results"]
    assert [(s["objectTypeId"], s["archived"]) for s in archived] == [(boats["objectTypeId"], True)]


def test_batch_read_returns_the_named_schemas(client: TestClient) -> None:
    cars = create_schema(client)
    body = {"inputs": ["p_cars", "p_nothing"], "includePropertyDefinitions": True}
    response = client.post(f"{V3_SCHEMAS}/batch/read", json=body)
    assert response.status_code == 200, response.text
    assert [s["objectTypeId"] for s in response.json()["results"]] == [cars["objectTypeId"]]


# --- create validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": None}, "name"),
        ({"name": "9cars"}, "name"),
        ({"name": "my-cars"}, "name"),
        ({"labels": None}, "labels"),
        ({"labels": {"singular": "Car"}}, "labels.plural"),
        ({"requiredProperties": ["colour"]}, "requiredProperties"),
        ({"primaryDisplayProperty": "colour"}, "primaryDisplayProperty"),
        ({"searchableProperties": ["colour"]}, "searchableProperties"),
        ({"secondaryDisplayProperties": "make"}, "secondaryDisplayProperties"),
        ({"associatedObjects": ["SPACESHIP"]}, "objectType"),
    ],
)
def test_invalid_create_answers_400_and_creates_nothing(client: TestClient, change: dict, field: str) -> None:
    egg = {k: v for k, v in car_egg(**change).items() if v is not None}
    body = assert_error(client.post(V3_SCHEMAS, json=egg), 400, "VALIDATION_ERROR")
    assert field in body.get("context", {}) or field in body["message"], body
    assert client.get(V3_SCHEMAS).json()["results"] == []


def test_invalid_property_definition_answers_400(client: TestClient) -> None:
    egg = car_egg(properties=[{"name": "model", "label": "Model", "type": "string", "fieldType": "select"}])
    assert_error(client.post(V3_SCHEMAS, json=egg), 400, "VALIDATION_ERROR")


def test_more_than_ten_unique_properties_answers_400(client: TestClient) -> None:
    keys = [{"name": f"key_{i}", "label": f"Key {i}", "hasUniqueValue": True} for i in range(11)]
    egg = car_egg(properties=[{"name": "model", "label": "Model"}, *keys])
    body = assert_error(client.post(V3_SCHEMAS, json=egg), 400, "VALIDATION_ERROR")
    assert "10" in body["message"]


def test_duplicate_name_answers_409_in_any_letter_case(client: TestClient) -> None:
    create_schema(client)
    body = assert_error(client.post(V3_SCHEMAS, json=car_egg("CARS")), 409, "OBJECT_ALREADY_EXISTS")
    assert "cars" in body["message"]


def test_archived_name_stays_taken_until_hard_delete(client: TestClient) -> None:
    schema = create_schema(client)
    type_id = schema["objectTypeId"]
    assert client.delete(f"{V3_SCHEMAS}/{type_id}").status_code == 204
    body = assert_error(client.post(V3_SCHEMAS, json=car_egg()), 409, "OBJECT_ALREADY_EXISTS")
    assert "archived=true" in body["message"]
    assert client.delete(f"{V3_SCHEMAS}/{type_id}", params={"archived": "true"}).status_code == 204
    assert client.get(V3_SCHEMAS, params={"archived": "true"}).json()["results"] == []
    assert create_schema(client)["objectTypeId"] != type_id


def test_hard_delete_of_a_live_schema_answers_404(client: TestClient) -> None:
    schema = create_schema(client)
    response = client.delete(f"{V3_SCHEMAS}/{schema['objectTypeId']}", params={"archived": "true"})
    assert_error(response, 404, "OBJECT_NOT_FOUND")
    assert client.get(f"{V3_SCHEMAS}/p_cars").status_code == 200


# --- update ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", SCHEMA_FAMILIES)
def test_patch_changes_display_settings_and_answers_the_type_definition(client: TestClient, family: str) -> None:
    schema = create_schema(client, family)
    patch = {
        "requiredProperties": ["model", "year"],
        "searchableProperties": ["vin"],
        "primaryDisplayProperty": "vin",
        "secondaryDisplayProperties": ["year"],
        "description": "All cars.",
        "labels": {"plural": "Automobiles"},
    }
    response = client.patch(f"{family}/p_cars", json=patch)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert "properties" not in updated and updated["objectTypeId"] == schema["objectTypeId"]
    assert updated["labels"] == {"singular": "Car", "plural": "Automobiles"}
    for key in ("requiredProperties", "searchableProperties", "primaryDisplayProperty", "description"):
        assert updated[key] == patch[key]
    assert client.get(f"{family}/p_cars").json()["requiredProperties"] == ["model", "year"]
    # The new required property is enforced on record creation right away.
    missing = client.post(f"{V3}/p_cars", json={"properties": {"model": "Frontier"}})
    assert_error(missing, 400, "VALIDATION_ERROR")
    assert "year" in missing.json()["message"]


def test_patch_naming_unknown_properties_answers_400(client: TestClient) -> None:
    create_schema(client)
    for patch in ({"requiredProperties": ["colour"]}, {"primaryDisplayProperty": "colour"}):
        assert_error(client.patch(f"{V3_SCHEMAS}/p_cars", json=patch), 400, "VALIDATION_ERROR")
    assert client.get(f"{V3_SCHEMAS}/p_cars").json()["requiredProperties"] == ["model"]


def test_patch_clear_description(client: TestClient) -> None:
    create_schema(client)
    response = client.patch(f"{V3_SCHEMAS}/p_cars", json={"clearDescription": True})
    assert response.status_code == 200 and "description" not in response.json()


def test_patch_and_delete_of_unknown_schema_answer_404(client: TestClient) -> None:
    assert_error(client.patch(f"{V3_SCHEMAS}/p_nothing", json={"description": "x"}), 404, "OBJECT_NOT_FOUND")
    assert_error(client.delete(f"{V3_SCHEMAS}/p_nothing"), 404, "OBJECT_NOT_FOUND")


# --- delete ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", SCHEMA_FAMILIES)
def test_delete_is_refused_while_records_exist(client: TestClient, family: str) -> None:
    schema = create_schema(client, family)
    created = client.post(f"{V3}/p_cars", json={"properties": {"model": "Frontier"}})
    assert created.status_code == 201, created.text
    body = assert_error(client.delete(f"{family}/p_cars"), 409, "CONFLICT")
    assert "records" in body["message"]
    assert client.get(f"{family}/p_cars").status_code == 200
    assert client.delete(f"{V3}/p_cars/{created.json()['id']}").status_code == 204
    assert client.delete(f"{family}/p_cars").status_code == 204
    assert_error(client.get(f"{family}/{schema['objectTypeId']}"), 404, "OBJECT_NOT_FOUND")
    # The archived type is gone from the records API too.
    assert_error(client.get(f"{V3}/{schema['objectTypeId']}/1"), 400, "VALIDATION_ERROR")


# --- schema associations ---------------------------------------------------------------------------


@pytest.mark.parametrize("family", SCHEMA_FAMILIES)
def test_create_and_delete_an_association_definition(client: TestClient, family: str) -> None:
    schema = create_schema(client, family)
    type_id = schema["objectTypeId"]
    body = {"fromObjectTypeId": type_id, "toObjectTypeId": "ticket", "name": "car_to_ticket"}
    response = client.post(f"{family}/p_cars/associations", json=body)
    assert response.status_code == 201, response.text
    definition = response.json()
    assert definition["fromObjectTypeId"] == type_id and definition["toObjectTypeId"] == "0-5"
    assert definition["name"] == "car_to_ticket" and definition["id"].isdigit()
    listed = client.get(f"{family}/{type_id}").json()["associations"]
    assert definition["id"] in {a["id"] for a in listed}
    duplicate = client.post(f"{family}/p_cars/associations", json=body)
    assert_error(duplicate, 409, "OBJECT_ALREADY_EXISTS")
    assert client.delete(f"{family}/p_cars/associations/{definition['id']}").status_code == 204
    remaining = client.get(f"{family}/{type_id}").json()["associations"]
    assert [a["toObjectTypeId"] for a in remaining] == ["0-1"]
    assert_error(client.delete(f"{family}/p_cars/associations/{definition['id']}"), 404, "OBJECT_NOT_FOUND")


def test_association_between_two_custom_objects(client: TestClient) -> None:
    cars = create_schema(client)
    owners = create_schema(client, name="owners", labels={"singular": "Owner", "plural": "Owners"})
    body = {"fromObjectTypeId": owners["objectTypeId"], "toObjectTypeId": cars["objectTypeId"]}
    response = client.post(f"{V3_SCHEMAS}/p_owners/associations", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["toObjectTypeId"] == cars["objectTypeId"]
    assert response.json()["name"] == f"owners_to_{cars['fullyQualifiedName']}"


def test_association_from_another_type_answers_400(client: TestClient) -> None:
    create_schema(client)
    body = {"fromObjectTypeId": "0-1", "toObjectTypeId": "0-5"}
    assert_error(client.post(f"{V3_SCHEMAS}/p_cars/associations", json=body), 400, "VALIDATION_ERROR")
    body = {"fromObjectTypeId": "p_cars", "toObjectTypeId": "spaceships"}
    assert_error(client.post(f"{V3_SCHEMAS}/p_cars/associations", json=body), 400, "VALIDATION_ERROR")


# --- custom types in the records API ---------------------------------------------------------------


@pytest.mark.parametrize("family", [V3, DATED])
def test_records_resolve_by_all_three_names_and_not_by_bare_name(client: TestClient, family: str) -> None:
    schema = create_schema(client)
    created = client.post(f"{family}/p_cars", json={"properties": {"model": "Frontier", "vin": "VIN-1"}})
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    for name in (schema["objectTypeId"], "p_cars", schema["fullyQualifiedName"]):
        response = client.get(f"{family}/{name}/{record_id}", params={"properties": "model"})
        assert response.status_code == 200, response.text
        assert response.json()["properties"]["model"] == "Frontier"
    body = assert_error(client.get(f"{family}/cars/{record_id}"), 400, "VALIDATION_ERROR")
    assert body["message"] == "Unable to infer object type from: cars"


def test_default_read_properties_and_required_property(client: TestClient) -> None:
    create_schema(client)
    missing = client.post(f"{V3}/p_cars", json={"properties": {"make": "Nissan"}})
    assert_error(missing, 400, "VALIDATION_ERROR")
    assert "REQUIRED_PROPERTY" in missing.text and "model" in missing.text
    record = client.post(f"{V3}/p_cars", json={"properties": {"model": "Frontier"}}).json()
    read = client.get(f"{V3}/p_cars/{record['id']}").json()
    assert set(read["properties"]) == {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}


@pytest.mark.parametrize("family", [V3, DATED])
def test_batch_upsert_create_read_and_list_on_a_custom_type(client: TestClient, family: str) -> None:
    schema = create_schema(client)
    type_id = schema["objectTypeId"]
    inputs = [
        {"id": f"VIN-{i}", "idProperty": "vin", "properties": {"model": f"Model {i}", "year": 2000 + i}}
        for i in range(3)
    ]
    first = client.post(f"{family}/p_cars/batch/upsert", json={"inputs": inputs})
    assert first.status_code == 200, first.text
    assert [r["new"] for r in first.json()["results"]] == [True, True, True]
    inputs[0]["properties"] = {"model": "Renamed"}
    second = client.post(f"{family}/{type_id}/batch/upsert", json={"inputs": inputs[:1]})
    assert second.status_code == 200, second.text
    assert second.json()["results"][0]["new"] is False
    assert second.json()["results"][0]["id"] == first.json()["results"][0]["id"]
    created = client.post(
        f"{family}/{schema['fullyQualifiedName']}/batch/create",
        json={"inputs": [{"properties": {"model": "Other", "vin": "VIN-9"}}]},
    )
    assert created.status_code == 201, created.text
    read = client.post(
        f"{family}/p_cars/batch/read",
        json={"idProperty": "vin", "properties": ["model"], "inputs": [{"id": "VIN-0"}, {"id": "VIN-9"}]},
    )
    assert read.status_code == 200, read.text
    assert sorted(r["properties"]["model"] for r in read.json()["results"]) == ["Other", "Renamed"]
    listed = client.get(f"{family}/p_cars", params={"limit": 10, "properties": "vin"})
    assert listed.status_code == 200, listed.text
    assert sorted(r["properties"]["vin"] for r in listed.json()["results"]) == ["VIN-0", "VIN-1", "VIN-2", "VIN-9"]


def test_unique_property_of_a_custom_type_is_enforced(client: TestClient) -> None:
    create_schema(client)
    assert client.post(f"{V3}/p_cars", json={"properties": {"model": "A", "vin": "SAME"}}).status_code == 201
    duplicate = client.post(f"{V3}/p_cars", json={"properties": {"model": "B", "vin": "SAME"}})
    assert duplicate.status_code in (400, 409), duplicate.text


def test_properties_api_serves_a_custom_type(client: TestClient) -> None:
    create_schema(client)
    body = {"name": "colour", "label": "Colour", "type": "string", "fieldType": "text", "groupName": "cars_information"}
    assert client.post("/crm/v3/properties/p_cars", json=body).status_code == 201
    names = {p["name"] for p in client.get("/crm/v3/properties/p_cars").json()["results"]}
    assert {"colour", "vin", "hs_object_id"} <= names
    assert client.patch(f"{V3_SCHEMAS}/p_cars", json={"secondaryDisplayProperties": ["colour"]}).status_code == 200


def test_schema_association_type_links_custom_records_to_contacts(client: TestClient) -> None:
    """The association type a schema defines is usable inline on create and reads from both ends."""
    schema = create_schema(client)
    [association] = schema["associations"]
    assert int(association["id"]) >= 2000  # above every HubSpot-defined association type id
    contact_id = create_contact(client)
    spec = {"associationCategory": "USER_DEFINED", "associationTypeId": int(association["id"])}
    body = {"properties": {"model": "Frontier"}, "associations": [{"to": {"id": contact_id}, "types": [spec]}]}
    created = client.post(f"{V3}/p_cars", json=body)
    assert created.status_code == 201, created.text
    car = client.get(f"{V3}/p_cars/{created.json()['id']}", params={"associations": "contacts"}).json()
    assert car["associations"]["contacts"]["results"] == [{"id": contact_id, "type": "cars_to_contact"}]
    contact = client.get(f"{V3}/contacts/{contact_id}", params={"associations": "p_cars"}).json()
    [linked] = contact["associations"][schema["fullyQualifiedName"]]["results"]
    assert linked["id"] == created.json()["id"]


def test_search_on_a_custom_type_by_unique_property_and_searchable_text(client: TestClient) -> None:
    create_schema(client)
    for vin, model in (("VIN-A", "Frontier"), ("VIN-B", "Leaf")):
        assert client.post(f"{V3}/p_cars", json={"properties": {"model": model, "vin": vin}}).status_code == 201
    by_key = {"filterGroups": [{"filters": [{"propertyName": "vin", "operator": "EQ", "value": "VIN-B"}]}]}
    response = client.post(f"{V3}/p_cars/search", json={**by_key, "properties": ["model"]})
    assert response.status_code == 200, response.text
    assert [r["properties"]["model"] for r in response.json()["results"]] == ["Leaf"]
    # `query` searches the schema's searchableProperties (model is one of them).
    text = client.post(f"{DATED}/p_cars/search", json={"query": "frontier", "properties": ["vin"]})
    assert text.status_code == 200, text.text
    assert [r["properties"]["vin"] for r in text.json()["results"]] == ["VIN-A"]


def test_v4_default_association_of_a_custom_type_is_its_schema_association(client: TestClient) -> None:
    schema = create_schema(client)
    [definition] = schema["associations"]
    car_id = client.post(f"{V3}/p_cars", json={"properties": {"model": "Leaf"}}).json()["id"]
    contact_id = create_contact(client)
    linked = client.put(f"/crm/v4/objects/p_cars/{car_id}/associations/default/contacts/{contact_id}")
    assert linked.status_code == 200, linked.text
    listed = client.get(f"/crm/v4/objects/p_cars/{car_id}/associations/contacts")
    assert listed.status_code == 200, listed.text
    [result] = listed.json()["results"]
    assert str(result["toObjectId"]) == contact_id
    assert {t["typeId"] for t in result["associationTypes"]} == {int(definition["id"])}
