"""Customers (issue 14): a brand's payers, with their PII encrypted at rest and found by
keyed digests (docs/customers.md)."""
