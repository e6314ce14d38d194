"""Value validation and normalization per property type, against HubSpot's default definitions."""

from __future__ import annotations

import json

import pytest

from localspot.crm import values
from localspot.crm.catalog import Catalog, complete_property, default_definitions
from localspot.crm.definitions import MAX_UNIQUE_VALUE_LENGTH, PropertyDefinition, TypeSchema
from localspot.crm.values import (
    InvalidValue,
    PropertyError,
    as_text,
    check_value,
    missing_required,
    normalize,
    normalize_ahead,
    normalize_properties,
    property_values_error,
)

MIDNIGHT_2024 = 1704067200000  # 2024-01-01T00:00:00Z


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.build(7, 0, default_definitions(0))


@pytest.fixture(scope="module")
def tasks(catalog: Catalog) -> TypeSchema:
    return catalog.resolve("tasks")


@pytest.fixture(scope="module")
def contacts(catalog: Catalog) -> TypeSchema:
    return catalog.resolve("contacts")


def custom(**partial: object) -> PropertyDefinition:
    base = {"name": "p", "label": "p", "groupName": "g", **partial}
    return PropertyDefinition.from_wire(complete_property(base, 0, hubspot_defined=False))


def bad(prop: PropertyDefinition, raw: object, current: str | None = None) -> InvalidValue:
    with pytest.raises(InvalidValue) as caught:
        normalize(prop, raw, current)
    return caught.value


NUMBER = custom(type="number", fieldType="number")
BOOL = custom(type="bool", fieldType="booleancheckbox")
DATE = custom(type="date", fieldType="date")
DATETIME = custom(type="datetime", fieldType="date")
TEXT = custom(type="string", fieldType="text")
OPTIONS = [{"label": x, "value": x} for x in ("a", "b", "c")]
SELECT = custom(type="enumeration", fieldType="select", options=OPTIONS)
CHECKBOX = custom(type="enumeration", fieldType="checkbox", options=OPTIONS)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("17", "17"), ("2.5", "2.5"), (" 3 ", "3"), ("17.0", "17"), ("-4", "-4"), ("1e3", "1000"), ("0.10", "0.1")],
)
def test_number_is_stored_in_canonical_form(raw, stored):
    assert normalize(NUMBER, raw, None) == stored


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("12345678901234567890123456789012", "12345678901234567890123456789012"),
        ("1e30", "1" + "0" * 30),
        ("1e-30", "0." + "0" * 29 + "1"),
        ("-0", "0"),
        ("0.000", "0"),
    ],
)
def test_numbers_beyond_decimals_default_precision_are_kept_exactly(raw, stored):
    assert normalize(NUMBER, raw, None) == stored


@pytest.mark.parametrize("raw", ["abc", "1,5", "NaN", "Infinity", "12abc", "1e400", "1e-400", "1e999999999"])
def test_bad_numbers_are_invalid_long(raw):
    error = bad(NUMBER, raw)
    assert (error.code, error.message) == ("INVALID_LONG", f"{raw} was not a valid long.")


@pytest.mark.parametrize(("raw", "stored"), [("true", "true"), ("TRUE", "true"), ("yes", "true"), ("1", "true")])
def test_true_words(raw, stored):
    assert normalize(BOOL, raw, None) == stored


@pytest.mark.parametrize("raw", ["false", "False", "no", "0"])
def test_false_words(raw):
    assert normalize(BOOL, raw, None) == "false"


def test_bad_bool_is_invalid_boolean():
    assert bad(BOOL, "maybe").code == "INVALID_BOOLEAN"


def test_enumeration_takes_an_option_value_exactly(tasks):
    status = tasks.properties["hs_task_status"]
    assert normalize(status, "COMPLETED", None) == "COMPLETED"
    error = bad(status, "completed")
    assert error.code == "INVALID_OPTION"
    assert (
        error.message
        == "completed was not one of the allowed options: [COMPLETED, DEFERRED, IN_PROGRESS, NOT_STARTED, WAITING]"
    )


def test_single_select_does_not_split_on_semicolons():
    assert bad(SELECT, "a;b").code == "INVALID_OPTION"


def test_multi_select_replaces_with_semicolon_separated_values():
    assert normalize(CHECKBOX, "a;b", "c") == "a;b"
    assert normalize(CHECKBOX, "b;a;b", None) == "b;a"


def test_multi_select_leading_semicolon_appends():
    assert normalize(CHECKBOX, ";b", "a") == "a;b"
    assert normalize(CHECKBOX, ";a;c", "a;b") == "a;b;c"
    assert normalize(CHECKBOX, ";b", None) == "b"


