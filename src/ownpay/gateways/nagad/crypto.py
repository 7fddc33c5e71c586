"""The RSA Nagad's checkout API is built on, with the ``cryptography`` package.

Every sensitive request field is a JSON document encrypted to Nagad's public key (RSA,
PKCS#1 v1.5 padding, base64) and signed with the merchant's private key (SHA256withRSA,
PKCS#1 v1.5, base64); Nagad answers the same way in reverse: its ``sensitiveData`` is
encrypted to the merchant's public key and its ``signature`` is made with Nagad's private
key.  Nagad hands keys out as bare base64 DER (no PEM armour); both forms are read.

Pure apart from the randomness of PKCS#1 v1.5 encryption padding.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

MIN_KEY_BITS = 2048
# PKCS#1 v1.5 encryption carries at most (key bytes - 11) bytes of plain text.
_PADDING_OVERHEAD = 11


class KeyInvalid(ValueError):
    """A key that is not a usable RSA key; ``str(exc)`` is a readable sentence."""


class CryptoError(ValueError):
    """A ciphertext or signature from the other side that does not decrypt or verify."""


def _der(text: str) -> bytes | None:
    """The DER bytes of a PEM block or of bare base64 (None: neither)."""
    body = text.strip()
    if body.startswith("-----BEGIN"):
        return None
    try:
        return base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """The merchant's private key from PEM (PKCS#8 or PKCS#1) or bare base64 DER."""
    raw = text.strip().encode()
    der = _der(text)
    try:
        key = (serialization.load_der_private_key(der, password=None) if der is not None
               else serialization.load_pem_private_key(raw, password=None))
    except (ValueError, TypeError) as exc:
        raise KeyInvalid("is not an unencrypted RSA private key (PEM or base64 DER).") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyInvalid("must be an RSA key.")
    if key.key_size < MIN_KEY_BITS:
        raise KeyInvalid(f"must be at least {MIN_KEY_BITS} bits.")
    return key


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """Nagad's public key from PEM or bare base64 DER (SubjectPublicKeyInfo)."""
    raw = text.strip().encode()
    der = _der(text)
    try:
        key = (serialization.load_der_public_key(der) if der is not None
               else serialization.load_pem_public_key(raw))
    except (ValueError, TypeError) as exc:
        raise KeyInvalid("is not an RSA public key (PEM or base64 DER).") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyInvalid("must be an RSA key.")
    if key.key_size < MIN_KEY_BITS:
        raise KeyInvalid(f"must be at least {MIN_KEY_BITS} bits.")
    return key


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def plain_json(data: Mapping[str, Any]) -> str:
    """The JSON text that is encrypted and signed (compact, in the order given)."""
    return json.dumps(dict(data), separators=(",", ":"), ensure_ascii=False)


def capacity(key: rsa.RSAPublicKey) -> int:
    """How many bytes of plain text one encryption under ``key`` can carry."""
    return key.key_size // 8 - _PADDING_OVERHEAD


def encrypt(key: rsa.RSAPublicKey, plain: str) -> str:
    data = plain.encode()
    if len(data) > capacity(key):
        raise ValueError(f"{len(data)} bytes do not fit one RSA block of this key")
    return base64.b64encode(key.encrypt(data, padding.PKCS1v15())).decode()


def decrypt(key: rsa.RSAPrivateKey, text: str) -> str:
    try:
        return key.decrypt(base64.b64decode(text, validate=True), padding.PKCS1v15()).decode()
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise CryptoError("sensitiveData does not decrypt with the merchant key") from exc


def sign(key: rsa.RSAPrivateKey, plain: str) -> str:
    signature = key.sign(plain.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def verify(key: rsa.RSAPublicKey, plain: str, signature: str) -> None:
    """Raises CryptoError unless ``signature`` is the other side's SHA256withRSA of
    ``plain``."""
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, plain.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError, binascii.Error) as exc:
        raise CryptoError("signature does not verify with Nagad's public key") from exc
