"""Work on a batch write done before its transaction: parsing the body and normalizing its values
(`Ahead`), and, for a batch upsert with several SQLite workers, its whole validation (`PlannedAhead`).

On SQLite every worker's writes queue on one lock for as long as their transaction lasts, so a batch
does what needs no database read first, against the type schema of the catalog this worker last saw.
Inside the transaction that result is used only if the transaction's schema is the very same object
(it is, unless a property or schema changed meanwhile); otherwise the work is done again there, so the
outcome cannot differ from doing all of it inside.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from localspot.crm.definitions import TypeSchema
from localspot.crm.errors import HubSpotError

T = TypeVar("T")


class Ahead(Generic[T]):
    def __init__(self, schema: TypeSchema | None, work: Callable[[TypeSchema], T]) -> None:
        self._schema, self._work = schema, work
        self._value: T | None = None
        self._error: HubSpotError | None = None
        if schema is not None:
            try:
                self._value = work(schema)
            except HubSpotError as error:  # the client's mistake is answered from inside the transaction
                self._error = error

    @property
    def failed(self) -> bool:
        """The work ahead found the client's mistake (answered from inside the transaction)."""
        return self._error is not None

    def result(self, schema: TypeSchema) -> T:
        """The work's result for the transaction's `schema`: the one done ahead if it is the same schema."""
        if schema is not self._schema:
            return self._work(schema)
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class NotPlannable(AttributeError):
    """Work ahead asked the database something the write transaction could not ask again to check it."""


class ReadsAhead:
    """A read transaction, as a batch write's validation may use it before its own write transaction:
    only the lookups the store records (`reads`) to ask again there (`reads_unchanged`)."""

    REPEATABLE = frozenset({"find_held", "find_unique", "load_objects"})

    def __init__(self, tx: Any) -> None:
        self._tx = tx
        self.reads = tx.record_reads()

    def __getattr__(self, name: str) -> Any:
        if name not in self.REPEATABLE:
            raise NotPlannable(name)
        return getattr(self._tx, name)


@dataclass(eq=False)
class PlannedAhead(Generic[T]):
    """A batch write validated before its transaction, from what a read transaction saw (`reads`).

    It stands in the write transaction only if the type schema is the same object and every read
    answers the same there (or, for a plan that claims every key it found free, every record it found is
    the version it read: a key taken since fails its claim, RecordOps.reads_unchanged): then nothing the
    validation depended on has changed, and writing `value` is what validating again would write. The
    caller stamps it with the transaction's own time, so written timestamps still follow commit order.
    A plan is taken once: an attempt that ends in a write conflict runs again without it."""

    schema: TypeSchema
    reads: list[Any]  # the store's record of each lookup and its rows (RecordOps.record_reads)
    value: T
    started: int
    taken: bool = False

    def take(self, tx: Any, schema: TypeSchema, claims_free_keys: bool = False) -> T | None:
        """`value` if the plan stands in the transaction `tx` of `schema`; None to validate there.
        `claims_free_keys`: writing `value` claims every unique value the plan found free (the store then
        checks its lookups more cheaply: RecordOps.reads_unchanged)."""
        if self.taken or schema is not self.schema:
            return None
        self.taken = True
        return self.value if tx.reads_unchanged(self.reads, claims_free_keys) else None
