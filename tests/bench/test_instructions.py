"""`bench.instructions` serves real batches through two apps on a SQLite copy (what each run under
callgrind does), and turns two runs' counts into a count per batch."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench import instructions, populate

TINY = 300


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, populate.Manifest]:
    path = tmp_path_factory.mktemp("instructions") / "store.db"
    return path, populate.populate(f"sqlite:///{path}", TINY)


def _tasks(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM objects WHERE object_type_id = '0-27'").fetchone()[0]


def test_a_run_serves_its_batches_as_two_workers_would(tiny_store, tmp_path: Path) -> None:
    source, manifest = tiny_store
    copy = tmp_path / "copy.db"
    populate.copy_sqlite(source, copy)
    instructions.serve("upsert", 3, copy, manifest, prepared=5)
    # Each upsert batch creates half of its inputs (the warm-up's and the run's): they were really written.
    assert _tasks(copy) == TINY + (instructions.WARM_UP + 3) * 50
    instructions.serve("read", 3, copy, manifest, prepared=5)  # a batch answered other than 200 raises
    assert _tasks(copy) == TINY + (instructions.WARM_UP + 3) * 50


def test_the_runs_send_the_same_first_requests_whatever_their_length(tiny_store) -> None:
    """The difference of two runs is then the cost of the batches one ran beyond the other."""
    _, manifest = tiny_store
    for op in instructions.OPERATIONS:
        assert instructions.requests(op, manifest, 5)[:3] == instructions.requests(op, manifest, 3)


def test_the_count_per_batch_is_the_difference_of_two_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    runs = []
    monkeypatch.setattr(instructions.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(instructions.populate, "cached_sqlite", lambda size: (Path("unused"), None))
    monkeypatch.setattr(instructions.populate, "CACHE_DIR", tmp_path)

    def counted(op: str, batches: int, work_dir: Path) -> int:
        runs.append((op, batches))
        return 5_000_000 + 7_000 * batches  # start-up, then 7,000 a batch

    monkeypatch.setattr(instructions, "counted", counted)
    assert instructions.per_batch("upsert", few=10, many=30) == 7_000
    assert sorted(runs) == [("upsert", 10), ("upsert", 30)]
