"""docs/benchmarks.md and docs/benchmarks.png from one run's results, with the machine they came from.

Everything above the NOTES_MARKER line is rewritten by each run; notes written by hand below it (the
profile analysis) are kept.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.server import PSS_IDLE_SAMPLE_S, PSS_SAMPLE_S

NOTES_MARKER = "<!-- Everything below this line is written by hand and kept by `make bench`. -->"
OP_LABELS = {
    "upsert": "batch upsert (100: 50 new, 50 updates)",
    "create": "batch create (100, 1 association each)",
    "read": "batch read (100 by idProperty)",
    "get": "GET one record by id",
}
PACKAGES = ("sqlalchemy", "starlette", "uvicorn", "orjson", "psycopg")
SHARED_LOAD = 0.5  # a 1-minute load average above this before we start means someone else was busy


def human(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


# --- machine facts ----------------------------------------------------------------------------------


def machine_facts(postgres_url: str | None) -> dict[str, Any]:
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gb": _memory_gb(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _postgres_version(postgres_url) if postgres_url else "not measured",
        "packages": ", ".join(f"{p} {_version(p)}" for p in PACKAGES),
        "commit": _git_commit(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float:
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        return round(kb / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        return 0.0


def _postgres_version(url: str) -> str:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error:
        return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def _git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=root, capture_output=True, text=True)
    except OSError:
        return "unknown"
    commit = sha.stdout.strip() or "unknown"
    return f"{commit} (src/ has uncommitted changes)" if dirty.stdout.strip() else commit


# --- targets ----------------------------------------------------------------------------------------


def targets(cases: list[Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for each of issue 4's targets that this run's sizes can judge."""
    sqlite = sorted((c for c in cases if c.backend == "sqlite"), key=lambda c: c.size)
    pg = [c for c in cases if c.backend == "postgresql"]
    out: list[tuple[str, str, bool | None]] = []
    if sqlite:
        base, big = sqlite[0], sqlite[-1]
        up = base.ops["upsert"]
        out.append(
            (f"batch upsert, SQLite {human(base.size)}: >= 20,000 records/s", _rate(up), up["records_per_s"] >= 20_000)
        )
        out.append((f"  ... p99 < 30 ms ({human(base.size)})", f"{up['p99_ms']:.1f} ms", up["p99_ms"] < 30))
        if big is not base:
            share = big.ops["upsert"]["records_per_s"] / max(up["records_per_s"], 1e-9)
            out.append(
                (
                    f"batch upsert, SQLite {human(big.size)}: >= 85% of {human(base.size)}",
                    f"{_rate(big.ops['upsert'])} = {share:.0%}",
                    share >= 0.85,
                )
            )
        for c in sqlite:
            out.append(
                (
                    f"batch read by idProperty, SQLite {human(c.size)}: >= 50,000 records/s",
                    _rate(c.ops["read"]),
                    c.ops["read"]["records_per_s"] >= 50_000,
                )
            )
        out.append(
            (
                f"peak server memory, SQLite {human(big.size)}: < 250 MB",
                f"{big.peak_pss_mb:.0f} MB Pss ({big.peak_rss_mb:.0f} MB sum of VmHWM, {big.workers} worker(s))",
                big.peak_pss_mb < 250,
            )
        )
    for c in pg:
        up = c.ops["upsert"]
        out.append(
            (
                f"batch upsert, PostgreSQL 2 workers {human(c.size)}: >= 15,000 records/s",
                _rate(up),
                up["records_per_s"] >= 15_000,
            )
        )
    for c in cases:
        ratio = floor_ratio(c)
        out.append(
            (
                f"HTTP >= 60% of raw storage floor, {c.label}",
                f"{ratio:.0%} ({_rate(c.ops['upsert'])} / {c.floor['records_per_s']:,.0f})",
                ratio >= 0.6,
            )
        )
    for c in cases:
        out.append((f"start-up to first answer, {c.label}: < 1.5 s", f"{c.startup_s:.2f} s", c.startup_s < 1.5))
    return out


def floor_ratio(case: Any) -> float:
    return case.ops["upsert"]["records_per_s"] / max(case.floor["records_per_s"], 1e-9)


def _rate(op: dict[str, Any]) -> str:
    return f"{op['records_per_s']:,.0f} records/s"


# --- markdown ---------------------------------------------------------------------------------------


