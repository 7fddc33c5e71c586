"""Nagad merchant checkout (initialize, complete, verify; refunds by purchase/cancel)."""
