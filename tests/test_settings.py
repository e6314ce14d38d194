"""Settings come from the environment (as `--workers` processes receive them), then explicit overrides."""

from localspot.settings import Settings


def test_environment_then_overrides(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("LOCALSPOT_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("LOCALSPOT_TOKEN", "a,b")
    monkeypatch.setenv("LOCALSPOT_POOL_SIZE", "3")
    monkeypatch.setenv("LOCALSPOT_PORTAL_ID", "4242")
    monkeypatch.setenv("LOCALSPOT_BOOTSTRAPPED", "1")
    monkeypatch.setenv("LOCALSPOT_WORKERS", "2")
    settings = Settings.from_env()
    assert settings.database_url == "sqlite:///elsewhere.db"
    assert settings.tokens == ("a", "b")
    assert (settings.pool_size, settings.portal_id, settings.bootstrap, settings.workers) == (3, 4242, False, 2)
    overridden = Settings.from_env(database_url="sqlite:///cli.db", bootstrap=True, tokens=())
    assert overridden.database_url == "sqlite:///cli.db" and overridden.bootstrap is True
    assert overridden.tokens == ("a", "b")  # an empty override keeps the environment's value


def test_defaults_without_environment(monkeypatch) -> None:  # noqa: ANN001
    for name in ("DATABASE_URL", "TOKEN", "POOL_SIZE", "PORTAL_ID", "BOOTSTRAPPED", "WORKERS"):
        monkeypatch.delenv(f"LOCALSPOT_{name}", raising=False)
    settings = Settings.from_env()
    assert (settings.database_url, settings.portal_id, settings.bootstrap) == ("sqlite:///localspot.db", 1, True)
    assert settings.workers == 1
