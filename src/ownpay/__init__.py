"""OwnPay: a self-hosted payment orchestrator."""

__version__ = "0.1.0"
