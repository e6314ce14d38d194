"""Alembic, driven from code: `localspot serve` migrates the database to the newest schema at start."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from localspot.store.engine import transaction

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe to run at every start and from several workers at once."""
    _migrate(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to `revision` (each migration's way back is tested; the server never does)."""
    _migrate(engine, command.downgrade, revision)


def _migrate(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    # SQLite: take the write lock up front, so two workers starting together migrate one at a time.
    with engine.connect() as conn, transaction(conn, write=True):
        if conn.dialect.name == "postgresql":
            # The same for PostgreSQL: an advisory lock held until this transaction ends.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242424242)")
        config = alembic_config(engine)
        config.attributes["connection"] = conn
        step(config, revision)
