"""Hot multi-row writes and hot lookups, compiled once per dialect and handed straight to the DBAPI driver.

Through `Connection.execute`, SQLAlchemy builds a parameter dict for every row of an executemany and
runs each JSON value through its bind processor: with four 50-100-row statements per batch upsert that
was about 15% of the batch's time (docs/benchmarks.md). A `ManyRows` statement takes rows as tuples in
its column order and skips both:

- on SQLite, as one `executemany` (the sqlite3 module loops over the rows in C);
- on PostgreSQL, as one statement over one JSON document of all the rows (`jsonb_to_recordset`):
  psycopg's pipelined executemany spent ~0.1 ms of Python per row, more than the server took to write
  it, and array parameters are escaped element by element; one `orjson.dumps` is a C loop.

JSON columns take Python values (dicts); `run` serializes them with orjson, as each form needs.

A `Lookup` is the read side: a statement whose rows are wanted (a SELECT, or an UPDATE ... RETURNING)
run on the driver, with no statement cache key, no bind or result processors (values come back as the
driver made them: JSON as text on SQLite). Finding 100 records by unique value this way took half the
time it took through `Connection.execute`.

On SQLite both go past SQLAlchemy's `exec_driver_sql` too, straight to the sqlite3 connection under it
(`driver_rows`, `driver_many`): its execution context cost ~12 us a statement against ~1.4 us for the
driver's own call, and a batch upsert runs ten of these statements, most of them under the writer lock
(about 9% of the lock's hold). Statements take SQLAlchemy's path whenever something listens for them
(`before_cursor_execute`, `after_cursor_execute`: the benchmark's floor capture, statement-counting
tests), which only that path fires. Either way a driver error is raised as SQLAlchemy raises it
(`IntegrityError`, `OperationalError`...), so callers handle one kind.

Only the hot paths use them; everything else goes through SQLAlchemy as usual.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


class ManyRows:
    """One write applied to many rows; each row a tuple of values for `columns`, in that order."""

    def __init__(self, table: sa.Table, columns: tuple[str, ...], statement: sa.Executable, document_sql: str) -> None:
        self.columns = columns
        self._statement = statement
        self._document_sql = document_sql
        self._sqlite_sql: str | None = None
        self._json_positions = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, sa.JSON)]

    @classmethod
    def insert(cls, table: sa.Table, columns: tuple[str, ...]) -> ManyRows:
        statement = table.insert().values({c: _param(c) for c in columns})
        document_sql = f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM {_rows(table, columns)}"
        return cls(table, columns, statement, document_sql)

    @classmethod
    def update(cls, table: sa.Table, values: tuple[str, ...], keys: tuple[str, ...]) -> ManyRows:
        """`UPDATE table SET values... WHERE keys...`; rows are (values..., keys...)."""
        statement = table.update().where(*_matching(table, keys)).values({c: _param(c) for c in values})
        assignments = ", ".join(f"{c} = v.{c}" for c in values)
        document_sql = (
            f"UPDATE {table.name} SET {assignments} FROM {_rows(table, values + keys)} WHERE {_joined(table, keys)}"
        )
        return cls(table, values + keys, statement, document_sql)

    @classmethod
    def delete(cls, table: sa.Table, keys: tuple[str, ...]) -> ManyRows:
        statement = table.delete().where(*_matching(table, keys))
        document_sql = f"DELETE FROM {table.name} USING {_rows(table, keys)} WHERE {_joined(table, keys)}"
        return cls(table, keys, statement, document_sql)

    def run(self, conn: Connection, rows: list[tuple]) -> None:
        if not rows:
            return
        if conn.dialect.name == "postgresql":
            document = orjson.dumps([dict(zip(self.columns, row, strict=True)) for row in rows]).decode()
            conn.exec_driver_sql(self._document_sql, (document,))
        else:
            driver_many(conn, self._sqlite(), self._serialized(rows) if self._json_positions else rows)

    def _serialized(self, rows: list[tuple]) -> list[tuple]:
        """The rows with their JSON values as text: one loop, no call per row."""
        positions, dumps, out = self._json_positions, orjson.dumps, []
        for row in rows:
            values = list(row)
            for i in positions:
                values[i] = dumps(values[i]).decode()
            out.append(tuple(values))  # SQLAlchemy's path (`driver_many` with listeners) takes tuples only
        return out

    def _sqlite(self) -> str:
        if self._sqlite_sql is None:
            compiled = self._statement.compile(dialect=sqlite.dialect(paramstyle="qmark"))
            names = tuple(name.removeprefix("p_") for name in compiled.positiontup)
            if names != self.columns:
                raise ValueError(f"parameters {names} are not in the order {self.columns}")
            self._sqlite_sql = str(compiled)
        return self._sqlite_sql


class Lookup:
    """A hot statement whose rows are wanted; `build(is_sqlite)` gives it, and its list parameters
    (`lists`) are bound whole: SQLite reads them as one JSON array (`json_each`), PostgreSQL as one
    array (`= ANY`)."""

    def __init__(self, build: Callable[[bool], sa.Executable], lists: tuple[str, ...] = ()) -> None:
        self._build = build
        self._lists = lists
        self._sql: dict[str, str] = {}

    def rows(self, conn: Connection, params: dict[str, Any]) -> Sequence[tuple]:
        """Both drivers ignore parameters the statement does not name (`archived` when unfiltered)."""
        if conn.dialect.name == "sqlite" and self._lists:
            params = {**params, **{name: orjson.dumps(params[name]).decode() for name in self._lists}}
        return driver_rows(conn, self.sql(conn), params)

    def sql(self, conn: Connection) -> str:
        sql = self._sql.get(conn.dialect.name)
        if sql is None:
            is_sqlite = conn.dialect.name == "sqlite"
            # Named parameters on both: sqlite3 takes `:name` with a dict, psycopg `%(name)s`.
            dialect = sqlite.dialect(paramstyle="named") if is_sqlite else conn.dialect
            sql = self._sql[conn.dialect.name] = str(self._build(is_sqlite).compile(dialect=dialect))
        return sql


def driver_rows(conn: Connection, sql: str, params: Any) -> Sequence[tuple]:
    """Run `sql` (in the driver's own parameter style) and fetch its rows: tuples, or SQLAlchemy's
    tuple-like rows when something listens for statements. Inside the caller's transaction: the bare
    path begins none of its own."""
    bare = _bare_sqlite(conn)
    if bare is None:
        result = conn.exec_driver_sql(sql, params)
        return result.fetchall() if result.returns_rows else []
    return _on_sqlite3(conn, bare, sql, params, many=False)


def driver_many(conn: Connection, sql: str, rows: list[tuple]) -> None:
    """Run a write once per row of `rows`."""
    bare = _bare_sqlite(conn)
    if bare is None:
        conn.exec_driver_sql(sql, rows)
    else:
        _on_sqlite3(conn, bare, sql, rows, many=True)


def register_sqlite_binds() -> None:
    """On Python 3.11, let sqlite3 bind None and bools without its adapter search.

    sqlite3 binds an exact int, float or str as it is; any other value, None and bool among them, first
    goes through its adaptation protocol, which on 3.11 looks `__adapt__` up on a type and so builds and
    drops an AttributeError, message formatted, every time: ~0.55 us a value. A batch upsert binds ~250 of
    them (new records' `archived` and `archived_at`, history rows' `source_id` and first `previous_id`).
    A registered adapter is found first, in sqlite3's registry (~0.24 us): 2.4% fewer instructions per
    batch upsert (callgrind, in-process). From 3.12 the search raises nothing, and the registered path
    measured no faster (slower on 3.12), so they are left alone there. The values bound are the same
    either way: NULL, and a bool as the integer it is (0 or 1). Registering again replaces the same
    entries (process-wide: an embedding program's own adapters for these two types would be replaced)."""
    if sys.version_info < (3, 12):
        sqlite3.register_adapter(type(None), _as_is)
        sqlite3.register_adapter(bool, int)


def _as_is(value: object) -> object:
    return value


def _bare_sqlite(conn: Connection) -> sqlite3.Connection | None:
    """The sqlite3 connection under `conn`, unless `conn` is not SQLite's or something listens for statements."""
    if conn.dialect.name != "sqlite" or conn.dispatch.before_cursor_execute or conn.dispatch.after_cursor_execute:
        return None
    return conn.connection.driver_connection


def _on_sqlite3(conn: Connection, bare: sqlite3.Connection, sql: str, params: Any, many: bool) -> list[tuple]:
    try:
        if many:
            bare.executemany(sql, params)
            return []
        return bare.execute(sql, params).fetchall()
    except sqlite3.Error as exc:
        # A lost connection needs nothing more here: the rollback that follows fails on it too, through
        # SQLAlchemy, which drops it from the pool (tests/store/test_driver.py).
        raise sa.exc.DBAPIError.instance(sql, params, exc, sqlite3.Error, dialect=conn.dialect) from exc


def _param(column: str) -> sa.BindParameter:
    # Not the column's own name: SQLAlchemy reserves those for the SET clause of an UPDATE.
    return sa.bindparam(f"p_{column}")


def _matching(table: sa.Table, keys: tuple[str, ...]) -> list[sa.ColumnElement[bool]]:
    return [table.c[k] == _param(k) for k in keys]


def _joined(table: sa.Table, keys: tuple[str, ...]) -> str:
    return " AND ".join(f"{table.name}.{k} = v.{k}" for k in keys)


def _rows(table: sa.Table, columns: tuple[str, ...]) -> str:
    """The JSON document of rows as a row source `v`, its columns typed as the table's."""
    dialect = postgresql.dialect()
    typed = ", ".join(f"{c} {table.c[c].type.compile(dialect=dialect)}" for c in columns)
    return f"jsonb_to_recordset(%s::jsonb) AS v({typed})"
