"""Associations v4 and labels, on both path families: a record's associations (list with paging, default,
labelled, delete), the batch endpoints, the labels API, and how associations show in v3 record reads."""

from __future__ import annotations

import uuid

import pytest

from tests.http.support import V3, assert_error, create_contact, read

RECORD_FAMILIES = ["/crm/v4/objects", "/crm/objects/2026-03"]
PAIR_V4 = "/crm/v4/associations"
LABELS_V4 = "/crm/associations/v4"
PAIR_DATED = "/crm/associations/2026-03"
CONTACT_TO_COMPANY = 279  # the default (unlabeled) type; 280 is its inverse
PRIMARY = 1


def spec(type_id: int, category: str = "USER_DEFINED") -> dict:
    return {"associationCategory": category, "associationTypeId": type_id}


def create_company(client, name: str = "Acme") -> str:  # noqa: ANN001
    response = client.post(f"{V3}/companies", json={"properties": {"name": name}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def create_label(client, label: str, inverse: str | None = None, pair: str = "contacts/companies") -> list[dict]:  # noqa: ANN001
    body = {"label": label, "name": f"{label.lower()}_{uuid.uuid4().hex[:6]}"}
    if inverse is not None:
        body["inverseLabel"] = inverse
    response = client.post(f"{LABELS_V4}/{pair}/labels", json=body)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def associated(client, object_type: str, object_id: str, to_type: str, family: str = RECORD_FAMILIES[0]) -> list:  # noqa: ANN001
    response = client.get(f"{family}/{object_type}/{object_id}/associations/{to_type}")
    assert response.status_code == 200, response.text
    return response.json()["results"]


def type_ids(result: dict) -> list[int]:
    return [t["typeId"] for t in result["associationTypes"]]


# --- a record's associations -----------------------------------------------------------------------


@pytest.mark.parametrize("family", RECORD_FAMILIES)
def test_labelled_association_reads_back_from_both_ends_with_both_labels(client, family):
    contact, company = create_contact(client), create_company(client)
    manager, employer = create_label(client, "Manager", "Employer")
    url = f"{family}/contacts/{contact}/associations/companies/{company}"
    response = client.put(url, json=[spec(manager["typeId"])])
    assert response.status_code == 201, response.text
    assert response.json() == {
        "fromObjectTypeId": "0-1",
        "fromObjectId": int(contact),
        "toObjectTypeId": "0-2",
        "toObjectId": int(company),
        "labels": ["Manager"],
    }
    [forward] = associated(client, "contacts", contact, "companies", family)
    assert forward["toObjectId"] == int(company)
    assert forward["associationTypes"] == [
        {"category": "HUBSPOT_DEFINED", "typeId": CONTACT_TO_COMPANY, "label": None},
        {"category": "USER_DEFINED", "typeId": manager["typeId"], "label": "Manager"},
    ]
    [inverse] = associated(client, "companies", company, "contacts", family)
    assert inverse["toObjectId"] == int(contact)
    assert inverse["associationTypes"][1] == {
        "category": "USER_DEFINED",
        "typeId": employer["typeId"],
        "label": "Employer",
    }


def test_v3_record_reads_show_the_label_name_from_both_ends(client):
    contact, company = create_contact(client), create_company(client)
    created = client.post(f"{LABELS_V4}/contacts/companies/labels", json={"label": "Billing", "name": "billing"})
    type_id = created.json()["results"][0]["typeId"]
    client.put(f"/crm/v4/objects/contacts/{contact}/associations/companies/{company}", json=[spec(type_id)])
    from_contact = read(client, "contacts", contact, associations="companies").json()["associations"]
    assert from_contact == {
        "companies": {"results": [{"id": company, "type": "contact_to_company"}, {"id": company, "type": "billing"}]}
    }
    from_company = read(client, "companies", company, associations="contacts").json()["associations"]
    assert {"id": contact, "type": "billing"} in from_company["contacts"]["results"]


@pytest.mark.parametrize("family", RECORD_FAMILIES)
def test_default_association_answers_200_with_both_directions(client, family):
    contact, company = create_contact(client), create_company(client)
    response = client.put(f"{family}/contacts/{contact}/associations/default/companies/{company}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "COMPLETE"
    assert body["results"] == [
        {"from": {"id": contact}, "to": {"id": company}, "associationSpec": spec(279, "HUBSPOT_DEFINED")},
        {"from": {"id": company}, "to": {"id": contact}, "associationSpec": spec(280, "HUBSPOT_DEFINED")},
    ]
    assert [type_ids(r) for r in associated(client, "companies", company, "contacts")] == [[280]]


@pytest.mark.parametrize("family", RECORD_FAMILIES)
def test_delete_removes_every_type_in_both_directions(client, family):
    contact, company = create_contact(client), create_company(client)
    url = f"{family}/contacts/{contact}/associations/companies/{company}"
    assert client.put(url, json=[spec(PRIMARY, "HUBSPOT_DEFINED")]).status_code == 201
    assert type_ids(associated(client, "contacts", contact, "companies")[0]) == [PRIMARY, CONTACT_TO_COMPANY]
    response = client.delete(url)
    assert response.status_code == 204
    assert response.content == b""
    assert associated(client, "contacts", contact, "companies") == []
    assert associated(client, "companies", company, "contacts") == []
    assert client.delete(url).status_code == 204  # nothing left to remove: still 204


@pytest.mark.parametrize("archived", ["contacts", "companies"])
def test_associations_disappear_when_either_record_is_archived(client, archived):
    contact, company = create_contact(client), create_company(client)
    client.put(f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}")
    assert client.delete(f"{V3}/{archived}/{contact if archived == 'contacts' else company}").status_code == 204
    if archived == "companies":
        assert associated(client, "contacts", contact, "companies") == []
        assert "associations" not in read(client, "contacts", contact, associations="companies").json()
    else:
        assert associated(client, "companies", company, "contacts") == []
        assert "associations" not in read(client, "companies", company, associations="contacts").json()


def test_list_pages_by_target_record_with_after(client):
    contact = create_contact(client)
    companies = sorted((create_company(client, f"c{n}") for n in range(7)), key=int)
    inputs = [{"from": {"id": contact}, "to": {"id": c}} for c in companies]
    assert (
        client.post(f"{PAIR_V4}/contacts/companies/batch/associate/default", json={"inputs": inputs}).status_code == 200
    )
    seen, after, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"after": after} if after else {})}
        body = client.get(f"/crm/v4/objects/contacts/{contact}/associations/companies", params=params).json()
        seen += [str(r["toObjectId"]) for r in body["results"]]
        pages += 1
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            break
    assert seen == companies
    assert pages == 3


