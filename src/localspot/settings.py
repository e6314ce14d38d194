"""LocalSpot's settings: every limit is a named setting here, never a literal in a handler."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from localspot.crm.batch import BatchLimits

DEFAULT_DATABASE_URL = "sqlite:///localspot.db"
DEFAULT_PORTAL_ID = 1


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8080
    tokens: tuple[str, ...] = ()
    portal_id: int = DEFAULT_PORTAL_ID
    max_body_bytes: int = 10 * 1024 * 1024
    limits: BatchLimits = field(default_factory=BatchLimits)
    pool_size: int = 10
    workers: int = 1  # server processes (`--workers`): with several, SQLite writers queue on one lock
    # False in `--workers` processes: the parent has migrated the database and set up the portal.
    bootstrap: bool = True

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Environment (`LOCALSPOT_DATABASE_URL`, `LOCALSPOT_TOKEN`, `LOCALSPOT_POOL_SIZE`; `serve` sets
        `LOCALSPOT_WORKERS` for its processes), then overrides."""
        env: dict[str, object] = {}
        if url := os.environ.get("LOCALSPOT_DATABASE_URL"):
            env["database_url"] = url
        if token := os.environ.get("LOCALSPOT_TOKEN"):
            env["tokens"] = tuple(t for t in token.split(",") if t)
        if pool_size := os.environ.get("LOCALSPOT_POOL_SIZE"):
            env["pool_size"] = int(pool_size)
        if workers := os.environ.get("LOCALSPOT_WORKERS"):
            env["workers"] = int(workers)
        if portal := os.environ.get("LOCALSPOT_PORTAL_ID"):
            env["portal_id"] = int(portal)
        if os.environ.get("LOCALSPOT_BOOTSTRAPPED") == "1":
            env["bootstrap"] = False
        env.update({k: v for k, v in overrides.items() if v not in (None, ())})
        return cls(**env)
