"""With several SQLite workers, a batch upsert is validated before it queues for the writer lock, in a
read transaction of its own (crm.ahead.PlannedAhead). Its write transaction checks what that validation
read (the versions of the records its keys named; other lookups again whole) and writes what was
prepared only if it still stands; a key found free is left to its claim. These tests put another worker's write (or
definition change) between the two, and check the outcome is what validating inside gives."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from localspot.crm import records
from localspot.crm.ahead import NotPlannable, ReadsAhead
from localspot.crm.errors import HubSpotError
from localspot.crm.records import ReadOptions
from localspot.crm.service import CrmService
from localspot.store.base import WriteConflict
from tests.crm.support import Recorder, keyed_tasks_service, upsert_body


def before_next_write(service: CrmService, monkeypatch: pytest.MonkeyPatch, action: Callable[[], Any]) -> None:
    """Run `action` (another worker's write) once, just before this worker's next write transaction: after
    its batch was validated ahead, before the transaction that checks that validation."""
    write, pending = service.store.write, [action]

    @contextmanager
    def write_after_action(portal_id: int) -> Iterator[Any]:
        if pending:
            pending.pop()()
        with write(portal_id) as tx:
            yield tx

    monkeypatch.setattr(service.store, "write", write_after_action)


def validations(monkeypatch: pytest.MonkeyPatch, service: CrmService) -> Recorder:
    """Which `validate` calls of batch writes ran inside a write transaction (any worker's)."""
    recorder, write = Recorder(), service.store.write

    @contextmanager
    def watched_write(portal_id: int) -> Iterator[Any]:
        with write(portal_id) as tx:
            recorder.in_transaction = True
            try:
                yield tx
            finally:
                recorder.in_transaction = False

    monkeypatch.setattr(service.store, "write", watched_write)
    monkeypatch.setattr(records, "validate", recorder.wrap(records.validate))
    return recorder


def test_an_upsert_validated_ahead_is_not_validated_again_when_nothing_changed(service, portal_id, monkeypatch):
    service.batch_upsert(portal_id, "tasks", upsert_body(["kept"], "first"))
    recorder = validations(monkeypatch, service)
    status, body = service.batch_upsert(portal_id, "tasks", upsert_body(["kept", "added"], "second"))
    assert status == 200 and [r["new"] for r in body["results"]] == [False, True]
    # SQLite: once, ahead; PostgreSQL writers do not queue on one lock, and validate inside only.
    assert recorder.calls == ([False] if service.store.is_sqlite else [True])


def test_a_single_worker_validates_inside_only(sqlite_database, portal_id, monkeypatch):
    """Without other workers nothing waits for the writer lock: validating ahead would only ask twice."""
    service = next(keyed_tasks_service(sqlite_database, portal_id, validate_ahead=False))
    service.batch_upsert(portal_id, "tasks", upsert_body(["kept"], "first"))
    recorder = validations(monkeypatch, service)
    assert service.batch_upsert(portal_id, "tasks", upsert_body(["kept", "added"], "second"))[0] == 200
    assert recorder.calls == [True]
    service.store.dispose()


def test_a_record_written_after_the_validation_ahead_is_validated_again(service, portal_id, monkeypatch):
    """Another worker updates a matched record in between: the upsert must merge onto that new version,
    not write back the version it validated against (which would lose the other worker's value)."""
    _, first = service.batch_upsert(portal_id, "tasks", upsert_body(["shared"], "first"))
    record_id = first["results"][0]["id"]
    other_worker = CrmService(service.store)
    other_write = {"inputs": [{"id": record_id, "properties": {"hs_task_body": "from the other worker"}}]}
    before_next_write(service, monkeypatch, lambda: other_worker.batch_update(portal_id, "tasks", other_write))
    recorder = validations(monkeypatch, service)
    status, body = service.batch_upsert(portal_id, "tasks", upsert_body(["shared"], "ours"))
    assert status == 200
    assert body["results"][0]["properties"]["hs_task_body"] == "from the other worker"
    stored = service.read(portal_id, "tasks", record_id, None, ReadOptions(("hs_task_body", "hs_task_subject")))
    assert stored["properties"] == {
        **stored["properties"],
        "hs_task_body": "from the other worker",
        "hs_task_subject": "ours",
    }
    # Ahead (SQLite), the other worker's update, and this upsert's again inside.
    assert recorder.calls == ([False, True, True] if service.store.is_sqlite else [True, True])


def test_a_key_created_after_the_validation_ahead_makes_the_input_an_update(service, portal_id, monkeypatch, caplog):
    """The plan found the key free; another worker created a record with it in between. The plan's claim of
    the key fails on that record (SQLite: the write transaction checks only the records the plan found,
    RecordOps.reads_unchanged), and the batch runs again inside, where the key names that record."""
    service.batch_upsert(portal_id, "tasks", upsert_body(["warm"], "warm-up"))
    other_worker, created = CrmService(service.store), []
    theirs = upsert_body(["raced"], "theirs")
    before_next_write(
        service, monkeypatch, lambda: created.append(other_worker.batch_upsert(portal_id, "tasks", theirs))
    )
    with caplog.at_level(logging.INFO, logger="localspot"):
        status, body = service.batch_upsert(portal_id, "tasks", upsert_body(["raced"], "ours"))
    assert status == 200
    assert body["results"][0]["new"] is False and body["results"][0]["id"] == created[0][1]["results"][0]["id"]
    options = ReadOptions(("hs_task_subject",))
    assert service.read(portal_id, "tasks", "raced", "ext_id", options)["properties"]["hs_task_subject"] == "ours"
    # PostgreSQL validates inside only, after the other worker's commit: its lookup sees the record.
    assert ("write conflict" in caplog.text) == service.store.is_sqlite


def test_a_record_archived_after_the_validation_ahead_is_not_updated(service, portal_id, monkeypatch):
    """The record an upsert key named was archived in between: the key is free, and the upsert creates."""
    _, first = service.batch_upsert(portal_id, "tasks", upsert_body(["gone"], "first"))
    old_id = first["results"][0]["id"]
    before_next_write(service, monkeypatch, lambda: CrmService(service.store).archive(portal_id, "tasks", old_id))
    status, body = service.batch_upsert(portal_id, "tasks", upsert_body(["gone"], "again"))
    assert status == 200 and body["results"][0]["new"] is True and body["results"][0]["id"] != old_id
    found = service.read(portal_id, "tasks", "gone", "ext_id", ReadOptions(("hs_task_subject",)))
    assert found["id"] == body["results"][0]["id"] and found["properties"]["hs_task_subject"] == "again"


def test_a_unique_value_freed_after_the_validation_ahead_is_claimed(service, portal_id, monkeypatch):
    """Validation ahead found another record holding a unique value, which that record gave up in
    between: validated again inside, the input claims it (no stale 207 error)."""
    code = {"name": "ext_code", "label": "Code", "type": "string", "fieldType": "text", "groupName": "taskinformation"}
    service.create_property(portal_id, "tasks", {**code, "hasUniqueValue": True})
    holder = upsert_body(["holder"], "holds C1")
    holder["inputs"][0]["properties"]["ext_code"] = "C1"
    holder_id = service.batch_upsert(portal_id, "tasks", holder)[1]["results"][0]["id"]
    release = {"inputs": [{"id": holder_id, "properties": {"ext_code": "C2"}}]}
    before_next_write(service, monkeypatch, lambda: CrmService(service.store).batch_update(portal_id, "tasks", release))
    claim = upsert_body(["claimer", "bystander"], "wants C1")
    claim["inputs"][0]["properties"] = {**claim["inputs"][0]["properties"], "ext_code": "C1"}
    for i, item in enumerate(claim["inputs"]):
        item["objectWriteTraceId"] = f"t{i}"  # a failure would answer 207 rather than fail the batch
    status, body = service.batch_upsert(portal_id, "tasks", claim)
    assert status == 200, body
    claimer = service.read(portal_id, "tasks", "C1", "ext_code", ReadOptions(("ext_id",)))
    assert claimer["properties"]["ext_id"] == "claimer"


def test_a_definition_changed_after_the_validation_ahead_decides(service, portal_id, monkeypatch):
    """Another worker turns a text property into a number in between: the value validated as text is
    checked again against the new definition, and refused."""
    note = {"name": "ext_note", "label": "Note", "type": "string", "fieldType": "text", "groupName": "taskinformation"}
    service.create_property(portal_id, "tasks", note)
    service.batch_upsert(portal_id, "tasks", upsert_body(["warm"], "warm-up"))
    numeric = {"type": "number", "fieldType": "number"}
    before_next_write(
        service, monkeypatch, lambda: CrmService(service.store).update_property(portal_id, "tasks", "ext_note", numeric)
    )
    body = upsert_body(["noted"], "with a note")
    body["inputs"][0]["properties"]["ext_note"] = "not a number"
    with pytest.raises(HubSpotError) as refused:
        service.batch_upsert(portal_id, "tasks", body)
    assert refused.value.status == 400 and "ext_note" in refused.value.message


def test_writes_validated_ahead_carry_the_time_of_their_transaction(service, portal_id, monkeypatch):
    """Timestamps follow commit order: a batch validated ahead, then committed after another worker's,
    is stamped after it (a sync reading `hs_lastmodifieddate >= last seen` must not miss it)."""
    service.batch_upsert(portal_id, "tasks", upsert_body(["mine"], "first"))
    other_worker, theirs = CrmService(service.store), []

    def later_write() -> None:
        time.sleep(0.005)  # well after this worker's validation ahead
        theirs.append(other_worker.batch_upsert(portal_id, "tasks", upsert_body(["theirs"], "other"))[1])

    before_next_write(service, monkeypatch, later_write)
    _, ours = service.batch_upsert(portal_id, "tasks", upsert_body(["mine", "new"], "second"))
    their_time = theirs[0]["results"][0]["updatedAt"]
    assert all(r["updatedAt"] >= their_time for r in ours["results"])
    assert ours["results"][1]["createdAt"] >= their_time
    history = service.read(portal_id, "tasks", "mine", "ext_id", ReadOptions((), ("hs_task_subject",)))
    assert history["propertiesWithHistory"]["hs_task_subject"][0]["timestamp"] == ours["results"][0]["updatedAt"]


def test_a_conflict_after_a_plan_held_runs_the_batch_again_inside(service, portal_id, monkeypatch):
    service.batch_upsert(portal_id, "tasks", upsert_body(["warm"], "warm-up"))
    recorder, persist, failed = validations(monkeypatch, service), records.persist, []

    def persist_once_conflicting(*args: Any) -> None:
        if not failed:
            failed.append(True)
            raise WriteConflict("a claim lost a race")
        persist(*args)

    monkeypatch.setattr(records, "persist", persist_once_conflicting)
    status, body = service.batch_upsert(portal_id, "tasks", upsert_body(["warm", "fresh"], "again"))
    assert status == 200 and [r["new"] for r in body["results"]] == [False, True]
    assert recorder.calls == ([False, True] if service.store.is_sqlite else [True, True])


def test_an_attempt_that_wrote_and_rolled_back_leaves_the_parsed_values_to_the_next(service, portal_id, monkeypatch):
    """The values an input was normalized to before the transaction are shared by every attempt (and by the
    records and history an attempt makes of them): an attempt that persisted its batch, then lost a race and
    rolled back, must leave them as parsed, and the next attempt writes them."""
    service.batch_upsert(portal_id, "tasks", upsert_body(["kept"], "first"))
    parse, persist, parsed, failed = records.parse_upsert, records.persist, [], []

    def parse_and_keep(*args: Any) -> records.UpsertBatch:
        batch = parse(*args)
        parsed.append((batch, copy.deepcopy([item.normalized for item in batch.inputs])))
        return batch

    def persist_then_conflict(*args: Any) -> None:
        persist(*args)  # the batch's rows are written (rolled back with the attempt)
        if not failed:
            failed.append(True)
            raise WriteConflict("a claim lost a race")

    monkeypatch.setattr(records, "parse_upsert", parse_and_keep)
    monkeypatch.setattr(records, "persist", persist_then_conflict)
    status, body = service.batch_upsert(portal_id, "tasks", upsert_body(["kept", "fresh"], "second"))
    assert status == 200 and failed and [r["new"] for r in body["results"]] == [False, True]
    [(batch, as_parsed)] = parsed
    assert [item.normalized for item in batch.inputs] == as_parsed
    for key in ("kept", "fresh"):
        stored = service.read(
            portal_id, "tasks", key, "ext_id", ReadOptions(("hs_task_subject",), ("hs_task_subject",))
        )
        assert stored["properties"]["hs_task_subject"] == "second"
        assert stored["propertiesWithHistory"]["hs_task_subject"][0]["value"] == "second"


def traced_with_a_bad_value() -> dict[str, Any]:
    """Two traced inputs (so a failure fails its input only: 207), the second with a bad date."""
    body = upsert_body(["good", "bad"], "traced")
    body["inputs"][1]["properties"] = {**body["inputs"][1]["properties"], "hs_timestamp": "not a date"}
    for i, item in enumerate(body["inputs"]):
        item["objectWriteTraceId"] = f"trace-{i}"
    return body


def test_a_multi_status_batch_validated_ahead(service, portal_id, monkeypatch):
    """With every input traced, a bad value fails its input only (207), from validation ahead too."""
    service.batch_upsert(portal_id, "tasks", upsert_body(["warm"], "warm-up"))
    recorder = validations(monkeypatch, service)
    body = traced_with_a_bad_value()
    status, out = service.batch_upsert(portal_id, "tasks", body)
    assert status == 207
    assert [r["objectWriteTraceId"] for r in out["results"]] == ["trace-0"]
    assert [e["context"]["objectWriteTraceId"] for e in out["errors"]] == [["trace-1"]]
    assert recorder.calls == ([False] if service.store.is_sqlite else [True])


def test_a_validation_ahead_is_taken_once_and_asks_only_what_it_can_ask_again(sqlite_service, portal_id):
    """An attempt that ends in a write conflict runs again without the plan; validation ahead may use only
    the lookups the write transaction repeats (anything else makes the batch validate inside)."""
    service = sqlite_service
    service.batch_upsert(portal_id, "tasks", upsert_body(["warm"], "warm-up"))
    body = upsert_body(["p"], "x")
    parsed = service._ahead(portal_id, "tasks", lambda s: records.parse_upsert(s, body, service.limits))
    plan = service._plan_ahead(portal_id, "tasks", lambda c, s: records.upsert_writes(c, s, parsed))
    assert plan is not None
    with service.store.write(portal_id) as tx:
        assert plan.take(tx, plan.schema) is plan.value
        assert plan.take(tx, plan.schema) is None
    assert service._plan_ahead(portal_id, "tasks", lambda c, _s: c.tx.load_property_definitions()) is None
    with service.store.read(portal_id) as tx, pytest.raises(NotPlannable):
        ReadsAhead(tx).tokens()


def statements_in_write(service: CrmService, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SELECT statements run inside write transactions from now on."""
    from sqlalchemy import event

    selects, recorder = [], validations(monkeypatch, service)

    def record(_conn, _cursor, statement, *_rest):  # noqa: ANN001, ANN202
        if recorder.in_transaction and statement.lstrip().upper().startswith("SELECT"):
            selects.append(" ".join(statement.split()))

    event.listen(service.store.engine, "before_cursor_execute", record)  # the engine is disposed after the test
    return selects


def test_a_plan_that_writes_every_input_is_checked_by_the_versions_of_its_records(
    sqlite_service, portal_id, monkeypatch
):
    """Inside, the plan's match lookup is not asked again whole: only whether each record it found is the
    version it read (one read by id), and its free keys are left to their claims."""
    service = sqlite_service
    service.batch_upsert(portal_id, "tasks", upsert_body(["kept"], "first"))
    selects = statements_in_write(service, monkeypatch)
    status, body = service.batch_upsert(portal_id, "tasks", upsert_body(["kept", "added"], "second"))
    assert status == 200 and [r["new"] for r in body["results"]] == [False, True]
    assert not [s for s in selects if "unique_values" in s]
    versions = [s for s in selects if "objects.history_head" in s]
    assert len(versions) == 1 and "properties" not in versions[0]


def test_a_plan_with_failures_asks_its_lookups_again_whole(sqlite_service, portal_id, monkeypatch):
    """An input that fails is not written, so a key it found free is not claimed: the match lookup is asked
    again whole (a key taken since would turn that input into an update, which validates differently)."""
    service = sqlite_service
    service.batch_upsert(portal_id, "tasks", upsert_body(["warm"], "warm-up"))
    selects = statements_in_write(service, monkeypatch)
    body = traced_with_a_bad_value()
    status, _ = service.batch_upsert(portal_id, "tasks", body)
    assert status == 207
    assert len([s for s in selects if "unique_values" in s]) == 1


def test_a_contact_purged_after_the_validation_ahead_is_not_updated(service, portal_id, monkeypatch):
    """A GDPR delete in between removes the contact the email named: the upsert creates a new one."""

    def by_email(name: str) -> dict:
        return {"inputs": [{"id": "ada@example.com", "idProperty": "email", "properties": {"firstname": name}}]}

    old_id = service.batch_upsert(portal_id, "contacts", by_email("Ada"))[1]["results"][0]["id"]
    purge = {"objectId": old_id}
    before_next_write(service, monkeypatch, lambda: CrmService(service.store).gdpr_delete(portal_id, "contacts", purge))
    status, body = service.batch_upsert(portal_id, "contacts", by_email("Ada again"))
    assert status == 200 and body["results"][0]["new"] is True and body["results"][0]["id"] != old_id
    assert body["results"][0]["properties"]["firstname"] == "Ada again"


def test_a_failed_create_whose_key_is_taken_in_between_becomes_an_update(service, portal_id, monkeypatch):
    """A traced input fails as a create (no `hs_timestamp`, required for new tasks) and another worker
    creates its key in between: validated inside, the input updates that record, which needs none (200).
    A plan with a failed input does not claim that key, so its key lookup is asked again whole."""
    service.batch_upsert(portal_id, "tasks", upsert_body(["warm"], "warm-up"))
    theirs = upsert_body(["raced"], "theirs")
    before_next_write(service, monkeypatch, lambda: CrmService(service.store).batch_upsert(portal_id, "tasks", theirs))
    body = upsert_body(["good", "raced"], "ours")
    body["inputs"][1]["properties"] = {"hs_task_subject": "ours"}
    for i, item in enumerate(body["inputs"]):
        item["objectWriteTraceId"] = f"t{i}"
    status, out = service.batch_upsert(portal_id, "tasks", body)
    assert status == 200, out
    found = service.read(portal_id, "tasks", "raced", "ext_id", ReadOptions(("hs_task_subject",)))
    assert found["properties"]["hs_task_subject"] == "ours"
