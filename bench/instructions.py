"""Count the CPU instructions one in-process batch takes, with valgrind's callgrind: a measure of a change
that varies far less with the machine's speed than `make bench`'s figures (those varied by a third within
an hour on the same code, docs/benchmarks.md).

    python -m bench.instructions upsert          # instructions per batch upsert (1-3 minutes on 2 cores)
    python -m bench.instructions read
    python -m bench.instructions upsert --size 1000000   # what a store of 1,000,000 records adds

Two Starlette apps, as two `--workers` processes build them (batch upserts validated ahead of the writer
lock), serve a copy of the cached 10,000-record SQLite store, or of the size `--size` names (an upsert
batch adds 50 records: at 10,000 the counted batches run on 10,000-25,000); requests go straight to the
apps over ASGI, taking turns between them: no server, no sockets, no load generator. The program runs
under callgrind twice, with FEW and MANY batches, and the count per batch is the difference of the two
counts over the difference of the batches: start-up, imports, the warm-up and the building of the
requests (both runs build as many, with the benchmark's bodies, bench.workload) are in both counts and
drop out. String hashing is fixed (PYTHONHASHSEED); what still varies is the WAL checkpoint thread, which
runs by the clock: the counts repeated to within about 1.5% here. The count is also given by the object
file the code is in (the interpreter, SQLite, the C library...), from callgrind's profile: what a change
or a larger store moves. callgrind counts the program's own instructions, not the kernel's (its system
calls: reading pages, for one). Needs valgrind (Debian: `apt install valgrind`).

`--run N --copy FILE` serves N batches on FILE without valgrind (what each counted run does). It counts the
`localspot` it imports: with PYTHONPATH at another checkout's `src`, that one (from b50d2a3 on, which has
`localspot.cli.settle_worker_gc`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench import populate
from bench import workload as w

SIZE = 10_000
FEW, MANY = 100, 300
TOKEN = "pat-bench-instructions"
OPERATIONS = ("upsert", "read")
WARM_UP = 4  # batches before the counted ones: caches filled, statements compiled
COLLECTED = re.compile(r"Collected : (\d+)")
SHOWN_MIN = 50_000  # an object file whose count per batch is smaller (either way) is counted under "other"
# `ob=(3) /usr/lib/libsqlite3.so` names id 3 (the space is optional); `ob=(3)` refers to it.
COMPRESSED_NAME = re.compile(r"\((\d+)\)\s*(.*)")


@dataclass
class Count:
    total: int  # all the run's instructions (callgrind's `Collected`)
    by_library: dict[str, int]  # the same, split by the object file (`libsqlite3.so.0.8.6`) their code is in


def requests(op: str, manifest: w.Manifest, count: int) -> list[tuple[str, bytes]]:
    """`count` request (path, body) pairs, the benchmark's; the first ones are the same whatever `count`."""
    rng = random.Random(1)
    return [
        (f"/crm/v3/objects/tasks/{path}", orjson.dumps(body))
        for path, body in (w.batch_request(op, manifest, rng, i, "instructions") for i in range(count))
    ]


def worker_apps(database: Path) -> list:
    """Two apps on `database`, as two `serve --workers 2` processes build theirs (after their GC settings)."""
    from localspot.app import create_app
    from localspot.cli import settle_worker_gc
    from localspot.settings import Settings

    settings = Settings(database_url=f"sqlite:///{database}", tokens=(TOKEN,), workers=2)
    apps = [create_app(settings) for _ in range(2)]
    settle_worker_gc()
    return apps


def serve(op: str, batches: int, database: Path, manifest: w.Manifest, prepared: int) -> None:
    """Serve `batches` batches (after the warm-up) through two apps on `database`, as two workers would;
    `prepared` requests are built first (as many in every run, whatever `batches`)."""
    work = requests(op, manifest, WARM_UP + prepared)
    apps = worker_apps(database)

    async def all_batches() -> None:
        for i, (path, body) in enumerate(work[: WARM_UP + batches]):
            await answer(apps[i % 2], path, body)

    try:
        asyncio.run(all_batches())
    finally:
        for app in apps:
            app.state.service.store.dispose()


