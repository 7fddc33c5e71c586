"""Fee rules (list, set) and the ledger (balances, "Verify the ledger") of the brand and
mode shown, through ``ledger.fees``, ``ledger.service`` and ``ledger.verify``: the verdict
is the one ``ownpay ledger verify`` prints (an owner or admin may verify every brand)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ownpay import audit, money
from ownpay.dashboard.roles import Permission, is_installation_role
from ownpay.dashboard.scoped import errors_of, scope_of
from ownpay.dashboard.web import Gone, Viewer, render, require, see_other
from ownpay.errors import ApiError
from ownpay.gateways import registry
from ownpay.ledger import fees, service, verify
from ownpay.ledger.models import ANY_CURRENCY, FeeRule
from ownpay.web.deps import Session

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(require(Permission.READ))]
Editor = Annotated[Viewer, Depends(require(Permission.BRANDS_EDIT))]
RULE_FORM = ("gateway", "currency", "flat", "percent", "min", "max")


def _rule_shown(rule: FeeRule) -> dict[str, Any]:
    """A rule as the page shows it: amounts with the currency's decimals and code."""
    shown = fees.serialize_rule(rule)
    if rule.currency != ANY_CURRENCY:
        for name, minor in (("flat", rule.flat_minor), ("min", rule.min_minor),
                            ("max", rule.max_minor)):
            if minor is not None:
                shown[name] = money.format_plain(minor, rule.currency)
    return shown


async def _fees(request: Request, session: Session, viewer: Viewer, *,
                values: dict[str, str] | None = None,
                errors: dict[str, list[str]] | None = None, notice: str | None = None,
                status_code: int = 200) -> Response:
    scope = scope_of(viewer)
    rules = await fees.list_rules(session, merchant_id=scope.merchant_id, mode=scope.mode)
    gateways = sorted((slug, g.display_name) for slug, g in registry.all_gateways().items()
                      if scope.mode in g.modes)
    return render(request, "fees.html", {
        "rules": [_rule_shown(r) for r in rules], "gateways": gateways,
        "values": values or {}, "errors": errors or {}, "notice": notice},
        viewer=viewer, status_code=status_code)


@router.get("/admin/fees")
async def fees_page(request: Request, session: Session, viewer: Reader,
                    saved: str | None = None, removed: str | None = None) -> Response:
    notice = "Saved." if saved else "Removed." if removed else None
    return await _fees(request, session, viewer, notice=notice)


@router.post("/admin/fees")
async def fees_set(request: Request, session: Session, viewer: Editor) -> Response:
    scope = scope_of(viewer)
    values = {k: viewer.form.get(k, "").strip() for k in RULE_FORM}
    body: dict[str, Any] = {k: v for k, v in values.items() if v or k == "gateway"}
    try:
        rule = fees.validate_rule(body)
    except ApiError as exc:
        return await _fees(request, session, viewer, values=values, errors=errors_of(exc),
                           status_code=400)
    saved = await fees.set_rule(session, scope=scope, rule=rule)
    await audit.record(session, viewer.actor, "fee_rule.set", merchant_id=scope.merchant_id,
                       mode=scope.mode, object_type="fee_rule",
                       object_id=f"{rule.gateway}:{rule.currency}",
                       details={"after": fees.serialize_rule(saved)})
    return see_other("/admin/fees?saved=1")


@router.post("/admin/fees/remove")
async def fees_remove(request: Request, session: Session, viewer: Editor) -> Response:
    """Remove one rule (gateway and currency from the row's button)."""
    scope = scope_of(viewer)
    try:
        gateway, currency = fees.validate_key(viewer.form.get("gateway"),
                                              viewer.form.get("currency"))
    except ApiError as exc:
        return await _fees(request, session, viewer, errors=errors_of(exc), status_code=400)
    removed = await fees.remove_rule(session, scope=scope, gateway=gateway, currency=currency)
    if removed is None:
        raise Gone()
    await audit.record(session, viewer.actor, "fee_rule.removed", merchant_id=scope.merchant_id,
                       mode=scope.mode, object_type="fee_rule",
                       object_id=f"{removed.gateway}:{removed.currency}",
                       details={"before": fees.serialize_rule(removed)})
    return see_other("/admin/fees?removed=1")


def _balance_rows(books: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"currency": b["currency"], "balanced": b["balanced"],
             "net": b["merchant_net_payable"],
             "accounts": [{"name": name, **a} for name, a in b["accounts"].items()]}
            for b in books]


async def _ledger(request: Request, session: Session, viewer: Viewer, *,
                  report: dict[str, Any] | None = None, whole: bool = False) -> Response:
    books = await service.balances(session, scope=scope_of(viewer))
    return render(request, "ledger.html", {
        "books": _balance_rows(books), "report": report, "whole": whole,
        "installation": is_installation_role(viewer.user.role)}, viewer=viewer)


@router.get("/admin/ledger")
async def ledger_page(request: Request, session: Session, viewer: Reader) -> Response:
    return await _ledger(request, session, viewer)


def _shown(report: dict[str, Any]) -> dict[str, Any]:
    """The report with each offending entry's amount formatted as the CLI prints it."""
    for problem in report["problems"]:
        for e in problem["entries"]:
            e["shown"] = (money.format_plain(e["amount_minor"], problem["currency"])
                          if problem["currency"] else f"{e['amount_minor']} (minor units)")
    return report


@router.post("/admin/ledger/verify")
async def ledger_verify(request: Request, session: Session, viewer: Reader) -> Response:
    """Read only (nothing is changed, so no audit row): the brand and mode shown, or, for
    an owner or admin who asks, every brand and mode."""
    whole = viewer.form.get("whole") == "on" and is_installation_role(viewer.user.role)
    scope = scope_of(viewer)
    report = await verify.operator_verify(
        session, merchant_id=None if whole else scope.merchant_id,
        mode=None if whole else scope.mode)
    return await _ledger(request, session, viewer, report=_shown(report.as_dict()),
                         whole=whole)
