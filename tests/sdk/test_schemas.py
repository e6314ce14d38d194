"""Custom objects through both Python SDKs: a schema created, then its records batch-upserted by the
schema's unique property (issue 5's "done when"), plus the rest of the schema API each SDK exposes.

hubspot-api-client speaks /crm-object-schemas/v3/schemas and /crm/v3/objects; hubspot-sdk speaks
/crm-object-schemas/2026-03/schemas and /crm/objects/2026-03. The live server is shared, so every
schema has a name of its own.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.sdk


def _property(name: str, label: str, **more):  # noqa: ANN003, ANN202
    from hubspot.crm.schemas import ObjectTypePropertyCreate

    return ObjectTypePropertyCreate(name=name, label=label, type="string", field_type="text", **more)


def _v3_create_schema(v3_client, name: str):  # noqa: ANN001, ANN202
    from hubspot.crm.schemas import ObjectSchemaEgg, ObjectTypeDefinitionLabels

    egg = ObjectSchemaEgg(
        name=name,
        labels=ObjectTypeDefinitionLabels(singular="Car", plural="Cars"),
        primary_display_property="model",
        required_properties=["model"],
        searchable_properties=["model", "vin"],
        secondary_display_properties=["vin"],
        properties=[_property("model", "Model"), _property("vin", "VIN", has_unique_value=True)],
        associated_objects=["CONTACT"],
    )
    schema = v3_client.crm.schemas.core_api.create(object_schema_egg=egg)
    assert schema is not None, "schema create must answer 201 (hubspot-api-client returns None on any other 2xx)"
    return schema


def _v3_upsert(v3_client, object_type: str, inputs: list[dict]):  # noqa: ANN001, ANN202
    from hubspot.crm.objects import BatchInputSimplePublicObjectBatchInputUpsert, SimplePublicObjectBatchInputUpsert

    result = v3_client.crm.objects.batch_api.upsert(
        object_type=object_type,
        batch_input_simple_public_object_batch_input_upsert=BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[SimplePublicObjectBatchInputUpsert(**i) for i in inputs]
        ),
    )
    assert result is not None, "batch upsert must answer 200"
    return result


def test_v3_custom_object_created_then_batch_upserted_by_its_unique_property(v3_client, unique):
    schema = _v3_create_schema(v3_client, f"cars_{unique}")
    assert schema.object_type_id.startswith("2-")
    assert schema.fully_qualified_name.endswith(f"_cars_{unique}")
    assert {p.name for p in schema.properties} >= {"model", "vin", "hs_object_id"}
    assert [a.to_object_type_id for a in schema.associations] == ["0-1"]
    inputs = [{"id": f"VIN-{i}", "id_property": "vin", "properties": {"model": f"Model {i}"}} for i in range(2)]
    created = _v3_upsert(v3_client, schema.object_type_id, inputs)
    assert [r.new for r in created.results] == [True, True]
    assert [r.properties["vin"] for r in created.results] == ["VIN-0", "VIN-1"]
    inputs[0]["properties"] = {"model": "Renamed"}
    updated = _v3_upsert(v3_client, f"p_cars_{unique}", inputs[:1])
    assert updated.results[0].new is False
    assert updated.results[0].id == created.results[0].id
    assert updated.results[0].properties["model"] == "Renamed"


def test_v3_schema_get_list_update_associations_and_delete(v3_client, unique):
    from hubspot.crm.schemas import AssociationDefinitionEgg, ObjectTypeDefinitionPatch

    schema = _v3_create_schema(v3_client, f"boats_{unique}")
    api = v3_client.crm.schemas.core_api
    fetched = api.get_by_id(object_type=schema.fully_qualified_name)
    assert fetched.object_type_id == schema.object_type_id
    assert schema.object_type_id in {s.object_type_id for s in api.get_all().results}
    patched = api.update(
        object_type=schema.object_type_id,
        object_type_definition_patch=ObjectTypeDefinitionPatch(required_properties=["model", "vin"]),
    )
    assert patched is not None and patched.required_properties == ["model", "vin"]
    egg = AssociationDefinitionEgg(
        from_object_type_id=schema.object_type_id, to_object_type_id="ticket", name="boat_ticket"
    )
    association = api.create_association(object_type=schema.object_type_id, association_definition_egg=egg)
    assert association is not None, "association create must answer 201"
    assert association.to_object_type_id == "0-5"
    api.archive_association(object_type=schema.object_type_id, association_identifier=association.id)
    api.archive(object_type=schema.object_type_id)
    archived = api.get_all(archived=True).results
    assert schema.object_type_id in {s.object_type_id for s in archived}


def test_sdk_custom_object_created_then_batch_upserted_on_2026_03_paths(sdk_client, unique):
    schema = sdk_client.crm.object_schemas.create(
        name=f"planes_{unique}",
        labels={"singular": "Plane", "plural": "Planes"},
        allows_sensitive_properties=False,
        associated_objects=["COMPANY"],
        primary_display_property="tail",
        required_properties=["tail"],
        searchable_properties=["tail"],
        secondary_display_properties=[],
        properties=[
            {"name": "tail", "label": "Tail number", "type": "string", "field_type": "text", "has_unique_value": True},
            {"name": "seats", "label": "Seats", "type": "number", "field_type": "number"},
        ],
    )
    assert schema.object_type_id.startswith("2-") and schema.archived is False
    assert [a.to_object_type_id for a in schema.associations] == ["0-2"]
    batch = sdk_client.crm.objects.generic_objects.batch
    inputs = [{"id": f"N{i}", "id_property": "tail", "properties": {"seats": str(100 + i)}} for i in range(2)]
    created = batch.upsert(schema.object_type_id, inputs=inputs)
    assert [r.new for r in created.results] == [True, True]
    again = batch.upsert(schema.fully_qualified_name, inputs=[{**inputs[0], "properties": {"seats": "7"}}])
    assert again.results[0].new is False and again.results[0].id == created.results[0].id
    assert again.results[0].properties["seats"] == "7"


def test_sdk_schema_get_update_list_and_delete_on_2026_03_paths(sdk_client, unique):
    schemas = sdk_client.crm.object_schemas
    schema = schemas.create(
        name=f"trains_{unique}",
        labels={"singular": "Train", "plural": "Trains"},
        allows_sensitive_properties=False,
        associated_objects=[],
        required_properties=[],
        searchable_properties=[],
        secondary_display_properties=[],
        properties=[{"name": "line", "label": "Line", "type": "string", "field_type": "text"}],
    )
    assert schemas.get(f"p_trains_{unique}").object_type_id == schema.object_type_id
    updated = schemas.update(schema.object_type_id, clear_description=False, description="Rolling stock")
    assert updated.description == "Rolling stock" and updated.fully_qualified_name == schema.fully_qualified_name
    association = schemas.create_association(
        schema.object_type_id, from_object_type_id=schema.object_type_id, to_object_type_id="0-1"
    )
    assert association.from_object_type_id == schema.object_type_id and association.to_object_type_id == "0-1"
    schemas.delete_association(association.id, object_type=schema.object_type_id)
    assert schema.object_type_id in {s.object_type_id for s in schemas.list().results}
    schemas.delete(schema.object_type_id)
    assert schema.object_type_id not in {s.object_type_id for s in schemas.list().results}
