"""The brand-domain settings: addresses and DNS servers parsed strictly (one-line errors),
bounded timeouts and intervals, the API switch off by default."""

from __future__ import annotations

import pytest

from ownpay.config import ConfigError, load_settings

pytestmark = pytest.mark.unit


def test_defaults() -> None:
    s = load_settings(env={})
    assert s.public_addresses == () and s.dns_nameservers == ()
    assert s.dns_timeout == 3.0 and s.domain_recheck_interval == 3600
    assert s.api_on_brand_domains is False and s.rate_limit_tls_ask_ip == "120/minute"


def test_addresses_and_nameservers_are_normalised() -> None:
    s = load_settings(env={
        "OWNPAY_PUBLIC_ADDRESSES": " 203.0.113.7, 2001:DB8::1 ,",
        "OWNPAY_DNS_NAMESERVERS": "127.0.0.1:5353,[::1]:53,10.0.0.1",
        "OWNPAY_DNS_TIMEOUT": "0.5", "OWNPAY_API_ON_BRAND_DOMAINS": "true"})
    assert s.public_addresses == ("203.0.113.7", "2001:db8::1")
    assert s.dns_nameservers == ("127.0.0.1:5353", "[::1]:53", "10.0.0.1:53")
    assert s.dns_timeout == 0.5 and s.api_on_brand_domains is True


@pytest.mark.parametrize(("name", "value", "says"), [
    ("OWNPAY_PUBLIC_ADDRESSES", "203.0.113.0/24", "must list IP addresses"),
    ("OWNPAY_PUBLIC_ADDRESSES", "pay.example.com", "must list IP addresses"),
    ("OWNPAY_DNS_NAMESERVERS", "127.0.0.1:0", "ip or ip:port"),
    ("OWNPAY_DNS_NAMESERVERS", "dns.example:53", "ip or ip:port"),
    ("OWNPAY_DNS_NAMESERVERS", "127.0.0.1:５３", "ip or ip:port"),
    ("OWNPAY_DNS_TIMEOUT", "0", "at least 0.1"),
    ("OWNPAY_DNS_TIMEOUT", "60", "at most 30"),
    ("OWNPAY_DOMAIN_RECHECK_INTERVAL", "5", "between 60"),
    ("OWNPAY_API_ON_BRAND_DOMAINS", "maybe", "OWNPAY_API_ON_BRAND_DOMAINS"),
])
def test_bad_values_stop_start_up_with_one_line(name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(env={name: value})
    assert says in str(refused.value) and "\n" not in str(refused.value)
