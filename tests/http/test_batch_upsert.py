"""Batch upsert: matching on a unique property, `new`, all-or-nothing vs 207, and HubSpot's 400s."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import make_unique_property
from tests.http.support import (
    DATED,
    FAMILIES,
    TASK_KEY,
    V3,
    assert_error,
    call_props,
    read_by_key,
    task,
    task_key_property,
    upsert,
    upsert_input,
)


@pytest.mark.parametrize("family", FAMILIES)
def test_upsert_creates_then_updates_the_same_records(client, family):
    task_key_property(client)
    first = upsert(client, "tasks", [upsert_input("k-1", task("one")), upsert_input("k-2", task("two"))], family)
    assert first.status_code == 200, first.text
    created = first.json()
    assert created["status"] == "COMPLETE"
    assert [r["new"] for r in created["results"]] == [True, True]
    assert {"startedAt", "completedAt", "requestedAt", "links"} <= created.keys()
    assert "numErrors" not in created
    time.sleep(0.01)  # updatedAt has millisecond resolution

    second = upsert(
        client, "tasks", [upsert_input("k-1", task("one, again")), upsert_input("k-2", task("two"))], family
    )
    assert second.status_code == 200, second.text
    updated = second.json()["results"]
    assert [r["new"] for r in updated] == [False, False]
    for before, after in zip(created["results"], updated, strict=True):
        assert after["id"] == before["id"]
        assert after["createdAt"] == before["createdAt"]
        assert after["updatedAt"] > before["updatedAt"]
        assert after["properties"][TASK_KEY] == before["properties"][TASK_KEY]
        assert after["url"].endswith(f"/record/0-27/{before['id']}")
    assert updated[0]["properties"]["hs_task_subject"] == "one, again"
    stored = read_by_key(client, "k-1", properties="hs_task_subject").json()
    assert stored["id"] == created["results"][0]["id"]
    assert stored["properties"]["hs_task_subject"] == "one, again"


def test_upsert_stores_the_key_on_the_created_record(client):
    task_key_property(client)
    result = upsert(client, "tasks", [upsert_input("key-42", task("keyed"))]).json()["results"][0]
    assert result["properties"][TASK_KEY] == "key-42"
    assert result["properties"]["hs_object_id"] == result["id"]
    stored = client.get(f"{V3}/tasks/{result['id']}", params={"properties": TASK_KEY}).json()
    assert stored["properties"][TASK_KEY] == "key-42"


def test_upsert_answers_with_all_properties_and_echoes_trace_ids(client):
    task_key_property(client)
    body = upsert(client, "tasks", [upsert_input("k", task("s", hs_task_status="WAITING"), trace="t-1")]).json()
    result = body["results"][0]
    assert result["objectWriteTraceId"] == "t-1"
    assert result["archived"] is False
    expected = {"hs_task_subject", "hs_timestamp", "hs_task_status", TASK_KEY, "hs_object_id", "hs_createdate"}
    assert expected <= result["properties"].keys()
    assert result["properties"]["hs_timestamp"] == "2024-01-01T00:00:00.000Z"


def test_an_update_answers_with_its_record_s_own_times(client):
    """The answer's system values are the record's: created when it was created, modified now."""
    task_key_property(client)
    created = upsert(client, "tasks", [upsert_input("k", task("first"))]).json()["results"][0]
    time.sleep(0.005)  # a later millisecond
    updated = upsert(client, "tasks", [upsert_input("k", task("second"))]).json()["results"][0]
    assert updated["new"] is False and updated["id"] == created["id"]
    assert updated["createdAt"] == updated["properties"]["hs_createdate"] == created["createdAt"]
    assert updated["updatedAt"] == updated["properties"]["hs_lastmodifieddate"] > created["updatedAt"]
    assert updated["properties"]["hs_object_id"] == updated["id"]


def test_upsert_of_0_27_on_the_dated_path(client):
    task_key_property(client)
    response = upsert(client, "0-27", [upsert_input("x", task("by id"))], DATED)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["new"] is True


def test_contacts_upsert_by_email_is_case_insensitive_and_stores_lower_case(client):
    inputs = [{"id": "Jane.Doe@Example.COM", "idProperty": "email", "properties": {"firstname": "Jane"}}]
    created = upsert(client, "contacts", inputs).json()["results"][0]
    assert created["new"] is True
    assert created["properties"]["email"] == "jane.doe@example.com"

    again = [{"id": "JANE.DOE@example.com", "idProperty": "email", "properties": {"lastname": "Doe"}}]
    updated = upsert(client, "contacts", again).json()["results"][0]
    assert updated["new"] is False
    assert updated["id"] == created["id"]
    stored = client.get(f"{V3}/contacts/jane.doe@EXAMPLE.com", params={"idProperty": "email"}).json()
    assert stored["id"] == created["id"]
    assert stored["properties"]["email"] == "jane.doe@example.com"
    assert (stored["properties"]["firstname"], stored["properties"]["lastname"]) == ("Jane", "Doe")


def test_non_unique_id_property_is_rejected(client):
    response = upsert(client, "tasks", [upsert_input("subject", task("s"), id_property="hs_task_subject")])
    message = "Unable to perform update/upsert by non-unique 0-27 property hs_task_subject"
    assert_error(response, 400, "VALIDATION_ERROR", message)


def test_hs_object_id_is_not_an_id_property(client):
    response = upsert(client, "tasks", [upsert_input("1", task("s"), id_property="hs_object_id")])
    assert_error(
        response, 400, "VALIDATION_ERROR", "Unable to perform update/upsert by non-unique 0-27 property hs_object_id"
    )


def test_unknown_id_property_is_rejected_as_non_unique(client):
    response = upsert(client, "calls", [upsert_input("1", call_props("c"), id_property="no_such_prop")])
    assert_error(
        response, 400, "VALIDATION_ERROR", "Unable to perform update/upsert by non-unique 0-48 property no_such_prop"
    )


def test_missing_id_property_is_rejected(client):
    response = upsert(client, "tasks", [{"id": "k", "properties": task("s")}])
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert "idProperty is required for batch upsert" in body["message"]


def test_missing_id_is_rejected(client):
    task_key_property(client)
    response = upsert(client, "tasks", [{"idProperty": TASK_KEY, "properties": task("s")}])
    assert_error(response, 400, "VALIDATION_ERROR")


def test_more_than_100_inputs_is_rejected(client):
    task_key_property(client)
    response = upsert(client, "tasks", [upsert_input(f"k{i}", task("s")) for i in range(101)])
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert "The maximum number of inputs supported in a batch request is 100" in body["message"]
    assert read_by_key(client, "k0").status_code == 404


def test_exactly_100_inputs_are_accepted(client):
    task_key_property(client)
    response = upsert(client, "tasks", [upsert_input(f"k{i}", task("s")) for i in range(100)])
    assert response.status_code == 200, response.text
    assert len(response.json()["results"]) == 100


@pytest.mark.parametrize("with_traces", [False, True])
def test_duplicate_ids_are_rejected_whole(client, with_traces):
    task_key_property(client)
    inputs = [upsert_input(k, task("s")) for k in ("a", "dup", "b", "dup")]
    if with_traces:
        for index, item in enumerate(inputs):
            item["objectWriteTraceId"] = f"t{index}"
    response = upsert(client, "tasks", inputs)
    message = "Duplicate IDs found in batch input: [dup]. IDs must be unique"
    body = assert_error(response, 400, "VALIDATION_ERROR", message)
    assert body["context"] == {"ids": ["dup"]}
    assert read_by_key(client, "a").status_code == 404


def test_duplicate_emails_differing_in_case_are_duplicates(client):
    inputs = [{"id": e, "idProperty": "email", "properties": {}} for e in ("a@example.com", "A@Example.com")]
    body = assert_error(upsert(client, "contacts", inputs), 400, "VALIDATION_ERROR")
    assert body["message"].startswith("Duplicate IDs found in batch input: [")
    assert len(body["context"]["ids"]) == 1


def test_two_keys_naming_one_record_are_duplicates(client):
    task_key_property(client)
    task_key_property(client, "other_key")
    first = upsert(client, "tasks", [upsert_input("a", task("s", other_key="b"))]).json()["results"][0]
    inputs = [upsert_input("a", task("s")), upsert_input("b", task("s"), id_property="other_key")]
    body = assert_error(upsert(client, "tasks", inputs), 400, "VALIDATION_ERROR")
    assert body["message"].startswith("Duplicate IDs found in batch input")
    assert body["context"]["ids"]
    assert read_by_key(client, "a", properties="hs_task_subject").json()["id"] == first["id"]


def test_one_bad_value_without_trace_ids_writes_nothing(client, portal_id):
    make_unique_property(client, "calls", "call_key", "callinformation")
    inputs = [
        upsert_input("good", call_props("ok", hs_call_status="COMPLETED"), "call_key"),
        upsert_input("bad", call_props("nope", hs_call_status="NOT_A_STATUS"), "call_key"),
    ]
    body = assert_error(upsert(client, "calls", inputs), 400, "VALIDATION_ERROR")
    assert body["message"].startswith("Property values were not valid: ")
    entries = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert [(e["name"], e["error"], e["isValid"]) for e in entries] == [("hs_call_status", "INVALID_OPTION", False)]
    assert entries[0]["portalId"] == portal_id
    assert body["errors"] == [
        {"message": entries[0]["message"], "code": "INVALID_OPTION", "context": {"propertyName": ["hs_call_status"]}}
    ]
    for key in ("good", "bad"):
        assert read_call(client, key).status_code == 404


def read_call(client, key):  # noqa: ANN001, ANN201
    return client.get(f"{V3}/calls/{key}", params={"idProperty": "call_key", "properties": "hs_call_status"})


def test_with_trace_ids_valid_inputs_are_written_and_failures_answer_207(client):
    make_unique_property(client, "calls", "call_key", "callinformation")
    inputs = [
        upsert_input("good-1", call_props("ok", hs_call_status="COMPLETED"), "call_key", trace="t-good-1"),
        upsert_input("bad", call_props("nope", hs_call_status="NOT_A_STATUS"), "call_key", trace="t-bad"),
        upsert_input("good-2", call_props("ok", hs_call_duration="x"), "call_key", trace="t-bad-2"),
        upsert_input("good-3", call_props("ok"), "call_key", trace="t-good-3"),
    ]
    response = upsert(client, "calls", inputs)
    assert response.status_code == 207, response.text
    body = response.json()
    assert body["status"] == "COMPLETE"
    assert [r["objectWriteTraceId"] for r in body["results"]] == ["t-good-1", "t-good-3"]
    assert body["numErrors"] == 2
    errors = body["errors"]
    assert [e["context"]["objectWriteTraceId"] for e in errors] == [["t-bad"], ["t-bad-2"]]
    assert all(e["status"] == "error" and e["category"] == "VALIDATION_ERROR" for e in errors)
    assert errors[0]["message"].startswith("Property values were not valid: ")
    assert errors[1]["errors"][0]["code"] == "INVALID_LONG"
    assert read_call(client, "good-1").json()["properties"]["hs_call_status"] == "COMPLETED"
    assert read_call(client, "good-3").status_code == 200
    assert read_call(client, "bad").status_code == 404
    assert read_call(client, "good-2").status_code == 404


def test_trace_ids_on_only_some_inputs_keep_the_batch_all_or_nothing(client):
    task_key_property(client)
    inputs = [upsert_input("ok", task("s"), trace="t"), upsert_input("bad", task("s", hs_task_status="NOPE"))]
    assert_error(upsert(client, "tasks", inputs), 400, "VALIDATION_ERROR")
    assert read_by_key(client, "ok").status_code == 404


def test_every_bad_value_of_a_batch_is_reported_at_once(client):
    task_key_property(client)
    inputs = [
        upsert_input("a", task("s", hs_task_status="NOPE", no_such_property="x")),
        upsert_input("b", task("s", hs_timestamp="not a date", hs_object_id="5")),
        upsert_input("c", task("s", hs_task_priority="HIGH")),
    ]
    body = assert_error(upsert(client, "tasks", inputs), 400, "VALIDATION_ERROR")
    entries = json.loads(body["message"].removeprefix("Property values were not valid: "))
    reported = [(e["name"], e["error"]) for e in entries]
    assert reported == [
        ("hs_task_status", "INVALID_OPTION"),
        ("no_such_property", "PROPERTY_DOESNT_EXIST"),
        ("hs_timestamp", "INVALID_LONG"),
        ("hs_object_id", "READ_ONLY_VALUE"),
    ]
    assert [(e["context"]["propertyName"][0], e["code"]) for e in body["errors"]] == reported
    assert read_by_key(client, "c").status_code == 404


def test_a_value_of_a_second_unique_property_held_by_another_record_conflicts(client):
    task_key_property(client)
    task_key_property(client, "second_key")
    holder = upsert(client, "tasks", [upsert_input("a", task("s", second_key="taken"))]).json()["results"][0]
    response = upsert(client, "tasks", [upsert_input("b", task("s", second_key="taken"))])
    body = assert_error(response, 409, "CONFLICT")
    assert f"Existing ID: {holder['id']}" in body["message"]
    assert read_by_key(client, "b").status_code == 404

    with_traces = [
        upsert_input("b", task("s", second_key="taken"), trace="t-b"),
        upsert_input("c", task("s", second_key="free"), trace="t-c"),
    ]
    partial = upsert(client, "tasks", with_traces)
    assert partial.status_code == 207, partial.text
    assert [e["category"] for e in partial.json()["errors"]] == ["CONFLICT"]
    assert partial.json()["errors"][0]["context"]["objectWriteTraceId"] == ["t-b"]
    assert read_by_key(client, "c").status_code == 200


def test_a_unique_value_may_move_between_records_by_clearing_it_first(client):
    task_key_property(client)
    task_key_property(client, "second_key")
    upsert(client, "tasks", [upsert_input("a", task("s", second_key="v"))])
    cleared = upsert(client, "tasks", [upsert_input("a", task("s", second_key=""))])
    assert cleared.status_code == 200, cleared.text
    assert "second_key" not in cleared.json()["results"][0]["properties"]
    moved = upsert(client, "tasks", [upsert_input("b", task("s", second_key="v"))])
    assert moved.status_code == 200, moved.text
    found = client.get(f"{V3}/tasks/v", params={"idProperty": "second_key"})
    assert found.json()["id"] == moved.json()["results"][0]["id"]


def test_the_same_unique_value_on_two_inputs_is_rejected(client):
    task_key_property(client)
    task_key_property(client, "second_key")
    inputs = [upsert_input("a", task("s", second_key="same")), upsert_input("b", task("s", second_key="same"))]
    assert_error(upsert(client, "tasks", inputs), 400, "VALIDATION_ERROR")
    assert read_by_key(client, "a").status_code == 404


def test_upsert_update_does_not_require_required_properties(client):
    task_key_property(client)
    upsert(client, "tasks", [upsert_input("k", task("s"))])
    response = upsert(client, "tasks", [upsert_input("k", {"hs_task_subject": "renamed"})])
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["properties"]["hs_timestamp"] == "2024-01-01T00:00:00.000Z"


def test_upsert_create_requires_hs_timestamp(client):
    task_key_property(client)
    body = assert_error(upsert(client, "tasks", [upsert_input("k", {"hs_task_subject": "s"})]), 400, "VALIDATION_ERROR")
    assert body["errors"][0]["code"] == "REQUIRED_PROPERTY"
    assert body["errors"][0]["context"] == {"propertyName": ["hs_timestamp"]}


@pytest.mark.parametrize("body", [[], "inputs", {"inputs": {}}, {"inputs": "x"}, {"inputs": [1]}, {}])
def test_wrong_body_shapes_are_400(client, body):
    response = client.post(f"{V3}/tasks/batch/upsert", json=body)
    assert_error(response, 400, "VALIDATION_ERROR")


def test_properties_must_be_an_object(client):
    task_key_property(client)
    response = upsert(client, "tasks", [{"id": "k", "idProperty": TASK_KEY, "properties": ["a"]}])
    assert_error(response, 400, "VALIDATION_ERROR")


def test_unique_values_are_capped_at_1000_characters(client):
    task_key_property(client)
    fits = upsert(client, "tasks", [upsert_input("k" * 1000, task("s"))])
    assert fits.status_code == 200, fits.text
    body = assert_error(upsert(client, "tasks", [upsert_input("k" * 1001, task("s"))]), 400, "VALIDATION_ERROR")
    assert [(e["code"], e["context"]) for e in body["errors"]] == [
        ("INVALID_PROPERTY_VALUE", {"propertyName": [TASK_KEY]})
    ]
    too_long_email = "a" * 995 + "@example.com"
    contact = [{"id": too_long_email, "idProperty": "email", "properties": {}}]
    assert_error(upsert(client, "contacts", contact), 400, "VALIDATION_ERROR")


def test_nul_characters_are_rejected_on_every_backend(client):
    task_key_property(client)
    for item in (upsert_input("k", task("a\u0000b")), upsert_input("a\u0000b", task("s"))):
        body = assert_error(upsert(client, "tasks", [item]), 400, "VALIDATION_ERROR")
        assert body["errors"][0]["code"] == "INVALID_PROPERTY_VALUE"
    assert read_by_key(client, "k").status_code == 404


def test_contacts_upsert_by_an_invalid_email_is_rejected(client):
    inputs = [{"id": "not-an-email", "idProperty": "email", "properties": {"firstname": "X"}}]
    body = assert_error(upsert(client, "contacts", inputs), 400, "VALIDATION_ERROR")
    assert body["errors"] == [
        {
            "message": "Email address not-an-email is invalid",
            "code": "INVALID_EMAIL",
            "context": {"propertyName": ["email"]},
        }
    ]
