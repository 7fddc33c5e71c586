"""aamarPay hosted checkout (JSON payment request, browser returns by POST, search API)."""
