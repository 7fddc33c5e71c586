"""``customers/pii.py`` alone: e-mail and phone normal forms, digests that differ per brand,
mode and field, and blobs bound to their row and field."""

from __future__ import annotations

import pytest

from ownpay.customers import pii
from ownpay.security import Keyring
from ownpay.tenancy import TenantScope

KEYS = Keyring.from_master(b"k" * 32)
SHOP = TenantScope(1, "test")


@pytest.mark.parametrize("raw", ["+8801712345678", "01712345678", "0171 234 5678",
                                 " +880 1712-345678 ", "(017) 1234-5678", "8801712345678"])
def test_bangladeshi_forms_are_one_number(raw: str) -> None:
    assert pii.normal_phone(raw) == "+8801712345678"


@pytest.mark.parametrize("raw", ["০১৭১২৩৪৫৬৭৮", "٠١٧١٢٣٤٥٦٧٨", "+1-555-0100", "12", "",
                                 "0171234567", "01712345678 ext", "1" * 5000,
                                 "01712\x00345678"])
def test_what_is_not_a_number_is_none(raw: str) -> None:
    assert pii.normal_phone(raw) is None


def test_other_countries_keep_their_code() -> None:
    assert pii.normal_phone("+44 20 7946 0958") == "+442079460958"


def test_emails_are_trimmed_and_lower_cased_or_refused() -> None:
    assert pii.normal_email("  Ayesha@Example.COM ") == "ayesha@example.com"
    for bad in ("not-an-email", "a@", "", "a" * 250 + "@example.com", "a b@example.com"):
        assert pii.normal_email(bad) is None, bad


def test_digests_are_keyed_and_scoped() -> None:
    one = pii.digest(KEYS, SHOP, "email", "a@example.com")
    assert one == pii.digest(KEYS, SHOP, "email", "a@example.com") and len(one) == 64
    others = {pii.digest(KEYS, TenantScope(2, "test"), "email", "a@example.com"),
              pii.digest(KEYS, TenantScope(1, "live"), "email", "a@example.com"),
              pii.digest(KEYS, SHOP, "phone", "a@example.com"),
              pii.digest(Keyring.from_master(b"o" * 32), SHOP, "email", "a@example.com")}
    assert one not in others and len(others) == 4
    assert KEYS.lookup not in (KEYS.encryption, KEYS.csrf)


def test_a_blob_opens_only_in_its_row_and_field() -> None:
    blob = pii.seal(KEYS, "cus_1", "email", "a@example.com")
    assert blob is not None and b"example" not in blob
    assert pii.unseal(KEYS, "cus_1", "email", blob) == "a@example.com"
    for customer_id, field in (("cus_2", "email"), ("cus_1", "name")):
        with pytest.raises(ValueError):
            pii.unseal(KEYS, customer_id, field, blob)
    assert pii.seal(KEYS, "cus_1", "name", None) is None
    assert pii.unseal(KEYS, "cus_1", "name", None) is None
