"""Helpers for tests that start, stop and kill whole servers (each on `fresh_database`, see tests/conftest.py)."""

from __future__ import annotations

import sqlalchemy as sa


def scalar_rows(database_url: str, sql: str, **params: object) -> list[tuple]:
    """Read the database directly, to check what the server claims against what it stored."""
    from localspot.store.engine import create_engine

    engine = create_engine(database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()
