"""The benchmark runs end to end on a tiny store and writes its report (no timing assertions: numbers
on a shared test machine mean nothing; `make bench` is where speed is measured)."""

from __future__ import annotations

import importlib.util
import itertools
import math
import random
import re
from pathlib import Path

import orjson
import pytest

from bench import gauge, populate, profile, run, server

TINY = 300


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the smoke test's databases out of the developer's bench/.cache."""
    monkeypatch.setattr(populate, "CACHE_DIR", tmp_path / "cache")
    return tmp_path


@pytest.mark.parametrize("sizes", [[TINY], [TINY, TINY + 100]], ids=["one size", "two sizes"])
def test_benchmark_runs_on_tiny_stores_and_writes_its_report(
    isolated_cache: Path, monkeypatch: pytest.MonkeyPatch, sizes: list[int]
) -> None:
    monkeypatch.setattr(run, "QUIET_S", (0, 0.05))
    loads, measuring = [], server.Server.measuring
    monkeypatch.setattr(server.Server, "measuring", lambda self: loads.append(self.port) or measuring(self))
    out = isolated_cache / "docs"
    args = ["--sizes", ",".join(map(str, sizes)), "--seconds", "0.3", "--connections", "2", "--postgres", "off"]
    cases = run.main([*args, "--output-dir", str(out)])

    # Every load is measured as one (its server's memory sampled often meanwhile): each operation, and with
    # two sizes each one's second upsert turn.
    assert len(loads) == len(sizes) * (len(run.OPERATIONS) + (len(sizes) > 1))

    assert [(c.backend, c.size) for c in cases] == [("sqlite", size) for size in sizes]
    for case in cases:
        for op in run.OPERATIONS:
            result = case.ops[op]
            assert result["requests"] > 0 and result["errors"] == 0, result
            assert result["check"] == "ok", result
            assert result["records_per_s"] > 0
            assert "latencies" not in result  # merged into the percentiles, not kept
        # With two sizes their upserts took turns, there and back: each one's result merges two runs.
        assert case.ops["upsert"].get("rounds", 1) == (2 if len(sizes) > 1 else 1)
        assert case.floor["records_per_s"] > 0 and case.floor["statements_per_batch"] > 0
        assert case.startup_s > 0 and case.peak_rss_mb > 0 and case.peak_pss_mb > 0
    report = (out / "benchmarks.md").read_text()
    assert "## Targets (issue 4)" in report and "raw storage floor" in report
    assert ("taking turns there and back" in report) == (len(sizes) > 1)
    # The machine's speed around the run (bench.gauge): one loop alone, then two copies at once.
    reading = r"[\d.]+ s of CPU alone, [\d.]+ and [\d.]+ s two at once"
    assert re.search(rf"CPU gauge \(bench/gauge.py\): before the run {reading}; after, {reading}\.", report)
    assert re.search(rf"\| cpu gauge, before the run \| {reading} \([\d,]+ additions\) \|", report)
    assert re.search(rf"\| cpu gauge, after the run \| {reading} \|", report)
    if importlib.util.find_spec("matplotlib"):  # the `bench` extra; `make test` installs only `dev`
        assert (out / "benchmarks.png").read_bytes().startswith(b"\x89PNG")


def test_runs_of_one_operation_merge_into_one_result() -> None:
    runs = [
        {"requests": 2, "errors": 0, "seconds": 1.0, "records_per_s": 200.0, "loadgen_cpu_s": 0.1,
         "server_cpu_s": 1.0, "check": "ok", "latencies": [0.010, 0.030], "op": "upsert", "error_sample": ""},
        {"requests": 3, "errors": 1, "seconds": 2.0, "records_per_s": 100.0, "loadgen_cpu_s": 0.2,
         "server_cpu_s": 2.0, "check": "ok", "latencies": [0.020, 0.040, 0.050], "op": "upsert",
         "error_sample": "500 boom"},
    ]  # fmt: skip
    result = run.merged(runs)
    assert result["records_per_s"] == 400 / 3  # 200 + 200 records over 3 s
    assert result["requests"] == 5 and result["errors"] == 1 and result["seconds"] == 3.0
    assert result["requests_per_s"] == 5 / 3 and result["server_cpu_s"] == 3.0
    assert result["p50_ms"] == 30.0 and result["max_ms"] == 50.0 and result["rounds"] == 2
    assert result["error_sample"] == "500 boom"  # the first there is, whichever run had it


def test_a_gauge_that_failed_reads_as_not_a_number() -> None:
    """The gauge runs after every measured case: its failure must not cost the run its figures."""
    assert gauge._seconds("0.91\n") == 0.91
    assert math.isnan(gauge._seconds("Traceback (most recent call last): ..."))


def test_the_profile_summary_counts_samples_outside_python(tmp_path: Path) -> None:
    """py-spy's raw output (`--subprocesses`) has stacks of process frames only, a thread sampled outside
    the interpreter: counted, not a crash. Calls straight on the driver and checkpoints are SQLite's time,
    and a thread waiting (the checkpointer between checkpoints) is told apart."""
    raw = tmp_path / "profile.txt"
    worker = 'process 12:"localspot serve"'
    raw.write_text(
        f"{worker};handle (localspot/http/objects.py:10);_on_sqlite3 (localspot/store/driver.py:156) 5\n"
        f'{worker};process 13:"localspot serve" 1\n'
        f"{worker};_run (localspot/store/sqlite.py:170);Condition.wait (threading.py:320) 2\n"
        f"{worker};_run (localspot/store/sqlite.py:172);WalCheckpointer._passive (localspot/store/sqlite.py:190) 2\n"
    )
    summary = profile.summarize(raw)
    assert summary.startswith("10 samples")
    assert "10.0%  (a thread with no Python frame)" in summary
    assert "50.0%  _on_sqlite3 (localspot/store/driver.py)" in summary
    assert "70.0%  SQLite itself (C, under DBAPI calls)" in summary  # the checkpoint's PRAGMA among them
    assert "20.0%  threads waiting (Condition.wait, Event.wait)" in summary


@pytest.mark.parametrize("workers", [1, 2])
def test_the_storage_floor_replays_on_every_backend(fresh_database: str, workers: int) -> None:
    """The floor rewrites captured parameters (keys, ids), also inside PostgreSQL's JSON row documents. It
    replays what a server of that many workers sends: with two, SQLite validates ahead in a read
    transaction of its own (crm.ahead), one more COMMIT."""
    from bench import floor

    manifest = populate.populate(fresh_database, TINY)
    result = floor.measure(fresh_database, manifest, seconds=0.02, workers=workers, blocks=2)
    assert result.batches >= 2 and result.records_per_s > 0  # a batch at least in each block
    ahead = workers > 1 and fresh_database.startswith("sqlite")
    assert result.statement_summary.count("COMMIT") == (2 if ahead else 1)
    # Only SQLite's workers write in turns on connections of their own: the second floor is theirs alone.
    if ahead:
        assert result.in_turns_records_per_s is not None and result.in_turns_records_per_s > 0
    else:
        assert result.in_turns_records_per_s is None


def test_the_floor_in_turns_writes_as_two_workers_take_turns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each batch's read and write transactions on one connection and the next batch on the other; batch
    k+1 validated before batch k is written, so that every write begins after the other connection's
    commit (and finds its page cache emptied: SQLite's `data_version` moved), while every read follows
    its own connection's commit (nothing else committed: the same `data_version`)."""
    from bench import floor
    from localspot.store.sql import SqlStore

    url = f"sqlite:///{tmp_path / 'turns.db'}"
    manifest = populate.populate(url, TINY)
    store = SqlStore(url)
    seen: list[tuple[int, str, str]] = []  # (connection, transaction, the batch's first new key)
    others_committed: list[bool] = []  # at each transaction: has another connection committed since its last?
    versions: dict[int, int] = {}
    replay_statements = floor._replay_statements

    def traced(raw, cursor, statements, cap, values):  # noqa: ANN001, ANN202
        read, write = floor._transactions(cap.statements)
        assert statements in (read, write)
        seen.append((id(raw), "read" if statements == read else "write", values[cap.new_keys[0]]))
        version = cursor.execute("PRAGMA data_version").fetchone()[0]
        others_committed.append(id(raw) in versions and versions[id(raw)] != version)
        spent = replay_statements(raw, cursor, statements, cap, values)
        versions[id(raw)] = cursor.execute("PRAGMA data_version").fetchone()[0]
        return spent

    def records() -> int:
        with store.engine.connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM objects").scalar_one()

    done = floor.Replayed(random.Random(11))
    try:
        cap = floor.capture(store, manifest, random.Random(3), workers=2)
        before = records()
        monkeypatch.setattr(floor, "_replay_statements", traced)
        floor.replay_in_turns(store, cap, manifest, done, seconds=0.05, numbers=itertools.count(10))
        written = records() - before
    finally:
        store.dispose()
    batches = done.batches
    assert batches >= 2 and done.records_per_s > 0
    assert written == batches * len(cap.new_keys)  # every batch written, each with its new records
    a, b = seen[0][0], seen[1][0]
    assert a != b
    expected = [(a, "read", "floor10-0")]
    for k in range(10, 10 + batches):  # batch k+1 read on its connection, then batch k written on the other
        expected += [(a if k % 2 else b, "read", f"floor{k + 1}-0"), (b if k % 2 else a, "write", f"floor{k}-0")]
    assert seen == expected
    # After the start (each connection's first read, the first write), as two workers' transactions are:
    # a read after its own connection's commit, a write after the other connection's.
    assert others_committed[3:] == [False, True] * (batches - 1)


