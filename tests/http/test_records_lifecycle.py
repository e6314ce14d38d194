"""Records after creation: list with paging, PATCH, DELETE, batch update and batch archive (issue 5, point 1)."""

from __future__ import annotations

import time

import pytest

from tests.http.support import (
    DATED,
    FAMILIES,
    TASK_KEY,
    V3,
    assert_error,
    create_contact,
    create_task,
    read,
    read_by_key,
    task,
    task_key_property,
    upsert,
    upsert_input,
)

CONTACT_TO_TASK = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}


def create_tasks(client, count: int, subject: str = "paged") -> list[str]:
    ids = []
    for start in range(0, count, 100):
        inputs = [{"properties": task(f"{subject} {i}")} for i in range(start, min(count, start + 100))]
        response = client.post(f"{V3}/tasks/batch/create", json={"inputs": inputs})
        assert response.status_code == 201, response.text
        ids += [r["id"] for r in response.json()["results"]]
    return sorted(ids, key=int)


def all_pages(client, family: str, **params) -> tuple[list[str], list[dict]]:
    """Follow `paging.next.after` to the end: (ids seen, pages as answered)."""
    ids, pages, after = [], [], None
    while True:
        query = {**params, **({"after": after} if after else {})}
        response = client.get(f"{family}/tasks", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        ids += [r["id"] for r in page["results"]]
        if "paging" not in page:
            return ids, pages
        after = page["paging"]["next"]["after"]
        assert page["paging"]["next"]["link"] == f"?after={after}"


def associated(client, object_type: str, object_id: str, to: str) -> list[str]:
    found = read(client, object_type, object_id, associations=to).json().get("associations", {})
    return [a["id"] for a in found.get(to, {}).get("results", [])]


# --- list and paging ---------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_paging_visits_every_record_once_in_id_order_and_stops(client, family):
    created = create_tasks(client, 23)
    ids, pages = all_pages(client, family, limit=10)
    assert ids == created
    assert [len(p["results"]) for p in pages] == [10, 10, 3]
    assert "paging" not in pages[-1]


def test_limit_defaults_to_ten(client):
    create_tasks(client, 12)
    page = client.get(f"{V3}/tasks").json()
    assert len(page["results"]) == 10
    assert page["paging"]["next"]["after"]


def test_a_last_page_that_is_exactly_full_has_no_paging(client):
    created = create_tasks(client, 10)
    page = client.get(f"{V3}/tasks", params={"limit": 10}).json()
    assert [r["id"] for r in page["results"]] == created
    assert "paging" not in page


def test_an_empty_type_lists_no_results_and_no_paging(client):
    assert client.get(f"{DATED}/tasks").json() == {"results": []}


@pytest.mark.parametrize("limit", [0, -1, 101])
def test_limit_outside_one_to_a_hundred_is_rejected(client, limit):
    error = assert_error(client.get(f"{V3}/tasks", params={"limit": limit}), 400, "VALIDATION_ERROR")
    assert "between 1 and 100" in error["message"]


def test_a_hundred_is_the_largest_page(client):
    create_tasks(client, 101)
    page = client.get(f"{V3}/tasks", params={"limit": 100}).json()
    assert len(page["results"]) == 100
    assert "paging" in page


def test_pages_with_history_hold_at_most_fifty(client):
    created = create_tasks(client, 51)
    params = {"limit": 100, "propertiesWithHistory": "hs_task_subject"}
    ids, pages = all_pages(client, V3, **params)
    assert ids == created
    assert [len(p["results"]) for p in pages] == [50, 1]
    assert all(len(r["propertiesWithHistory"]["hs_task_subject"]) == 1 for r in pages[0]["results"])
    assert_error(client.get(f"{V3}/tasks", params={**params, "limit": 101}), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("after", ["abc", "-5", "1.5"])
def test_an_after_that_is_no_cursor_is_rejected(client, after):
    assert_error(client.get(f"{V3}/tasks", params={"after": after}), 400, "VALIDATION_ERROR")


def test_list_returns_named_properties_and_associations(client):
    contact = create_contact(client)
    body = {"properties": task("linked"), "associations": [{"to": {"id": contact}, "types": [CONTACT_TO_TASK]}]}
    linked = client.post(f"{V3}/tasks", json=body).json()["id"]
    params = {"properties": "hs_task_subject", "associations": "contacts"}
    [listed] = client.get(f"{V3}/tasks", params=params).json()["results"]
    assert listed["id"] == linked
    assert listed["properties"] == {"hs_task_subject": "linked"}
    assert listed["associations"]["contacts"]["results"] == [{"id": contact, "type": "task_to_contact"}]


def test_archived_true_lists_only_archived_records(client):
    live, gone = create_tasks(client, 2)
    assert client.delete(f"{V3}/tasks/{gone}").status_code == 204
    assert [r["id"] for r in client.get(f"{V3}/tasks").json()["results"]] == [live]
    archived = client.get(f"{V3}/tasks", params={"archived": "true"}).json()["results"]
    assert [(r["id"], r["archived"]) for r in archived] == [(gone, True)]
    assert archived[0]["archivedAt"]


# --- PATCH -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_patch_sets_values_and_answers_the_record(client, family):
    record = create_task(client, "before", hs_task_priority="LOW")
    response = client.patch(f"{family}/tasks/{record['id']}", json={"properties": {"hs_task_subject": "after"}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == record["id"]
    assert body["properties"]["hs_task_subject"] == "after"
    assert body["properties"]["hs_task_priority"] == "LOW"  # untouched values stay
    assert body["updatedAt"] >= record["updatedAt"]
    stored = read(client, "tasks", record["id"], properties="hs_task_subject").json()
    assert stored["properties"] == {"hs_task_subject": "after"}


def test_patch_with_an_empty_string_clears_and_history_shows_it(client):
    record = create_task(client, "s", hs_task_priority="HIGH")
    cleared = client.patch(f"{V3}/tasks/{record['id']}", json={"properties": {"hs_task_priority": ""}})
    assert cleared.status_code == 200, cleared.text
    assert "hs_task_priority" not in cleared.json()["properties"]
    stored = read(client, "tasks", record["id"], propertiesWithHistory="hs_task_priority").json()
    assert [v["value"] for v in stored["propertiesWithHistory"]["hs_task_priority"]] == ["", "HIGH"]


def test_patch_by_id_property(client):
    task_key_property(client)
    written = upsert(client, "tasks", [upsert_input("k-1", task("keyed"))]).json()["results"][0]
    params = {"idProperty": TASK_KEY}
    response = client.patch(f"{V3}/tasks/k-1", params=params, json={"properties": {"hs_task_subject": "new"}})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == written["id"]
    assert read_by_key(client, "k-1", properties="hs_task_subject").json()["properties"] == {"hs_task_subject": "new"}


def test_patch_a_contact_by_email(client):
    contact = create_contact(client, "patch@example.com")
    params = {"idProperty": "email"}
    response = client.patch(f"{V3}/contacts/PATCH@example.com", params=params, json={"properties": {"firstname": "P"}})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == contact


def test_patch_rejects_read_only_and_unknown_properties(client):
    record = create_task(client, "s")
    path = f"{V3}/tasks/{record['id']}"
    read_only = assert_error(client.patch(path, json={"properties": {"hs_object_id": "5"}}), 400, "VALIDATION_ERROR")
    assert read_only["errors"][0]["code"] == "READ_ONLY_VALUE"
    unknown = assert_error(client.patch(path, json={"properties": {"no_such": "x"}}), 400, "VALIDATION_ERROR")
    assert unknown["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    assert read(client, "tasks", record["id"]).json()["updatedAt"] == record["updatedAt"]


def test_patch_of_an_unknown_or_archived_record_is_404(client):
    record = create_task(client, "s")
    client.delete(f"{V3}/tasks/{record['id']}")
    for object_id in (record["id"], "999999999"):
        response = client.patch(f"{V3}/tasks/{object_id}", json={"properties": {"hs_task_subject": "x"}})
        assert_error(response, 404, "OBJECT_NOT_FOUND")


def test_patch_onto_another_records_unique_value_is_409(client):
    task_key_property(client)
    first, second = upsert(client, "tasks", [upsert_input("a", task("a")), upsert_input("b", task("b"))]).json()[
        "results"
    ]
    response = client.patch(f"{V3}/tasks/{second['id']}", json={"properties": {TASK_KEY: "a"}})
    assert_error(response, 409, "CONFLICT")


# --- DELETE (archive) --------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_archive_answers_204_and_the_record_reads_only_as_archived(client, family):
    record = create_task(client, "gone")
    response = client.delete(f"{family}/tasks/{record['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(read(client, "tasks", record["id"]), 404, "OBJECT_NOT_FOUND")
    archived = read(client, "tasks", record["id"], archived="true").json()
    assert archived["archived"] is True
    assert archived["archivedAt"]


def test_archive_of_an_unknown_id_is_204(client):
    assert client.delete(f"{V3}/tasks/987654321").status_code == 204


def test_an_archived_unique_value_can_be_reused_by_an_upsert_that_creates_a_new_record(client):
    task_key_property(client)
    first = upsert(client, "tasks", [upsert_input("reuse", task("first"))]).json()["results"][0]
    assert client.delete(f"{V3}/tasks/{first['id']}").status_code == 204
    assert_error(read_by_key(client, "reuse"), 404, "OBJECT_NOT_FOUND")
    second = upsert(client, "tasks", [upsert_input("reuse", task("second"))]).json()["results"][0]
    assert second["new"] is True
    assert second["id"] != first["id"]
    assert read_by_key(client, "reuse").json()["id"] == second["id"]


def test_an_archived_contacts_email_can_be_used_again(client):
    first = create_contact(client, "again@example.com")
    client.delete(f"{V3}/contacts/{first}")
    second = create_contact(client, "again@example.com")
    assert second != first


@pytest.mark.parametrize("archive_end", ["contacts", "tasks"])
def test_associations_vanish_from_both_ends_when_either_record_is_archived(client, archive_end):
    contact = create_contact(client)
    body = {"properties": task("linked"), "associations": [{"to": {"id": contact}, "types": [CONTACT_TO_TASK]}]}
    linked = client.post(f"{V3}/tasks", json=body).json()["id"]
    assert associated(client, "contacts", contact, "tasks") == [linked]
    assert associated(client, "tasks", linked, "contacts") == [contact]
    live_end, live_id, archived_id = (
        ("tasks", linked, contact) if archive_end == "contacts" else ("contacts", contact, linked)
    )
    assert client.delete(f"{V3}/{archive_end}/{archived_id}").status_code == 204
    assert associated(client, live_end, live_id, archive_end) == []
    assert "associations" not in read(client, live_end, live_id, associations=archive_end).json()


# --- batch update ------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_batch_update_by_id_answers_200_with_every_record(client, family):
    ids = create_tasks(client, 2)
    inputs = [{"id": i, "properties": {"hs_task_subject": f"updated {i}"}} for i in ids]
    response = client.post(f"{family}/tasks/batch/update", json={"inputs": inputs})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "COMPLETE"
    assert sorted(r["id"] for r in body["results"]) == ids
    assert all(r["properties"]["hs_task_subject"] == f"updated {r['id']}" for r in body["results"])
    for i in ids:
        assert read(client, "tasks", i, properties="hs_task_subject").json()["properties"]["hs_task_subject"] == (
            f"updated {i}"
        )


def test_batch_update_by_id_property(client):
    task_key_property(client)
    written = upsert(client, "tasks", [upsert_input("u-1", task("a")), upsert_input("u-2", task("b"))]).json()
    inputs = [{"id": k, "idProperty": TASK_KEY, "properties": {"hs_task_priority": "HIGH"}} for k in ("u-1", "u-2")]
    body = client.post(f"{V3}/tasks/batch/update", json={"inputs": inputs}).json()
    assert sorted(r["id"] for r in body["results"]) == sorted(r["id"] for r in written["results"])
    assert {r["properties"]["hs_task_priority"] for r in body["results"]} == {"HIGH"}


def test_batch_update_207_names_the_missing_id_by_trace_and_writes_the_rest(client):
    [live] = create_tasks(client, 1)
    inputs = [
        {"id": live, "properties": {"hs_task_subject": "ok"}, "objectWriteTraceId": "t-live"},
        {"id": "123456789", "properties": {"hs_task_subject": "nope"}, "objectWriteTraceId": "t-missing"},
    ]
    response = client.post(f"{V3}/tasks/batch/update", json={"inputs": inputs})
    assert response.status_code == 207, response.text
    body = response.json()
    assert body["numErrors"] == 1
    [error] = body["errors"]
    assert error["category"] == "OBJECT_NOT_FOUND"
    assert error["context"]["objectWriteTraceId"] == ["t-missing"]
    assert error["context"]["ids"] == ["123456789"]
    assert [(r["id"], r["objectWriteTraceId"]) for r in body["results"]] == [(live, "t-live")]
    assert read(client, "tasks", live, properties="hs_task_subject").json()["properties"]["hs_task_subject"] == "ok"


def test_batch_update_without_trace_ids_fails_whole_on_a_missing_id(client):
    [live] = create_tasks(client, 1, subject="kept")
    inputs = [{"id": live, "properties": {"hs_task_subject": "changed"}}, {"id": "123456789", "properties": {}}]
    assert_error(client.post(f"{V3}/tasks/batch/update", json={"inputs": inputs}), 404, "OBJECT_NOT_FOUND")
    assert read(client, "tasks", live, properties="hs_task_subject").json()["properties"]["hs_task_subject"] == (
        "kept 0"
    )


def test_batch_update_of_an_archived_record_is_a_missing_record(client):
    [gone] = create_tasks(client, 1)
    client.delete(f"{V3}/tasks/{gone}")
    inputs = [{"id": gone, "properties": {"hs_task_subject": "x"}, "objectWriteTraceId": "t"}]
    response = client.post(f"{V3}/tasks/batch/update", json={"inputs": inputs})
    assert response.status_code == 207
    assert response.json()["results"] == []


def test_batch_update_rejects_email_as_its_key(client):
    create_contact(client, "batch@example.com")
    inputs = [{"id": "batch@example.com", "idProperty": "email", "properties": {"firstname": "B"}}]
    error = assert_error(client.post(f"{V3}/contacts/batch/update", json={"inputs": inputs}), 400, "VALIDATION_ERROR")
    assert error["message"] == "Unable to perform update/upsert by non-unique 0-1 property email"


def test_batch_update_rejects_a_bad_value_without_writing(client):
    ids = create_tasks(client, 2, subject="same")
    inputs = [
        {"id": ids[0], "properties": {"hs_task_subject": "changed"}},
        {"id": ids[1], "properties": {"hs_task_priority": "SOMETIMES"}},
    ]
    error = assert_error(client.post(f"{V3}/tasks/batch/update", json={"inputs": inputs}), 400, "VALIDATION_ERROR")
    assert error["errors"][0]["code"] == "INVALID_OPTION"
    assert read(client, "tasks", ids[0], properties="hs_task_subject").json()["properties"]["hs_task_subject"] == (
        "same 0"
    )


def test_batch_update_rejects_the_same_id_twice(client):
    [record] = create_tasks(client, 1)
    inputs = [{"id": record, "properties": {}}, {"id": record, "properties": {}}]
    assert_error(client.post(f"{V3}/tasks/batch/update", json={"inputs": inputs}), 400, "VALIDATION_ERROR")


# --- batch archive -----------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_batch_archive_answers_204_and_ignores_unknown_ids(client, family):
    ids = create_tasks(client, 3)
    inputs = [{"id": ids[0]}, {"id": ids[1]}, {"id": "555555555"}, {"id": "not-a-number"}]
    response = client.post(f"{family}/tasks/batch/archive", json={"inputs": inputs})
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert [r["id"] for r in client.get(f"{V3}/tasks").json()["results"]] == [ids[2]]
    archived = client.get(f"{V3}/tasks", params={"archived": "true"}).json()["results"]
    assert [r["id"] for r in archived] == ids[:2]


def test_batch_archive_frees_unique_values(client):
    task_key_property(client)
    first = upsert(client, "tasks", [upsert_input("b-1", task("first"))]).json()["results"][0]
    client.post(f"{V3}/tasks/batch/archive", json={"inputs": [{"id": first["id"]}]})
    second = upsert(client, "tasks", [upsert_input("b-1", task("second"))]).json()["results"][0]
    assert (second["new"], second["id"] != first["id"]) == (True, True)


def test_archiving_an_archived_record_again_keeps_its_archive_time(client):
    [record] = create_tasks(client, 1)
    client.delete(f"{V3}/tasks/{record}")
    archived_at = read(client, "tasks", record, archived="true").json()["archivedAt"]
    time.sleep(0.005)
    assert client.post(f"{V3}/tasks/batch/archive", json={"inputs": [{"id": record}]}).status_code == 204
    assert client.delete(f"{V3}/tasks/{record}").status_code == 204
    assert read(client, "tasks", record, archived="true").json()["archivedAt"] == archived_at


def test_batch_archive_over_a_hundred_inputs_is_rejected(client):
    inputs = [{"id": str(i)} for i in range(1, 102)]
    assert_error(client.post(f"{V3}/tasks/batch/archive", json={"inputs": inputs}), 400, "VALIDATION_ERROR")
