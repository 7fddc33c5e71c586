from __future__ import annotations

import pytest

from ownpay.security import Keyring, api_key_digest, api_key_mode, new_api_key


def test_api_keys_are_random_prefixed_and_long() -> None:
    keys = {new_api_key("test") for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert key.startswith("op_test_") and api_key_mode(key) == "test"
        assert len(key) - len("op_test_") >= 32  # 39 base32 chars = 192 bits
    assert api_key_mode(new_api_key("live")) == "live"
    assert api_key_mode("op_prod_abc") is None and api_key_mode("op_test_short") is None
    assert len(api_key_digest("x")) == 64


def test_aes_gcm_round_trip_and_context_binding() -> None:
    ring = Keyring.from_master(b"k" * 32)
    blob = ring.encrypt(b'{"secret_key":"sk_test_1"}', context=b"gateway:1:test:stripe")
    assert b"sk_test_1" not in blob
    assert ring.decrypt(blob, context=b"gateway:1:test:stripe") == b'{"secret_key":"sk_test_1"}'
    with pytest.raises(ValueError):
        ring.decrypt(blob, context=b"gateway:2:test:stripe")  # moved to another merchant
    with pytest.raises(ValueError):
        Keyring.from_master(b"j" * 32).decrypt(blob, context=b"gateway:1:test:stripe")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(ValueError):
        ring.decrypt(tampered, context=b"gateway:1:test:stripe")
