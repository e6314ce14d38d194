"""Running real `localspot serve` processes from tests: start on a free port, wait, stop or kill.

The server runs in a process group of its own, so SIGKILL reaches every worker of a `--workers N`
server at once, the way a crashed container or OOM kill would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

STARTUP_TIMEOUT_S = 30


@dataclass
class Server:
    database_url: str
    log_path: Path
    token: str = field(default_factory=lambda: f"pat-live-{uuid.uuid4().hex[:12]}")
    workers: int = 1
    port: int = 0
    nohup: bool = False  # start it as `nohup` does: SIGHUP ignored
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> Server:
        self.port = self.port or free_port()
        args = [
            *(["nohup"] if self.nohup else []),
            sys.executable,
            "-m",
            "localspot",
            "serve",
            "--port",
            str(self.port),
            "--db",
            self.database_url,
            "--token",
            self.token,
            "--workers",
            str(self.workers),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSPOT_")}
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self._wait_until_answers()
        return self

    def _wait_until_answers(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"localspot exited with {self.process.returncode}:\n{self.log()}")
            try:
                # Every worker must be up; a few answers are a fair sign (tests that need more wait for the log).
                for _ in range(self.workers):
                    httpx.get(self.base_url + "/crm/v3/objects/tasks/1", headers=self.headers, timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"localspot did not answer within {STARTUP_TIMEOUT_S}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL the whole server: no shutdown handlers, no flushing, like a crash. The whole process
        group, even when the supervisor already exited: its workers may have outlived it."""
        if self.process:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid: int) -> set[int]:
    """Live child processes of `pid` (from /proc; zombies excluded)."""
    children = set()
    for entry in Path("/proc").iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields and int(fields[1]) == pid and fields[0] != "Z":
            children.add(int(entry.name))
    return children


def alive(pid: int) -> bool:
    """Running, neither gone nor a zombie waiting for its parent."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the process name (state first, then the parent's pid)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # the process ended while we looked
        return None
