"""Pre-populate a database with N tasks (and some contacts) through LocalSpot's own code, in-process.

Going through `CrmService` (not raw SQL) keeps the benchmark honest when the schema changes: the rows
are exactly the ones a client's batch upserts would have written. SQLite databases are cached in
bench/.cache/ under a key of the schema, page size and workload versions, so the 1,000,000-record case
is built once per machine, not on every run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

from starlette.testclient import TestClient

import localspot
from bench import workload as w
from bench.workload import Manifest
from localspot.app import create_app
from localspot.crm.batch import BatchLimits
from localspot.settings import Settings
from localspot.store.engine import SQLITE_PAGE_SIZE

TOKEN = "pat-bench-0123456789abcdef"
PORTAL_ID = 1
# Populate in transactions of 1,000 records: the same code path as HTTP batches, 10x fewer commits.
POPULATE_BATCH = 1_000
SAMPLE_SIZE = 20_000  # (key, id) pairs the load generator draws existing records from
DATA_VERSION = 1  # bump when the populated data changes shape
CACHE_DIR = Path(__file__).with_name(".cache")


def contact_count(size: int) -> int:
    return max(100, min(1_000, size // 10))


def populate(database_url: str, size: int) -> Manifest:
    """Create the key property over HTTP (in-process), then `size` tasks through the service."""
    started = time.perf_counter()
    limits = BatchLimits(max_inputs=POPULATE_BATCH)
    app = create_app(Settings(database_url=database_url, portal_id=PORTAL_ID, tokens=(TOKEN,), limits=limits))
    try:
        _create_key_property(app)
        service = app.state.service
        contacts = _create_contacts(service, contact_count(size))
        sample = _create_tasks(service, size)
    finally:
        app.state.service.store.dispose()
    return Manifest(size, contacts, sample, round(time.perf_counter() - started, 1))


def _create_key_property(app: object) -> None:
    with TestClient(app) as client:
        answer = client.post(
            "/crm/v3/properties/tasks", json=w.KEY_PROPERTY_BODY, headers={"Authorization": f"Bearer {TOKEN}"}
        )
    if answer.status_code != 201:
        raise RuntimeError(f"creating {w.KEY_PROPERTY} failed: {answer.status_code} {answer.text}")


def _create_contacts(service: object, count: int) -> list[int]:
    ids: list[int] = []
    for first in range(0, count, POPULATE_BATCH):
        _, body = service.batch_create(PORTAL_ID, "contacts", w.contact_body(first, min(POPULATE_BATCH, count - first)))
        ids += [int(r["id"]) for r in body["results"]]
    return ids


def _create_tasks(service: object, size: int) -> list[tuple[str, int]]:
    every = max(1, size // SAMPLE_SIZE)
    sample: list[tuple[str, int]] = []
    for first in range(0, size, POPULATE_BATCH):
        numbers = range(first, min(first + POPULATE_BATCH, size))
        body = {"inputs": [w.upsert_input(w.key_of(n), n, 0) for n in numbers]}
        _, out = service.batch_upsert(PORTAL_ID, "tasks", body)
        for r in out["results"]:
            key = r["properties"][w.KEY_PROPERTY]
            if w.key_number(key) % every == 0:
                sample.append((key, int(r["id"])))
    return sample


# --- the SQLite cache --------------------------------------------------------------------------------


def cache_key() -> str:
    """Changes whenever the schema (migrations, tables) or the populated data would change."""
    digest = hashlib.sha256(f"data-{DATA_VERSION} page-{SQLITE_PAGE_SIZE}".encode())
    package = Path(localspot.__file__).parent
    sources = sorted((package / "store" / "migrations" / "versions").glob("*.py")) + [
        package / "store" / "tables.py",
        Path(w.__file__),
    ]
    for source in sources:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


def cached_sqlite(size: int, log: callable = print) -> tuple[Path, Manifest]:
    """Path of a pristine populated SQLite file (build it on a miss) and its manifest. Never write to it."""
    CACHE_DIR.mkdir(exist_ok=True)
    stem = CACHE_DIR / f"sqlite-{size}-{cache_key()}"
    db, manifest_path = stem.with_suffix(".db"), stem.with_suffix(".json")
    if db.exists() and manifest_path.exists():
        return db, Manifest.load(manifest_path)
    _prune_stale(size, keep=stem.name)
    log(f"populating a SQLite database with {size:,} tasks (cached in {db.relative_to(CACHE_DIR.parent.parent)})")
    building = stem.with_suffix(".building.db")
    remove_sqlite(building)
    manifest = populate(f"sqlite:///{building}", size)
    _checkpoint(building)
    building.rename(db)
    manifest.save(manifest_path)
    log(f"  populated in {manifest.populate_seconds:.0f} s")
    return db, manifest


def _prune_stale(size: int, keep: str) -> None:
    """A cache built for another schema is never read again: free its disk (1M records take ~800 MB)."""
    for old in CACHE_DIR.glob(f"sqlite-{size}-*"):
        if not old.name.startswith(keep):
            old.unlink(missing_ok=True)


def copy_sqlite(source: Path, target: Path) -> None:
    remove_sqlite(target)
    shutil.copyfile(source, target)
    # Flush the copy before the server starts: otherwise start-up (first run after a copy of the
    # 1,000,000-record file: 1.8 s instead of 0.8 s) measures the kernel writing back 780 MB.
    with open(target, "rb") as copied:
        os.fsync(copied.fileno())


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the main file, so that the cache is one self-contained file."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
