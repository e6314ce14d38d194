"""Client mistakes found in review that once answered 500: each must be a 4xx in HubSpot's envelope."""

from __future__ import annotations

from tests.http.support import V3, task

HUGE = "9" * 5000  # Python's int() refuses more than 4,300 digits


def _create_task(client) -> str:  # noqa: ANN001
    response = client.post(f"{V3}/tasks", json={"properties": task("t")})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _is_client_error(response, status: int) -> None:  # noqa: ANN001
    assert response.status_code == status, response.text
    assert response.json()["status"] == "error"


def test_ids_and_numbers_too_long_for_int_are_client_errors(client) -> None:  # noqa: ANN001
    _is_client_error(client.get(f"{V3}/tasks/{HUGE}"), 404)
    _is_client_error(client.get(f"{V3}/tasks?limit={HUGE}"), 400)
    _is_client_error(client.get(f"{V3}/tasks?after={HUGE}"), 400)
    bad_time = client.post(f"{V3}/tasks", json={"properties": {"hs_timestamp": HUGE}})
    _is_client_error(bad_time, 400)
    assert bad_time.json()["errors"][0]["code"] == "INVALID_LONG"


def test_search_with_huge_numbers_is_not_a_server_error(client) -> None:  # noqa: ANN001
    _create_task(client)
    by_id = {"filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": "1e5000"}]}]}
    answer = client.post(f"{V3}/tasks/search", json=by_id)
    assert answer.status_code == 200 and answer.json()["total"] == 0
    _is_client_error(client.post(f"{V3}/tasks/search", json={"after": HUGE}), 400)


def test_batch_update_by_email_on_a_type_without_email(client) -> None:  # noqa: ANN001
    body = {"inputs": [{"id": "a@example.com", "idProperty": "email", "properties": {"name": "x"}}]}
    _is_client_error(client.post(f"{V3}/companies/batch/update", json=body), 400)


def test_id_property_must_be_a_string(client) -> None:  # noqa: ANN001
    record_id = _create_task(client)
    read = {"idProperty": ["email"], "inputs": [{"id": record_id}], "properties": []}
    _is_client_error(client.post(f"{V3}/tasks/batch/read", json=read), 400)
    update = {"inputs": [{"id": record_id, "idProperty": ["x"], "properties": {"hs_task_subject": "u"}}]}
    _is_client_error(client.post(f"{V3}/tasks/batch/update", json=update), 400)


def test_v4_batch_read_cursor_must_be_a_string(client) -> None:  # noqa: ANN001
    record_id = _create_task(client)
    body = {"inputs": [{"id": record_id, "after": 5}]}
    _is_client_error(client.post("/crm/v4/associations/tasks/contacts/batch/read", json=body), 400)


def test_batch_update_naming_one_record_twice_is_rejected_whole(client) -> None:  # noqa: ANN001
    record_id = _create_task(client)
    body = {
        "inputs": [
            {"id": record_id, "properties": {"hs_task_subject": "first"}},
            {"id": f"0{record_id}", "properties": {"hs_task_subject": "second"}},
        ]
    }
    response = client.post(f"{V3}/tasks/batch/update", json=body)
    _is_client_error(response, 400)
    assert "Duplicate IDs" in response.json()["message"]
    assert (
        client.get(f"{V3}/tasks/{record_id}?properties=hs_task_subject").json()["properties"]["hs_task_subject"] == "t"
    )