async def answer(app: object, path: str, body: bytes) -> None:
    """POST `body` to `app` over ASGI; anything but a 200 raises (a failing batch must not be counted). The
    answer is not parsed: that would count the harness's work (7% of a batch upsert's instructions)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"localspot"),
            (b"authorization", f"Bearer {TOKEN}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict] = []

    async def receive() -> dict:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client never disconnects
        return {}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    if sent[0]["status"] != 200:
        answered = b"".join(m.get("body", b"") for m in sent[1:])
        raise RuntimeError(f"{path} answered {sent[0]['status']}: {answered[:300]!r}")


def counted(op: str, batches: int, size: int, source: Path, work_dir: Path) -> Count:
    """Instructions of one run of `batches` batches under callgrind, on a fresh copy of `source` (`size` records)."""
    database = work_dir / f"instructions-{op}-{batches}.db"
    profile = work_dir / f"callgrind-{op}-{batches}.out"
    populate.copy_sqlite(source, database)
    command = [sys.executable, "-m", "bench.instructions", op, "--run", str(batches), "--copy", str(database)]
    command = [*command, "--size", str(size)]
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={profile}", *command],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"callgrind run failed ({done.returncode}): {done.stderr[-2000:]}")
    with profile.open() as lines:
        return Count(collected(done.stderr), by_library(lines))


def collected(stderr: str) -> int:
    """The instructions callgrind reports at the end of a run (`==PID== Collected : N`)."""
    found = COLLECTED.search(stderr)
    if found is None:
        raise RuntimeError(f"callgrind reported no count: {stderr[-2000:]}")
    return int(found.group(1))


def by_library(profile: Iterable[str]) -> dict[str, int]:
    """The instructions of a callgrind profile's lines (its out file, one event: Ir), by the name of the
    object file their code is in. Callgrind's format: `ob=` names the object of the functions that follow
    (`cob=` may name an id first); a cost line is its positions (`positions:`, `line` by default), then
    its count; the line after `calls=` is the call's inclusive cost, counted in the callee. The counts
    must add up to the profile's `totals:`: a line misread would not go unnoticed."""
    objects: dict[str, str] = {}
    totals: Counter[str] = Counter()
    current, positions, call_cost_next, expected = "???", 1, False, None
    for line in profile:
        if call_cost_next:
            call_cost_next = False
        elif line[:1].isdigit() or line[:1] in "+-*":
            fields = line.split()
            if len(fields) > positions:
                totals[Path(current).name] += int(fields[positions])
        elif line.startswith(("ob=", "cob=")):
            name = _object_named(line.split("=", 1)[1].strip(), objects)
            current = name if line.startswith("ob=") else current
        elif line.startswith("calls="):
            call_cost_next = True
        elif line.startswith("positions:"):
            positions = len(line.split(":", 1)[1].split())
        elif line.startswith("totals:"):
            expected = int(line.split()[1])
    if expected is not None and expected != sum(totals.values()):
        raise RuntimeError(
            f"callgrind profile read as {sum(totals.values()):,} instructions, its totals say {expected:,}"
        )
    return dict(totals)


def _object_named(spec: str, objects: dict[str, str]) -> str:
    """`(3) /usr/lib/libsqlite3.so` (naming id 3), `(3)` (a named id) or a bare name."""
    compressed = COMPRESSED_NAME.fullmatch(spec)
    if compressed is None:
        return spec
    ref, name = compressed.groups()
    if name:
        objects[ref] = name
    return objects.get(ref, f"({ref})")


def per_batch(low: int, high: int, few: int = FEW, many: int = MANY) -> float:
    """The count per batch of two runs' counts, of `few` and of `many` batches."""
    return (high - low) / (many - few)


def per_batch_by_library(low: Count, high: Count, few: int = FEW, many: int = MANY) -> dict[str, float]:
    """Each object file's count per batch, the largest first; those under SHOWN_MIN (either way) as "other"."""
    names = high.by_library.keys() | low.by_library.keys()
    counts = {n: per_batch(low.by_library.get(n, 0), high.by_library.get(n, 0), few, many) for n in names}
    shown = {n: c for n, c in sorted(counts.items(), key=lambda kv: -kv[1]) if abs(c) >= SHOWN_MIN}
    return {**shown, "other": sum(counts.values()) - sum(shown.values())}


def measure(op: str, size: int = SIZE) -> tuple[float, dict[str, float]]:
    """Instructions per batch of `op` on a store of `size` records, in all and by object file: the two runs
    at once (one per core)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("bench.instructions needs valgrind (Debian: apt install valgrind)")
    source, _ = populate.cached_sqlite(size)  # built before the runs, not by both at once
    with tempfile.TemporaryDirectory(dir=populate.CACHE_DIR) as tmp, ThreadPoolExecutor(2) as pool:
        low, high = pool.map(lambda n: counted(op, n, size, source, Path(tmp)), (FEW, MANY))
    return per_batch(low.total, high.total), per_batch_by_library(low, high)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n\n")[0])
    parser.add_argument("op", choices=OPERATIONS)
    parser.add_argument("--run", type=int, help="serve this many batches, uncounted (what a counted run does)")
    parser.add_argument("--copy", type=Path, help="with --run: a copy of the cached store to serve (it is written)")
    parser.add_argument("--size", type=int, default=SIZE, help="records in the cached store (built if missing)")
    args = parser.parse_args(argv)
    if args.size < 1:
        parser.error("--size needs a number of records (1 or more)")
    if args.run is None:
        if args.copy is not None:
            parser.error("--copy goes with --run")
        count, libraries = measure(args.op, args.size)
        where = f"callgrind; {MANY} batches less {FEW}; a store of {args.size:,} records"
        print(f"{args.op}: {count / 1e6:.2f} M instructions per batch ({where})")
        for name, n in libraries.items():
            print(f"  {name:<40} {n / 1e6:6.2f} M")
        return
    if args.run < 0 or args.copy is None:
        parser.error("--run needs a number of batches (0 or more) and --copy: a copy of the cached store")
    serve(args.op, args.run, args.copy, populate.cached_sqlite(args.size)[1], prepared=max(args.run, MANY))


if __name__ == "__main__":
    main()
