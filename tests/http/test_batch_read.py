"""Batch read: by id or by idProperty, the properties asked for, history, and 207 for missing ids."""

from __future__ import annotations

import pytest

from tests.http.support import (
    FAMILIES,
    TASK_KEY,
    V3,
    assert_error,
    create_task,
    task,
    task_key_property,
    upsert,
    upsert_input,
)


def batch_read(client, body, family=V3, object_type="tasks", **params):  # noqa: ANN001, ANN201
    return client.post(f"{family}/{object_type}/batch/read", json=body, params=params)


@pytest.mark.parametrize("family", FAMILIES)
def test_read_by_id(client, family):
    one, two = create_task(client, "one"), create_task(client, "two")
    body = {"inputs": [{"id": two["id"]}, {"id": one["id"]}], "properties": ["hs_task_subject"]}
    response = batch_read(client, body, family)
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["status"] == "COMPLETE"
    assert "numErrors" not in out
    assert [r["id"] for r in out["results"]] == [two["id"], one["id"]]
    assert out["results"][0]["properties"] == {"hs_task_subject": "two"}
    assert out["results"][0]["createdAt"] == two["createdAt"]


def test_read_without_properties_gives_the_default_properties(client):
    record = create_task(client, "one")
    result = batch_read(client, {"inputs": [{"id": record["id"]}]}).json()["results"][0]
    assert set(result["properties"]) == {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}
    assert result["properties"]["hs_object_id"] == record["id"]


def test_read_by_id_property(client):
    task_key_property(client)
    written = upsert(client, "tasks", [upsert_input("k-1", task("one")), upsert_input("k-2", task("two"))]).json()
    ids = {r["properties"][TASK_KEY]: r["id"] for r in written["results"]}
    body = {
        "inputs": [{"id": "k-2"}, {"id": "k-1"}],
        "idProperty": TASK_KEY,
        "properties": ["hs_task_subject", TASK_KEY],
    }
    results = batch_read(client, body).json()["results"]
    assert [(r["id"], r["properties"][TASK_KEY]) for r in results] == [(ids["k-2"], "k-2"), (ids["k-1"], "k-1")]


def test_read_by_non_unique_id_property_is_rejected(client):
    body = {"inputs": [{"id": "x"}], "idProperty": "hs_task_subject"}
    message = "Unable to perform update/upsert by non-unique 0-27 property hs_task_subject"
    assert_error(batch_read(client, body), 400, "VALIDATION_ERROR", message)


def test_contacts_read_by_email(client):
    inputs = [{"id": "Ann@Example.com", "idProperty": "email", "properties": {"firstname": "Ann"}}]
    contact = upsert(client, "contacts", inputs).json()["results"][0]
    body = {"inputs": [{"id": "ANN@example.com"}], "idProperty": "email", "properties": ["firstname"]}
    results = batch_read(client, body, object_type="contacts").json()["results"]
    assert [(r["id"], r["properties"]["firstname"]) for r in results] == [(contact["id"], "Ann")]


def test_missing_ids_answer_207_with_object_not_found(client):
    record = create_task(client, "one")
    body = {"inputs": [{"id": record["id"]}, {"id": "999999"}, {"id": "not-numeric"}]}
    response = batch_read(client, body)
    assert response.status_code == 207, response.text
    out = response.json()
    assert [r["id"] for r in out["results"]] == [record["id"]]
    assert out["numErrors"] == 1
    [error] = out["errors"]
    assert error["status"] == "error"
    assert error["category"] == "OBJECT_NOT_FOUND"
    assert error["context"] == {"ids": ["999999", "not-numeric"]}
    assert (
        error["message"]
        == "Could not get some TASK objects, they may be deleted or not exist. Check that ids are valid."
    )


def test_missing_id_property_values_answer_207(client):
    task_key_property(client)
    response = batch_read(client, {"inputs": [{"id": "nobody"}], "idProperty": TASK_KEY})
    assert response.status_code == 207, response.text
    assert response.json()["results"] == []
    assert response.json()["errors"][0]["context"] == {"ids": ["nobody"]}


def test_properties_with_history_lists_versions_newest_first(client):
    task_key_property(client)
    first = upsert(client, "tasks", [upsert_input("k", task("first"))]).json()["results"][0]
    upsert(client, "tasks", [upsert_input("k", {"hs_task_subject": "second"})])
    body = {"inputs": [{"id": first["id"]}], "propertiesWithHistory": ["hs_task_subject"]}
    result = batch_read(client, body).json()["results"][0]
    versions = result["propertiesWithHistory"]["hs_task_subject"]
    assert [v["value"] for v in versions] == ["second", "first"]
    assert all(v["sourceType"] == "INTEGRATION" for v in versions)
    assert versions[0]["timestamp"] >= versions[1]["timestamp"]
    assert versions[1]["timestamp"] == first["createdAt"]


def test_more_than_50_inputs_with_history_is_rejected(client):
    inputs = [{"id": str(i)} for i in range(1, 52)]
    response = batch_read(client, {"inputs": inputs, "propertiesWithHistory": ["hs_task_subject"]})
    message = (
        "The maximum number of inputs supported in a batch request for property histories is 50. "
        "Please reduce the number of items and try again"
    )
    assert_error(response, 400, "VALIDATION_ERROR", message)


def test_51_inputs_without_history_are_fine(client):
    response = batch_read(client, {"inputs": [{"id": str(i)} for i in range(1, 52)]})
    assert response.status_code == 207, response.text
    assert len(response.json()["errors"][0]["context"]["ids"]) == 51


def test_more_than_100_inputs_is_rejected(client):
    assert_error(batch_read(client, {"inputs": [{"id": str(i)} for i in range(101)]}), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("archived", ["false", "true"])
def test_archived_parameter_is_accepted(client, archived):
    record = create_task(client, "live")
    response = batch_read(client, {"inputs": [{"id": record["id"]}]}, archived=archived)
    if archived == "false":
        assert response.status_code == 200, response.text
    else:  # a live record is not among the archived ones
        assert response.status_code == 207, response.text
        assert response.json()["errors"][0]["context"]["ids"] == [record["id"]]


def test_bad_archived_value_is_rejected(client):
    record = create_task(client, "live")
    assert_error(batch_read(client, {"inputs": [{"id": record["id"]}]}, archived="maybe"), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("body", [{"inputs": [{"id": "1"}], "properties": "hs_task_subject"}, {"inputs": [{}]}])
def test_malformed_read_bodies_are_rejected(client, body):
    assert_error(batch_read(client, body), 400, "VALIDATION_ERROR")
