"""Refunds: give a paid payment's money back, fully or in parts, through its gateway."""
