"""A simulated phone for the device API (written from docs/sms-verification.md): it pairs
with an operator's code, numbers its messages, encrypts them with its AES key the way the
companion app does (base64 of 12-byte IV ‖ AES-256-GCM ciphertext ‖ 16-byte tag), uploads,
refreshes its tokens and sends heartbeats.  And each provider's money-received message,
built in the provider's real shape (tests/sms/corpus.json has the real samples)."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ownpay.db import utcnow
from ownpay.sms import devices
from ownpay.tenancy import TenantScope

DHAKA = ZoneInfo("Asia/Dhaka")
SENDERS = {"bkash": "bKash", "nagad": "NAGAD", "rocket": "16216", "upay": "upay"}


def taka(minor: int) -> str:
    return f"{minor // 100:,}.{minor % 100:02d}"


def received(provider: str, *, amount_minor: int, party: str, trx: str,
             balance_minor: int = 1_000_000, at: datetime | None = None,
             fee_minor: int = 0) -> str:
    """A money-received SMS of ``provider`` in its real shape."""
    local = (at or utcnow()).astimezone(DHAKA)
    dmy = local.strftime("%d/%m/%Y %H:%M")
    amount, balance = taka(amount_minor), taka(balance_minor)
    if provider == "bkash":
        return (f"You have received Tk {amount} from {party}. Fee Tk {taka(fee_minor)}. "
                f"Balance Tk {balance}. TrxID {trx} at {dmy}.")
    if provider == "nagad":
        return (f"Money Received.\nAmount: Tk {amount}\nSender: {party}\nRef: shop\n"
                f"TxnID: {trx}\nBalance: Tk {balance}\n{dmy}")
    if provider == "rocket":
        when = local.strftime("%d-%b-%y %I:%M:%S %p").upper()
        return (f"Tk{amount} received from A/C:***{party[-4:]} Fee:Tk0, Your A/C Balance: "
                f"Tk{balance} TxnId:{trx} Date:{when}")
    if provider == "upay":
        return (f"Tk. {amount} has been received from {party}. Ref-shop. Balance Tk. "
                f"{balance}. TrxID {trx} at {dmy}.")
    raise AssertionError(provider)


async def pairing_code(ctx: Any, merchant_id: int, mode: str = "test") -> str:
    async with ctx.sessions() as s, s.begin():
        code, _ = await devices.create_pairing_code(s, TenantScope(merchant_id, mode),
                                                    now=utcnow())
    return code


@dataclass
class Phone:
    client: httpx.AsyncClient
    device_id: str = ""
    access: str = ""
    refresh_token: str = ""
    key: bytes = b""
    sequence: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def pair(self, code: str, **extra: Any) -> httpx.Response:
        r = await self.client.post("/api/mobile/v1/devices", json={
            "pairing_code": code, "device_id": "android-" + secrets.token_hex(4),
            "device_name": "shop phone", "app_version": "1.4.0", "platform": "android",
            **extra})
        if r.status_code == 201:
            body = r.json()
            self.device_id, self.access = body["device_id"], body["access_token"]
            self.refresh_token, self.key = body["refresh_token"], base64.b64decode(
                body["aes_key"])
        return r

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}

    def encrypt(self, text: str, key: bytes | None = None) -> str:
        iv = secrets.token_bytes(12)
        sealed = AESGCM(key or self.key).encrypt(iv, text.encode(), None)  # ciphertext ‖ tag
        return base64.b64encode(iv + sealed).decode()

    def message(self, sender: str, text: str, *, sequence: int | None = None,
                received_at: datetime | None = None) -> dict[str, Any]:
        """The next message (sequence numbers 1, 2, 3, … unless told), encrypted."""
        if sequence is None:
            self.sequence += 1
            sequence = self.sequence
        moment = received_at or datetime.now(UTC)
        payload = orjson.dumps({"sender": sender, "body": text}).decode()
        return {"local_id": f"local-{sequence}", "sender": sender, "sequence": sequence,
                "encrypted_payload": self.encrypt(payload),
                "received_at": moment.isoformat()}

    async def upload(self, *messages: dict[str, Any]) -> httpx.Response:
        self.sent.extend(messages)
        return await self.client.post("/api/mobile/v1/sms", headers=self.auth(),
                                      json={"messages": list(messages)})

    async def credit(self, provider: str, **fields: Any) -> httpx.Response:
        return await self.upload(self.message(SENDERS[provider], received(provider, **fields)))

    async def rotate(self) -> httpx.Response:
        r = await self.client.post("/api/mobile/v1/token",
                                   json={"refresh_token": self.refresh_token})
        if r.status_code == 200:
            self.access, self.refresh_token = r.json()["access_token"], r.json()[
                "refresh_token"]
        return r

    async def heartbeat(self, **fields: Any) -> httpx.Response:
        return await self.client.post("/api/mobile/v1/heartbeat", headers=self.auth(),
                                      json=fields)


def minutes_ago(n: int) -> datetime:
    return utcnow() - timedelta(minutes=n)