def test_multi_select_reports_the_bad_options():
    error = bad(CHECKBOX, "a;x;y")
    assert error.code == "INVALID_OPTION"
    assert error.message.startswith("x;y was not one of the allowed options: [a, b, c]")


def test_owner_reference_must_be_an_integer(tasks):
    owner = tasks.properties["hubspot_owner_id"]
    assert normalize(owner, "12345", None) == "12345"
    assert normalize(owner, 12345, None) == "12345"
    error = bad(owner, "alice")
    assert (error.code, error.message) == ("INVALID_INTEGER", "alice was not a valid integer.")


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z"),
        ("2024-01-01T10:20:30.5Z", "2024-01-01T10:20:30.500Z"),
        ("2024-01-01T12:00:00+02:00", "2024-01-01T10:00:00.000Z"),
        ("2024-01-01", "2024-01-01T00:00:00.000Z"),
        ("1704067200123", "2024-01-01T00:00:00.123Z"),
        (1704067200123, "2024-01-01T00:00:00.123Z"),
    ],
)
def test_datetime_accepts_iso_and_epoch_ms_and_answers_iso_with_ms(raw, stored):
    assert normalize(DATETIME, raw, None) == stored


@pytest.mark.parametrize("raw", ["next tuesday", "2024-13-01T00:00:00Z", "99999999999999999999", "-99999999999999"])
def test_bad_or_out_of_range_datetime_is_invalid_long(raw):
    assert bad(DATETIME, raw).code == "INVALID_LONG"


def test_datetime_edges_of_the_calendar():
    assert normalize(DATETIME, "0001-01-01T00:00:00Z", None) == "0001-01-01T00:00:00.000Z"
    assert normalize(DATETIME, "-1", None) == "1969-12-31T23:59:59.999Z"


@pytest.mark.parametrize("raw", ["2024-01-01", str(MIDNIGHT_2024), MIDNIGHT_2024, "2024-01-01T00:00:00Z"])
def test_date_at_midnight_utc(raw):
    assert normalize(DATE, raw, None) == "2024-01-01"


@pytest.mark.parametrize(
    "raw", [str(MIDNIGHT_2024 + 1000), "2024-01-01T10:00:00Z", "2024-02-30", "soon", str(86_400_000 * 10**9)]
)
def test_date_not_at_midnight_is_invalid_date(raw):
    assert bad(DATE, raw).code == "INVALID_DATE"


def test_email_is_lower_cased(contacts):
    assert normalize(contacts.properties["email"], " Jane.Doe@Example.COM ", None) == "jane.doe@example.com"


@pytest.mark.parametrize("raw", ["not-an-email", "a@b", "a b@example.com", "a@@example.com"])
def test_invalid_email(contacts, raw):
    error = bad(contacts.properties["email"], raw)
    assert (error.code, error.message) == ("INVALID_EMAIL", f"Email address {raw} is invalid")


def test_nul_is_refused():
    assert bad(TEXT, "a\x00b").code == "INVALID_PROPERTY_VALUE"


@pytest.mark.parametrize("raw", ["²", "١٢٣", "1-2"])
def test_owner_reference_takes_ascii_digits_only(tasks, raw):
    assert bad(tasks.properties["hubspot_owner_id"], raw).code == "INVALID_INTEGER"


@pytest.mark.parametrize("raw", ["²", "١٢٣٤"])
def test_datetime_takes_ascii_digits_only(raw):
    assert bad(DATETIME, raw).code == "INVALID_LONG"


def test_text_is_kept_as_sent():
    assert normalize(TEXT, "  Mixed Case  ", None) == "  Mixed Case  "


@pytest.mark.parametrize(
    ("raw", "text"), [(True, "true"), (False, "false"), (17, "17"), (2.5, "2.5"), (3.0, "3"), ("x", "x")]
)
def test_json_numbers_and_booleans_become_strings(raw, text):
    assert as_text(raw) == text


def test_json_coercion_then_type_rules():
    assert normalize(NUMBER, 17, None) == "17"
    assert normalize(BOOL, True, None) == "true"
    assert normalize(TEXT, 12.5, None) == "12.5"


@pytest.mark.parametrize("raw", [{"a": 1}, [1, 2]])
def test_objects_and_lists_are_not_values(raw):
    assert bad(TEXT, raw).code == "INVALID_PROPERTY_VALUE"


