"""HubSpot's official Node SDK (`@hubspot/api-client`, pinned in tests/sdk/node/package.json) against a live
LocalSpot: tasks batch upsert creating then updating, a 207 partial upsert, a read by `idProperty` with
history, and the 404/401 errors. `npm ci` runs once, when tests/sdk/node/node_modules is missing.

Skipped when `node`/`npm` are not installed, or when the npm registry cannot be reached.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.sdk

NODE_DIR = Path(__file__).resolve().parent / "node"
NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH", "network")


@pytest.fixture(scope="session")
def node_sdk() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are not installed")
    major = int(
        subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout[1:].split(".")[0]
    )
    if major < 18:
        pytest.skip(f"@hubspot/api-client 13 needs Node 18+, found {major}")
    # xdist workers share the folder: one installs, the others wait for it
    digest = hashlib.sha256(str(NODE_DIR).encode()).hexdigest()[:16]  # str hashes differ per process
    lock_path = Path(tempfile.gettempdir()) / f"localspot-npm-ci-{digest}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (NODE_DIR / "node_modules" / "@hubspot" / "api-client").is_dir():
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if done.returncode != 0:
                output = done.stdout + done.stderr
                if any(marker in output for marker in NETWORK_ERRORS):
                    pytest.skip(f"npm ci could not reach the registry: {output[-500:]}")
                pytest.fail(f"npm ci failed:\n{output}")
    return Path(node)


def test_node_sdk_tasks_upsert(node_sdk, live_server, task_key, unique):
    env = {
        **os.environ,
        "LOCALSPOT_URL": live_server.base_url,
        "LOCALSPOT_TOKEN": live_server.token,
        "KEY_PROPERTY": task_key,
        "KEY": unique,
    }
    done = subprocess.run(
        [str(node_sdk), "upsert_tasks.js"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)

    created, updated = seen["created"], seen["updated"]
    assert created["className"] == "BatchResponseSimplePublicUpsertObject"
    assert created["status"] == "COMPLETE" and created["startedAtIsDate"] is True
    [first] = created["results"]
    [second] = updated["results"]
    assert (first["new"], second["new"]) == (True, False)  # the Node model names it `_new`
    assert first["id"] == second["id"]
    assert first["properties"][task_key] == unique
    assert second["properties"]["hs_task_subject"] == "from node, again"
    assert second["createdAt"] == first["createdAt"]
    assert second["updatedAt"] > first["updatedAt"]  # ISO-8601 UTC strings sort in time order

    partial = seen["partial"]
    assert partial["className"] == "BatchResponseSimplePublicUpsertObjectWithErrors"
    assert partial["numErrors"] == 1
    assert [r["objectWriteTraceId"] for r in partial["results"]] == ["ok"]
    assert partial["errors"] == [{"category": "VALIDATION_ERROR", "context": {"objectWriteTraceId": ["bad"]}}]

    assert seen["read"] == {
        "id": first["id"],
        "properties": {"hs_task_subject": "from node, again"},
        "history": ["from node, again", "from node"],
    }
    assert seen["notFound"]["code"] == 404
    assert seen["notFound"]["body"]["category"] == "OBJECT_NOT_FOUND"
    assert seen["badToken"]["code"] == 401
    assert seen["badToken"]["body"]["category"] == "INVALID_AUTHENTICATION"
