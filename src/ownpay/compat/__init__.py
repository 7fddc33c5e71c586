"""Wire compatibility with clients that already exist in the wild (issue 12).

Each facade is a thin set of routes over the same services -- one payment model, one state
machine, the same validation of money, tenant scoping, idempotency, checkout and ledger --
that speaks another product's API shapes and error envelope.  ``envelope`` holds the
machinery every facade shares; ``ownpay_api`` is OwnPay's current merchant API
(``/api/v1/payments``: its Node and Laravel SDKs, WHMCS module and WooCommerce plugin).
docs/compatibility.md is the guide.
"""
