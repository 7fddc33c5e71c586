"""Settings: read once from ``OWNPAY_*`` environment variables and an optional TOML file.

Precedence: explicit keyword arguments > environment > config file > defaults.  A bad value
raises :class:`ConfigError` with a one-line explanation, which the CLI prints before exiting,
so an operator never has to read a traceback to find a typo.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration value is missing or malformed (message is one line)."""


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _parse_int(name: str, raw: str, *, minimum: int, maximum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _parse_float(name: str, raw: str, *, minimum: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _parse_url(name: str, raw: str) -> str:
    from ownpay.urls import BadUrl, normalize_http_url

    try:
        return normalize_http_url(raw).rstrip("/")
    except BadUrl as exc:
        raise ConfigError(f"{name} must be an absolute http(s) URL, got {raw!r}: {exc}") from None


def default_base_url(host: str, port: int) -> str:
    """The URL a browser on this machine reaches a server bound to ``host:port`` by: the
    base URL when ``OWNPAY_BASE_URL`` is unset.  A wildcard bind (``0.0.0.0``, ``::``) is
    reached on loopback; an IPv6 address goes in brackets."""
    name = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
    if ":" in name:
        name = f"[{name}]"
    return f"http://{name}" + ("" if port == 80 else f":{port}")


def normalize_database_url(raw: str) -> str:
    """Map plain ``sqlite:///`` / ``postgresql://`` URLs to the async drivers we ship."""
    url = raw.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"OWNPAY_DATABASE_URL is not a URL: {raw!r}")
    scheme = scheme.lower()
    if scheme in {"sqlite", "sqlite+aiosqlite"}:
        return "sqlite+aiosqlite://" + rest
    if scheme in {"postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg"}:
        return "postgresql+asyncpg://" + rest
    raise ConfigError(
        f"OWNPAY_DATABASE_URL must start with sqlite:/// or postgresql://, got {scheme}://"
    )


@dataclass(frozen=True, repr=False)
class Settings:
    """Every knob of an installation.  Field names map to ``OWNPAY_<NAME upper>``."""

    data_dir: Path = Path("data")
    database_url: str = ""  # default: sqlite under data_dir
    base_url: str = ""  # empty: derived from host and port (default_base_url)
    secret_key: str = ""  # default: read/generated in data_dir/secret.key
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    intent_lifetime: int = 1800  # seconds
    max_amount_minor: int = 100_000_000_000  # 1 billion major units of a 2-decimal currency
    auth_cache_ttl: float = 5.0
    log_json: bool = False
    log_level: str = "info"
    run_worker: bool = True  # embed the background worker in `ownpay serve`
    worker_interval: float = 1.0
    webhooks_allow_private: bool = False
    metrics_token: str = ""  # bearer token for GET /metrics; empty: loopback clients only
    webhook_timeout: float = 10.0
    webhook_retry_schedule: tuple[int, ...] = (300, 900, 3600, 21600, 43200, 86400)
    webhook_lease: int = 60
    webhook_concurrency: int = 16
    webhook_per_endpoint: int = 4
    gateway_timeout: float = 15.0
    reconcile_after: int = 60
    database_pool_size: int = 20  # PostgreSQL connections per process (SQLite: always 1)
    # "transaction": the database URL is a transaction-pooling proxy (PgBouncer
    # pool_mode=transaction): no server-side prepared statements, no LISTEN through it.
    database_pooler: str = "none"
    # A direct PostgreSQL URL the worker LISTENs on for outbox wake-ups (default: the
    # database URL, unless it is a transaction pooler: then the worker polls).
    database_listen_url: str = ""
    # A streaming replica for list, export and dashboard reads (never a read that decides
    # money); empty: every read goes to the primary.
    database_replica_url: str = ""
    # Shared counters for rate limits across processes and hosts; empty: in each process.
    redis_url: str = ""
    # Reverse proxies whose X-Forwarded-For / -Proto / -Host are believed (IPs or CIDRs).
    trusted_proxies: tuple[str, ...] = ()
    # Rate limits ("N/second|minute|hour", several separated by ";"; "off" disables one).
    rate_limit_api_key: str = "100/second"
    rate_limit_api_ip: str = "300/second"
    rate_limit_api_auth_failures_ip: str = "30/minute"
    rate_limit_checkout_ip: str = "60/minute"
    rate_limit_checkout_payment: str = "20/minute"
    rate_limit_provider_webhook_ip: str = "300/minute"
    rate_limit_signin_account: str = "10/15 minutes"
    rate_limit_signin_ip: str = "50/15 minutes"
    device_offline_after: int = 1800  # seconds without a heartbeat: device.offline
    rate_limit_device_pairing_ip: str = "10/minute;30/hour"
    rate_limit_device_pairing: str = "300/hour"
    rate_limit_pairing_codes: str = "20/hour"
    rate_limit_link_payments_ip: str = "10/minute;60/hour"
    rate_limit_tls_ask_ip: str = "120/minute"
    # Brand domains (domains/): the addresses a brand's domain must resolve to (this
    # installation's public IPs), the DNS servers that verification asks ("ip" or "ip:port";
    # empty: the system's resolvers), how long one lookup may take, how often the worker
    # checks a domain again, and whether the JSON API answers on brand domains.
    public_addresses: tuple[str, ...] = ()
    dns_nameservers: tuple[str, ...] = ()
    dns_timeout: float = 3.0
    domain_recheck_interval: int = 3600
    api_on_brand_domains: bool = False
    # Dashboard sessions: signed out after this many idle seconds, and after the absolute
    # lifetime whatever the activity; step-up re-authentication is valid this long.
    session_idle_timeout: int = 1800
    session_lifetime: int = 43200
    session_reauth_window: int = 300
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.base_url:
            object.__setattr__(self, "base_url", default_base_url(self.host, self.port))

    def __repr__(self) -> str:
        """Never print secrets (a repr ends up in logs and tracebacks)."""
        shown: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS and value:
                value = "***"
            elif f.name in ("database_url", "database_listen_url", "database_replica_url",
                            "redis_url") and value:
                value = _hide_password(value)
            shown[f.name] = value
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return "sqlite+aiosqlite:///" + str((self.data_dir / "ownpay.db").resolve())

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def listen_url(self) -> str | None:
        """Where the worker LISTENs for outbox wake-ups; None: it polls every
        ``worker_interval`` (SQLite, or a transaction pooler without a direct URL)."""
        if self.database_listen_url:
            return self.database_listen_url
        if self.is_sqlite or self.database_pooler == "transaction":
            return None
        return self.resolved_database_url

    def with_overrides(self, **values: Any) -> Settings:
        chosen = {k: v for k, v in values.items() if v is not None}
        if "base_url" not in chosen and self.base_url == default_base_url(self.host, self.port):
            chosen["base_url"] = ""  # derived, so derived again from the new host and port
        return replace(self, **chosen)


_SECRET_FIELDS = frozenset({"secret_key", "metrics_token"})
POOLERS = ("none", "transaction")
RATE_LIMIT_FIELDS = (
    "rate_limit_api_key", "rate_limit_api_ip", "rate_limit_api_auth_failures_ip",
    "rate_limit_checkout_ip", "rate_limit_checkout_payment", "rate_limit_provider_webhook_ip",
    "rate_limit_signin_account", "rate_limit_signin_ip", "rate_limit_device_pairing_ip",
    "rate_limit_device_pairing", "rate_limit_pairing_codes", "rate_limit_link_payments_ip",
    "rate_limit_tls_ask_ip",
)


def _parse_rate_limit(name: str, raw: str) -> str:
    text = raw.strip()
    if text.lower() == "off":
        return "off"
    from limits import parse_many

    try:
        parse_many(text)
    except ValueError:
        raise ConfigError(f"{name} must be like 100/second or 10/15 minutes (or off), "
                          f"got {raw!r}") from None
    return text


def _listed(raw: Any) -> list[str]:
    """A comma-separated setting (or a TOML list) as its non-empty, stripped items."""
    items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    return [text for text in (str(item).strip() for item in items) if text]


def _parse_networks(name: str, raw: Any) -> tuple[str, ...]:
    from ipaddress import ip_network

    out: list[str] = []
    for text in _listed(raw):
        try:
            out.append(str(ip_network(text, strict=False)))
        except ValueError:
            raise ConfigError(f"{name} must list IP addresses or networks, got {text!r}") from None
    return tuple(out)


def _parse_addresses(name: str, raw: Any) -> tuple[str, ...]:
    from ipaddress import ip_address

    out: list[str] = []
    for text in _listed(raw):
        try:
            out.append(str(ip_address(text)))
        except ValueError:
            raise ConfigError(f"{name} must list IP addresses, got {text!r}") from None
    return tuple(out)


def _parse_nameservers(name: str, raw: Any) -> tuple[str, ...]:
    """``ip`` or ``ip:port`` (``[v6]:port`` for IPv6), given back as ``ip:port``."""
    from ipaddress import ip_address

    out: list[str] = []
    for text in _listed(raw):
        host, port = text, "53"
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port = rest.removeprefix(":") or "53"
        elif text.count(":") == 1:
            host, port = text.split(":")
        try:
            address = ip_address(host)
            if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
                raise ValueError(port)
        except ValueError:
            raise ConfigError(f"{name} must list ip or ip:port entries, got {text!r}") from None
        out.append(f"[{address}]:{int(port)}" if address.version == 6 else f"{address}:{port}")
    return tuple(out)


def _hide_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"

_INT_BOUNDS: dict[str, tuple[int, int]] = {
    "port": (1, 65535),
    "workers": (1, 64),
    "intent_lifetime": (60, 7 * 86400),
    "max_amount_minor": (1, 10**15),
    "webhook_lease": (5, 3600),
    "webhook_concurrency": (1, 1000),
    "webhook_per_endpoint": (1, 100),
    "reconcile_after": (1, 86400),
    "database_pool_size": (1, 1000),
    "session_idle_timeout": (60, 30 * 86400),
    "session_lifetime": (300, 90 * 86400),
    "session_reauth_window": (30, 86400),
    "device_offline_after": (60, 7 * 86400),
    "domain_recheck_interval": (60, 7 * 86400),
}


def _coerce(name: str, raw: Any) -> Any:
    env_name = f"OWNPAY_{name.upper()}"
    text = str(raw)
    if name == "database_url":
        return normalize_database_url(text) if text.strip() else ""
    if name in ("database_listen_url", "database_replica_url"):
        try:
            value = normalize_database_url(text) if text.strip() else ""
        except ConfigError:
            value = "-"
        if value and not value.startswith("postgresql"):
            raise ConfigError(f"{env_name} must be a postgresql:// URL")
        return value
    if name == "database_pooler":
        pooler = text.strip().lower()
        if pooler not in POOLERS:
            raise ConfigError(f"{env_name} must be none or transaction, got {text!r}")
        return pooler
    if name == "base_url":  # empty: derived from host and port
        return _parse_url(env_name, text) if text.strip() else ""
    if name == "data_dir":
        return Path(text).expanduser()
    if name in _INT_BOUNDS:
        lo, hi = _INT_BOUNDS[name]
        return _parse_int(env_name, text, minimum=lo, maximum=hi)
    if name in {"auth_cache_ttl", "worker_interval", "webhook_timeout", "gateway_timeout"}:
        return _parse_float(env_name, text, minimum=0.0)
    if name == "dns_timeout":
        seconds = _parse_float(env_name, text, minimum=0.1)
        if seconds > 30:
            raise ConfigError(f"{env_name} must be at most 30 seconds, got {text!r}")
        return seconds
    if name in {"log_json", "run_worker", "webhooks_allow_private", "api_on_brand_domains"}:
        return raw if isinstance(raw, bool) else _parse_bool(env_name, text)
    if name == "webhook_retry_schedule":
        items = raw if isinstance(raw, list | tuple) else text.split(",")
        try:
            schedule = tuple(int(str(i).strip()) for i in items if str(i).strip())
        except ValueError:
            raise ConfigError(f"{env_name} must be comma-separated seconds, got {text!r}") from None
        if not schedule or any(s < 0 for s in schedule):
            raise ConfigError(f"{env_name} must list at least one non-negative delay")
        return schedule
    if name in RATE_LIMIT_FIELDS:
        return _parse_rate_limit(env_name, text)
    if name == "trusted_proxies":
        return _parse_networks(env_name, raw)
    if name == "public_addresses":
        return _parse_addresses(env_name, raw)
    if name == "dns_nameservers":
        return _parse_nameservers(env_name, raw)
    if name == "redis_url":
        value = text.strip()
        if value and not value.startswith(("redis://", "rediss://")):
            raise ConfigError(f"{env_name} must be a redis:// or rediss:// URL")
        return value
    if name == "log_level":
        level = text.lower()
        if level not in {"debug", "info", "warning", "error"}:
            raise ConfigError(f"{env_name} must be debug, info, warning or error, got {text!r}")
        return level
    return text


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from the environment (and ``OWNPAY_CONFIG`` TOML file, if set)."""
    environ = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    names = [f.name for f in fields(Settings) if f.name != "extra"]
    config_path = environ.get("OWNPAY_CONFIG")
    if config_path:
        try:
            with open(config_path, "rb") as fh:
                file_values = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"OWNPAY_CONFIG: cannot read {config_path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"OWNPAY_CONFIG: {config_path} is not valid TOML: {exc}") from None
        for key, raw in file_values.items():
            if key not in names:
                raise ConfigError(f"OWNPAY_CONFIG: unknown setting {key!r} in {config_path}")
            values[key] = _coerce(key, raw)
    for name in names:
        raw = environ.get(f"OWNPAY_{name.upper()}")
        if raw is not None:
            values[name] = _coerce(name, raw)
    for name, raw in overrides.items():
        if raw is not None:
            values[name] = _coerce(name, raw)
    return Settings(**values)
