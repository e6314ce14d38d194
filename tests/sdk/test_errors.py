"""Every error case of issue 2 point 7, as each SDK sees it and on the wire.

Each non-2xx answer must be HubSpot's envelope (`status: "error"`, `message`, `correlationId`, `category`)
with `Content-Type: application/json;charset=utf-8`, and each SDK must raise its matching exception class.
Raw requests go through the SDKs' own helpers where they can express them (hubspot-api-client's
`client.api_request({...})`, which returns a `requests.Response`; hubspot-sdk's `client.get/post/delete(path,
cast_to=...)`), and through httpx for what no SDK sends (an oversized body).
"""

from __future__ import annotations

import httpx
import pytest

from tests.sdk.conftest import assert_error_envelope

pytestmark = pytest.mark.sdk

UPSERT_V3 = "/crm/v3/objects/tasks/batch/upsert"
UPSERT_2026 = "/crm/objects/2026-03/tasks/batch/upsert"
TEN_MIB = 10 * 1024 * 1024


# --- on the wire, both path families ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "auth", "status", "category", "message"),
    [
        ("GET", "/crm/v3/nothing/here", None, "valid", 404, "OBJECT_NOT_FOUND", None),
        ("GET", "/crm/objects/2026-03/tasks/1/nothing", None, "valid", 404, "OBJECT_NOT_FOUND", None),
        ("DELETE", UPSERT_V3, None, "valid", 405, "VALIDATION_ERROR", None),
        ("PUT", UPSERT_2026, b"{}", "valid", 405, "VALIDATION_ERROR", None),
        ("POST", UPSERT_V3, b'{"inputs": [', "valid", 400, "VALIDATION_ERROR", "Invalid input JSON on line 1, column"),
        ("POST", UPSERT_2026, b"not json", "valid", 400, "VALIDATION_ERROR", "Invalid input JSON on line 1, column 1"),
        ("POST", UPSERT_V3, b'["a list"]', "valid", 400, "VALIDATION_ERROR", None),
        ("POST", UPSERT_V3, b'{"inputs": "x"}', "valid", 400, "VALIDATION_ERROR", None),
        ("GET", "/crm/v3/objects/tasks/1", None, "none", 401, "INVALID_AUTHENTICATION", "Authentication credentials"),
        ("POST", UPSERT_2026, b'{"inputs": []}', "none", 401, "INVALID_AUTHENTICATION", "Authentication credentials"),
        ("GET", "/crm/v3/objects/tasks/1", None, "unknown", 401, "INVALID_AUTHENTICATION", None),
        ("GET", "/crm/v3/objects/widgets/1", None, "valid", 400, "VALIDATION_ERROR", "Unable to infer object type"),
        (
            "POST",
            "/crm/objects/2026-03/widgets/batch/upsert",
            b'{"inputs": []}',
            "valid",
            400,
            "VALIDATION_ERROR",
            None,
        ),
        ("GET", "/crm/v3/properties/widgets", None, "valid", 400, "VALIDATION_ERROR", "Unable to infer object type"),
        ("GET", "/crm/v3/objects/tasks/987654321", None, "valid", 404, "OBJECT_NOT_FOUND", "Object not found."),
        ("GET", "/crm/objects/2026-03/0-27/987654321", None, "valid", 404, "OBJECT_NOT_FOUND", "Object not found."),
        ("GET", "/crm/properties/2026-03/tasks/no_such_prop", None, "valid", 404, "OBJECT_NOT_FOUND", None),
    ],
    ids=[
        "unknown-route-v3",
        "unknown-route-2026",
        "wrong-method-v3",
        "wrong-method-2026",
        "malformed-json-v3",
        "malformed-json-2026",
        "body-not-an-object",
        "inputs-not-a-list",
        "missing-token-get",
        "missing-token-post",
        "unknown-token",
        "unknown-object-type",
        "unknown-object-type-2026",
        "unknown-object-type-properties",
        "record-not-found-v3",
        "record-not-found-2026",
        "property-not-found",
    ],
)
def test_error_envelope_on_the_wire(live_server, method, path, body, auth, status, category, message):
    headers = {"Content-Type": "application/json"}
    if auth == "valid":
        headers["Authorization"] = f"Bearer {live_server.token}"
    elif auth == "unknown":
        headers["Authorization"] = "Bearer pat-na1-not-a-localspot-token"
    response = httpx.request(method, live_server.base_url + path, content=body, headers=headers, timeout=30)
    assert response.status_code == status, response.text
    parsed = assert_error_envelope(response.headers, response.text, category)
    if message:
        assert parsed["message"].startswith(message), parsed["message"]
    if status == 405:
        assert "POST" in response.headers["allow"]


