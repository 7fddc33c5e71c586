"""Roles and the one permission table every dashboard route is checked against.

Installation roles (``owner``, ``admin``) see every brand; brand roles (``manager``,
``operator``, ``developer``, ``viewer``) see only their own brand: another brand's object
is a 404, never a 403, so its existence does not leak."""

from __future__ import annotations

from enum import StrEnum

INSTALLATION_ROLES = ("owner", "admin")
BRAND_ROLES = ("manager", "operator", "developer", "viewer")
ROLES = INSTALLATION_ROLES + BRAND_ROLES


class Permission(StrEnum):
    READ = "read"  # overview, payments, refunds, ledger, webhooks log, SMS inbox: every role
    # approve/reject/cancel, refunds (operator: up to a limit), the SMS review queue and alerts
    PAYMENTS_ACT = "payments.act"
    DEVELOPER = "developer"  # API keys, webhook endpoints
    GATEWAYS = "gateways"  # gateway credentials
    LINKS = "links.manage"  # making, changing and turning payment links on and off
    DOMAINS = "domains.manage"  # adding, checking, making primary and removing brand domains
    CUSTOMERS_VIEW = "customers.view"  # customers' names, e-mails and phones; searching by them
    CUSTOMERS_FORGET = "customers.forget"  # erasing a customer's personal details
    SMS_DEVICES = "sms.devices"  # pairing, adding and revoking the phones that forward SMS
    BRANDS_EDIT = "brands.edit"  # the brand's own settings
    BRANDS_CREATE = "brands.create"
    USERS = "users"  # users and roles
    AUDIT = "audit"  # the audit log (a manager: their brand's rows)
    AUDIT_VERIFY = "audit.verify"  # the whole chain spans every brand
    SETTINGS = "settings"  # installation settings (2FA required, …)
    ACCOUNT = "account"  # one's own password, 2FA and sessions


_ALL = frozenset(ROLES)
TABLE: dict[Permission, frozenset[str]] = {
    Permission.READ: _ALL,
    Permission.ACCOUNT: _ALL,
    Permission.PAYMENTS_ACT: frozenset({"owner", "admin", "manager", "operator"}),
    Permission.DEVELOPER: frozenset({"owner", "admin", "manager", "developer"}),
    Permission.GATEWAYS: frozenset({"owner", "admin", "manager"}),
    # Links are sales, as payments: whoever acts on payments; a developer reads them.
    Permission.LINKS: frozenset({"owner", "admin", "manager", "operator"}),
    # A domain decides where the brand's checkout is served and which host names get a
    # certificate: an installation matter, as creating brands.
    Permission.DOMAINS: frozenset({"owner", "admin"}),
    # Personal details: whoever serves the brand's customers (the payment roles); a
    # developer and a viewer see customers without them.
    Permission.CUSTOMERS_VIEW: frozenset({"owner", "admin", "manager", "operator"}),
    # Erasing cannot be undone: the roles that run the brand.
    Permission.CUSTOMERS_FORGET: frozenset({"owner", "admin", "manager"}),
    # A paired phone is a credential that can complete payments: as gateway credentials.
    Permission.SMS_DEVICES: frozenset({"owner", "admin", "manager"}),
    Permission.BRANDS_EDIT: frozenset({"owner", "admin", "manager"}),
    Permission.BRANDS_CREATE: frozenset({"owner", "admin"}),
    Permission.USERS: frozenset({"owner", "admin", "manager"}),
    Permission.AUDIT: frozenset({"owner", "admin", "manager"}),
    Permission.AUDIT_VERIFY: frozenset({"owner", "admin"}),
    Permission.SETTINGS: frozenset({"owner"}),
}

ROLE_NAMES = {
    "owner": "Owner", "admin": "Administrator", "manager": "Manager",
    "operator": "Operator", "developer": "Developer", "viewer": "Viewer",
}


def allowed(role: str, permission: Permission) -> bool:
    return role in TABLE[permission]


def is_installation_role(role: str) -> bool:
    return role in INSTALLATION_ROLES


def may_grant(granter: str, role: str) -> bool:
    """Who may create or change a user with ``role``: only an owner makes owners and
    admins; an admin makes brand roles; a manager makes brand roles below manager."""
    if granter == "owner":
        return role in ROLES
    if granter == "admin":
        return role in BRAND_ROLES
    if granter == "manager":
        return role in BRAND_ROLES and role != "manager"
    return False
