from __future__ import annotations

from collections.abc import Iterator

import pytest

from localspot.crm.service import CrmService
from tests.crm.support import keyed_tasks_service


@pytest.fixture
def service(database_url: str, portal_id: int) -> Iterator[CrmService]:
    """As a worker of `--workers 2` serves (SQLite validates batch upserts ahead: crm.ahead)."""
    yield from keyed_tasks_service(database_url, portal_id, validate_ahead=True)


@pytest.fixture
def sqlite_service(sqlite_database: str, portal_id: int) -> Iterator[CrmService]:
    yield from keyed_tasks_service(sqlite_database, portal_id, validate_ahead=True)
