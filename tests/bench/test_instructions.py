"""`bench.instructions` serves real batches through two apps on a SQLite copy, as two workers would (what
each run under callgrind does), and turns two runs' counts into a count per batch."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import instructions, populate

TINY = 300


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, populate.Manifest]:
    path = tmp_path_factory.mktemp("instructions") / "store.db"
    return path, populate.populate(f"sqlite:///{path}", TINY)


@pytest.fixture
def copy(tiny_store, tmp_path: Path) -> Path:
    populate.copy_sqlite(tiny_store[0], tmp_path / "copy.db")
    return tmp_path / "copy.db"


@pytest.fixture
def worker_gc() -> Iterator[None]:
    """The apps are given a worker's garbage collector settings: this test process gets its own back."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def _tasks(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM objects WHERE object_type_id = '0-27'").fetchone()[0]


def test_a_run_serves_its_batches(tiny_store, copy: Path, worker_gc) -> None:
    _, manifest = tiny_store
    instructions.serve("upsert", 3, copy, manifest, prepared=5)
    # Each upsert batch creates half of its inputs (the warm-up's and the run's): they were really written.
    assert _tasks(copy) == TINY + (instructions.WARM_UP + 3) * 50
    instructions.serve("read", 3, copy, manifest, prepared=5)
    assert _tasks(copy) == TINY + (instructions.WARM_UP + 3) * 50


def test_the_apps_are_two_workers_validating_ahead(copy: Path, worker_gc) -> None:
    apps = instructions.worker_apps(copy)
    try:
        assert len(apps) == 2 and apps[0].state.service is not apps[1].state.service
        assert all(app.state.service.validates_ahead for app in apps)
        assert gc.get_threshold()[0] > 700  # a worker's young-generation threshold, not the default
    finally:
        for app in apps:
            app.state.service.store.dispose()


def test_a_batch_answered_other_than_200_stops_the_run(copy: Path, worker_gc) -> None:
    """A failing batch costs other instructions than a served one: it must not be counted as one."""
    apps = instructions.worker_apps(copy)
    try:
        with pytest.raises(RuntimeError, match="answered 400"):
            asyncio.run(instructions.answer(apps[0], "/crm/v3/objects/tasks/batch/upsert", b'{"inputs": 1}'))
    finally:
        for app in apps:
            app.state.service.store.dispose()


def test_the_runs_send_the_same_first_requests_whatever_their_length(tiny_store) -> None:
    """The difference of two runs is then the cost of the batches one served beyond the other."""
    _, manifest = tiny_store
    for op in instructions.OPERATIONS:
        assert instructions.requests(op, manifest, 5)[:3] == instructions.requests(op, manifest, 3)


def test_the_count_per_batch_is_the_difference_of_two_runs() -> None:
    stderr = (
        "==4242== Events    : Ir\n==4242== Collected : 5634389887\n==4242==\n==4242== I   refs:      5,634,389,887\n"
    )
    assert instructions.collected(stderr) == 5_634_389_887
    with pytest.raises(RuntimeError, match="no count"):
        instructions.collected("valgrind: failed to start tool 'callgrind'")
    assert instructions.per_batch(5_000_000 + 7_000 * 10, 5_000_000 + 7_000 * 30, few=10, many=30) == 7_000


# A callgrind profile's lines, shortened from a real one (`--callgrind-out-file`).
PROFILE = """\
# callgrind format
version: 1
positions: line
events: Ir
summary: 1205

ob=(2) ???
fl=(52) ???
fn=(1814) 0x0000000004936720
0 100
cob=(6) /root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0
cfi=(163) Objects/obmalloc.c
cfn=(1816) PyMem_Free
calls=665207 650
0 9999

ob=(6)
fl=(163)
fn=(1816)
650 300
+2 200
* 50
cob=(7)/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6
cfn=(9) sqlite3_step
calls=1 0
+1 7777
-3
+1 5
ob=(7)
fl=(8) ???
fn=(9)
0 500
fi=(10) btree.c
+4 50
jump=3 +2
+2

totals: 1205
"""


def test_a_runs_instructions_are_summed_by_the_file_their_code_is_in() -> None:
    """Each function's own instructions, by the object file `ob=` names (once, then by its id, which a
    `cob=` may name first, with or without a space); a call's inclusive cost is its callee's, not counted
    again, and the function that made the call goes on being counted (`+1 5`)."""
    assert instructions.by_library(PROFILE.splitlines(keepends=True)) == {
        "???": 100,
        "libpython3.11.so.1.0": 300 + 200 + 50 + 5,
        "libsqlite3.so.0.8.6": 500 + 50,
    }


def test_a_profile_with_instruction_addresses_is_read_by_its_count_not_its_line() -> None:
    """`--dump-instr=yes` writes two positions before the count; two files of one name are one file."""
    profile = [
        "positions: instr line\n",
        "ob=(1) /usr/lib/libc.so.6\n",
        "fn=(1) memcpy\n",
        "0x4000 12 10\n",
        "ob=(2) /lib/libc.so.6\n",
        "fn=(2) memcmp\n",
        "+3 * 7\n",
        "totals: 17\n",
    ]
    assert instructions.by_library(profile) == {"libc.so.6": 17}


def test_a_profile_that_does_not_add_up_to_its_totals_is_refused() -> None:
    with pytest.raises(RuntimeError, match="read as 100 instructions, its totals say 1,205"):
        instructions.by_library(PROFILE.splitlines()[:10] + ["totals: 1205"])


def test_each_files_count_per_batch_is_the_difference_of_two_runs() -> None:
    """The largest first; a file under SHOWN_MIN a batch, either way, counts under "other", as does one
    that only one of the runs used (libgone)."""
    low = instructions.Count(0, {"libpython": 10**6, "libsqlite3": 500_000, "libtiny": 10, "libgone": 30})
    high = instructions.Count(
        0, {"libpython": 10**6 + 20 * 3_000_000, "libsqlite3": 500_000 - 20 * 60_000, "libtiny": 10 + 20 * 1_000}
    )
    per_batch = instructions.per_batch_by_library(low, high, few=10, many=30)
    assert list(per_batch) == ["libpython", "libsqlite3", "other"]
    assert per_batch == {"libpython": 3_000_000, "libsqlite3": -60_000, "other": 1_000 - 30 / 20}


def test_the_size_of_the_store_must_be_a_number_of_records(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        instructions.main(["upsert", "--size", "0"])
    assert "--size needs a number of records" in capsys.readouterr().err
