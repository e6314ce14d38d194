"""A real `localspot serve` process for the load to hit, and what the benchmark reads off it.

Peak memory and CPU come from /proc for the whole process tree: with `--workers 2` uvicorn runs a
supervisor and two worker processes, and each one's memory counts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

STARTUP_TIMEOUT_S = 60
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    startup_seconds: float
    log_path: Path

    def tree(self) -> list[int]:
        return process_tree(self.process.pid)

    def peak_rss_mb(self) -> tuple[float, int]:
        """Sum of each server process's RSS high-water mark (VmHWM), and how many processes there are."""
        pids = self.tree()
        return sum(_status_kb(pid, "VmHWM") for pid in pids) / 1024, len(pids)

    def cpu_seconds(self) -> float:
        return sum(_cpu_ticks(pid) for pid in self.tree()) / CLOCK_TICKS

    def stop(self) -> None:
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
    server = Server(process, port, 0.0, log_path)
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


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
