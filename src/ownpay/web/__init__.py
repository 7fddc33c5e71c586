"""The HTTP kernel every domain's endpoints use (see docs/architecture.md).

- :mod:`ownpay.web.deps`: the request's session (which owns commit/rollback), the scope
  dependencies (``Reader``/``Writer``/``Admin``) and the app context.
- :mod:`ownpay.web.body`: reading bounded JSON bodies, strict parsing, ``FieldErrors``.
- :mod:`ownpay.web.idempotency`: the one ``Idempotency-Key`` helper of every creating POST.
- :mod:`ownpay.web.pages`: server-rendered pages (layout, macros, CSP nonces, CSRF).
"""
