"""docs/coverage.md, the implementation-coverage ledger, is generated (`make coverage`) and must stay current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = Path(__file__).resolve().parent.parent
    output = tmp_path_factory.mktemp("ledger") / "coverage.md"
    subprocess.run([sys.executable, str(root / "scripts" / "coverage_ledger.py"), str(output)], check=True, cwd=root)
    return output.read_text()


def test_docs_coverage_md_is_up_to_date(regenerated: str, repo_root: Path) -> None:
    committed = (repo_root / "docs" / "coverage.md").read_text()
    assert committed == regenerated, "docs/coverage.md is stale: run `make coverage` after adding or removing routes"


@pytest.mark.parametrize(
    "row",
    [
        "| `crm.objects.tasks` | `BasicApi.get_page` | `GET /crm/v3/objects/tasks` | **yes** |",
        "| `crm.objects.tasks` | `TasksResource.list` | `GET /crm/objects/2026-03/tasks` | **yes** |",
        "| `crm.contacts` | `BasicApi.merge` | `POST /crm/v3/objects/contacts/merge` | **yes** |",
        "| `crm.contacts` | `BasicApi.purge` | `POST /crm/v3/objects/contacts/gdpr-delete` | **yes** |",
        "| `crm.objects.deals` | `DealsResource.merge` | `POST /crm/objects/2026-03/0-3/merge` | **yes** |",
        "| `crm.properties` | `CoreApi.get_all` | `GET /crm/v3/properties/{objectType}` | **yes** |",
        "| `crm.owners` | `OwnersApi.get_page` | `GET /crm/v3/owners/` | no |",
        "| `crm.objects.deal_splits` | `BatchApi.read` | `POST /crm/v3/objects/deals/splits/batch/read` | no |",
    ],
)
def test_operations_are_marked_by_method_and_path(regenerated: str, row: str) -> None:
    assert row in regenerated.splitlines()


def test_totals_count_the_rows(regenerated: str) -> None:
    lines = regenerated.splitlines()
    for title in ("hubspot-api-client", "hubspot-sdk"):
        total = next(line for line in lines if line.startswith(f"| {title} |")).split("|")
        section = lines[lines.index(next(x for x in lines if x.startswith(f"## {title} "))) :]
        end = next((i for i, x in enumerate(section[1:], 1) if x.startswith("## ")), len(section))
        rows = [x for x in section[:end] if x.count("`") >= 6]
        assert int(total[3]) == len(rows) > 300
        assert int(total[4]) == sum(x.endswith("**yes** |") for x in rows)
