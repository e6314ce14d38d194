"""Batch create: 201, inline associations readable from both ends, and the errors of bad inputs."""

from __future__ import annotations

import pytest

from tests.http.support import FAMILIES, V3, assert_error, create_contact, read, task

TO_CONTACT = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}


def to_contact(contact_id: str | int, type_spec: dict | None = None) -> dict:
    return {"to": {"id": contact_id}, "types": [type_spec or TO_CONTACT]}


def create_tasks(client, inputs, family=V3):  # noqa: ANN001, ANN201
    return client.post(f"{family}/tasks/batch/create", json={"inputs": inputs})


@pytest.mark.parametrize("family", FAMILIES)
def test_batch_create_answers_201_with_the_records(client, family):
    response = create_tasks(
        client, [{"properties": task("one")}, {"properties": task("two"), "associations": []}], family
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "COMPLETE"
    results = body["results"]
    assert [r["properties"]["hs_task_subject"] for r in results] == ["one", "two"]
    assert "new" not in results[0]
    assert len({r["id"] for r in results}) == 2
    for r in results:
        stored = read(client, "tasks", r["id"], properties="hs_task_subject")
        assert stored.status_code == 200
        assert stored.json()["properties"]["hs_task_subject"] == r["properties"]["hs_task_subject"]


def test_inline_association_reads_from_both_ends(client):
    contact_id = create_contact(client)
    response = create_tasks(client, [{"properties": task("call back"), "associations": [to_contact(contact_id)]}])
    assert response.status_code == 201, response.text
    task_id = response.json()["results"][0]["id"]

    from_task = read(client, "tasks", task_id, associations="contacts").json()
    assert from_task["associations"] == {"contacts": {"results": [{"id": contact_id, "type": "task_to_contact"}]}}
    from_contact = read(client, "contacts", contact_id, associations="tasks").json()
    assert from_contact["associations"] == {"tasks": {"results": [{"id": task_id, "type": "contact_to_task"}]}}


def test_no_associations_key_without_associations_asked_or_present(client):
    contact_id = create_contact(client)
    plain = read(client, "contacts", contact_id, associations="tasks").json()
    assert "associations" not in plain


def test_string_type_id_and_integer_target_id_are_accepted(client):
    contact_id = create_contact(client)
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": "204"}
    response = create_tasks(client, [{"properties": task("s"), "associations": [to_contact(int(contact_id), spec)]}])
    assert response.status_code == 201, response.text
    task_id = response.json()["results"][0]["id"]
    found = read(client, "tasks", task_id, associations="contacts").json()["associations"]["contacts"]["results"]
    assert found == [{"id": contact_id, "type": "task_to_contact"}]


def test_missing_target_fails_the_batch_and_writes_nothing(client):
    contact_id = create_contact(client)
    inputs = [
        {"properties": task("fine"), "associations": [to_contact(contact_id)]},
        {"properties": task("orphan"), "associations": [to_contact("999999")]},
    ]
    body = assert_error(create_tasks(client, inputs), 400, "VALIDATION_ERROR")
    assert body["message"].startswith("One or more associations are invalid")
    assert body["context"]["toObjectId"] == ["999999"]
    assert "associations" not in read(client, "contacts", contact_id, associations="tasks").json()


def test_missing_target_with_trace_ids_answers_207(client):
    contact_id = create_contact(client)
    inputs = [
        {"properties": task("fine"), "associations": [to_contact(contact_id)], "objectWriteTraceId": "ok"},
        {"properties": task("orphan"), "associations": [to_contact("999999")], "objectWriteTraceId": "orphan"},
    ]
    response = create_tasks(client, inputs)
    assert response.status_code == 207, response.text
    body = response.json()
    assert body["numErrors"] == 1
    assert body["errors"][0]["context"]["objectWriteTraceId"] == ["orphan"]
    assert body["errors"][0]["message"].startswith("One or more associations are invalid")
    [written] = body["results"]
    assert written["objectWriteTraceId"] == "ok"
    linked = read(client, "contacts", contact_id, associations="tasks").json()["associations"]["tasks"]["results"]
    assert [a["id"] for a in linked] == [written["id"]]


def test_wrong_direction_type_id_is_rejected(client):
    contact_id = create_contact(client)
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 203}  # contact -> task
    body = assert_error(
        create_tasks(client, [{"properties": task("s"), "associations": [to_contact(contact_id, spec)]}]),
        400,
        "VALIDATION_ERROR",
    )
    assert body["message"] == "invalid from object type 0-27 for associations to be created. expected: 0-1"


