"""Hot executemany statements, compiled once per dialect and handed straight to the DBAPI cursor.

Through `Connection.execute`, SQLAlchemy builds a parameter dict for every row of an executemany and
runs each JSON value through its bind processor: with four 50-100-row statements per batch upsert that
was about 15% of the batch's time (docs/benchmarks.md). A `ManyRows` statement takes rows as tuples in
its column order, with JSON already serialized, and skips both. Only the write hot path uses it;
everything else goes through SQLAlchemy as usual.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

# A positional paramstyle per driver, so rows can be tuples (psycopg's default is pyformat, named).
_POSITIONAL_STYLE = {"sqlite": "qmark", "postgresql": "format"}


def json_text(value: Any) -> str:
    """A JSON column's value as the driver takes it (SQLAlchemy's bind processor, done once per row)."""
    return orjson.dumps(value).decode()


class ManyRows:
    """One statement with a bind parameter per name in `columns`, executed with a list of tuples."""

    def __init__(self, statement: sa.Executable, columns: tuple[str, ...]) -> None:
        self.statement = statement
        self.columns = columns
        self._sql: dict[str, str] = {}

    @classmethod
    def insert(cls, table: sa.Table, columns: tuple[str, ...]) -> ManyRows:
        return cls(table.insert().values({c: sa.bindparam(c) for c in columns}), columns)

    def run(self, conn: Connection, rows: list[tuple]) -> None:
        if rows:
            conn.exec_driver_sql(self._compiled(conn.dialect), rows)

    def _compiled(self, dialect: Dialect) -> str:
        sql = self._sql.get(dialect.name)
        if sql is None:
            positional = type(dialect)(paramstyle=_POSITIONAL_STYLE[dialect.name])
            compiled = self.statement.compile(dialect=positional)
            if tuple(compiled.positiontup) != self.columns:
                raise ValueError(f"parameters {compiled.positiontup} are not in the order {self.columns}")
            sql = self._sql[dialect.name] = str(compiled)
        return sql
