"""What the status page tells a customer about a payment that failed or was cancelled,
composed from separate parts so that no sentence can be said twice:

- **what happened**: the gateway's sentence for the stored reason
  (``Gateway.describe_failure``, which never talks about money), an operator's rejection, or
  our generic text;
- **the operator's reason**, when an operator rejected an offline payment and gave one;
- **whether money moved**, decided by the adapter's ``customer_sends_money`` flag alone:
  "No money was taken" when OwnPay would know (a card, a wallet checkout), otherwise an
  invitation to contact the merchant -- an offline customer may well have sent money.

Every part is in the customer's language (``ownpay.i18n``: the gateway's sentence is
looked up in the catalogue, where its package marked it with ``N_``).

Pure: no I/O.  The core never branches on a gateway's name here, only on declared flags.
"""

from __future__ import annotations

from dataclasses import dataclass

from ownpay.gateways.base import Gateway
from ownpay.i18n import N_
from ownpay.i18n import gettext as _
from ownpay.payments.service import OPERATOR_ACTOR_PREFIX, REJECTED_BY_OPERATOR_REASON

NO_MONEY_TAKEN = N_("No money was taken.")


@dataclass(frozen=True)
class LastChange:
    """The history row that brought the payment to its current status."""

    actor: str
    reason: str | None


@dataclass(frozen=True)
class Told:
    """The parts of the outcome's message, each shown once, in this order."""

    what: str
    operator_reason: str | None
    money: str


def money_part(adapter: Gateway | None, *, merchant_name: str, order_id: str) -> str:
    if adapter is not None and adapter.customer_sends_money:
        return _("If you have already sent the money, please contact %(merchant)s and "
                 "quote order %(order)s.") % {"merchant": merchant_name, "order": order_id}
    return _(NO_MONEY_TAKEN)


def failed(adapter: Gateway | None, *, failure_reason: str | None, last: LastChange | None,
           merchant_name: str, order_id: str) -> Told:
    rejected = last is not None and last.actor.startswith(OPERATOR_ACTOR_PREFIX)
    operator_reason = None
    if rejected:
        what = _("%(merchant)s could not confirm this payment.") % {"merchant": merchant_name}
        assert last is not None  # noqa: S101 - rejected implies it
        given = (last.reason or "").strip()
        operator_reason = given if given and given != REJECTED_BY_OPERATOR_REASON else None
    else:
        described = adapter.describe_failure(failure_reason) if adapter else None
        if described:
            what = _(described)
        elif failure_reason and "declined" in failure_reason:
            what = _("The payment was declined.")
        else:
            what = _("The payment did not go through.")
    return Told(what=what, operator_reason=operator_reason,
                money=money_part(adapter, merchant_name=merchant_name, order_id=order_id))


def cancelled(adapter: Gateway | None, *, merchant_name: str, order_id: str) -> Told:
    return Told(what=_("This payment was cancelled."), operator_reason=None,
                money=money_part(adapter, merchant_name=merchant_name, order_id=order_id))