@pytest.mark.parametrize("prop", [NUMBER, BOOL, DATE, DATETIME, TEXT, SELECT, CHECKBOX])
def test_empty_string_clears(prop):
    assert normalize(prop, "", "something") is None


def test_normalize_properties_collects_every_problem(tasks):
    raw = {
        "hs_task_subject": "fine",
        "hs_task_status": "NOPE",
        "no_such": "x",
        "hs_object_id": "1",
        "hs_task_is_overdue": "true",
        "hs_timestamp": MIDNIGHT_2024,
    }
    values, problems = normalize_properties(tasks, raw)
    assert values == {"hs_task_subject": "fine", "hs_timestamp": "2024-01-01T00:00:00.000Z"}
    assert [(p.name, p.code) for p in problems] == [
        ("hs_task_status", "INVALID_OPTION"),
        ("no_such", "PROPERTY_DOESNT_EXIST"),
        ("hs_object_id", "READ_ONLY_VALUE"),
        ("hs_task_is_overdue", "READ_ONLY_VALUE"),
    ]
    assert problems[1].message == 'Property "no_such" does not exist'


def test_normalize_properties_appends_to_the_current_multi_select():
    schema = TypeSchema(Catalog.build(7, 0, []).resolve("tasks").object_type, {"p": CHECKBOX})
    values, problems = normalize_properties(schema, {"p": ";c"}, {"p": "a"})
    assert (values, problems) == ({"p": "a;c"}, [])


def test_property_values_error_is_hubspots_400():
    problems = [PropertyError("a", "INVALID_OPTION", "x was bad"), *missing_required(["hs_timestamp"])]
    error = property_values_error(problems, 42)
    assert (error.status, error.category) == (400, "VALIDATION_ERROR")
    prefix = "Property values were not valid: "
    assert error.message.startswith(prefix)
    assert json.loads(error.message[len(prefix) :]) == [
        {
            "isValid": False,
            "message": "x was bad",
            "error": "INVALID_OPTION",
            "name": "a",
            "localizedErrorMessage": "x was bad",
            "portalId": 42,
        },
        {
            "isValid": False,
            "message": 'Property "hs_timestamp" is required.',
            "error": "REQUIRED_PROPERTY",
            "name": "hs_timestamp",
            "localizedErrorMessage": 'Property "hs_timestamp" is required.',
            "portalId": 42,
        },
    ]
    assert error.errors == [
        {"message": "x was bad", "code": "INVALID_OPTION", "context": {"propertyName": ["a"]}},
        {
            "message": 'Property "hs_timestamp" is required.',
            "code": "REQUIRED_PROPERTY",
            "context": {"propertyName": ["hs_timestamp"]},
        },
    ]


# --- the memo of normalized values (values.check_value) --------------------------------------------


def fresh_tasks() -> TypeSchema:
    """A catalog of its own: the memo belongs to one catalog version, and these tests count its entries."""
    return Catalog.build(7, 0, default_definitions(0)).resolve("tasks")


def test_a_value_is_normalized_once_per_catalog_version():
    schema = fresh_tasks()
    assert check_value(schema, "hs_timestamp", "1704067200000", None) == "2024-01-01T00:00:00.000Z"
    assert schema.normalized[("hs_timestamp", str, "1704067200000")] == ("2024-01-01T00:00:00.000Z", None)
    assert check_value(schema, "hs_timestamp", "1704067200000", None) == "2024-01-01T00:00:00.000Z"
    assert len(schema.normalized) == 1
    assert fresh_tasks().normalized == {}  # a new catalog (a definition changed) starts empty


def test_a_remembered_bad_value_fails_the_same_way_every_time():
    schema = fresh_tasks()
    errors = []
    for _ in range(2):
        with pytest.raises(InvalidValue) as caught:
            check_value(schema, "hs_task_status", "DONE", None)
        errors.append((caught.value.code, caught.value.message))
    assert errors[0] == errors[1]
    assert errors[0][0] == "INVALID_OPTION"
    with pytest.raises(InvalidValue, match="does not exist"):
        check_value(schema, "no_such_property", "x", None)
    with pytest.raises(InvalidValue, match="does not exist"):
        check_value(schema, "no_such_property", "x", None)


def test_the_memo_tells_json_types_apart():
    schema = fresh_tasks()
    # True == 1 in Python, so a memo keyed by the value alone would answer "true" for 1.
    assert check_value(schema, "hs_task_subject", True, None) == "true"
    assert check_value(schema, "hs_task_subject", 1, None) == "1"
    assert check_value(schema, "hs_task_subject", 1.5, None) == "1.5"