@pytest.mark.parametrize(
    "spec",
    [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 987654},
        {"associationCategory": "USER_DEFINED", "associationTypeId": 204},
        {"associationCategory": "NOT_A_CATEGORY", "associationTypeId": 204},
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": "abc"},
    ],
)
def test_unknown_association_types_are_rejected(client, spec):
    contact_id = create_contact(client)
    inputs = [{"properties": task("s"), "associations": [to_contact(contact_id, spec)]}]
    assert_error(create_tasks(client, inputs), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "association",
    [
        {"to": {"id": "abc"}, "types": [TO_CONTACT]},
        {"to": {"id": "99999999999999999999999"}, "types": [TO_CONTACT]},
        {"to": {"id": "²"}, "types": [TO_CONTACT]},
        {"to": {"id": True}, "types": [TO_CONTACT]},
        {"to": {}, "types": [TO_CONTACT]},
        {"to": {"id": "1"}},
        {"to": {"id": "1"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": "²"}]},
        "x",
    ],
)
def test_malformed_associations_are_rejected(client, association):
    assert_error(
        create_tasks(client, [{"properties": task("s"), "associations": [association]}]), 400, "VALIDATION_ERROR"
    )


def test_malformed_association_with_trace_ids_fails_only_its_input(client):
    inputs = [
        {"properties": task("ok"), "objectWriteTraceId": "a"},
        {"properties": task("bad"), "associations": "nope", "objectWriteTraceId": "b"},
    ]
    response = create_tasks(client, inputs)
    assert response.status_code == 207, response.text
    assert [r["objectWriteTraceId"] for r in response.json()["results"]] == ["a"]
    assert response.json()["errors"][0]["context"]["objectWriteTraceId"] == ["b"]


def test_duplicate_contact_email_is_a_conflict(client):
    existing = create_contact(client, "taken@example.com")
    inputs = [{"properties": {"email": "new@example.com"}}, {"properties": {"email": "TAKEN@example.com"}}]
    response = client.post(f"{V3}/contacts/batch/create", json={"inputs": inputs})
    assert_error(response, 409, "CONFLICT", f"Contact already exists. Existing ID: {existing}")
    assert read(client, "contacts", "new@example.com", idProperty="email").status_code == 404


def test_required_hs_timestamp_missing_is_rejected(client):
    response = create_tasks(client, [{"properties": {"hs_task_subject": "no date"}}])
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["errors"] == [
        {
            "message": 'Property "hs_timestamp" is required.',
            "code": "REQUIRED_PROPERTY",
            "context": {"propertyName": ["hs_timestamp"]},
        }
    ]


def test_calls_batch_create_with_contact_association(client):
    contact_id = create_contact(client)
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194}
    inputs = [{"properties": {"hs_timestamp": "1704067200000"}, "associations": [to_contact(contact_id, spec)]}]
    response = client.post(f"{V3}/calls/batch/create", json={"inputs": inputs})
    assert response.status_code == 201, response.text
    call = response.json()["results"][0]
    assert call["properties"]["hs_timestamp"] == "2024-01-01T00:00:00.000Z"
    linked = read(client, "contacts", contact_id, associations="calls").json()["associations"]["calls"]["results"]
    assert linked == [{"id": call["id"], "type": "contact_to_call"}]


def test_batch_create_over_100_inputs_is_rejected(client):
    response = create_tasks(client, [{"properties": task("s")} for _ in range(101)])
    assert_error(response, 400, "VALIDATION_ERROR")
