from __future__ import annotations

from pathlib import Path

import pytest

from ownpay.config import ConfigError, load_settings


def test_defaults_and_url_mapping() -> None:
    s = load_settings({})
    assert s.base_url == "http://127.0.0.1:8000" and s.intent_lifetime == 1800 and s.port == 8000
    assert s.resolved_database_url.startswith("sqlite+aiosqlite:///") and s.is_sqlite
    s = load_settings({"OWNPAY_DATABASE_URL": "postgresql://u@h:5432/db"})
    assert s.resolved_database_url == "postgresql+asyncpg://u@h:5432/db" and not s.is_sqlite
    assert load_settings({"OWNPAY_DATABASE_URL": "sqlite:///x.db"}).database_url == "sqlite+aiosqlite:///x.db"


@pytest.mark.parametrize(
    ("env", "base_url"),
    [
        ({"OWNPAY_PORT": "35099"}, "http://127.0.0.1:35099"),
        ({"OWNPAY_HOST": "0.0.0.0", "OWNPAY_PORT": "9000"}, "http://127.0.0.1:9000"),
        ({"OWNPAY_HOST": "::"}, "http://[::1]:8000"),
        ({"OWNPAY_HOST": "192.0.2.7", "OWNPAY_PORT": "80"}, "http://192.0.2.7"),
        ({"OWNPAY_BASE_URL": "", "OWNPAY_PORT": "8080"}, "http://127.0.0.1:8080"),
        ({"OWNPAY_BASE_URL": "https://pay.example.com/", "OWNPAY_PORT": "8080"},
         "https://pay.example.com"),
    ],
)
def test_the_default_base_url_follows_host_and_port(env: dict[str, str], base_url: str) -> None:
    """Without OWNPAY_BASE_URL every payment_url points at the server actually started."""
    assert load_settings(env).base_url == base_url
    assert load_settings({}, port=35099).base_url == "http://127.0.0.1:35099"  # --port
    assert load_settings({}).with_overrides(port=9001).base_url == "http://127.0.0.1:9001"
    explicit = load_settings({"OWNPAY_BASE_URL": "https://pay.example.com"})
    assert explicit.with_overrides(port=9001).base_url == "https://pay.example.com"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"OWNPAY_PORT": "abc"}, "OWNPAY_PORT must be an integer"),
        ({"OWNPAY_PORT": "70000"}, "OWNPAY_PORT must be between"),
        ({"OWNPAY_BASE_URL": "pay.example.com"}, "OWNPAY_BASE_URL must be an absolute"),
        ({"OWNPAY_DATABASE_URL": "mysql://x"}, "must start with sqlite:/// or postgresql://"),
        ({"OWNPAY_INTENT_LIFETIME": "10"}, "between 60 and 604800"),
        ({"OWNPAY_RUN_WORKER": "maybe"}, "true or false"),
        ({"OWNPAY_WEBHOOK_RETRY_SCHEDULE": "5,x"}, "comma-separated seconds"),
        ({"OWNPAY_DATABASE_POOL_SIZE": "0"}, "OWNPAY_DATABASE_POOL_SIZE must be between"),
    ],
)
def test_bad_values_fail_with_one_line(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_config_file(tmp_path: Path) -> None:
    path = tmp_path / "ownpay.toml"
    path.write_text('base_url = "https://pay.example.com/"\nintent_lifetime = 600\n')
    s = load_settings({"OWNPAY_CONFIG": str(path), "OWNPAY_INTENT_LIFETIME": "900"})
    assert s.base_url == "https://pay.example.com" and s.intent_lifetime == 900  # env wins
    path.write_text("nonsense = 1\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings({"OWNPAY_CONFIG": str(path)})


async def test_postgresql_pool_is_fixed_and_sized_by_the_setting() -> None:
    """No overflow connections: a burst waits for the pool instead of opening (and then
    closing) extra PostgreSQL connections, which cost a backend fork each."""
    from ownpay.context import AppContext

    settings = load_settings({"OWNPAY_DATABASE_URL": "postgresql://u@127.0.0.1:9/db",
                              "OWNPAY_DATABASE_POOL_SIZE": "7",
                              "OWNPAY_SECRET_KEY": "A" * 43})
    ctx = AppContext.create(settings)
    try:
        pool = ctx.engine.pool
        assert pool.size() == 7  # type: ignore[attr-defined]
        assert pool._max_overflow == 0  # type: ignore[attr-defined]
    finally:
        await ctx.close()
    assert load_settings({}).database_pool_size == 20
