"""The benchmark runs end to end on a tiny store and writes its report (no timing assertions: numbers
on a shared test machine mean nothing; `make bench` is where speed is measured)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from bench import populate, run

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
    out = isolated_cache / "docs"
    args = ["--sizes", ",".join(map(str, sizes)), "--seconds", "0.3", "--connections", "2", "--postgres", "off"]
    cases = run.main([*args, "--output-dir", str(out)])

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


@pytest.mark.parametrize("workers", [1, 2])
def test_the_storage_floor_replays_on_every_backend(fresh_database: str, workers: int) -> None:
    """The floor rewrites captured parameters (keys, ids), also inside PostgreSQL's JSON row documents. It
    replays what a server of that many workers sends: with two, SQLite validates ahead in a read
    transaction of its own (crm.ahead), one more COMMIT."""
    from bench import floor

    manifest = populate.populate(fresh_database, TINY)
    result = floor.measure(fresh_database, manifest, seconds=0.3, workers=workers, max_batches=3)
    assert result.batches == 3 and result.records_per_s > 0
    ahead = workers > 1 and fresh_database.startswith("sqlite")
    assert result.statement_summary.count("COMMIT") == (2 if ahead else 1)
