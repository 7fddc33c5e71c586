"""A domain as the API, the CLI and the audit log show it."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

from ownpay.config import Settings
from ownpay.domains import proof
from ownpay.domains.models import BrandDomain
from ownpay.timefmt import iso, iso_required


def dns_records(settings: Settings, row: BrandDomain) -> list[dict[str, str]]:
    records = [{"type": "TXT", "name": proof.txt_name(row.domain), "value": row.token}]
    for address in settings.public_addresses:
        kind = "AAAA" if ip_address(address).version == 6 else "A"
        records.append({"type": kind, "name": row.domain, "value": address})
    return records


def domain_view(settings: Settings, row: BrandDomain) -> dict[str, Any]:
    return {
        "id": row.id, "domain": row.domain, "status": row.status, "primary": row.is_primary,
        "verification_token": row.token, "dns_records": dns_records(settings, row),
        "consecutive_failures": row.consecutive_failures, "last_error": row.last_error,
        "created_at": iso_required(row.created_at), "verified_at": iso(row.verified_at),
        "last_checked_at": iso(row.last_checked_at),
    }
