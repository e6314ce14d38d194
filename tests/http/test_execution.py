"""Where a request's domain call runs: on the event loop for SQLite, in the thread pool for PostgreSQL."""

from __future__ import annotations

import asyncio
import threading

from localspot.crm.service import CrmService
from localspot.http.context import call
from localspot.store.sql import SqlStore


class ThreadReportingService(CrmService):
    def current_thread(self) -> int:
        return threading.get_ident()


def test_calls_run_in_process_for_sqlite_and_in_the_pool_for_postgresql(database_url: str) -> None:
    store = SqlStore(database_url)
    service = ThreadReportingService(store)
    try:

        async def where() -> tuple[int, int]:
            return threading.get_ident(), await call(service.current_thread)

        loop_thread, call_thread = asyncio.run(where())
    finally:
        store.dispose()
    assert service.runs_in_process is (database_url.startswith("sqlite"))
    assert (call_thread == loop_thread) is service.runs_in_process


def test_a_served_app_is_frozen_out_of_the_garbage_collectors_sight(tmp_path, monkeypatch) -> None:
    """`localspot serve` builds each worker's app with app_from_env, which freezes everything that lives as
    long as the worker: a full collection under load then walks only what requests left behind."""
    import gc

    from localspot.cli import GC_YOUNG_THRESHOLD, app_from_env

    monkeypatch.setenv("LOCALSPOT_DATABASE_URL", f"sqlite:///{tmp_path / 'frozen.db'}")
    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        app_from_env()
        assert gc.get_freeze_count() > 10_000  # the modules, the app and its routes
        # Young collections come after 20,000 more objects made than dropped, not 700: a batch's own.
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *thresholds[1:])
        assert thresholds[0] < GC_YOUNG_THRESHOLD
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
        gc.set_threshold(*thresholds)
