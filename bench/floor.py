"""The raw storage floor: LocalSpot's own SQL for one batch upsert, replayed with no HTTP and no validation.

A SQLAlchemy `before_cursor_execute` listener records every statement (text, DBAPI parameters,
executemany or not) that `CrmService.batch_upsert` sends for one steady-state batch: half new keys,
half existing ones. The replay then runs those exact statements on a raw DBAPI connection of the same
engine (same pragmas), with fresh parameters: new keys and ids for the inserts, other existing records
for the updates. What is left is the time the database engine and its driver need, on one connection
and one core: the target (issue 4) is LocalSpot's throughput over HTTP as a share of it.

With several SQLite workers the same statements are also replayed on two connections taking turns, as
the workers write (`replay_in_turns`): SQLite empties a connection's page cache when another connection
has committed, so each write transaction reads its pages again. The difference between the two is what
commits alternating between two connections cost the database (its page cache reloaded; not lock waits
or two cores' contention, which the replay, one transaction at a time, does not have). The two replays
take turns in blocks (`BLOCKS`), so that both see the same minutes and the same growing copy.
"""

from __future__ import annotations

import itertools
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import event

from bench import workload as w
from bench.populate import PORTAL_ID, Manifest
from localspot.crm.service import CrmService
from localspot.store.sql import SqlStore

COMMIT = "<commit>"
ROWS_DOCUMENT = "jsonb_to_recordset"
# SQLite's list parameters: one JSON array each, read by json_each (store.driver.Lookup).
JSON_LIST = re.compile(r"json_each\(:(\w+)\)")
SMALLEST_ID = 101  # captured record ids must never equal a count, a flag or the portal id
# The floor's copy numbers new history rows from here, so that their ids never equal a record id or a
# timestamp among the parameters it rewrites (every other number it leaves as captured).
HISTORY_IDS_FROM = 10**15
BLOCKS = 4  # each replay's share of the time, in this many turns


@dataclass
class Capture:
    statements: list[tuple[str, Any, bool]] = field(default_factory=list)
    new_ids: list[int] = field(default_factory=list)
    history_ids: list[int] = field(default_factory=list)  # of the history rows the batch appended
    existing: list[tuple[str, int]] = field(default_factory=list)  # (key, id) updated by the batch
    new_keys: list[str] = field(default_factory=list)


@dataclass
class Replayed:
    """One replay's batches and the database time they took, over its blocks; its own choice of records."""

    rng: random.Random
    batches: int = 0
    seconds: float = 0.0

    @property
    def records_per_s(self) -> float:
        return self.batches * w.BATCH / self.seconds


@dataclass
class FloorResult:
    records_per_s: float
    batches: int
    seconds: float
    statements_per_batch: int
    statement_summary: list[str]
    # SQLite with several workers: the same batches on two connections taking turns (replay_in_turns)
    in_turns_records_per_s: float | None = None


def capture(store: SqlStore, manifest: Manifest, rng: random.Random, workers: int) -> Capture:
    """The statements of one batch upsert, after a first batch has warmed the service's caches, as a
    server of `workers` processes sends them (with several, SQLite's are validated ahead: crm.ahead)."""
    service = CrmService(store, validate_ahead=workers > 1)
    _number_history_apart(store)
    service.batch_upsert(PORTAL_ID, "tasks", _body(manifest, rng, "floorwarm", 0)[0])
    before = _last_history_id(store)
    body, cap = _body(manifest, rng, "floorcap", 1)
    record = lambda _c, _cur, stmt, params, _ctx, many: cap.statements.append((stmt, params, many))  # noqa: E731
    commit = lambda _conn: cap.statements.append((COMMIT, None, False))  # noqa: E731
    event.listen(store.engine, "before_cursor_execute", record)
    event.listen(store.engine, "commit", commit)
    try:
        _, out = service.batch_upsert(PORTAL_ID, "tasks", body)
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
        event.remove(store.engine, "commit", commit)
    cap.new_ids = sorted(int(r["id"]) for r in out["results"] if r["new"])
    cap.history_ids = list(range(before + 1, _last_history_id(store) + 1))
    if min(cap.new_ids + [i for _, i in cap.existing]) < SMALLEST_ID:
        raise RuntimeError("captured record ids are too small to be told apart from other parameters")
    return cap


