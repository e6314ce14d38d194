"""Property value validation and normalization, per property type, with HubSpot's error codes.

Values travel as strings in both directions. Clients also send JSON numbers and booleans, which HubSpot
accepts, so those are coerced first. Every bad value of an input is reported at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from localspot.crm.definitions import MAX_UNIQUE_VALUE_LENGTH, PropertyDefinition, TypeSchema
from localspot.crm.errors import HubSpotError, validation_error
from localspot.crm.timestamps import iso_from_ms, parse_instant_ms, parse_midnight_date

EMAIL_RE = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[A-Za-z]{2,}$")
TRUE_WORDS = {"true", "yes", "1"}
FALSE_WORDS = {"false", "no", "0"}


@dataclass(frozen=True)
class PropertyError:
    """One bad property value, in the fields HubSpot's "Property values were not valid" entries use."""

    name: str
    code: str
    message: str


class InvalidValue(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def as_text(raw: Any) -> str:
    """JSON numbers and booleans arrive from real clients; HubSpot stores their string forms."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return _number_text(Decimal(str(raw)))
    raise InvalidValue("INVALID_PROPERTY_VALUE", f"{orjson.dumps(raw).decode()} is not a string, number or boolean")


def _number_text(value: Decimal) -> str:
    """Plain decimal notation without trailing zeros; exact, so no digit is rounded away or overflows
    Decimal's 28-digit context (`quantize` and `normalize` would)."""
    if value.is_zero():
        return "0"  # also for -0 and 0.000
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _number(prop: PropertyDefinition, text: str) -> str:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = None
    # Beyond a double's range HubSpot cannot store the number; it also bounds the text `1e999999999` becomes.
    if value is None or not value.is_finite() or not (value.is_zero() or -324 <= value.adjusted() <= 308):
        raise InvalidValue("INVALID_LONG", f"{text} was not a valid long.")
    return _number_text(value)


def _bool(prop: PropertyDefinition, text: str) -> str:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return "true"
    if word in FALSE_WORDS:
        return "false"
    raise InvalidValue("INVALID_BOOLEAN", f"{text} was not a valid boolean (use true or false).")


def _datetime(prop: PropertyDefinition, text: str) -> str:
    ms = parse_instant_ms(text)
    if ms is None:
        raise InvalidValue("INVALID_LONG", f"{text} was not a valid long.")
    return iso_from_ms(ms)


def _date(prop: PropertyDefinition, text: str) -> str:
    day = parse_midnight_date(text)
    if day is None:
        raise InvalidValue(
            "INVALID_DATE",
            f"{text} is not a valid date: use YYYY-MM-DD or a timestamp at midnight UTC.",
        )
    return day.isoformat()


def _options_message(text: str, prop: PropertyDefinition) -> str:
    allowed = ", ".join(sorted(prop.options))
    return f"{text} was not one of the allowed options: [{allowed}]"


def _enumeration(prop: PropertyDefinition, text: str, current: str | None) -> str:
    if prop.external_options:
        # Owner-style references: HubSpot checks the id is an integer (INVALID_INTEGER).
        digits = text.strip().removeprefix("-")
        if not (digits.isascii() and digits.isdigit()):
            raise InvalidValue("INVALID_INTEGER", f"{text} was not a valid integer.")
        return text.strip()
    if not prop.multi_select:
        if text not in prop.options:
            raise InvalidValue("INVALID_OPTION", _options_message(text, prop))
        return text
    return _multi_select(prop, text, current)


def _multi_select(prop: PropertyDefinition, text: str, current: str | None) -> str:
    """`a;b` replaces the selection; a leading `;` appends to what the record holds already."""
    appending = text.startswith(";")
    chosen = [v for v in text.split(";") if v]
    bad = [v for v in chosen if v not in prop.options]
    if bad:
        raise InvalidValue("INVALID_OPTION", _options_message(";".join(bad), prop))
    if appending and current:
        existing = current.split(";")
        chosen = existing + [v for v in chosen if v not in existing]
    return ";".join(dict.fromkeys(chosen))


def _string(prop: PropertyDefinition, text: str) -> str:
    if prop.name == "email":
        address = text.strip().lower()
        if not EMAIL_RE.match(address):
            raise InvalidValue("INVALID_EMAIL", f"Email address {text} is invalid")
        return address
    return text


_SIMPLE = {"number": _number, "bool": _bool, "datetime": _datetime, "date": _date}


def normalize(prop: PropertyDefinition, raw: Any, current: str | None) -> str | None:
    """The stored form of one value; None means "clear it" (HubSpot clears on an empty string)."""
    text = as_text(raw)
    if text == "":
        return None
    if "\x00" in text:  # PostgreSQL cannot store it; refuse it on every backend alike
        raise InvalidValue("INVALID_PROPERTY_VALUE", f"The value of {prop.name} contains a NUL character (\\u0000).")
    if prop.type == "enumeration":
        return _enumeration(prop, text, current)
    convert = _SIMPLE.get(prop.type)
    return convert(prop, text) if convert else _string(prop, text)


# Entries a type's memo of normalized values keeps before it starts over (a few MB at most).
NORMALIZED_MEMO_SIZE = 20_000


def check_value(schema: TypeSchema, name: str, raw: Any, current: str | None) -> str | None:
    """The stored form of one input value, or InvalidValue; remembered per catalog version.

    Normalizing depends on the definition and the value alone, except an appended multi-select (which
    reads the record's `current` value), so the result is kept in `schema.normalized`: a bulk sync
    sends the same statuses, owners and dates over and over, and parses each of them once."""
    prop = schema.properties.get(name)
    if prop is not None and prop.multi_select:  # an appended selection reads the record's current value
        return _check(schema, prop, name, raw, current)
    key = (name, raw.__class__, raw)  # the class too: True == 1, but they are different values
    try:
        remembered = schema.normalized.get(key)
    except TypeError:  # a list or an object: never valid, and not hashable
        return _check(schema, prop, name, raw, current)
    if remembered is None:
        try:
            remembered = (_check(schema, prop, name, raw, current), None)
        except InvalidValue as bad:
            remembered = (None, (bad.code, bad.message))
        if len(schema.normalized) >= NORMALIZED_MEMO_SIZE:
            schema.normalized.clear()
        schema.normalized[key] = remembered
    value, error = remembered
    if error is not None:
        raise InvalidValue(*error)
    return value


def _check(schema: TypeSchema, prop: PropertyDefinition | None, name: str, raw: Any, current: str | None) -> str | None:
    if prop is None:
        raise InvalidValue("PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
    if prop.read_only_value:
        raise InvalidValue("READ_ONLY_VALUE", f'Property "{name}" is read-only; its value cannot be set.')
    value = normalize(prop, raw, current)
    if value is not None and len(value) > MAX_UNIQUE_VALUE_LENGTH and schema.is_unique(name):
        raise InvalidValue(
            "INVALID_PROPERTY_VALUE",
            f"Values of {name}, a property with unique values, are limited to {MAX_UNIQUE_VALUE_LENGTH} characters.",
        )
    return value


def verbatim_properties(schema: TypeSchema) -> dict[str, frozenset[str] | int | None]:
    """The schema's properties whose valid text `normalize` stores as sent: text other than an email (any
    text but the empty one, which clears, and one with a NUL; for a unique property, up to
    MAX_UNIQUE_VALUE_LENGTH characters: that length) and single-select options (those options).
    Read-only ones, and unique ones of other kinds, are left out: `_check` has more to say about them.
    Most of a batch's values are of these kinds, and this spares each of them a call of `check_value`
    (and a batch upsert's new keys, seen once each, a place in its memo)."""
    if schema.verbatim is None:
        rules: dict[str, frozenset[str] | int | None] = {}
        for prop in schema.properties.values():
            if prop.read_only_value:
                continue
            if prop.type == "string" and prop.name != "email":
                rules[prop.name] = MAX_UNIQUE_VALUE_LENGTH if schema.is_unique(prop.name) else None
            elif schema.is_unique(prop.name):
                continue
            elif prop.type == "enumeration" and not prop.multi_select and not prop.external_options:
                rules[prop.name] = frozenset(o for o in prop.options if "\x00" not in o)  # NUL: never valid
        schema.verbatim = rules
    return schema.verbatim


def stored_as_sent(rule: frozenset[str] | int | None, text: str) -> bool:
    """Whether `normalize` stores `text` as sent, by its property's rule in `verbatim_properties`."""
    if rule is None or rule.__class__ is int:  # text; a unique property's, of at most that length
        return bool(text) and "\x00" not in text and (rule is None or len(text) <= rule)
    return text in rule


# An input's stored values by name (None clears one), and the problems of those that are not valid.
Normalized = tuple[dict[str, str | None], list[PropertyError]]


def normalize_ahead(schema: TypeSchema, raw: dict[str, Any]) -> Normalized | None:
    """An input's values normalized before its transaction is opened, or None when one of them depends on
    the record it will write (an appended multi-select), which only the transaction can read."""
    if not schema.multi_select_names.isdisjoint(raw):
        return None
    return normalize_properties(schema, raw)


def normalize_properties(schema: TypeSchema, raw: dict[str, Any], current: dict[str, str] | None = None) -> Normalized:
    """Normalize an input's `properties`, collecting every bad value instead of stopping at the first."""
    current = current or {}
    verbatim = verbatim_properties(schema)
    values: dict[str, str | None] = {}
    problems: list[PropertyError] = []
    for name, value in raw.items():
        if value.__class__ is str and name in verbatim and stored_as_sent(verbatim[name], value):
            values[name] = value  # what check_value would answer, without its call and memo
            continue
        try:
            values[name] = check_value(schema, name, value, current.get(name))
        except InvalidValue as bad:
            problems.append(PropertyError(name, bad.code, bad.message))
    return values, problems


def property_values_error(problems: list[PropertyError], portal_id: int) -> HubSpotError:
    """HubSpot's 400: the message embeds a JSON array, and `errors` carries the structured form."""
    entries = [
        {
            "isValid": False,
            "message": p.message,
            "error": p.code,
            "name": p.name,
            "localizedErrorMessage": p.message,
            "portalId": portal_id,
        }
        for p in problems
    ]
    details = [{"message": p.message, "code": p.code, "context": {"propertyName": [p.name]}} for p in problems]
    message = "Property values were not valid: " + orjson.dumps(entries).decode()
    return validation_error(message, errors=details)


def missing_required(names: list[str]) -> list[PropertyError]:
    return [PropertyError(n, "REQUIRED_PROPERTY", f'Property "{n}" is required.') for n in names]
