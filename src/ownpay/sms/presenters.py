"""Messages and alerts as the CLI, the dashboard and JSON show them (amounts in major units
as decimal strings; the text of a message from no wallet provider is never kept)."""

from __future__ import annotations

from typing import Any

from ownpay.money import format_plain
from ownpay.sms.models import SmsAlert, SmsMessage
from ownpay.timefmt import iso


def _taka(minor: int | None) -> str | None:
    return None if minor is None else format_plain(minor, "BDT").removesuffix(" BDT")


def message_view(row: SmsMessage) -> dict[str, Any]:
    return {
        "id": row.id, "device_id": row.device_id, "sequence": row.sequence,
        "sender": row.sender, "body": row.body, "received_at": iso(row.received_at),
        "kind": row.kind, "provider": row.provider, "pattern": row.pattern,
        "amount": _taka(row.amount_minor), "fee": _taka(row.fee_minor),
        "balance": _taka(row.balance_minor), "party": row.party, "reference": row.reference,
        "trx_id": row.trx_id, "sent_at": iso(row.sent_at), "status": row.status,
        "payment_id": row.matched_payment_id or row.considered_payment_id,
        "decision": row.decision,
    }


def alert_view(row: SmsAlert) -> dict[str, Any]:
    return {
        "id": row.id, "kind": row.kind, "device_id": row.device_id, "message": row.message,
        "first_sequence": row.first_sequence, "last_sequence": row.last_sequence,
        "created_at": iso(row.created_at), "resolved_at": iso(row.resolved_at),
    }
