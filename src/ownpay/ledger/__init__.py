"""The double-entry ledger (journals of balanced entries) and the fee rules."""
