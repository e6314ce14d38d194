"""A real `localspot serve` process for the load to hit, and what the benchmark reads off it.

Peak memory and CPU come from /proc for the whole process tree: with `--workers 2` LocalSpot runs a
supervisor and two worker processes forked from it, and each one's memory counts. Two measures:

- the sum of each process's RSS high-water mark (VmHWM): an upper bound, since pages the forked
  workers share with the supervisor (the imported code) count once per process;
- the peak of the tree's proportional set size (Pss: a shared page counts 1/N in each of its N
  processes), sampled every `PSS_SAMPLE_S` while the server is under load (`Server.measuring`), and
  every `PSS_IDLE_SAMPLE_S` otherwise: what the tree really held.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

STARTUP_TIMEOUT_S = 60
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PSS_SAMPLE_S = 0.25  # while the server is under load
PSS_IDLE_SAMPLE_S = 2.0  # while it is not (between loads, and start-up, whose peak is below a load's)
TREE_REFRESH_S = 2.0  # how often the tree is looked up again, so that a replaced worker is found


class PssSampler:
    """The highest sum of Pss over a process tree, sampled on a thread of the benchmark's own.

    A sample costs CPU on the machine the server is measured on: reading a process's smaps_rollup walks
    its page tables (5-7 ms for a 1M server's three processes under load), and finding the tree reads
    every process's /proc entry (4-7 ms). Looking the tree up for every sample, and sampling an idle
    server as often as a busy one, two samplers took 53-56 ms of CPU a second with two servers up and one
    under upsert load, as in `make bench`'s SQLite turns (docs/benchmarks.md, thirteenth round): CPU the
    server under load did not get."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_kb = 0
        self.busy = threading.Event()  # the server is under load (Server.measuring)
        self._done = threading.Event()
        self._tree: list[int] = []
        self._tree_at = -math.inf
        self._thread = threading.Thread(target=self._run, name="pss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        sampled_at, was_busy = -math.inf, False
        while not self._done.wait(PSS_SAMPLE_S):
            now, busy = time.monotonic(), self.busy.is_set()
            if busy or now - sampled_at >= PSS_IDLE_SAMPLE_S:
                # A load starting looks the tree up afresh: workers forked since count from its first sample.
                self.peak_kb = max(self.peak_kb, self._sample(now, fresh_tree=busy and not was_busy))
                sampled_at = now
            was_busy = busy

    def _sample(self, now: float, fresh_tree: bool) -> int:
        if fresh_tree or now - self._tree_at >= TREE_REFRESH_S:
            self._tree, self._tree_at = process_tree(self.root), now
        sizes = [_pss_kb(pid) for pid in self._tree]
        if None in sizes:  # a process ended (a worker replaced, say): the next sample looks the tree up again
            self._tree_at = -math.inf
        return sum(kb for kb in sizes if kb is not None)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    startup_seconds: float
    log_path: Path
    pss: PssSampler | None = None

    def tree(self) -> list[int]:
        return process_tree(self.process.pid)

    def peak_rss_mb(self) -> tuple[float, int]:
        """Sum of each server process's RSS high-water mark (VmHWM), and how many processes there are."""
        pids = self.tree()
        return sum(_status_kb(pid, "VmHWM") for pid in pids) / 1024, len(pids)

    def peak_pss_mb(self) -> float:
        return self.pss.peak_kb / 1024 if self.pss else 0.0

    @contextlib.contextmanager
    def measuring(self) -> Iterator[None]:
        """The server is under load meanwhile: its memory is sampled every PSS_SAMPLE_S. Not nested: the
        inner one's end would mark the server idle."""
        if self.pss:
            self.pss.busy.set()
        try:
            yield
        finally:
            if self.pss:
                self.pss.busy.clear()

    def cpu_seconds(self) -> float:
        return sum(_cpu_ticks(pid) for pid in self.tree()) / CLOCK_TICKS

    def stop(self) -> None:
        if self.pss:
            self.pss.stop()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def localspot_command() -> list[str]:
    """The installed console script, as a user runs it; `python -m localspot` where it is missing."""
    script = Path(sys.executable).with_name("localspot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "localspot"]


def start(database_url: str, token: str, workers: int, log_path: Path, probe_path: str) -> Server:
    """Launch `localspot serve` and time it until it answers `probe_path` (an authenticated GET)."""
    port = _free_port()
    args = [*localspot_command(), "serve", "--port", str(port), "--db", database_url, "--token", token]
    args += ["--workers", str(workers)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSPOT_")}
    with log_path.open("wb") as log:
        launched = time.perf_counter()
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    server = Server(process, port, 0.0, log_path, PssSampler(process.pid))
    _wait_for_answer(server, f"http://127.0.0.1:{port}{probe_path}", token)
    server.startup_seconds = time.perf_counter() - launched
    if workers > 1:
        _wait_for_workers(server, workers)
    return server


def _wait_for_answer(server: Server, url: str, token: str) -> None:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"localspot exited with {server.process.returncode}:\n{server.log_path.read_text()}")
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                answer.read()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer (even 404) counts: the server is up
        except OSError:
            time.sleep(0.01)
    server.stop()
    raise RuntimeError(f"localspot did not answer within {STARTUP_TIMEOUT_S} s:\n{server.log_path.read_text()}")


def _wait_for_workers(server: Server, workers: int) -> None:
    """The first answer may come from worker 1 while worker 2 is still starting: let it finish."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline and server.log_path.read_text().count("Application startup complete") < workers:
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- /proc ---------------------------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent_of(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack += children.get(pid, [])
    return out


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # the name may hold spaces; fields after it do not


def _parent_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def _cpu_ticks(pid: int) -> int:
    fields = _stat_fields(pid)
    return int(fields[11]) + int(fields[12]) if fields else 0  # utime + stime


def _pss_kb(pid: int) -> int | None:
    """The process's Pss, or None if it has ended."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:  # the process ended while we looked
        return None
    return 0


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