@pytest.mark.parametrize("limit", [0, 501])
def test_list_limit_is_1_to_500(client, limit):
    contact = create_contact(client)
    url = f"/crm/v4/objects/contacts/{contact}/associations/companies"
    assert_error(client.get(url, params={"limit": limit}), 400, "VALIDATION_ERROR")


def test_labelled_put_errors_name_what_to_fix(client):
    contact, company = create_contact(client), create_company(client)
    url = f"/crm/v4/objects/contacts/{contact}/associations/companies"
    missing = assert_error(client.put(f"{url}/999999", json=[spec(279, "HUBSPOT_DEFINED")]), 400, "VALIDATION_ERROR")
    assert "0-2 record 999999 does not exist" in missing["message"]
    unknown = assert_error(client.put(f"{url}/{company}", json=[spec(987654)]), 400, "VALIDATION_ERROR")
    assert "987654" in unknown["message"]
    wrong_pair = assert_error(
        client.put(f"{url}/{company}", json=[spec(204, "HUBSPOT_DEFINED")]), 400, "VALIDATION_ERROR"
    )
    assert "expected: 0-27" in wrong_pair["message"]
    task_type = spec(203, "HUBSPOT_DEFINED")  # contact → task, not contact → company
    assert (
        "not to 0-2"
        in assert_error(client.put(f"{url}/{company}", json=[task_type]), 400, "VALIDATION_ERROR")["message"]
    )
    assert_error(client.put(f"{url}/{company}", json={"not": "a list"}), 400, "VALIDATION_ERROR")
    assert associated(client, "contacts", contact, "companies") == []


