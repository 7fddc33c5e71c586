"""Secrets: API key generation and digests, AES-256-GCM for credentials at rest, and
the installation secret key from which purpose-specific subkeys are derived."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ownpay.config import ConfigError, Settings

API_KEY_RANDOM_BYTES = 24  # 192 bits
_KEY_ALPHABET_LEN = 32  # base32, lower-case, no padding


def new_api_key(mode: str) -> str:
    """``op_test_<39 base32 chars>``: 192 random bits, easy to copy, greppable prefix."""
    body = base64.b32encode(secrets.token_bytes(API_KEY_RANDOM_BYTES)).decode().rstrip("=")
    return f"op_{mode}_{body.lower()}"


def api_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_mode(key: str) -> str | None:
    """The mode a key claims by its prefix, or None for anything malformed."""
    for mode in ("test", "live"):
        prefix = f"op_{mode}_"
        if key.startswith(prefix) and 20 <= len(key) <= 100 and key[len(prefix):].isalnum():
            return mode
    return None


def display_prefix(key: str) -> str:
    return key[:12]


def load_or_create_secret_key(settings: Settings, *, create: bool) -> bytes:
    """The installation key: ``OWNPAY_SECRET_KEY`` (base64, 32 bytes) or ``data_dir/secret.key``."""
    if settings.secret_key:
        try:
            padding = "=" * (-len(settings.secret_key) % 4)
            raw = base64.urlsafe_b64decode(settings.secret_key + padding)
        except ValueError:
            raise ConfigError("OWNPAY_SECRET_KEY must be base64 of 32 bytes") from None
        if len(raw) != 32:
            raise ConfigError("OWNPAY_SECRET_KEY must be base64 of exactly 32 bytes")
        return raw
    path = Path(settings.data_dir) / "secret.key"
    if path.exists():
        raw = base64.urlsafe_b64decode(path.read_text().strip())
        if len(raw) != 32:
            raise ConfigError(f"{path} is corrupt: expected base64 of 32 bytes")
        return raw
    if not create:
        raise ConfigError(
            f"no secret key: run `ownpay init` or set OWNPAY_SECRET_KEY ({path} missing)"
        )
    secure_data_dir(path.parent)
    raw = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.urlsafe_b64encode(raw).decode() + "\n")
    return raw


def secure_data_dir(data_dir: Path) -> None:
    """The data directory holds the SQLite database and the installation key: only its
    owner may enter it (0700), and the files in it are owner-only (0600).  Applied on every
    start, so an installation made before this tightening is tightened too."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir.chmod(0o700)
    for path in data_dir.iterdir():
        if path.is_file() and not path.is_symlink():
            path.chmod(0o600)


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


@dataclass(frozen=True)
class Keyring:
    """Purpose-separated keys derived from the one installation secret."""

    encryption: bytes
    csrf: bytes
    # Keyed digests of customers' normalised e-mails and phones (customers/pii.py): a lookup
    # key of its own, so a digest says nothing about the encryption or CSRF keys.
    lookup: bytes

    @classmethod
    def from_master(cls, master: bytes) -> Keyring:
        return cls(
            encryption=_derive(master, b"ownpay/credentials/aes-256-gcm"),
            csrf=_derive(master, b"ownpay/checkout/csrf"),
            lookup=_derive(master, b"ownpay/customers/lookup-hmac-sha256"),
        )

    def encrypt(self, plaintext: bytes, *, context: bytes) -> bytes:
        """AES-256-GCM; ``context`` (e.g. merchant/mode/gateway) is bound as associated data."""
        nonce = secrets.token_bytes(12)
        return nonce + AESGCM(self.encryption).encrypt(nonce, plaintext, context)

    def decrypt(self, blob: bytes, *, context: bytes) -> bytes:
        try:
            return AESGCM(self.encryption).decrypt(blob[:12], blob[12:], context)
        except InvalidTag:
            raise ValueError(
                "credentials cannot be decrypted with this installation's key"
            ) from None

    def sign(self, message: bytes) -> str:
        return hmac.new(self.csrf, message, hashlib.sha256).hexdigest()

    def lookup_digest(self, message: bytes) -> str:
        """HMAC-SHA256 under the lookup key, hex: equal inputs give equal digests, and
        without the installation key a digest cannot be tested against a guess."""
        return hmac.new(self.lookup, message, hashlib.sha256).hexdigest()

    def verify(self, message: bytes, signature: str) -> bool:
        return hmac.compare_digest(self.sign(message), signature)
