"""Count the CPU instructions one in-process batch takes, with valgrind's callgrind: a measure of a change
that varies far less with the machine's speed than `make bench`'s figures (those varied by a third within
an hour on the same code, docs/benchmarks.md).

    python -m bench.instructions upsert          # instructions per batch upsert (about 3 minutes on 2 cores)
    python -m bench.instructions read

Two Starlette apps, as two `--workers` processes build them (batch upserts validated ahead of the writer
lock), serve a copy of the cached 10,000-record SQLite store (an upsert batch adds 50 records, so the
counted batches run on 10,000-25,000); requests go straight to the apps over ASGI, taking turns between
them: no server, no sockets, no load generator. The program runs under callgrind twice, with FEW and MANY
batches, and the count per batch is the difference of the two counts over the difference of the batches:
start-up, imports, the warm-up and the building of the requests (both runs build as many, with the
benchmark's bodies, bench.workload) are in both counts and drop out. String hashing is fixed
(PYTHONHASHSEED); what still varies is the WAL checkpoint thread, which runs by the clock: the counts
repeated to within about 1.5% here. Needs valgrind (Debian: `apt install valgrind`).

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
from concurrent.futures import ThreadPoolExecutor
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


def counted(op: str, batches: int, source: Path, work_dir: Path) -> int:
    """Instructions of one run of `batches` batches under callgrind, on a fresh copy of `source`."""
    database = work_dir / f"instructions-{op}-{batches}.db"
    populate.copy_sqlite(source, database)
    command = [sys.executable, "-m", "bench.instructions", op, "--run", str(batches), "--copy", str(database)]
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"callgrind run failed ({done.returncode}): {done.stderr[-2000:]}")
    return collected(done.stderr)


def collected(stderr: str) -> int:
    """The instructions callgrind reports at the end of a run (`==PID== Collected : N`)."""
    found = COLLECTED.search(stderr)
    if found is None:
        raise RuntimeError(f"callgrind reported no count: {stderr[-2000:]}")
    return int(found.group(1))


def per_batch(low: int, high: int, few: int = FEW, many: int = MANY) -> float:
    """The count per batch of two runs' counts, of `few` and of `many` batches."""
    return (high - low) / (many - few)


def measure(op: str) -> float:
    """Instructions per batch of `op`: the two runs at once (one per core)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("bench.instructions needs valgrind (Debian: apt install valgrind)")
    source, _ = populate.cached_sqlite(SIZE)  # built before the runs, not by both at once
    with tempfile.TemporaryDirectory(dir=populate.CACHE_DIR) as tmp, ThreadPoolExecutor(2) as pool:
        low, high = pool.map(lambda n: counted(op, n, source, Path(tmp)), (FEW, MANY))
    return per_batch(low, high)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n\n")[0])
    parser.add_argument("op", choices=OPERATIONS)
    parser.add_argument("--run", type=int, help="serve this many batches, uncounted (what a counted run does)")
    parser.add_argument("--copy", type=Path, help="with --run: a copy of the cached store to serve (it is written)")
    args = parser.parse_args(argv)
    if args.run is None:
        if args.copy is not None:
            parser.error("--copy goes with --run")
        count = measure(args.op)
        print(f"{args.op}: {count / 1e6:.2f} M instructions per batch (callgrind; {MANY} batches less {FEW})")
        return
    if args.run < 0 or args.copy is None:
        parser.error("--run needs a number of batches (0 or more) and --copy: a copy of the cached store")
    serve(args.op, args.run, args.copy, populate.cached_sqlite(SIZE)[1], prepared=max(args.run, MANY))


if __name__ == "__main__":
    main()
