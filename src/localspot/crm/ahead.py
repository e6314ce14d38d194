"""Work on a batch write done before its transaction: parsing the body and normalizing its values.

On SQLite every worker's writes queue on one lock for as long as their transaction lasts, so a batch
does what needs no database read first, against the type schema of the catalog this worker last saw.
Inside the transaction that result is used only if the transaction's schema is the very same object
(it is, unless a property or schema changed meanwhile); otherwise the work is done again there, so the
outcome cannot differ from doing all of it inside.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

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

    def result(self, schema: TypeSchema) -> T:
        """The work's result for the transaction's `schema`: the one done ahead if it is the same schema."""
        if schema is not self._schema:
            return self._work(schema)
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
