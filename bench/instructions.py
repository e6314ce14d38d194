"""Count the CPU instructions one in-process batch takes, with valgrind's callgrind: a measure of a change
that does not move with the machine's speed, as `make bench`'s figures do (they varied by a third within an
hour on the same code, docs/benchmarks.md).

    python -m bench.instructions upsert          # instructions per batch upsert (about 6 minutes)
    python -m bench.instructions read

Two Starlette apps, as two `--workers` processes build them (batch upserts validated ahead of the writer
lock), serve a copy of the cached 10,000-record SQLite store; requests go straight to the apps over ASGI,
taking turns between them: no server, no sockets, no load generator. The benchmark's request bodies
(bench.workload) are built for the longest run before anything is counted. The program runs under callgrind
twice, with FEW and MANY batches; the difference of the two counts over the difference of the batches is
the count per batch, so start-up, imports and warm-up drop out. The counts repeat to within about 1% (the
WAL checkpoint thread runs by the clock). Needs valgrind (Debian: `apt install valgrind`).

`--run N --copy FILE` serves N batches on FILE without valgrind (what each counted run does).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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


def requests(op: str, manifest: w.Manifest, count: int) -> list[tuple[str, bytes]]:
    """`count` request (path, body) pairs; the first ones are the same whatever `count`."""
    rng = random.Random(1)
    out = []
    for i in range(count):
        if op == "upsert":
            new_keys = [f"ni-{i}-{j}" for j in range(w.BATCH // 2)]
            existing = [(k, w.key_number(k)) for k, _ in w.pick(rng, manifest.sample, w.BATCH // 2)]
            path, body = "batch/upsert", w.upsert_body(new_keys, existing, revision=i + 1)
        else:
            path, body = "batch/read", w.read_body([k for k, _ in w.pick(rng, manifest.sample, w.BATCH)])
        out.append((f"/crm/v3/objects/tasks/{path}", orjson.dumps(body)))
    return out


def serve(op: str, batches: int, database: Path, manifest: w.Manifest, prepared: int) -> None:
    """Serve `batches` batches (after the warm-up) through two apps on `database`, as two workers would."""
    from localspot.app import create_app
    from localspot.cli import GC_YOUNG_THRESHOLD
    from localspot.settings import Settings

    settings = Settings(database_url=f"sqlite:///{database}", tokens=(TOKEN,), workers=2)
    apps = [create_app(settings) for _ in range(2)]
    work = requests(op, manifest, WARM_UP + prepared)
    gc.collect()  # as `app_from_env` leaves a worker
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])

    async def all_batches() -> None:
        for i, (path, body) in enumerate(work[: WARM_UP + batches]):
            await _request(apps[i % 2], path, body)

    asyncio.run(all_batches())


async def _request(app: object, path: str, body: bytes) -> None:
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
        raise RuntimeError(f"{path} answered {sent[0]['status']}: {sent[1].get('body', b'')[:300]!r}")


def counted(op: str, batches: int, work_dir: Path) -> int:
    """Instructions of one run of `batches` batches under callgrind, on a fresh copy of the cached store."""
    source, _ = populate.cached_sqlite(SIZE)
    database = work_dir / f"instructions-{op}-{batches}.db"
    populate.copy_sqlite(source, database)
    command = [sys.executable, "-m", "bench.instructions", op, "--run", str(batches), "--copy", str(database)]
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind run failed ({done.returncode}): {done.stderr[-2000:]}")
    populate.remove_sqlite(database)
    return int(found.group(1))


def per_batch(op: str, few: int = FEW, many: int = MANY) -> float:
    """Instructions per batch: the two runs at once (one per core), their difference over `many - few`."""
    if shutil.which("valgrind") is None:
        raise SystemExit("bench.instructions needs valgrind (Debian: apt install valgrind)")
    populate.cached_sqlite(SIZE)  # built before the runs, not by both at once
    with tempfile.TemporaryDirectory(dir=populate.CACHE_DIR) as tmp, ThreadPoolExecutor(2) as pool:
        low, high = pool.map(lambda n: counted(op, n, Path(tmp)), (few, many))
    return (high - low) / (many - few)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n\n")[0])
    parser.add_argument("op", choices=OPERATIONS)
    parser.add_argument("--run", type=int, help="serve this many batches, uncounted (what a counted run does)")
    parser.add_argument("--copy", type=Path, help="with --run: a copy of the cached store to serve (it is written)")
    args = parser.parse_args(argv)
    if args.run is not None:
        if args.copy is None:
            parser.error("--run needs --copy: a copy of the cached store, which it writes to")
        serve(args.op, args.run, args.copy, populate.cached_sqlite(SIZE)[1], prepared=max(args.run, MANY))
        return
    count = per_batch(args.op)
    print(f"{args.op}: {count / 1e6:.2f} M instructions per batch (callgrind; {MANY} batches less {FEW}, in-process)")


if __name__ == "__main__":
    main()
