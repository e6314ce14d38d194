"""A batch write holds the writer lock (SQLite: one writer across every worker) for its database work
only: values are normalized before the transaction and the answer is rendered after the commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from localspot.crm import records, values
from localspot.crm.ahead import NotPlannable, ReadsAhead
from localspot.crm.records import ReadOptions
from localspot.crm.service import CrmService
from localspot.store.sql import SqlStore


class Recorder:
    """Which calls of a function happened while a write transaction was open."""

    def __init__(self) -> None:
        self.in_transaction = False
        self.calls: list[bool] = []

    def wrap(self, function: Any) -> Any:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(self.in_transaction)
            return function(*args, **kwargs)

        return recorded


@pytest.fixture
def service(database_url: str, portal_id: int) -> Iterator[CrmService]:
    yield from keyed_tasks_service(database_url, portal_id)


@pytest.fixture
def sqlite_service(sqlite_database: str, portal_id: int) -> Iterator[CrmService]:
    yield from keyed_tasks_service(sqlite_database, portal_id)


def keyed_tasks_service(database_url: str, portal_id: int) -> Iterator[CrmService]:
    """A service whose tasks have a unique `ext_id` to upsert by."""
    store = SqlStore(database_url)
    store.migrate()
    service = CrmService(store)
    service.ensure_portal(portal_id)
    key = {"name": "ext_id", "label": "Key", "type": "string", "fieldType": "text", "groupName": "taskinformation"}
    service.create_property(portal_id, "tasks", {**key, "hasUniqueValue": True})
    yield service
    store.dispose()


def upsert_body(keys: list[str], subject: str) -> dict[str, Any]:
    properties = {"hs_task_subject": subject, "hs_timestamp": "2024-01-01T00:00:00Z", "hs_task_status": "WAITING"}
    return {"inputs": [{"id": k, "idProperty": "ext_id", "properties": properties} for k in keys]}


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
    """Inside the transaction, the match lookup finds new keys free under its lock; their claims are not
    looked up again (a racing claim fails the INSERT and reruns the batch instead: tests/resilience)."""
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
    assert reads.count(True) == 1
    # SQLite validates ahead (PlannedAhead): the same lookup once before the transaction, none on PostgreSQL.
    assert reads.count(False) == (1 if service.store.is_sqlite else 0)


# --- a batch upsert validated ahead of its transaction (SQLite) -------------------------------------


def before_next_write(service: CrmService, monkeypatch: pytest.MonkeyPatch, action: Any) -> None:
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
    """Which `validate` calls ran inside a write transaction."""
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
    assert stored["properties"]["hs_task_body"] == "from the other worker"
    assert stored["properties"]["hs_task_subject"] == "ours"
    assert recorder.calls[-1] is True  # validated again, inside the transaction


def test_a_key_created_after_the_validation_ahead_makes_the_input_an_update(service, portal_id, monkeypatch):
    service.batch_upsert(portal_id, "tasks", upsert_body(["warm"], "warm-up"))
    other_worker = CrmService(service.store)
    created: list[Any] = []
    before_next_write(
        service,
        monkeypatch,
        lambda: created.append(other_worker.batch_upsert(portal_id, "tasks", upsert_body(["raced"], "theirs"))),
    )
    status, body = service.batch_upsert(portal_id, "tasks", upsert_body(["raced"], "ours"))
    assert status == 200
    their_id = created[0][1]["results"][0]["id"]
    assert body["results"][0]["new"] is False and body["results"][0]["id"] == their_id
    options = ReadOptions(("hs_task_subject",))
    assert service.read(portal_id, "tasks", "raced", "ext_id", options)["properties"]["hs_task_subject"] == "ours"


def test_a_validation_ahead_is_tried_once_and_asks_only_what_it_can_ask_again(sqlite_service, portal_id):
    """An attempt that ends in a write conflict runs again without the plan; validation ahead may use only
    the lookups the write transaction repeats (anything else makes the batch validate inside). SQLite only:
    PostgreSQL validates inside the transaction."""
    service = sqlite_service
    service.batch_upsert(portal_id, "tasks", upsert_body(["warm"], "warm-up"))
    parsed = service._ahead(
        portal_id, "tasks", lambda s: records.parse_upsert(s, upsert_body(["p"], "x"), service.limits)
    )
    plan = service._plan_ahead(portal_id, "tasks", lambda c, s: records.upsert_writes(c, s, parsed))
    assert plan is not None
    with service.store.write(portal_id) as tx:
        assert plan.holds(tx, plan.schema) is True
        assert plan.holds(tx, plan.schema) is False
    assert service._plan_ahead(portal_id, "tasks", lambda c, _s: c.tx.load_property_definitions()) is None
    with service.store.read(portal_id) as tx, pytest.raises(NotPlannable):
        ReadsAhead(tx).tokens()
