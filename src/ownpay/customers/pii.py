"""A customer's PII: normalising, keyed digests and encryption at rest.

* **E-mail**: trimmed; its digest is of the lower-cased form, so ``Ana@Example.com`` and
  ``ana@example.com `` are one customer.  Shown as it was given (trimmed).
* **Phone**: parsed with ``phonenumbers`` (default region BD, so ``01712-345678`` is
  ``+8801712345678``), valid numbers only, stored and digested as E.164.  Only ASCII digits,
  spaces and ``+-().`` are accepted: ``phonenumbers`` would quietly read Bengali or Arabic
  digits, and a number the merchant cannot type back is no lookup key.
* **Digests**: HMAC-SHA256 under the installation's lookup key (``Keyring.lookup``) of
  ``field:merchant:mode:value`` -- one brand's digest of an e-mail is unrelated to another
  brand's, and without the installation key a digest cannot be tested against a guess.
* **Encryption**: AES-256-GCM with the installation's encryption key; the associated data
  is ``customer:<id>:<field>``, so a blob copied to another row or field does not decrypt.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from ownpay.security import Keyring
from ownpay.tenancy import TenantScope

DEFAULT_REGION = "BD"
FIELDS = ("name", "email", "phone")
_PHONE_CHARS = re.compile(r"^[0-9 +\-().]{3,40}$")


def normal_email(value: str) -> str | None:
    """The lookup form of an e-mail (trimmed, lower-cased), None if it is not one."""
    value = value.strip()
    if not value or len(value) > 254:
        return None
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return None
    return value.lower()


def normal_phone(value: str, *, region: str = DEFAULT_REGION) -> str | None:
    """E.164 of a valid phone number (``+8801712345678``), None otherwise."""
    value = value.strip()
    if not _PHONE_CHARS.fullmatch(value):
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def digest(keyring: Keyring, scope: TenantScope, field: str, normal: str) -> str:
    """The keyed digest of a normalised e-mail or phone within one brand and mode."""
    return keyring.lookup_digest(
        f"{field}:{scope.merchant_id}:{scope.mode}:{normal}".encode())


def _context(customer_id: str, field: str) -> bytes:
    return f"customer:{customer_id}:{field}".encode()


def seal(keyring: Keyring, customer_id: str, field: str, value: str | None) -> bytes | None:
    if value is None:
        return None
    return keyring.encrypt(value.encode(), context=_context(customer_id, field))


def unseal(keyring: Keyring, customer_id: str, field: str, blob: bytes | None) -> str | None:
    if blob is None:
        return None
    return keyring.decrypt(blob, context=_context(customer_id, field)).decode()