def _number_history_apart(store: SqlStore) -> None:
    """Move the copy's next history id to HISTORY_IDS_FROM: SQLite's follow the table's highest (a
    placeholder row), PostgreSQL's come from a sequence. Once: a copy measured before is already past it.
    The replay leaves `previous_id` as captured, so the copy's chains end up cross-linked: it is thrown
    away after the floor, the last thing run on it."""
    if _last_history_id(store) >= HISTORY_IDS_FROM:
        return
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "INSERT INTO property_history (id, portal_id, object_type_id, object_id, timestamp, source_type,"
                f" changes) VALUES ({HISTORY_IDS_FROM}, 0, '', 0, 0, 'FLOOR', '{{}}')"
            )
        else:
            conn.exec_driver_sql(f"SELECT setval('property_history_id_seq', {HISTORY_IDS_FROM})")


def _last_history_id(store: SqlStore) -> int:
    with store.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM property_history").scalar_one()


def _body(manifest: Manifest, rng: random.Random, tag: str, revision: int) -> tuple[dict, Capture]:
    half = w.BATCH // 2
    cap = Capture(new_keys=[f"{tag}-{j}" for j in range(half)], existing=w.pick(rng, manifest.sample, half))
    existing = [(k, w.key_number(k)) for k, _ in cap.existing]
    return w.upsert_body(cap.new_keys, existing, revision), cap


def replay(
    store: SqlStore, cap: Capture, manifest: Manifest, done: Replayed, seconds: float, numbers: Iterator[int]
) -> None:
    """Replay batches for `seconds` of database time more: only the driver calls are timed, not the Python
    that rewrites their parameters (which took about a third of the loop's wall time). `numbers` number
    the batches' new keys, apart from every other batch replayed on this copy."""
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        in_database = 0.0
        while in_database < seconds:
            values = _fresh_values(cap, manifest, done.rng, next(numbers))
            in_database += _replay_statements(raw, cursor, cap.statements, cap, values)
            store.checkpointer.committed()  # as SqlStore.write does after each commit
            done.batches += 1
    finally:
        raw.close()
    done.seconds += in_database


def replay_in_turns(
    store: SqlStore, cap: Capture, manifest: Manifest, done: Replayed, seconds: float, numbers: Iterator[int]
) -> None:
    """The same batches on two connections taking turns, as two SQLite workers write: each batch's read
    transaction (its validation ahead) and write transaction on one connection, the next batch on the
    other. In the server's steady state, while the writer lock is busy, a worker validates its next batch
    while the other worker writes, right after its own commit, and writes it after the other's commit;
    so here batch k+1's read runs before batch k's write: every write follows the other connection's
    commit, and every read its own connection's. Reads and writes are timed one after the other, on one
    core, as the first replay's are (in the server the workers overlap them on two). The block's last
    batch is validated and not written (its keys numbered apart like the rest)."""
    read, write = _transactions(cap.statements)
    raws = [store.engine.raw_connection() for _ in range(2)]
    try:
        cursors = [raw.cursor() for raw in raws]

        def run(part: list, side: int, values: dict[Any, Any]) -> float:
            return _replay_statements(raws[side], cursors[side], part, cap, values)

        side, pending = 0, _fresh_values(cap, manifest, done.rng, next(numbers))  # validated, not yet written
        run(read, side, pending)  # untimed: the timed reads are the following batches', as many as the writes
        in_database = 0.0
        while in_database < seconds:
            following = _fresh_values(cap, manifest, done.rng, next(numbers))
            in_database += run(read, 1 - side, following)
            in_database += run(write, side, pending)
            store.checkpointer.committed()
            side, pending = 1 - side, following
            done.batches += 1
    finally:
        for raw in raws:
            raw.close()
    done.seconds += in_database


def _transactions(statements: list[tuple[str, Any, bool]]) -> tuple[list, list]:
    """A batch validated ahead: its read transaction (up to the first COMMIT) and its write transaction."""
    end = next(i for i, (statement, _, _) in enumerate(statements) if statement == COMMIT) + 1
    return statements[:end], statements[end:]


def _fresh_values(cap: Capture, manifest: Manifest, rng: random.Random, n: int) -> dict[Any, Any]:
    """Old parameter value -> new one: fresh new keys, and other existing records (key and id) to update."""
    others = w.pick(rng, manifest.sample, len(cap.existing))
    values: dict[Any, Any] = {k: f"floor{n}-{j}" for j, k in enumerate(cap.new_keys)}
    for (old_key, old_id), (new_key, new_id) in zip(cap.existing, others, strict=True):
        values[old_key], values[old_id] = new_key, new_id
    return values