def test_an_appended_multi_select_depends_on_the_record_and_is_never_remembered():
    schema = TypeSchema(fresh_tasks().object_type, {"p": CHECKBOX})
    assert check_value(schema, "p", ";b", "a") == "a;b"
    assert check_value(schema, "p", ";b", "c") == "c;b"
    assert schema.normalized == {}


def test_unhashable_values_are_checked_without_the_memo():
    schema = fresh_tasks()
    with pytest.raises(InvalidValue) as caught:
        check_value(schema, "hs_task_subject", ["a"], None)
    assert caught.value.code == "INVALID_PROPERTY_VALUE"
    assert schema.normalized == {}


def test_the_memo_starts_over_when_full(monkeypatch):
    monkeypatch.setattr(values, "NORMALIZED_MEMO_SIZE", 3)
    schema = fresh_tasks()
    for n in range(7):
        check_value(schema, "hs_task_subject", f"s{n}", None)
        assert len(schema.normalized) <= 3
    assert ("hs_task_subject", str, "s6") in schema.normalized


def test_normalize_ahead_collects_problems_and_leaves_multi_selects_to_the_transaction():
    schema = TypeSchema(fresh_tasks().object_type, {**fresh_tasks().properties, "p": CHECKBOX})
    changes, problems = normalize_ahead(schema, {"hs_task_subject": "a", "hs_task_status": "DONE", "hs_task_body": ""})
    assert changes == {"hs_task_subject": "a", "hs_task_body": None}
    assert [(p.name, p.code) for p in problems] == [("hs_task_status", "INVALID_OPTION")]
    # `;b` appends to what the record holds: only the transaction, which reads the record, can tell.
    assert normalize_ahead(schema, {"hs_task_subject": "a", "p": ";b"}) is None


@pytest.mark.parametrize("type_name", ["tasks", "contacts", "deals"])
def test_values_stored_verbatim_agree_with_check_value(catalog, type_name):
    """normalize_properties skips check_value for text and single-select options (verbatim_properties):
    for every default property, each kind of value must come out as check_value makes it."""
    schema = catalog.resolve(type_name)
    verbatim = values.verbatim_properties(schema)
    assert "hs_object_id" not in verbatim and "email" not in verbatim  # read-only; checked as an address
    assert any(rule is None for rule in verbatim.values())
    assert any(isinstance(rule, frozenset) and rule for rule in verbatim.values())
    for name, prop in schema.properties.items():
        samples = [
            "plain text",
            "",
            "nul\x00inside",
            " padded ",
            *sorted(prop.options)[:2],
            "NOT_AN_OPTION",
            "k" * 1001,
        ]
        for sample in samples:
            changes, problems = normalize_properties(schema, {name: sample})
            try:
                expected = check_value(fresh(schema), name, sample, None)
            except InvalidValue as invalid:
                assert [(p.name, p.code) for p in problems] == [(name, invalid.code)], (name, sample)
            else:
                assert changes == {name: expected} and not problems, (name, sample)


def fresh(schema: TypeSchema) -> TypeSchema:
    """The same definitions with an empty memo and no verbatim rules: check_value's own answer."""
    return TypeSchema(schema.object_type, schema.properties)


def test_unique_text_is_stored_as_sent_up_to_its_length_limit_without_the_memo():
    """A unique text property's values (a batch upsert's keys, most of them seen once) skip check_value
    and its memo too, up to MAX_UNIQUE_VALUE_LENGTH characters; past it, check_value refuses them."""
    key = custom(type="string", fieldType="text", name="ext_key", hasUniqueValue=True)
    base = fresh_tasks()
    schema = TypeSchema(base.object_type, {**base.properties, "ext_key": key})
    assert values.verbatim_properties(schema)["ext_key"] == MAX_UNIQUE_VALUE_LENGTH
    for sample in ["k-1", "k" * MAX_UNIQUE_VALUE_LENGTH, "k" * (MAX_UNIQUE_VALUE_LENGTH + 1), "", "nul\x00"]:
        changes, problems = normalize_properties(schema, {"ext_key": sample})
        try:
            expected = check_value(fresh(schema), "ext_key", sample, None)
        except InvalidValue as invalid:
            assert [(p.name, p.code) for p in problems] == [("ext_key", invalid.code)], sample
        else:
            assert changes == {"ext_key": expected} and not problems, sample
    remembered = [key for key in schema.normalized if key[0] == "ext_key"]
    assert len(remembered) == 3  # the refused and the empty one went through check_value; the others did not
