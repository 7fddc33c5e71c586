"""A payment's own callback URL (the OwnPay merchant API's ``callback_url``).

It becomes a webhook endpoint bound to that payment (``webhook_endpoints.payment_id``), with
the ``ownpay-legacy`` scheme its clients verify: it receives that payment's events only, is
never listed or counted among the merchant's endpoints, and is signed with the merchant's
**callback secret** for the mode -- one secret the merchant types into its plugin (WHMCS,
WooCommerce, the SDKs), shown and rotated with ``ownpay webhooks callback-secret``.  A
rotation takes effect at once for every callback not yet delivered (the secret is looked up
at each attempt, not copied into the endpoint).

A UddoktaPay or PipraPay facade payment's ``webhook_url`` is such an endpoint too, in that
API's scheme (``signing.KEY_HEADERS``): its clients accept an IPN whose header equals their
API key, and we keep keys only as hashes -- so the key that created the payment is sealed
(AES-256-GCM with the installation keyring, bound to the endpoint's id) into the endpoint's
``secret_enc`` and opened only to send that payment's IPNs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ownpay.db import utcnow
from ownpay.security import Keyring
from ownpay.tenancy import TenantScope
from ownpay.webhooks import service
from ownpay.webhooks.models import CallbackSecret, WebhookEndpoint
from ownpay.webhooks.signing import KEY_HEADERS, LEGACY, generate_secret


def _context(scope: TenantScope) -> bytes:
    return f"callback-secret:{scope.merchant_id}:{scope.mode}".encode()


async def secret(session: AsyncSession, keyring: Keyring, scope: TenantScope, *,
                 rotate: bool = False) -> str:
    """The merchant's callback secret for the mode, created on first use; ``rotate``
    replaces it (the old one stops signing at once: tell the plugin the new one)."""
    row = await session.get(CallbackSecret, (scope.merchant_id, scope.mode),
                            with_for_update=rotate)
    if row is not None and not rotate:
        return keyring.decrypt(row.secret_enc, context=_context(scope)).decode()
    value = generate_secret()
    sealed = keyring.encrypt(value.encode(), context=_context(scope))
    now = utcnow()
    if row is None:
        session.add(CallbackSecret(merchant_id=scope.merchant_id, mode=scope.mode,
                                   secret_enc=sealed, created_at=now))
    else:
        row.secret_enc, row.rotated_at = sealed, now
    await session.flush()
    return value


async def current(session: AsyncSession, keyring: Keyring, scope: TenantScope) -> str | None:
    """The callback secret if the merchant has one (never creates it)."""
    sealed = await session.scalar(select(CallbackSecret.secret_enc).where(
        CallbackSecret.merchant_id == scope.merchant_id, CallbackSecret.mode == scope.mode))
    return keyring.decrypt(sealed, context=_context(scope)).decode() if sealed else None


def _key_context(endpoint_id: str) -> bytes:
    return f"compat-ipn-key:{endpoint_id}".encode()


async def add_endpoint(conn: AsyncConnection, scope: TenantScope, *, payment_id: str,
                       url: str, scheme: str = LEGACY, keyring: Keyring | None = None,
                       api_key: str | None = None) -> str:
    """Bind ``url`` to the payment, in the caller's (the payment's creating) transaction.
    For a key-header scheme (``uddoktapay``, ``piprapay``) ``api_key`` -- the key the
    request presented -- is sealed with ``keyring`` into the endpoint."""
    now = utcnow()
    endpoint_id = service.new_endpoint_id()
    sealed = b""
    if scheme in KEY_HEADERS:
        if keyring is None or not api_key:
            raise ValueError(f"the {scheme} scheme needs the API key and the keyring")
        sealed = keyring.encrypt(api_key.encode(), context=_key_context(endpoint_id))
    await conn.execute(insert(WebhookEndpoint).values(
        id=endpoint_id, merchant_id=scope.merchant_id, mode=scope.mode, url=url,
        events=[service.ALL_EVENTS], description=None, enabled=True, secret_enc=sealed,
        scheme=scheme, payment_id=payment_id, created_at=now, updated_at=now,
    ))
    return endpoint_id


class SecretsForClaims:
    """The secrets that sign each claimed delivery: an endpoint's own (and, during a
    rotation overlap, its previous one), for a payment's callback endpoint the merchant's
    callback secret -- looked up once per merchant and mode per batch -- and for a facade
    payment's endpoint the sealed API key."""

    def __init__(self, session: AsyncSession, keyring: Keyring, now: datetime) -> None:
        self.session, self.keyring, self.now = session, keyring, now
        self._callback: dict[TenantScope, str | None] = {}

    async def of(self, endpoint: WebhookEndpoint) -> list[str]:
        if endpoint.payment_id is None:
            return service.active_secrets(self.keyring, endpoint, now=self.now)
        if endpoint.scheme in KEY_HEADERS:
            return [self.keyring.decrypt(endpoint.secret_enc,
                                         context=_key_context(endpoint.id)).decode()]
        scope = TenantScope(endpoint.merchant_id, endpoint.mode)
        if scope not in self._callback:
            self._callback[scope] = await secret(self.session, self.keyring, scope)
        value = self._callback[scope]
        return [value] if value else []