def _replay_statements(raw: Any, cursor: Any, statements: list, cap: Capture, values: dict[Any, Any]) -> float:
    """One batch's `statements` (all of them, or one of its transactions); returns the seconds spent in
    driver calls."""
    spent = 0.0
    for statement, params, many in statements:
        if statement == COMMIT:
            started = time.perf_counter()
            raw.commit()
            spent += time.perf_counter() - started
            continue
        fresh = _fresh_parameters(statement, params, values)
        started = time.perf_counter()
        if many:
            cursor.executemany(statement, fresh)
        else:
            cursor.execute(statement, fresh)
        rows = cursor.fetchall() if cursor.description is not None else None
        spent += time.perf_counter() - started
        if rows is not None:
            values.update(_allocated(statement, rows, cap))
    return spent


def _allocated(statement: str, rows: list, cap: Capture) -> dict[int, int]:
    """Captured ids -> the ones this replay's statement allocated (store.records `allocate`); nothing for
    the statements that allocate none."""
    if "next_object_id" in statement and "RETURNING" in statement:  # SQLite's counter: its new end
        end = rows[0][0]
        return dict(zip(cap.new_ids, range(end - len(cap.new_ids), end), strict=True))
    if "max(property_history.id)" in statement:  # SQLite's history ids follow the highest
        last = rows[0][0]
        return dict(zip(cap.history_ids, range(last + 1, last + 1 + len(cap.history_ids)), strict=True))
    if "nextval" in statement:  # PostgreSQL's sequences, both in one statement: (kind, id) rows
        fresh: tuple[list[int], list[int]] = ([], [])
        for kind, value in rows:
            fresh[kind].append(value)
        pairs = zip((*cap.new_ids, *cap.history_ids), (*sorted(fresh[0]), *sorted(fresh[1])), strict=True)
        return dict(pairs)
    return {}


def _fresh_parameters(statement: str, params: Any, values: dict[Any, Any]) -> Any:
    """A captured statement's parameters with this batch's keys and ids, also inside the JSON that carries
    a list (SQLite's lookups) or rows (PostgreSQL's batch writes)."""
    if ROWS_DOCUMENT in statement:
        return _substitute_document(params, values)
    fresh = _substitute(params, values)
    for name in JSON_LIST.findall(statement):  # the keys looked up, the records whose versions are checked
        fresh[name] = orjson.dumps(sorted(_substitute(orjson.loads(params[name]), values))).decode()  # sorted, as sent
    return fresh


def _substitute_document(params: tuple[str], values: dict[Any, Any]) -> tuple[str]:
    """PostgreSQL's batch writes carry their rows in one JSON document (store.driver.ManyRows)."""
    return (orjson.dumps(_substitute(orjson.loads(params[0]), values)).decode(),)


def _substitute(value: Any, values: dict[Any, Any]) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str | int):
        return values.get(value, value)
    if isinstance(value, dict):
        return {k: _substitute(v, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_substitute(v, values) for v in value)
    return value


def _describe(statement: str, params: Any, many: bool) -> str:
    if statement == COMMIT:
        return "COMMIT"
    text = " ".join(statement.split())
    text = text if len(text) <= 90 else text[:87] + "..."
    return f"{text}  [executemany x{len(params)}]" if many else text


def measure(database_url: str, manifest: Manifest, seconds: float, workers: int, blocks: int = BLOCKS) -> FloorResult:
    """Both replays (the second only where batches are validated ahead: SQLite with several workers),
    taking turns in `blocks` of `seconds / blocks` each."""
    store = SqlStore(database_url)
    try:
        cap = capture(store, manifest, random.Random(3), workers)
        ahead = [statement for statement, _, _ in cap.statements].count(COMMIT) == 2  # a read transaction first
        one, two = Replayed(random.Random(7)), Replayed(random.Random(11))
        numbers = itertools.count()
        for _ in range(blocks):
            replay(store, cap, manifest, one, seconds / blocks, numbers)
            if ahead:
                replay_in_turns(store, cap, manifest, two, seconds / blocks, numbers)
        return FloorResult(
            records_per_s=one.records_per_s,
            batches=one.batches,
            seconds=one.seconds,
            statements_per_batch=len(cap.statements),
            statement_summary=[_describe(s, p, many) for s, p, many in cap.statements],
            in_turns_records_per_s=two.records_per_s if ahead else None,
        )
    finally:
        store.dispose()
