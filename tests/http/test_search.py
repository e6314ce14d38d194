"""`POST /{objectType}/search`: every operator, comparisons by property type, groups, sorts, query,
properties, paging, HubSpot's limits, and index lookups that never scan a type's records."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.http.support import (
    DATED,
    FAMILIES,
    V3,
    assert_error,
    create_contact,
    create_task,
    task,
    task_key_property,
)
from tests.store.test_statements import counting

# Three tasks whose values tell the operators apart: numbers that sort differently as text (9 < 10 < 100),
# one record without `tier`, `tags` or `seen_at`, and mixed letter case.
RECORDS = {
    "A": {
        "score": "9",
        "tier": "Gold",
        "tags": "red;green",
        "seen_at": "2024-01-01T00:00:00Z",
        "due_day": "2024-01-01",
    },
    "B": {"score": "10", "tier": "Silver", "tags": "blue", "seen_at": "2024-06-01T12:00:00Z", "due_day": "2024-06-01"},
    "C": {"score": "100"},
}
SUBJECTS = {"A": "Alpha report", "B": "beta Review", "C": "Gamma"}


def make_property(client, name: str, type_: str, field_type: str, options: tuple[str, ...] = ()) -> None:  # noqa: ANN001
    body = {
        "name": name,
        "label": name,
        "type": type_,
        "fieldType": field_type,
        "groupName": "taskinformation",
        "options": [{"label": o, "value": o} for o in options],
    }
    response = client.post("/crm/v3/properties/tasks", json=body)
    assert response.status_code == 201, response.text


@pytest.fixture
def tasks(client) -> dict[str, str]:  # noqa: ANN001
    """The three RECORDS as tasks; returns their ids by letter."""
    make_property(client, "score", "number", "number")
    make_property(client, "tier", "enumeration", "select", ("Gold", "Silver", "Bronze"))
    make_property(client, "tags", "enumeration", "checkbox", ("red", "green", "blue"))
    make_property(client, "seen_at", "datetime", "date")
    make_property(client, "due_day", "date", "date")
    return {k: create_task(client, SUBJECTS[k], **props)["id"] for k, props in RECORDS.items()}


def search(client, body: dict[str, Any], object_type: str = "tasks", family: str = V3) -> dict[str, Any]:  # noqa: ANN001
    response = client.post(f"{family}/{object_type}/search", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def one(prop: str, operator: str, value: Any = None, **more: Any) -> dict[str, Any]:
    """A search body of one filter."""
    flt = {"propertyName": prop, "operator": operator, **more}
    if value is not None:
        flt["value"] = value
    return {"filterGroups": [{"filters": [flt]}]}


def letters(found: dict[str, Any], ids: dict[str, str]) -> list[str]:
    by_id = {v: k for k, v in ids.items()}
    return [by_id[r["id"]] for r in found["results"]]


# --- one test per operator ----------------------------------------------------------------------------

OPERATOR_CASES = [
    ("EQ", one("score", "EQ", "10"), ["B"]),
    ("NEQ", one("tier", "NEQ", "Gold"), ["B", "C"]),  # a record without the property is "not equal"
    ("LT", one("score", "LT", "10"), ["A"]),  # 9 < 10 as numbers ("9" > "10" as text)
    ("LTE", one("score", "LTE", "10"), ["A", "B"]),
    ("GT", one("score", "GT", "9"), ["B", "C"]),  # 10 and 100 > 9 as numbers
    ("GTE", one("score", "GTE", "10"), ["B", "C"]),
    ("BETWEEN", one("score", "BETWEEN", "9", highValue="10"), ["A", "B"]),
    ("IN", one("tier", "IN", values=["gold", "SILVER"]), ["A", "B"]),
    ("NOT_IN", one("tier", "NOT_IN", values=["gold"]), ["B", "C"]),
    ("HAS_PROPERTY", one("tier", "HAS_PROPERTY"), ["A", "B"]),
    ("NOT_HAS_PROPERTY", one("tier", "NOT_HAS_PROPERTY"), ["C"]),
    ("CONTAINS_TOKEN", one("hs_task_subject", "CONTAINS_TOKEN", "review"), ["B"]),
    ("NOT_CONTAINS_TOKEN", one("hs_task_subject", "NOT_CONTAINS_TOKEN", "REVIEW"), ["A", "C"]),
]


@pytest.mark.parametrize(("operator", "body", "expected"), OPERATOR_CASES, ids=[c[0] for c in OPERATOR_CASES])
def test_each_operator(client, tasks, operator, body, expected):
    found = search(client, body)
    assert letters(found, tasks) == expected
    assert found["total"] == len(expected)


@pytest.mark.parametrize("family", FAMILIES)
def test_both_path_families_and_singular_names_search(client, tasks, family):
    assert letters(search(client, one("score", "EQ", 100), "task", family), tasks) == ["C"]


# --- comparisons by property type ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (one("seen_at", "GT", "2024-03-01T00:00:00Z"), ["B"]),
        (one("seen_at", "GT", "1709251200000"), ["B"]),  # the same instant in epoch milliseconds
        (one("seen_at", "EQ", "1704067200000"), ["A"]),  # 2024-01-01T00:00:00Z
        (one("seen_at", "BETWEEN", "2023-12-31", highValue="2024-06-01T12:00:00.000+00:00"), ["A", "B"]),
        (one("seen_at", "LT", "2024-06-01T13:00:00+01:00"), ["A"]),  # 12:00Z is not before 12:00Z
        (one("due_day", "LT", "2024-03-01"), ["A"]),
        (one("due_day", "GTE", "1717200000000"), ["B"]),  # 2024-06-01 at midnight UTC
        (one("score", "EQ", "10.0"), ["B"]),
        (one("score", "GT", 9.5), ["B", "C"]),  # JSON numbers are accepted as values
    ],
)
def test_numbers_dates_and_datetimes_compare_as_values(client, tasks, body, expected):
    assert letters(search(client, body), tasks) == expected


def test_system_dates_and_ids_filter_and_sort_like_stored_properties(client, tasks):
    created = {k: client.get(f"{V3}/tasks/{i}").json()["createdAt"] for k, i in tasks.items()}
    since_b = [k for k in "ABC" if created[k] >= created["B"]]  # records made in one millisecond tie
    assert letters(search(client, one("hs_createdate", "GTE", created["B"])), tasks) == since_b
    before_b = [k for k in "ABC" if created[k] < created["B"]]
    assert letters(search(client, one("hs_lastmodifieddate", "LT", created["B"])), tasks) == before_b
    newest_first = sorted("ABC", key=lambda k: int(tasks[k]))
    newest_first.sort(key=lambda k: created[k], reverse=True)  # stable: ties stay in id order
    assert letters(search(client, {"sorts": ["-hs_createdate"]}), tasks) == newest_first
    assert letters(search(client, one("hs_object_id", "GT", tasks["A"])), tasks) == ["B", "C"]
    assert letters(search(client, one("hs_object_id", "IN", values=[tasks["C"], tasks["A"]])), tasks) == ["A", "C"]


def test_strings_and_enumerations_compare_case_insensitively(client, tasks):
    assert letters(search(client, one("hs_task_subject", "EQ", "GAMMA")), tasks) == ["C"]
    assert letters(search(client, one("tier", "EQ", "silver")), tasks) == ["B"]
    assert letters(search(client, one("hs_task_subject", "LT", "B")), tasks) == ["A"]  # "alpha" < "b" < "beta"


def test_multi_select_values_match_on_any_option(client, tasks):
    assert letters(search(client, one("tags", "EQ", "green")), tasks) == ["A"]
    assert letters(search(client, one("tags", "IN", values=["blue", "red"])), tasks) == ["A", "B"]
    assert letters(search(client, one("tags", "NEQ", "red")), tasks) == ["B", "C"]


def test_contains_token_wildcards(client):
    ids = {"a": create_contact(client, "jane.doe@hubspot.com"), "b": create_contact(client, "joe@example.com")}
    found = search(client, one("email", "CONTAINS_TOKEN", "*@hubspot.com"), "contacts")
    assert [r["id"] for r in found["results"]] == [ids["a"]]
    found = search(client, one("email", "CONTAINS_TOKEN", "exam*"), "contacts")
    assert [r["id"] for r in found["results"]] == [ids["b"]]
    found = search(client, one("email", "CONTAINS_TOKEN", "doe"), "contacts")  # a word inside the address
    assert [r["id"] for r in found["results"]] == [ids["a"]]


# --- groups, sorts, query, properties ------------------------------------------------------------------


def test_groups_are_ored_and_filters_in_a_group_anded(client, tasks):
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "score", "operator": "EQ", "value": "9"}]},
            {"filters": [{"propertyName": "score", "operator": "EQ", "value": "100"}]},
        ]
    }
    assert letters(search(client, body), tasks) == ["A", "C"]
    body = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "score", "operator": "GT", "value": "5"},
                    {"propertyName": "tier", "operator": "EQ", "value": "Silver"},
                ]
            }
        ]
    }
    assert letters(search(client, body), tasks) == ["B"]


@pytest.mark.parametrize(
    ("sorts", "expected"),
    [
        (["score"], ["A", "B", "C"]),  # numerically
        (["-score"], ["C", "B", "A"]),
        ([{"propertyName": "score", "direction": "DESCENDING"}], ["C", "B", "A"]),
        ([{"propertyName": "hs_task_subject", "direction": "ASCENDING"}], ["A", "B", "C"]),  # case-insensitive
        (['{"propertyName": "seen_at", "direction": "DESCENDING"}'], ["B", "A", "C"]),  # no value: last
        (["tier"], ["A", "B", "C"]),
        ([], ["A", "B", "C"]),  # by id
    ],
)
def test_sorts_in_both_forms(client, tasks, sorts, expected):
    assert letters(search(client, {"sorts": sorts}), tasks) == expected


def test_default_order_is_by_id_ascending(client, tasks):
    found = search(client, {})
    assert [r["id"] for r in found["results"]] == sorted(tasks.values(), key=int)
    assert found["total"] == 3
    assert "paging" not in found


def test_query_matches_token_prefixes_of_searchable_properties(client, tasks):
    assert letters(search(client, {"query": "alph"}), tasks) == ["A"]
    assert letters(search(client, {"query": "REV"}), tasks) == ["B"]
    assert letters(search(client, {"query": "beta rev"}), tasks) == ["B"]  # every word must match
    assert letters(search(client, {"query": "score"}), tasks) == []  # not a searchable property
    assert letters(search(client, {"query": tasks["C"]}), tasks) == ["C"]  # hs_object_id
    assert letters(search(client, {"query": "a", **one("score", "LT", "50")}), tasks) == ["A"]  # ANDed with filters


def test_properties_default_per_type_and_as_asked(client, tasks):
    found = search(client, {"properties": []})
    assert set(found["results"][0]["properties"]) == {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}
    found = search(client, {"properties": ["score", "tier", "no_such_property"], **one("score", "EQ", "100")})
    assert found["results"][0]["properties"] == {"score": "100", "tier": None}
    create_contact(client, "ann@example.com", firstname="Ann")
    contact = search(client, {}, "contacts")["results"][0]
    expected = {"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"}
    assert set(contact["properties"]) == expected
    assert contact["properties"]["firstname"] == "Ann"


def test_archived_records_are_not_found(client, tasks):
    assert client.delete(f"{V3}/tasks/{tasks['B']}").status_code == 204
    assert letters(search(client, {}), tasks) == ["A", "C"]
    assert letters(search(client, one("hs_object_id", "EQ", tasks["B"])), tasks) == []


# --- paging ------------------------------------------------------------------------------------------


def test_paging_with_after_and_total(client):
    created = client.post(
        f"{V3}/tasks/batch/create", json={"inputs": [{"properties": task(f"t{i}")} for i in range(25)]}
    )
    assert created.status_code == 201, created.text
    first = search(client, {"limit": 10, "after": ""})
    assert first["total"] == 25
    assert first["paging"]["next"]["after"] == "10"
    seen = [r["id"] for r in first["results"]]
    after = first["paging"]["next"]["after"]
    while after:
        page = search(client, {"limit": 10, "after": after}, family=DATED)
        seen += [r["id"] for r in page["results"]]
        after = page.get("paging", {}).get("next", {}).get("after")
    assert len(seen) == 25 and seen == sorted(seen, key=int)
    last = search(client, {"limit": 10, "after": 20})
    assert len(last["results"]) == 5 and "paging" not in last
    assert len(search(client, {})["results"]) == 10  # limit defaults to 10


# --- limits and errors -------------------------------------------------------------------------------


def groups(count: int, per_group: int) -> dict[str, Any]:
    flt = {"propertyName": "hs_task_subject", "operator": "HAS_PROPERTY"}
    return {"filterGroups": [{"filters": [flt] * per_group} for _ in range(count)]}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (groups(6, 1), "at most 5 filterGroups"),
        (groups(1, 7), "at most 6 per group"),
        (groups(4, 5), "at most 18 filters"),
        ({"query": "x" * 3001}, "at most 3000"),
        ({"limit": 201}, "from 1 to 200"),
        ({"limit": 0}, "from 1 to 200"),
        ({"after": "9991", "limit": 10}, "capped at 10000"),
        ({"after": "next"}, "paging.next.after"),
        (one("hs_task_subject", "LIKE", "x"), "is not a search operator"),
        (one("no_such_property", "EQ", "x"), "no such property"),
        ({"sorts": ["no_such_property"]}, "no such property"),
        ({"sorts": [{"propertyName": "hs_task_subject", "direction": "UP"}]}, "ASCENDING or DESCENDING"),
        (one("hs_timestamp", "BETWEEN", "2024-01-01"), "needs `highValue`"),
        (one("hs_task_subject", "IN"), "needs `values`"),
        (one("hs_task_subject", "NOT_IN", values=[]), "needs `values`"),
        (one("hs_task_subject", "EQ"), "needs `value`"),
        (one("hs_timestamp", "GT", "yesterday"), "not a valid datetime value"),
        (one("hs_object_id", "EQ", "abc"), "not a valid number value"),
        ({"filterGroups": {"filters": []}}, "must be a list"),
    ],
)
def test_limits_and_bad_requests_answer_400(client, body, fragment):
    response = client.post(f"{V3}/tasks/search", json=body)
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert fragment in error["message"]


@pytest.mark.parametrize(
    "body",
    [groups(5, 1), groups(3, 6), {"query": "x" * 3000}, {"limit": 200}, {"after": "9990", "limit": 10}],
)
def test_limits_are_inclusive(client, body):
    assert search(client, body)["total"] >= 0


# --- index lookups -----------------------------------------------------------------------------------


def object_scans(statements: list[str]) -> list[str]:
    """Statements reading the objects table without naming record ids: a scan of the type's records.
    (Ids are named `objects.id IN (...)` on SQLite and `objects.id = ANY (...)` on PostgreSQL.)"""
    return [s for s in statements if re.search(r"\bFROM objects\b", s) and not re.search(r"objects\.id (IN|= ANY)", s)]


def test_eq_on_a_unique_property_or_hs_object_id_uses_an_index_not_a_scan(app, client):
    key = task_key_property(client)
    ids = [create_task(client, f"s{i}", **{key: f"Key-{i}"})["id"] for i in range(5)]
    indexed = [
        one(key, "EQ", "Key-3"),
        one(key, "IN", values=["Key-1", "Key-4", "missing"]),
        one("hs_object_id", "EQ", ids[2]),
        {
            "filterGroups": [
                one(key, "EQ", "Key-0")["filterGroups"][0],
                one("hs_object_id", "IN", values=[ids[1]])["filterGroups"][0],
            ]
        },
        {**one(key, "EQ", "Key-2"), "query": "s2", "sorts": ["-hs_createdate"]},
    ]
    expected = [[ids[3]], [ids[1], ids[4]], [ids[2]], [ids[0], ids[1]], [ids[2]]]
    for body, want in zip(indexed, expected, strict=True):
        with counting(app.state.service.store.engine) as statements:
            found = search(client, body)
        assert [r["id"] for r in found["results"]] == want, body
        assert object_scans(statements) == [], statements
    with counting(app.state.service.store.engine) as statements:  # the detector does see a scan
        assert search(client, one("hs_task_subject", "EQ", "s3"))["total"] == 1
    assert object_scans(statements)


def test_unique_values_match_exactly_and_contact_email_case_insensitively(client):
    key = task_key_property(client)
    upper = create_task(client, "u", **{key: "ABC"})["id"]
    lower = create_task(client, "l", **{key: "abc"})["id"]
    assert [r["id"] for r in search(client, one(key, "EQ", "ABC"))["results"]] == [upper]
    assert [r["id"] for r in search(client, one(key, "NEQ", "abc"))["results"]] == [upper]
    assert [r["id"] for r in search(client, one(key, "CONTAINS_TOKEN", "abc"))["results"]] == [upper, lower]
    contact = create_contact(client, "Mixed.Case@Example.com")
    found = search(client, one("email", "EQ", "MIXED.case@example.COM"), "contacts")
    assert [r["id"] for r in found["results"]] == [contact]
