"""The `localspot` command."""

from __future__ import annotations

import contextlib
import gc
import logging
import os

import click
import uvicorn

from localspot.app import create_app, create_service
from localspot.settings import Settings
from localspot.workers import STARTUP_FAILURE, Supervisor

ENV_PREFIX = "LOCALSPOT_"
GC_YOUNG_THRESHOLD = 20_000  # see app_from_env


def app_from_env():  # noqa: ANN201 - uvicorn factory; each worker builds its app from the environment
    app = create_app(Settings.from_env())
    settle_worker_gc()
    return app


def settle_worker_gc() -> None:
    """The garbage collector's settings of a worker whose app is built (also bench.instructions')."""
    # What exists now (imported modules, the app, its routes: ~75,000 objects) lives as long as the
    # worker. Frozen, it is out of the cyclic garbage collector's sight: the full collections that come
    # every few hundred batches under load no longer walk it (25 ms each, a p99 spike).
    gc.collect()
    gc.freeze()
    # A batch makes and drops thousands of container objects. At the default threshold (700 more made
    # than dropped) each batch upsert set off about two young-generation collections that freed almost
    # nothing and moved what was in flight to older generations, which full collections walk. At
    # 20,000: 1.8% fewer instructions per batch upsert (callgrind, in-process, docs/benchmarks.md).
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def banner(settings: Settings, tokens: list[str]) -> str:
    base = f"http://{settings.host}:{settings.port}"
    token = tokens[0]
    return f"""
LocalSpot is serving HubSpot's CRM API at {base}
  database: {settings.database_url}
  access token{"s" if len(tokens) > 1 else ""}: {", ".join(tokens)}

  # hubspot-api-client (/crm/v3/...)
  from hubspot import HubSpot
  client = HubSpot(access_token="{token}", host="{base}", base_url="{base}")

  # hubspot-sdk (/crm/objects/2026-03/...)
  from hubspot_sdk import HubSpot
  sdk = HubSpot(access_token="{token}", base_url="{base}")
"""


@click.group()
def main() -> None:
    """LocalSpot: a HubSpot-compatible CRM API server that keeps real data."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--db",
    "database_url",
    envvar="LOCALSPOT_DATABASE_URL",
    default=None,
    help="Database URL: sqlite:///path.db (default ./localspot.db) or postgresql://user@host/db.",
)
@click.option(
    "--token",
    "tokens",
    multiple=True,
    help="Access token to accept (repeatable). Without one, a token is created and printed.",
)
@click.option("--workers", default=1, show_default=True, type=int, help="Server processes.")
@click.option(
    "--pool-size",
    envvar="LOCALSPOT_POOL_SIZE",
    default=None,
    type=int,
    help="Database connections each worker keeps (it may open as many again under load). Default 10.",
)
@click.option("--access-log/--no-access-log", default=False, show_default=True)
def serve(
    host: str,
    port: int,
    database_url: str | None,
    tokens: tuple[str, ...],
    workers: int,
    pool_size: int | None,
    access_log: bool,
) -> None:
    """Run LocalSpot (migrating the database first)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env(
        host=host, port=port, database_url=database_url, tokens=tokens, pool_size=pool_size, bootstrap=True
    )
    service, known = create_service(settings)
    service.store.dispose()
    click.echo(banner(settings, known))
    # Workers build their own app from the environment, so hand the settings on through it.
    os.environ[ENV_PREFIX + "DATABASE_URL"] = settings.database_url
    os.environ[ENV_PREFIX + "TOKEN"] = ",".join(settings.tokens)
    os.environ[ENV_PREFIX + "POOL_SIZE"] = str(settings.pool_size)
    os.environ[ENV_PREFIX + "WORKERS"] = str(workers)
    os.environ[ENV_PREFIX + "BOOTSTRAPPED"] = "1"  # migrated and set up above, once for all workers
    config = uvicorn.Config(
        "localspot.cli:app_from_env",
        factory=True,
        host=host,
        port=port,
        access_log=access_log,
        log_level="info",
        ws="none",  # no WebSocket route: an upgrade request is answered as plain HTTP
    )
    if workers > 1:
        raise SystemExit(Supervisor(config, workers).run())
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C: uvicorn re-raises it once it has shut down
        server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)