def test_body_over_10_mib_is_413(http):
    padding = "x" * (TEN_MIB + 1024)
    body = (
        b'{"inputs": [{"id": "k", "idProperty": "p", "properties": {"hs_task_subject": "' + padding.encode() + b'"}}]}'
    )
    assert len(body) > TEN_MIB
    response = http.post(UPSERT_V3, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert_error_envelope(response.headers, response.text, "VALIDATION_ERROR")

    # without a Content-Length (chunked), the limit still holds
    def chunks():  # noqa: ANN202
        for start in range(0, len(body), 1024 * 1024):
            yield body[start : start + 1024 * 1024]

    streamed = http.post(UPSERT_2026, content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert_error_envelope(streamed.headers, streamed.text, "VALIDATION_ERROR")

    # the server is still serving after refusing big bodies
    assert http.get("/crm/v3/properties/tasks").status_code == 200


def test_body_just_under_10_mib_is_read(http):
    padding = "x" * (TEN_MIB - 1024)
    body = b'{"inputs": [], "padding": "' + padding.encode() + b'"}'
    assert len(body) <= TEN_MIB
    response = http.post("/crm/v3/objects/tasks/batch/read", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code != 413, response.text


# --- hubspot-api-client 12 -------------------------------------------------------------------------


def _v3(live_server, token: str | None):  # noqa: ANN001, ANN202
    from hubspot import HubSpot

    kwargs = {"access_token": token} if token else {}
    return HubSpot(host=live_server.base_url, base_url=live_server.base_url, **kwargs)


@pytest.mark.parametrize("token", [None, "pat-na1-unknown"], ids=["missing", "unknown"])
def test_v3_bad_token_raises_unauthorized(live_server, token):
    from hubspot.crm.objects.tasks.exceptions import UnauthorizedException
    from hubspot.crm.properties.exceptions import UnauthorizedException as PropertiesUnauthorizedException

    client = _v3(live_server, token)
    with pytest.raises(UnauthorizedException) as raised:
        client.crm.objects.tasks.basic_api.get_by_id("1")
    assert raised.value.status == 401
    assert_error_envelope(raised.value.headers, raised.value.body, "INVALID_AUTHENTICATION")

    with pytest.raises(PropertiesUnauthorizedException):
        client.crm.properties.core_api.get_all(object_type="tasks")


def test_v3_record_not_found_raises_not_found(v3_client):
    from hubspot.crm.objects.exceptions import NotFoundException as GenericNotFoundException
    from hubspot.crm.objects.tasks.exceptions import NotFoundException

    with pytest.raises(NotFoundException) as raised:
        v3_client.crm.objects.tasks.basic_api.get_by_id("987654321")
    assert raised.value.status == 404
    parsed = assert_error_envelope(raised.value.headers, raised.value.body, "OBJECT_NOT_FOUND")
    assert parsed["message"] == "Object not found.  objectId are usually numeric."

    with pytest.raises(GenericNotFoundException):
        v3_client.crm.objects.basic_api.get_by_id(object_type="0-48", object_id="987654321")


def test_v3_unknown_object_type_raises_400(v3_client):
    from hubspot.crm.objects import ApiException
    from hubspot.crm.properties import ApiException as PropertiesApiException

    with pytest.raises(ApiException) as raised:
        v3_client.crm.objects.basic_api.get_by_id(object_type="widgets", object_id="1")
    assert raised.value.status == 400
    parsed = assert_error_envelope(raised.value.headers, raised.value.body, "VALIDATION_ERROR")
    assert parsed["message"] == "Unable to infer object type from: widgets"

    with pytest.raises(PropertiesApiException) as raised_properties:
        v3_client.crm.properties.core_api.get_all(object_type="widgets")
    assert raised_properties.value.status == 400


def test_v3_raw_requests_unknown_route_wrong_method_malformed_json(v3_client):
    unknown = v3_client.api_request({"method": "GET", "path": "/crm/v3/nothing/here"})
    assert unknown.status_code == 404
    assert_error_envelope(unknown.headers, unknown.text, "OBJECT_NOT_FOUND")

    wrong = v3_client.api_request({"method": "DELETE", "path": UPSERT_V3})
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "POST"
    assert_error_envelope(wrong.headers, wrong.text, "VALIDATION_ERROR")

    # a str body goes out as-is, so the raw helper can send broken JSON
    malformed = v3_client.api_request({"method": "POST", "path": UPSERT_V3, "body": '{"inputs": [}'})
    assert malformed.status_code == 400
    parsed = assert_error_envelope(malformed.headers, malformed.text, "VALIDATION_ERROR")
    assert parsed["message"].startswith("Invalid input JSON on line 1, column 13")


# --- hubspot-sdk (Stainless) -----------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "pat-na1-unknown"], ids=["missing", "unknown"])
def test_sdk_bad_token_raises_authentication_error(live_server, token):
    import hubspot_sdk

    with hubspot_sdk.HubSpot(access_token=token, base_url=live_server.base_url, max_retries=0) as client:
        with pytest.raises(hubspot_sdk.AuthenticationError) as raised:
            client.crm.objects.tasks.batch.upsert(
                inputs=[{"id": "k", "id_property": "p", "properties": {"hs_task_subject": "x"}}]
            )
        assert raised.value.status_code == 401
        assert_error_envelope(raised.value.response.headers, raised.value.body, "INVALID_AUTHENTICATION")

        with pytest.raises(hubspot_sdk.AuthenticationError):
            client.crm.properties.list("tasks")


def test_sdk_record_not_found_raises_not_found(sdk_client):
    import hubspot_sdk

    with pytest.raises(hubspot_sdk.NotFoundError) as raised:
        sdk_client.crm.objects.tasks.get("987654321")
    assert raised.value.status_code == 404
    parsed = assert_error_envelope(raised.value.response.headers, raised.value.body, "OBJECT_NOT_FOUND")
    assert parsed["context"]["id"] == ["987654321"]

    with pytest.raises(hubspot_sdk.NotFoundError):
        sdk_client.crm.objects.generic_objects.get("987654321", object_type="0-46")


def test_sdk_unknown_object_type_raises_bad_request(sdk_client):
    import hubspot_sdk

    with pytest.raises(hubspot_sdk.BadRequestError) as raised:
        sdk_client.crm.objects.generic_objects.batch.upsert(
            "widgets", inputs=[{"id": "k", "id_property": "p", "properties": {}}]
        )
    parsed = assert_error_envelope(raised.value.response.headers, raised.value.body, "VALIDATION_ERROR")
    assert parsed["message"] == "Unable to infer object type from: widgets"


def test_sdk_raw_requests_unknown_route_and_wrong_method(sdk_client):
    import hubspot_sdk

    with pytest.raises(hubspot_sdk.NotFoundError) as unknown:
        sdk_client.get("/crm/objects/2026-03/tasks/1/nothing", cast_to=object)
    assert_error_envelope(unknown.value.response.headers, unknown.value.body, "OBJECT_NOT_FOUND")

    # 405 has no class of its own in the Stainless SDK: it is the base APIStatusError
    with pytest.raises(hubspot_sdk.APIStatusError) as wrong:
        sdk_client.delete(UPSERT_2026, cast_to=object)
    assert type(wrong.value) is hubspot_sdk.APIStatusError
    assert wrong.value.status_code == 405
    assert wrong.value.response.headers["allow"] == "POST"
    assert_error_envelope(wrong.value.response.headers, wrong.value.body, "VALIDATION_ERROR")


def test_sdk_body_over_10_mib_raises_413(sdk_client, task_key):
    import hubspot_sdk

    with pytest.raises(hubspot_sdk.APIStatusError) as raised:
        sdk_client.crm.objects.tasks.batch.upsert(
            inputs=[{"id": "k", "id_property": task_key, "properties": {"hs_task_subject": "x" * (TEN_MIB + 1)}}]
        )
    assert raised.value.status_code == 413
    assert_error_envelope(raised.value.response.headers, raised.value.body, "VALIDATION_ERROR")
