"""A real `localspot serve` on a free port, per backend, for the official SDKs to drive.

The server runs as a separate process, exactly as a user starts it; tests share it for speed, so each
test names its own records (unique keys) rather than expecting an empty portal.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS

STARTUP_TIMEOUT_S = 30


@dataclass
class LiveServer:
    base_url: str
    token: str
    database_url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(database_url: str, log_path: Path, *extra: str, token: str | None = None) -> LiveServer:
    """Start `python -m localspot serve` and wait until it answers HTTP."""
    port = free_port()
    token = token or f"pat-sdk-{uuid.uuid4().hex[:12]}"
    args = [
        sys.executable,
        "-m",
        "localspot",
        "serve",
        "--port",
        str(port),
        "--db",
        database_url,
        "--token",
        token,
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSPOT_")}
    with log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    server = LiveServer(f"http://127.0.0.1:{port}", token, database_url, process, log_path)
    wait_until_answers(server)
    return server


def wait_until_answers(server: LiveServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"localspot exited with {server.process.returncode}:\n{server.log()}")
        try:
            httpx.get(server.base_url + "/crm/v3/objects/tasks/1", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    server.process.kill()
    raise RuntimeError(f"localspot did not answer within {STARTUP_TIMEOUT_S}s:\n{server.log()}")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session", params=BACKENDS)
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    database_url = request.getfixturevalue(f"{request.param}_database")
    server = start_server(database_url, tmp_path_factory.mktemp("live") / "server.log")
    yield server
    stop_server(server)


@pytest.fixture
def v3_client(live_server: LiveServer):  # noqa: ANN201
    """hubspot-api-client 12.x, pointed at LocalSpot (it speaks the /crm/v3 paths)."""
    from hubspot import HubSpot

    return HubSpot(access_token=live_server.token, host=live_server.base_url, base_url=live_server.base_url)


@pytest.fixture
def sdk_client(live_server: LiveServer):  # noqa: ANN201
    """hubspot-sdk (Stainless), pointed at LocalSpot (it speaks the /crm/objects/2026-03 paths)."""
    from hubspot_sdk import HubSpot

    client = HubSpot(access_token=live_server.token, base_url=live_server.base_url, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def unique() -> str:
    """A suffix that keeps this test's records apart from other tests' on the shared server."""
    return uuid.uuid4().hex[:10]
