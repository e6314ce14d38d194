"""Search through both Python SDKs: every operator through hubspot-sdk (which must send all of `after`,
`filter_groups`, `limit`, `properties`, `sorts`), and a sorted, paged search through hubspot-api-client.

The live server is shared, so each filter group also names this test's records by their unique key
(an `IN` on the key property, which the unique-value index answers).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.sdk

# Three tasks: priorities (one missing), timestamps a month apart, one with a body.
TASKS = {
    "a": {"hs_task_subject": "alpha", "hs_task_priority": "HIGH", "hs_timestamp": "2024-01-01T00:00:00Z"},
    "b": {"hs_task_subject": "beta", "hs_task_priority": "LOW", "hs_timestamp": "2024-02-01T00:00:00Z"},
    "c": {"hs_task_subject": "gamma", "hs_timestamp": "2024-03-01T00:00:00Z"},
}
BODY = {"a": {"hs_task_body": "first"}}
FEB = "2024-02-01T00:00:00Z"

OPERATORS = [
    ({"operator": "EQ", "property_name": "hs_task_priority", "value": "high"}, "a"),
    ({"operator": "NEQ", "property_name": "hs_task_priority", "value": "HIGH"}, "bc"),
    ({"operator": "LT", "property_name": "hs_timestamp", "value": FEB}, "a"),
    ({"operator": "LTE", "property_name": "hs_timestamp", "value": FEB}, "ab"),
    ({"operator": "GT", "property_name": "hs_timestamp", "value": "1706745600000"}, "c"),  # FEB in epoch ms
    ({"operator": "GTE", "property_name": "hs_timestamp", "value": FEB}, "bc"),
    (
        {"operator": "BETWEEN", "property_name": "hs_timestamp", "value": "2024-01-15", "high_value": "1709251200000"},
        "bc",
    ),
    ({"operator": "IN", "property_name": "hs_task_priority", "values": ["high", "low"]}, "ab"),
    ({"operator": "NOT_IN", "property_name": "hs_task_priority", "values": ["low"]}, "ac"),
    ({"operator": "HAS_PROPERTY", "property_name": "hs_task_body"}, "a"),
    ({"operator": "NOT_HAS_PROPERTY", "property_name": "hs_task_body"}, "bc"),
    ({"operator": "CONTAINS_TOKEN", "property_name": "hs_task_subject", "value": "BETA"}, "b"),
    ({"operator": "NOT_CONTAINS_TOKEN", "property_name": "hs_task_subject", "value": "beta"}, "ac"),
]


def create_tasks(sdk_client, task_key: str, unique: str) -> dict[str, str]:  # noqa: ANN001
    """The three TASKS, keyed `{unique}-a` …; returns their keys by letter."""
    keys = {k: f"{unique}-{k}" for k in TASKS}
    inputs = [
        {"id": keys[k], "id_property": task_key, "properties": {**props, **BODY.get(k, {})}}
        for k, props in TASKS.items()
    ]
    result = sdk_client.crm.objects.tasks.batch.upsert(inputs=inputs)
    assert len(result.results) == 3
    return keys


@pytest.mark.parametrize(("flt", "expected"), OPERATORS, ids=[f["operator"] for f, _ in OPERATORS])
def test_a_search_per_operator_through_hubspot_sdk(sdk_client, task_key, unique, flt, expected):
    keys = create_tasks(sdk_client, task_key, unique)
    mine = {"operator": "IN", "property_name": task_key, "values": list(keys.values())}
    found = sdk_client.crm.objects.tasks.search(
        after="",
        filter_groups=[{"filters": [mine, flt]}],
        limit=10,
        properties=[task_key],
        sorts=[task_key],
    )
    letters = {v: k for k, v in keys.items()}
    assert "".join(letters[r.properties[task_key]] for r in found.results) == expected
    assert found.total == len(expected)
    assert found.paging is None


def test_sorted_paged_search_through_hubspot_api_client(v3_client, sdk_client, task_key, unique):
    from hubspot.crm.objects.tasks import (
        CollectionResponseWithTotalSimplePublicObjectForwardPaging,
        Filter,
        FilterGroup,
        PublicObjectSearchRequest,
    )

    keys = create_tasks(sdk_client, task_key, unique)
    mine = Filter(property_name=task_key, operator="IN", values=list(keys.values()))
    pages, after = [], None
    while True:
        page = v3_client.crm.objects.tasks.search_api.do_search(
            public_object_search_request=PublicObjectSearchRequest(
                filter_groups=[FilterGroup(filters=[mine])],
                sorts=["-hs_timestamp"],
                properties=["hs_task_subject"],
                limit=2,
                after=after,
            )
        )
        assert isinstance(page, CollectionResponseWithTotalSimplePublicObjectForwardPaging), "search must answer 200"
        assert page.total == 3
        pages.append([r.properties["hs_task_subject"] for r in page.results])
        if page.paging is None:
            break
        after = page.paging.next.after
    assert pages == [["gamma", "beta"], ["alpha"]]
