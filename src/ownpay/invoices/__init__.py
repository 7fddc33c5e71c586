"""Invoices (issue 14): bills a brand sends, paid on ``/invoice/{token}`` (docs/invoices.md)."""