# --- batch -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [PAIR_V4, PAIR_DATED])
def test_batch_create_201_then_207_for_inputs_that_cannot_be_written(client, prefix):
    contact, company = create_contact(client), create_company(client)
    [manager] = create_label(client, "Owner")
    ok = {"from": {"id": contact}, "to": {"id": company}, "types": [spec(manager["typeId"])]}
    response = client.post(f"{prefix}/contacts/companies/batch/create", json={"inputs": [ok]})
    assert response.status_code == 201, response.text
    assert response.json()["results"][0]["labels"] == ["Owner"]

    other = create_company(client, "Other")
    inputs = [
        {"from": {"id": contact}, "to": {"id": other}, "types": [spec(PRIMARY, "HUBSPOT_DEFINED")]},
        {"from": {"id": contact}, "to": {"id": "999999"}, "types": [spec(manager["typeId"])]},
        {"from": {"id": "888888"}, "to": {"id": other}, "types": [spec(manager["typeId"])]},
        {"from": {"id": contact}, "to": {"id": other}, "types": [spec(987654)]},
    ]
    response = client.post(f"{prefix}/contacts/companies/batch/create", json={"inputs": inputs})
    assert response.status_code == 207, response.text
    body = response.json()
    assert [r["toObjectId"] for r in body["results"]] == [int(other)]
    assert body["numErrors"] == 3
    contexts = [e["context"] for e in body["errors"]]
    assert {"toObjectId": ["999999"], "toObjectTypeId": ["0-2"]} in contexts
    assert {"fromObjectId": ["888888"], "fromObjectTypeId": ["0-1"]} in contexts
    assert [type_ids(r) for r in associated(client, "contacts", contact, "companies")] == [
        [CONTACT_TO_COMPANY, manager["typeId"]],
        [PRIMARY, CONTACT_TO_COMPANY],
    ]


def test_batch_associate_default_answers_200_listing_failed_inputs(client):
    contact, company = create_contact(client), create_company(client)
    inputs = [{"from": {"id": contact}, "to": {"id": company}}, {"from": {"id": contact}, "to": {"id": "999999"}}]
    response = client.post(f"{PAIR_DATED}/contacts/companies/batch/associate/default", json={"inputs": inputs})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["results"]) == 2  # one association, both directions
    assert body["numErrors"] == 1
    assert body["errors"][0]["context"]["toObjectId"] == ["999999"]


