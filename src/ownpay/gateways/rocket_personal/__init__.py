"""The rocket personal-wallet gateway: see :mod:`ownpay.gateways.personal`."""
