"""A batch write holds the writer lock (SQLite: one writer across every worker) for its database work
only: values are normalized before the transaction and the answer is rendered after the commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from localspot.crm import records, values
from localspot.crm.service import CrmService
from tests.crm.support import Recorder, upsert_body


def watch(service: CrmService, monkeypatch: pytest.MonkeyPatch) -> tuple[Recorder, Recorder]:
    normalizing, rendering = Recorder(), Recorder()
    write = service.store.write

    @contextmanager
    def watched_write(portal_id: int) -> Iterator[Any]:
        with write(portal_id) as tx:
            normalizing.in_transaction = rendering.in_transaction = True
            try:
                yield tx
            finally:
                normalizing.in_transaction = rendering.in_transaction = False

    monkeypatch.setattr(service.store, "write", watched_write)
    # Values other than plain text and options go through check_value (its memo included), values.
    # verbatim_properties aside: none of it may run under the lock.
    monkeypatch.setattr(values, "check_value", normalizing.wrap(values.check_value))
    monkeypatch.setattr(records, "public_object", rendering.wrap(records.public_object))
    return normalizing, rendering


def test_a_batch_upsert_normalizes_and_renders_outside_its_transaction(service, portal_id, monkeypatch):
    service.batch_upsert(portal_id, "tasks", upsert_body(["warm"], "warm-up"))  # this worker learns the catalog
    normalizing, rendering = watch(service, monkeypatch)
    status, body = service.batch_upsert(portal_id, "tasks", upsert_body(["warm", "a", "b"], "second"))
    assert status == 200
    assert [r["new"] for r in body["results"]] == [False, True, True]
    assert {r["properties"]["hs_task_subject"] for r in body["results"]} == {"second"}
    assert normalizing.calls and not any(normalizing.calls)
    assert len(rendering.calls) == 3 and not any(rendering.calls)


def test_batch_create_and_update_also_leave_the_lock_to_database_work(service, portal_id, monkeypatch):
    service.batch_upsert(portal_id, "tasks", upsert_body(["warm"], "warm-up"))
    normalizing, rendering = watch(service, monkeypatch)
    inputs = [{"properties": {"hs_task_subject": "new one", "hs_timestamp": "2024-02-01T00:00:00Z"}}]
    status, created = service.batch_create(portal_id, "tasks", {"inputs": inputs})
    assert status == 201
    renamed = {"hs_task_subject": "renamed", "hs_timestamp": "2024-03-01T00:00:00Z"}  # a date: check_value's
    update = [{"id": created["results"][0]["id"], "properties": renamed}]
    status, updated = service.batch_update(portal_id, "tasks", {"inputs": update})
    assert status == 200 and updated["results"][0]["properties"]["hs_task_subject"] == "renamed"
    assert normalizing.calls and not any(normalizing.calls)
    assert len(rendering.calls) == 2 and not any(rendering.calls)


def test_a_worker_that_has_not_seen_the_catalog_normalizes_inside(service, portal_id, monkeypatch):
    """The first write of a worker (or after a definition change) has no catalog to normalize against
    beforehand; it still validates every value, inside the transaction."""
    service._catalogs.clear()
    normalizing, _ = watch(service, monkeypatch)
    status, _ = service.batch_upsert(portal_id, "tasks", upsert_body(["first"], "cold"))
    assert status == 200
    assert normalizing.calls and all(normalizing.calls)


def test_work_done_ahead_against_an_old_catalog_is_done_again_inside(service, portal_id):
    """Another worker changed the definitions after this one last saw them: what this worker parsed and
    normalized before the transaction is not trusted, and the transaction's catalog decides."""
    service.batch_upsert(portal_id, "tasks", upsert_body(["warm"], "warm-up"))
    other_worker = CrmService(service.store)
    code = {"name": "ext_code", "label": "Code", "type": "number", "fieldType": "number"}
    code["groupName"] = "taskinformation"
    other_worker.create_property(portal_id, "tasks", code)
    body = upsert_body(["fresh"], "new property")
    body["inputs"][0]["properties"]["ext_code"] = " 7.0 "  # unknown to this worker's last catalog
    status, out = service.batch_upsert(portal_id, "tasks", body)
    assert status == 200 and out["results"][0]["properties"]["ext_code"] == "7"
    other_worker.create_property(portal_id, "tasks", {**code, "name": "ext_rank", "label": "Rank"})
    created = {"hs_timestamp": "2024-01-01T00:00:00Z", "ext_rank": "8.50"}
    status, out = service.batch_create(portal_id, "tasks", {"inputs": [{"properties": created}]})
    assert status == 201 and out["results"][0]["properties"]["ext_rank"] == "8.5"


def test_an_upsert_looks_its_keys_up_once(service, portal_id, monkeypatch):
    """The match lookup finds new keys free; their claims are not looked up again (a racing claim fails the
    INSERT and reruns the batch instead: tests/resilience). On SQLite the lookup runs ahead of the
    transaction, which checks only the versions of the records it found (test_validation_ahead)."""
    from sqlalchemy import event

    service.batch_upsert(portal_id, "tasks", upsert_body(["warm"], "warm-up"))
    in_transaction, _ = watch(service, monkeypatch)
    reads: list[bool] = []

    def record(_conn, _cursor, statement, *_rest):  # noqa: ANN001, ANN202
        if statement.lstrip().upper().startswith("SELECT") and "unique_values" in statement:
            reads.append(in_transaction.in_transaction)

    event.listen(service.store.engine, "before_cursor_execute", record)
    try:
        status, body = service.batch_upsert(portal_id, "tasks", upsert_body(["warm", "x", "y"], "again"))
    finally:
        event.remove(service.store.engine, "before_cursor_execute", record)
    assert status == 200 and [r["new"] for r in body["results"]] == [False, True, True]
    # SQLite validates ahead (PlannedAhead): the lookup once before the transaction; PostgreSQL inside.
    assert reads == [not service.store.is_sqlite]