def write(cases: list[Any], facts: dict[str, Any], settings: dict[str, Any], output_dir: Path) -> tuple[Path, Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    markdown, png = output_dir / "benchmarks.md", output_dir / "benchmarks.png"
    if not chart(cases, png):
        png.unlink(missing_ok=True)
    notes = _kept_notes(markdown)
    markdown.write_text(render(cases, facts, settings, png.name) + "\n" + NOTES_MARKER + "\n" + notes)
    return markdown, png


def _kept_notes(markdown: Path) -> str:
    if not markdown.exists():
        return ""
    text = markdown.read_text()
    return text.split(NOTES_MARKER, 1)[1].lstrip("\n") if NOTES_MARKER in text else ""


def _turns(settings: dict[str, Any]) -> str:
    if settings.get("upsert_turns", 1) <= 1:
        return ""
    return (
        "; the SQLite sizes were served at once, and their batch upserts ran twice each, full length, "
        "taking turns there and back (10k, 1M, 1M, 10k; each turn with its own warm-up, the servers quiet "
        "in between), so that the sizes are compared over the same minutes"
    )


def render(cases: list[Any], facts: dict[str, Any], settings: dict[str, Any], png_name: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench.run`; `BENCH_SIZES=small make bench` for a quick run). "
        "LocalSpot runs as a real `localspot serve` process; a separate load-generator process drives it over "
        f"{settings['connections']} keep-alive HTTP/1.1 connections from 127.0.0.1, "
        f"{settings['seconds']:g} s per operation after 20 warm-up requests{_turns(settings)}. "
        "See bench/run.py for the method.",
        "",
        *_shared_machine_note(facts),
        f"![throughput by operation and store size]({png_name})",
        "",
        "## Targets (issue 4)",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *[f"| {t} | {m} | {'yes' if ok else 'NO'} |" for t, m, ok in targets(cases)],
        "",
        "## Throughput and latency",
        "",
        "| store | operation | records/s | requests/s | p50 ms | p99 ms | max ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cases:
        for op, r in c.ops.items():
            lines.append(
                f"| {c.label} | {OP_LABELS[op]} | {r['records_per_s']:,.0f} | {r['requests_per_s']:,.0f} | "
                f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.1f} | {r['errors']} |"
            )
    lines += _server_section(cases) + _generator_section(cases) + _floor_section(cases) + _facts_section(facts)
    return "\n".join(lines) + "\n"


def _shared_machine_note(facts: dict[str, Any]) -> list[str]:
    before, after = facts["load_before"], facts["load_after"]
    loads = f"load average {_loads(before)} before, {_loads(after)} after"
    speed = f"CPU gauge (bench/gauge.py): before the run {facts['gauge_before']}; after, {facts['gauge_after']}"
    if before[0] > SHARED_LOAD:
        state = f"**Measured on a shared machine**: other work was running ({loads}); expect noise."
    else:
        state = f"Machine idle at start ({loads}; the run itself loads both cores)."
    return [f"{state} {speed}.", ""]


def _loads(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def _server_section(cases: list[Any]) -> list[str]:
    lines = [
        "",
        "## Server",
        "",
        "| store | workers | start-up to first answer | peak Pss (all processes) | sum of VmHWM | populate |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in cases:
        cached = " (cached)" if c.backend == "sqlite" else ""
        lines.append(
            f"| {c.label} | {c.workers} | {c.startup_s:.2f} s | {c.peak_pss_mb:.0f} MB | "
            f"{c.peak_rss_mb:.0f} MB ({c.server_processes} processes) | {c.populate_s:.0f} s{cached} |"
        )
    lines += [
        "",
        "Peak Pss is the highest sum of the server processes' proportional set size (/proc/PID/smaps_rollup), "
        f"sampled every {PSS_SAMPLE_S:g} s under load and every {PSS_IDLE_SAMPLE_S:g} s between loads (a spike "
        "shorter than the interval could be missed): a page shared by N processes counts "
        "1/N in each. The sum of each process's RSS "
        "high-water mark (VmHWM, /proc/PID/status) is an upper bound: the workers are forked from the "
        "supervisor and share its pages (the imported code), which it counts once per process.",
    ]
    return lines


def _generator_section(cases: list[Any]) -> list[str]:
    lines = [
        "",
        "## Load generator CPU",
        "",
        "The generator must not be the bottleneck. 'of a core' is its CPU time over the measured wall time; "
        "'of all CPU used' is its share of generator + server CPU time.",
        "",
        "| store | operation | generator CPU | of a core | server CPU | of all CPU used |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for c in cases:
        for op, r in c.ops.items():
            gen, srv = r["loadgen_cpu_s"], r["server_cpu_s"]
            share = gen / max(gen + srv, 1e-9)
            lines.append(f"| {c.label} | {op} | {gen:.2f} s | {gen / r['seconds']:.0%} | {srv:.2f} s | {share:.0%} |")
    return lines


def _floor_section(cases: list[Any]) -> list[str]:
    lines = [
        "",
        "## Raw storage floor",
        "",
        "The SQL statements LocalSpot issues for one batch upsert (captured with a `before_cursor_execute` "
        "listener), replayed in-process on a raw DBAPI connection with fresh keys and ids: no HTTP, no "
        "validation, no SQLAlchemy. One connection, one batch per transaction. Only the driver calls are "
        "timed: the Python that rewrites their parameters between batches is not the database's time.",
        "",
        "| store | floor records/s | LocalSpot over HTTP | ratio | floor, two connections in turns | ratio to it |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in cases:
        http, in_turns = c.ops["upsert"]["records_per_s"], _in_turns(c)
        turns = f"{in_turns:,.0f} | {http / in_turns:.0%}" if in_turns else "- | -"
        lines.append(f"| {c.label} | {c.floor['records_per_s']:,.0f} | {http:,.0f} | {floor_ratio(c):.0%} | {turns} |")
    lines += _in_turns_note(cases)
    for c in cases[:1] + [c for c in cases if c.backend == "postgresql"][:1]:
        lines += ["", f"Statements of one batch upsert, {c.label}:", "", "```", *c.floor["statement_summary"], "```"]
    return lines


def _in_turns(case: Any) -> float | None:
    """The floor on two connections taking turns (SQLite with several workers; older results lack it)."""
    return case.floor.get("in_turns_records_per_s")


def _in_turns_note(cases: list[Any]) -> list[str]:
    turns = sorted((c for c in cases if _in_turns(c)), key=lambda c: c.size)
    if not turns:
        return []
    note = (
        "With several SQLite workers the same batches are also replayed on two connections taking turns, "
        "as the workers write (`bench/floor.py` `replay_in_turns`): each batch validated in a read "
        "transaction right after its connection's own commit, and written after the other connection's "
        "commit. SQLite empties a connection's page cache when another connection has committed, so each "
        "write transaction reads its pages again. Both replays run on one core, their reads and writes one "
        "after the other, taking turns in blocks over the same minutes; the difference between them is "
        "what commits alternating between two connections cost the database (its page cache reloaded). "
        "The target above is measured against the first."
    )
    if len(turns) > 1:
        small, big = turns[0], turns[-1]
        engine, single = _in_turns(big) / _in_turns(small), big.floor["records_per_s"] / small.floor["records_per_s"]
        http = big.ops["upsert"]["records_per_s"] / small.ops["upsert"]["records_per_s"]
        note += (
            f" Taking turns, the database ran SQLite {human(big.size)} at {engine:.0%} of its {human(small.size)} "
            f"speed (one connection: {single:.0%}; LocalSpot over HTTP: {http:.0%})."
        )
    return ["", note]


def _facts_section(facts: dict[str, Any]) -> list[str]:
    keys = ("date", "commit", "cores", "cpu", "memory_gb", "os", "python", "sqlite", "postgresql", "packages")
    lines = ["", "## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k.replace('_', ' ')} | {facts[k]} |" for k in keys]
    before, after = facts["gauge_before"], facts["gauge_after"]
    lines.append(f"| cpu gauge, before the run | {before} ({before.loops:,} additions) |")
    lines.append(f"| cpu gauge, after the run | {after} |")
    lines.append(f"| whole run | {facts['total_s']:.0f} s |")
    return lines


# --- chart ------------------------------------------------------------------------------------------


def chart(cases: list[Any], path: Path) -> bool:
    """Draw the chart; False when matplotlib (the `bench` extra) is not installed, as in a test-only venv."""
    try:
        import matplotlib
    except ImportError:
        return False

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = ["upsert", "create", "read", "get", "floor"]
    names = [
        "batch upsert",
        "batch create\n+ association",
        "batch read\nby idProperty",
        "GET by id",
        "upsert storage\nfloor (no HTTP)",
    ]
    fig, ax = plt.subplots(figsize=(10, 5.5), dpi=110)
    width = 0.8 / max(len(cases), 1)
    for i, c in enumerate(cases):
        values = [c.ops[g]["records_per_s"] if g != "floor" else c.floor["records_per_s"] for g in groups]
        xs = [g + (i - (len(cases) - 1) / 2) * width for g in range(len(groups))]
        bars = ax.bar(xs, values, width, label=f"{c.label} records ({c.workers} worker{'s' if c.workers > 1 else ''})")
        ax.bar_label(bars, labels=[f"{v / 1000:.1f}k" for v in values], fontsize=7, padding=2)
    ax.set_xticks(range(len(groups)), names)
    ax.set_ylabel("records per second")
    ax.set_title("LocalSpot throughput by operation and store size")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
    ax.axhline(20_000, color="grey", linestyle="--", linewidth=0.8)
    ax.text(len(groups) - 0.5, 20_000, " upsert target 20k", va="bottom", ha="right", fontsize=7, color="grey")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
