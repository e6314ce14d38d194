"""`CrmService`: the domain's one entry point. HTTP handlers (and later tools) call only this.

It owns the two cross-cutting duties of every operation: running it in exactly one store transaction
(retried whole when a racing writer took a unique value first), and handing it the portal's catalog at
the schema version that transaction sees.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from localspot.crm import association_labels as labels
from localspot.crm import associations_v4 as v4
from localspot.crm import changes, merge, records, schemas, search
from localspot.crm import properties_api as props
from localspot.crm.ahead import Ahead, NotPlannable, PlannedAhead, ReadsAhead
from localspot.crm.associations import pair
from localspot.crm.batch import BatchLimits
from localspot.crm.catalog import Catalog, default_definitions, default_groups
from localspot.crm.definitions import TypeSchema
from localspot.crm.errors import HubSpotError, conflict, invalid_authentication
from localspot.crm.records import AfterCommit, Ctx, ReadOptions
from localspot.crm.timestamps import now_ms
from localspot.store.base import StoreUnavailable, WriteConflict

if TYPE_CHECKING:  # the domain is handed a store; it never imports SQLAlchemy itself
    from localspot.store.sql import SqlStore

log = logging.getLogger("localspot")
T = TypeVar("T")
WRITE_ATTEMPTS = 40
RETRY_BACKOFF_S = 0.004


class CrmService:
    def __init__(self, store: SqlStore, limits: BatchLimits | None = None, validate_ahead: bool = False) -> None:
        """`validate_ahead`: other processes write to this SQLite database too (`--workers`), so that batch
        upserts gain by validating before they queue for its writer lock (`_plan_ahead`)."""
        self.store = store
        self.limits = limits or BatchLimits()
        self.validates_ahead = validate_ahead and store.is_sqlite
        self._catalogs: dict[int, Catalog] = {}
        self._token_portals: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def runs_in_process(self) -> bool:
        """The database works inside this process (SQLite): calls need no thread to wait in."""
        return self.store.is_sqlite

    # --- portals and tokens ----------------------------------------------------------------------

    def ensure_portal(self, portal_id: int, tokens: list[str] = ()) -> list[str]:
        """Create the portal with HubSpot's default properties if new; make sure it has a token.

        Returns the portal's tokens: those given, or the one created on first start.
        """
        with self.store.write(portal_id) as tx:
            if not tx.portal_exists():
                now = now_ms()
                tx.create_portal(now)
                tx.insert_groups(default_groups())
                tx.insert_property_definitions(default_definitions(now))
            known = tx.tokens()
            for token in tokens:
                if token not in known:
                    tx.add_token(token, now_ms())
            if not tokens and not known:
                tx.add_token(f"pat-local-{secrets.token_hex(16)}", now_ms())
            return list(tokens) or tx.tokens()

    def cached_portal(self, token: str | None) -> int | None:
        """The portal of a token already authenticated (tokens are never revoked), without I/O."""
        return self._token_portals.get(token) if token else None

    def authenticate(self, token: str | None) -> int:
        if not token:
            raise invalid_authentication()
        portal_id = self._token_portals.get(token)
        if portal_id is None:
            portal_id = self.store.portal_for_token(token)
            if portal_id is None:
                raise invalid_authentication(
                    "The access token is not valid for this LocalSpot. Use a token printed at start-up "
                    "or passed with --token."
                )
            self._token_portals[token] = portal_id
        return portal_id

    # --- transactions ----------------------------------------------------------------------------

    def _catalog(self, tx: Any) -> Catalog:
        version = tx.schema_version()
        cached = self._catalogs.get(tx.portal_id)
        if cached is None or cached.version != version:
            cached = Catalog.build(tx.portal_id, version, tx.load_property_definitions(), tx.load_object_schemas())
            with self._lock:
                self._catalogs[tx.portal_id] = cached
        return cached

    def _write(self, portal_id: int, operation: Callable[[Ctx], T]) -> T:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self.store.write(portal_id) as tx:
                    result = operation(Ctx(tx, self._catalog(tx), self.limits))
                return result.answer() if isinstance(result, AfterCommit) else result
            except WriteConflict as exc:
                last_conflict = exc
                # A concurrent batch claimed one of our unique values first. Run again: the value now
                # names an existing record, so the input becomes an update (HubSpot's outcome too).
                # Jittered backoff keeps batches that collided from colliding again in lockstep.
                log.info("write conflict on portal %s, attempt %s; retrying", portal_id, attempt)
                time.sleep(random.uniform(0, RETRY_BACKOFF_S * attempt))
        # A race clears on retry; one that never does may be a constraint bug, so leave its trace.
        log.error(
            "write conflict on portal %s did not clear after %s attempts: %s", portal_id, WRITE_ATTEMPTS, last_conflict
        )
        raise conflict("The batch kept colliding with concurrent writes of the same unique values; retry it.")

    def _ahead(self, portal_id: int, object_type: str, work: Callable[[TypeSchema], T]) -> Ahead[T]:
        """Run a batch write's `work` now, before its transaction, against the type schema this worker last
        saw (crm.ahead): on SQLite that work then runs outside the writer lock every worker queues on."""
        return Ahead(self._last_seen(portal_id, object_type)[1], work)

    def _plan_ahead(
        self, portal_id: int, object_type: str, plan: Callable[[Ctx, TypeSchema], T]
    ) -> PlannedAhead[T] | None:
        """Validate a batch write before its transaction, in a read transaction of its own (crm.ahead),
        when writers queue on one lock (`validates_ahead`). Without other writers, or on PostgreSQL where
        writers do not queue, it would only ask every lookup twice."""
        catalog, schema = self._last_seen(portal_id, object_type)
        if schema is None or not self.validates_ahead:
            return None
        try:
            with self.store.read(portal_id) as tx:
                reads_ahead = ReadsAhead(tx)
                started = now_ms()
                value = plan(Ctx(reads_ahead, catalog, self.limits), schema)
        except (HubSpotError, NotPlannable, WriteConflict, StoreUnavailable):
            return None  # the write transaction validates, and answers the client's mistake or the store's trouble
        return PlannedAhead(schema, reads_ahead.reads, value, started)

    def _last_seen(self, portal_id: int, object_type: str) -> tuple[Catalog | None, TypeSchema | None]:
        """The catalog this worker last saw, and in it the type's schema (None when unknown there)."""
        catalog = self._catalogs.get(portal_id)
        found = catalog.by_name.get(object_type.lower()) if catalog is not None else None
        return catalog, catalog.schemas[found.object_type_id] if found is not None else None

    def _normalized_ahead(self, portal_id: int, object_type: str, body: Any) -> Ahead[records.NormalizedInputs]:
        return self._ahead(portal_id, object_type, lambda schema: records.normalized_inputs(schema, body, self.limits))

    def _read(self, portal_id: int, operation: Callable[[Ctx], T]) -> T:
        with self.store.read(portal_id) as tx:
            return operation(Ctx(tx, self._catalog(tx), self.limits))

    # --- records ---------------------------------------------------------------------------------

    def batch_upsert(self, portal_id: int, object_type: str, body: Any) -> tuple[int, dict]:
        parsed = self._ahead(portal_id, object_type, lambda schema: records.parse_upsert(schema, body, self.limits))
        plan = (
            None
            if parsed.failed
            else self._plan_ahead(portal_id, object_type, lambda c, schema: records.upsert_writes(c, schema, parsed))
        )
        return self._write(portal_id, lambda c: records.batch_upsert(c, c.catalog.resolve(object_type), parsed, plan))

    def batch_create(self, portal_id: int, object_type: str, body: Any) -> tuple[int, dict]:
        normalized = self._normalized_ahead(portal_id, object_type, body)
        return self._write(
            portal_id, lambda c: records.batch_create(c, c.catalog.resolve(object_type), body, normalized)
        )

    def create(self, portal_id: int, object_type: str, body: Any) -> tuple[int, dict]:
        return self._write(portal_id, lambda c: records.create(c, c.catalog.resolve(object_type), body))

    def batch_read(self, portal_id: int, object_type: str, body: Any, archived: bool) -> tuple[int, dict]:
        return self._read(portal_id, lambda c: records.batch_read(c, c.catalog.resolve(object_type), body, archived))

    def read(
        self, portal_id: int, object_type: str, object_id: str, id_property: str | None, options: ReadOptions
    ) -> dict:
        return self._read(
            portal_id,
            lambda c: records.read(c, c.catalog.resolve(object_type), object_id, id_property, options),
        )

    def list_records(
        self, portal_id: int, object_type: str, limit: int, after: str | None, options: ReadOptions
    ) -> dict:
        return self._read(
            portal_id, lambda c: changes.list_records(c, c.catalog.resolve(object_type), limit, after, options)
        )

    def update(self, portal_id: int, object_type: str, object_id: str, id_property: str | None, body: Any) -> tuple:
        return self._write(
            portal_id, lambda c: changes.update(c, c.catalog.resolve(object_type), object_id, id_property, body)
        )

    def batch_update(self, portal_id: int, object_type: str, body: Any) -> tuple[int, dict]:
        normalized = self._normalized_ahead(portal_id, object_type, body)
        return self._write(
            portal_id, lambda c: changes.batch_update(c, c.catalog.resolve(object_type), body, normalized)
        )

    def archive(self, portal_id: int, object_type: str, object_id: str) -> None:
        self._write(portal_id, lambda c: changes.archive(c, c.catalog.resolve(object_type), object_id))

    def batch_archive(self, portal_id: int, object_type: str, body: Any) -> None:
        self._write(portal_id, lambda c: changes.batch_archive(c, c.catalog.resolve(object_type), body))

    # --- properties ------------------------------------------------------------------------------

    def list_properties(self, portal_id: int, object_type: str, archived: bool) -> dict:
        return self._read(portal_id, lambda c: props.list_properties(c.tx, c.catalog.resolve(object_type), archived))

    def get_property(self, portal_id: int, object_type: str, name: str, archived: bool) -> dict:
        return self._read(portal_id, lambda c: props.get_property(c.tx, c.catalog.resolve(object_type), name, archived))

    def create_property(self, portal_id: int, object_type: str, body: Any) -> dict:
        return self._write(portal_id, lambda c: props.create_property(c.tx, c.catalog.resolve(object_type), body))

    def update_property(self, portal_id: int, object_type: str, name: str, body: Any) -> dict:
        return self._write(portal_id, lambda c: props.update_property(c.tx, c.catalog.resolve(object_type), name, body))

    def archive_property(self, portal_id: int, object_type: str, name: str) -> None:
        self._write(portal_id, lambda c: props.archive_property(c.tx, c.catalog.resolve(object_type), name))

    def list_groups(self, portal_id: int, object_type: str) -> dict:
        return self._read(portal_id, lambda c: props.list_groups(c.tx, c.catalog.resolve(object_type)))

    def create_group(self, portal_id: int, object_type: str, body: Any) -> dict:
        return self._write(portal_id, lambda c: props.create_group(c.tx, c.catalog.resolve(object_type), body))

    # --- search (issue 5) ------------------------------------------------------------------------

    def search(self, portal_id: int, object_type: str, body: Any) -> dict:
        return self._read(portal_id, lambda c: search.search(c, c.catalog.resolve(object_type), body))

    # --- associations v4 and labels (issue 5) ----------------------------------------------------

    def list_associations(
        self, portal_id: int, object_type: str, object_id: str, to_type: str, after: str | None, limit: int
    ) -> dict:
        return self._read(
            portal_id, lambda c: v4.list_associations(c, pair(c.catalog, object_type, to_type), object_id, after, limit)
        )

    def create_default_association(
        self, portal_id: int, object_type: str, object_id: str, to_type: str, to_id: str
    ) -> tuple[int, dict]:
        return self._write(
            portal_id, lambda c: v4.create_default(c, pair(c.catalog, object_type, to_type), object_id, to_id)
        )

    def create_labelled_association(
        self, portal_id: int, object_type: str, object_id: str, to_type: str, to_id: str, body: Any
    ) -> tuple[int, dict]:
        return self._write(
            portal_id, lambda c: v4.create_labelled(c, pair(c.catalog, object_type, to_type), object_id, to_id, body)
        )

    def archive_associations(self, portal_id: int, object_type: str, object_id: str, to_type: str, to_id: str) -> None:
        self._write(portal_id, lambda c: v4.archive_pair(c, pair(c.catalog, object_type, to_type), object_id, to_id))

    def association_batch(self, portal_id: int, action: str, from_type: str, to_type: str, body: Any) -> tuple:
        """`/{from}/{to}/batch/{action}` of the associations API (create, read, archive, ...)."""
        run = self._read if action in v4.READ_ACTIONS else self._write
        return run(portal_id, lambda c: v4.BATCH_ACTIONS[action](c, pair(c.catalog, from_type, to_type), body))

    def list_association_labels(self, portal_id: int, from_type: str, to_type: str) -> dict:
        return self._read(portal_id, lambda c: labels.list_labels(c, pair(c.catalog, from_type, to_type)))

    def create_association_label(self, portal_id: int, from_type: str, to_type: str, body: Any) -> dict:
        return self._write(portal_id, lambda c: labels.create_label(c, pair(c.catalog, from_type, to_type), body))

    def update_association_label(self, portal_id: int, from_type: str, to_type: str, body: Any) -> None:
        self._write(portal_id, lambda c: labels.update_label(c, pair(c.catalog, from_type, to_type), body))

    def delete_association_label(self, portal_id: int, from_type: str, to_type: str, type_id: str) -> None:
        self._write(portal_id, lambda c: labels.delete_label(c, pair(c.catalog, from_type, to_type), type_id))

    # --- custom object schemas (issue 5) ---------------------------------------------------------

    def create_schema(self, portal_id: int, body: Any) -> dict:
        return self._write(portal_id, lambda c: schemas.create_schema(c, body))

    def list_schemas(self, portal_id: int, archived: bool) -> dict:
        return self._read(portal_id, lambda c: schemas.list_schemas(c, archived))

    def get_schema(self, portal_id: int, object_type: str) -> dict:
        return self._read(portal_id, lambda c: schemas.get_schema(c, object_type))

    def batch_read_schemas(self, portal_id: int, body: Any) -> dict:
        return self._read(portal_id, lambda c: schemas.batch_read(c, body))

    def update_schema(self, portal_id: int, object_type: str, body: Any) -> dict:
        return self._write(portal_id, lambda c: schemas.update_schema(c, object_type, body))

    def delete_schema(self, portal_id: int, object_type: str, archived: bool) -> None:
        self._write(portal_id, lambda c: schemas.delete_schema(c, object_type, archived))

    def create_schema_association(self, portal_id: int, object_type: str, body: Any) -> dict:
        return self._write(portal_id, lambda c: schemas.create_association(c, object_type, body))

    def delete_schema_association(self, portal_id: int, object_type: str, association_identifier: str) -> None:
        self._write(portal_id, lambda c: schemas.delete_association(c, object_type, association_identifier))

    # --- merge and GDPR delete (issue 5) ---------------------------------------------------------

    def merge(self, portal_id: int, object_type: str, body: Any) -> dict:
        return self._write(portal_id, lambda c: merge.merge(c, c.catalog.resolve(object_type), body))

    def gdpr_delete(self, portal_id: int, object_type: str, body: Any) -> None:
        self._write(portal_id, lambda c: merge.gdpr_delete(c, c.catalog.resolve(object_type), body))