def test_the_floor_looks_up_each_batchs_own_keys_and_records(tmp_path: Path) -> None:
    """SQLite binds a lookup's list as one JSON array: the floor rewrites inside it too, so that each
    replayed batch looks up its own keys and checks the versions of its own records, as the server does,
    rather than the captured batch's again (whose pages would always be in the cache)."""
    from bench import floor
    from localspot.store.sql import SqlStore

    url = f"sqlite:///{tmp_path / 'lists.db'}"
    manifest = populate.populate(url, TINY)
    store = SqlStore(url)
    try:
        cap = floor.capture(store, manifest, random.Random(3), workers=2)
    finally:
        store.dispose()
    values = floor._fresh_values(cap, manifest, random.Random(5), 7)
    lists: dict[str, list] = {}
    for statement, params, _ in cap.statements:
        for name in floor.JSON_LIST.findall(statement):
            lists[name] = orjson.loads(floor._fresh_parameters(statement, params, values)[name])
    existing_keys, existing_ids = zip(*cap.existing, strict=True)
    assert sorted(lists["values"]) == sorted(values[k] for k in [*cap.new_keys, *existing_keys])
    assert set(lists["values"]).isdisjoint(cap.new_keys)  # "floor7-...", not the captured "floorcap-..."
    assert sorted(lists["ids"]) == sorted(values[i] for i in existing_ids)
