"""The load generator: a separate process that drives one operation over keep-alive HTTP/1.1 connections.

Lean on purpose, so that it is never the bottleneck: every request is encoded to bytes before the clock
starts, each connection is a raw asyncio stream (uvloop when installed) that writes a request and
reads one `Content-Length` response, and nothing parses the answers except one sample per run. It
reports its own CPU time so the results can show how much of the machine it took.

Run as `python -m bench.loadgen < spec.json`; prints one JSON result.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from bench import workload as w
from bench.workload import Manifest  # not bench.populate: the generator must not import LocalSpot

OPERATIONS = ("upsert", "create", "read", "get")
EXPECTED_STATUS = {"upsert": 200, "create": 201, "read": 200, "get": 200}


@dataclass
class Spec:
    op: str
    port: int
    token: str
    manifest_path: str
    connections: int = 4
    duration: float = 5.0  # measured seconds at most
    max_requests: int = 1_000  # measured requests at most; whichever limit comes first ends the run
    warmup: int = 20
    seed: int = 1
    run_tag: str = "r"
    latencies: bool = False  # return each request's latency too (runs merged later: bench.run.merged)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_sample: str = ""
    first_body: bytes = b""


# --- requests ----------------------------------------------------------------------------------------


def build_requests(spec: Spec, count: int) -> list[bytes]:
    manifest = Manifest.load(spec.manifest_path)
    rng = random.Random(spec.seed)
    head = f"Host: 127.0.0.1:{spec.port}\r\nAuthorization: Bearer {spec.token}\r\n"
    return [_request(spec, manifest, rng, head, i) for i in range(count)]


def _request(spec: Spec, manifest: Manifest, rng: random.Random, head: str, i: int) -> bytes:
    if spec.op == "get":
        _, record_id = rng.choice(manifest.sample)
        return f"GET /crm/v3/objects/tasks/{record_id} HTTP/1.1\r\n{head}\r\n".encode()
    path, body = w.batch_request(spec.op, manifest, rng, i, spec.run_tag)
    payload = orjson.dumps(body)
    return (
        f"POST /crm/v3/objects/tasks/{path} HTTP/1.1\r\n{head}"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload


def records_per_request(op: str) -> int:
    return 1 if op == "get" else w.BATCH


# --- the load ----------------------------------------------------------------------------------------


class Feed:
    """Hands out requests to every connection in order, until the list or the time runs out."""

    def __init__(self, requests: list[bytes], deadline: float) -> None:
        self.requests, self.next, self.deadline = requests, 0, deadline

    def take(self) -> bytes | None:
        if self.next >= len(self.requests) or time.perf_counter() >= self.deadline:
            return None
        self.next += 1
        return self.requests[self.next - 1]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def _drive(conn: tuple, feed: Feed, tally: Tally | None, expected: int) -> None:
    reader, writer = conn
    while (request := feed.take()) is not None:
        started = time.perf_counter()
        writer.write(request)
        status, body = await _read_response(reader)
        if tally is None:
            continue
        tally.latencies.append(time.perf_counter() - started)
        if status != expected:
            tally.errors += 1
            tally.error_sample = tally.error_sample or f"{status} {body[:500].decode(errors='replace')}"
        elif not tally.first_body:
            tally.first_body = body


async def run(spec: Spec, requests: list[bytes]) -> dict[str, Any]:
    conns = [await asyncio.open_connection("127.0.0.1", spec.port) for _ in range(spec.connections)]
    expected = EXPECTED_STATUS[spec.op]
    warm = Feed(requests[: spec.warmup], float("inf"))
    await asyncio.gather(*(_drive(c, warm, None, expected) for c in conns))
    tally = Tally()
    cpu0, started = time.process_time(), time.perf_counter()
    feed = Feed(requests[spec.warmup :], started + spec.duration)
    await asyncio.gather(*(_drive(c, feed, tally, expected) for c in conns))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    for _, writer in conns:
        writer.close()
    return summarize(spec, tally, elapsed, cpu)


def summarize(spec: Spec, tally: Tally, elapsed: float, cpu: float) -> dict[str, Any]:
    lat = sorted(tally.latencies)
    done = len(lat) - tally.errors
    return {
        "op": spec.op,
        "connections": spec.connections,
        "requests": len(lat),
        "errors": tally.errors,
        "error_sample": tally.error_sample,
        "seconds": elapsed,
        "records_per_s": done * records_per_request(spec.op) / elapsed if elapsed else 0.0,
        "requests_per_s": len(lat) / elapsed if elapsed else 0.0,
        "p50_ms": percentile(lat, 0.50) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000,
        "max_ms": (lat[-1] if lat else 0.0) * 1000,
        "loadgen_cpu_s": cpu,
        "check": check_answer(spec.op, tally.first_body),
        **({"latencies": lat} if spec.latencies else {}),  # seconds, sorted
    }


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


def check_answer(op: str, body: bytes) -> str:
    """'ok', or what is wrong with one sampled answer: a fast wrong answer is no result."""
    if not body:
        return "no successful answer"
    data = orjson.loads(body)
    if op == "get":
        return "ok" if data.get("id") else f"no id in {body[:200]!r}"
    results = data.get("results", [])
    if len(results) != w.BATCH:
        return f"{len(results)} results instead of {w.BATCH}"
    if op == "upsert" and sum(bool(r.get("new")) for r in results) != w.BATCH // 2:
        return "upsert did not create exactly half of the records"
    return "ok"


def main() -> None:
    spec = Spec(**json.load(sys.stdin))
    if spec.op not in OPERATIONS:
        raise SystemExit(f"unknown operation {spec.op!r}; one of {OPERATIONS}")
    requests = build_requests(spec, spec.warmup + spec.max_requests)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = json.dumps(runner(run(spec, requests)))
    # An 830 KB result (GET's latencies, no longer sent) once arrived broken at 640 KiB: write it with
    # stdout blocking, whatever the event loop left it as.
    os.set_blocking(sys.stdout.fileno(), True)
    print(result)


if __name__ == "__main__":
    main()