@pytest.mark.parametrize("prefix", [PAIR_V4, PAIR_DATED])
def test_batch_read_200_then_207_for_records_without_associations(client, prefix):
    contact, company = create_contact(client), create_company(client)
    client.put(f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}")
    url = f"{prefix}/contacts/companies/batch/read"
    response = client.post(url, json={"inputs": [{"id": contact}]})
    assert response.status_code == 200, response.text
    assert response.json()["results"] == [
        {
            "from": {"id": contact},
            "to": [
                {
                    "toObjectId": int(company),
                    "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": CONTACT_TO_COMPANY, "label": None}],
                }
            ],
        }
    ]
    lonely = create_contact(client)
    response = client.post(url, json={"inputs": [{"id": contact}, {"id": lonely}]})
    assert response.status_code == 207, response.text
    [error] = response.json()["errors"]
    assert error["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert error["context"] == {"fromObjectId": [lonely]}


@pytest.mark.parametrize(("prefix", "status"), [(PAIR_V4, 204), (PAIR_DATED, 200)])
def test_batch_archive_removes_pairs_204_in_v4_and_200_in_2026_03(client, prefix, status):
    contact, kept, dropped = create_contact(client), create_company(client, "kept"), create_company(client, "dropped")
    inputs = [{"from": {"id": contact}, "to": {"id": c}} for c in (kept, dropped)]
    client.post(f"{PAIR_V4}/contacts/companies/batch/associate/default", json={"inputs": inputs})
    body = {"inputs": [{"from": {"id": contact}, "to": [{"id": dropped}]}]}
    response = client.post(f"{prefix}/contacts/companies/batch/archive", json=body)
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["status"] == "COMPLETE"
    else:
        assert response.content == b""
    assert [r["toObjectId"] for r in associated(client, "contacts", contact, "companies")] == [int(kept)]
    assert associated(client, "companies", dropped, "contacts") == []


@pytest.mark.parametrize(("prefix", "status"), [(PAIR_V4, 204), (PAIR_DATED, 200)])
def test_batch_labels_archive_keeps_the_unlabeled_association(client, prefix, status):
    contact, company = create_contact(client), create_company(client)
    manager, employer = create_label(client, "Lead", "Led")
    client.put(f"/crm/v4/objects/contacts/{contact}/associations/companies/{company}", json=[spec(manager["typeId"])])
    body = {"inputs": [{"from": {"id": contact}, "to": {"id": company}, "types": [spec(manager["typeId"])]}]}
    response = client.post(f"{prefix}/contacts/companies/batch/labels/archive", json=body)
    assert response.status_code == status, response.text
    assert [type_ids(r) for r in associated(client, "contacts", contact, "companies")] == [[CONTACT_TO_COMPANY]]
    assert [type_ids(r) for r in associated(client, "companies", company, "contacts")] == [[280]]


@pytest.mark.parametrize(
    ("action", "limit", "item"),
    [
        ("read", 1000, {"id": "1"}),
        ("create", 2000, {"from": {"id": "1"}, "to": {"id": "2"}, "types": [spec(279, "HUBSPOT_DEFINED")]}),
        ("archive", 100, {"from": {"id": "1"}, "to": [{"id": "2"}]}),
    ],
)
def test_batch_limits_are_hubspots(client, action, limit, item):
    url = f"{PAIR_V4}/contacts/companies/batch/{action}"
    body = assert_error(client.post(url, json={"inputs": [item] * (limit + 1)}), 400, "VALIDATION_ERROR")
    assert f"is {limit}." in body["message"]


# --- labels API ------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [LABELS_V4, PAIR_V4, PAIR_DATED])
def test_labels_list_hubspot_defined_types_and_the_portals_labels(client, prefix):
    [unpaired] = create_label(client, "Partner")
    response = client.get(f"{prefix}/contacts/companies/labels")
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results[:2] == [
        {
            "category": "HUBSPOT_DEFINED",
            "typeId": PRIMARY,
            "label": "Primary",
            "fromObjectTypeId": "0-1",
            "toObjectTypeId": "0-2",
        },
        {
            "category": "HUBSPOT_DEFINED",
            "typeId": 279,
            "label": None,
            "fromObjectTypeId": "0-1",
            "toObjectTypeId": "0-2",
        },
    ]
    assert unpaired in results
    back = client.get(f"{prefix}/companies/contacts/labels").json()["results"]
    assert {"category": "USER_DEFINED", "typeId": unpaired["typeId"], "label": "Partner"} == {
        k: v for k, v in back[-1].items() if k in ("category", "typeId", "label")
    }


def test_paired_label_has_one_id_per_direction_unpaired_one_id(client):
    manager, employer = create_label(client, "Boss", "Report")
    assert employer["typeId"] == manager["typeId"] + 1
    assert (manager["fromObjectTypeId"], employer["fromObjectTypeId"]) == ("0-1", "0-2")
    [peer] = create_label(client, "Peer", pair="contacts/contacts")
    contact, other = create_contact(client), create_contact(client)
    client.put(f"/crm/v4/objects/contacts/{contact}/associations/contacts/{other}", json=[spec(peer["typeId"])])
    assert peer["typeId"] in type_ids(associated(client, "contacts", other, "contacts")[0])


def test_labels_rename_with_put_204(client):
    manager, employer = create_label(client, "Chief", "Staff")
    body = {"associationTypeId": manager["typeId"], "label": "Head", "inverseLabel": "Team"}
    response = client.put(f"{LABELS_V4}/contacts/companies/labels", json=body)
    assert response.status_code == 204, response.text
    labels = {r["typeId"]: r["label"] for r in client.get(f"{LABELS_V4}/contacts/companies/labels").json()["results"]}
    assert labels[manager["typeId"]] == "Head"
    inverse = client.get(f"{LABELS_V4}/companies/contacts/labels").json()["results"]
    assert {r["typeId"]: r["label"] for r in inverse}[employer["typeId"]] == "Team"
    [unpaired] = create_label(client, "Solo")
    body = {"associationTypeId": unpaired["typeId"], "label": "Solo", "inverseLabel": "Duo"}
    assert_error(client.put(f"{LABELS_V4}/contacts/companies/labels", json=body), 400, "VALIDATION_ERROR")


def test_deleting_a_label_keeps_records_associated_unlabeled(client):
    contact, company = create_contact(client), create_company(client)
    manager, employer = create_label(client, "Mentor", "Mentee")
    client.put(f"/crm/v4/objects/contacts/{contact}/associations/companies/{company}", json=[spec(manager["typeId"])])
    response = client.delete(f"{LABELS_V4}/contacts/companies/labels/{employer['typeId']}")
    assert response.status_code == 204, response.text
    remaining = {r["typeId"] for r in client.get(f"{LABELS_V4}/contacts/companies/labels").json()["results"]}
    assert manager["typeId"] not in remaining
    assert [type_ids(r) for r in associated(client, "contacts", contact, "companies")] == [[CONTACT_TO_COMPANY]]
    assert [type_ids(r) for r in associated(client, "companies", company, "contacts")] == [[280]]


def test_label_errors(client):
    url = f"{LABELS_V4}/contacts/companies/labels"
    assert_error(client.delete(f"{url}/279"), 400, "VALIDATION_ERROR")
    assert_error(client.delete(f"{url}/99999"), 404, "OBJECT_NOT_FOUND")
    assert_error(client.delete(f"{url}/abc"), 400, "VALIDATION_ERROR")
    assert_error(client.post(url, json={"name": "no_label"}), 400, "VALIDATION_ERROR")
    assert client.post(url, json={"label": "Twin", "name": "twin"}).status_code == 200
    assert_error(client.post(url, json={"label": "Twin again", "name": "twin"}), 409, "OBJECT_ALREADY_EXISTS")
    assert_error(client.get(f"{LABELS_V4}/contacts/nonsense/labels"), 400, "VALIDATION_ERROR")


def test_user_defined_labels_work_in_v3_batch_create_inline_associations(client):
    [partner] = create_label(client, "Supplier", pair="companies/contacts")
    contact = create_contact(client)
    inputs = [
        {
            "properties": {"name": "Supply Co"},
            "associations": [{"to": {"id": contact}, "types": [spec(partner["typeId"])]}],
        }
    ]
    response = client.post(f"{V3}/companies/batch/create", json={"inputs": inputs})
    assert response.status_code == 201, response.text
    company = response.json()["results"][0]["id"]
    [back] = associated(client, "contacts", contact, "companies")
    assert back["toObjectId"] == int(company)
    assert {"category": "USER_DEFINED", "typeId": partner["typeId"], "label": "Supplier"} in back["associationTypes"]
