"""Profile the server under one operation's load with py-spy (the `bench` extra), and summarize it.

    python -m bench.profile upsert --size 10000 --connections 1 --seconds 10
    python -m bench.profile upsert --connections 4 --workers 2   # as `make bench` serves SQLite

Serves a copy of the cached SQLite database, runs the load generator for a little longer than the
sampling window, records the server with `py-spy record --format raw`, and prints where the samples
fall: by layer, then the top functions (inclusive and self). The raw stacks and a flame graph SVG are
left in bench/.cache/work/ for a closer look.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import asdict
from pathlib import Path

from bench import loadgen, populate
from bench.run import REQUESTS_PER_SECOND_CAP
from bench.server import start

LAYERS = (  # first match wins; `self` frames are sorted into these
    # The hot statements go straight to sqlite3 (store.driver `_on_sqlite3`), and a checkpoint is one PRAGMA
    # (`WalCheckpointer._passive`): SQLite's time, not the store's.
    (
        "SQLite itself (C, under DBAPI calls)",
        ("do_commit", "do_execute", "fetchone (sqlalchemy/engine/cursor", "_on_sqlite3", "WalCheckpointer._passive"),
    ),
    # A thread waiting (the WAL checkpointer between checkpoints) that py-spy sampled as active.
    ("threads waiting (Condition.wait, Event.wait)", ("Condition.wait (threading", "Event.wait (threading")),
    ("SQLAlchemy Core (statements, parameters, rows)", ("sqlalchemy",)),
    ("localspot timestamps", ("localspot/crm/timestamps",)),
    ("localspot crm (validation, public forms)", ("localspot/crm",)),
    ("localspot store", ("localspot/store",)),
    ("localspot http", ("localspot/http",)),
    ("thread-pool hand-off (anyio, queue, threading)", ("anyio", "threading.py", "queue.py")),
    ("starlette", ("starlette",)),
    ("uvicorn and the event loop", ("uvicorn", "asyncio", "localspot:", "<module>")),
)


def frame_key(frame: str) -> str:
    return re.sub(r":\d+\)", ")", frame)


def summarize(raw: Path, top: int = 25) -> str:
    inclusive, own, total = collections.Counter(), collections.Counter(), 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        # `--subprocesses` stacks begin with a `process PID:"command"` frame: not code.
        frames = [frame_key(f) for f in stack.split(";") if not f.startswith("process ")]
        frames = frames or ["(a thread with no Python frame)"]  # e.g. sampled outside the interpreter
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    layers = collections.Counter(_layer(f) for f in own.elements())
    out = [f"{total} samples", "", "by layer (self time):"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in layers.most_common()]
    out += ["", "top functions, inclusive:"]
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top) if "threading.py" not in f]
    out += ["", "top functions, self:"]
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    return "\n".join(out)


def _layer(frame: str) -> str:
    return next((name for name, marks in LAYERS if any(m in frame for m in marks)), "other")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("op", choices=loadgen.OPERATIONS)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="server processes (py-spy samples them all)")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    work = populate.CACHE_DIR / "work"
    work.mkdir(parents=True, exist_ok=True)
    cached, manifest = populate.cached_sqlite(args.size)
    db, manifest_path = work / "profile.db", work / "profile.manifest.json"
    populate.copy_sqlite(cached, db)
    manifest.save(manifest_path)
    server = start(
        f"sqlite:///{db}", populate.TOKEN, args.workers, work / "profile.server.log", "/crm/v3/objects/tasks/1"
    )
    try:
        raw = _record(args, server, manifest_path, py_spy, work)
    finally:
        server.stop()
        populate.remove_sqlite(db)
    print(summarize(raw))


def _record(args: argparse.Namespace, server: object, manifest_path: Path, py_spy: str, work: Path) -> Path:
    spec = loadgen.Spec(
        op=args.op,
        port=server.port,
        token=populate.TOKEN,
        manifest_path=str(manifest_path),
        connections=args.connections,
        duration=args.seconds + 6,
        max_requests=int((args.seconds + 6) * REQUESTS_PER_SECOND_CAP[args.op]),
        run_tag=uuid.uuid4().hex[:6],
    )
    load = subprocess.Popen([sys.executable, "-m", "bench.loadgen"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    load.stdin.write(json.dumps(asdict(spec)).encode())
    load.stdin.close()
    time.sleep(4)  # past encoding the requests and the warm-up
    raw, svg = work / f"profile-{args.op}.txt", work / f"profile-{args.op}.svg"
    pid, seconds = str(server.process.pid), str(int(args.seconds))
    subprocess.run(
        [py_spy, "record", "--pid", pid, "--subprocesses", "-d", seconds, "-r", "200", "-f", "raw", "-o", str(raw)],
        check=True,
    )
    subprocess.run(
        [py_spy, "record", "--pid", pid, "--subprocesses", "-d", "2", "-o", str(svg)], check=False, capture_output=True
    )
    print(load.stdout.read().decode().strip())  # stdin is already closed: no communicate()
    load.wait()
    return raw


if __name__ == "__main__":
    main()
