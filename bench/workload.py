"""The records and request bodies every part of the benchmark shares: populate, load generator, floor.

One module builds them so that the cached database, the HTTP load and the raw storage floor all write
the same shapes: tasks with six properties, keyed on a custom unique property.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

KEY_PROPERTY = "bench_key"
TASK_ASSOCIATION_TO_CONTACT = 204  # HubSpot-defined task -> contact
BATCH = 100

# The body a user sends to POST /crm/v3/properties/tasks to get an upsert key.
KEY_PROPERTY_BODY = {
    "name": KEY_PROPERTY,
    "label": "Benchmark key",
    "type": "string",
    "fieldType": "text",
    "groupName": "taskinformation",
    "hasUniqueValue": True,
}
STATUSES = ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")
PRIORITIES = ("NONE", "LOW", "MEDIUM", "HIGH")
TYPES = ("EMAIL", "CALL", "TODO")
READ_PROPERTIES = ["hs_task_subject", "hs_task_status", "hs_timestamp", KEY_PROPERTY]


@dataclass
class Manifest:
    """What the load generator and the floor need to know about a populated database."""

    size: int
    contact_ids: list[int]
    sample: list[tuple[str, int]]  # (upsert key, record id) of pre-populated tasks
    populate_seconds: float

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path | str) -> Manifest:
        data = json.loads(Path(path).read_text())
        data["sample"] = [tuple(pair) for pair in data["sample"]]
        return cls(**data)


def key_of(n: int) -> str:
    """Upsert key of the n-th pre-populated task."""
    return f"k{n:08d}"


def task_properties(n: int, revision: int = 0) -> dict[str, str]:
    """Six task properties; `revision` changes the values so that an update really writes."""
    return {
        "hs_timestamp": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
        "hs_task_subject": f"Follow up #{n} (r{revision})",
        "hs_task_body": f"Call back about order {n * 7 + revision}; bring the revised quote.",
        "hs_task_status": STATUSES[(n + revision) % len(STATUSES)],
        "hs_task_priority": PRIORITIES[(n + revision) % len(PRIORITIES)],
        "hs_task_type": TYPES[n % len(TYPES)],
    }


def upsert_input(key: str, n: int, revision: int) -> dict[str, Any]:
    return {"id": key, "idProperty": KEY_PROPERTY, "properties": task_properties(n, revision)}


def upsert_body(new_keys: list[str], existing: list[tuple[str, int]], revision: int) -> dict[str, Any]:
    """Half new keys, half keys of existing records (given as (key, number))."""
    inputs = [upsert_input(k, 10_000_000 + i, revision) for i, k in enumerate(new_keys)]
    inputs += [upsert_input(k, n, revision) for k, n in existing]
    return {"inputs": inputs}


def create_body(contact_ids: list[int], seed: int) -> dict[str, Any]:
    """One task per contact id, each associated with that contact."""
    types = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TASK_ASSOCIATION_TO_CONTACT}]
    return {
        "inputs": [
            {"properties": task_properties(seed + i), "associations": [{"to": {"id": str(c)}, "types": types}]}
            for i, c in enumerate(contact_ids)
        ]
    }


def read_body(keys: list[str]) -> dict[str, Any]:
    return {"idProperty": KEY_PROPERTY, "properties": READ_PROPERTIES, "inputs": [{"id": k} for k in keys]}


def contact_body(first: int, count: int) -> dict[str, Any]:
    return {
        "inputs": [
            {"properties": {"email": f"bench{n}@example.com", "firstname": "Bench", "lastname": f"Contact {n}"}}
            for n in range(first, first + count)
        ]
    }


def batch_request(op: str, manifest: Manifest, rng: random.Random, i: int, run_tag: str) -> tuple[str, dict[str, Any]]:
    """The `i`-th batch request of an operation (`upsert`, `create`, `read`) as (path under the tasks type,
    body); `run_tag` keeps each run's new upsert keys its own."""
    if op == "upsert":
        half = BATCH // 2
        new_keys = [f"n{run_tag}-{i}-{j}" for j in range(half)]
        existing = [(k, key_number(k)) for k, _ in pick(rng, manifest.sample, half)]
        return "batch/upsert", upsert_body(new_keys, existing, revision=i + 1)
    if op == "create":
        return "batch/create", create_body(rng.choices(manifest.contact_ids, k=BATCH), seed=i * BATCH)
    return "batch/read", read_body([k for k, _ in pick(rng, manifest.sample, BATCH)])


def key_number(key: str) -> int:
    return int(key[1:])


def pick(rng: random.Random, population: list, count: int) -> list:
    """`count` distinct items (a batch must not name one record twice)."""
    return rng.sample(population, min(count, len(population)))
