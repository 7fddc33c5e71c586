"""The payment-link form of the dashboard, translated both ways: a posted form into the
body ``links/service.py`` takes (the API's body, so ``links/terms.py`` checks it with the
API's rules and words), and a link back into the form's values; the service's errors are
mapped onto the form's inputs.

Nothing here decides whether a value is acceptable: text is passed on as typed (a number
that is not one, a date without its form, reaches the service as a string and is refused
there).  The form only says which price the operator chose, turns ticked boxes into lists
and the numbered question rows into the ``fields`` list.
"""

from __future__ import annotations

import re
from typing import Any

from ownpay.links import terms
from ownpay.links.models import PaymentLink
from ownpay.outbox.payloads import decimal_string

FIXED, CUSTOMER = "fixed", "customer"
GATEWAY = "gw_"  # a ticked gateway: gw_<slug>=on (a form keeps one value per name)
ROWS_BLANK = 2  # empty question rows offered under the filled ones
MAX_ROWS = terms.MAX_FIELDS
SIMPLE = ("title", "description", "slug", "image_url", "redirect_url")
PRICE = ("amount", "min_amount", "max_amount")
_DIGITS = re.compile(r"[0-9]{1,9}")
_LOCAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2})?")
FIXED_NEEDS_AMOUNT = "Give the fixed price, or choose the customer's own amount."


def _row_name(n: int, part: str) -> str:
    return f"field_{n}_{part}"


def question_rows(form: dict[str, str]) -> list[tuple[int, dict[str, Any]]]:
    """The filled question rows as (row number, the API's field object)."""
    found = []
    for n in range(MAX_ROWS):
        name = form.get(_row_name(n, "name"), "").strip()
        label = form.get(_row_name(n, "label"), "")
        options = [line.strip() for line in form.get(_row_name(n, "options"), "").splitlines()
                   if line.strip()]
        if not (name or label.strip() or options):
            continue
        item: dict[str, Any] = {"name": name, "label": label,
                                "type": form.get(_row_name(n, "type"), "text"),
                                "required": form.get(_row_name(n, "required")) == "on"}
        if options:
            item["options"] = options
        found.append((n, item))
    return found


def _count(raw: str) -> Any:
    text = raw.strip()
    if not text:
        return None
    return int(text) if _DIGITS.fullmatch(text) else text  # else refused by the service


def _moment(raw: str) -> str | None:
    text = raw.strip()
    if not text:
        return None
    # A datetime-local input sends the time without an offset: the form says it is UTC.
    return text + "Z" if _LOCAL_TIME.fullmatch(text) else text


def body_of(form: dict[str, str]) -> dict[str, Any]:
    """Every term the form holds, as the API's create body."""
    body: dict[str, Any] = {name: form.get(name, "") for name in SIMPLE}
    if form.get("price", FIXED) == CUSTOMER:
        body.update(amount=None, min_amount=form.get("min_amount", "").strip() or None,
                    max_amount=form.get("max_amount", "").strip() or None)
    else:
        body.update(amount=form.get("amount", "").strip() or None, min_amount=None,
                    max_amount=None)
    body["gateways"] = sorted(name[len(GATEWAY):] for name, value in form.items()
                              if name.startswith(GATEWAY) and value == "on")
    body["fields"] = [item for _, item in question_rows(form)]
    body["max_uses"] = _count(form.get("max_uses", ""))
    body["expires_at"] = _moment(form.get("expires_at", ""))
    return body


def create_body(form: dict[str, str]) -> dict[str, Any]:
    body = body_of(form)
    body["currency"] = form.get("currency", "").strip()
    body["active"] = form.get("active") == "on"
    return {k: v for k, v in body.items() if v is not None}


def change_body(form: dict[str, str], link: PaymentLink) -> dict[str, Any]:
    """Only the terms the operator changed (the API's PATCH body): an unchanged term is not
    checked again, so a gateway turned off since does not block a new title."""
    new, old = body_of(form), body_of(values_of(link))
    changed = {k: v for k, v in new.items() if k not in PRICE and v != old[k]}
    kind = form.get("price", FIXED)
    if any(new[k] != old[k] for k in PRICE) or kind != values_of(link)["price"]:
        changed.update({k: new[k] for k in PRICE})
    return changed


def needs_amount(form: dict[str, str]) -> bool:
    """A fixed price chosen but not given (the API would read that as the customer's own
    amount, which is not what the operator chose)."""
    return form.get("price", FIXED) != CUSTOMER and not form.get("amount", "").strip()


def values_of(link: PaymentLink) -> dict[str, str]:
    """The form's values for a link (what ``body_of`` reads back as the same terms)."""
    def amount(minor: int | None) -> str:
        return "" if minor is None else decimal_string(minor, link.currency)

    values = {name: getattr(link, name) or "" for name in SIMPLE}
    values.update(price=FIXED if link.amount_minor is not None else CUSTOMER,
                  amount=amount(link.amount_minor), min_amount=amount(link.min_minor),
                  max_amount=amount(link.max_minor), currency=link.currency,
                  max_uses="" if link.max_uses is None else str(link.max_uses),
                  expires_at="" if link.expires_at is None else link.expires_at.strftime(
                      "%Y-%m-%dT%H:%M" if link.expires_at.second == 0 else
                      "%Y-%m-%dT%H:%M:%S"),
                  active="on" if link.active else "")
    values.update({GATEWAY + g: "on" for g in link.gateways or []})
    for n, item in enumerate(link.fields or []):
        values[_row_name(n, "name")] = item["name"]
        values[_row_name(n, "label")] = item["label"]
        values[_row_name(n, "type")] = item["type"]
        if item.get("required"):
            values[_row_name(n, "required")] = "on"
        values[_row_name(n, "options")] = "\n".join(item.get("options") or [])
    return values


def rows_shown(form: dict[str, str], more: bool = False) -> int:
    """How many question rows the form shows: the filled ones and a few empty ones."""
    filled = max((n + 1 for n, _ in question_rows(form)), default=0)
    return min(MAX_ROWS, filled + ROWS_BLANK + (3 if more else 0))


def errors_for_form(errors: dict[str, list[str]],
                    form: dict[str, str]) -> dict[str, list[str]]:
    """The service's errors keyed by the form's inputs: ``fields[2]`` (the third question
    sent) becomes the row it came from; the rest keep their names."""
    rows = [n for n, _ in question_rows(form)]
    shown: dict[str, list[str]] = {}
    for key, messages in errors.items():
        found = re.fullmatch(r"fields\[([0-9]+)\]", key)
        if found and int(found.group(1)) < len(rows):
            key = f"field_{rows[int(found.group(1))]}"
        shown.setdefault(key, []).extend(messages)
    return shown
