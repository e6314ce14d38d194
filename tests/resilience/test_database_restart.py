"""The database going away mid-service: HubSpot-style 5xx while it is down, full service after, with
no restart of LocalSpot.

The test runs its own PostgreSQL cluster (initdb into a temporary folder, on a free port), so stopping
and starting it disturbs no other test. It runs wherever the suite runs against PostgreSQL.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import POSTGRES_URL, make_unique_property
from tests.live import Server, free_port

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="runs with the PostgreSQL half of the suite")


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(f"PostgreSQL server binaries ({name}) not found; install the postgresql package")
    return found[-1]


def _as_postgres(*args: str) -> list[str]:
    """initdb and pg_ctl refuse to run as root; run them as the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


class PrivateCluster:
    def __init__(self, root: Path, port: int) -> None:
        self.data, self.port, self.logfile = root / "data", port, root / "postgres.log"

    def pg_ctl(self, *args: str) -> None:
        cmd = _as_postgres(_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-w", *args)
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self.pg_ctl("-o", f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    root = Path(tempfile.mkdtemp(prefix="localspot-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    node = PrivateCluster(root, free_port())
    initdb = _as_postgres(_pg_bin("initdb"), "-D", str(node.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    subprocess.run(initdb, check=True, capture_output=True, timeout=120)
    node.start()
    yield node
    try:
        node.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _upsert(http: httpx.Client, key: str) -> httpx.Response:
    inputs = [{"id": key, "idProperty": "restart_key", "properties": {"hs_timestamp": "1700000000000"}}]
    return http.post("/crm/v3/objects/tasks/batch/upsert", json={"inputs": inputs})


def test_database_restart_gives_5xx_then_full_service(cluster: PrivateCluster, tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
    server = Server(url, tmp_path / "server.log", workers=1).start()
    try:
        with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=30) as http:
            make_unique_property(http, "tasks", "restart_key", "taskinformation")
            assert _upsert(http, "before").status_code == 200

            cluster.stop()
            down = [_upsert(http, f"down-{n}") for n in range(3)]
            for response in down:
                assert response.status_code == 503, response.text
                body = response.json()
                assert body["status"] == "error" and body["category"] == "SERVICE_UNAVAILABLE"
                assert "Traceback" not in response.text and body["correlationId"]

            cluster.start()
            deadline = time.monotonic() + 20
            while (response := _upsert(http, "after")).status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert response.status_code == 200, response.text
            read = http.post(
                "/crm/v3/objects/tasks/batch/read",
                json={"idProperty": "restart_key", "inputs": [{"id": "before"}, {"id": "after"}], "properties": []},
            )
            assert read.status_code == 200 and len(read.json()["results"]) == 2
    finally:
        server.stop()
