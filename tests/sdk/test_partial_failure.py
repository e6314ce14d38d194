"""Calls batch upsert with one invalid `hs_call_status`, as each Python SDK sees it.

Without `objectWriteTraceId`s the whole batch is refused (400) and nothing is written. With a trace id on
every input the valid inputs are written and the answer is 207: hubspot-api-client parses it into the
`...WithErrors` model; hubspot-sdk has no 207 model and keeps `numErrors`/`errors` in `model_extra`.
"""

from __future__ import annotations

import json

import pytest

from tests.sdk.conftest import assert_error_envelope

pytestmark = pytest.mark.sdk

WHEN = "2024-01-01T00:00:00Z"


def _inputs(call_key: str, keys: list[str], trace_ids: bool) -> list[dict]:
    statuses = ["COMPLETED", "NOT_A_STATUS"]
    inputs = []
    for i, (key, status) in enumerate(zip(keys, statuses, strict=True)):
        item = {
            "id": key,
            "id_property": call_key,
            "properties": {"hs_call_title": f"call {key}", "hs_call_status": status, "hs_timestamp": WHEN},
        }
        if trace_ids:
            item["object_write_trace_id"] = f"trace-{i}"
        inputs.append(item)
    return inputs


def _v3_upsert(v3_client, inputs: list[dict]):  # noqa: ANN001, ANN202
    from hubspot.crm.objects.calls import (
        BatchInputSimplePublicObjectBatchInputUpsert,
        SimplePublicObjectBatchInputUpsert,
    )

    return v3_client.crm.objects.calls.batch_api.upsert(
        batch_input_simple_public_object_batch_input_upsert=BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[SimplePublicObjectBatchInputUpsert(**i) for i in inputs]
        )
    )


def _v3_read_by_key(v3_client, call_key: str, keys: list[str]):  # noqa: ANN001, ANN202
    from hubspot.crm.objects.calls import BatchReadInputSimplePublicObjectId, SimplePublicObjectId

    result = v3_client.crm.objects.calls.batch_api.read(
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            id_property=call_key,
            inputs=[SimplePublicObjectId(id=k) for k in keys],
            properties=["hs_call_status", "hs_call_title"],
            properties_with_history=[],
        )
    )
    assert result is not None, "batch read must answer 200 or 207"
    return result


def _assert_invalid_option_400(parsed: dict) -> None:
    assert parsed["message"].startswith("Property values were not valid")
    assert [e["code"] for e in parsed["errors"]] == ["INVALID_OPTION"]
    assert parsed["errors"][0]["context"]["propertyName"] == ["hs_call_status"]


def test_v3_invalid_status_without_trace_ids_writes_nothing(v3_client, call_key, unique):
    from hubspot.crm.objects.calls import ApiException, BatchResponseSimplePublicObjectWithErrors

    keys = [f"{unique}-ok", f"{unique}-bad"]
    with pytest.raises(ApiException) as raised:
        _v3_upsert(v3_client, _inputs(call_key, keys, trace_ids=False))
    assert raised.value.status == 400
    _assert_invalid_option_400(assert_error_envelope(raised.value.headers, raised.value.body, "VALIDATION_ERROR"))

    read = _v3_read_by_key(v3_client, call_key, keys)
    assert isinstance(read, BatchResponseSimplePublicObjectWithErrors)  # 207: none of the keys exists
    assert read.results == []
    assert read.num_errors == 1
    assert read.errors[0].category == "OBJECT_NOT_FOUND"
    assert sorted(read.errors[0].context["ids"]) == sorted(keys)


def test_sdk_invalid_status_without_trace_ids_writes_nothing(sdk_client, call_key, unique):
    import hubspot_sdk

    keys = [f"{unique}-ok", f"{unique}-bad"]
    with pytest.raises(hubspot_sdk.BadRequestError) as raised:
        sdk_client.crm.objects.calls.batch.upsert(inputs=_inputs(call_key, keys, trace_ids=False))
    assert raised.value.status_code == 400
    _assert_invalid_option_400(
        assert_error_envelope(raised.value.response.headers, raised.value.body, "VALIDATION_ERROR")
    )

    read = sdk_client.crm.objects.calls.batch.get(
        inputs=[{"id": k} for k in keys],
        id_property=call_key,
        properties=["hs_call_status"],
        properties_with_history=[],
    )
    assert read.results == []
    assert read.model_extra["numErrors"] == 1
    assert read.model_extra["errors"][0]["category"] == "OBJECT_NOT_FOUND"


def test_v3_invalid_status_with_trace_ids_writes_the_valid_ones(v3_client, call_key, unique):
    from hubspot.crm.objects.calls import BatchResponseSimplePublicUpsertObjectWithErrors

    keys = [f"{unique}-ok", f"{unique}-bad"]
    result = _v3_upsert(v3_client, _inputs(call_key, keys, trace_ids=True))
    assert isinstance(result, BatchResponseSimplePublicUpsertObjectWithErrors), "a partial upsert answers 207"
    assert result.num_errors == 1
    assert len(result.results) == 1
    written = result.results[0]
    assert written.new is True
    assert written.object_write_trace_id == "trace-0"
    assert written.properties["hs_call_status"] == "COMPLETED"
    error = result.errors[0]
    assert error.status == "error"
    assert error.category == "VALIDATION_ERROR"
    assert error.context["objectWriteTraceId"] == ["trace-1"]
    assert error.message.startswith("Property values were not valid")
    assert [(d.code, d.context) for d in error.errors] == [("INVALID_OPTION", {"propertyName": ["hs_call_status"]})]
    assert error.errors[0].message.startswith("NOT_A_STATUS was not one of the allowed options")

    read = _v3_read_by_key(v3_client, call_key, keys)
    assert [r.id for r in read.results] == [written.id]
    assert read.results[0].properties["hs_call_status"] == "COMPLETED"
    assert read.results[0].properties["hs_call_title"] == f"call {keys[0]}"
    assert read.errors[0].context["ids"] == [keys[1]]


def test_sdk_invalid_status_with_trace_ids_writes_the_valid_ones(sdk_client, call_key, unique):
    keys = [f"{unique}-ok", f"{unique}-bad"]
    result = sdk_client.crm.objects.calls.batch.upsert(inputs=_inputs(call_key, keys, trace_ids=True))
    assert result.model_extra["numErrors"] == 1
    [error] = result.model_extra["errors"]
    assert error["status"] == "error"
    assert error["context"]["objectWriteTraceId"] == ["trace-1"]
    assert error["category"] == "VALIDATION_ERROR"
    assert [d["code"] for d in error["errors"]] == ["INVALID_OPTION"]
    assert "NOT_A_STATUS" in json.dumps(error["errors"])
    [written] = result.results
    assert written.new is True
    assert written.object_write_trace_id == "trace-0"

    read = sdk_client.crm.objects.calls.batch.get(
        inputs=[{"id": k} for k in keys],
        id_property=call_key,
        properties=["hs_call_status"],
        properties_with_history=[],
    )
    assert [r.id for r in read.results] == [written.id]
    assert read.results[0].properties["hs_call_status"] == "COMPLETED"
    assert read.model_extra["errors"][0]["context"]["ids"] == [keys[1]]

    # the raw answer really is a 207 (the SDK treats every 2xx alike, so ask for the response itself)
    raw = sdk_client.crm.objects.calls.batch.with_raw_response.upsert(
        inputs=_inputs(call_key, [f"{unique}-ok2", f"{unique}-bad2"], trace_ids=True)
    )
    assert raw.status_code == 207
    assert raw.headers["content-type"] == "application/json;charset=utf-8"
